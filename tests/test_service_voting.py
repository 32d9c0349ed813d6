"""Voting through the service (DESIGN §3): the frozen eligible set, changed votes, visibility and the one tally."""

from __future__ import annotations

from fractions import Fraction

import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, ProposalType, Rules, Visibility
from hivegov_mcp.domain.errors import (
    InvalidInput,
    NoEligibleVoters,
    NotAuthenticated,
    NotEligible,
    PermissionDenied,
    TransitionNotAllowed,
)
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent, Comment
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.tally import Decision, Outcome
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.engine import ENGINE
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

WHY = "I weighed the specification against the motivation and it holds up."
LIVE = GovernanceConfig(defaults=Rules(results_visibility=Visibility.LIVE))


async def _in_discussion(service: GovernanceService, cast: Cast, type: str = "process") -> str:
    proposal_id = (await service.create_proposal(cast["alice"], **{**PROPOSAL, "type": type})).id
    await service.start_discussion(cast["alice"], proposal_id)
    return proposal_id


async def _in_voting(service: GovernanceService, cast: Cast, type: str = "process") -> str:
    proposal_id = await _in_discussion(service, cast, type)
    await service.conclude_discussion(cast["carol"], proposal_id, "approved-for-voting", "Ready for a vote.")
    return proposal_id


async def _register(service: GovernanceService, agent_id: str, roles: list[str], weight: int = 1) -> Agent:
    registered = await service.register_agent(LOCAL_ADMIN, agent_id, roles, weight=weight)
    return await service.authenticate(registered.token)


async def _audit_seq(service: GovernanceService, cast: Cast) -> int:
    return (await service.get_governance_status(cast["root"])).audit_events


async def test_the_eligible_set_is_the_active_voters_when_voting_opens(service: GovernanceService, cast: Cast) -> None:
    await _register(service, "gina", ["voter"], weight=3)
    await _register(service, "hank", ["voter"])
    await service.deactivate_agent(cast["root"], "hank")

    pid = await _in_voting(service, cast)

    results = await service.get_voting_results(cast["bob"], pid)
    assert results.eligible == {"bob": 1, "carol": 1, "dave": 1, "gina": 3}
    assert results.eligible_weight == 6


