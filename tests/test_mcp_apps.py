"""The in-chat views (MCP Apps, SEP-1865): through the SDK's real `Client`, the `ui://` resources
are served with the Apps MIME type and CSP metadata, get_proposal and list_proposals point to
them for clients that declared Apps support, and a client that did not sees the same tools and
results as before. In headless Chromium, each view runs under a tiny host harness that answers
`ui/initialize`, passes a real tool result, and forwards the view's `tools/call` requests to the
real server through an MCP client, as a host does."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.extension import advertise
from mcp.client.streamable_http import streamable_http_client
from playwright.async_api import FrameLocator, Page, async_playwright

from hivegov_mcp.app import open_service
from hivegov_mcp.catalogue import CATALOGUE
from hivegov_mcp.catalogue.checks import CatalogueError, check_catalogue
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.mcp import ServerOptions, build_server
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import Mode, ok

pytestmark = pytest.mark.anyio

APPS_MIME = "text/html;profile=mcp-app"
APPS = advertise("io.modelcontextprotocol/ui", {"mimeTypes": [APPS_MIME]})
CARD, BOARD = "ui://hivegov/proposal-card.html", "ui://hivegov/board.html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OPTIONS = ["Keep a Changelog format", "Conventional commits", "Free text"]
WHY = "I weighed the specification against the motivation; this serves the agents best."
HOSTILE_TITLE = "<script>window.parent.postMessage('pwned', '*')</script><b>Bold</b> changelogs"


@dataclass
class Council:
    """One service with the standard cast; a client per agent (none declaring Apps) and the
    host's client, acting as bob, that declares Apps support."""

    agents: dict[str, Client] = field(default_factory=dict)
    host: Client | None = None

    @property
    def hosting(self) -> Client:
        assert self.host is not None
        return self.host


@asynccontextmanager
async def council(
    db_path: Path, clock: FakeClock, *, method: str = "majority", mode: Mode = "auto"
) -> AsyncIterator[Council]:
    config = parse_config(f'[governance.types.process]\nmethod = "{method}"\n')
    async with open_service(Settings(db=db_path, rules=config, clock=clock)) as service, AsyncExitStack() as stack:
        found = Council()
        for name, roles in CAST.items():
            token = (await service.register_agent(LOCAL_ADMIN, name, roles)).token
            server = build_server(service, ServerOptions(token=token, tick_seconds=0))
            found.agents[name] = await stack.enter_async_context(Client(server, mode=mode, raise_exceptions=True))
            if name == "bob":
                hosting = build_server(service, ServerOptions(token=token, tick_seconds=0))
                found.host = await stack.enter_async_context(
                    Client(hosting, mode=mode, raise_exceptions=True, extensions=[APPS])
                )
        yield found


async def decided_by_options(c: Council, title: str = PROPOSAL["title"]) -> str:
    """A proposal with options, discussed, concluded and voted on by approval until it closes."""
    made = await ok(c.agents["alice"], "create_proposal", **{**PROPOSAL, "title": title}, options=OPTIONS)
    pid: str = made["id"]
    await ok(c.agents["alice"], "start_discussion", proposal_id=pid)
    await ok(c.agents["bob"], "add_comment", proposal_id=pid, content="Structured entries help.", type="support")
    await ok(c.agents["carol"], "conclude_discussion", proposal_id=pid, resolution="approved-for-voting", reason="Ok")
    for voter, approvals in (("bob", [1, 2]), ("carol", [2]), ("dave", [3])):
        await ok(c.agents[voter], "cast_vote", proposal_id=pid, approvals=approvals, justification=WHY)
    return pid


def wire(result: Any) -> dict[str, Any]:
    """A CallToolResult as it travels (what a host passes in ui/notifications/tool-result)."""
    dumped: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dumped


