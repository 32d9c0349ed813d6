"""The phase engine: status moves, opening and closing votes, and due deadlines.

Every function here runs inside a write transaction the caller holds, so a move, its side
effects and its audit event commit together. Moves are checked against the one transition
table (`domain.phases`), and a passed deadline is handled by the handler the status's
deadline action names (`DEADLINE_HANDLERS`, beside `phases.DEADLINE_ACTIONS`). Deadlines are
processed idempotently: the state is re-read inside the transaction, and a deadline that
another process already handled is simply gone.

Rules come from the database through a `RulesSource`: the version in force for what
happens now, and the version frozen when voting opened for everything about that vote.

What decides an outcome is checked against what the log fixed before it is used (issue 17):
the electorate and rules version a vote closes with against its opening event, a passed
deadline against the move that set it, the objections counted as settled and the validations
against their events. A state table edited behind the server's back is refused there
(`LogTampered`, nothing written), not only found by `audit verify`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from hivegov_mcp.domain import replay, replay_registry
from hivegov_mcp.domain.audit import StoredEvent
from hivegov_mcp.domain.config import DecisionMethod, GovernanceConfig, Rules
from hivegov_mcp.domain.errors import LogTampered, NoEligibleVoters
from hivegov_mcp.domain.models import Agent, Ballot, Receipt, Resolution
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.domain.phases import DEADLINE_ACTIONS, Action, Status
from hivegov_mcp.domain.phases import next_status as checked_next_status
from hivegov_mcp.domain.tally import Decision, Tally, fraction_text, tally_votes
from hivegov_mcp.store.base import ProposalState, Transaction

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


def logged(e: StoredEvent) -> replay.LoggedEvent:
    return replay.LoggedEvent(seq=e.seq, action=e.action, actor=e.actor, payload=json.loads(e.payload))


async def logged_moves(tx: Transaction, proposal_id: str) -> list[replay.LoggedEvent]:
    """The proposal's moves (and blocked votes) from the log, without its comments and ballots:
    what fixes its deadline and its vote."""
    return [
        logged(e) for e in await tx.audit_events_of(proposal_id, tuple(a.value for a in replay.NOT_MOVES), exclude=True)
    ]


def tampered(tx: Transaction, table: str, detail: str, seq: int | None) -> LogTampered:
    where = f" (audit event {seq})" if seq is not None else ""
    return LogTampered(tx.location(), f"table {table} disagrees with the log{where}: {detail}")


async def check_vote(tx: Transaction, state: ProposalState, eligible: dict[str, int]) -> None:
    """The electorate and rules version about to count, against the event that opened the vote."""
    vote = replay.FrozenVote()
    for e in await logged_moves(tx, state.id):
        vote.feed(e)
    if not isinstance(vote.eligible, replay.Unknown):
        differs = replay.electorate_difference(eligible, vote.eligible or {})
        if differs is not None:
            raise tampered(tx, "eligible_voters", f"{state.id}: {differs}", vote.seq)
    if not isinstance(vote.rules_version, replay.Unknown) and state.rules_version != vote.rules_version:
        detail = (
            f"{state.id} votes under rules version {state.rules_version}; its vote opened under {vote.rules_version}"
        )
        raise tampered(tx, "proposals", detail, vote.seq)


async def check_deadline(tx: Transaction, state: ProposalState) -> None:
    """A deadline about to be applied, against the move that set it."""
    deadline, seq = replay.logged_deadline(await logged_moves(tx, state.id))
    if not isinstance(deadline, replay.Unknown) and deadline != state.deadline:
        shown = "none" if deadline is None else deadline.isoformat()
        mine = "none" if state.deadline is None else state.deadline.isoformat()
        raise tampered(tx, "proposals", f"{state.id}'s deadline is {mine}; the log set {shown}", seq)


async def check_settled_objections(tx: Transaction, state: ProposalState) -> None:
    """The proposal's objections against the comments the log recorded as objections, and those
    the table counts as resolved or hidden against their events."""
    logged_objections = {
        int(e.payload["comment_id"])
        for e in map(logged, await tx.audit_events_of(state.id, (Action.ADD_COMMENT.value,)))
        if e.payload.get("type") == "objection" and isinstance(e.payload.get("comment_id"), int)
    }
    table = set(await tx.objection_ids(state.id))
    if table != logged_objections:
        comment = min(table ^ logged_objections)
        detail = "is not an objection; the log recorded one" if comment in logged_objections else "is an objection"
        raise tampered(tx, "comments", f"comment {comment} on {state.id} {detail}", None)
    settled = await tx.settled_objections(state.id)
    if not settled:
        return
    events = await tx.audit_events_of(state.id, (Action.RESOLVE_COMMENT.value, Action.MODERATE.value))
    resolves: dict[int, replay.LoggedEvent] = {}
    moderations: dict[int, replay.LoggedEvent] = {}
    for e in map(logged, events):
        into = resolves if e.action == Action.RESOLVE_COMMENT.value else moderations
        number = e.payload.get("comment_id" if into is resolves else "comment")
        if isinstance(number, int):
            into[number] = e
    for c in settled:
        mark = replay.CommentMarks(
            c.id, c.resolved_by, c.resolution_note, c.hidden_by, c.hidden_reason, c.resolved_at, c.hidden_at
        )
        found = replay.check_marks(state.id, mark, resolves.get(c.id), moderations.get(c.id))
        if found is not None:
            raise tampered(tx, "comments", f"objection {c.id} on {state.id}: {found.problem}", found.seq)


async def check_validations(tx: Transaction, state: ProposalState) -> None:
    """The proposal's validations against their record_validation events."""
    rows = [(v.id, v.version, v.validator, v.result.value) for v in await tx.validations(state.id)]
    events = await tx.audit_events_of(state.id, (Action.RECORD_VALIDATION.value,))
    found = replay.check_validations(
        state.id, rows, {int(e.payload["validation"]): e for e in map(logged, events) if "validation" in e.payload}
    )
    if found is not None:
        raise tampered(tx, "validations", found.problem, found.seq)


