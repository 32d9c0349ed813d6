"""The phase engine: status moves, opening and closing votes, and due deadlines.

Every function here runs inside a write transaction the caller holds, so a move, its side
effects and its audit event commit together. Moves are checked against the one transition
table (`domain.phases`), and a passed deadline is handled by the handler the status's
deadline action names (`DEADLINE_HANDLERS`, beside `phases.DEADLINE_ACTIONS`). Deadlines are
processed idempotently: the state is re-read inside the transaction, and a deadline that
another process already handled is simply gone.

Rules come from the database through a `RulesSource`: the version in force for what
happens now, and the version frozen when voting opened for everything about that vote.

What decides an outcome is checked against what the log fixed before it is used (`guards.py`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from hivegov_mcp.domain.ballots import options_fit
from hivegov_mcp.domain.config import DecisionMethod, GovernanceConfig, Rules
from hivegov_mcp.domain.counting import ballot_object, count, counted_options, delegation_record
from hivegov_mcp.domain.delegation import resolve_delegations
from hivegov_mcp.domain.errors import NoEligibleVoters, NotNow
from hivegov_mcp.domain.models import Receipt, Resolution
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.domain.phases import DEADLINE_ACTIONS, Action, Status
from hivegov_mcp.domain.phases import next_status as checked_next_status
from hivegov_mcp.domain.tally import Decision, fraction_text
from hivegov_mcp.service import guards
from hivegov_mcp.store.base import ProposalState, Transaction
from hivegov_mcp.store.values import CountRecords

ENGINE = "@engine"
REVISION_LIMIT_REASON = "max_revision_rounds_exceeded"
log = logging.getLogger(__name__)


class RulesSource(Protocol):
    async def current(self, tx: Transaction) -> tuple[int, GovernanceConfig]:
        """The rules version in force and its rules."""
        ...

    async def at(self, tx: Transaction, version: int) -> GovernanceConfig:
        """The rules of one stored version."""
        ...


def frozen_version(state: ProposalState) -> int:
    """The rules version a proposal's vote runs under (votes opened before versioning: 1)."""
    return state.rules_version or 1


async def vote_rules(tx: Transaction, source: RulesSource, state: ProposalState) -> Rules:
    """The rules frozen for this proposal's vote, for its type."""
    return (await source.at(tx, frozen_version(state))).rules_for(state.type)


async def move(
    tx: Transaction,
    state: ProposalState,
    action: Action,
    *,
    actor: str,
    now: datetime,
    target: Status | None = None,
    payload: dict[str, Any] | None = None,
    **changes: Any,
) -> tuple[ProposalState, Receipt]:
    """Apply one checked move, save the state and append its audit event."""
    to = checked_next_status(state.id, state.status, action, target)
    new = replace(state, status=to, updated_at=now, **changes)
    await tx.save_proposal(new)
    event = {"from": state.status.value, "to": to.value, **(payload or {})}
    receipt = await tx.append_audit(at=now, actor=actor, action=action.value, subject=state.id, payload=event)
    return new, receipt


async def enter_revision(
    tx: Transaction,
    state: ProposalState,
    rules: Rules,
    action: Action,
    *,
    actor: str,
    now: datetime,
    payload: dict[str, Any],
) -> tuple[ProposalState, Receipt]:
    """discussion -> revision; and revision -> rejected once the revision rounds are used up."""
    await tx.conclude_round(state.id, state.round, now, Resolution.REQUIRES_REVISION.value)
    state, receipt = await move(
        tx,
        state,
        action,
        actor=actor,
        now=now,
        target=Status.REVISION,
        payload=payload,
        revision_rounds=state.revision_rounds + 1,
        deadline=None,
    )
    if state.revision_rounds > rules.max_revision_rounds:
        state, _ = await move(
            tx,
            state,
            Action.EXCEED_REVISION_ROUNDS,
            actor=ENGINE,
            now=now,
            payload={
                "revision_rounds": state.revision_rounds,
                "max_revision_rounds": rules.max_revision_rounds,
            },
            outcome=Status.REJECTED.value,
            outcome_reason=REVISION_LIMIT_REASON,
        )
    return state, receipt


async def open_voting(
    tx: Transaction,
    state: ProposalState,
    source: RulesSource,
    action: Action,
    *,
    actor: str,
    now: datetime,
    payload: dict[str, Any],
) -> tuple[ProposalState, Receipt]:
    """discussion -> voting, freezing the eligible set (active voters and their weights) and the
    rules version in force: the whole vote runs under both."""
    version, config = await source.current(tx)
    rules = config.rules_for(state.type)
    agents = await tx.list_agents()
    await guards.check_agents(tx, agents)
    eligible = {a.id: a.weight for a in agents if Role.VOTER.value in a.roles and a.active}
    if not eligible:
        raise NoEligibleVoters(state.id)
    current = await tx.get_version(state.id, state.version)
    options = current.content.options if current else []
    needs = options_fit(rules.method, options)  # the rules may have changed since it was written
    if needs is not None:
        method = rules.method.value
        why, fix = (
            (
                f"its type is decided by {method} and it has no options to vote on",
                "adds 2-20 options with revise_proposal",
            )
            if needs
            else (
                f"its type is decided by {method} now, which votes on no options, and it has {len(options)}",
                "removes them with revise_proposal(options=[])",
            )
        )
        raise NotNow(state.id, "open voting", why, f"A mediator concludes requires-revision; the author {fix}.")
    await tx.freeze_eligible(state.id, eligible)
    await tx.conclude_round(state.id, state.round, now, Resolution.APPROVED_FOR_VOTING.value)
    deadline = now + timedelta(minutes=rules.voting_minutes)
    return await move(
        tx,
        state,
        action,
        actor=actor,
        now=now,
        target=Status.VOTING,
        payload={**payload, "eligible": eligible, "deadline": deadline.isoformat(), "rules_version": version},
        deadline=deadline,
        voting_opened_at=now,
        rules_version=version,
    )


