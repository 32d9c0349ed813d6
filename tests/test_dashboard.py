"""The dashboard (DESIGN §13) in a real headless Chromium, on a real uvicorn: sign in with a
token, live updates without reload, acting from the page through the same service, hidden
results, CSRF, and a screenshot of each page checked to be non-blank."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anyio
import httpx2
import pytest
from playwright.async_api import Page, async_playwright

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL
from tests.http_helpers import bearer, mcp_client, serve
from tests.mcp_helpers import ok

pytestmark = pytest.mark.anyio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
JUSTIFICATION = "Voted from the dashboard after reading the thread."
PAGES = {"board": "/", "proposal": "/proposals/BIP-001", "audit": "/audit", "agents": "/agents", "metrics": "/metrics"}


@pytest.fixture
async def tokens(db_path: Path, clock: FakeClock) -> dict[str, str]:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}


async def sign_in(page: Page, base: str, token: str) -> None:
    await page.goto(f"{base}/")  # not signed in: the sign-in page
    await page.fill("input[name=token]", token)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_url(f"{base}/")


async def test_the_dashboard_signs_in_updates_live_acts_through_the_service_and_hides_open_results(
    db_path: Path, clock: FakeClock, tokens: dict[str, str], tmp_path: Path
) -> None:
    async with serve(db_path, clock=clock) as served, async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        page = await browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        base = served.base

        await page.goto(f"{base}/")
        await page.fill("input[name=token]", "hg_not-a-token")
        await page.click("button:has-text('Sign in')")
        refused = await page.inner_text("#error")
        problems.clear()  # the refused sign-in answered 401, which the browser logs: expected
        await sign_in(page, base, tokens["carol"])  # mediator and voter
        assert await page.evaluate("document.cookie") == ""  # HttpOnly: the session is not in page storage

        # A proposal created over MCP (another client) appears on the board without a reload.
        await page.wait_for_function("document.body.dataset.live === 'on'")
        async with mcp_client(base, tokens["alice"]) as alice:
            await ok(alice, "create_proposal", **PROPOSAL)
            with anyio.fail_after(10):
                await page.wait_for_selector("tr.proposal[data-id='BIP-001']")
            await ok(alice, "start_discussion", proposal_id="BIP-001")

        # Carol concludes and votes from the page; bob votes over REST.
        await page.goto(f"{base}/proposals/BIP-001")
        await page.select_option("select[name=resolution]", "approved-for-voting")
        await page.fill("form[action$=conclude] input[name=reason]", "Ready for a vote.")
        await page.click("form[action$=conclude] button")
        await page.wait_for_selector("#vote-form")
        async with httpx2.AsyncClient(base_url=base) as http:
            await http.post(
                "/api/governance/votes/BIP-001",
                json={"decision": "reject", "justification": JUSTIFICATION},
                headers=bearer(tokens["bob"]),
            )
            await page.select_option("#vote-form select[name=decision]", "approve")
            await page.fill("#vote-form textarea[name=justification]", JUSTIFICATION)
            await page.click("#vote-form button")
            await page.wait_for_url(f"{base}/proposals/BIP-001")
            html = await page.content()
            events = (await http.get("/api/governance/audit?limit=500", headers=bearer(tokens["bob"]))).json()
            async with mcp_client(base, tokens["dave"]) as dave:
                results = await ok(dave, "get_voting_results", proposal_id="BIP-001")

            # A form posted without its CSRF token is refused.
            forged = await page.request.post(f"{base}/proposals/BIP-001/comment", form={"content": "forged"})

            shots = {}
            for name, path in PAGES.items():
                await page.goto(f"{base}{path}")
                shots[name] = await page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
            await page.set_viewport_size({"width": 375, "height": 812})
            await page.goto(f"{base}/proposals/BIP-001")
            narrow = await page.evaluate("document.documentElement.scrollWidth")
            await page.screenshot(path=str(tmp_path / "proposal-375.png"))
        await browser.close()

    assert "matches no agent" in refused
    assert sorted(results["voted"]) == ["bob", "carol"]  # the page's vote, seen over MCP
    assert results["tally"] is None  # still hidden while voting is open
    assert "How agents voted stays hidden until voting closes." in html
    assert "reject" not in html.split('id="vote"')[1].split("</div>")[0]  # no ballot in the page
    ballots = [e for e in events["events"] if e["action"] == "cast_vote"]
    assert len(ballots) == 2 and all("decision" not in json.dumps(e["payload"]) for e in ballots)
    assert forged.status == 403
    for name, png in shots.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 8_000, name  # a blank page compresses to ~2 KB
    assert narrow <= 375  # readable at phone width: no sideways scrolling
    assert problems == []  # no console errors


async def _login(http: httpx2.AsyncClient, token: str) -> httpx2.Response:
    page = await http.get("/login")
    nonce = page.text.split('name="csrf" value="')[1].split('"')[0]
    return await http.post("/login", data={"token": token, "csrf": nonce})


async def test_sign_in_needs_a_nonce_the_server_served_and_one_agent_can_t_sign_others_out(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served:
        async with httpx2.AsyncClient(base_url=served.base) as forged:
            chosen = await forged.post("/login", data={"token": tokens["alice"], "csrf": "chosen-by-attacker"})
        async with httpx2.AsyncClient(base_url=served.base) as carol:
            assert (await _login(carol, tokens["carol"])).status_code == 303
            for _ in range(12):  # dave signs in again and again
                async with httpx2.AsyncClient(base_url=served.base) as dave:
                    await _login(dave, tokens["dave"])
            still = await carol.get("/")
            frob = await carol.post("/agents/alice/frobnicate", data={"csrf": "x"})
            odd_host = await carol.get("/", headers={"Host": "localhost:8811@evil.example"})
    assert chosen.status_code == 403
    assert still.status_code == 200 and "signed in as" in still.text
    assert frob.status_code == 404
    assert odd_host.status_code == 421


async def test_the_comment_and_resolve_forms_act_through_the_service_and_show_a_refusal_inline(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served:
        async with httpx2.AsyncClient(base_url=served.base, headers=bearer(tokens["alice"])) as api:
            created = await api.post("/api/governance/proposals", json=PROPOSAL)
            assert created.status_code == 201, created.text
            assert (await api.post("/api/governance/discussions/BIP-001")).status_code == 200
        async with httpx2.AsyncClient(base_url=served.base) as bob:
            await _login(bob, tokens["bob"])
            page = await bob.get("/proposals/BIP-001")
            csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
            objected = await bob.post(
                "/proposals/BIP-001/comment", data={"csrf": csrf, "content": "Name the scopes.", "type": "objection"}
            )
            unexplained = await bob.post("/proposals/BIP-001/resolve", data={"csrf": csrf, "comment_id": "1"})
            resolved = await bob.post(
                "/proposals/BIP-001/resolve", data={"csrf": csrf, "comment_id": "1", "note": "Scopes named in v2."}
            )
        async with httpx2.AsyncClient(base_url=served.base, headers=bearer(tokens["bob"])) as api:
            discussion = (await api.get("/api/governance/discussions/BIP-001")).json()
    assert objected.status_code == 303 and objected.headers["location"] == "/proposals/BIP-001"
    assert unexplained.status_code == 400 and "note is required" in unexplained.text
    assert resolved.status_code == 303 and resolved.headers["location"] == "/proposals/BIP-001"
    assert discussion["unresolved_objections"] == []
    assert [c["resolved_by"] for c in discussion["comments"]] == ["bob"]


async def test_a_session_ends_on_the_server_at_sign_out_after_idling_and_after_its_absolute_lifetime(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async def signed_in(http: httpx2.AsyncClient) -> bool:
        page = await http.get("/")
        return page.status_code == 200 and "signed in as" in page.text

    async with serve(db_path, clock=clock) as served:
        # Sign-out without its CSRF field: the session ends on the server, not only in this browser.
        async with httpx2.AsyncClient(base_url=served.base) as carol:
            await _login(carol, tokens["carol"])
            sid = carol.cookies["hivegov_session"]
            out = await carol.post("/logout")
        async with httpx2.AsyncClient(base_url=served.base, cookies={"hivegov_session": sid}) as replay:
            after_logout = await signed_in(replay)

        # Idle: used every 29 minutes it lives; 30 minutes unused ends it.
        async with httpx2.AsyncClient(base_url=served.base) as bob:
            await _login(bob, tokens["bob"])
            kept = []
            for _ in range(3):
                clock.advance(minutes=29)
                kept.append(await signed_in(bob))
            clock.advance(minutes=30)
            after_idle = await signed_in(bob)

        # Absolute: a session used every 20 minutes still ends 12 hours after sign-in.
        async with httpx2.AsyncClient(base_url=served.base) as dave:
            login = await _login(dave, tokens["dave"])
            busy = []
            for _ in range(35):  # 11 h 40 min
                clock.advance(minutes=20)
                busy.append(await signed_in(dave))
            clock.advance(minutes=20)
            after_twelve_hours = await signed_in(dave)

    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert after_logout is False
    assert kept == [True, True, True] and after_idle is False
    assert all(busy) and after_twelve_hours is False
    assert "Max-Age=43200" in login.headers["set-cookie"]


async def test_the_proposal_page_shows_each_agent_s_vote_once_voting_closes_and_not_before(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with (
        serve(db_path, clock=clock) as served,
        httpx2.AsyncClient(base_url=f"{served.base}/api/governance") as api,
    ):

        async def call(who: str, path: str, body: dict[str, str] | None = None) -> None:
            answer = await api.post(path, json=body, headers=bearer(tokens[who]))
            assert answer.status_code in (200, 201), answer.text

        await call("alice", "/proposals", PROPOSAL)
        await call("alice", "/discussions/BIP-001")
        await call("carol", "/discussions/BIP-001/conclude", {"resolution": "approved-for-voting", "reason": "Ok."})
        await call("bob", "/votes/BIP-001", {"decision": "reject", "justification": JUSTIFICATION})
        async with httpx2.AsyncClient(base_url=served.base) as dave:
            await _login(dave, tokens["dave"])
            while_open = (await dave.get("/proposals/BIP-001")).text
            await call(
                "carol", "/votes/BIP-001", {"decision": "approve", "justification": "Clear, small and reversible."}
            )
            await call("carol", "/votes/BIP-001/close", {"reason": "Everyone who meant to vote has."})
            closed = (await dave.get("/proposals/BIP-001")).text
    assert 'id="ballots"' not in while_open and JUSTIFICATION not in while_open
    ballots = closed.split('id="ballots"')[1].split("</ul>")[0]
    assert f"<strong>bob</strong> reject: {JUSTIFICATION}" in ballots
    assert "<strong>carol</strong> approve: Clear, small and reversible." in ballots
