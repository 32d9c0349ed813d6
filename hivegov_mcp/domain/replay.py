"""The state tables checked against the audit log (DESIGN §16), pure: what the log says a
proposal or an agent is, compared with what its rows say. The first disagreement is named with
the row and the event it contradicts.

The log is trusted here: it is checked first (chain, Merkle leaves, checkpoints), and only a
log that passed is used to judge the tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hivegov_mcp.domain.audit import ballot_commitment, content_hash
from hivegov_mcp.domain.phases import INITIAL_STATUS, Action, Status

# Events that change an agent (subject `agent:ID`) and what they set.
REGISTER, SET_ROLES, DEACTIVATE, ACTIVATE = "register_agent", "set_agent_roles", "deactivate_agent", "activate_agent"


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    action: str
    actor: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Disagreement:
    row: str  # e.g. "votes: BIP-001 ballot 2 of dave"
    problem: str
    seq: int | None  # the event the row contradicts, if one


@dataclass(frozen=True)
class ProposalRows:
    id: str
    status: str
    version: int
    versions: Sequence[tuple[int, Mapping[str, Any], str]]  # (number, content fields, stored content_hash)
    comments: Sequence[tuple[int, str, str]]  # (id, type, content), hidden ones too
    votes: Sequence[tuple[str, str, str, str | None]]  # (agent, decision, justification, salt), in order cast
    tally: Mapping[str, int] | None  # the stored count of a closed vote: approve/reject/abstain
    appeals: Sequence[tuple[int, str, str, str | None]] = ()  # (id, appellant, grounds, decision)
    executions: Sequence[tuple[int, str, str | None]] = ()  # (attempt, executor, outcome)


@dataclass(frozen=True)
class AgentRow:
    id: str
    roles: Sequence[str]
    weight: int
    active: bool


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def check_proposal(rows: ProposalRows, events: Sequence[LoggedEvent]) -> Disagreement | None:
    """The proposal's rows against its events (subject = its id), in sequence order."""
    pid = rows.id
    status: tuple[str, int] | None = None
    version: tuple[int, int] | None = None
    hashes: dict[int, tuple[str, int]] = {}
    comments: dict[int, LoggedEvent] = {}
    ballots: dict[str, list[LoggedEvent]] = {}
    closed: LoggedEvent | None = None
    appeals: dict[int, tuple[LoggedEvent, str | None]] = {}
    attempts: dict[int, tuple[LoggedEvent, str | None]] = {}
    for e in events:
        p = e.payload
        if e.action == "create_proposal":
            status = (INITIAL_STATUS.value, e.seq)
        elif "to" in p and "from" in p:
            status = (str(p["to"]), e.seq)
            if "ballots" in p:
                closed = e
            elif p["to"] == Status.DISCUSSION.value:
                ballots, closed = {}, None  # a reopened proposal votes afresh (its ballots were cleared)
        if e.action in ("create_proposal", Action.REVISE.value) and "version" in p:
            version = (int(p["version"]), e.seq)
            hashes[int(p["version"])] = (str(p["content_hash"]), e.seq)
        elif e.action == "add_comment":
            comments[int(p["comment_id"])] = e
        elif e.action == "cast_vote":
            ballots.setdefault(e.actor, []).append(e)
        elif e.action == Action.FILE_APPEAL.value:
            appeals[int(p["appeal"])] = (e, None)
        elif e.action == Action.DECIDE_APPEAL.value and int(p["appeal"]) in appeals:
            appeals[int(p["appeal"])] = (appeals[int(p["appeal"])][0], str(p["decision"]))
        if e.action == Action.CLAIM_EXECUTION.value:
            attempts[int(p["attempt"])] = (e, None)
        elif e.action in (Action.REPORT_EXECUTION.value, Action.LEASE_EXPIRED.value) and int(p["attempt"]) in attempts:
            outcome = str(p["outcome"]) if e.action == Action.REPORT_EXECUTION.value else "expired"
            attempts[int(p["attempt"])] = (attempts[int(p["attempt"])][0], outcome)
    if status is None:
        return Disagreement(f"proposals: {pid}", "the log has no event that created it", None)
    if rows.status != status[0]:
        return Disagreement(
            f"proposals: {pid} status", f"is {rows.status}; the log's last transition made it {status[0]}", status[1]
        )
    if version is not None and rows.version != version[0]:
        return Disagreement(
            f"proposals: {pid} version", f"is {rows.version}; the log's last revision made it {version[0]}", version[1]
        )
    for number, content, stored in rows.versions:
        logged = hashes.get(number)
        if content_hash(content) != stored:
            return Disagreement(
                f"proposal_versions: {pid} v{number}",
                "its text does not hash to its content_hash (the text was replaced)",
                logged[1] if logged else None,
            )
        if logged is None or logged[0] != stored:
            return Disagreement(
                f"proposal_versions: {pid} v{number}",
                "its content_hash is not the one the log recorded for this version",
                logged[1] if logged else None,
            )
    kept_versions = {number for number, _, _ in rows.versions}
    for number, (_, seq) in sorted(hashes.items()):
        if number not in kept_versions:
            return Disagreement(f"proposal_versions: {pid} v{number}", "the log recorded it; its row was deleted", seq)
    kept_comments = {comment_id for comment_id, _, _ in rows.comments}
    for comment_id, added in sorted(comments.items()):
        if comment_id not in kept_comments:
            return Disagreement(
                f"comments: {comment_id} on {pid}", "the log recorded it; its row was deleted", added.seq
            )
    for comment_id, kind, text in rows.comments:
        event = comments.get(comment_id)
        row = f"comments: {comment_id} on {pid}"
        if event is None:
            return Disagreement(row, "the log has no add_comment event for it", None)
        if event.payload.get("type") != kind:
            return Disagreement(row, f"its type is {kind}; the log recorded {event.payload.get('type')}", event.seq)
        if "content_sha256" in event.payload and event.payload["content_sha256"] != _sha256(text):
            return Disagreement(row, "its text is not the text the log recorded (content_sha256)", event.seq)
    return _check_votes(pid, rows, ballots, closed) or _check_after_vote(pid, rows, appeals, attempts)