def open_appeal_window(event: dict[str, Any], rules: Rules, now: datetime) -> datetime | None:
    """A resolution opens its appeal window (DESIGN §15): its end, recorded in the event, is the
    proposal's next deadline (None when the rules give no window)."""
    window = timedelta(minutes=rules.appeal_window_minutes)
    appeal_until = now + window if window > timedelta(0) else None
    if appeal_until is not None:
        event["appeal_until"] = appeal_until.isoformat()
    return appeal_until


async def approve_by_consent(
    tx: Transaction,
    state: ProposalState,
    source: RulesSource,
    action: Action,
    *,
    actor: str,
    now: datetime,
    payload: dict[str, Any],
) -> tuple[ProposalState, Receipt]:
    """discussion -> approved without a vote, for a type decided by consent (DESIGN §20): the round
    ended with no unresolved objection. The rules version is frozen as for a vote, and the
    approval opens its appeal window."""
    version, config = await source.current(tx)
    rules = config.rules_for(state.type)
    await tx.conclude_round(state.id, state.round, now, Resolution.APPROVED_FOR_VOTING.value)
    event = {**payload, "method": DecisionMethod.CONSENT.value, "rules_version": version}
    appeal_until = open_appeal_window(event, rules, now)
    return await move(
        tx,
        state,
        action,
        actor=actor,
        now=now,
        target=Status.APPROVED,
        payload=event,
        outcome=Status.APPROVED.value,
        outcome_reason=None,
        deadline=appeal_until,
        rules_version=version,
    )


