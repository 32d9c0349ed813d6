"""Deadlines (DESIGN §2): the engine applies them on every read and write, idempotently, with an injected clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, Rules
from hivegov_mcp.domain.errors import TransitionNotAllowed
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.tally import Outcome
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.engine import ENGINE, REVISION_LIMIT_REASON
from hivegov_mcp.settings import Settings
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

JUSTIFICATION = "I weighed the specification against the motivation and it holds up."
FAST = GovernanceConfig(
    defaults=Rules(min_discussion_minutes=0, discussion_minutes=0.05, min_voting_minutes=0, voting_minutes=0.05)
)


async def _in_discussion(service: GovernanceService, cast: Cast, title: str = PROPOSAL["title"]) -> str:
    proposal_id = (await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": title})).id
    await service.start_discussion(cast["alice"], proposal_id)
    return proposal_id


async def _actions(service: GovernanceService, cast: Cast, proposal_id: str) -> list[tuple[str, str]]:
    log = await service.get_audit_log(cast["root"], proposal_id=proposal_id, limit=500)
    return [(e.actor, e.action) for e in log.events]


async def test_a_passed_discussion_deadline_without_objections_opens_voting_on_the_next_read(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    await service.add_comment(cast["bob"], pid, "Looks useful.", type="support")
    clock.advance(minutes=59)
    assert (await service.get_proposal(cast["bob"], pid)).status is Status.DISCUSSION

    clock.advance(minutes=2)
    opened = await service.get_proposal(cast["bob"], pid)

    assert opened.status is Status.VOTING
    assert opened.deadline == clock.now() + timedelta(minutes=30)
    assert (await _actions(service, cast, pid))[-1] == (ENGINE, "discussion_deadline")
    results = await service.get_voting_results(cast["bob"], pid)
    assert results.eligible == {"bob": 1, "carol": 1, "dave": 1}
    assert results.opened_at == clock.now()
    rounds = (await service.get_discussion(cast["bob"], pid)).rounds
    assert [(r.round, r.outcome) for r in rounds] == [(1, "approved-for-voting")]


async def test_a_passed_discussion_deadline_with_an_unresolved_objection_sends_the_proposal_to_revision(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    resolved = await service.add_comment(cast["dave"], pid, "Typo in the abstract.", type="objection")
    await service.resolve_comment(cast["dave"], resolved.id, "Not important after all.")
    open_objection = await service.add_comment(cast["bob"], pid, "The format is unspecified.", type="objection")
    clock.advance(minutes=61)

    revision = await service.get_proposal(cast["alice"], pid)

    assert (revision.status, revision.revision_rounds, revision.deadline) == (Status.REVISION, 1, None)
    log = await service.get_audit_log(cast["root"], proposal_id=pid)
    last = log.events[-1]
    assert (last.actor, last.action) == (ENGINE, "discussion_deadline")
    assert last.payload["unresolved_objections"] == [open_objection.id]
    rounds = (await service.get_discussion(cast["alice"], pid)).rounds
    assert [(r.round, r.outcome) for r in rounds] == [(1, "requires-revision")]


@pytest.mark.parametrize("config", [GovernanceConfig(defaults=Rules(max_revision_rounds=0))])
async def test_a_discussion_deadline_that_exceeds_the_revision_rounds_rejects_the_proposal(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    await service.add_comment(cast["bob"], pid, "The format is unspecified.", type="objection")
    clock.advance(minutes=61)

    rejected = await service.get_proposal(cast["alice"], pid)

    assert (rejected.status, rejected.outcome_reason) == (Status.REJECTED, REVISION_LIMIT_REASON)
    assert (await _actions(service, cast, pid))[-2:] == [
        (ENGINE, "discussion_deadline"),
        (ENGINE, "exceed_revision_rounds"),
    ]


async def test_a_passed_voting_deadline_closes_with_quorum_not_met_when_too_few_voted(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    await service.cast_vote(cast["bob"], pid, "approve", JUSTIFICATION)
    clock.advance(minutes=31)

    results = await service.get_voting_results(cast["bob"], pid)

    assert (results.status, results.result, results.reason, results.quorum_met) == (
        Status.REJECTED,
        Outcome.REJECTED,
        "quorum_not_met",
        False,
    )
    assert results.closed_at == clock.now()
    assert (await _actions(service, cast, pid))[-1] == (ENGINE, "voting_deadline")
    proposal = await service.get_proposal(cast["bob"], pid)
    appeal_until = clock.now() + timedelta(minutes=60)  # the resolution's appeal window (DESIGN §15)
    assert (proposal.status, proposal.outcome_reason, proposal.deadline) == (
        Status.REJECTED,
        "quorum_not_met",
        appeal_until,
    )


async def test_a_vote_after_the_voting_deadline_is_refused_and_not_counted(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    await service.cast_vote(cast["bob"], pid, "approve", JUSTIFICATION)
    await service.cast_vote(cast["carol"], pid, "approve", JUSTIFICATION)
    clock.advance(minutes=30, seconds=1)

    with pytest.raises(TransitionNotAllowed) as refused:
        await service.cast_vote(cast["dave"], pid, "reject", JUSTIFICATION)

    assert str(refused.value).startswith(f"Can't cast_vote on {pid}: it is in approved.")
    results = await service.get_voting_results(cast["dave"], pid)
    assert (results.status, results.result, results.voted) == (Status.APPROVED, Outcome.APPROVED, ["bob", "carol"])
    assert results.tally is not None
    assert (results.tally.approve, results.tally.reject) == (2, 0)


@pytest.mark.parametrize("config", [FAST], ids=["seconds"])
async def test_fractional_minutes_give_windows_of_a_few_seconds(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    started = await service.get_proposal(cast["bob"], pid)
    assert started.deadline == clock.now() + timedelta(seconds=3)

    clock.advance(seconds=2)
    assert (await service.get_proposal(cast["bob"], pid)).status is Status.DISCUSSION
    clock.advance(seconds=2)
    voting = await service.get_proposal(cast["bob"], pid)
    assert voting.status is Status.VOTING
    assert voting.deadline == clock.now() + timedelta(seconds=3)

    clock.advance(seconds=4)
    closed = await service.get_proposal(cast["bob"], pid)
    assert (closed.status, closed.outcome_reason) == (Status.REJECTED, "quorum_not_met")


@pytest.mark.parametrize("config", [FAST], ids=["seconds"])
async def test_start_discussion_accepts_a_fractional_duration(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id

    started = await service.start_discussion(cast["alice"], pid, duration_minutes=0.1)

    assert started.deadline == clock.now() + timedelta(seconds=6)


async def test_apply_due_deadlines_is_idempotent(service: GovernanceService, cast: Cast, clock: FakeClock) -> None:
    pid = await _in_discussion(service, cast)
    other = await _in_discussion(service, cast, title="Another proposal")
    clock.advance(minutes=30)
    later = await _in_discussion(service, cast, title="A proposal that is not due yet")
    assert await service.apply_due_deadlines() == []
    clock.advance(minutes=31)

    first = await service.apply_due_deadlines()
    events = (await service.get_governance_status(cast["root"])).audit_events
    second = await service.apply_due_deadlines()

    assert sorted(first) == [pid, other]
    assert second == []
    assert (await service.get_proposal(cast["bob"], later)).status is Status.DISCUSSION
    assert (await service.get_governance_status(cast["root"])).audit_events == events
    assert (await service.verify_audit()).ok


async def test_apply_due_deadlines_processes_every_due_proposal_without_a_read(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    ids = [await _in_discussion(service, cast, title=f"Proposal {n}") for n in range(3)]
    clock.advance(minutes=61)

    processed = await service.apply_due_deadlines()

    assert sorted(processed) == sorted(ids)
    status = await service.get_governance_status(cast["root"])
    assert status.counts["voting"] == 3
    assert {d.proposal_id for d in status.next_deadlines} == set(ids)
    assert {d.deadline for d in status.next_deadlines} == {clock.now() + timedelta(minutes=30)}


async def test_two_services_on_one_file_apply_a_deadline_exactly_once(
    service: GovernanceService, cast: Cast, clock: FakeClock, db: Path | str, config: GovernanceConfig
) -> None:
    pid = await _in_discussion(service, cast)
    clock.advance(minutes=61)
    async with open_service(Settings(db=db, rules=config, clock=clock)) as other:
        async with anyio.create_task_group() as tg:
            tg.start_soon(service.apply_due_deadlines)
            tg.start_soon(other.apply_due_deadlines)
        assert await other.apply_due_deadlines() == []
        seen_by_other = await other.get_proposal(cast["bob"], pid)

    assert seen_by_other.status is Status.VOTING
    actions = [a for _, a in await _actions(service, cast, pid)]
    assert actions.count("discussion_deadline") == 1
    history = await service.get_proposal_history(cast["bob"], pid)
    assert [(t.from_status, t.to_status) for t in history.transitions] == [
        (Status.DRAFT, Status.DISCUSSION),
        (Status.DISCUSSION, Status.VOTING),
    ]
    assert (await service.verify_audit()).ok


async def test_two_services_reading_in_turn_apply_a_voting_deadline_exactly_once(
    service: GovernanceService, cast: Cast, clock: FakeClock, db: Path | str, config: GovernanceConfig
) -> None:
    pid = await _in_discussion(service, cast)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    await service.cast_vote(cast["bob"], pid, "approve", JUSTIFICATION)
    clock.advance(minutes=31)
    async with open_service(Settings(db=db, rules=config, clock=clock)) as other:
        mine = await service.get_voting_results(cast["bob"], pid)
        theirs = await other.get_voting_results(cast["bob"], pid)

    assert mine == theirs
    assert mine.status is Status.REJECTED
    actions = [a for _, a in await _actions(service, cast, pid)]
    assert actions.count("voting_deadline") == 1