# -- the MCP side -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_views_are_ui_resources_with_the_apps_mime_type_and_a_csp_that_allows_no_domain(
    db_path: Path, clock: FakeClock, mode: Mode
) -> None:
    async with council(db_path, clock, mode=mode) as c:
        listed = {str(r.uri): r for r in (await c.hosting.list_resources()).resources}
        read = {uri: (await c.hosting.read_resource(uri)).contents for uri in (CARD, BOARD)}

    no_domains: dict[str, list[str]] = {
        "connectDomains": [],
        "resourceDomains": [],
        "frameDomains": [],
        "baseUriDomains": [],
    }
    for uri in (CARD, BOARD):
        assert listed[uri].mime_type == APPS_MIME
        assert listed[uri].meta == {"ui": {"csp": no_domains, "prefersBorder": True}}
        [content] = read[uri]
        assert (str(content.uri), content.mime_type, content.meta) == (uri, APPS_MIME, listed[uri].meta)
        html = getattr(content, "text", "")
        assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
        # self-contained: nothing loaded from anywhere, and the document's own CSP says so too
        assert not re.search(r"\b(?:src|href)\s*=|https?://|@import|url\(", html)
        csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
        assert csp is not None and "default-src 'none'" in csp[1] and "connect-src 'none'" in csp[1]
        assert "unsafe-inline" not in csp[1] and "innerHTML" not in html and "fetch(" not in html


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_get_proposal_and_list_proposals_point_to_their_views_for_a_client_that_renders_apps(
    db_path: Path, clock: FakeClock, mode: Mode
) -> None:
    async with council(db_path, clock, mode=mode) as c:
        tools = (await c.hosting.list_tools()).tools
        readable = {}
        for tool in tools:
            if tool.meta:
                uri = tool.meta["ui"]["resourceUri"]
                readable[uri] = (await c.hosting.read_resource(uri)).contents[0].mime_type

    pointing = {t.name: t.meta for t in tools if t.meta}
    assert pointing == {
        "get_proposal": {"ui": {"resourceUri": CARD}},
        "list_proposals": {"ui": {"resourceUri": BOARD}},
    }
    assert readable == {CARD: APPS_MIME, BOARD: APPS_MIME}  # each pointed-to resource exists


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_without_apps_sees_the_tools_and_results_it_saw_before(
    db_path: Path, clock: FakeClock, mode: Mode
) -> None:
    async with council(db_path, clock, mode=mode) as c:
        await ok(c.agents["alice"], "create_proposal", **PROPOSAL)
        plain, apps = c.agents["bob"], c.hosting
        plain_tools, apps_tools = (await plain.list_tools()).tools, (await apps.list_tools()).tools
        plain_resources = [str(r.uri) for r in (await plain.list_resources()).resources]
        results = [
            (await client.call_tool(name, args))
            for name, args in (("get_proposal", {"proposal_id": "BIP-001"}), ("list_proposals", {}))
            for client in (plain, apps)
        ]

    assert [t.meta for t in plain_tools] == [None] * len(plain_tools)  # no _meta.ui, nothing else added
    assert [t.model_copy(update={"meta": None}) for t in apps_tools] == plain_tools  # the rest is the same
    assert not [uri for uri in plain_resources if uri.startswith("ui://")]
    proposal_plain, proposal_apps, page_plain, page_apps = (wire(r) for r in results)
    assert proposal_plain == proposal_apps and page_plain == page_apps  # text and structured content alike
    assert proposal_plain["structuredContent"]["title"] == PROPOSAL["title"]
    assert "_meta" not in proposal_plain or "ui" not in proposal_plain["_meta"]


# -- the page, in Chromium, under a host harness -----------------------------------------------------

HOST_PAGE = """<!doctype html>
<html><body>
<iframe id="app" sandbox="allow-scripts" style="width:900px;height:900px"></iframe>
<script>
window.fromView = [];  // every message the view sent to the host
window.strays = [];    // messages that came from anywhere else
const frame = document.getElementById("app");
let pending = null;
function toView(message) { frame.contentWindow.postMessage(Object.assign({jsonrpc: "2.0"}, message), "*"); }
window.notifyView = (method, params) => toView({method, params});
const answers = new Map();
let pings = 0;
// resolves once the view has answered a ping: every message sent before it has been handled
window.pingView = () => new Promise((resolve) => {
  const id = `ping-${++pings}`;
  answers.set(id, resolve);
  toView({id, method: "ping"});
});
window.startView = (html, input, result, capabilities) => {
  pending = {input, result, capabilities};
  frame.srcdoc = html;
};
window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) { window.strays.push(event.data); return; }
  const m = event.data;
  if (m.method === undefined && answers.has(m.id)) { answers.get(m.id)(m); return; }
  window.fromView.push(m);
  if (m.method === "ui/initialize") {
    toView({id: m.id, result: {
      protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
      hostCapabilities: pending.capabilities,
      hostContext: {theme: "dark", timeZone: "UTC", locale: "en-GB", displayMode: "inline"},
    }});
  } else if (m.method === "ui/notifications/initialized") {
    toView({method: "ui/notifications/tool-input", params: {arguments: pending.input}});
    toView({method: "ui/notifications/tool-result", params: pending.result});
  } else if (m.method === "tools/call") {
    toView({id: m.id, result: await window.callTool(m.params.name, m.params.arguments)});
  }
});
</script>
</body></html>"""


