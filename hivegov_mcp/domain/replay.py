"""The state tables checked against the audit log (DESIGN §16), pure: what the log says a
proposal or an agent is, compared with what its rows say. The first disagreement is named with
the row and the event it contradicts.

The log is trusted here: it is checked first (chain, Merkle leaves, checkpoints), and only a
log that passed is used to judge the tables.

Every column that can change an outcome or an identity is judged (issue 17): a vote's frozen
electorate and rules version (its opening event), the deadline (the move that set it), objection
resolutions and moderation, validations, each rules version's text (its logged hash), an agent's
display name and token (`token_sha256`), a webhook's target (`replay_registry.py` judges agents,
rules versions and webhooks). A field an older version did not log (`UNKNOWN`) is not judged, so a
database written before it still verifies. The engine uses the same replays before it decides
(service/engine.py).

Issue 19 adds every closed vote recounted from the log alone, by its method and with the
delegations then in force. This module walks a proposal's events and checks its own rows; the
parts live beside it: `replay_votes.py` (the vote: ballots, the stored count, the recount),
`replay_discussion.py` (comment marks, validations), `delegation_log.py` (delegations),
`replay_events.py` (the shared types, re-exported here for the engine's guards).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hivegov_mcp.domain.audit import content_hash
from hivegov_mcp.domain.delegation_log import DelegationHistory
from hivegov_mcp.domain.phases import INITIAL_STATUS, Action, Status
from hivegov_mcp.domain.recount import FrozenRules
from hivegov_mcp.domain.replay_discussion import CommentMarks as CommentMarks
from hivegov_mcp.domain.replay_discussion import check_all_marks
from hivegov_mcp.domain.replay_discussion import check_marks as check_marks
from hivegov_mcp.domain.replay_discussion import check_validations as check_validations
from hivegov_mcp.domain.replay_events import UNKNOWN as UNKNOWN
from hivegov_mcp.domain.replay_events import Disagreement as Disagreement
from hivegov_mcp.domain.replay_events import LoggedEvent as LoggedEvent
from hivegov_mcp.domain.replay_events import Unknown as Unknown
from hivegov_mcp.domain.replay_votes import CONSENT as CONSENT
from hivegov_mcp.domain.replay_votes import CountRows, VoteRow, check_votes, recount_vote
from hivegov_mcp.domain.replay_votes import FrozenVote as FrozenVote

# Actions that never move a proposal (nor change its deadline): the many comments and ballots.
NOT_MOVES = frozenset(
    {
        Action.ADD_COMMENT,
        Action.RESOLVE_COMMENT,
        Action.SUMMARIZE,
        Action.CAST_VOTE,
        Action.RECORD_VALIDATION,
        Action.PUBLISH_SUMMARY,
        Action.MODERATE,
        Action.FILE_APPEAL,
    }
)

VOTING_BLOCKED = "voting_blocked"
CLOSES_VOTE = (Action.CLOSE_VOTING.value, Action.VOTING_DEADLINE.value, Action.EARLY_CLOSE.value)
# Every event that sets or clears a proposal's deadline (all the moves, and a blocked vote).
SETS_DEADLINE = (*(a.value for a in Action if a not in NOT_MOVES), VOTING_BLOCKED)


@dataclass(frozen=True)
class ProposalRows:
    id: str
    status: str
    version: int
    versions: Sequence[tuple[int, Mapping[str, Any], str]]  # (number, content fields, stored content_hash)
    comments: Sequence[tuple[int, str, str]]  # (id, type, content), hidden ones too
    votes: Sequence[VoteRow]  # in the order cast
    count: CountRows | None  # the stored count of a closed vote
    appeals: Sequence[tuple[int, str, str, str | None]] = ()  # (id, appellant, grounds, decision)
    executions: Sequence[tuple[int, str, str | None]] = ()  # (attempt, executor, outcome)
    eligible: Mapping[str, int] | None = None  # the frozen electorate (agent -> weight); None: not read
    deadline: datetime | Unknown | None = UNKNOWN  # UNKNOWN: not read
    rules_version: int | Unknown | None = UNKNOWN  # the rules version frozen for its vote
    marks: Sequence[CommentMarks] = ()
    validations: Sequence[tuple[int, int, str, str]] = ()  # (id, version, validator, result)
    # rules version -> its method, quorum and threshold for the type: the closed vote is recounted under them
    counting: Mapping[int, FrozenRules] = field(default_factory=dict)
    type: str | None = None  # None: not read
    # the log's delegation events, replayed: what a vote closed at any event followed
    delegations: DelegationHistory = field(default_factory=lambda: DelegationHistory({}))


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
    vote = FrozenVote()
    deadline = _Deadline()
    resolved: dict[int, LoggedEvent] = {}
    hidden: dict[int, LoggedEvent] = {}
    validations: dict[int, LoggedEvent] = {}
    created_as: tuple[str, int] | None = None  # the type the log created it with
    for e in events:
        p = e.payload
        deadline.feed(e)
        vote.feed(e)
        if e.action == "create_proposal":
            status = (INITIAL_STATUS.value, e.seq)
            created_as = (str(p["type"]), e.seq) if "type" in p else None
        elif "to" in p and "from" in p:
            status = (str(p["to"]), e.seq)
            if "ballots" in p:
                closed = e
            elif p["to"] == Status.DISCUSSION.value:
                ballots, closed = {}, None  # a reopened proposal votes afresh (its ballots were cleared)
        if e.action == Action.RESOLVE_COMMENT.value and "comment_id" in p:
            resolved[int(p["comment_id"])] = e
        elif e.action == Action.MODERATE.value and "comment" in p:
            hidden[int(p["comment"])] = e
        elif e.action == Action.RECORD_VALIDATION.value and "validation" in p:
            validations[int(p["validation"])] = e
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
    if created_as is not None and rows.type is not None and rows.type != created_as[0]:
        return Disagreement(
            f"proposals: {pid} type", f"is {rows.type}; the log created it as {created_as[0]}", created_as[1]
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
    return (
        _check_frozen(pid, rows, vote, deadline)
        or check_all_marks(pid, rows.marks, resolved, hidden)
        or check_validations(pid, rows.validations, validations)
        or check_votes(pid, rows.votes, ballots, closed, stored=rows.count)
        or recount_vote(
            pid,
            vote,
            closed,
            counting=rows.counting,
            delegations=rows.delegations,
            proposal_type=created_as[0] if created_as is not None else rows.type,
            stored=rows.count,
            options=_options_of(rows),
        )
        or _check_after_vote(pid, rows, appeals, attempts)
    )


class _Deadline:
    """The deadline the log's moves left the proposal with (ISO text, None, or UNKNOWN)."""

    def __init__(self) -> None:
        self.value: str | Unknown | None = None
        self.seq: int | None = None

    def feed(self, e: LoggedEvent) -> None:
        new = deadline_after(e, self.value)
        if new is not self.value:
            self.value, self.seq = new, e.seq

    def at(self) -> datetime | Unknown | None:
        if isinstance(self.value, str):
            try:
                return datetime.fromisoformat(self.value)
            except ValueError:
                return UNKNOWN
        return self.value


