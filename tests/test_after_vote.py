"""After the vote (DESIGN §2, §15): the appeal window, appeals, and execution with its lease,
retries, dependencies and rollback; every new move allowed and refused, with the fake clock."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, Rules
from hivegov_mcp.domain.errors import Conflict, InvalidInput, NotNow, PermissionDenied, TransitionNotAllowed
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.engine import ENGINE
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

JUSTIFICATION = "I weighed the specification against the motivation and it holds up."


async def _executor(service: GovernanceService, name: str) -> Agent:
    token = (await service.register_agent(LOCAL_ADMIN, name, ["executor"])).token
    return await service.authenticate(token)


async def _resolved(
    service: GovernanceService, cast: Cast, decision: str = "approve", dependencies: list[str] | None = None
) -> str:
    """A proposal voted on by bob, carol and dave (early close): approved or rejected."""
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL, dependencies=dependencies or [])).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    for name in ("bob", "carol", "dave"):
        await service.cast_vote(cast[name], pid, decision, JUSTIFICATION)
    return pid


async def _actions(service: GovernanceService, cast: Cast, pid: str) -> list[tuple[str, str]]:
    log = await service.get_audit_log(cast["root"], proposal_id=pid, limit=500)
    return [(e.actor, e.action) for e in log.events]


async def test_execution_waits_for_the_appeal_window_and_a_pending_appeal(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _resolved(service, cast)
    executor = await _executor(service, "exec1")
    approved = await service.get_proposal(cast["bob"], pid)
    assert approved.status is Status.APPROVED and approved.deadline == clock.now() + timedelta(minutes=60)

    with pytest.raises(NotNow, match="appeal window is open until"):
        await service.claim_execution(executor, pid)
    appeal = await service.file_appeal(cast["bob"], pid, "The quorum was met only by a late vote.")
    with pytest.raises(NotNow, match="appealed already"):
        await service.file_appeal(cast["alice"], pid, "Me too.")
    with pytest.raises(PermissionDenied, match="eligible voter"):
        await service.file_appeal(cast["erin"], pid, "An outsider's view.")

    clock.advance(minutes=61)  # the window ends (the engine), the appeal still waits
    with pytest.raises(NotNow, match="an appeal is pending"):
        await service.claim_execution(executor, pid)
    with pytest.raises(NotNow, match="window has closed"):
        await service.file_appeal(cast["dave"], pid, "Too late.")
    with pytest.raises(PermissionDenied, match="arbiter"):
        await service.decide_appeal(cast["carol"], appeal.id, "uphold", "Mediators don't decide appeals.")
    upheld = await service.decide_appeal(cast["erin"], appeal.id, "uphold", "The late vote was in time.")
    with pytest.raises(NotNow, match="decided already"):
        await service.decide_appeal(cast["erin"], appeal.id, "reopen", "Second thoughts.")

    claimed = await service.claim_execution(executor, pid)
    assert (upheld.decision, upheld.status) == ("uphold", Status.APPROVED)
    assert claimed.status is Status.EXECUTING and claimed.attempt.attempt == 1
    assert (ENGINE, "appeal_window_end") in await _actions(service, cast, pid)


async def test_an_execution_is_reported_retried_after_a_failure_and_a_lapsed_lease_then_rolled_back(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _resolved(service, cast)
    first, second = await _executor(service, "exec1"), await _executor(service, "exec2")
    clock.advance(minutes=61)

    await service.claim_execution(first, pid)
    with pytest.raises(PermissionDenied, match="exec1, who claimed it"):
        await service.report_execution(second, pid, "succeeded", "Not mine.")
    failed = await service.report_execution(first, pid, "failed", "The migration timed out.", ["https://ci/run/1"])
    assert failed.status is Status.EXECUTION_FAILED and failed.attempt.artifacts == ["https://ci/run/1"]

    await service.claim_execution(second, pid)  # attempt 2
    clock.advance(minutes=61)  # its lease lapses: approved again
    assert (await service.get_proposal(cast["bob"], pid)).status is Status.APPROVED

    await service.claim_execution(first, pid)  # attempt 3, the last allowed
    done = await service.report_execution(first, pid, "succeeded", "Merged.", ["https://git/pr/7"])
    history = await service.get_proposal_history(cast["bob"], pid)
    rolled = await service.rollback_execution(first, pid, "It broke the release.")

    assert done.status is Status.EXECUTED
    assert [(a.attempt, a.executor, a.outcome) for a in history.executions] == [
        (1, "exec1", "failed"),
        (2, "exec2", "expired"),
        (3, "exec1", "succeeded"),
    ]
    assert rolled.status is Status.ROLLED_BACK
    assert (ENGINE, "lease_expired") in await _actions(service, cast, pid)
    with pytest.raises(TransitionNotAllowed, match="Can't claim_execution on BIP-001: it is in rolled_back"):
        await service.claim_execution(first, pid)


async def test_attempts_are_bounded_and_dependencies_must_be_executed_first(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    base = await _resolved(service, cast)
    dependent = await _resolved(service, cast, dependencies=[base])
    executor = await _executor(service, "exec1")
    clock.advance(minutes=61)

    with pytest.raises(NotNow, match=f"its dependency {base} is approved, not executed"):
        await service.claim_execution(executor, dependent)
    for _ in range(3):
        await service.claim_execution(executor, base)
        await service.report_execution(executor, base, "failed", "Still failing.")
    with pytest.raises(NotNow, match="its 3 attempts are used up"):
        await service.claim_execution(executor, base)
    with pytest.raises(PermissionDenied, match="executor"):
        await service.claim_execution(cast["bob"], dependent)


async def test_an_appeal_decided_reopen_starts_a_new_round_and_a_new_vote(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _resolved(service, cast, decision="reject")
    appeal = await service.file_appeal(cast["alice"], pid, "The specification was misread.")  # the author
    reopened = await service.decide_appeal(cast["erin"], appeal.id, "reopen", "Worth another round.")
    proposal = await service.get_proposal(cast["bob"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Again.")
    again = await service.cast_vote(cast["bob"], pid, "approve", JUSTIFICATION)

    assert reopened.status is Status.DISCUSSION
    assert (proposal.status, proposal.round) == (Status.DISCUSSION, 2)
    assert again.replaced_earlier_vote is False  # a new vote: the earlier ballots are not carried over
    results = await service.get_voting_results(cast["carol"], pid)
    assert results.voted == ["bob"]
    check = await service.verify_audit()  # the cleared ballots and the new vote agree with the log
    assert check.ok, check


@pytest.mark.parametrize(
    ("operation", "status"),
    [("claim_execution", "draft"), ("report_execution", "draft"), ("rollback_execution", "draft")],
)
async def test_the_new_moves_are_refused_outside_their_statuses_naming_status_and_move(
    service: GovernanceService, cast: Cast, operation: str, status: str
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    executor = await _executor(service, "exec1")
    calls = {
        "claim_execution": lambda: service.claim_execution(executor, pid),
        "report_execution": lambda: service.report_execution(executor, pid, "succeeded", "x"),
        "rollback_execution": lambda: service.rollback_execution(executor, pid, "x"),
    }
    with pytest.raises(TransitionNotAllowed, match=f"Can't {operation} on {pid}: it is in {status}"):
        await calls[operation]()
    with pytest.raises(TransitionNotAllowed, match=f"Can't file_appeal on {pid}: it is in draft"):
        await service.file_appeal(cast["alice"], pid, "Nothing to appeal.")


async def _with_role(service: GovernanceService, name: str, role: str) -> Agent:
    token = (await service.register_agent(LOCAL_ADMIN, name, [role])).token
    return await service.authenticate(token)


@pytest.mark.parametrize("config", [GovernanceConfig(defaults=Rules(require_validation=True))])
async def test_with_require_validation_voting_needs_a_pass_on_the_current_version(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    validator = await _with_role(service, "val", "validator")
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    with pytest.raises(NotNow, match="need a validator's pass on their current version"):
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    failed = await service.record_validation(validator, pid, "fail", "The schema is missing.")
    with pytest.raises(NotNow, match="version 1 failed validation"):
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    clock.advance(minutes=61)  # the deadline, with validation blocking: revision, not voting
    revised = await service.get_proposal(cast["bob"], pid)
    assert revised.status is Status.REVISION
    await service.revise_proposal(cast["alice"], pid, expected_version=1, change_note="Schema added.", abstract="v2")
    await service.start_discussion(cast["alice"], pid)
    with pytest.raises(PermissionDenied, match="validator"):
        await service.record_validation(cast["bob"], pid, "pass", "Looks fine to me.")
    passed = await service.record_validation(validator, pid, "pass", "Schema present and valid.")
    opened = await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Validated.")

    assert (failed.version, failed.result, passed.version, passed.result) == (1, "fail", 2, "pass")
    assert opened.status is Status.VOTING
    history = await service.get_proposal_history(cast["bob"], pid)
    assert [(v.version, v.result) for v in history.validations] == [(1, "fail"), (2, "pass")]


async def test_a_summarizer_publishes_a_summary_per_round_beside_the_digest(
    service: GovernanceService, cast: Cast
) -> None:
    summarizer = await _with_role(service, "sum", "summarizer")
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    with pytest.raises(PermissionDenied, match="summarizer"):
        await service.publish_summary(cast["bob"], pid, "My take.", "approved-for-voting")
    with pytest.raises(InvalidInput, match="recommendation"):
        await service.publish_summary(summarizer, pid, "Text.", "maybe")
    published = await service.publish_summary(
        summarizer, pid, "Broad support; no open objection.", "approved-for-voting"
    )
    discussion = await service.get_discussion(cast["bob"], pid)

    assert (published.round, published.author) == (1, "sum")
    assert [(s.round, s.text) for s in discussion.published_summaries] == [(1, "Broad support; no open objection.")]


async def test_a_summary_of_a_round_that_has_ended_is_refused_not_filed_under_the_next(
    service: GovernanceService, cast: Cast
) -> None:
    summarizer = await _with_role(service, "sum", "summarizer")
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "requires-revision", "Name the scope.")
    await service.revise_proposal(cast["alice"], pid, expected_version=1, abstract="Scoped.", change_note="Scope.")
    await service.start_discussion(cast["alice"], pid)
    before = (await service.get_audit_log(LOCAL_ADMIN)).events[-1].seq

    with pytest.raises(Conflict, match=f"{pid} is in discussion round 2, not 1: round 1 has ended") as stale:
        await service.publish_summary(summarizer, pid, "Round 1: one objection.", "requires-revision", round=1)
    published = await service.publish_summary(summarizer, pid, "Round 2: scoped now.", "approved-for-voting", round=2)

    assert "round=2" in stale.value.hint
    assert (await service.get_audit_log(LOCAL_ADMIN)).events[-1].seq == before + 1  # the refused one wrote nothing
    assert published.round == 2


async def test_a_hidden_comment_leaves_views_summaries_and_search_and_its_author_sees_why(
    service: GovernanceService, cast: Cast
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    spam = await service.add_comment(cast["bob"], pid, "Buy cheap xylophones now.")
    objection = await service.add_comment(cast["dave"], pid, "The scope is unclear.", type="objection")

    hidden = await service.moderate_comment(cast["carol"], spam.id, "hide", "Off topic.")
    with pytest.raises(PermissionDenied, match="arbiter"):
        await service.moderate_comment(cast["carol"], objection.id, "hide", "Inconvenient.")
    with pytest.raises(PermissionDenied, match="mediator"):
        await service.moderate_comment(cast["bob"], spam.id, "restore", "Not allowed.")
    seen_by_dave = await service.get_discussion(cast["dave"], pid)
    seen_by_bob = await service.get_discussion(cast["bob"], pid)
    summary = await service.summarize_discussion(cast["dave"], pid)
    found = await service.search_proposals(cast["dave"], "xylophones")

    assert hidden.hidden is True
    assert [c.id for c in seen_by_dave.comments] == [objection.id] and seen_by_dave.hidden_mine == []
    assert [(h.comment_id, h.reason, h.hidden_by) for h in seen_by_bob.hidden_mine] == [
        (spam.id, "Off topic.", "carol")
    ]
    assert summary.participants == ["dave"]
    assert found.hits == []

    await service.moderate_comment(cast["erin"], objection.id, "hide", "Duplicate of an earlier thread.")  # arbiter
    assert (await service.get_discussion(cast["dave"], pid)).unresolved_objections == []
    await service.moderate_comment(cast["carol"], spam.id, "restore", "On reflection, relevant.")
    assert [h.snippet for h in (await service.search_proposals(cast["dave"], "xylophones")).hits]
    actions = [a for _, a in await _actions(service, cast, pid)]
    assert actions.count("moderate_comment") == 3  # every moderation stays in the log


async def test_the_agenda_lists_what_needs_each_agent_soonest_first_with_the_tool_to_call(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    executor = await _with_role(service, "ex", "executor")
    voting = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], voting)
    objection = await service.add_comment(cast["dave"], voting, "Name the owner.", type="objection")
    await service.resolve_comment(cast["erin"], objection.id, "Owner named in the thread.")
    await service.conclude_discussion(cast["carol"], voting, "approved-for-voting", "Ready.")
    await service.cast_vote(cast["bob"], voting, "approve", JUSTIFICATION)  # carol and dave still to vote
    revised = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], revised)
    open_objection = await service.add_comment(cast["dave"], revised, "Too vague.", type="objection")
    await service.conclude_discussion(cast["carol"], revised, "requires-revision", "Sharpen it.")
    await service.revise_proposal(cast["alice"], revised, expected_version=1, change_note="Sharper.", abstract="v2")
    approved = await _resolved(service, cast)
    appeal = await service.file_appeal(cast["bob"], approved, "Please look again.")
    clock.advance(minutes=5)

    dave = await service.get_my_agenda(cast["dave"])
    alice = await service.get_my_agenda(cast["alice"])
    erin = await service.get_my_agenda(cast["erin"])
    ex = await service.get_my_agenda(executor)

    assert [(i.proposal_id, i.tool, i.ref_id) for i in dave.items] == [
        (voting, "cast_vote", None),
        (revised, "resolve_comment", open_objection.id),
    ]
    assert [(i.proposal_id, i.tool) for i in alice.items] == [(revised, "revise_proposal")]
    assert [(i.proposal_id, i.tool, i.ref_id) for i in erin.items] == [(approved, "decide_appeal", appeal.id)]
    assert ex.items == []  # the approved one has an open window and a pending appeal


async def test_review_moves_are_refused_outside_their_statuses(service: GovernanceService, cast: Cast) -> None:
    validator = await _with_role(service, "val", "validator")
    summarizer = await _with_role(service, "sum", "summarizer")
    pid = await _resolved(service, cast)  # approved
    with pytest.raises(TransitionNotAllowed, match=f"Can't record_validation on {pid}: it is in approved"):
        await service.record_validation(validator, pid, "pass", "Too late.")
    with pytest.raises(TransitionNotAllowed, match=f"Can't publish_summary on {pid}: it is in approved"):
        await service.publish_summary(summarizer, pid, "Too late.", "approved-for-voting")
    draft = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    with pytest.raises(TransitionNotAllowed, match=f"Can't file_appeal on {draft}: it is in draft"):
        await service.file_appeal(cast["bob"], draft, "Nothing to appeal.")


async def test_review_findings_hold(service: GovernanceService, cast: Cast, clock: FakeClock) -> None:
    """What a second pair of eyes found: moderation of a comment in the wrong state, resolving a
    hidden comment, a lapsed last attempt, and a webhook URL in the log."""
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    note = await service.add_comment(cast["bob"], pid, "A secret word: xyzzy.", type="suggestion")
    with pytest.raises(NotNow, match="is not hidden"):
        await service.moderate_comment(cast["carol"], note.id, "restore", "Nothing to restore.")
    await service.moderate_comment(cast["carol"], note.id, "hide", "Off topic.")
    with pytest.raises(NotNow, match="hidden already"):
        await service.moderate_comment(cast["carol"], note.id, "hide", "Twice.")
    with pytest.raises(NotNow, match="is hidden by a moderator"):
        await service.resolve_comment(cast["alice"], note.id, "Done.")

    executor = await _executor(service, "exec1")
    done = await _resolved(service, cast)
    clock.advance(minutes=61)
    for _ in range(3):  # every attempt's lease lapses
        await service.claim_execution(executor, done)
        clock.advance(minutes=61)
    assert (await service.get_proposal(cast["bob"], done)).status is Status.EXECUTION_FAILED
    assert (await service.rollback_execution(executor, done, "Give up.")).status is Status.ROLLED_BACK

    await service.add_webhook(cast["root"], "https://user:pa55@hooks.example.org/T0/SECRET")
    log = await service.get_audit_log(cast["bob"], after_seq=0, limit=500)
    added = [e for e in log.events if e.action == "webhook_added"]
    assert [e.payload["host"] for e in added] == ["hooks.example.org"]
    assert not any(s in json.dumps(e.payload) for e in added for s in ("pa55", "SECRET", "/T0"))  # no credential
