"""Votes on options (issue 19, DESIGN §20) through the service, on both stores: a proposal of a type
decided by approval, score, ranked (Schulze) or ranked_irv carries 2-20 options; each voter casts
the ballot its method takes; the close counts by that method, names the winning option (or none,
and why), stores the count and records it in the log with every ballot."""

from __future__ import annotations

from typing import Any

import pytest

from hivegov_mcp.domain.audit import canonical_json, content_hash
from hivegov_mcp.domain.config import GovernanceConfig, parse_config
from hivegov_mcp.domain.errors import InvalidInput, NotEligible, NotNow
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]

OPTIONS = ["Keep a Changelog format", "Conventional commits", "Free text"]
WHY = "This is the option that serves the agents best."


def method(name: str, extra: str = "") -> GovernanceConfig:
    return parse_config(f'[governance.types.process]\nmethod = "{name}"\n{extra}')


async def voting(service: GovernanceService, cast: Cast, options: list[str] | None = None) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL, options=options or OPTIONS)).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready to vote on the options.")
    return pid


async def closing_event(service: GovernanceService, pid: str) -> dict[str, Any]:
    events = (await service.get_audit_log(LOCAL_ADMIN, proposal_id=pid)).events
    return next(e.payload for e in reversed(events) if "ballots" in e.payload)


@pytest.mark.parametrize("config", [method("ranked")])
async def test_ranked_names_the_schulze_winner_with_the_pairwise_matrix(service: GovernanceService, cast: Cast) -> None:
    pid = await voting(service, cast)
    await service.cast_vote(cast["bob"], pid, justification=WHY, ranking=[1, 2, 3])
    await service.cast_vote(cast["carol"], pid, justification=WHY, ranking=[2, 1, 3])
    receipt = await service.cast_vote(cast["dave"], pid, justification=WHY, ranking=[1, 3])
    assert receipt.ranking == [1, 3] and receipt.decision is None
    assert receipt.status is Status.APPROVED  # everyone voted: closed early
    results = await service.get_voting_results(cast["bob"], pid)
    assert results.method == "ranked" and results.options == OPTIONS
    tally = results.option_tally
    assert tally is not None
    assert (tally.winner, tally.winner_label) == (1, OPTIONS[0])
    # pairwise[i][j]: weight ranking option i+1 above option j+1 (dave left 2 out: below 1 and 3)
    assert tally.pairwise == [[0, 2, 3], [1, 0, 2], [0, 1, 0]]
    assert tally.schulze_winners == [1] and tally.rounds is None
    assert results.tally is None and results.result == "approved"
    logged = await closing_event(service, pid)
    assert logged["method"] == "ranked" and logged["options"] == OPTIONS
    assert logged["ballots"]["dave"] == {"ranking": [1, 3]}
    assert logged["result"]["winner"] == 1 and logged["to"] == "approved"


@pytest.mark.parametrize("config", [method("ranked_irv")])
async def test_ranked_irv_records_every_round(service: GovernanceService, cast: Cast) -> None:
    pid = await voting(service, cast)
    await service.cast_vote(cast["bob"], pid, justification=WHY, ranking=[3, 2])
    await service.cast_vote(cast["carol"], pid, justification=WHY, ranking=[2, 3])
    await service.cast_vote(cast["dave"], pid, justification=WHY, ranking=[1, 2])
    tally = (await service.get_voting_results(cast["bob"], pid)).option_tally
    assert tally is not None and tally.rounds is not None
    # round 1: 1, 1, 1 -> the last listed of those tied for least (3) goes; round 2: 2 has bob and carol
    assert [(r.number, r.eliminated) for r in tally.rounds] == [(1, 3), (2, None)]
    assert tally.rounds[0].tied_for_last == [1, 2, 3]
    assert tally.winner == 2 and tally.pairwise is None


@pytest.mark.parametrize("config", [method("approval")])
async def test_approval_counts_the_weight_approving_each_option(service: GovernanceService, cast: Cast) -> None:
    pid = await voting(service, cast)
    await service.cast_vote(cast["bob"], pid, justification=WHY, approvals=[1, 2])
    await service.cast_vote(cast["carol"], pid, justification=WHY, approvals=[2])
    await service.cast_vote(cast["dave"], pid, justification=WHY, approvals=[])
    results = await service.get_voting_results(cast["dave"], pid)
    tally = results.option_tally
    assert tally is not None and tally.winner == 2
    assert [(f.option, f.figure) for f in tally.figures] == [(1, "1"), (2, "2"), (3, "0")]
    assert results.consensus == pytest.approx(2 / 3)  # the winner's approving weight / voted weight


