"""The dashboard's proposal page for votes on options (issue 19, DESIGN §13 and §20), on a real
uvicorn: the option list, the ballot form each method takes (a ranking by keyboard alone, in a real
headless Chromium; approval and score through form posts), a refused ballot with the service's
message in the content column, and after close the winner and why, every option's figure,
Schulze's matrices, the runoff rounds and the delegation flow. Labels are agents' data: shown as
text, never markup."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from playwright.async_api import async_playwright

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL
from tests.http_helpers import bearer, serve

pytestmark = pytest.mark.anyio

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MARKUP = "<script>document.title='owned'</script> & <b>bold</b>"
OPTIONS = ["Keep a Changelog format", "Conventional commits", "Free text"]
WHY = "This option serves the agents who read the changelog best."


def method(name: str) -> GovernanceConfig:
    return parse_config(f'[governance.types.process]\nmethod = "{name}"\n')


async def register(db_path: Path, clock: FakeClock, rules: GovernanceConfig) -> dict[str, str]:
    """The standard cast's tokens, in a database whose rules decide process proposals by `rules`."""
    async with open_service(Settings(db=db_path, rules=rules, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}


class Api:
    def __init__(self, http: httpx2.AsyncClient, tokens: dict[str, str]) -> None:
        self.http, self.tokens = http, tokens

    async def post(self, who: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = await self.http.post(f"/api/governance{path}", json=body, headers=bearer(self.tokens[who]))
        assert answer.status_code in (200, 201), answer.text
        result: dict[str, Any] = answer.json()
        return result

    async def results(self) -> dict[str, Any]:
        answer = await self.http.get("/api/governance/votes/BIP-001", headers=bearer(self.tokens["bob"]))
        result: dict[str, Any] = answer.json()
        return result

    async def to_voting(self, options: list[str]) -> None:
        await self.post("alice", "/proposals", PROPOSAL | {"options": options})
        await self.post("alice", "/discussions/BIP-001")
        await self.post(
            "carol", "/discussions/BIP-001/conclude", {"resolution": "approved-for-voting", "reason": "Ok."}
        )


async def signed_in(http: httpx2.AsyncClient, token: str) -> str:
    """Sign `http` in with `token`; the CSRF token of its session."""
    page = await http.get("/login")
    nonce = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert (await http.post("/login", data={"token": token, "csrf": nonce})).status_code == 303
    page = await http.get("/proposals/BIP-001")
    return page.text.split('name="csrf" value="')[1].split('"')[0]


class Tables(HTMLParser):
    """Every table of a page by id, as rows of cell texts (th and td alike, whitespace collapsed),
    and the text of elements by id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def error_of(html: str) -> str:
    return html.split('id="error">')[1].split("</p>")[0]


async def test_a_ranking_cast_by_keyboard_counts_and_the_closed_page_shows_the_matrices_and_the_delegation_flow(
    db_path: Path, clock: FakeClock
) -> None:
    tokens = await register(db_path, clock, method("ranked"))
    labels = [*OPTIONS[:2], MARKUP]
    async with (
        serve(db_path, clock=clock) as served,
        httpx2.AsyncClient(base_url=served.base) as http,
        async_playwright() as pw,
    ):
        api = Api(http, tokens)
        await api.to_voting(labels)
        await api.post("bob", "/votes/BIP-001", {"ranking": [1, 2, 3], "justification": WHY})
        await api.post("dave", "/agents/me/delegations", {"to_agent": "bob"})  # dave won't vote: bob carries him

        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        page = await browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
        await page.goto(f"{served.base}/login")
        await page.fill("input[name=token]", tokens["carol"])
        await page.click("button:has-text('Sign in')")
        await page.goto(f"{served.base}/proposals/BIP-001")
        listed = await page.locator("#options li").all_inner_texts()
        title = await page.title()

        async def rank_by_keyboard(first: int, second: int) -> None:
            """From the 1st choice (found by its label), keys only: each arrow-down moves one option
            down from "—"; Tab to the next field; Enter on the button sends the form."""
            await page.get_by_label("1st choice").focus()
            for _ in range(first):
                await page.keyboard.press("ArrowDown")
            await page.keyboard.press("Tab")
            for _ in range(second):
                await page.keyboard.press("ArrowDown")
            await page.keyboard.press("Tab")  # the 3rd choice stays "—": unranked
            await page.keyboard.press("Tab")
            await page.keyboard.type(WHY)
            await page.keyboard.press("Tab")
            async with page.expect_navigation():
                await page.keyboard.press("Enter")

        # A ranking that names option 2 twice is refused with the service's message, in the column.
        await rank_by_keyboard(2, 2)
        refused = await page.inner_text("#error")
        column = await page.locator("main").bounding_box()
        shown = await page.locator("#error").bounding_box()
        problems.clear()  # the refusal answered 400, which the browser logs: expected
        await rank_by_keyboard(2, 1)
        after = await api.results()
        await api.post("carol", "/votes/BIP-001/close", {"reason": "Everyone who meant to vote has."})
        await page.reload()
        with anyio.fail_after(10):
            await page.wait_for_selector("#pairwise")
        winner = await page.inner_text("#winner")
        browser_tables = {
            name: await page.locator(f"#{name} tr").all_inner_texts()
            for name in ("pairwise", "strongest-paths", "carried")
        }
        header_scopes = await page.eval_on_selector_all(
            "#pairwise th", "cells => cells.map(c => c.getAttribute('scope'))"
        )
        html = await page.content()
        final_title = await page.title()
        await page.set_viewport_size({"width": 375, "height": 812})
        narrow = await page.evaluate("document.documentElement.scrollWidth")  # the matrices scroll, not the page
        await browser.close()

    assert listed == labels and title == final_title == "BIP-001 · hivegov"  # the markup stayed text
    assert refused == "Invalid ranking: ranks option 2 twice; rank each option at most once"
    assert column is not None and shown is not None
    assert column["x"] <= shown["x"] and shown["x"] + shown["width"] <= column["x"] + column["width"]
    assert after["voted"] == ["bob", "carol"] and after["ballots"] is None  # counted, hidden until close
    assert winner == OPTIONS[0]
    tables = Tables(html).tables
    # bob (carrying dave: weight 2) ranks 1 > 2 > 3; carol 2 > 1 (3 unranked, below both).
    assert tables["pairwise"] == [
        ["", "over 1", "over 2", "over 3"],
        [f"1. {OPTIONS[0]}", "—", "2", "3"],
        [f"2. {OPTIONS[1]}", "1", "—", "3"],
        [f"3. {MARKUP}", "0", "0", "—"],
    ]
    assert tables["strongest-paths"][1:] == [
        [f"1. {OPTIONS[0]}", "—", "2", "3"],
        [f"2. {OPTIONS[1]}", "0", "—", "3"],
        [f"3. {MARKUP}", "0", "0", "—"],
    ]
    assert header_scopes == ["col", "col", "col", "row", "row", "row"]
    assert tables["carried"] == [
        ["Ballot of", "Own weight", "Carried from", "Counted with"],
        ["bob", "1", "dave", "2"],
        ["carol", "1", "—", "1"],
    ]
    assert tables["figures"][1] == ["1", f"1. {OPTIONS[0]}", "2"]  # place, option, options it beats
    assert len(browser_tables["pairwise"]) == 4 and len(browser_tables["carried"]) == 3
    assert 'id="uncounted">Every eligible agent' in html
    assert narrow <= 375
    assert problems == []


async def test_an_approval_ballot_through_the_form_ticks_any_number_of_options_even_none(
    db_path: Path, clock: FakeClock
) -> None:
    tokens = await register(db_path, clock, method("approval"))
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        api = Api(http, tokens)
        await api.to_voting(OPTIONS)
        posted = {}
        ticked = {"bob": ["1", "2"], "carol": [], "dave": ["2"]}
        for voter, options in ticked.items():
            async with httpx2.AsyncClient(base_url=served.base) as browser:
                csrf = await signed_in(browser, tokens[voter])
                form = {"csrf": csrf, "approvals": ["", *options], "justification": WHY}  # "": the hidden field
                posted[voter] = await browser.post("/proposals/BIP-001/vote", data=form)
                if voter == "dave":
                    closed = (await browser.get("/proposals/BIP-001")).text
        results = await api.results()

    assert {voter: (r.status_code, r.headers["location"]) for voter, r in posted.items()} == {
        voter: (303, "/proposals/BIP-001") for voter in ticked
    }
    assert {b["agent_id"]: b["approvals"] for b in results["ballots"]} == {"bob": [1, 2], "carol": [], "dave": [2]}
    assert results["status"] == "approved"  # everyone voted: closed early
    tables = Tables(closed).tables
    assert tables["figures"] == [
        ["Place", "Option", "Weight approving"],
        ["2", f"1. {OPTIONS[0]}", "1"],
        ["1", f"2. {OPTIONS[1]}", "2"],
        ["3", f"3. {OPTIONS[2]}", "0"],
    ]
    why = "because it has the most weight approving it (weight approving: 2)."
    assert f'<strong id="winner">{OPTIONS[1]}</strong>,\n{why}' in closed
    assert "<strong>carol</strong> approves none: " in closed


async def test_a_score_ballot_through_the_form_and_one_that_leaves_an_option_out_is_refused_naming_it(
    db_path: Path, clock: FakeClock
) -> None:
    tokens = await register(db_path, clock, method("score"))
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        api = Api(http, tokens)
        await api.to_voting(OPTIONS)
        async with httpx2.AsyncClient(base_url=served.base) as bob:
            csrf = await signed_in(bob, tokens["bob"])
            form_page = (await bob.get("/proposals/BIP-001")).text
            partial = await bob.post(
                "/proposals/BIP-001/vote",
                data={"csrf": csrf, "scores[1]": "5", "scores[2]": "", "scores[3]": "0", "justification": WHY},
            )
            scored = await bob.post(
                "/proposals/BIP-001/vote",
                data={"csrf": csrf, "scores[1]": "5", "scores[2]": "1", "scores[3]": "0", "justification": WHY},
            )
        results = await api.results()
        await api.post("carol", "/votes/BIP-001/close", {"reason": "Enough."})
        async with httpx2.AsyncClient(base_url=served.base) as dave:
            await signed_in(dave, tokens["dave"])
            closed = (await dave.get("/proposals/BIP-001")).text

    # One labelled select per option, "—" first: nothing scored until the voter chooses.
    assert '<label for="score-2">2. Conventional commits</label>' in form_page
    assert '<select name="scores[2]" id="score-2"><option value="">—</option><option>0</option>' in form_page
    assert partial.status_code == 400
    message = error_of(partial.text)
    assert message == (
        "Invalid scores: leaves out option 2 (&#39;Conventional commits&#39;); score every option (0 for none)"
    )
    assert partial.text.index('id="error"') < partial.text.index('<main id="live"')  # outside the live part
    assert scored.status_code == 303
    assert results["voted"] == ["bob"]
    # One voter of three: quorum (3/5) not met, so no winner, and the figures still shown.
    assert "no winner: the quorum was not met" in closed
    assert Tables(closed).tables["figures"][1:] == [
        ["1", f"1. {OPTIONS[0]}", "5"],
        ["2", f"2. {OPTIONS[1]}", "1"],
        ["3", f"3. {OPTIONS[2]}", "0"],
    ]
    assert "<strong>bob</strong> scores" in closed
    uncounted = Tables(closed).tables["uncounted"]
    assert uncounted[1:] == [
        ["carol", "1", "did not vote and delegated to no one (no_delegation)", "carol"],
        ["dave", "1", "did not vote and delegated to no one (no_delegation)", "dave"],
    ]


async def test_the_closed_instant_runoff_shows_every_round_and_the_tie_rule_it_used(
    db_path: Path, clock: FakeClock
) -> None:
    tokens = await register(db_path, clock, method("ranked_irv"))
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        api = Api(http, tokens)
        await api.to_voting(OPTIONS)
        rankings = {"bob": ["3", "2", ""], "carol": ["2", "", "3"], "dave": ["1", "2", ""]}  # "—" skipped
        for voter, ranking in rankings.items():
            async with httpx2.AsyncClient(base_url=served.base) as browser:
                csrf = await signed_in(browser, tokens[voter])
                form = {"csrf": csrf, "ranking": ranking, "justification": WHY}  # one select per rank
                assert (await browser.post("/proposals/BIP-001/vote", data=form)).status_code == 303
                closed = (await browser.get("/proposals/BIP-001")).text
        results = await api.results()

    assert {b["agent_id"]: b["ranking"] for b in results["ballots"]} == {"bob": [3, 2], "carol": [2, 3], "dave": [1, 2]}
    assert Tables(closed).tables["rounds"] == [
        ["Round", "1", "2", "3", "Exhausted", "Eliminated"],
        ["1", "1", "1", "1", "0", f"3. {OPTIONS[2]} (tied for least: 1, 2, 3; the one listed last goes)"],
        ["2", "1", "2", "—", "0", "— (winner found)"],
    ]
    tie = closed.split('<p id="tie-rule">')[1].split("</p>")[0]
    assert tie.startswith("Options 1, 2, 3 held the same weight in the round before the last")
    assert "Tie rule: Each round eliminates the option with the least first-preference weight" in tie
    assert f'<strong id="winner">{OPTIONS[1]}</strong>' in closed
    assert "<strong>bob</strong> ranks" in closed


async def test_option_labels_are_escaped_everywhere_the_page_shows_them(db_path: Path, clock: FakeClock) -> None:
    tokens = await register(db_path, clock, method("ranked"))
    labels = ["Plain", MARKUP]
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        api = Api(http, tokens)
        await api.to_voting(labels)
        async with httpx2.AsyncClient(base_url=served.base) as carol:
            await signed_in(carol, tokens["carol"])
            voting = (await carol.get("/proposals/BIP-001")).text
            for voter in ("bob", "carol", "dave"):
                await api.post(voter, "/votes/BIP-001", {"ranking": [2, 1], "justification": WHY})
            closed = (await carol.get("/proposals/BIP-001")).text

    escaped = "&lt;script&gt;document.title=&#39;owned&#39;&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    for page in (voting, closed):
        assert "<script>document" not in page and "<b>bold" not in page
    assert voting.count(escaped) == 3  # the option list and the 1st and 2nd choice selects
    assert f'<li id="option-2">{escaped}</li>' in voting
    assert f'<strong id="winner">{escaped}</strong>' in closed
    assert f'<th scope="col" title="{escaped}">over 2</th>' in closed
