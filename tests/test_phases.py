"""The transition table (DESIGN §2): one place decides what may follow what."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.errors import HivegovError, TransitionNotAllowed
from hivegov_mcp.domain.phases import (
    INITIAL_STATUS,
    TERMINAL,
    TRANSITIONS,
    Action,
    Phase,
    Status,
    allowed_from,
    check_action,
    next_status,
    phase_of,
)

S = Status
A = Action

AFTER_DRAFT = [s for s in Status if s is not S.DRAFT]

# The lifecycle table of DESIGN §2, written out independently of the code.
EXPECTED: dict[Action, dict[Status, frozenset[Status]]] = {
    A.REVISE: {S.DRAFT: frozenset({S.DRAFT}), S.REVISION: frozenset({S.REVISION})},
    A.START_DISCUSSION: {S.DRAFT: frozenset({S.DISCUSSION}), S.REVISION: frozenset({S.DISCUSSION})},
    A.ADD_COMMENT: {S.DISCUSSION: frozenset({S.DISCUSSION})},
    A.RESOLVE_COMMENT: {S.DISCUSSION: frozenset({S.DISCUSSION}), S.REVISION: frozenset({S.REVISION})},
    A.SUMMARIZE: {s: frozenset({s}) for s in AFTER_DRAFT},
    # approved straight from discussion: a type decided by consent, without a vote (DESIGN §20)
    A.CONCLUDE: {S.DISCUSSION: frozenset({S.VOTING, S.REVISION, S.REJECTED, S.APPROVED})},
    A.DISCUSSION_DEADLINE: {S.DISCUSSION: frozenset({S.VOTING, S.REVISION, S.APPROVED})},
    A.EXCEED_REVISION_ROUNDS: {S.REVISION: frozenset({S.REJECTED})},
    A.CAST_VOTE: {S.VOTING: frozenset({S.VOTING})},
    A.CLOSE_VOTING: {S.VOTING: frozenset({S.APPROVED, S.REJECTED})},
    A.VOTING_DEADLINE: {S.VOTING: frozenset({S.APPROVED, S.REJECTED})},
    A.EARLY_CLOSE: {S.VOTING: frozenset({S.APPROVED, S.REJECTED})},
    A.WITHDRAW: {
        S.DRAFT: frozenset({S.WITHDRAWN}),
        S.DISCUSSION: frozenset({S.WITHDRAWN}),
        S.REVISION: frozenset({S.WITHDRAWN}),
    },
    # after the vote (DESIGN §2 and §15)
    A.RECORD_VALIDATION: {
        S.DRAFT: frozenset({S.DRAFT}),
        S.DISCUSSION: frozenset({S.DISCUSSION}),
        S.REVISION: frozenset({S.REVISION}),
    },
    A.PUBLISH_SUMMARY: {
        S.DISCUSSION: frozenset({S.DISCUSSION}),
        S.REVISION: frozenset({S.REVISION}),
        S.VOTING: frozenset({S.VOTING}),
    },
    A.MODERATE: {s: frozenset({s}) for s in AFTER_DRAFT},
    A.FILE_APPEAL: {S.APPROVED: frozenset({S.APPROVED}), S.REJECTED: frozenset({S.REJECTED})},
    A.DECIDE_APPEAL: {
        S.APPROVED: frozenset({S.APPROVED, S.DISCUSSION}),
        S.REJECTED: frozenset({S.REJECTED, S.DISCUSSION}),
    },
    A.APPEAL_WINDOW_END: {S.APPROVED: frozenset({S.APPROVED}), S.REJECTED: frozenset({S.REJECTED})},
    A.CLAIM_EXECUTION: {S.APPROVED: frozenset({S.EXECUTING}), S.EXECUTION_FAILED: frozenset({S.EXECUTING})},
    A.REPORT_EXECUTION: {S.EXECUTING: frozenset({S.EXECUTED, S.EXECUTION_FAILED})},
    A.LEASE_EXPIRED: {S.EXECUTING: frozenset({S.APPROVED, S.EXECUTION_FAILED})},
    A.ROLLBACK_EXECUTION: {S.EXECUTED: frozenset({S.ROLLED_BACK}), S.EXECUTION_FAILED: frozenset({S.ROLLED_BACK})},
}

proposal_ids = st.from_regex(r"[A-Z]{1,10}-[0-9]{3,6}", fullmatch=True)


def _refusal_message(proposal_id: str, status: Status, action: Action) -> str:
    froms = [s.value for s in Status if s in EXPECTED[action]]
    return f"Can't {action.value} on {proposal_id}: it is in {status.value}. {action.value} works on proposals in " + (
        ", ".join(froms) + "."
    )


def test_the_transition_table_is_the_lifecycle_of_the_design() -> None:
    assert {action: dict(froms) for action, froms in TRANSITIONS.items()} == EXPECTED


def test_every_action_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(Action)


def test_a_proposal_starts_as_a_draft_and_ends_in_a_terminal_status() -> None:
    assert INITIAL_STATUS is Status.DRAFT
    assert frozenset({Status.WITHDRAWN, Status.ROLLED_BACK}) == TERMINAL


def test_terminal_statuses_allow_nothing_but_a_summary_or_moderation() -> None:
    for status in TERMINAL:
        allowed = {action for action in Action if status in TRANSITIONS[action]}
        assert allowed == {Action.SUMMARIZE, Action.MODERATE}
        assert next_status("BIP-001", status, Action.SUMMARIZE) is status


def test_a_draft_can_be_revised_discussed_or_withdrawn() -> None:
    assert next_status("BIP-001", Status.DRAFT, Action.REVISE) is Status.DRAFT
    assert next_status("BIP-001", Status.DRAFT, Action.START_DISCUSSION) is Status.DISCUSSION
    assert next_status("BIP-001", Status.DRAFT, Action.WITHDRAW) is Status.WITHDRAWN


def test_starting_a_discussion_during_voting_is_refused_with_a_message_naming_everything() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        next_status("BIP-004", Status.VOTING, Action.START_DISCUSSION)
    assert str(info.value) == (
        "Can't start_discussion on BIP-004: it is in voting. start_discussion works on proposals in draft, revision."
    )
    assert (info.value.proposal_id, info.value.status, info.value.action, info.value.allowed_from) == (
        "BIP-004",
        "voting",
        "start_discussion",
        ("draft", "revision"),
    )


def test_a_refused_transition_is_a_hivegov_error() -> None:
    with pytest.raises(HivegovError):
        next_status("BIP-001", Status.APPROVED, Action.CAST_VOTE)


def test_concluding_a_discussion_needs_a_target_because_it_has_three_outcomes() -> None:
    with pytest.raises(ValueError, match="needs a target"):
        next_status("BIP-001", Status.DISCUSSION, Action.CONCLUDE)
    assert next_status("BIP-001", Status.DISCUSSION, Action.CONCLUDE, Status.VOTING) is Status.VOTING
    assert next_status("BIP-001", Status.DISCUSSION, Action.CONCLUDE, Status.REVISION) is Status.REVISION
    assert next_status("BIP-001", Status.DISCUSSION, Action.CONCLUDE, Status.REJECTED) is Status.REJECTED


def test_concluding_a_discussion_straight_to_executing_is_refused() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        next_status("BIP-007", Status.DISCUSSION, Action.CONCLUDE, Status.EXECUTING)
    assert str(info.value) == "Can't conclude_discussion to executing on BIP-007: it is in discussion."


def test_a_discussion_deadline_can_not_reject() -> None:
    with pytest.raises(TransitionNotAllowed):
        next_status("BIP-001", Status.DISCUSSION, Action.DISCUSSION_DEADLINE, Status.REJECTED)


def test_exceeding_the_revision_rounds_rejects() -> None:
    assert next_status("BIP-001", Status.REVISION, Action.EXCEED_REVISION_ROUNDS) is Status.REJECTED


def test_voting_closes_to_approved_or_rejected_only() -> None:
    for action in (Action.CLOSE_VOTING, Action.VOTING_DEADLINE, Action.EARLY_CLOSE):
        assert check_action("BIP-001", Status.VOTING, action) == frozenset({Status.APPROVED, Status.REJECTED})
        with pytest.raises(TransitionNotAllowed):
            next_status("BIP-001", Status.VOTING, action, Status.WITHDRAWN)


def test_a_proposal_in_voting_can_not_be_withdrawn() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        next_status("BIP-002", Status.VOTING, Action.WITHDRAW)
    assert info.value.allowed_from == ("draft", "discussion", "revision")


def test_allowed_from_lists_statuses_in_lifecycle_order() -> None:
    assert allowed_from(Action.WITHDRAW) == (Status.DRAFT, Status.DISCUSSION, Status.REVISION)
    assert allowed_from(Action.SUMMARIZE) == (
        Status.DISCUSSION,
        Status.REVISION,
        Status.VOTING,
        Status.APPROVED,
        Status.REJECTED,
        Status.WITHDRAWN,
        Status.EXECUTING,
        Status.EXECUTED,
        Status.EXECUTION_FAILED,
        Status.ROLLED_BACK,
    )


def test_the_phase_is_derived_from_the_status() -> None:
    assert {status: phase_of(status) for status in Status} == {
        Status.DRAFT: Phase.PROPOSAL,
        Status.DISCUSSION: Phase.DISCUSSION,
        Status.REVISION: Phase.REVISION,
        Status.VOTING: Phase.VOTING,
        Status.APPROVED: Phase.RESOLUTION,
        Status.REJECTED: Phase.RESOLUTION,
        Status.WITHDRAWN: Phase.RESOLUTION,
        Status.EXECUTING: Phase.EXECUTION,
        Status.EXECUTED: Phase.EXECUTION,
        Status.EXECUTION_FAILED: Phase.EXECUTION,
        Status.ROLLED_BACK: Phase.EXECUTION,
    }


@settings(max_examples=200, deadline=None)
@given(
    proposal_id=proposal_ids,
    status=st.sampled_from(Status),
    action=st.sampled_from(Action),
    target=st.none() | st.sampled_from(Status),
)
def test_every_move_either_follows_the_table_or_is_refused_by_name(
    proposal_id: str, status: Status, action: Action, target: Status | None
) -> None:
    targets = EXPECTED[action].get(status)
    if targets is None:
        with pytest.raises(TransitionNotAllowed) as info:
            next_status(proposal_id, status, action, target)
        assert str(info.value) == _refusal_message(proposal_id, status, action)
        assert (info.value.proposal_id, info.value.status, info.value.action) == (proposal_id, status, action)
    elif target is None and len(targets) > 1:
        with pytest.raises(ValueError, match="needs a target"):
            next_status(proposal_id, status, action, target)
    elif target is not None and target not in targets:
        with pytest.raises(TransitionNotAllowed) as info:
            next_status(proposal_id, status, action, target)
        assert str(info.value).startswith(f"Can't {action.value} to {target.value} on {proposal_id}: ")
        assert str(info.value).endswith(f": it is in {status.value}.")
    else:
        result = next_status(proposal_id, status, action, target)
        assert result in TRANSITIONS[action][status]
        assert result in targets
        if target is not None:
            assert result is target


@settings(max_examples=200, deadline=None)
@given(status=st.sampled_from(sorted(TERMINAL)), action=st.sampled_from(Action), target=st.sampled_from(Status))
def test_no_action_leaves_a_terminal_status(status: Status, action: Action, target: Status) -> None:
    if action in (Action.SUMMARIZE, Action.MODERATE):
        assert next_status("BIP-001", status, action) is status
    else:
        with pytest.raises(TransitionNotAllowed):
            next_status("BIP-001", status, action, target)