@pytest.mark.parametrize("config", [method("score")])
async def test_score_takes_the_highest_weighted_mean(service: GovernanceService, cast: Cast) -> None:
    pid = await voting(service, cast)
    await service.cast_vote(cast["bob"], pid, justification=WHY, scores={1: 5, 2: 1, 3: 0})
    await service.cast_vote(cast["carol"], pid, justification=WHY, scores={1: 2, 2: 4, 3: 0})
    await service.cast_vote(cast["dave"], pid, justification=WHY, scores={1: 3, 2: 3, 3: 5})
    tally = (await service.get_voting_results(cast["dave"], pid)).option_tally
    assert tally is not None and tally.winner == 1
    assert [f.figure for f in tally.figures] == ["10/3", "8/3", "5/3"]
    ballots = (await service.get_voting_results(cast["dave"], pid)).ballots or []
    assert {b.agent_id: b.scores for b in ballots}["carol"] == {1: 2, 2: 4, 3: 0}


@pytest.mark.parametrize("config", [method("approval")])
async def test_no_option_approved_is_rejected_for_no_support(service: GovernanceService, cast: Cast) -> None:
    pid = await voting(service, cast)
    for voter in ("bob", "carol", "dave"):
        await service.cast_vote(cast[voter], pid, justification=WHY, approvals=[])
    results = await service.get_voting_results(cast["dave"], pid)
    assert (results.status, results.reason) == (Status.REJECTED, "no_support")
    assert results.option_tally is not None and results.option_tally.winner is None


@pytest.mark.parametrize("config", [method("ranked")])
async def test_results_stay_hidden_while_open_and_quorum_applies(service: GovernanceService, cast: Cast) -> None:
    pid = await voting(service, cast)
    await service.cast_vote(cast["bob"], pid, justification=WHY, ranking=[2])
    open_results = await service.get_voting_results(cast["carol"], pid)
    assert open_results.option_tally is None and open_results.ballots is None and open_results.voted == ["bob"]
    closed = await service.close_voting(cast["carol"], pid, "Closing to test the quorum.")
    assert (closed.status, closed.reason) == (Status.REJECTED, "quorum_not_met")  # 1 of 3 < 3/5


@pytest.mark.parametrize("config", [method("ranked")])
async def test_a_ballot_the_method_does_not_take_is_refused_by_name_and_nothing_is_written(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await voting(service, cast)
    before = len((await service.get_audit_log(LOCAL_ADMIN, proposal_id=pid)).events)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"decision": "approve"}, "decision", "decided by ranked: give ranking"),
        ({}, "ranking", "ranking is missing"),
        ({"ranking": [4]}, "ranking[1]", "4 is not an option id of this proposal: use one of 1 = "),
        ({"ranking": [1, 1]}, "ranking", "ranks option 1 twice"),
        ({"ranking": [1] * 100_000}, "ranking", "lists 100000 ids; there are 3 options"),
        ({"ranking": []}, "ranking", "rank at least your first choice"),
    ]
    for ballot, field, words in cases:
        with pytest.raises(InvalidInput) as refused:
            await service.cast_vote(cast["bob"], pid, justification=WHY, **ballot)
        assert refused.value.field == field and words in str(refused.value), ballot
    with pytest.raises(NotEligible):
        await service.cast_vote(cast["alice"], pid, justification=WHY, ranking=[1])
    assert len((await service.get_audit_log(LOCAL_ADMIN, proposal_id=pid)).events) == before


