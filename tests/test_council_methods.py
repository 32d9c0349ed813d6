"""The council votes by the proposal's method (issue 19, DESIGN §19-§20): a member with a vote
on its agenda is told the method frozen when voting opened, the cast_vote field it takes and the
option ids (the `VOTE` line, and the same in words), with the options' labels listed by id inside
the proposal's fence; the council lets a ballot in that field through to the server; and three
members' rankings of a ranked (Schulze) proposal close the vote with a winner anyone can recount."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.council.runner import run_council
from hivegov_mcp.council.scope import refusal, tools_for_item
from hivegov_mcp.council.scripted import ChatRequest, Reply, ScriptedEndpoint, ballot, call, say
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.render import BEGIN
from hivegov_mcp.service import GovernanceService
from tests.council_helpers import (
    JUSTIFICATION,
    FakeTime,
    Transcript,
    ballots,
    council,
    member,
    open_vote,
    people,
    votes_approve,
)
from tests.http_helpers import serve

pytestmark = pytest.mark.anyio

OPTIONS = ["Keep a Changelog format", "Conventional commits", "Free text"]
RANKED = parse_config('[governance.types.process]\nmethod = "ranked"\n')
PREFERENCES = {"ann": [1, 2, 3], "ben": [2, 1, 3], "cy": [1, 3]}  # cy leaves 2 out: ranked below 1 and 3
READS = {"get_proposal", "get_voting_results", "whoami"}


def test_the_council_lets_a_ballot_in_an_option_field_through_and_holds_it_to_the_item() -> None:
    item = {"proposal_id": "BIP-002", "tool": "cast_vote", "status": "voting"}
    offered = READS | {"cast_vote", "add_comment"}

    assert tools_for_item(item, offered, READS, blind=False) == READS | {"cast_vote"}
    for field_ballot in ({"ranking": [2, 1]}, {"approvals": [1, 3]}, {"scores": {"1": 5, "2": 0}}):
        args = {"proposal_id": "BIP-002", "justification": JUSTIFICATION, **field_ballot}
        assert refusal(item, "cast_vote", args, frozenset(), READS) is None, field_ballot
        elsewhere = {**args, "proposal_id": "BIP-003"}
        assert "this item is about BIP-002" in str(refusal(item, "cast_vote", elsewhere, frozenset(), READS))


def test_a_scripted_ballot_is_in_the_field_the_vote_line_names() -> None:
    options = {"options": [1, 2, 3]}
    assert ballot({"field": "decision", "options": []}) == {"decision": "approve"}
    assert ballot({"field": "approvals", **options}, [2, 1]) == {"approvals": [2]}
    assert ballot({"field": "scores", **options}, [3, 1]) == {"scores": {"1": 4, "2": 0, "3": 5}}
    assert ballot({"field": "ranking", **options}) == {"ranking": [1, 2, 3]}


async def _set_rules(service: GovernanceService) -> None:
    await service.set_rules(LOCAL_ADMIN, RANKED, source="test: process proposals are ranked")


async def test_three_members_rank_a_ranked_proposal_and_the_vote_closes_with_its_schulze_winner(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    def ranks(req: ChatRequest) -> Reply:
        item, vote = req.item, req.vote
        if req.calls or item.get("tool") != "cast_vote":
            return say("Done." if req.calls else "Nothing to do.")
        agent = req.model.removeprefix("model-")
        why = f"My order of the {len(vote['options'])} options, weighed on the specification."
        return call("cast_vote", proposal_id=item["proposal_id"], **ballot(vote, PREFERENCES[agent]), justification=why)

    endpoint = ScriptedEndpoint(ranks, models=tuple(f"model-{n}" for n in PREFERENCES))
    transcript = Transcript()
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        service = served.service
        await _set_rules(service)
        await people(service)
        tokens = {n: (await service.register_agent(LOCAL_ADMIN, n, ["voter"])).token for n in PREFERENCES}
        pid = await open_vote(service, OPTIONS)
        members = [member(n, tokens[n], f"model-{n}", endpoint.base_url) for n in PREFERENCES]
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: run_council(
                    council(tmp_path, members, server=f"{served.base}/mcp"), time=FakeTime(), say=transcript
                )
            )
            for name in PREFERENCES:
                await transcript.wait_for(f"{name} {pid} cast_vote: done")
            tg.cancel_scope.cancel()
        cast = await ballots(service, pid)
        results = await service.get_voting_results(LOCAL_ADMIN, pid)
        check = await service.verify_audit()

    assert cast == {name: "cast_vote" for name in PREFERENCES}
    assert (results.status, results.method, results.options) == ("approved", "ranked", OPTIONS)
    assert {b.agent_id: b.ranking for b in results.ballots or []} == PREFERENCES
    assert results.option_tally is not None
    assert (results.option_tally.winner, results.option_tally.winner_label) == (1, OPTIONS[0])
    assert results.option_tally.pairwise == [[0, 2, 3], [1, 0, 2], [0, 1, 0]]
    assert check.ok, check
    assert transcript.has(f"cy {pid} cast_vote(ranking=[1, 3], justification=My order of the 3 options")

    first = next(r for r in endpoint.requests if r.model == "model-ann")
    lines = first.prompt.split("\n")
    assert lines[2] == 'VOTE {"method":"ranked","field":"ranking","options":[1,2,3]}'
    assert lines[3].startswith(f"How to vote: {pid} is decided by the ranked method (frozen when voting opened)")
    assert "Call cast_vote with ranking: option ids, most preferred first" in lines[3]
    asked, fenced = first.prompt.split(BEGIN, 1)
    assert "## Options (id. label)\n1. Keep a Changelog format\n2. Conventional commits\n3. Free text" in fenced
    assert not any(label in asked for label in OPTIONS)  # the labels are the author's data: fenced only
    assert "cast_vote" in first.tools


async def test_a_member_voting_on_a_yes_no_proposal_is_told_to_give_a_decision(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(votes_approve, models=("m",))
    transcript = Transcript()
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        await people(served.service)
        token = (await served.service.register_agent(LOCAL_ADMIN, "ann", ["voter"])).token
        pid = await open_vote(served.service)
        setup = council(tmp_path, [member("ann", token, "m", endpoint.base_url)], server=f"{served.base}/mcp")
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_council(setup, time=FakeTime(), say=transcript))
            await transcript.wait_for(f"ann {pid} cast_vote: done")
            tg.cancel_scope.cancel()
        closed = await served.service.get_voting_results(LOCAL_ADMIN, pid)

    prompt = endpoint.requests[0].prompt
    assert 'VOTE {"method":"majority","field":"decision","options":[]}' in prompt.split("\n")
    assert re.search(r"Call cast_vote with decision: approve, reject or abstain, and a justification\.$", prompt, re.M)
    assert "Options" not in prompt
    assert (closed.status, closed.result, [b.decision for b in closed.ballots or []]) == (
        "approved",
        "approved",
        ["approve"],
    )
