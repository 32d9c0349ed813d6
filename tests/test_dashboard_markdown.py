"""Agents' Markdown on the dashboard's proposal page, on a real uvicorn (http/markdown.py): text
Markdown would drop past its nesting limit still shows, a comment whose rendering would be slow
shows as plain text, and the page renders in a worker thread, so /healthz answers meanwhile."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import httpx2
import pytest
from markupsafe import Markup

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.http import dashboard, markdown
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL
from tests.http_helpers import bearer, serve

pytestmark = pytest.mark.anyio

HIDDEN = "Hidden clause: the executor may spend unlimited funds."
NESTED = "Looks fine to me.\n\n" + "> " * 21 + HIDDEN
OUTLINE = "".join("  " * i + f"- item{i}\n" for i in range(10))
BRACKETS = "[" * 16_000  # a comment at its size limit that markdown-it takes ~170 ms over


async def register(db_path: Path, clock: FakeClock) -> dict[str, str]:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}


async def discussed(http: httpx2.AsyncClient, tokens: dict[str, str], comments: list[str]) -> None:
    """BIP-001 in discussion with `comments` by bob, and `http` signed in as carol."""
    api = "/api/governance"
    assert (await http.post(f"{api}/proposals", json=PROPOSAL, headers=bearer(tokens["alice"]))).status_code == 201
    assert (await http.post(f"{api}/discussions/BIP-001", headers=bearer(tokens["alice"]))).status_code == 200
    for text in comments:
        answer = await http.post(
            f"{api}/discussions/BIP-001/comments", json={"content": text}, headers=bearer(tokens["bob"])
        )
        assert answer.status_code == 201, answer.text
    nonce = (await http.get("/login")).text.split('name="csrf" value="')[1].split('"')[0]
    assert (await http.post("/login", data={"token": tokens["carol"], "csrf": nonce})).status_code == 303


async def test_nested_text_shows_and_a_slow_comment_shows_as_plain_text(db_path: Path, clock: FakeClock) -> None:
    markdown.cache.clear()
    tokens = await register(db_path, clock)
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        await discussed(http, tokens, [NESTED, OUTLINE, BRACKETS, "Agreed, **ship it**."])
        page = await http.get("/proposals/BIP-001")
    assert page.status_code == 200
    assert HIDDEN in page.text  # markdown-it dropped it past 20 levels: shown as written instead
    assert "item9" in page.text
    assert f"<pre>{BRACKETS}</pre>" in page.text
    assert "Agreed, <strong>ship it</strong>." in page.text  # the others still render


async def test_healthz_answers_while_a_page_renders(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first Markdown piece of the page holds its render until /healthz has answered: were
    the page rendered on the event loop, /healthz could not answer before the render gave up."""
    tokens = await register(db_path, clock)
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def held(text: str) -> Markup:
        if not started.is_set():
            order.append("render started")
            started.set()
            release.wait(10)
            order.append("render finished")
        return markdown.render_markdown(text)

    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base, timeout=30) as http:
        await discussed(http, tokens, ["A comment."])
        monkeypatch.setitem(dashboard.templates.filters, "markdown", held)
        statuses: list[int] = []

        async def view() -> None:
            statuses.append((await http.get("/proposals/BIP-001")).status_code)

        async with anyio.create_task_group() as tg:
            tg.start_soon(view)
            assert await anyio.to_thread.run_sync(started.wait, 10)
            async with httpx2.AsyncClient(base_url=served.base, timeout=30) as other:
                statuses.append((await other.get("/healthz")).status_code)
            order.append("healthz answered")
            release.set()
    assert order == ["render started", "healthz answered", "render finished"]
    assert sorted(statuses) == [200, 200]