async def check_agents(tx: Transaction, agents: list[Agent]) -> None:
    """The agents' roles, weights and activity, the electorate a vote freezes, against their
    events: a weight or a voter role edited in the table is refused before it is logged as the
    vote's electorate."""
    events: dict[str, list[replay.LoggedEvent]] = {}
    subjects = [f"agent:{a.id}" for a in agents]
    for e in await tx.events_of_subjects(subjects, replay_registry.AGENT_EVENTS):  # not their usage reports
        events.setdefault(e.subject.removeprefix("agent:"), []).append(logged(e))
    for agent in agents:
        row = replay_registry.AgentRow(agent.id, agent.roles, agent.weight, agent.active)
        found = replay_registry.check_agent(row, events.get(agent.id, []))
        if found is not None:
            raise tampered(tx, "agents", f"{found.row.removeprefix('agents: ')} {found.problem}", found.seq)


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
    await check_agents(tx, agents)
    eligible = {a.id: a.weight for a in agents if Role.VOTER.value in a.roles and a.active}
    if not eligible:
        raise NoEligibleVoters(state.id)
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
    window = timedelta(minutes=rules.appeal_window_minutes)
    appeal_until = now + window if window > timedelta(0) else None
    if appeal_until is not None:
        event["appeal_until"] = appeal_until.isoformat()
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


def count(eligible: dict[str, int], ballots: list[Ballot], rules: Rules) -> Tally:
    return tally_votes(
        eligible,
        {b.agent_id: b.decision for b in ballots},
        quorum=rules.quorum,
        threshold=rules.approval_threshold,
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
    """voting -> approved or rejected by the one tally, under the frozen rules. The tally is
    stored (and never recounted); the event records every counted ballot."""
    eligible = await tx.eligible(state.id)
    await check_vote(tx, state, eligible)
    rules = await vote_rules(tx, source, state)
    ballots = await tx.last_ballots(state.id)
    tally = count(eligible, ballots, rules)
    await tx.store_tally(state.id, tally, frozen_version(state))
    event = {
        **(payload or {}),
        "tally": {d.value: getattr(tally, d.value) for d in Decision},
        "quorum_met": tally.quorum_met,
        "consensus": str(tally.consensus),
        "reason": tally.reason.value if tally.reason else None,
        "ballots": {b.agent_id: b.decision.value for b in ballots},
        "rules_version": frozen_version(state),
        # what it was counted under, so anyone can recount it from the log alone (examples/recount.py)
        "quorum": fraction_text(rules.quorum),
        "approval_threshold": fraction_text(rules.approval_threshold),
    }
    # The resolution opens its appeal window (DESIGN §15): its end is the proposal's next deadline.
    window = timedelta(minutes=rules.appeal_window_minutes)
    appeal_until = now + window if window > timedelta(0) else None
    if appeal_until is not None:
        event["appeal_until"] = appeal_until.isoformat()
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
    await check_validations(tx, state)
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
    await check_settled_objections(tx, state)
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
    except NoEligibleVoters:
        # Stay in discussion, without a deadline, until a mediator concludes: nothing is lost.
        state = replace(state, deadline=None, updated_at=now)
        await tx.save_proposal(state)
        await tx.append_audit(
            at=now, actor=ENGINE, action="voting_blocked", subject=state.id, payload={**due, "why": "no voters"}
        )
        log.warning("%s: discussion ended but no agent holds the voter role", state.id)
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
    await check_deadline(tx, state)
    state = await DEADLINE_HANDLERS[action](tx, source, state, now, {"deadline": state.deadline.isoformat()})
    return state, True
