"""What decides an outcome, checked against what the log fixed before the engine uses it (issue 17):
the electorate and rules version a vote closes with against its opening event, a passed deadline
against the move that set it, the objections counted as settled and the validations against their
events, the agents a vote freezes against theirs. A state table edited behind the server's back is
refused here (`LogTampered`, nothing written), not only found by `audit verify`."""

from __future__ import annotations

import json

from hivegov_mcp.domain import replay, replay_registry
from hivegov_mcp.domain.audit import StoredEvent
from hivegov_mcp.domain.errors import LogTampered
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.phases import Action
from hivegov_mcp.store.base import ProposalState, Transaction


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
