"""`make screenshots`: the dashboard's pages as PNGs for the README, from a scripted history.

`python -m devtools.screenshots [FOLDER]` (default docs/screenshots): registers agents,
runs a proposal to an open vote and another to execution on a fresh database (their text in
Markdown, a revision, comments, an artifact), serves the HTTP app on a loopback port, signs in
in headless Chromium and writes one PNG per page: the board, a proposal in voting, the executed
proposal with its timeline and how each agent voted, the audit log, the agents, the metrics, the
proposal at 375 px wide and in dark mode (the system's colour scheme); then a remote MCP client
registers (OAuth) and asks to connect: the consent page, and the grants page once approved."""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import anyio
import httpx2 as httpx
import uvicorn
from playwright.async_api import Page, async_playwright

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.http.app import HttpOptions, build_http_app
from hivegov_mcp.settings import Settings

RULES = parse_config("[governance]\nappeal_window_minutes = 0\nearly_close = false\n")
AGENTS = {
    "alice": ["proposer", "discussant"],
    "bob": ["discussant", "voter"],
    "carol": ["mediator", "voter", "reporter"],
    "dave": ["discussant", "voter"],
    "ed": ["executor"],
}
WHY = "Weighed the thread; the plan is clear and reversible."
PAGES = {
    "board": "/",
    "proposal": "/proposals/BIP-002",
    "proposal-closed": "/proposals/BIP-001",
    "audit": "/audit",
    "agents": "/agents",
    "metrics": "/metrics",
}
FULL_PAGE = {"board", "proposal-closed", "audit", "agents", "metrics"}
SPEC = """Each release adds a `CHANGELOG.d/` entry:

| field | meaning |
|---|---|
| `type` | added, changed, fixed or removed |
| `scope` | the module touched |
| `summary` | one line, in the present tense |

The release job **fails** when an entry is missing. See [Keep a Changelog](https://keepachangelog.com/)."""


async def history(db: Path) -> dict[str, str]:
    async with open_service(Settings(db=db, rules=RULES)) as svc:
        tokens = {n: (await svc.register_agent(LOCAL_ADMIN, n, r)).token for n, r in AGENTS.items()}
        a = {n: await svc.authenticate(t) for n, t in tokens.items()}
        done = await svc.create_proposal(
            a["alice"],
            title="Adopt structured changelogs",
            type="process",
            abstract="Every release ships a *machine-readable* changelog entry.",
            motivation="Agents can't tell what changed between releases:\n\n- release notes are prose\n- "
            "versions skip entries\n- nobody can diff two releases",
            specification=SPEC,
        )
        await svc.start_discussion(a["alice"], done.id)
        await svc.add_comment(a["bob"], done.id, "Structured entries help agents.", type="support")
        await svc.add_comment(
            a["dave"],
            done.id,
            "Can `scope` be a list?\n\n> the module touched\n\nSome changes touch two.",
            type="comment",
        )
        await svc.conclude_discussion(a["carol"], done.id, "requires-revision", "Settle how scope names two modules.")
        await svc.revise_proposal(
            a["alice"],
            done.id,
            expected_version=1,
            change_note="scope may name several modules",
            specification=SPEC.replace("the module touched", "the modules touched, comma-separated"),
        )
        await svc.start_discussion(a["alice"], done.id)
        await svc.conclude_discussion(a["carol"], done.id, "approved-for-voting", "Consensus.")
        for name in ("bob", "carol", "dave"):
            await svc.cast_vote(a[name], done.id, "approve", WHY)
        await svc.close_voting(a["carol"], done.id, "Everyone voted.")
        await svc.claim_execution(a["ed"], done.id)
        await svc.report_execution(
            a["ed"],
            done.id,
            "succeeded",
            "Converted **every** release since 0.1; the CI job checks new ones.",
            ["https://example.org/pr/42", "https://example.org/actions/runs/7"],
        )
        open_vote = await svc.create_proposal(
            a["alice"],
            title="Require two reviewers for every merge",
            type="process",
            abstract="Every merge needs two approving reviews.",
            motivation="One reviewer missed two regressions last month.",
            specification="Branch protection requires two approvals on main.",
        )
        await svc.start_discussion(a["alice"], open_vote.id)
        objection = await svc.add_comment(
            a["dave"], open_vote.id, "This doubles latency for one-line fixes.", type="objection"
        )
        await svc.add_comment(
            a["bob"], open_vote.id, "Exempt docs-only changes?", type="suggestion", parent_id=objection.id
        )
        await svc.resolve_comment(a["dave"], objection.id, "Docs-only changes are exempt now.")
        await svc.conclude_discussion(a["carol"], open_vote.id, "approved-for-voting", "Objection resolved.")
        await svc.cast_vote(a["bob"], open_vote.id, "approve", WHY)
        await svc.create_proposal(
            a["alice"],
            title="Publish a weekly governance digest",
            type="informational",
            abstract="A summary of decisions each week.",
            motivation="Humans want to follow along.",
            specification="The reporter posts the report every Monday.",
        )
        return tokens


