"""The embedded SQLite store (DESIGN §8) over aiosqlite.

Two connections per process. Reads run on a `query_only` reader; in WAL mode a reader never
waits for a writer. Writes run on the writer with group commit: every write operation is
queued (`submit`), and the writer's thread runs the queued operations one after another
inside one `BEGIN IMMEDIATE … COMMIT`, each in a savepoint of its own, so one operation's
failure rolls back only that operation and one fsync (synchronous=FULL) covers the batch. An
operation is acknowledged only after its batch committed. Running the operation in the
writer's thread means its statements cost no round trip to the event loop; its transaction
methods are coroutines that never suspend there, driven to completion by `drive`.

A cancelled write is all or nothing: one still queued is dropped; one already taken into a
batch runs to the end and the cancelled caller waits, shielded, for the batch's COMMIT.
SQLite's own errors never leave the store: they become StoreBusy or StorageError, naming
the file.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import Context, copy_context
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import aiosqlite
import anyio

from hivegov_mcp.domain.audit import GENESIS, StoredEvent, canonical_json, event_bytes, event_hash, event_leaf
from hivegov_mcp.domain.errors import InvalidInput, LogTampered, ReadTooCostly, StorageError, StoreBusy
from hivegov_mcp.domain.merkle import Frontier, Node, completed, leaf_hash, node_hash
from hivegov_mcp.domain.models import (
    Agent,
    Appeal,
    AppealDecision,
    Ballot,
    Comment,
    CommentType,
    ExecutionAttempt,
    HiddenComment,
    ProposalContent,
    PublishedSummary,
    Receipt,
    Resolution,
    RoundInfo,
    Validation,
    ValidationResult,
    Webhook,
)
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.render import search_body
from hivegov_mcp.domain.tally import Decision, Outcome, RejectReason, Tally, fraction_text
from hivegov_mcp.store.base import (
    AgendaRow,
    NewComment,
    ProposalState,
    RawHit,
    StoredCheckpoint,
    StoredRules,
    StoredSummary,
    StoredVote,
    Version,
    VoterStanding,
)
from hivegov_mcp.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000
RANK_WINDOW = 500  # matches ranked per kind of row in a search (see SQLiteTransaction.search)
COMMON_ROWS = 2_000  # a search word in this many rows filters but does not rank
AND_TERMS = 3  # a search of more words matches rows with any of them (ranked), not all
MAX_INTEGER = 2**63 - 1  # SQLite's INTEGER range: a larger id names nothing
LOG_GUARDS = (  # the triggers that keep the log append-only (audit verify reports a missing one)
    "audit_events_no_update",
    "audit_events_no_delete",
    "audit_events_no_replace",
    "audit_tree_no_update",
    "audit_tree_no_delete",
    "audit_tree_no_replace",
    "audit_checkpoints_no_update",
    "audit_checkpoints_no_delete",
)
MAX_BATCH = 256  # write operations committed together at most
READ_BUDGET_S = 2.0  # a read operation's statements are interrupted past this (ReadTooCostly)
PROGRESS_STEPS = 10_000  # SQLite virtual-machine steps between two looks at the read's clock
LOCK_POLL_S = (0.0005, 0.002)  # how long a batch sleeps between tries for another process's write lock
StatementHook = Callable[[str], None]  # called before each statement (tests fail one on purpose)
T = TypeVar("T")


def fits(value: int) -> bool:
    return -MAX_INTEGER - 1 <= value <= MAX_INTEGER


def ts(value: datetime) -> str:
    """Stored time: UTC, ISO 8601 with microseconds, so text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (triggers included)."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements


_PROPOSAL_FIELDS = (
    "id",
    "number",
    "type",
    "status",
    "author",
    "version",
    "round",
    "revision_rounds",
    "deadline",
    "outcome",
    "outcome_reason",
    "voting_opened_at",
    "voting_closed_at",
    "created_at",
    "updated_at",
    "rules_version",
)
_PROPOSAL_COLUMNS = ", ".join(_PROPOSAL_FIELDS)
_TIMES = {"deadline", "voting_opened_at", "voting_closed_at", "created_at", "updated_at"}


def _proposal(row: sqlite3.Row) -> ProposalState:
    values: dict[str, Any] = {name: row[name] for name in _PROPOSAL_FIELDS}
    for name in _TIMES:
        values[name] = dt(values[name])
    values["status"] = Status(values["status"])
    return ProposalState(**values)


def _proposal_params(s: ProposalState) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(s, name) for name in _PROPOSAL_FIELDS}
    for name in _TIMES:
        values[name] = ts(values[name]) if values[name] is not None else None
    values["status"] = s.status.value
    return values


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(
        id=row["id"],
        display_name=row["display_name"],
        roles=json.loads(row["roles"]),
        weight=row["weight"],
        active=bool(row["active"]),
        created_at=_dt(row["created_at"]),
    )


_COMMENT_COLUMNS = (
    "id, proposal_id, round, author, type, content, parent_id, refs, created_at, resolved_by, "
    "resolution_note, resolved_at"
)


def _comment(row: sqlite3.Row) -> Comment:
    return Comment(
        id=row["id"],
        proposal_id=row["proposal_id"],
        round=row["round"],
        author=row["author"],
        type=CommentType(row["type"]),
        content=row["content"],
        parent_id=row["parent_id"],
        references=json.loads(row["refs"]),
        created_at=_dt(row["created_at"]),
        resolved=row["resolved_by"] is not None,
        resolved_by=row["resolved_by"],
        resolution_note=row["resolution_note"],
        resolved_at=dt(row["resolved_at"]),
    )


_VERSION_COLUMNS = (
    "proposal_id, version, title, abstract, motivation, specification, implementation, dependencies, "
    "change_note, content_hash, author, created_at"
)


def _version(row: sqlite3.Row) -> Version:
    return Version(
        proposal_id=row["proposal_id"],
        version=row["version"],
        content=ProposalContent(
            title=row["title"],
            abstract=row["abstract"],
            motivation=row["motivation"],
            specification=row["specification"],
            implementation=row["implementation"],
            dependencies=json.loads(row["dependencies"]),
        ),
        change_note=row["change_note"],
        content_hash=row["content_hash"],
        author=row["author"],
        created_at=_dt(row["created_at"]),
    )


def _appeal(row: sqlite3.Row) -> Appeal:
    return Appeal(
        id=row["id"],
        proposal_id=row["proposal_id"],
        appellant=row["appellant"],
        grounds=row["grounds"],
        filed_at=_dt(row["filed_at"]),
        decision=AppealDecision(row["decision"]) if row["decision"] else None,
        decided_by=row["decided_by"],
        reason=row["reason"],
        decided_at=dt(row["decided_at"]),
    )


def _rules(row: sqlite3.Row) -> StoredRules:
    return StoredRules(
        version=row["version"],
        toml=row["rules"],
        hash=row["hash"],
        created_at=_dt(row["created_at"]),
        actor=row["actor"],
    )


# Audit rows are read as bytes: a row whose bytes are not UTF-8 (tampered) must be reported
# by the verifier at its sequence number, not fail the read.
_AUDIT_FIELDS = ("at", "actor", "action", "subject", "payload", "prev_hash", "hash")


