"""The lifecycle: statuses, actions and the one table of allowed moves (DESIGN §2).

Nothing else in the code decides what may follow what: the service asks `next_status`.
Actions that leave the status as it is (commenting, voting) are in the table too, so the
table also says in which statuses each action is possible.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from hivegov_mcp.domain.errors import TransitionNotAllowed


class Status(StrEnum):
    DRAFT = "draft"
    DISCUSSION = "discussion"
    REVISION = "revision"
    VOTING = "voting"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    EXECUTING = "executing"
    EXECUTED = "executed"
    EXECUTION_FAILED = "execution_failed"
    ROLLED_BACK = "rolled_back"


class Phase(StrEnum):
    """The seed's six phases, derived from the status."""

    PROPOSAL = "proposal"
    DISCUSSION = "discussion"
    REVISION = "revision"
    VOTING = "voting"
    RESOLUTION = "resolution"
    EXECUTION = "execution"


class Action(StrEnum):
    REVISE = "revise_proposal"
    START_DISCUSSION = "start_discussion"
    ADD_COMMENT = "add_comment"
    RESOLVE_COMMENT = "resolve_comment"
    SUMMARIZE = "summarize_discussion"
    CONCLUDE = "conclude_discussion"
    DISCUSSION_DEADLINE = "discussion_deadline"
    EXCEED_REVISION_ROUNDS = "exceed_revision_rounds"
    CAST_VOTE = "cast_vote"
    CLOSE_VOTING = "close_voting"
    VOTING_DEADLINE = "voting_deadline"
    EARLY_CLOSE = "early_close"
    WITHDRAW = "withdraw_proposal"
    RECORD_VALIDATION = "record_validation"
    PUBLISH_SUMMARY = "publish_summary"
    MODERATE = "moderate_comment"
    FILE_APPEAL = "file_appeal"
    DECIDE_APPEAL = "decide_appeal"  # uphold: the status stays; reopen: a new discussion round
    APPEAL_WINDOW_END = "appeal_window_end"
    CLAIM_EXECUTION = "claim_execution"
    REPORT_EXECUTION = "report_execution"
    LEASE_EXPIRED = "lease_expired"
    ROLLBACK_EXECUTION = "rollback_execution"


INITIAL_STATUS = Status.DRAFT
# No move leaves these (a summary or moderation of their comments still may be made).
TERMINAL = frozenset({Status.WITHDRAWN, Status.ROLLED_BACK})

_S = Status
_CLOSE = {_S.VOTING: frozenset({_S.APPROVED, _S.REJECTED})}

# action -> {from status -> statuses it may lead to}
TRANSITIONS: Mapping[Action, Mapping[Status, frozenset[Status]]] = {
    Action.REVISE: {_S.DRAFT: frozenset({_S.DRAFT}), _S.REVISION: frozenset({_S.REVISION})},
    Action.START_DISCUSSION: {
        _S.DRAFT: frozenset({_S.DISCUSSION}),
        _S.REVISION: frozenset({_S.DISCUSSION}),
    },
    Action.ADD_COMMENT: {_S.DISCUSSION: frozenset({_S.DISCUSSION})},
    Action.RESOLVE_COMMENT: {
        _S.DISCUSSION: frozenset({_S.DISCUSSION}),
        _S.REVISION: frozenset({_S.REVISION}),
    },
    Action.SUMMARIZE: {s: frozenset({s}) for s in Status if s is not _S.DRAFT},
    # approved straight from discussion: a proposal type decided by consent (no vote)
    Action.CONCLUDE: {_S.DISCUSSION: frozenset({_S.VOTING, _S.REVISION, _S.REJECTED, _S.APPROVED})},
    Action.DISCUSSION_DEADLINE: {_S.DISCUSSION: frozenset({_S.VOTING, _S.REVISION, _S.APPROVED})},
    Action.EXCEED_REVISION_ROUNDS: {_S.REVISION: frozenset({_S.REJECTED})},
    Action.CAST_VOTE: {_S.VOTING: frozenset({_S.VOTING})},
    Action.CLOSE_VOTING: _CLOSE,
    Action.VOTING_DEADLINE: _CLOSE,
    Action.EARLY_CLOSE: _CLOSE,
    Action.WITHDRAW: {s: frozenset({_S.WITHDRAWN}) for s in (_S.DRAFT, _S.DISCUSSION, _S.REVISION)},
    # after the vote (DESIGN §15)
    Action.RECORD_VALIDATION: {s: frozenset({s}) for s in (_S.DRAFT, _S.DISCUSSION, _S.REVISION)},
    Action.PUBLISH_SUMMARY: {s: frozenset({s}) for s in (_S.DISCUSSION, _S.REVISION, _S.VOTING)},
    Action.MODERATE: {s: frozenset({s}) for s in Status if s is not _S.DRAFT},
    Action.FILE_APPEAL: {_S.APPROVED: frozenset({_S.APPROVED}), _S.REJECTED: frozenset({_S.REJECTED})},
    Action.DECIDE_APPEAL: {
        _S.APPROVED: frozenset({_S.APPROVED, _S.DISCUSSION}),
        _S.REJECTED: frozenset({_S.REJECTED, _S.DISCUSSION}),
    },
    Action.APPEAL_WINDOW_END: {_S.APPROVED: frozenset({_S.APPROVED}), _S.REJECTED: frozenset({_S.REJECTED})},
    Action.CLAIM_EXECUTION: {
        _S.APPROVED: frozenset({_S.EXECUTING}),
        _S.EXECUTION_FAILED: frozenset({_S.EXECUTING}),
    },
    Action.REPORT_EXECUTION: {_S.EXECUTING: frozenset({_S.EXECUTED, _S.EXECUTION_FAILED})},
    # back to approved to be claimed again, or execution_failed when it was the last attempt allowed
    Action.LEASE_EXPIRED: {_S.EXECUTING: frozenset({_S.APPROVED, _S.EXECUTION_FAILED})},
    Action.ROLLBACK_EXECUTION: {
        _S.EXECUTED: frozenset({_S.ROLLED_BACK}),
        _S.EXECUTION_FAILED: frozenset({_S.ROLLED_BACK}),
    },
}


