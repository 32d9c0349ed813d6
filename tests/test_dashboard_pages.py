"""The dashboard's pages as people read them (issue 20, DESIGN §13), in a real headless Chromium
on a real uvicorn: the board's empty state, a proposal's Markdown rendered and sanitised (an
agent's script, event handler, javascript: link, raw HTML and image never become markup), the
timeline in time order with each agent's vote joined once voting closes, execution artifacts as
links when their scheme is safe, the discussion's deterministic digest, a refusal's banner inside
the content column, the metrics page saying what each criterion measures, dark mode by the system
setting, and no console error."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from playwright.async_api import Page, async_playwright

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL
from tests.http_helpers import bearer, serve

pytestmark = pytest.mark.anyio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RULES = parse_config("[governance]\nappeal_window_minutes = 0\nearly_close = false\n")
OWNED = "document.title='owned'"
SPECIFICATION = f"""# Changelog entries

Each release adds **one entry** per change, see [the format](https://example.org/format).

- `type`: added, changed or fixed
- `scope`: the module

<script>{OWNED}</script>
<img src="x" onerror="{OWNED}">
[click me](javascript:{OWNED})
![pixel](https://tracker.example/p.png)
<a href="https://example.org/raw" onclick="{OWNED}">raw link</a>
"""
COMMENT = f'Looks right. **One question**: is `scope` a list?\n\n<b onmouseover="{OWNED}">hover</b>'
ARTIFACTS = ["https://example.org/pr/42", f"javascript:{OWNED}"]
WHY = "Small, reversible, and the thread agreed."


async def register(db_path: Path, clock: FakeClock) -> dict[str, str]:
    cast = CAST | {"ed": ["executor"]}
    async with open_service(Settings(db=db_path, rules=RULES, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in cast.items()}


class Api:
    def __init__(self, http: httpx2.AsyncClient, tokens: dict[str, str]) -> None:
        self.http, self.tokens = http, tokens

    async def post(self, who: str, path: str, body: dict[str, Any] | None = None) -> None:
        answer = await self.http.post(f"/api/governance{path}", json=body, headers=bearer(self.tokens[who]))
        assert answer.status_code in (200, 201), answer.text


async def timeline(page: Page) -> list[tuple[int, str]]:
    """The timeline's events as (seq, text with whitespace collapsed)."""
    rows: list[list[Any]] = await page.eval_on_selector_all(
        "#timeline li.event",
        "items => items.map(i => [Number(i.dataset.seq), i.querySelector('.what').innerText.replace(/\\s+/g, ' ')])",
    )
    return [(int(seq), str(text)) for seq, text in rows]


async def test_the_pages_render_agents_markdown_safely_show_the_timeline_and_follow_the_system_colour_scheme(
    db_path: Path, clock: FakeClock
) -> None:
    tokens = await register(db_path, clock)
    async with (
        serve(db_path, clock=clock) as served,
        httpx2.AsyncClient(base_url=served.base) as http,
        async_playwright() as pw,
    ):
        api = Api(http, tokens)
        base = served.base
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        page = await browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
        await page.goto(f"{base}/login")
        await page.fill("input[name=token]", tokens["carol"])
        await page.click("button:has-text('Sign in')")
        await page.wait_for_url(f"{base}/")

        # The board of a new database says what it is waiting for; the first proposal replaces it live.
        empty = await page.inner_text("#empty")
        empty_table = await page.locator("main table").count()
        await page.wait_for_function("document.body.dataset.live === 'on'")
        await api.post("alice", "/proposals", PROPOSAL | {"specification": SPECIFICATION})
        with anyio.fail_after(10):
            await page.wait_for_selector("tr.proposal[data-id='BIP-001']")
        empty_after = await page.locator("#empty").count()

        await api.post("alice", "/discussions/BIP-001")
        await api.post("bob", "/discussions/BIP-001/comments", {"content": COMMENT, "type": "comment"})
        await api.post("carol", "/discussions/BIP-001/conclude", {"resolution": "approved-for-voting", "reason": "Ok."})
        await api.post(
            "bob",
            "/votes/BIP-001",
            {"decision": "reject", "justification": "First thought, before the thread settled."},
        )
        await api.post("bob", "/votes/BIP-001", {"decision": "approve", "justification": WHY})

        # While voting is open the timeline shows that ballots were cast, not how.
        await page.goto(f"{base}/proposals/BIP-001")
        while_open = await timeline(page)

        # A refused vote (a justification over the 4 KiB limit): the banner sits in the content column.
        await page.select_option("#vote-form select[name=decision]", "approve")
        await page.fill("#vote-form textarea[name=justification]", "x" * 5000)
        async with page.expect_navigation():
            await page.click("#vote-form button")
        banner = await page.inner_text("#error")
        column = await page.locator("main").bounding_box()
        shown = await page.locator("#error").bounding_box()
        problems.clear()  # the refusal answered 400, which the browser logs: expected

        await api.post("carol", "/votes/BIP-001", {"decision": "approve", "justification": WHY})
        await api.post("carol", "/votes/BIP-001/close", {"reason": "Everyone who meant to vote has."})
        await api.post("ed", "/executions/BIP-001/claim")
        await api.post(
            "ed",
            "/executions/BIP-001/report",
            {"outcome": "succeeded", "details": "Done in **one** PR.", "artifacts": ARTIFACTS},
        )
        await page.goto(f"{base}/proposals/BIP-001")
        title = await page.title()
        spec = page.locator("#specification")
        heading = await spec.locator("h3").inner_text()
        strong = await spec.locator("strong").inner_text()
        items = await spec.locator("li").all_inner_texts()
        links = await spec.locator("a").evaluate_all(
            "links => links.map(a => [a.textContent, a.getAttribute('href'), a.getAttribute('rel')])"
        )
        spec_text = await spec.inner_text()
        comment = page.locator("#comment-1 .prose")
        comment_strong = await comment.locator("strong").inner_text()
        comment_text = await comment.inner_text()
        scripts_in_main = await page.locator("main script, aside script").count()
        dangerous = await page.locator("main [onerror], main [onclick], main [onmouseover], main img, main b").count()
        javascript_links = await page.locator("a[href^='javascript' i]").count()
        artifacts = await page.locator(".execution a.artifact").evaluate_all(
            "links => links.map(a => [a.getAttribute('href'), a.getAttribute('rel')])"
        )
        unsafe_artifact = await page.locator(".execution code.artifact").all_inner_texts()
        closed = await timeline(page)
        digest = await page.inner_text("#digest")
        light = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        light_text = await page.evaluate("getComputedStyle(document.body).color")

        # Dark mode by the system setting: the same page, its colours from the dark palette.
        await page.emulate_media(color_scheme="dark")
        dark = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark_text = await page.evaluate("getComputedStyle(document.body).color")
        dark_link = await page.evaluate("getComputedStyle(document.querySelector('#specification a')).color")
        await page.emulate_media(color_scheme="light")

        await page.goto(f"{base}/metrics")
        measures = {
            name: await page.inner_text(f"#criterion-{name} dd")
            for name in ("participation", "quality", "consensus", "implementation")
        }
        methods = await page.locator("#consensus-methods tbody th").all_inner_texts()
        await browser.close()

    assert "No proposals yet." in empty and "create_proposal" in empty and empty_table == 0
    assert empty_after == 0

    # The Markdown is rendered: a heading under the page's own, bold, a list, a safe link with rel.
    assert title == "BIP-001 · hivegov"  # no injected script ran
    assert heading == "Changelog entries"
    assert strong == "one entry"
    assert items == ["type: added, changed or fixed", "scope: the module"]
    assert links == [
        ["the format", "https://example.org/format", "nofollow noopener noreferrer"],
        ["pixel", "https://tracker.example/p.png", "nofollow noopener noreferrer"],  # an image is a link, not a load
    ]
    # ... and sanitised: the raw HTML shows as text, nothing of it is markup.
    assert f"<script>{OWNED}</script>" in spec_text
    assert f"[click me](javascript:{OWNED})" in spec_text
    assert '<a href="https://example.org/raw"' in spec_text
    assert comment_strong == "One question" and f'<b onmouseover="{OWNED}">hover</b>' in comment_text
    assert scripts_in_main == 0 and dangerous == 0 and javascript_links == 0

    assert "1 participant(s) wrote 1 comment(s)" in digest and "Recommendation: " in digest  # the deterministic digest

    # Artifacts: a link for https, text for anything else.
    assert artifacts == [["https://example.org/pr/42", "nofollow noopener noreferrer"]]
    assert unsafe_artifact == [f"javascript:{OWNED}"]

    # The timeline: every event in sequence order; ballots hidden while open, joined after close.
    assert [seq for seq, _ in closed] == sorted(seq for seq, _ in closed)
    texts = [text for _, text in closed]
    assert texts[0].startswith("alice created the proposal (v1) Adopt structured changelogs")
    assert texts[1].startswith("alice opened discussion round 1 draft → discussion")
    assert texts[2].startswith("bob commented (#1)")
    assert texts[3].startswith("carol concluded the discussion: approved-for-voting discussion → voting Ok.")
    assert [t.split(" #")[0] for _, t in while_open[-2:]] == ["bob cast a ballot", "bob changed its ballot"]
    votes = [t.split(" #")[0] for t in texts if "ballot" in t or " voted " in t]
    assert votes == [
        "bob cast a ballot it later replaced",
        f"bob voted approve {WHY}",
        f"carol voted approve {WHY}",
    ]
    assert any(t.startswith("carol closed voting (approve 2, reject 0, abstain 0) voting → approved") for t in texts)
    assert texts[-1].startswith("ed reported execution attempt 1: succeeded executing → executed")
    assert "https://example.org/pr/42" in texts[-1]

    # The refusal: its message in a banner inside the content column.
    assert "justification" in banner
    assert column is not None and shown is not None
    assert column["x"] <= shown["x"] and shown["x"] + shown["width"] <= column["x"] + column["width"]

    # Dark mode: a dark background, light text and links, each readable against the other.
    assert light == "rgb(255, 255, 255)" and light_text == "rgb(29, 35, 48)"
    assert dark == "rgb(18, 21, 28)" and dark_text == "rgb(228, 231, 238)"
    assert contrast(dark_text, dark) >= 7 and contrast(dark_link, dark) >= 4.5

    # The metrics say what each criterion measures, consensus per decision method.
    assert "eligible voters" in measures["participation"]
    assert "reached voting" in measures["quality"]
    assert "mean consensus" in measures["consensus"]
    assert "executed" in measures["implementation"]
    assert methods == ["majority", "approval", "score", "ranked (Schulze)", "ranked_irv", "no winner"]
    assert problems == []


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two computed `rgb(r, g, b)` colours."""

    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)