async def test_an_agent_given_the_voter_role_after_voting_opened_can_not_vote(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _in_voting(service, cast)
    await service.set_agent_roles(cast["root"], "alice", ["proposer", "voter"])
    alice = await service.authenticate(cast.tokens["alice"])
    assert "voter" in alice.roles
    seq = await _audit_seq(service, cast)

    with pytest.raises(NotEligible) as refused:
        await service.cast_vote(alice, pid, "approve", WHY)

    assert (refused.value.agent_id, refused.value.proposal_id) == ("alice", pid)
    assert "'alice'" in str(refused.value)
    assert pid in str(refused.value)
    assert await _audit_seq(service, cast) == seq
    assert (await service.get_voting_results(alice, pid)).voted == []


async def test_an_agent_without_the_voter_role_is_not_eligible(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)

    with pytest.raises(NotEligible):
        await service.cast_vote(cast["erin"], pid, "approve", WHY)


async def test_a_voter_deactivated_after_voting_opened_still_counts_as_eligible(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_voting(service, cast)
    await service.deactivate_agent(cast["root"], "dave")
    with pytest.raises(NotAuthenticated):
        await service.authenticate(cast.tokens["dave"])

    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    last = await service.cast_vote(cast["carol"], pid, "approve", WHY)

    assert last.status is Status.VOTING
    open_results = await service.get_voting_results(cast["bob"], pid)
    assert open_results.eligible == {"bob": 1, "carol": 1, "dave": 1}
    assert (open_results.eligible_weight, open_results.voted_weight) == (3, 2)
    clock.advance(minutes=31)
    closed = await service.get_voting_results(cast["bob"], pid)
    assert (closed.result, closed.quorum_met, closed.eligible_weight) == (Outcome.APPROVED, True, 3)


async def test_a_changed_vote_counts_last_and_the_earlier_one_stays_in_the_audit_log(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _in_voting(service, cast)

    first = await service.cast_vote(cast["bob"], pid, "approve", WHY)
    second = await service.cast_vote(cast["bob"], pid, "reject", "On reflection the migration plan is missing.")

    assert (first.replaced_earlier_vote, second.replaced_earlier_vote) == (False, True)
    assert second.decision is Decision.REJECT
    assert second.receipt.seq == first.receipt.seq + 1
    open_results = await service.get_voting_results(cast["bob"], pid)
    assert (open_results.voted, open_results.votes_cast) == (["bob"], 1)

    await service.cast_vote(cast["carol"], pid, "approve", WHY)
    closing = await service.cast_vote(cast["dave"], pid, "approve", WHY)

    assert (closing.status, closing.result) == (Status.APPROVED, Outcome.APPROVED)
    results = await service.get_voting_results(cast["bob"], pid)
    assert results.tally is not None
    assert (results.tally.approve, results.tally.reject, results.tally.abstain) == (2, 1, 0)
    assert results.ballots is not None
    bob = next(b for b in results.ballots if b.agent_id == "bob")
    assert (bob.decision, bob.justification) == (Decision.REJECT, "On reflection the migration plan is missing.")
    log = await service.get_audit_log(cast["root"], proposal_id=pid)
    bob_votes = [e for e in log.events if e.action == "cast_vote" and e.actor == "bob"]
    assert [e.payload["replaces_earlier"] for e in bob_votes] == [False, True]
    assert bob_votes[0].payload["ballot_sha256"] != bob_votes[1].payload["ballot_sha256"]
    close = log.events[-1]
    assert (close.actor, close.action) == (ENGINE, "early_close")
    assert close.payload["ballots"] == {"bob": "reject", "carol": "approve", "dave": "approve"}
    assert (await service.verify_audit()).ok  # both of bob's ballots match their salted commitments


async def test_voting_closes_early_once_every_eligible_voter_has_voted(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)

    receipts = [await service.cast_vote(cast[v], pid, "approve", WHY) for v in ("bob", "carol", "dave")]

    assert [(r.status, r.result) for r in receipts] == [
        (Status.VOTING, None),
        (Status.VOTING, None),
        (Status.APPROVED, Outcome.APPROVED),
    ]
    with pytest.raises(TransitionNotAllowed):
        await service.cast_vote(cast["bob"], pid, "reject", WHY)


@pytest.mark.parametrize("config", [GovernanceConfig(defaults=Rules(early_close=False))])
async def test_without_early_close_voting_stays_open_until_the_deadline(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_voting(service, cast)

    receipts = [await service.cast_vote(cast[v], pid, "approve", WHY) for v in ("bob", "carol", "dave")]

    assert [r.status for r in receipts] == [Status.VOTING] * 3
    clock.advance(minutes=31)
    assert (await service.get_proposal(cast["bob"], pid)).status is Status.APPROVED


async def test_results_while_open_show_who_voted_but_not_how(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "reject", WHY)
    await service.cast_vote(cast["dave"], pid, "approve", WHY)

    results = await service.get_voting_results(cast["carol"], pid)

    assert results.visibility is Visibility.AFTER_CLOSE
    assert (results.status, results.result, results.reason) == (Status.VOTING, None, None)
    assert (results.tally, results.consensus, results.ballots) == (None, None, None)
    assert (results.voted, results.votes_cast, results.voted_weight) == (["bob", "dave"], 2, 2)
    assert (results.quorum, results.approval_threshold) == ("3/5", "2/3")
    dumped = results.model_dump_json()
    assert "reject" not in dumped
    assert "approve" not in dumped


@pytest.mark.parametrize("config", [LIVE], ids=["live"])
async def test_live_visibility_shows_the_tally_while_voting_is_open(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "reject", WHY)
    await service.cast_vote(cast["dave"], pid, "approve", WHY)

    results = await service.get_voting_results(cast["carol"], pid)

    assert results.visibility is Visibility.LIVE
    assert results.status is Status.VOTING
    assert results.result is None
    assert results.tally is not None
    assert (results.tally.approve, results.tally.reject, results.tally.abstain) == (1, 1, 0)
    assert results.consensus == 0.5
    assert results.ballots is not None
    assert [(b.agent_id, b.decision) for b in results.ballots] == [("bob", Decision.REJECT), ("dave", Decision.APPROVE)]


async def test_two_of_three_approvals_meet_a_two_thirds_threshold(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    await service.cast_vote(cast["carol"], pid, "approve", WHY)
    last = await service.cast_vote(cast["dave"], pid, "reject", WHY)

    results = await service.get_voting_results(cast["alice"], pid)

    assert last.result is Outcome.APPROVED
    assert (results.status, results.result, results.reason) == (Status.APPROVED, Outcome.APPROVED, None)
    assert results.consensus == float(Fraction(2, 3))
    assert results.closed_at is not None


@pytest.mark.parametrize(
    "config", [GovernanceConfig(per_type={ProposalType.STANDARDS: Rules(approval_threshold=Fraction(3, 4))})]
)
async def test_a_standards_proposal_uses_its_own_threshold(service: GovernanceService, cast: Cast) -> None:
    standards = await _in_voting(service, cast, type="standards")
    process = await _in_voting(service, cast, type="process")

    for pid in (standards, process):
        for voter, decision in (("bob", "approve"), ("carol", "approve"), ("dave", "reject")):
            await service.cast_vote(cast[voter], pid, decision, WHY)

    strict_results = await service.get_voting_results(cast["alice"], standards)
    assert (strict_results.result, strict_results.reason, strict_results.approval_threshold) == (
        Outcome.REJECTED,
        "threshold_not_met",
        "3/4",
    )
    assert (await service.get_voting_results(cast["alice"], process)).result is Outcome.APPROVED


async def test_too_few_approvals_reject_with_threshold_not_met(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    await service.cast_vote(cast["carol"], pid, "reject", WHY)
    await service.cast_vote(cast["dave"], pid, "reject", WHY)

    results = await service.get_voting_results(cast["alice"], pid)

    assert (results.status, results.result, results.reason, results.quorum_met) == (
        Status.REJECTED,
        Outcome.REJECTED,
        "threshold_not_met",
        True,
    )
    assert (await service.get_proposal(cast["alice"], pid)).outcome_reason == "threshold_not_met"


async def test_too_few_voters_reject_with_quorum_not_met_even_if_all_approve(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)

    closed = await service.close_voting(cast["carol"], pid, "Nobody else is coming.")

    assert (closed.status, closed.result, closed.reason, closed.quorum_met) == (
        Status.REJECTED,
        Outcome.REJECTED,
        "quorum_not_met",
        False,
    )
    assert closed.consensus == 1.0


async def test_abstentions_count_towards_quorum_but_not_consensus(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "abstain", WHY)
    await service.cast_vote(cast["carol"], pid, "approve", WHY)

    closed = await service.close_voting(cast["carol"], pid, "Time to decide.")

    assert (closed.result, closed.quorum_met, closed.consensus, closed.voted_weight) == (
        Outcome.APPROVED,
        True,
        1.0,
        2,
    )


async def test_weights_decide_the_outcome(service: GovernanceService, cast: Cast) -> None:
    whale = await _register(service, "whale", ["voter"], weight=5)
    pid = await _in_voting(service, cast)
    for voter in ("bob", "carol", "dave"):
        await service.cast_vote(cast[voter], pid, "approve", WHY)
    last = await service.cast_vote(whale, pid, "reject", WHY)

    results = await service.get_voting_results(cast["alice"], pid)

    assert last.result is Outcome.REJECTED
    assert results.tally is not None
    assert (results.tally.approve, results.tally.reject) == (3, 5)
    assert (results.reason, results.eligible_weight, results.voted_weight) == ("threshold_not_met", 8, 8)
    assert results.consensus == 3 / 8


async def test_a_heavy_voter_alone_can_meet_the_quorum(service: GovernanceService, cast: Cast) -> None:
    whale = await _register(service, "whale", ["voter"], weight=5)
    pid = await _in_voting(service, cast)
    await service.cast_vote(whale, pid, "approve", WHY)

    closed = await service.close_voting(cast["carol"], pid, "The decisive vote is in.")

    assert (closed.result, closed.quorum_met, closed.voted_weight, closed.eligible_weight) == (
        Outcome.APPROVED,
        True,
        5,
        8,
    )


async def test_a_justification_shorter_than_the_minimum_is_refused(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)
    seq = await _audit_seq(service, cast)

    with pytest.raises(InvalidInput) as refused:
        await service.cast_vote(cast["bob"], pid, "approve", "   Looks fine.       ")

    assert refused.value.field == "justification"
    assert "11 characters" in str(refused.value)
    assert "20" in str(refused.value)
    assert await _audit_seq(service, cast) == seq
    assert (await service.get_voting_results(cast["bob"], pid)).voted == []
    accepted = await service.cast_vote(cast["bob"], pid, "approve", "x" * 20)
    assert accepted.decision is Decision.APPROVE


@pytest.mark.parametrize("config", [GovernanceConfig(defaults=Rules(min_justification_chars=0))])
async def test_the_minimum_justification_is_configurable(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)

    receipt = await service.cast_vote(cast["bob"], pid, "approve", "Yes.")

    assert receipt.decision is Decision.APPROVE


async def test_a_mediator_closes_voting_with_a_reason(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    await service.cast_vote(cast["dave"], pid, "approve", WHY)

    closed = await service.close_voting(cast["carol"], pid, "Carol is recused; two votes are enough.")

    assert (closed.status, closed.result, closed.reason) == (Status.APPROVED, Outcome.APPROVED, None)
    assert closed.tally is not None
    assert closed.tally.approve == 2
    log = await service.get_audit_log(cast["root"], proposal_id=pid)
    event = log.events[-1]
    assert (event.seq, event.hash) == (closed.receipt.seq, closed.receipt.hash)
    assert (event.actor, event.action, event.payload["note"]) == (
        "carol",
        "close_voting",
        "Carol is recused; two votes are enough.",
    )
    assert event.payload["from"] == "voting"
    assert event.payload["to"] == "approved"


async def test_closing_voting_needs_a_mediator_and_an_open_vote(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)

    with pytest.raises(PermissionDenied) as refused:
        await service.close_voting(cast["bob"], pid, "I want it over.")
    assert (refused.value.agent_id, refused.value.action) == ("bob", "close_voting")

    with pytest.raises(InvalidInput) as empty:
        await service.close_voting(cast["carol"], pid, "  ")
    assert empty.value.field == "reason"

    await service.close_voting(cast["carol"], pid, "Done.")
    with pytest.raises(TransitionNotAllowed) as again:
        await service.close_voting(cast["carol"], pid, "Done again.")
    assert str(again.value).startswith(f"Can't close_voting on {pid}: it is in rejected.")


async def test_voting_results_before_voting_are_refused(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)

    with pytest.raises(TransitionNotAllowed) as refused:
        await service.get_voting_results(cast["bob"], pid)

    assert str(refused.value).startswith(f"Can't get_voting_results on {pid}: it is in discussion.")


async def test_a_vote_during_discussion_is_refused(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)

    with pytest.raises(TransitionNotAllowed) as refused:
        await service.cast_vote(cast["bob"], pid, "approve", WHY)

    assert str(refused.value).startswith(f"Can't cast_vote on {pid}: it is in discussion.")


async def test_voting_can_not_open_without_voters_and_the_deadline_keeps_the_proposal_in_discussion(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    root = cast["root"]
    for agent_id, roles in (("bob", ["discussant"]), ("carol", ["mediator"]), ("dave", ["discussant"])):
        await service.set_agent_roles(root, agent_id, roles)
    carol = await service.authenticate(cast.tokens["carol"])
    pid = await _in_discussion(service, cast)
    comment = await service.add_comment(cast["bob"], pid, "Fine by me.", type="support")
    before = await service.get_proposal(carol, pid)
    seq = await _audit_seq(service, cast)

    with pytest.raises(NoEligibleVoters) as refused:
        await service.conclude_discussion(carol, pid, "approved-for-voting", "Ready.")

    assert refused.value.proposal_id == pid
    assert pid in str(refused.value)
    assert "voter" in str(refused.value)
    assert await service.get_proposal(carol, pid) == before
    assert await _audit_seq(service, cast) == seq

    clock.advance(minutes=61)
    waiting = await service.get_proposal(carol, pid)
    assert (waiting.status, waiting.deadline) == (Status.DISCUSSION, None)
    log = await service.get_audit_log(root, proposal_id=pid)
    blocked = log.events[-1]
    assert (blocked.actor, blocked.action, blocked.payload["why"]) == (ENGINE, "voting_blocked", "no voters")
    assert await service.apply_due_deadlines() == []
    assert (await service.get_discussion(carol, pid)).comments == [
        Comment.model_validate(comment.model_dump(exclude={"receipt"}))
    ]

    await service.set_agent_roles(root, "bob", ["discussant", "voter"])
    opened = await service.conclude_discussion(carol, pid, "approved-for-voting", "Bob votes now.")
    assert opened.status is Status.VOTING
    assert (await service.get_voting_results(carol, pid)).eligible == {"bob": 1}