def _text(value: object) -> str:
    """Stored text; bytes that are not UTF-8 keep a lone surrogate each, which the verifier rejects."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


def _event(row: sqlite3.Row) -> StoredEvent:
    texts = {f: _text(row[f]) for f in _AUDIT_FIELDS}
    return StoredEvent(seq=row["seq"], **texts)


def fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SQLiteTransaction:
    """Every query of the store; only ever used inside SQLiteStore.read() or .write()."""

    def __init__(self, connection: Connection) -> None:
        self._store = connection

    def _path(self) -> str:
        return self._store.path

    async def _all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        rows = await self._store.run(lambda db: db.execute_fetchall(sql, params), sql)
        return list(rows)

    async def _one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; return the last inserted rowid."""
        row = await self._store.run(lambda db: db.execute_insert(sql, params), sql)
        return int(row[0]) if row else 0

    async def _many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        await self._store.run(lambda db: db.executemany(sql, params), sql)

    # The audit fields as stored bytes (a tampered row that is not UTF-8 is shown, not crashed on).
    _AUDIT_COLUMNS = ", ".join(f"CAST({f} AS BLOB) AS {f}" for f in _AUDIT_FIELDS)

    # rules ----------------------------------------------------------------------------------
    _RULES = "SELECT version, rules, hash, created_at, actor FROM rules_versions"

    async def current_rules(self) -> StoredRules | None:
        row = await self._one(f"{self._RULES} ORDER BY version DESC LIMIT 1")
        return _rules(row) if row else None

    async def rules_version(self, version: int) -> StoredRules | None:
        row = await self._one(f"{self._RULES} WHERE version = ?", (version,))
        return _rules(row) if row else None

    async def insert_rules(self, rules: StoredRules) -> None:
        await self._run(
            "INSERT INTO rules_versions (version, rules, hash, created_at, actor) VALUES (?, ?, ?, ?, ?)",
            (rules.version, rules.toml, rules.hash, ts(rules.created_at), rules.actor),
        )

    # agents ---------------------------------------------------------------------------------
    async def insert_agent(self, agent: Agent, token_hash: str) -> None:
        await self._run(
            "INSERT INTO agents (id, display_name, roles, weight, active, token_hash, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                agent.id,
                agent.display_name,
                json.dumps(agent.roles),
                agent.weight,
                int(agent.active),
                token_hash,
                ts(agent.created_at),
            ),
        )

    _AGENT = "SELECT id, display_name, roles, weight, active, created_at FROM agents"

    async def get_agent(self, agent_id: str) -> Agent | None:
        row = await self._one(f"{self._AGENT} WHERE id = ?", (agent_id,))
        return _agent(row) if row else None

    async def agent_by_token_hash(self, token_hash: str) -> Agent | None:
        row = await self._one(f"{self._AGENT} WHERE token_hash = ?", (token_hash,))
        return _agent(row) if row else None

    async def list_agents(self, role: str | None = None) -> list[Agent]:
        if role is None:
            return [_agent(r) for r in await self._all(f"{self._AGENT} ORDER BY id")]
        rows = await self._all(
            f"{self._AGENT} WHERE EXISTS (SELECT 1 FROM json_each(agents.roles) WHERE value = ?) ORDER BY id",
            (role,),
        )
        return [_agent(r) for r in rows]

    async def count_active_agents(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM agents WHERE active = 1")
        return int(row["n"]) if row else 0

    async def update_agent(
        self,
        agent_id: str,
        *,
        roles: Sequence[str] | None = None,
        active: bool | None = None,
        token_hash: str | None = None,
    ) -> None:
        if roles is not None:
            await self._run("UPDATE agents SET roles = ? WHERE id = ?", (json.dumps(list(roles)), agent_id))
        if active is not None:
            await self._run("UPDATE agents SET active = ? WHERE id = ?", (int(active), agent_id))
        if token_hash is not None:
            await self._run("UPDATE agents SET token_hash = ? WHERE id = ?", (token_hash, agent_id))

    async def count_writes_since(self, actor: str, since: datetime) -> tuple[int, datetime | None]:
        row = await self._one(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM audit_events WHERE actor = ? AND at > ?",
            (actor, ts(since)),
        )
        assert row is not None
        return int(row["n"]), dt(row["oldest"])

    # proposals ------------------------------------------------------------------------------
    async def next_proposal_number(self) -> int:
        row = await self._one("SELECT COALESCE(MAX(number), 0) + 1 AS n FROM proposals")
        assert row is not None
        return int(row["n"])

    async def insert_proposal(self, state: ProposalState) -> None:
        names = ", ".join(f":{n}" for n in _PROPOSAL_FIELDS)
        await self._run(f"INSERT INTO proposals ({_PROPOSAL_COLUMNS}) VALUES ({names})", _proposal_params(state))

    async def get_proposal(self, proposal_id: str) -> ProposalState | None:
        row = await self._one(f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE id = ?", (proposal_id,))
        return _proposal(row) if row else None

    async def proposals_after(self, number: int, limit: int) -> list[ProposalState]:
        """Every proposal in number order, a page at a time (for the state check)."""
        rows = await self._all(
            f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE number > ? ORDER BY number LIMIT ?", (number, limit)
        )
        return [_proposal(r) for r in rows]

    async def save_proposal(self, state: ProposalState) -> None:
        sets = ", ".join(f"{n} = :{n}" for n in _PROPOSAL_FIELDS[1:])
        await self._run(f"UPDATE proposals SET {sets} WHERE id = :id", _proposal_params(state))

    async def list_proposals(
        self,
        *,
        status: str | None,
        type: str | None,
        author: str | None,
        before_number: int | None,
        limit: int,
    ) -> list[tuple[ProposalState, str]]:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("status", status), ("type", type), ("author", author)):
            if value is not None:
                where.append(f"p.{column} = ?")
                params.append(value)
        if before_number is not None:
            where.append("p.number < ?")
            params.append(before_number)
        cols = ", ".join(f"p.{c}" for c in _PROPOSAL_FIELDS)
        sql = (
            f"SELECT {cols}, v.title AS title FROM proposals p "
            "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY p.number DESC LIMIT ?"
        )
        rows = await self._all(sql, (*params, limit))
        return [(_proposal(r), r["title"]) for r in rows]

    async def due_proposals(self, now: datetime, statuses: Sequence[Status]) -> list[str]:
        # `+status` keeps the planner on the partial deadline index (few rows have a deadline).
        marks = ", ".join("?" * len(statuses))
        rows = await self._all(
            f"SELECT id FROM proposals WHERE deadline IS NOT NULL AND deadline <= ? AND +status IN ({marks}) "
            "ORDER BY deadline",
            (ts(now), *(s.value for s in statuses)),
        )
        return [r["id"] for r in rows]

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._all("SELECT status, COUNT(*) AS n FROM proposals GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    async def next_deadlines(self, limit: int) -> list[ProposalState]:
        rows = await self._all(
            f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE deadline IS NOT NULL ORDER BY deadline LIMIT ?",
            (limit,),
        )
        return [_proposal(r) for r in rows]

    # versions -------------------------------------------------------------------------------
    async def insert_version(self, version: Version) -> None:
        """Store a version and make it the proposal's searchable text."""
        c = version.content
        await self._run(
            f"INSERT INTO proposal_versions ({_VERSION_COLUMNS}) VALUES ({', '.join('?' * 12)})",
            (
                version.proposal_id,
                version.version,
                c.title,
                c.abstract,
                c.motivation,
                c.specification,
                c.implementation,
                json.dumps(c.dependencies),
                version.change_note,
                version.content_hash,
                version.author,
                ts(version.created_at),
            ),
        )
        row = await self._one("SELECT number FROM proposals WHERE id = ?", (version.proposal_id,))
        assert row is not None, "insert the proposal before its versions"
        rowid = -int(row["number"])
        await self._run("DELETE FROM search_index WHERE rowid = ?", (rowid,))
        await self._run(
            "INSERT INTO search_index (rowid, proposal_id, kind, comment_id, title, body) "
            "VALUES (?, ?, 'proposal', NULL, ?, ?)",
            (rowid, version.proposal_id, c.title, search_body(c)),
        )

    async def get_version(self, proposal_id: str, version: int) -> Version | None:
        if not fits(version):
            return None
        row = await self._one(
            f"SELECT {_VERSION_COLUMNS} FROM proposal_versions WHERE proposal_id = ? AND version = ?",
            (proposal_id, version),
        )
        return _version(row) if row else None

    async def list_versions(self, proposal_id: str) -> list[Version]:
        rows = await self._all(
            f"SELECT {_VERSION_COLUMNS} FROM proposal_versions WHERE proposal_id = ? ORDER BY version",
            (proposal_id,),
        )
        return [_version(r) for r in rows]

    # rounds ---------------------------------------------------------------------------------
    async def insert_round(self, proposal_id: str, round_: int, started_at: datetime, deadline: datetime) -> None:
        await self._run(
            "INSERT INTO rounds (proposal_id, round, started_at, deadline) VALUES (?, ?, ?, ?)",
            (proposal_id, round_, ts(started_at), ts(deadline)),
        )

    async def conclude_round(self, proposal_id: str, round_: int, at: datetime, outcome: str) -> None:
        await self._run(
            "UPDATE rounds SET concluded_at = ?, outcome = ? WHERE proposal_id = ? AND round = ?",
            (ts(at), outcome, proposal_id, round_),
        )

    async def store_summary(self, proposal_id: str, round_: int, summary: StoredSummary) -> None:
        await self._run(
            "UPDATE rounds SET summary = ?, summary_seq = ? WHERE proposal_id = ? AND round = ?",
            (summary.text, summary.seq, proposal_id, round_),
        )

    async def get_summary(self, proposal_id: str, round_: int) -> StoredSummary | None:
        row = await self._one(
            "SELECT r.summary AS text, r.summary_seq AS seq, a.hash AS hash FROM rounds r "
            "JOIN audit_events a ON a.seq = r.summary_seq WHERE r.proposal_id = ? AND r.round = ?",
            (proposal_id, round_),
        )
        return StoredSummary(text=row["text"], seq=row["seq"], hash=row["hash"]) if row else None

    async def list_rounds(self, proposal_id: str) -> list[RoundInfo]:
        rows = await self._all(
            "SELECT round, started_at, deadline, concluded_at, outcome FROM rounds "
            "WHERE proposal_id = ? ORDER BY round",
            (proposal_id,),
        )
        return [
            RoundInfo(
                round=r["round"],
                started_at=_dt(r["started_at"]),
                deadline=_dt(r["deadline"]),
                concluded_at=dt(r["concluded_at"]),
                outcome=r["outcome"],
            )
            for r in rows
        ]

    # comments -------------------------------------------------------------------------------
    async def insert_comment(self, comment: NewComment) -> int:
        """Store a comment and index it for search (rowid = comment id)."""
        comment_id = await self._run(
            "INSERT INTO comments (proposal_id, round, author, type, content, parent_id, refs, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                comment.proposal_id,
                comment.round,
                comment.author,
                comment.type,
                comment.content,
                comment.parent_id,
                json.dumps(list(comment.references)),
                ts(comment.created_at),
            ),
        )
        await self._run(
            "INSERT INTO search_index (rowid, proposal_id, kind, comment_id, title, body) "
            "VALUES (?, ?, 'comment', ?, '', ?)",
            (comment_id, comment.proposal_id, comment_id, comment.content),
        )
        return comment_id

    async def get_comment(self, comment_id: int) -> Comment | None:
        if not fits(comment_id):
            return None
        row = await self._one(f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ?", (comment_id,))
        return _comment(row) if row else None

    async def list_comments(self, proposal_id: str, *, after_id: int = 0, limit: int | None = None) -> list[Comment]:
        if not fits(after_id):
            return []
        sql = f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE proposal_id = ? AND id > ? AND hidden_at IS NULL"
        sql += " ORDER BY id"
        params: list[Any] = [proposal_id, after_id]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = await self._all(sql, params)
        return [_comment(r) for r in rows]

    async def comment_rows(self, proposal_id: str) -> list[tuple[int, str, str]]:
        """(id, type, content) of every comment of the proposal, hidden ones too."""
        rows = await self._all(
            "SELECT id, type, content FROM comments WHERE proposal_id = ? ORDER BY id", (proposal_id,)
        )
        return [(int(r["id"]), r["type"], _text(r["content"])) for r in rows]

    async def count_proposal_comments(self, proposal_id: str) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM comments WHERE proposal_id = ? AND hidden_at IS NULL", (proposal_id,)
        )
        return int(row["n"]) if row else 0

    async def unresolved_objections(self, proposal_id: str) -> list[int]:
        rows = await self._all(
            "SELECT id FROM comments WHERE proposal_id = ? AND type = 'objection' AND resolved_by IS NULL "
            "AND hidden_at IS NULL ORDER BY id",
            (proposal_id,),
        )
        return [r["id"] for r in rows]

    async def count_comments(self, proposal_id: str, round_: int, author: str) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM comments WHERE proposal_id = ? AND round = ? AND author = ?",
            (proposal_id, round_, author),
        )
        return int(row["n"]) if row else 0

    async def resolve_comment(self, comment_id: int, by: str, note: str, at: datetime) -> None:
        await self._run(
            "UPDATE comments SET resolved_by = ?, resolution_note = ?, resolved_at = ? WHERE id = ?",
            (by, note, ts(at), comment_id),
        )

    # voting ---------------------------------------------------------------------------------
    async def freeze_eligible(self, proposal_id: str, eligible: Mapping[str, int]) -> None:
        await self._many(
            "INSERT INTO eligible_voters (proposal_id, agent_id, weight) VALUES (?, ?, ?)",
            [(proposal_id, agent, weight) for agent, weight in sorted(eligible.items())],
        )

    async def eligible(self, proposal_id: str) -> dict[str, int]:
        rows = await self._all(
            "SELECT agent_id, weight FROM eligible_voters WHERE proposal_id = ? ORDER BY agent_id",
            (proposal_id,),
        )
        return {r["agent_id"]: r["weight"] for r in rows}

    async def insert_vote(
        self, proposal_id: str, agent_id: str, decision: str, justification: str, at: datetime, salt: str
    ) -> None:
        await self._run(
            "INSERT INTO votes (proposal_id, agent_id, decision, justification, cast_at, salt) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (proposal_id, agent_id, decision, justification, ts(at), salt),
        )

    async def vote_rows(self, proposal_id: str) -> list[StoredVote]:
        rows = await self._all(
            "SELECT agent_id, decision, justification, salt FROM votes WHERE proposal_id = ? ORDER BY id",
            (proposal_id,),
        )
        return [StoredVote(r["agent_id"], r["decision"], r["justification"], r["salt"]) for r in rows]

    async def last_ballots(self, proposal_id: str) -> list[Ballot]:
        rows = await self._all(
            "SELECT v.agent_id, v.decision, v.justification, e.weight, v.cast_at FROM votes v "
            "JOIN eligible_voters e ON e.proposal_id = v.proposal_id AND e.agent_id = v.agent_id "
            "WHERE v.proposal_id = ? AND v.id = (SELECT MAX(id) FROM votes w "
            "WHERE w.proposal_id = v.proposal_id AND w.agent_id = v.agent_id) ORDER BY v.agent_id",
            (proposal_id,),
        )
        return [
            Ballot(
                agent_id=r["agent_id"],
                decision=Decision(r["decision"]),
                justification=r["justification"],
                weight=r["weight"],
                cast_at=_dt(r["cast_at"]),
            )
            for r in rows
        ]

    async def voter_standing(self, proposal_id: str, agent_id: str, *, count: bool) -> VoterStanding:
        """By index lookups only: the cost of a vote doesn't grow with the ballots already cast.
        The counts (one lookup per eligible voter) only when `count`; else 0."""
        counts = (
            "(SELECT COUNT(*) FROM eligible_voters WHERE proposal_id = :p) AS eligible_count, "
            "(SELECT COUNT(*) FROM eligible_voters e WHERE e.proposal_id = :p AND EXISTS "
            "(SELECT 1 FROM votes v WHERE v.proposal_id = :p AND v.agent_id = e.agent_id)) AS voted_count"
            if count
            else "0 AS eligible_count, 0 AS voted_count"
        )
        row = await self._one(
            "SELECT EXISTS (SELECT 1 FROM eligible_voters WHERE proposal_id = :p AND agent_id = :a) AS eligible, "
            f"EXISTS (SELECT 1 FROM votes WHERE proposal_id = :p AND agent_id = :a) AS voted, {counts}",
            {"p": proposal_id, "a": agent_id},
        )
        assert row is not None
        return VoterStanding(
            eligible=bool(row["eligible"]),
            voted_before=bool(row["voted"]),
            eligible_count=row["eligible_count"],
            voted_count=row["voted_count"],
        )

    async def clear_vote(self, proposal_id: str) -> None:
        for table in ("votes", "vote_tallies", "eligible_voters"):
            await self._run(f"DELETE FROM {table} WHERE proposal_id = ?", (proposal_id,))

    # after the vote ---------------------------------------------------------------------------
    _APPEAL = (
        "SELECT id, proposal_id, appellant, grounds, filed_at, decision, decided_by, reason, decided_at FROM appeals"
    )

    async def insert_appeal(
        self, proposal_id: str, resolved_at: datetime, appellant: str, grounds: str, at: datetime
    ) -> int:
        return await self._run(
            "INSERT INTO appeals (proposal_id, resolved_at, appellant, grounds, filed_at) VALUES (?, ?, ?, ?, ?)",
            (proposal_id, ts(resolved_at), appellant, grounds, ts(at)),
        )

    async def appeals(self, proposal_id: str) -> list[Appeal]:
        return [
            _appeal(r) for r in await self._all(f"{self._APPEAL} WHERE proposal_id = ? ORDER BY id", (proposal_id,))
        ]

    async def get_appeal(self, appeal_id: int) -> Appeal | None:
        if not fits(appeal_id):
            return None
        row = await self._one(f"{self._APPEAL} WHERE id = ?", (appeal_id,))
        return _appeal(row) if row else None

    async def appeal_for(self, proposal_id: str, resolved_at: datetime) -> Appeal | None:
        row = await self._one(
            f"{self._APPEAL} WHERE proposal_id = ? AND resolved_at = ?", (proposal_id, ts(resolved_at))
        )
        return _appeal(row) if row else None

    async def decide_appeal(self, appeal_id: int, decision: str, by: str, reason: str, at: datetime) -> None:
        await self._run(
            "UPDATE appeals SET decision = ?, decided_by = ?, reason = ?, decided_at = ? WHERE id = ?",
            (decision, by, reason, ts(at), appeal_id),
        )

    async def insert_execution(
        self, proposal_id: str, attempt: int, executor: str, at: datetime, lease_until: datetime
    ) -> None:
        await self._run(
            "INSERT INTO executions (proposal_id, attempt, executor, claimed_at, lease_until) VALUES (?, ?, ?, ?, ?)",
            (proposal_id, attempt, executor, ts(at), ts(lease_until)),
        )

    async def executions(self, proposal_id: str) -> list[ExecutionAttempt]:
        rows = await self._all(
            "SELECT attempt, executor, claimed_at, lease_until, outcome, details, artifacts, reported_at "
            "FROM executions WHERE proposal_id = ? ORDER BY attempt",
            (proposal_id,),
        )
        return [
            ExecutionAttempt(
                attempt=r["attempt"],
                executor=r["executor"],
                claimed_at=_dt(r["claimed_at"]),
                lease_until=_dt(r["lease_until"]),
                outcome=r["outcome"],
                details=r["details"],
                artifacts=json.loads(r["artifacts"]),
                reported_at=dt(r["reported_at"]),
            )
            for r in rows
        ]

    async def insert_validation(
        self, proposal_id: str, version: int, validator: str, result: str, findings: str, at: datetime
    ) -> int:
        return await self._run(
            "INSERT INTO validations (proposal_id, version, validator, result, findings, at) VALUES (?, ?, ?, ?, ?, ?)",
            (proposal_id, version, validator, result, findings, ts(at)),
        )

    async def validations(self, proposal_id: str) -> list[Validation]:
        rows = await self._all(
            "SELECT id, version, validator, result, findings, at FROM validations WHERE proposal_id = ? ORDER BY id",
            (proposal_id,),
        )
        return [
            Validation(
                id=r["id"],
                version=r["version"],
                validator=r["validator"],
                result=ValidationResult(r["result"]),
                findings=r["findings"],
                at=_dt(r["at"]),
            )
            for r in rows
        ]

    async def insert_published_summary(self, proposal_id: str, summary: PublishedSummary) -> None:
        await self._run(
            "INSERT INTO round_summaries (proposal_id, round, author, text, recommendation, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (proposal_id, summary.round, summary.author, summary.text, summary.recommendation.value, ts(summary.at)),
        )

    async def published_summaries(self, proposal_id: str) -> list[PublishedSummary]:
        rows = await self._all(
            "SELECT round, author, text, recommendation, at FROM round_summaries WHERE proposal_id = ? ORDER BY id",
            (proposal_id,),
        )
        return [
            PublishedSummary(
                round=r["round"],
                author=r["author"],
                text=r["text"],
                recommendation=Resolution(r["recommendation"]),
                at=_dt(r["at"]),
            )
            for r in rows
        ]

    async def set_hidden(self, comment_id: int, by: str | None, reason: str | None, at: datetime | None) -> None:
        await self._run(
            "UPDATE comments SET hidden_by = ?, hidden_reason = ?, hidden_at = ? WHERE id = ?",
            (by, reason, ts(at) if at else None, comment_id),
        )
        if by is not None:
            await self._run("DELETE FROM search_index WHERE rowid = ?", (comment_id,))
        else:
            row = await self._one("SELECT proposal_id, content FROM comments WHERE id = ?", (comment_id,))
            assert row is not None
            await self._run(
                "INSERT INTO search_index (rowid, proposal_id, kind, comment_id, title, body) "
                "VALUES (?, ?, 'comment', ?, '', ?)",
                (comment_id, row["proposal_id"], comment_id, row["content"]),
            )

    async def is_hidden(self, comment_id: int) -> bool:
        row = await self._one("SELECT hidden_at FROM comments WHERE id = ?", (comment_id,))
        return row is not None and row["hidden_at"] is not None

    async def hidden_comments(self, proposal_id: str, author: str) -> list[HiddenComment]:
        rows = await self._all(
            "SELECT id, hidden_by, hidden_reason, hidden_at FROM comments "
            "WHERE proposal_id = ? AND author = ? AND hidden_at IS NOT NULL ORDER BY id",
            (proposal_id, author),
        )
        return [
            HiddenComment(
                comment_id=r["id"], hidden_by=r["hidden_by"], reason=r["hidden_reason"], hidden_at=_dt(r["hidden_at"])
            )
            for r in rows
        ]

    async def agenda(self, agent_id: str, now: datetime, soon: datetime) -> list[AgendaRow]:
        head = "p.id AS pid, v.title AS title, p.status AS status, p.deadline AS deadline"
        latest = "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version"
        queries = {
            "vote": (
                f"SELECT {head}, NULL AS ref FROM eligible_voters e JOIN proposals p ON p.id = e.proposal_id {latest} "
                "WHERE e.agent_id = :a AND p.status = 'voting' AND NOT EXISTS "
                "(SELECT 1 FROM votes x WHERE x.proposal_id = p.id AND x.agent_id = :a)"
            ),
            "objection": (
                f"SELECT {head}, c.id AS ref FROM comments c JOIN proposals p ON p.id = c.proposal_id {latest} "
                "WHERE c.author = :a AND c.type = 'objection' AND c.resolved_by IS NULL AND c.hidden_at IS NULL "
                "AND v.version > 1 AND v.created_at >= c.created_at"
            ),
            "revise": (
                f"SELECT {head}, NULL AS ref FROM proposals p {latest} WHERE p.author = :a AND p.status = 'revision'"
            ),
            "discussion": (
                f"SELECT {head}, NULL AS ref FROM proposals p {latest} "
                "WHERE p.deadline IS NOT NULL AND p.deadline <= :soon AND +p.status = 'discussion'"
            ),
            "claim": (
                f"SELECT {head}, NULL AS ref FROM proposals p {latest} "
                "WHERE p.status IN ('approved', 'execution_failed') AND p.deadline IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM appeals x WHERE x.proposal_id = p.id AND x.decision IS NULL)"
            ),
            "appeal": (
                f"SELECT {head}, x.id AS ref FROM appeals x JOIN proposals p ON p.id = x.proposal_id {latest} "
                "WHERE x.decision IS NULL"
            ),
        }
        rows: list[AgendaRow] = []
        for kind, sql in queries.items():
            for r in await self._all(sql + " ORDER BY p.number LIMIT 200", {"a": agent_id, "soon": ts(soon)}):
                rows.append(AgendaRow(kind, r["pid"], r["title"], Status(r["status"]), dt(r["deadline"]), r["ref"]))
        return rows

    async def insert_webhook(self, url: str, secret: str, at: datetime, by: str, from_seq: int) -> int:
        return await self._run(
            "INSERT INTO webhooks (url, secret, created_at, created_by, from_seq) VALUES (?, ?, ?, ?, ?)",
            (url, secret, ts(at), by, from_seq),
        )

    async def webhooks(self) -> list[tuple[Webhook, str]]:
        rows = await self._all(
            "SELECT w.id, w.url, w.secret, w.created_at, w.created_by, w.from_seq, "
            "(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.delivered = 1) AS delivered, "
            "(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.delivered = 0 "
            "AND (d.status_code IS NOT NULL OR d.error != 'pending')) AS failed "
            "FROM webhooks w WHERE w.removed_at IS NULL ORDER BY w.id"
        )
        return [
            (
                Webhook(
                    id=r["id"],
                    url=r["url"],
                    created_at=_dt(r["created_at"]),
                    created_by=r["created_by"],
                    from_seq=r["from_seq"],
                    delivered=r["delivered"],
                    failed_attempts=r["failed"],
                ),
                r["secret"],
            )
            for r in rows
        ]

    async def remove_webhook(self, webhook_id: int, at: datetime) -> bool:
        if not fits(webhook_id):
            return False
        row = await self._one("SELECT id FROM webhooks WHERE id = ? AND removed_at IS NULL", (webhook_id,))
        if row is None:
            return False
        await self._run("UPDATE webhooks SET removed_at = ? WHERE id = ?", (ts(at), webhook_id))
        return True

    async def record_delivery(
        self, webhook_id: int, seq: int, attempt: int, at: datetime, status_code: int | None, error: str | None
    ) -> bool:
        delivered = int(status_code is not None and 200 <= status_code < 300)
        try:
            await self._run(
                "INSERT INTO webhook_deliveries (webhook_id, seq, attempt, at, status_code, error, delivered) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (webhook_id, seq, attempt, ts(at), status_code, error, delivered),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    async def finish_delivery(
        self, webhook_id: int, seq: int, attempt: int, status_code: int | None, error: str | None
    ) -> None:
        delivered = int(status_code is not None and 200 <= status_code < 300)
        await self._run(
            "UPDATE webhook_deliveries SET status_code = ?, error = ?, delivered = ? "
            "WHERE webhook_id = ? AND seq = ? AND attempt = ?",
            (status_code, error, delivered, webhook_id, seq, attempt),
        )

    async def end_execution(
        self, proposal_id: str, attempt: int, outcome: str, details: str | None, artifacts: Sequence[str], at: datetime
    ) -> None:
        await self._run(
            "UPDATE executions SET outcome = ?, details = ?, artifacts = ?, reported_at = ? "
            "WHERE proposal_id = ? AND attempt = ?",
            (outcome, details, json.dumps(list(artifacts)), ts(at), proposal_id, attempt),
        )

    async def store_tally(self, proposal_id: str, tally: Tally, rules_version: int) -> None:
        await self._run(
            "INSERT INTO vote_tallies (proposal_id, approve, reject, abstain, eligible_weight, voted_weight, "
            "quorum_met, consensus, outcome, reason, rules_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                proposal_id,
                tally.approve,
                tally.reject,
                tally.abstain,
                tally.eligible_weight,
                tally.voted_weight,
                int(tally.quorum_met),
                fraction_text(tally.consensus),
                tally.outcome.value,
                tally.reason.value if tally.reason else None,
                rules_version,
            ),
        )

    async def get_tally(self, proposal_id: str) -> Tally | None:
        row = await self._one("SELECT * FROM vote_tallies WHERE proposal_id = ?", (proposal_id,))
        if row is None:
            return None
        return Tally(
            approve=row["approve"],
            reject=row["reject"],
            abstain=row["abstain"],
            eligible_weight=row["eligible_weight"],
            voted_weight=row["voted_weight"],
            quorum_met=bool(row["quorum_met"]),
            consensus=Fraction(row["consensus"]),
            outcome=Outcome(row["outcome"]),
            reason=RejectReason(row["reason"]) if row["reason"] else None,
        )

    # audit ----------------------------------------------------------------------------------
    async def append_audit(
        self, *, at: datetime, actor: str, action: str, subject: str, payload: Mapping[str, object]
    ) -> Receipt:
        seq, prev = await self.audit_head()
        seq += 1
        prev_hash = prev or GENESIS
        body = canonical_json(dict(payload))
        when = ts(at)
        digest = event_hash(prev_hash, seq=seq, at=when, actor=actor, action=action, subject=subject, payload=body)
        await self._run(
            "INSERT INTO audit_events (seq, at, actor, action, subject, payload, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, when, actor, action, subject, body, prev_hash, digest),
        )
        leaf = leaf_hash(event_bytes(seq=seq, at=when, actor=actor, action=action, subject=subject, payload=body))
        await self._grow_tree(seq - 1, leaf)
        return Receipt(seq=seq, hash=digest)

    async def _grow_tree(self, index: int, leaf: bytes) -> None:
        """Add leaf `index` and the subtrees it completes, in the append's transaction: O(log n)."""
        if index > 0 and await self._node((0, index - 1)) is None:
            raise LogTampered(self._path(), f"audit event {index} has no leaf in its Merkle tree")
        rows = [(0, index, leaf)]
        digest = leaf
        for sibling, (level, idx) in completed(index):
            left = await self._node(sibling)
            if left is None:
                raise LogTampered(self._path(), f"the Merkle tree lacks its node {sibling}")
            digest = node_hash(left, digest)
            rows.append((level, idx, digest))
        await self._many("INSERT INTO audit_tree (level, idx, hash) VALUES (?, ?, ?)", rows)

    async def plant_tree(self) -> None:
        """Grow the tree over an older database's whole log, once, when the tree's migration is
        applied. (Never afterwards: an event written outside the server must stay outside it.)"""
        frontier, after = Frontier(), 0
        while page := await self.audit_events(subject=None, after_seq=after, limit=5_000):
            rows = []
            for e in page:
                rows += [(level, idx, digest) for (level, idx), digest in frontier.append(event_leaf(e))]
            await self._many("INSERT INTO audit_tree (level, idx, hash) VALUES (?, ?, ?)", rows)
            after = page[-1].seq

    async def _node(self, node: Node) -> bytes | None:
        row = await self._one("SELECT hash FROM audit_tree WHERE level = ? AND idx = ?", node)
        return bytes(row["hash"]) if row else None

    async def tree_nodes(self, nodes: Sequence[Node]) -> list[bytes | None]:
        """The stored hashes of these subtrees (None where one is missing), in order: one
        statement of primary-key lookups, whatever the number of nodes (a proof needs ~2 log n)."""
        if not nodes:
            return []
        wanted = " OR ".join(["(level = ? AND idx = ?)"] * len(nodes))
        rows = await self._all(f"SELECT level, idx, hash FROM audit_tree WHERE {wanted}", [v for n in nodes for v in n])
        found = {(int(r["level"]), int(r["idx"])): bytes(r["hash"]) for r in rows}
        return [found.get(n) for n in nodes]

    async def tree_size(self) -> int:
        """How many leaves the Merkle tree holds."""
        row = await self._one("SELECT MAX(idx) AS last FROM audit_tree WHERE level = 0")
        return 0 if row is None or row["last"] is None else int(row["last"]) + 1

    async def tree_leaves(self, first: int, limit: int) -> dict[int, bytes]:
        rows = await self._all(
            "SELECT idx, hash FROM audit_tree WHERE level = 0 AND idx >= ? AND idx < ?", (first, first + limit)
        )
        return {int(r["idx"]): bytes(r["hash"]) for r in rows}

    async def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The checkpoint signed for `size`, or the latest one."""
        sql = "SELECT size, root, note, signed_at FROM audit_checkpoints"
        rows = await self._all(sql + " ORDER BY size DESC LIMIT 1" if size is None else sql + " WHERE size = ?",
                               () if size is None else (size,))  # fmt: skip
        if not rows:
            return None
        r = rows[0]
        return StoredCheckpoint(int(r["size"]), bytes(r["root"]), r["note"], _dt(r["signed_at"]))

    async def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        await self._run(
            "INSERT INTO audit_checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)",
            (checkpoint.size, checkpoint.root, checkpoint.note, ts(checkpoint.signed_at)),
        )

    async def missing_guards(self) -> list[str]:
        """The append-only guards of the log that are gone (dropped triggers)."""
        rows = await self._all("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {r["name"] for r in rows}
        return [g for g in LOG_GUARDS if g not in present]

    async def _rows_with(self, quoted_term: str) -> int:
        """How many rows hold the word, counted up to COMMON_ROWS (a bounded walk)."""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM search_index WHERE search_index MATCH ? LIMIT ?)",
            (quoted_term, COMMON_ROWS),
        )
        return int(row["n"]) if row else 0

    async def audit_events(self, *, subject: str | None, after_seq: int, limit: int | None) -> list[StoredEvent]:
        if not fits(after_seq):
            return []
        sql = f"SELECT seq, {self._AUDIT_COLUMNS} FROM audit_events WHERE seq > ?"
        params: list[Any] = [after_seq]
        if subject is not None:
            sql += " AND subject = ?"
            params.append(subject)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_event(r) for r in await self._all(sql, params)]

    # The events that make a row, and the row's key in their subject.
    _MAKERS: ClassVar[dict[str, tuple[str, str]]] = {
        "create_proposal": ("proposals", "e.subject"),
        "register_agent": ("agents", "substr(e.subject, 7)"),  # agent:ID
    }

    async def first_subject_without_row(self, action: str) -> tuple[int, str] | None:
        """The first event of `action` whose row is gone (its seq and the row's key): one anti-join."""
        table, key = self._MAKERS[action]
        row = await self._one(
            f"SELECT e.seq AS seq, {key} AS id FROM audit_events e WHERE e.action = ? "
            f"AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = {key}) ORDER BY e.seq LIMIT 1",
            (action,),
        )
        return None if row is None else (int(row["seq"]), _text(row["id"]))

    async def audit_head(self) -> tuple[int, str | None]:
        row = await self._one("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        return (row["seq"], row["hash"]) if row else (0, None)

    # search ---------------------------------------------------------------------------------
    async def search(self, terms: Sequence[str], limit: int) -> list[RawHit]:
        """Up to AND_TERMS terms: all of them first, and when nothing has them all, any of them;
        a longer query: any of them. Best (lowest bm25) first.

        The work is bounded whatever the words: each kind of row (proposals, comments) takes its
        RANK_WINDOW newest matches, unranked (a walk of the index in rowid order that stops
        there); those are then ranked by bm25 over the query's informative words only, those
        found in fewer than COMMON_ROWS rows. bm25 reads the whole row list of every word it
        weighs, which costs tens of milliseconds for a word in a million rows, whose weight is
        small anyway. A query of common words only is ranked newest first."""
        quoted = [fts_quote(t) for t in terms]
        informative = [q for q in quoted if await self._rows_with(q) < COMMON_ROWS]
        candidates: list[int] = []
        # Intersecting many common words walks their whole row lists (130 ms for 16 at a million
        # rows): a longer query is matched by any of its words, ranked by the informative ones.
        joiners = (" AND ", " OR ") if len(quoted) <= AND_TERMS else (" OR ",)
        for joiner in joiners:
            query = joiner.join(quoted)
            candidates = [
                r["rowid"]
                for r in [
                    *await self._all(
                        "SELECT rowid FROM search_index WHERE search_index MATCH ? AND rowid < 0 "
                        "ORDER BY rowid LIMIT ?",  # newest proposals (rowid = -number)
                        (query, RANK_WINDOW),
                    ),
                    *await self._all(
                        "SELECT rowid FROM search_index WHERE search_index MATCH ? AND rowid > 0 "
                        "ORDER BY rowid DESC LIMIT ?",  # newest comments
                        (query, RANK_WINDOW),
                    ),
                ]
            ]
            if candidates or len(quoted) == 1:
                break
        if not candidates:
            return []
        scores: dict[int, float] = {}
        if informative:
            marks = ", ".join("?" * len(candidates))
            scored = await self._all(
                "SELECT rowid, bm25(search_index) AS score FROM search_index "
                f"WHERE search_index MATCH ? AND rowid IN ({marks})",
                [" OR ".join(informative), *candidates],
            )
            scores = {r["rowid"]: r["score"] for r in scored}
        # Lower bm25 is better (it is negative); unscored rows after scored ones, newest first.
        newest = {rowid: -rowid if rowid < 0 else rowid for rowid in candidates}
        ordered = sorted(candidates, key=lambda rowid: (scores.get(rowid, 0.0), -newest[rowid]))[:limit]
        best = [{"rowid": rowid, "score": scores.get(rowid, 0.0)} for rowid in ordered]
        marks = ", ".join("?" * len(best))
        rows = await self._all(
            "SELECT s.rowid AS rowid, s.proposal_id AS proposal_id, s.kind AS kind, s.comment_id AS comment_id, "
            "s.title AS indexed_title, s.body AS body, v.title AS title, p.status AS status "
            "FROM search_index s JOIN proposals p ON p.id = s.proposal_id "
            "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version "
            f"WHERE s.rowid IN ({marks})",
            [r["rowid"] for r in best],
        )
        found = {r["rowid"]: r for r in rows}
        return [
            RawHit(
                proposal_id=r["proposal_id"],
                kind=r["kind"],
                comment_id=r["comment_id"],
                texts=(r["indexed_title"], r["body"]),
                score=-float(hit["score"]),
                title=r["title"],
                status=Status(r["status"]),
            )
            for hit in best
            if (r := found.get(hit["rowid"])) is not None
        ]


def translate(store: SQLiteStore, exc: Exception) -> Exception:
    """SQLite's error as the store's: StoreBusy or StorageError naming the file."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return exc  # a broken constraint or a misused connection is a bug, not the disk: keep it visible
    if isinstance(exc, sqlite3.Error):
        return store.error(exc)
    if isinstance(exc, UnicodeEncodeError):  # text that is not Unicode (a lone surrogate) can't be stored
        return InvalidInput("text", f"contains {exc.object[exc.start : exc.end]!r}, which is not valid Unicode")
    return exc


@contextmanager
def sqlite_errors(store: SQLiteStore) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, UnicodeEncodeError) as exc:
        error = translate(store, exc)
        if error is exc:
            raise
        raise error from (exc if isinstance(exc, sqlite3.Error) else None)


class DirectTransaction(SQLiteTransaction):
    """The same queries, run at once on the writer's thread, inside a write operation."""

    def __init__(self, store: SQLiteStore, db: sqlite3.Connection) -> None:
        self._sqlite = store
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        if self._sqlite.statement_hook is not None:
            self._sqlite.statement_hook(sql)
        try:  # inline rather than `sqlite_errors`: this runs for every statement of every write
            return self._db.execute(sql, params)
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> Exception:
        return translate(self._sqlite, exc)

    def _path(self) -> str:
        return self._sqlite.path

    async def _all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        cursor = self.execute(sql, params)
        try:
            return cursor.fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    async def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        return self.execute(sql, params).lastrowid or 0

    async def _many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        if self._sqlite.statement_hook is not None:
            self._sqlite.statement_hook(sql)
        with sqlite_errors(self._sqlite):
            self._db.executemany(sql, params)


def drive(op: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a write operation to its end here and now: on the writer's thread its transaction
    methods never suspend, so one `send` completes it."""
    coroutine = op()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a write operation awaited something other than its transaction; it was abandoned")


class _Job:
    """One queued write operation and, once its batch committed, its outcome."""

    __slots__ = ("context", "done", "dropped", "error", "op", "running", "signal", "taken", "value")

    def __init__(self, op: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self.op = op
        self.context: Context = copy_context()  # the request's context vars (the log's agent)
        self.signal = anyio.Event()  # set when the job is done or its submitter must lead
        self.taken = False  # in a batch (it may still wait there for the write lock)
        self.running = False  # started on the writer's thread: from then on it runs to the end
        self.dropped = False  # cancelled before it started: the batch skips it
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None


def _cause(exc: sqlite3.Error, path: str = ":memory:") -> str:
    """SQLite's reason, with what it usually means on disk when SQLite's own words are vague."""
    text = str(exc) or type(exc).__name__
    folder = os.path.dirname(os.path.abspath(path))
    if path != ":memory:" and "unable to open" in text and not os.access(folder, os.W_OK):
        text += f" (its folder {folder} is not writable: a read-only mount?)"
    return text


class Connection:
    """One aiosqlite connection, its lock (transactions on it never interleave) and the one
    transaction helper with its shielded cleanup."""

    def __init__(self, db: aiosqlite.Connection, store: SQLiteStore) -> None:
        self.db = db
        self._store = store
        self._lock = anyio.Lock()

    @property
    def path(self) -> str:
        return self._store.path

    @classmethod
    async def connect(cls, store: SQLiteStore, *, busy_timeout_ms: int, read_only: bool) -> Connection:
        try:
            db = await aiosqlite.connect(store.path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as exc:
            raise StorageError(store.path, _cause(exc, store.path)) from None
        db.row_factory = sqlite3.Row
        connection = cls(db, store)
        try:
            await connection.run(lambda c: c.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}"))
            if read_only:
                await connection.run(lambda c: c.execute("PRAGMA query_only = ON"))
            else:
                await connection.run(lambda c: c.execute("PRAGMA journal_mode = WAL"))
                await connection.run(lambda c: c.execute("PRAGMA synchronous = FULL"))
                await connection.run(lambda c: c.execute("PRAGMA foreign_keys = ON"))
        except BaseException:
            await connection.close()
            raise
        return connection

    async def run(self, op: Callable[[aiosqlite.Connection], Awaitable[Any]], sql: str = "") -> Any:
        """Run one operation on the connection, turning SQLite's errors into the store's."""
        if self._store.statement_hook is not None:
            self._store.statement_hook(sql)
        with sqlite_errors(self._store):
            return await op(self.db)

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    async def _settle(self) -> None:
        """After a failure or a cancellation: wait for the statement in flight, then roll back.

        Shielded, so a cancelled request still releases the database before it unwinds."""
        with anyio.CancelScope(shield=True):
            try:
                await self.db.execute_fetchall("SELECT 1")  # queued behind whatever is in flight
                if self.db.in_transaction:
                    await self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the connection is gone or the disk failed: nothing is committed either way

    @asynccontextmanager
    async def transaction(self, begin: str) -> AsyncIterator[SQLiteTransaction]:
        async with self._lock:
            try:
                await self.run(lambda c: c.execute(begin), begin)
                yield SQLiteTransaction(self)
            except BaseException:
                await self._settle()
                raise
            try:
                with anyio.CancelScope(shield=True):  # once committing, finish: the write is whole or absent
                    await self.run(lambda c: c.execute("COMMIT"), "COMMIT")
            except BaseException:
                await self._settle()
                raise

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[SQLiteTransaction]:
        """Statements each in its own implicit transaction (no BEGIN/COMMIT round trips): for a
        read of one statement, which needs no snapshot."""
        async with self._lock:
            yield SQLiteTransaction(self)

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):
            await self.db.close()


class SQLiteStore:
    """Opens the file, applies migrations, hands out read snapshots and runs write operations.

    Two connections per process: the writer (every write operation, batched by `submit`) and
    a reader with `query_only` (every `read()`). An in-memory database has one connection for
    both.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        # Called before each statement (on the thread that runs it); tests fail one on purpose.
        self.statement_hook: StatementHook | None = None
        self._writer: Connection | None = None
        self._reader: Connection | None = None
        self._queue: deque[_Job] = deque()  # write operations waiting for a batch
        self._batch: asyncio.Future[None] | None = None  # the batch on the writer's thread now
        self._local = threading.local()  # on the writer's thread during a batch: its connection
        self._jobs_lock = threading.Lock()  # a job's start (writer's thread) against its cancellation
        self.busy_timeout_ms = BUSY_TIMEOUT_MS
        self.read_budget_s = READ_BUDGET_S
        self.progress_steps = PROGRESS_STEPS

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> SQLiteStore:
        where = str(path)
        if where != ":memory:":
            target = anyio.Path(path)
            if await target.is_dir():
                raise StorageError(where, "it is a folder, not a database file")
            for parent in target.parents:
                if await parent.exists() and not await parent.is_dir():
                    raise StorageError(where, f"{parent} is a file, not a folder")
            try:
                await target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(where, f"its folder can't be created ({exc.strerror or exc})") from None
        store = cls(where)
        store.busy_timeout_ms = busy_timeout_ms
        try:
            store._writer = await Connection.connect(store, busy_timeout_ms=busy_timeout_ms, read_only=False)
            await store._migrate()
            # From now on the writer takes the write lock in `_begin_batch`, which polls for it every
            # millisecond or so: SQLite's own busy handler backs off to 100 ms sleeps, so under
            # contention one process could wait seconds while others take the lock in turn.
            await store.writer.run(lambda c: c.execute("PRAGMA busy_timeout = 0"))
            if where == ":memory:":
                store._reader = store._writer
            else:
                store._reader = await Connection.connect(store, busy_timeout_ms=busy_timeout_ms, read_only=True)
        except BaseException:
            await store.close()
            raise
        return store

    @property
    def writer(self) -> Connection:
        assert self._writer is not None, "the store is closed"
        return self._writer

    @property
    def reader(self) -> Connection:
        assert self._reader is not None, "the store is closed"
        return self._reader

    async def run(self, op: Callable[[aiosqlite.Connection], Awaitable[Any]], sql: str = "") -> Any:
        """Run one operation on the writer connection (outside any transaction)."""
        return await self.writer.run(op, sql)

    def error(self, exc: sqlite3.Error) -> StoreBusy | StorageError:
        text = _cause(exc, self.path)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return StoreBusy(text, self.path)
        return StorageError(self.path, text)

    async def _pending_migrations(self) -> bool:
        async with self.writer.transaction("BEGIN") as tx:
            exists = await tx._one(
                "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            )
            if exists is None:
                return True
            rows = await tx._all("SELECT version FROM schema_migrations")
        return {r["version"] for r in rows} != {version for version, _, _ in MIGRATIONS}

    async def _migrate(self) -> None:
        """Apply missing migrations. Only then is the write lock taken: an up-to-date database is
        opened without waiting for another process's write."""
        if not await self._pending_migrations():
            return
        async with self.writer.transaction("BEGIN IMMEDIATE") as tx:
            await tx._run(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            applied = {r["version"] for r in await tx._all("SELECT version FROM schema_migrations")}
            for version, name, script in MIGRATIONS:
                if version in applied:
                    continue
                for statement in split_statements(script):
                    await tx._run(statement)
                if name == "verifiable_log":
                    await tx.plant_tree()
                await tx._run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, ts(datetime.now(UTC))),
                )

    async def applied_migrations(self) -> list[tuple[int, str]]:
        async with self.read() as tx:
            rows = await tx._all("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(r["version"], r["name"]) for r in rows]

    @property
    def in_transaction(self) -> bool:
        return any(c is not None and c.in_transaction for c in (self._writer, self._reader))

    def _batch_db(self) -> sqlite3.Connection | None:
        """The writer's connection when called from a write operation in a batch, else None."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        return db

    def _op_db(self) -> sqlite3.Connection | None:
        """The connection of the operation running on this thread (a write batch or a read)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None) or getattr(self._local, "read_db", None)
        return db

    @property
    def in_read_operation(self) -> bool:
        """On the reader's thread, inside an operation run by `run_read` (it can't write)."""
        return getattr(self._local, "read_db", None) is not None

    def read(self) -> AbstractAsyncContextManager[SQLiteTransaction]:
        """A consistent snapshot for reads, on the reader connection (inside an operation: the
        operation's own transaction)."""
        db = self._op_db()
        if db is not None:
            return self._within(db)
        return self.reader.transaction("BEGIN")

    def lookup(self) -> AbstractAsyncContextManager[SQLiteTransaction]:
        """For a read of one statement: no transaction round trips, on the reader connection."""
        db = self._op_db()
        if db is not None:
            return self._within(db)
        return self.reader.statements()

    async def run_read(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a read operation whole on the reader's thread, in one snapshot: one round trip
        from the event loop however many statements it reads. Its result, or its error."""
        if self._op_db() is not None:
            return await op()
        async with self.reader._lock:  # an in-memory database shares this connection with writes
            result = await self.reader.db._execute(self._run_read, op, copy_context())  # type: ignore[no-untyped-call]
        return result  # type: ignore[no-any-return]

    def _run_read(self, op: Callable[[], Coroutine[Any, Any, T]], context: Context) -> T:
        """On the reader's thread. No read can run on: past the budget SQLite interrupts its
        statement, so no query holds the reader (or pins the WAL with its snapshot) for long."""
        db = self.reader.db._conn
        self._local.read_db = db
        tx = DirectTransaction(self, db)
        stop_at = time.monotonic() + self.read_budget_s
        db.set_progress_handler(lambda: time.monotonic() > stop_at, self.progress_steps)
        try:
            tx.execute("BEGIN")
            return context.run(drive, op)
        except StorageError as exc:
            if "interrupted" in exc.cause:
                raise ReadTooCostly(self.read_budget_s) from None
            raise
        finally:
            self._local.read_db = None
            db.set_progress_handler(None, 0)
            if db.in_transaction:
                db.execute("COMMIT")  # a read has nothing to commit: this ends its snapshot

    def write(self) -> AbstractAsyncContextManager[SQLiteTransaction]:
        """The one write path: a savepoint inside the batch's transaction, released when the
        block ends and rolled back on any error. Only write operations run by `submit` (the
        service's `@writes`) write."""
        db = self._batch_db()
        if db is None:
            raise RuntimeError("SQLiteStore.write() is for write operations run by submit() (the service's @writes)")
        return self._savepoint(db)

    @asynccontextmanager
    async def _within(self, db: sqlite3.Connection) -> AsyncIterator[SQLiteTransaction]:
        yield DirectTransaction(self, db)

    @asynccontextmanager
    async def _savepoint(self, db: sqlite3.Connection) -> AsyncIterator[SQLiteTransaction]:
        depth = getattr(self._local, "depth", 0) + 1
        name = f"op{depth}"
        tx = DirectTransaction(self, db)
        tx.execute(f"SAVEPOINT {name}")
        self._local.depth = depth
        try:
            yield tx
            tx.execute(f"RELEASE {name}")
        except BaseException:
            try:
                if db.in_transaction:  # SQLite may have rolled back the whole batch already (disk full)
                    tx.execute(f"ROLLBACK TO {name}")
                    tx.execute(f"RELEASE {name}")
            except BaseException:
                self._local.broken = True  # the savepoint could not be undone: the batch must not commit
                raise
            raise
        finally:
            self._local.depth = depth - 1

    # -- group commit ----------------------------------------------------------------------------
    async def submit(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a write operation in the writer's next batch; its result once the batch committed.

        While a batch runs on the writer's thread the next operations queue up; when it ends,
        the next batch takes up to MAX_BATCH of them. Cancelled before the writer starts it, the
        operation is dropped; once started, it runs to the end and the cancellation waits
        (shielded) for its batch."""
        if self._batch_db() is not None:  # one write operation calling another: the same batch
            return await op()
        job = _Job(op)
        self._queue.append(job)
        if self._batch is None:
            self._next_batch()
        try:
            await job.signal.wait()
        except BaseException:
            with self._jobs_lock:
                job.dropped = not job.running
            if job.dropped:
                if not job.taken:
                    self._queue.remove(job)
                raise
            with anyio.CancelScope(shield=True):
                await job.signal.wait()
            raise
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[no-any-return]

    def _next_batch(self) -> None:
        """Hand the queued operations (up to MAX_BATCH) to the writer's thread, if any wait."""
        if not self._queue:
            self._batch = None
            return
        batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
        for job in batch:
            job.taken = True
        # A task of the store's own, not of any caller: a caller's cancellation can't stop a
        # batch that other callers wait for.
        self._batch = asyncio.ensure_future(self._write_batch(batch))

    async def _write_batch(self, batch: list[_Job]) -> None:
        try:
            async with self.writer._lock:  # an in-memory database shares this connection with reads
                # aiosqlite's own queue to its thread: the batch runs there, between its statements
                await self.writer.db._execute(self._run_batch, batch)  # type: ignore[no-untyped-call]
        except BaseException as exc:  # the connection is closed or its thread is gone
            for job in batch:
                if job.error is None:
                    job.error, job.value = exc, None
        finally:
            for job in batch:
                job.done = True
                job.signal.set()
            self._next_batch()

    def _run_batch(self, batch: list[_Job]) -> None:
        """On the writer's thread: the batch's operations, each in its savepoints, one COMMIT."""
        db = self.writer.db._conn
        self._local.db = db
        try:
            pending = deque(batch)
            while pending:
                tx = DirectTransaction(self, db)
                try:
                    self._begin_batch(tx)
                except BaseException as exc:
                    self._abandon(db, list(pending), exc)
                    return
                ran: list[_Job] = []
                while pending:
                    job = pending.popleft()
                    with self._jobs_lock:
                        if job.dropped:  # cancelled while its batch waited for the write lock
                            continue
                        job.running = True
                    ran.append(job)
                    self._local.broken = False
                    try:
                        job.value = job.context.run(drive, job.op)
                    except BaseException as exc:
                        job.error = exc
                    if self._local.broken or not db.in_transaction:  # the batch can't commit any more
                        self._abandon(db, ran, job.error)
                        break
                else:
                    try:
                        tx.execute("COMMIT")
                    except BaseException as exc:
                        self._abandon(db, ran, exc)
        finally:
            self._local.db = None

    def _begin_batch(self, tx: DirectTransaction) -> None:
        """BEGIN IMMEDIATE, trying again every millisecond or so while another process writes,
        up to the busy timeout (then StoreBusy)."""
        give_up = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                tx.execute("BEGIN IMMEDIATE")
                return
            except StoreBusy:
                if time.monotonic() >= give_up:
                    raise
                time.sleep(random.uniform(*LOCK_POLL_S))

    def _abandon(self, db: sqlite3.Connection, ran: list[_Job], cause: BaseException | None) -> None:
        """Roll the batch back: none of its operations is acknowledged, each gets the cause."""
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is gone or the disk failed: nothing is committed either way
        error = cause or StorageError(self.path, "the transaction was rolled back; nothing of it was written")
        for job in ran:
            job.value = None
            if job.error is None:
                job.error = error

    async def wait_for_change(self, seconds: float) -> None:
        """The change feed's pause: SQLite has no notifications, so the feed polls the log."""
        await anyio.sleep(seconds)

    async def close(self) -> None:
        while self._batch is not None:  # let the batches under way finish (callers wait for them)
            with anyio.CancelScope(shield=True):
                await self._batch
        for connection in {id(c): c for c in (self._reader, self._writer) if c is not None}.values():
            await connection.close()
        self._reader = self._writer = None