# Per-status deadline handling, beside the table: a proposal in one of these statuses has a
# deadline, and passing it is this action (the engine maps each action to its handler).
DEADLINE_ACTIONS: Mapping[Status, Action] = {
    _S.DISCUSSION: Action.DISCUSSION_DEADLINE,
    _S.VOTING: Action.VOTING_DEADLINE,
    _S.APPROVED: Action.APPEAL_WINDOW_END,  # the deadline of a resolved proposal ends its appeal window
    _S.REJECTED: Action.APPEAL_WINDOW_END,
    _S.EXECUTING: Action.LEASE_EXPIRED,  # an executor's claim not reported in time
}

# The statuses in which a vote's results may be read (once a vote has been held).
RESULTS_READABLE: frozenset[Status] = frozenset(
    {_S.VOTING, _S.APPROVED, _S.REJECTED, _S.EXECUTING, _S.EXECUTED, _S.EXECUTION_FAILED, _S.ROLLED_BACK}
)
# Open for work (listed as MCP resources, in this order): not yet resolved.
OPEN: tuple[Status, ...] = (_S.DRAFT, _S.DISCUSSION, _S.REVISION, _S.VOTING)


def allowed_from(action: Action) -> tuple[Status, ...]:
    """The statuses in which `action` is possible, in lifecycle order."""
    froms = TRANSITIONS[action]
    return tuple(s for s in Status if s in froms)


def check_action(proposal_id: str, status: Status, action: Action) -> frozenset[Status]:
    """Return the statuses `action` may lead to from `status`, or raise TransitionNotAllowed."""
    targets = TRANSITIONS[action].get(status)
    if targets is None:
        raise TransitionNotAllowed(
            proposal_id, status.value, action.value, allowed_from=[s.value for s in allowed_from(action)]
        )
    return targets


def next_status(proposal_id: str, status: Status, action: Action, target: Status | None = None) -> Status:
    """Check one move and return the status it leads to.

    `target` picks among several outcomes (conclude → voting, revision or rejected); it may be
    left out when the action has exactly one.
    """
    targets = check_action(proposal_id, status, action)
    if target is None:
        if len(targets) != 1:
            raise ValueError(f"{action.value} from {status.value} needs a target among {sorted(targets)}")
        (only,) = targets
        return only
    if target not in targets:
        raise TransitionNotAllowed(proposal_id, status.value, f"{action.value} to {target.value}")
    return target


def phase_of(status: Status) -> Phase:
    return {
        Status.DRAFT: Phase.PROPOSAL,
        Status.DISCUSSION: Phase.DISCUSSION,
        Status.REVISION: Phase.REVISION,
        Status.VOTING: Phase.VOTING,
        Status.EXECUTING: Phase.EXECUTION,
        Status.EXECUTED: Phase.EXECUTION,
        Status.EXECUTION_FAILED: Phase.EXECUTION,
        Status.ROLLED_BACK: Phase.EXECUTION,
    }.get(status, Phase.RESOLUTION)