def _check_after_vote(
    pid: str,
    rows: ProposalRows,
    appeals: Mapping[int, tuple[LoggedEvent, str | None]],
    attempts: Mapping[int, tuple[LoggedEvent, str | None]],
) -> Disagreement | None:
    for appeal_id, appellant, grounds, decision in rows.appeals:
        row = f"appeals: {appeal_id} on {pid}"
        if appeal_id not in appeals:
            return Disagreement(row, "the log has no file_appeal event for it", None)
        filed, logged = appeals[appeal_id]
        if filed.actor != appellant or filed.payload.get("grounds") != grounds:
            return Disagreement(row, "its appellant or grounds are not those the log recorded", filed.seq)
        if decision != logged:
            return Disagreement(row, f"its decision is {decision}; the log recorded {logged}", filed.seq)
    for attempt, executor, outcome in rows.executions:
        row = f"executions: {pid} attempt {attempt}"
        if attempt not in attempts:
            return Disagreement(row, "the log has no claim_execution event for it", None)
        claimed, logged = attempts[attempt]
        if claimed.actor != executor:
            return Disagreement(
                row, f"its executor is {executor}; the log says {claimed.actor} claimed it", claimed.seq
            )
        if outcome != logged:
            return Disagreement(row, f"its outcome is {outcome}; the log recorded {logged}", claimed.seq)
    return None


def _check_votes(
    pid: str, rows: ProposalRows, logged: Mapping[str, Sequence[LoggedEvent]], closed: LoggedEvent | None
) -> Disagreement | None:
    cast: dict[str, list[tuple[str, str, str | None]]] = {}
    for agent, decision, justification, salt in rows.votes:
        cast.setdefault(agent, []).append((decision, justification, salt))
    for agent in sorted(set(cast) | set(logged)):
        mine, events = cast.get(agent, []), logged.get(agent, [])
        if len(mine) != len(events):
            return Disagreement(
                f"votes: {pid} ballots of {agent}",
                f"{len(mine)} in the table, {len(events)} cast_vote events in the log",
                events[-1].seq if events else None,
            )
        for n, ((decision, justification, salt), event) in enumerate(zip(mine, events, strict=True), start=1):
            if ballot_commitment(decision, justification, salt) != event.payload.get("ballot_sha256"):
                return Disagreement(
                    f"votes: {pid} ballot {n} of {agent}",
                    "is not the ballot its cast_vote event committed to (ballot_sha256)",
                    event.seq,
                )
    if closed is None:
        return None
    last = {agent: ballots[-1][0] for agent, ballots in cast.items()}
    counted = dict(closed.payload.get("ballots", {}))
    if last != counted:
        agent = sorted(a for a in set(last) | set(counted) if last.get(a) != counted.get(a))[0]
        return Disagreement(
            f"votes: {pid} ballot of {agent}",
            f"the table says {last.get(agent, 'no vote')}; the vote was counted with {counted.get(agent, 'no vote')}",
            closed.seq,
        )
    if rows.tally is not None and dict(rows.tally) != dict(closed.payload.get("tally", {})):
        return Disagreement(
            f"tallies: {pid}",
            f"holds {dict(rows.tally)}; the closing event counted {closed.payload.get('tally')}",
            closed.seq,
        )
    return None


def check_agent(row: AgentRow, events: Sequence[LoggedEvent]) -> Disagreement | None:
    """The agent's row against its events (subject = agent:ID)."""
    roles: list[str] | None = None
    weight: int | None = None
    active, last = True, None
    for e in events:
        if e.action == REGISTER:
            roles, weight = list(e.payload.get("roles", [])), int(e.payload.get("weight", 1))
        elif e.action == SET_ROLES:
            roles = list(e.payload.get("to", []))
        elif e.action in (DEACTIVATE, ACTIVATE):
            active = e.action == ACTIVATE
        else:
            continue
        last = e.seq
    where = f"agents: {row.id}"
    if roles is None or weight is None:
        return Disagreement(where, "the log has no register_agent event for it", None)
    if sorted(row.roles) != sorted(roles):
        return Disagreement(f"{where} roles", f"are {sorted(row.roles)}; the log gave it {sorted(roles)}", last)
    if row.weight != weight:
        return Disagreement(f"{where} weight", f"is {row.weight}; the log registered it with {weight}", last)
    if row.active != active:
        state = "active" if active else "deactivated"
        return Disagreement(f"{where} active", f"is {row.active}; the log left it {state}", last)
    return None
