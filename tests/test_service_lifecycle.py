"""The lifecycle of a proposal through the service (DESIGN §2): moves, permissions, versions, search."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, Rules
from hivegov_mcp.domain.errors import (
    InvalidInput,
    NotFound,
    ObjectionsUnresolved,
    PermissionDenied,
    StaleVersion,
    TransitionNotAllowed,
)
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.phases import Phase, Status
from hivegov_mcp.domain.tally import Outcome
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.engine import REVISION_LIMIT_REASON
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

JUSTIFICATION = "I weighed the specification against the motivation and it holds up."
NEW_SPEC = "Each release adds CHANGELOG entries in the Keep a Changelog format, with type, scope and summary."


async def _create(service: GovernanceService, cast: Cast, **changes: str) -> str:
    fields = {**PROPOSAL, **changes}
    return (await service.create_proposal(cast["alice"], **fields)).id


async def _in_discussion(service: GovernanceService, cast: Cast) -> str:
    proposal_id = await _create(service, cast)
    await service.start_discussion(cast["alice"], proposal_id)
    return proposal_id


async def _in_revision(service: GovernanceService, cast: Cast) -> str:
    proposal_id = await _in_discussion(service, cast)
    await service.conclude_discussion(cast["carol"], proposal_id, "requires-revision", "Needs a format.")
    return proposal_id


async def _in_voting(service: GovernanceService, cast: Cast) -> str:
    proposal_id = await _in_discussion(service, cast)
    await service.conclude_discussion(cast["carol"], proposal_id, "approved-for-voting", "Ready for a vote.")
    return proposal_id


async def test_a_proposal_goes_from_draft_through_a_revision_round_to_approval(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    alice, bob, carol, dave = cast["alice"], cast["bob"], cast["carol"], cast["dave"]

    created = await service.create_proposal(alice, **PROPOSAL)
    assert (created.id, created.status, created.phase, created.version, created.round) == (
        "BIP-001",
        Status.DRAFT,
        Phase.PROPOSAL,
        1,
        0,
    )
    assert created.author == "alice"
    assert created.deadline is None
    pid = created.id

    started = await service.start_discussion(alice, pid)
    assert (started.status, started.round) == (Status.DISCUSSION, 1)
    assert started.deadline == clock.now() + timedelta(minutes=60)
    assert started.receipt.seq > created.receipt.seq

    objection = await service.add_comment(bob, pid, "The entry format is unspecified.", type="objection")
    with pytest.raises(ObjectionsUnresolved) as blocked:
        await service.conclude_discussion(carol, pid, "approved-for-voting", "Looks ready to me.")
    assert blocked.value.comment_ids == (objection.id,)

    revision = await service.conclude_discussion(carol, pid, "requires-revision", "Address bob's objection.")
    assert (revision.status, revision.revision_rounds, revision.deadline) == (Status.REVISION, 1, None)

    with pytest.raises(StaleVersion):
        await service.revise_proposal(alice, pid, expected_version=2, change_note="Format.", specification=NEW_SPEC)
    revised = await service.revise_proposal(
        alice, pid, expected_version=1, change_note="Specify the entry format.", specification=NEW_SPEC
    )
    assert (revised.version, revised.latest_version, revised.status) == (2, 2, Status.REVISION)
    assert revised.specification == NEW_SPEC
    assert revised.change_note == "Specify the entry format."
    assert revised.content_hash != created.content_hash
    with pytest.raises(StaleVersion) as stale:
        await service.revise_proposal(alice, pid, expected_version=1, change_note="Again.", abstract="Other text.")
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    assert "expected_version=2" in str(stale.value)

    round_two = await service.start_discussion(alice, pid)
    assert (round_two.status, round_two.round) == (Status.DISCUSSION, 2)

    resolved = await service.resolve_comment(bob, objection.id, "The format is specified now.")
    assert (resolved.resolved, resolved.resolved_by) == (True, "bob")
    await service.add_comment(dave, pid, "Good to go.", type="support")

    opened = await service.conclude_discussion(carol, pid, "approved-for-voting", "The objection is resolved.")
    assert opened.status is Status.VOTING
    assert opened.deadline == clock.now() + timedelta(minutes=30)

    first = await service.cast_vote(bob, pid, "approve", JUSTIFICATION)
    assert (first.status, first.result) == (Status.VOTING, None)
    await service.cast_vote(carol, pid, "approve", JUSTIFICATION)
    last = await service.cast_vote(dave, pid, "approve", JUSTIFICATION)
    assert (last.status, last.result) == (Status.APPROVED, Outcome.APPROVED)

    final = await service.get_proposal(bob, pid)
    assert (final.status, final.phase, final.version) == (Status.APPROVED, Phase.RESOLUTION, 2)
    assert final.deadline == final.updated_at + timedelta(minutes=60)  # its appeal window

    history = await service.get_proposal_history(bob, pid)
    assert [(t.from_status, t.to_status, t.action) for t in history.transitions] == [
        (Status.DRAFT, Status.DISCUSSION, "start_discussion"),
        (Status.DISCUSSION, Status.REVISION, "conclude_discussion"),
        (Status.REVISION, Status.DISCUSSION, "start_discussion"),
        (Status.DISCUSSION, Status.VOTING, "conclude_discussion"),
        (Status.VOTING, Status.APPROVED, "early_close"),
    ]
    assert [t.actor for t in history.transitions] == ["alice", "carol", "alice", "carol", "@engine"]
    assert [(v.version, v.change_note) for v in history.versions] == [
        (1, "initial version"),
        (2, "Specify the entry format."),
    ]
    assert (await service.verify_audit()).ok


async def test_opening_voting_is_refused_while_an_objection_is_open(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)
    objection = await service.add_comment(cast["bob"], pid, "This breaks old tooling.", type="objection")
    before = await service.get_proposal(cast["carol"], pid)

    with pytest.raises(ObjectionsUnresolved) as refused:
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Enough talk.")

    assert refused.value.proposal_id == pid
    assert str(objection.id) in str(refused.value)
    assert await service.get_proposal(cast["carol"], pid) == before
    assert (await service.get_discussion(cast["carol"], pid)).unresolved_objections == [objection.id]


async def test_an_arbiter_can_override_open_objections_with_a_reason(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)
    objection = await service.add_comment(cast["bob"], pid, "This breaks old tooling.", type="objection")

    opened = await service.conclude_discussion(
        cast["erin"], pid, "approved-for-voting", "The objection was answered in thread.", override=True
    )

    assert opened.status is Status.VOTING
    log = await service.get_audit_log(cast["erin"], proposal_id=pid)
    event = next(e for e in log.events if e.seq == opened.receipt.seq)
    assert event.actor == "erin"
    assert event.payload["overridden_objections"] == [objection.id]
    assert event.payload["reason"] == "The objection was answered in thread."


async def test_overriding_objections_needs_the_arbiter_role(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)
    await service.add_comment(cast["bob"], pid, "This breaks old tooling.", type="objection")

    with pytest.raises(PermissionDenied) as refused:
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Overruled.", override=True)

    assert (refused.value.agent_id, refused.value.action) == ("carol", "override_objections")
    assert refused.value.needed == ("the arbiter role",)
    assert "'carol'" in str(refused.value)
    assert "override_objections" in str(refused.value)
    assert "arbiter" in str(refused.value)
    assert (await service.get_proposal(cast["carol"], pid)).status is Status.DISCUSSION


async def test_an_arbiter_without_override_can_not_conclude_a_discussion(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _in_discussion(service, cast)

    with pytest.raises(PermissionDenied) as refused:
        await service.conclude_discussion(cast["erin"], pid, "approved-for-voting", "Ready.")

    assert (refused.value.agent_id, refused.value.action, refused.value.needed) == (
        "erin",
        "conclude_discussion",
        ("the mediator role",),
    )


async def test_blocked_rejects_the_proposal_with_the_mediators_reason(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)

    rejected = await service.conclude_discussion(cast["carol"], pid, "blocked", "Out of scope for this group.")

    assert (rejected.status, rejected.outcome_reason, rejected.deadline) == (
        Status.REJECTED,
        "Out of scope for this group.",
        None,
    )
    discussion = await service.get_discussion(cast["carol"], pid)
    assert [(r.round, r.outcome) for r in discussion.rounds] == [(1, "blocked")]
    with pytest.raises(TransitionNotAllowed):
        await service.start_discussion(cast["alice"], pid)


@pytest.mark.parametrize("stage", ["draft", "discussion", "revision"])
@pytest.mark.parametrize("who", ["alice", "carol", "erin"])
async def test_the_author_a_mediator_or_an_arbiter_can_withdraw_before_voting(
    service: GovernanceService, cast: Cast, stage: str, who: str
) -> None:
    make = {"draft": _create, "discussion": _in_discussion, "revision": _in_revision}[stage]
    pid = await make(service, cast)

    withdrawn = await service.withdraw_proposal(cast[who], pid, "Superseded by a better idea.")

    assert (withdrawn.status, withdrawn.outcome_reason, withdrawn.deadline) == (
        Status.WITHDRAWN,
        "Superseded by a better idea.",
        None,
    )
    history = await service.get_proposal_history(cast[who], pid)
    assert (history.transitions[-1].from_status, history.transitions[-1].to_status) == (
        Status(stage),
        Status.WITHDRAWN,
    )
    assert history.transitions[-1].actor == who


async def test_a_withdrawal_during_discussion_closes_the_round(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)

    await service.withdraw_proposal(cast["alice"], pid, "No longer needed.")

    rounds = (await service.get_discussion(cast["alice"], pid)).rounds
    assert [(r.round, r.outcome) for r in rounds] == [(1, "withdrawn")]


async def test_withdrawing_during_voting_is_refused(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)

    with pytest.raises(TransitionNotAllowed) as refused:
        await service.withdraw_proposal(cast["alice"], pid, "Changed my mind.")

    assert str(refused.value).startswith("Can't withdraw_proposal on BIP-001: it is in voting.")
    assert (refused.value.proposal_id, refused.value.status, refused.value.action) == (
        "BIP-001",
        "voting",
        "withdraw_proposal",
    )
    assert (await service.get_proposal(cast["alice"], pid)).status is Status.VOTING


async def test_an_agent_who_is_neither_author_mediator_nor_arbiter_can_not_withdraw(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _create(service, cast)

    with pytest.raises(PermissionDenied) as refused:
        await service.withdraw_proposal(cast["bob"], pid, "I don't like it.")

    assert (refused.value.agent_id, refused.value.action) == ("bob", "withdraw_proposal")
    assert "to be the author" in refused.value.needed
    assert (await service.get_proposal(cast["bob"], pid)).status is Status.DRAFT


@pytest.mark.parametrize(
    ("who", "action", "needed"),
    [
        ("bob", "create_proposal", "the proposer role"),
        ("root", "create_proposal", "the proposer role"),
        ("dave", "start_discussion", "the mediator role"),
        ("root", "add_comment", "the discussant role"),
        ("bob", "conclude_discussion", "the mediator role"),
        ("dave", "close_voting", "the mediator role"),
        ("bob", "register_agent", "the admin role"),
    ],
)
async def test_a_permission_refusal_names_the_agent_the_action_and_the_role(
    service: GovernanceService, cast: Cast, who: str, action: str, needed: str
) -> None:
    draft = await _create(service, cast)
    discussing = await _in_discussion(service, cast)
    voting = await _in_voting(service, cast)
    agent = cast[who]
    attempts: dict[str, Callable[[], Awaitable[object]]] = {
        "create_proposal": lambda: service.create_proposal(agent, **PROPOSAL),
        "register_agent": lambda: service.register_agent(agent, "mallory", ["admin"]),
        "start_discussion": lambda: service.start_discussion(agent, draft),
        "add_comment": lambda: service.add_comment(agent, discussing, "Administrators have opinions too."),
        "conclude_discussion": lambda: service.conclude_discussion(agent, discussing, "blocked", "No."),
        "close_voting": lambda: service.close_voting(agent, voting, "Enough."),
    }
    seq = (await service.get_governance_status(agent)).audit_events

    with pytest.raises(PermissionDenied) as refused:
        await attempts[action]()

    assert (refused.value.agent_id, refused.value.action) == (who, action)
    assert needed in refused.value.needed
    message = str(refused.value)
    assert f"'{who}'" in message
    assert action in message
    assert needed in message
    assert (await service.get_governance_status(agent)).audit_events == seq


async def test_only_the_author_may_revise(service: GovernanceService, cast: Cast) -> None:
    pid = await _create(service, cast)
    frank = await service.authenticate((await service.register_agent(LOCAL_ADMIN, "frank", ["proposer"])).token)

    for agent in (frank, cast["carol"], cast["erin"]):
        with pytest.raises(PermissionDenied) as refused:
            await service.revise_proposal(agent, pid, expected_version=1, change_note="Mine now.", title="Hijacked")
        assert (refused.value.agent_id, refused.value.action, refused.value.needed) == (
            agent.id,
            "revise_proposal",
            ("to be the author",),
        )

    proposal = await service.get_proposal(frank, pid)
    assert (proposal.version, proposal.title) == (1, PROPOSAL["title"])


async def test_revising_during_discussion_is_refused(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)

    with pytest.raises(TransitionNotAllowed) as refused:
        await service.revise_proposal(cast["alice"], pid, expected_version=1, change_note="Tweak.", title="New")

    assert "Can't revise_proposal on BIP-001: it is in discussion." in str(refused.value)


async def test_a_draft_can_be_revised_before_discussion(service: GovernanceService, cast: Cast) -> None:
    pid = await _create(service, cast)

    revised = await service.revise_proposal(
        cast["alice"], pid, expected_version=1, change_note="Sharper title.", title="Ship structured changelogs"
    )

    assert (revised.status, revised.version, revised.title) == (Status.DRAFT, 2, "Ship structured changelogs")
    assert (await service.get_proposal_history(cast["alice"], pid)).transitions == []


@pytest.mark.parametrize("config", [GovernanceConfig(defaults=Rules(max_revision_rounds=1))])
async def test_entering_revision_more_than_max_revision_rounds_times_rejects_the_proposal(
    service: GovernanceService, cast: Cast
) -> None:
    alice, carol = cast["alice"], cast["carol"]
    pid = await _in_revision(service, cast)
    assert (await service.get_proposal(alice, pid)).status is Status.REVISION
    await service.revise_proposal(alice, pid, expected_version=1, change_note="Format.", specification=NEW_SPEC)
    await service.start_discussion(alice, pid)

    again = await service.conclude_discussion(carol, pid, "requires-revision", "Still not right.")

    assert (again.status, again.revision_rounds, again.outcome_reason) == (Status.REJECTED, 2, REVISION_LIMIT_REASON)
    history = await service.get_proposal_history(alice, pid)
    assert [(t.from_status, t.to_status, t.action) for t in history.transitions[-2:]] == [
        (Status.DISCUSSION, Status.REVISION, "conclude_discussion"),
        (Status.REVISION, Status.REJECTED, "exceed_revision_rounds"),
    ]
    assert history.transitions[-1].actor == "@engine"
    with pytest.raises(TransitionNotAllowed):
        await service.revise_proposal(alice, pid, expected_version=2, change_note="Please.", title="Try again")


async def test_get_proposal_shows_a_past_version_with_the_current_status(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _in_revision(service, cast)
    await service.revise_proposal(
        cast["alice"], pid, expected_version=1, change_note="Specify the format.", specification=NEW_SPEC
    )

    old = await service.get_proposal(cast["bob"], pid, version=1)
    new = await service.get_proposal(cast["bob"], pid)

    assert (old.version, old.latest_version, old.specification, old.change_note) == (
        1,
        2,
        PROPOSAL["specification"],
        "initial version",
    )
    assert (new.version, new.latest_version, new.specification) == (2, 2, NEW_SPEC)
    assert old.status is new.status is Status.REVISION
    assert old.content_hash != new.content_hash
    assert await service.get_proposal(cast["bob"], pid, version=2) == new


async def test_diff_proposal_is_a_unified_diff_between_two_versions(service: GovernanceService, cast: Cast) -> None:
    pid = await _create(service, cast)
    await service.revise_proposal(
        cast["alice"], pid, expected_version=1, change_note="Specify the format.", specification=NEW_SPEC
    )

    diff = await service.diff_proposal(cast["bob"], pid, 1, 2)

    assert (diff.proposal_id, diff.from_version, diff.to_version) == (pid, 1, 2)
    lines = diff.diff.splitlines()
    assert lines[0] == f"--- {pid} v1"
    assert lines[1] == f"+++ {pid} v2"
    assert f"-{PROPOSAL['specification']}" in lines
    assert f"+{NEW_SPEC}" in lines
    assert not any(line.startswith(("-# ", "+# ")) for line in lines)
    assert (await service.diff_proposal(cast["bob"], pid, 2, 2)).diff == ""


async def test_history_lists_versions_and_only_real_status_changes(service: GovernanceService, cast: Cast) -> None:
    pid = await _create(service, cast)
    await service.revise_proposal(cast["alice"], pid, expected_version=1, change_note="Title.", title="Better title")
    await service.start_discussion(cast["alice"], pid)
    await service.withdraw_proposal(cast["carol"], pid, "Merged into another proposal.")

    history = await service.get_proposal_history(cast["bob"], pid)

    assert history.proposal_id == pid
    assert [(v.version, v.title, v.author) for v in history.versions] == [
        (1, PROPOSAL["title"], "alice"),
        (2, "Better title", "alice"),
    ]
    assert [(t.from_status, t.to_status, t.actor, t.action) for t in history.transitions] == [
        (Status.DRAFT, Status.DISCUSSION, "alice", "start_discussion"),
        (Status.DISCUSSION, Status.WITHDRAWN, "carol", "withdraw_proposal"),
    ]
    assert history.transitions[0].seq < history.transitions[1].seq


async def test_search_finds_proposal_text_and_comment_text_with_snippets(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _in_discussion(service, cast)
    other = await _create(service, cast, title="Rotate tokens monthly", abstract="Tokens expire.")
    comment = await service.add_comment(cast["bob"], pid, "Consider the keepachangelog convention here.")

    found = await service.search_proposals(cast["dave"], "machine-readable")
    assert [(h.proposal_id, h.kind, h.comment_id) for h in found.hits] == [(pid, "proposal", None)]
    assert "[machine]" in found.hits[0].snippet
    assert found.hits[0].title == PROPOSAL["title"]
    assert found.hits[0].status is Status.DISCUSSION

    in_comment = await service.search_proposals(cast["dave"], "keepachangelog")
    assert [(h.proposal_id, h.kind, h.comment_id) for h in in_comment.hits] == [(pid, "comment", comment.id)]
    assert "[keepachangelog]" in in_comment.hits[0].snippet

    by_title = await service.search_proposals(cast["dave"], "rotate")
    assert [(h.proposal_id, h.kind) for h in by_title.hits] == [(other, "proposal")]

    assert (await service.search_proposals(cast["dave"], "xylophone")).hits == []


async def test_search_sees_the_latest_revision_only(service: GovernanceService, cast: Cast) -> None:
    pid = await _create(service, cast)
    await service.revise_proposal(
        cast["alice"], pid, expected_version=1, change_note="Reword.", abstract="Releases carry a ledger."
    )

    assert [h.proposal_id for h in (await service.search_proposals(cast["bob"], "ledger")).hits] == [pid]
    assert (await service.search_proposals(cast["bob"], "ships")).hits == []


async def test_list_proposals_filters_by_status_type_and_author(service: GovernanceService, cast: Cast) -> None:
    frank = await service.authenticate((await service.register_agent(LOCAL_ADMIN, "frank", ["proposer"])).token)
    first = await _create(service, cast)
    second = await _in_discussion(service, cast)
    third = (await service.create_proposal(frank, **{**PROPOSAL, "type": "standards"})).id
    alice = cast["alice"]

    assert [p.id for p in (await service.list_proposals(alice)).proposals] == [third, second, first]
    assert [p.id for p in (await service.list_proposals(alice, status="discussion")).proposals] == [second]
    assert [p.id for p in (await service.list_proposals(alice, status="draft")).proposals] == [third, first]
    assert [p.id for p in (await service.list_proposals(alice, type="standards")).proposals] == [third]
    assert [p.id for p in (await service.list_proposals(alice, author="alice")).proposals] == [second, first]
    assert [p.id for p in (await service.list_proposals(alice, author="frank", status="draft")).proposals] == [third]
    assert (await service.list_proposals(alice, status="voting")).proposals == []
    summary = (await service.list_proposals(alice, status="discussion")).proposals[0]
    assert (summary.title, summary.author, summary.version, summary.status) == (
        PROPOSAL["title"],
        "alice",
        1,
        Status.DISCUSSION,
    )
    assert summary.deadline is not None


async def test_list_proposals_pages_with_limit_and_cursor(service: GovernanceService, cast: Cast) -> None:
    created = [await _create(service, cast, title=f"Proposal number {n}") for n in range(1, 6)]
    alice = cast["alice"]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await service.list_proposals(alice, limit=2, cursor=cursor)
        pages += 1
        assert len(page.proposals) <= 2
        seen += [p.id for p in page.proposals]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pages == 3
    assert seen == list(reversed(created))
    exact = await service.list_proposals(alice, limit=5)
    assert ([p.id for p in exact.proposals], exact.next_cursor) == (list(reversed(created)), None)


async def test_a_dependency_on_an_unknown_proposal_is_refused(service: GovernanceService, cast: Cast) -> None:
    first = await _create(service, cast)

    with pytest.raises(NotFound) as refused:
        await service.create_proposal(cast["alice"], **PROPOSAL, dependencies=[first, "BIP-042"])

    assert (refused.value.kind, refused.value.value) == ("proposal", "BIP-042")
    assert "'BIP-042'" in str(refused.value)
    assert [p.id for p in (await service.list_proposals(cast["alice"])).proposals] == [first]


async def test_dependencies_on_existing_proposals_are_kept_once_each(service: GovernanceService, cast: Cast) -> None:
    first = await _create(service, cast)

    second = await service.create_proposal(cast["alice"], **PROPOSAL, dependencies=[first, first])

    assert second.dependencies == [first]
    with pytest.raises(InvalidInput) as refused:
        await service.revise_proposal(
            cast["alice"], second.id, expected_version=1, change_note="Self.", dependencies=[second.id]
        )
    assert second.id in str(refused.value)