def deadline_after(e: LoggedEvent, current: str | Unknown | None) -> str | Unknown | None:
    """The deadline after event `e`, given the one before it (`current`, returned when `e` leaves it)."""
    p = e.payload
    if e.action == VOTING_BLOCKED:
        return None
    if "to" not in p or "from" not in p:
        return current
    if e.action not in SETS_DEADLINE:  # a move the engine does not make (a bulk loader's): unknown
        return UNKNOWN
    if e.action in (Action.REVISE.value, Action.EXCEED_REVISION_ROUNDS.value, Action.ROLLBACK_EXECUTION.value):
        return current
    if p["to"] in (Status.DISCUSSION.value, Status.VOTING.value):
        given = p.get("deadline")
        return given if isinstance(given, str) else UNKNOWN
    if e.action in CLOSES_VOTE or p.get("method") == CONSENT:
        given = p.get("appeal_until")
        return given if isinstance(given, str) else None
    if e.action == Action.CLAIM_EXECUTION.value:
        given = p.get("lease_until")
        return given if isinstance(given, str) else UNKNOWN
    return None


def logged_deadline(events: Sequence[LoggedEvent]) -> tuple[datetime | Unknown | None, int | None]:
    """The deadline the log fixes for a proposal (from its deadline-setting events, in order), and
    the event that set it."""
    deadline = _Deadline()
    for e in events:
        deadline.feed(e)
    return deadline.at(), deadline.seq


def logged_electorate(events: Sequence[LoggedEvent]) -> tuple[dict[str, int] | Unknown | None, int | None]:
    """The electorate the log froze for the proposal's current vote (from its moves, in order)."""
    vote = FrozenVote()
    for e in events:
        vote.feed(e)
    return vote.eligible, vote.seq


def electorate_difference(table: Mapping[str, int], logged: Mapping[str, int]) -> str | None:
    """How the table's electorate differs from the logged one, in words; None when equal."""
    if dict(table) == dict(logged):
        return None
    agent = sorted(a for a in set(table) | set(logged) if table.get(a) != logged.get(a))[0]
    mine = f"weight {table[agent]}" if agent in table else "no place"
    theirs = f"weight {logged[agent]}" if agent in logged else "no place"
    return f"{agent} has {mine} in it; the vote opened with {theirs}"


def _check_frozen(pid: str, rows: ProposalRows, vote: FrozenVote, deadline: _Deadline) -> Disagreement | None:
    if rows.eligible is not None and not isinstance(vote.eligible, Unknown):
        differs = electorate_difference(rows.eligible, vote.eligible or {})
        if differs is not None:
            return Disagreement(f"eligible_voters: {pid}", differs, vote.seq)
    known = not isinstance(rows.rules_version, Unknown) and not isinstance(vote.rules_version, Unknown)
    if known and rows.rules_version != vote.rules_version:
        return Disagreement(
            f"proposals: {pid} rules_version",
            f"is {rows.rules_version}; the log froze {vote.rules_version} for its vote",
            vote.seq,
        )
    logged = deadline.at()
    if not isinstance(rows.deadline, Unknown) and not isinstance(logged, Unknown) and rows.deadline != logged:
        shown = "none" if logged is None else logged.isoformat()
        mine = "none" if rows.deadline is None else rows.deadline.isoformat()
        return Disagreement(f"proposals: {pid} deadline", f"is {mine}; the log set {shown}", deadline.seq)
    return None


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


def _options_of(rows: ProposalRows) -> list[str] | None:
    """The option labels of the version voted on (its current one; None: its row was not read)."""
    content = next((c for number, c, _ in rows.versions if number == rows.version), None)
    return None if content is None else list(content.get("options", []))