@pytest.mark.parametrize("config", [method("score")])
async def test_scores_must_cover_every_option_within_range(service: GovernanceService, cast: Cast) -> None:
    pid = await voting(service, cast)
    with pytest.raises(InvalidInput, match=r"leaves out option 3 \('Free text'\)"):
        await service.cast_vote(cast["bob"], pid, justification=WHY, scores={1: 1, 2: 2})
    with pytest.raises(InvalidInput, match="must be a whole score from 0 to 5"):
        await service.cast_vote(cast["bob"], pid, justification=WHY, scores={1: 6, 2: 2, 3: 0})
    for key in ("01", " 1", "1.0"):  # only the plain digits of an id: "01" can't score option 1 a second time
        with pytest.raises(InvalidInput, match=f"{key!r} is not an option id"):
            keyed: dict[str, int] = {key: 3, "2": 0, "3": 5}
            await service.cast_vote(cast["bob"], pid, justification=WHY, scores=keyed)


@pytest.mark.parametrize("config", [method("approval")])
async def test_options_are_checked_and_fit_the_method(service: GovernanceService, cast: Cast) -> None:
    refusals: list[tuple[list[str] | None, str]] = [
        (None, "is missing: process proposals are decided by approval"),
        (["Only one"], "has 1 labels; give 2 to 20"),
        (["Same", "same"], "repeats option 1"),
        (["Fine", "Two\nlines"], "must be one line"),
        (["x" * 121, "y"], "is 121 characters; the limit is 120"),
        (["Café", "Cafe\u0301"], "repeats option 1"),  # one text, two Unicode forms
        (["Ａ", "A"], "repeats option 1"),  # full width
    ]
    for options, words in refusals:
        with pytest.raises(InvalidInput, match=words):
            await service.create_proposal(cast["alice"], **PROPOSAL, options=options)
    made = await service.create_proposal(cast["alice"], **PROPOSAL, options=["  A  ", "B"])
    assert made.options == ["A", "B"]


async def test_a_yes_no_proposal_refuses_options_and_hashes_as_before(service: GovernanceService, cast: Cast) -> None:
    with pytest.raises(InvalidInput, match="decided by majority, which votes on no options"):
        await service.create_proposal(cast["alice"], **PROPOSAL, options=OPTIONS)
    made = await service.create_proposal(cast["alice"], **PROPOSAL)
    shown = made.model_dump()
    fields = {k: shown[k] for k in ("title", "abstract", "motivation", "specification", "implementation")}
    assert made.options == [] and made.content_hash == content_hash({**fields, "dependencies": []})


@pytest.mark.parametrize("config", [method("ranked")])
async def test_options_change_with_a_revision_and_the_vote_uses_the_voted_version(
    service: GovernanceService, cast: Cast
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL, options=["A", "B"])).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "requires-revision", "A third option is missing.")
    revised = await service.revise_proposal(
        cast["alice"], pid, expected_version=1, change_note="A third option.", options=["A", "B", "C"]
    )
    assert revised.options == ["A", "B", "C"] and revised.version == 2
    assert canonical_json(revised.options) == '["A","B","C"]'
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready to vote on the options.")
    await service.cast_vote(cast["bob"], pid, justification=WHY, ranking=[3])  # option 3 exists only in v2
    results = await service.get_voting_results(cast["bob"], pid)
    assert results.options == ["A", "B", "C"] and results.voted == ["bob"]


@pytest.mark.parametrize("config", [method("ranked")])
async def test_voting_opens_only_when_the_options_fit_the_method_frozen_then(
    service: GovernanceService, cast: Cast
) -> None:
    """Rules may change between writing a proposal and voting on it: options on a type now decided
    by majority (or none on a type now ranked) keep it in discussion, saying what to do."""
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL, options=["A", "B"])).id
    await service.start_discussion(cast["alice"], pid)
    await service.set_rules(LOCAL_ADMIN, GovernanceConfig(), source="test: back to majority")
    with pytest.raises(NotNow, match=r"decided by majority now, which votes on no options, and it has 2") as no:
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready to vote on it.")
    assert "revise_proposal(options=[])" in str(no.value.hint)
    await service.conclude_discussion(cast["carol"], pid, "requires-revision", "The options must go.")
    revised = await service.revise_proposal(
        cast["alice"], pid, expected_version=1, change_note="A yes/no vote now.", options=[]
    )
    assert revised.options == [] and revised.version == 2
    await service.start_discussion(cast["alice"], pid)
    opened = await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready to vote on it.")
    assert opened.status is Status.VOTING
    assert (await service.get_voting_results(cast["bob"], pid)).method == "majority"