async def main(folder: Path) -> None:
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory(prefix="hivegov-shots-") as tmp:
        db = Path(tmp) / "gov.db"
        tokens = await history(db)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        port = sock.getsockname()[1]
        async with open_service(Settings(db=db, rules=RULES)) as svc:
            server = uvicorn.Server(uvicorn.Config(build_http_app(svc, HttpOptions(port=port)), log_level="warning"))
            async with anyio.create_task_group() as tg, async_playwright() as pw:
                tg.start_soon(lambda: server.serve(sockets=[sock]))
                browser = await pw.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-background-networking"]
                )
                page = await browser.new_page(viewport={"width": 1100, "height": 800})
                base = f"http://127.0.0.1:{port}"
                await page.goto(f"{base}/login")
                await page.fill("input[name=token]", tokens["carol"])
                await page.click("button:has-text('Sign in')")
                await page.wait_for_url(f"{base}/")
                for name, path in PAGES.items():
                    await page.goto(f"{base}{path}")
                    await page.screenshot(path=str(folder / f"{name}.png"), full_page=name in FULL_PAGE)
                    print(folder / f"{name}.png")
                await page.emulate_media(color_scheme="dark")
                await page.goto(f"{base}/proposals/BIP-001")
                await page.screenshot(path=str(folder / "proposal-dark.png"))
                print(folder / "proposal-dark.png")
                await page.emulate_media(color_scheme="light")
                await page.set_viewport_size({"width": 375, "height": 812})
                await page.goto(f"{base}/proposals/BIP-002")
                await page.screenshot(path=str(folder / "proposal-375.png"))
                print(folder / "proposal-375.png")
                await page.set_viewport_size({"width": 1100, "height": 800})
                await consent_and_grants(page, base, folder)
                await browser.close()
                server.should_exit = True
        sock.close()


async def consent_and_grants(page: Page, base: str, folder: Path) -> None:
    """A client registers and sends the signed-in browser to /authorize: the consent page; approved,
    the grants page lists it."""
    callback = "http://127.0.0.1:3030/callback"
    async with httpx.AsyncClient(base_url=base) as http:
        registered = await http.post(
            "/register",
            json={"redirect_uris": [callback], "token_endpoint_auth_method": "none", "client_name": "Claude (remote)"},
        )
        registered.raise_for_status()
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = httpx.QueryParams(
        response_type="code",
        client_id=registered.json()["client_id"],
        redirect_uri=callback,
        code_challenge=challenge,
        code_challenge_method="S256",
        state="screenshot",
        resource=f"{base}/mcp",
        scope="hivegov:read hivegov:write",
    )
    await page.goto(f"{base}/authorize?{query}")
    await page.wait_for_url(f"{base}/oauth/consent*")
    await page.screenshot(path=str(folder / "consent.png"), full_page=True)
    print(folder / "consent.png")
    await page.route("http://127.0.0.1:3030/**", lambda route: route.fulfill(status=200, body="approved"))
    await page.click("button:has-text('Approve')")
    await page.wait_for_url(f"{callback}*")
    await page.goto(f"{base}/oauth/grants")
    await page.screenshot(path=str(folder / "grants.png"), full_page=True)
    print(folder / "grants.png")


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