@asynccontextmanager
async def host_page(c: Council) -> AsyncIterator[tuple[Page, list[str]]]:
    """A page playing the host: its tools/call go to the server through the host's MCP client.
    Yields the page and the requests the browser made (there must be none)."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        page = await browser.new_page()
        problems: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))

        async def call_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
            return wire(await c.hosting.call_tool(name, arguments))

        await page.expose_function("callTool", call_tool)
        await page.set_content(HOST_PAGE)
        yield page, requests
        await browser.close()
        assert problems == []


async def show(page: Page, html: str, tool_input: dict[str, Any], result: Any, *, tools: bool = True) -> FrameLocator:
    capabilities: dict[str, Any] = {"serverTools": {}} if tools else {}
    await page.evaluate(
        "([h, i, r, c]) => window.startView(h, i, r, c)", [html, tool_input, wire(result), capabilities]
    )
    return page.frame_locator("#app")


async def calls_to_host(page: Page) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = await page.evaluate("window.fromView")
    return [m["params"] for m in sent if m.get("method") == "tools/call"]


async def test_the_card_shows_the_proposal_its_discussion_and_the_winner_of_a_vote_on_options(
    db_path: Path, clock: FakeClock
) -> None:
    async with council(db_path, clock, method="approval") as c:
        pid = await decided_by_options(c, HOSTILE_TITLE)
        html = getattr((await c.hosting.read_resource(CARD)).contents[0], "text", "")
        result = await c.hosting.call_tool("get_proposal", {"proposal_id": pid})
        async with host_page(c) as (page, requests):
            view = await show(page, html, {"proposal_id": pid}, result)
            await view.locator("section.results p.winner").wait_for(timeout=10_000)
            await view.locator("section.discussion p.counts").wait_for(timeout=10_000)

            title = await view.locator("article.card h1").text_content()
            status = await view.locator(".status").text_content()
            abstract = await view.locator("section.abstract .text").text_content()
            options = await view.locator("section.options li").all_text_contents()
            winner = await view.locator("p.winner").text_content()
            figures = await view.locator("table.tally tr").all_text_contents()
            counts = await view.locator("p.counts").text_content()
            injected = await view.locator("#view script, #view b").count()
            strays = await page.evaluate("window.strays")
            sent = await page.evaluate("window.fromView")
            before = await calls_to_host(page)

            await view.locator("button.summarize").click()
            await view.locator(".digest p.recommendation").wait_for(timeout=10_000)
            recommendation = await view.locator(".digest p.recommendation").text_content()
            after = await calls_to_host(page)
            assert requests == []  # the view fetched nothing: all it had came through the host

    handshake, initialized = sent[0], sent[1]
    assert (handshake["method"], handshake["params"]["protocolVersion"]) == ("ui/initialize", "2026-01-26")
    assert set(handshake["params"]) == {"protocolVersion", "appInfo", "appCapabilities"}
    assert initialized == {"jsonrpc": "2.0", "method": "ui/notifications/initialized", "params": {}}
    assert any(m.get("method") == "ui/notifications/size-changed" for m in sent)
    assert title == HOSTILE_TITLE  # shown as text: no element was made of it, no script ran
    assert injected == 0 and strays == []
    assert status == "approved" and abstract == PROPOSAL["abstract"]
    assert options == OPTIONS
    assert winner == f"Winner: option 2, {OPTIONS[1]}"
    assert figures == [f"1. {OPTIONS[0]}1", f"2. {OPTIONS[1]}2", f"3. {OPTIONS[2]}1"]  # label, figure, bar
    assert counts == "1 comment over 1 round; 0 unresolved objections."
    assert sorted(json.dumps(p, sort_keys=True) for p in before) == sorted(
        json.dumps({"name": name, "arguments": args}, sort_keys=True)
        for name, args in (
            ("get_discussion", {"proposal_id": pid, "limit": 1}),
            ("get_voting_results", {"proposal_id": pid}),
        )
    )
    assert after[len(before) :] == [{"name": "summarize_discussion", "arguments": {"proposal_id": pid}}]
    assert recommendation is not None and recommendation.startswith("Recommendation: approved-for-voting")


async def test_the_card_of_a_draft_under_a_host_that_passes_no_tool_calls_asks_for_nothing(
    db_path: Path, clock: FakeClock
) -> None:
    async with council(db_path, clock) as c:
        draft = await ok(c.agents["alice"], "create_proposal", **PROPOSAL)
        html = getattr((await c.hosting.read_resource(CARD)).contents[0], "text", "")
        result = await c.hosting.call_tool("get_proposal", {"proposal_id": draft["id"]})
        async with host_page(c) as (page, _):
            view = await show(page, html, {"proposal_id": draft["id"]}, result, tools=False)
            await view.locator("article.card").wait_for(timeout=10_000)
            buttons = await view.locator("button").count()
            sections = await view.locator("article.card > section").evaluate_all(
                "nodes => nodes.filter(n => n.childElementCount).map(n => n.className)"
            )
            calls = await calls_to_host(page)
            # a host that also passes on another call's result: the card stays as it is
            page_result = wire(await c.hosting.call_tool("list_proposals", {}))
            await page.evaluate("(r) => window.notifyView('ui/notifications/tool-result', r)", page_result)
            pong = await page.evaluate("window.pingView()")
            still = await view.locator("article.card h1").text_content()
            errors = await view.locator(".error").count()

    assert buttons == 0 and calls == []  # a host that passes no tool calls: a card that asks for none
    assert still == PROPOSAL["title"] and errors == 0
    assert pong["result"] == {}  # the view answers a ping, as the spec's lifecycle lists
    assert sections == ["abstract", "motivation", "specification"]


async def test_the_card_of_a_closed_majority_vote_shows_its_tally(db_path: Path, clock: FakeClock) -> None:
    async with council(db_path, clock) as c:
        made = await ok(c.agents["alice"], "create_proposal", **PROPOSAL)
        pid = made["id"]
        await ok(c.agents["alice"], "start_discussion", proposal_id=pid)
        await ok(
            c.agents["carol"], "conclude_discussion", proposal_id=pid, resolution="approved-for-voting", reason="Ok"
        )
        for voter, decision in (("bob", "approve"), ("carol", "approve"), ("dave", "reject")):
            await ok(c.agents[voter], "cast_vote", proposal_id=pid, decision=decision, justification=WHY)
        html = getattr((await c.hosting.read_resource(CARD)).contents[0], "text", "")
        result = await c.hosting.call_tool("get_proposal", {"proposal_id": pid})
        async with host_page(c) as (page, _):
            view = await show(page, html, {"proposal_id": pid}, result)
            await view.locator("table.tally").wait_for(timeout=10_000)
            outcome = await view.locator("p.outcome").text_content()
            consensus = await view.locator("p.consensus").text_content()
            tally = await view.locator("table.tally tr").all_text_contents()

    assert outcome == "Result: approved, by majority."
    assert consensus is not None and consensus.startswith("Consensus 66.7% (threshold ")
    assert tally == ["approve2", "reject1", "abstain0"]


async def test_the_board_lists_proposals_by_status_and_opens_one_through_the_host(
    db_path: Path, clock: FakeClock
) -> None:
    async with council(db_path, clock) as c:
        first = await ok(c.agents["alice"], "create_proposal", **PROPOSAL)
        second = await ok(c.agents["alice"], "create_proposal", **{**PROPOSAL, "title": HOSTILE_TITLE})
        await ok(c.agents["alice"], "start_discussion", proposal_id=second["id"])
        html = getattr((await c.hosting.read_resource(BOARD)).contents[0], "text", "")
        result = await c.hosting.call_tool("list_proposals", {"limit": 1})
        async with host_page(c) as (page, requests):
            view = await show(page, html, {"limit": 1}, result)
            await view.locator(".column").first.wait_for(timeout=10_000)
            first_page = await view.locator(".item .title").all_text_contents()
            await view.locator("button.more").click()
            await view.locator(".column[data-status='draft']").wait_for(timeout=10_000)
            columns = await view.locator(".column h2").all_text_contents()
            await view.locator(f".item[data-id='{first['id']}']").click()
            await view.locator("article.card").wait_for(timeout=10_000)
            opened = await view.locator("article.card h1").text_content()
            await view.locator("button.back").click()
            await view.locator(".board").wait_for(timeout=10_000)
            calls = await calls_to_host(page)
            assert requests == []

    assert first_page == [HOSTILE_TITLE]  # newest first, and shown as text
    assert columns == ["draft (1)", "discussion (1)"]
    assert opened == PROPOSAL["title"]
    assert calls[0]["name"] == "list_proposals" and calls[0]["arguments"]["limit"] == 1
    assert calls[0]["arguments"]["cursor"]  # the next page, with the same filters
    assert calls[1] == {"name": "get_proposal", "arguments": {"proposal_id": first["id"]}}


def test_a_view_on_an_operation_that_is_no_tool_stops_the_catalogue() -> None:
    entry = replace(CATALOGUE["get_proposal"], tool=False)
    with pytest.raises(CatalogueError, match=r"a view \(ui://hivegov/proposal-card.html\) but no tool"):
        check_catalogue([entry])


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_over_http_the_views_follow_what_each_request_declares(
    db_path: Path, clock: FakeClock, mode: Mode
) -> None:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        token = (await service.register_agent(LOCAL_ADMIN, "bob", ["voter"])).token
    seen = {}
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(headers=bearer(token), timeout=30) as http:
        for extensions in ([], [APPS]):
            transport = streamable_http_client(f"{served.base}/mcp", http_client=http)
            async with Client(transport, mode=mode, extensions=extensions) as client:
                tools = {t.name: t.meta for t in (await client.list_tools()).tools}
                views = [str(r.uri) for r in (await client.list_resources()).resources if str(r.uri).startswith("ui:")]
                seen[bool(extensions)] = (tools["get_proposal"], views)

    assert seen == {False: (None, []), True: ({"ui": {"resourceUri": CARD}}, [CARD, BOARD])}