async def close_voting(
    tx: Transaction,
    state: ProposalState,
    source: RulesSource,
    action: Action,
    *,
    actor: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> tuple[ProposalState, Receipt]:
    """voting -> approved or rejected by the one count of the frozen method, under the frozen
    rules, with the weight of non-voters following their delegations as of now. The count is
    stored (and never recounted); the event records every counted ballot and the delegations
    it followed, so anyone can recount it from the log alone (examples/recount.py)."""
    eligible = await tx.eligible(state.id)
    await guards.check_vote(tx, state, eligible)
    rules = await vote_rules(tx, source, state)
    ballots = await tx.last_ballots(state.id)
    delegations = await tx.delegation_map(state.type)
    flow = resolve_delegations(eligible, {b.agent_id for b in ballots}, delegations)
    carried = flow.ballot_weights
    event: dict[str, Any] = {**(payload or {})}
    if rules.method.votes_on_options:
        version = await tx.get_version(state.id, state.version)
        assert version is not None
        tally, record = counted_options(eligible, ballots, rules, version.content.options, carried)
        event |= {
            "method": rules.method.value,
            "options": version.content.options,
            "ballots": {b.agent_id: ballot_object(b) for b in ballots},
            "result": record,
        }
    else:
        tally, record = count(eligible, ballots, rules, carried), None
        event |= {
            "tally": {d.value: getattr(tally, d.value) for d in Decision},
            "ballots": {b.agent_id: b.decision.value for b in ballots if b.decision is not None},
            "approval_threshold": fraction_text(rules.approval_threshold),
        }
    delegation = delegation_record(flow)
    await tx.store_tally(
        state.id,
        tally,
        frozen_version(state),
        CountRecords(method=rules.method.value if record else None, result=record, delegation=delegation),
    )
    event |= {
        "quorum_met": tally.quorum_met,
        "consensus": str(tally.consensus),
        "reason": tally.reason.value if tally.reason else None,
        "rules_version": frozen_version(state),
        # what it was counted under, so anyone can recount it from the log alone (examples/recount.py)
        "quorum": fraction_text(rules.quorum),
        "delegations": dict(sorted(delegations.items())),
        "carried": delegation["carried"],
    }
    appeal_until = open_appeal_window(event, rules, now)
    return await move(
        tx,
        state,
        action,
        actor=actor,
        now=now,
        target=Status(tally.outcome.value),
        payload=event,
        outcome=tally.outcome.value,
        outcome_reason=tally.reason.value if tally.reason else None,
        deadline=appeal_until,
        voting_closed_at=now,
    )


async def validation_block(tx: Transaction, rules: Rules, state: ProposalState) -> str | None:
    """Why validation keeps the proposal from voting, or None: its current version failed a
    validation, or the rules require a pass and it has none (DESIGN §15)."""
    await guards.check_validations(tx, state)
    latest = [v for v in await tx.validations(state.id) if v.version == state.version]
    if latest and latest[-1].result.value == "fail":
        return f"version {state.version} failed validation (by {latest[-1].validator})"
    if rules.require_validation and not (latest and latest[-1].result.value == "pass"):
        return f"{state.type} proposals need a validator's pass on their current version ({state.version})"
    return None


async def _discussion_deadline(
    tx: Transaction, source: RulesSource, state: ProposalState, now: datetime, due: dict[str, Any]
) -> ProposalState:
    """Open voting, or send the proposal to revision while objections are open or validation blocks."""
    await guards.check_settled_objections(tx, state)
    objections = await tx.unresolved_objections(state.id)
    _, config = await source.current(tx)
    blocked = await validation_block(tx, config.rules_for(state.type), state)
    if objections or blocked:
        payload = {**due, "unresolved_objections": objections, **({"validation": blocked} if blocked else {})}
        state, _ = await enter_revision(
            tx,
            state,
            config.rules_for(state.type),
            Action.DISCUSSION_DEADLINE,
            actor=ENGINE,
            now=now,
            payload=payload,
        )
        return state
    if config.rules_for(state.type).method is DecisionMethod.CONSENT:
        state, _ = await approve_by_consent(
            tx, state, source, Action.DISCUSSION_DEADLINE, actor=ENGINE, now=now, payload=due
        )
        return state
    try:
        state, _ = await open_voting(tx, state, source, Action.DISCUSSION_DEADLINE, actor=ENGINE, now=now, payload=due)
    except (NoEligibleVoters, NotNow) as blocked_by:
        # Stay in discussion, without a deadline, until a mediator concludes: nothing is lost.
        state = replace(state, deadline=None, updated_at=now)
        await tx.save_proposal(state)
        await tx.append_audit(
            at=now,
            actor=ENGINE,
            action="voting_blocked",
            subject=state.id,
            payload={**due, "why": "no voters" if isinstance(blocked_by, NoEligibleVoters) else blocked_by.why},
        )
        log.warning("%s: discussion ended but voting can't open: %s", state.id, blocked_by)
    return state


async def _voting_deadline(
    tx: Transaction, source: RulesSource, state: ProposalState, now: datetime, due: dict[str, Any]
) -> ProposalState:
    state, _ = await close_voting(tx, state, source, Action.VOTING_DEADLINE, actor=ENGINE, now=now, payload=due)
    return state


async def _appeal_window_end(
    tx: Transaction, source: RulesSource, state: ProposalState, now: datetime, due: dict[str, Any]
) -> ProposalState:
    """The resolution stands unappealed from now on (a pending appeal still waits for its arbiter)."""
    state, _ = await move(tx, state, Action.APPEAL_WINDOW_END, actor=ENGINE, now=now, payload=due, deadline=None)
    return state


async def _lease_expired(
    tx: Transaction, source: RulesSource, state: ProposalState, now: datetime, due: dict[str, Any]
) -> ProposalState:
    """An executor's claim lapsed without a report: the attempt ends `expired`, the proposal is
    approved again and can be claimed again."""
    attempts = await tx.executions(state.id)
    current = attempts[-1]
    await tx.end_execution(state.id, current.attempt, "expired", None, [], now)
    _, config = await source.current(tx)
    last = len(attempts) >= config.rules_for(state.type).max_execution_attempts
    state, _ = await move(
        tx,
        state,
        Action.LEASE_EXPIRED,
        actor=ENGINE,
        now=now,
        target=Status.EXECUTION_FAILED if last else Status.APPROVED,  # the last attempt: it can be rolled back
        payload={**due, "attempt": current.attempt, "executor": current.executor},
        deadline=None,
    )
    return state


class DeadlineHandler(Protocol):
    async def __call__(
        self, tx: Transaction, source: RulesSource, state: ProposalState, now: datetime, due: dict[str, Any]
    ) -> ProposalState: ...


DEADLINE_HANDLERS: dict[Action, DeadlineHandler] = {
    Action.DISCUSSION_DEADLINE: _discussion_deadline,
    Action.VOTING_DEADLINE: _voting_deadline,
    Action.APPEAL_WINDOW_END: _appeal_window_end,
    Action.LEASE_EXPIRED: _lease_expired,
}


async def apply_deadline(
    tx: Transaction, source: RulesSource, proposal_id: str, now: datetime
) -> tuple[ProposalState | None, bool]:
    """Process the proposal's deadline if it has passed. Returns the (possibly new) state and
    whether this call processed a deadline (False when none was due, or another process won)."""
    state = await tx.get_proposal(proposal_id)
    if state is None or state.deadline is None or state.deadline > now:
        return state, False
    action = DEADLINE_ACTIONS.get(state.status)
    if action is None:
        return state, False
    await guards.check_deadline(tx, state)
    state = await DEADLINE_HANDLERS[action](tx, source, state, now, {"deadline": state.deadline.isoformat()})
    return state, True
