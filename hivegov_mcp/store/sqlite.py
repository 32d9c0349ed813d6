"""The embedded SQLite store (DESIGN §8) over aiosqlite.

One connection per process, guarded by a lock so that transactions never interleave;
WAL, synchronous=FULL, foreign keys, a busy timeout, and `BEGIN IMMEDIATE` for every write
so that several processes can share one file and each write sees the latest audit head.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import anyio

from hivegov_mcp.audit import GENESIS, StoredEvent, canonical_json, event_hash
from hivegov_mcp.domain.models import Agent, Ballot, Comment, CommentType, ProposalContent, Receipt, RoundInfo
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.tally import Decision
from hivegov_mcp.errors import StoreBusy
from hivegov_mcp.store.base import NewComment, ProposalState, RawHit, Version
from hivegov_mcp.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000
MAX_INTEGER = 2**63 - 1  # SQLite's INTEGER range: a larger id names nothing


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


_PROPOSAL_COLUMNS = (
    "id, number, type, status, author, version, round, revision_rounds, deadline, outcome, outcome_reason, "
    "voting_opened_at, voting_closed_at, created_at, updated_at"
)


def _proposal(row: Sequence[Any]) -> ProposalState:
    return ProposalState(
        id=row[0],
        number=row[1],
        type=row[2],
        status=Status(row[3]),
        author=row[4],
        version=row[5],
        round=row[6],
        revision_rounds=row[7],
        deadline=dt(row[8]),
        outcome=row[9],
        outcome_reason=row[10],
        voting_opened_at=dt(row[11]),
        voting_closed_at=dt(row[12]),
        created_at=_dt(row[13]),
        updated_at=_dt(row[14]),
    )


def _proposal_params(s: ProposalState) -> tuple[Any, ...]:
    return (
        s.id,
        s.number,
        s.type,
        s.status.value,
        s.author,
        s.version,
        s.round,
        s.revision_rounds,
        ts(s.deadline) if s.deadline else None,
        s.outcome,
        s.outcome_reason,
        ts(s.voting_opened_at) if s.voting_opened_at else None,
        ts(s.voting_closed_at) if s.voting_closed_at else None,
        ts(s.created_at),
        ts(s.updated_at),
    )


def _agent(row: Sequence[Any]) -> Agent:
    return Agent(
        id=row[0],
        display_name=row[1],
        roles=json.loads(row[2]),
        weight=row[3],
        active=bool(row[4]),
        created_at=_dt(row[5]),
    )


_COMMENT_COLUMNS = (
    "id, proposal_id, round, author, type, content, parent_id, refs, created_at, resolved_by, "
    "resolution_note, resolved_at"
)


def _comment(row: Sequence[Any]) -> Comment:
    return Comment(
        id=row[0],
        proposal_id=row[1],
        round=row[2],
        author=row[3],
        type=CommentType(row[4]),
        content=row[5],
        parent_id=row[6],
        references=json.loads(row[7]),
        created_at=_dt(row[8]),
        resolved=row[9] is not None,
        resolved_by=row[9],
        resolution_note=row[10],
        resolved_at=dt(row[11]),
    )


def _version(row: Sequence[Any]) -> Version:
    return Version(
        proposal_id=row[0],
        version=row[1],
        content=ProposalContent(
            title=row[2],
            abstract=row[3],
            motivation=row[4],
            specification=row[5],
            implementation=row[6],
            dependencies=json.loads(row[7]),
        ),
        change_note=row[8],
        content_hash=row[9],
        author=row[10],
        created_at=_dt(row[11]),
    )


_VERSION_COLUMNS = (
    "proposal_id, version, title, abstract, motivation, specification, implementation, dependencies, "
    "change_note, content_hash, author, created_at"
)


def fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class SQLiteTransaction:
    """Every query of the store; only ever used inside SQLiteStore.read() or .write()."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        async with self._db.execute(sql, params) as cur:
            return await cur.fetchone()

    async def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self._db.execute(sql, params) as cur:
            return cur.lastrowid or 0

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
        agents = [_agent(r) for r in await self._all(f"{self._AGENT} ORDER BY id")]
        return [a for a in agents if role is None or role in a.roles]

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

    # proposals ------------------------------------------------------------------------------
    async def next_proposal_number(self) -> int:
        row = await self._one("SELECT COALESCE(MAX(number), 0) + 1 FROM proposals")
        assert row is not None
        return int(row[0])

    async def insert_proposal(self, state: ProposalState) -> None:
        await self._run(
            f"INSERT INTO proposals ({_PROPOSAL_COLUMNS}) VALUES ({', '.join('?' * 15)})",
            _proposal_params(state),
        )

    async def get_proposal(self, proposal_id: str) -> ProposalState | None:
        row = await self._one(f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE id = ?", (proposal_id,))
        return _proposal(row) if row else None

    async def save_proposal(self, state: ProposalState) -> None:
        params = _proposal_params(state)
        sets = ", ".join(f"{c.strip()} = ?" for c in _PROPOSAL_COLUMNS.split(",")[1:])
        await self._run(f"UPDATE proposals SET {sets} WHERE id = ?", (*params[1:], params[0]))

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
        cols = ", ".join(f"p.{c.strip()}" for c in _PROPOSAL_COLUMNS.split(","))
        sql = (
            f"SELECT {cols}, v.title FROM proposals p "
            "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY p.number DESC LIMIT ?"
        )
        rows = await self._all(sql, (*params, limit))
        return [(_proposal(r), r[15]) for r in rows]

    async def due_proposals(self, now: datetime) -> list[str]:
        rows = await self._all(
            "SELECT id FROM proposals WHERE deadline IS NOT NULL AND deadline <= ? "
            "AND status IN ('discussion', 'voting') ORDER BY deadline",
            (ts(now),),
        )
        return [r[0] for r in rows]

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._all("SELECT status, COUNT(*) FROM proposals GROUP BY status")
        return {r[0]: r[1] for r in rows}

    async def next_deadlines(self, limit: int) -> list[ProposalState]:
        rows = await self._all(
            f"SELECT {_PROPOSAL_COLUMNS} FROM proposals WHERE deadline IS NOT NULL ORDER BY deadline LIMIT ?",
            (limit,),
        )
        return [_proposal(r) for r in rows]

    # versions -------------------------------------------------------------------------------
    async def insert_version(self, version: Version) -> None:
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

    async def store_summary(self, proposal_id: str, round_: int, summary_json: str) -> None:
        await self._run(
            "UPDATE rounds SET summary = ? WHERE proposal_id = ? AND round = ?",
            (summary_json, proposal_id, round_),
        )

    async def list_rounds(self, proposal_id: str) -> list[RoundInfo]:
        rows = await self._all(
            "SELECT round, started_at, deadline, concluded_at, outcome FROM rounds "
            "WHERE proposal_id = ? ORDER BY round",
            (proposal_id,),
        )
        return [
            RoundInfo(round=r[0], started_at=_dt(r[1]), deadline=_dt(r[2]), concluded_at=dt(r[3]), outcome=r[4])
            for r in rows
        ]

    # comments -------------------------------------------------------------------------------
    async def insert_comment(self, comment: NewComment) -> int:
        return await self._run(
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

    async def get_comment(self, comment_id: int) -> Comment | None:
        if not fits(comment_id):
            return None
        row = await self._one(f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ?", (comment_id,))
        return _comment(row) if row else None

    async def list_comments(self, proposal_id: str) -> list[Comment]:
        rows = await self._all(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE proposal_id = ? ORDER BY id", (proposal_id,)
        )
        return [_comment(r) for r in rows]

    async def count_comments(self, proposal_id: str, round_: int, author: str) -> int:
        row = await self._one(
            "SELECT COUNT(*) FROM comments WHERE proposal_id = ? AND round = ? AND author = ?",
            (proposal_id, round_, author),
        )
        return int(row[0]) if row else 0

    async def resolve_comment(self, comment_id: int, by: str, note: str, at: datetime) -> None:
        await self._run(
            "UPDATE comments SET resolved_by = ?, resolution_note = ?, resolved_at = ? WHERE id = ?",
            (by, note, ts(at), comment_id),
        )

    # voting ---------------------------------------------------------------------------------
    async def freeze_eligible(self, proposal_id: str, eligible: Mapping[str, int]) -> None:
        await self._db.executemany(
            "INSERT INTO eligible_voters (proposal_id, agent_id, weight) VALUES (?, ?, ?)",
            [(proposal_id, agent, weight) for agent, weight in sorted(eligible.items())],
        )

    async def eligible(self, proposal_id: str) -> dict[str, int]:
        rows = await self._all(
            "SELECT agent_id, weight FROM eligible_voters WHERE proposal_id = ? ORDER BY agent_id",
            (proposal_id,),
        )
        return {r[0]: r[1] for r in rows}

    async def insert_vote(
        self, proposal_id: str, agent_id: str, decision: str, justification: str, at: datetime
    ) -> None:
        await self._run(
            "INSERT INTO votes (proposal_id, agent_id, decision, justification, cast_at) VALUES (?, ?, ?, ?, ?)",
            (proposal_id, agent_id, decision, justification, ts(at)),
        )

    async def last_ballots(self, proposal_id: str) -> list[Ballot]:
        rows = await self._all(
            "SELECT v.agent_id, v.decision, v.justification, e.weight, v.cast_at FROM votes v "
            "JOIN eligible_voters e ON e.proposal_id = v.proposal_id AND e.agent_id = v.agent_id "
            "WHERE v.proposal_id = ? AND v.id = (SELECT MAX(id) FROM votes w "
            "WHERE w.proposal_id = v.proposal_id AND w.agent_id = v.agent_id) ORDER BY v.agent_id",
            (proposal_id,),
        )
        return [
            Ballot(agent_id=r[0], decision=Decision(r[1]), justification=r[2], weight=r[3], cast_at=_dt(r[4]))
            for r in rows
        ]

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
        return Receipt(seq=seq, hash=digest)

    async def audit_events(self, *, subject: str | None, after_seq: int, limit: int | None) -> list[StoredEvent]:
        if not fits(after_seq):
            return []
        sql = "SELECT seq, at, actor, action, subject, payload, prev_hash, hash FROM audit_events WHERE seq > ?"
        params: list[Any] = [after_seq]
        if subject is not None:
            sql += " AND subject = ?"
            params.append(subject)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [StoredEvent(*r) for r in await self._all(sql, params)]

    async def audit_head(self) -> tuple[int, str | None]:
        row = await self._one("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        return (row[0], row[1]) if row else (0, None)

    # search ---------------------------------------------------------------------------------
    async def index_proposal(self, proposal_id: str, title: str, body: str) -> None:
        await self._run("DELETE FROM search_index WHERE proposal_id = ? AND kind = 'proposal'", (proposal_id,))
        await self._run(
            "INSERT INTO search_index (proposal_id, kind, comment_id, title, body) VALUES (?, 'proposal', NULL, ?, ?)",
            (proposal_id, title, body),
        )

    async def index_comment(self, proposal_id: str, comment_id: int, title: str, body: str) -> None:
        await self._run(
            "INSERT INTO search_index (proposal_id, kind, comment_id, title, body) VALUES (?, 'comment', ?, ?, ?)",
            (proposal_id, comment_id, title, body),
        )

    async def search(self, terms: Sequence[str], limit: int) -> list[RawHit]:
        """All terms first; when nothing has them all, any term. Best (lowest bm25) first."""
        quoted = [fts_quote(t) for t in terms]
        for joiner in (" AND ", " OR "):
            rows = await self._all(
                "SELECT search_index.proposal_id, kind, comment_id, "
                "snippet(search_index, -1, '[', ']', '…', 16), bm25(search_index), v.title, p.status "
                "FROM search_index JOIN proposals p ON p.id = search_index.proposal_id "
                "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version "
                "WHERE search_index MATCH ? ORDER BY rank LIMIT ?",
                (joiner.join(quoted), limit),
            )
            if rows or len(quoted) == 1:
                break
        return [
            RawHit(
                proposal_id=r[0],
                kind=r[1],
                comment_id=r[2],
                snippet=r[3],
                score=-float(r[4]),
                title=r[5],
                status=Status(r[6]),
            )
            for r in rows
        ]


class SQLiteStore:
    """Opens the file, applies migrations and hands out transactions."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = anyio.Lock()

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> SQLiteStore:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None, timeout=busy_timeout_ms / 1000)
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = FULL")
            await db.execute("PRAGMA foreign_keys = ON")
            store = cls(db)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def _migrate(self) -> None:
        async with self._transaction("BEGIN IMMEDIATE"):
            await self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            async with self._db.execute("SELECT version FROM schema_migrations") as cur:
                applied = {r[0] for r in await cur.fetchall()}
            for version, name, script in MIGRATIONS:
                if version in applied:
                    continue
                for statement in split_statements(script):
                    await self._db.execute(statement)
                await self._db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, ts(datetime.now(UTC))),
                )

    async def applied_migrations(self) -> list[tuple[int, str]]:
        async with (
            self._lock,
            self._db.execute("SELECT version, name FROM schema_migrations ORDER BY version") as c,
        ):
            return [(r[0], r[1]) for r in await c.fetchall()]

    @asynccontextmanager
    async def _transaction(self, begin: str) -> AsyncIterator[SQLiteTransaction]:
        async with self._lock:
            try:
                await self._db.execute(begin)
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StoreBusy(str(exc)) from exc
                raise
            try:
                yield SQLiteTransaction(self._db)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    if self._db.in_transaction:
                        await self._db.execute("ROLLBACK")
                raise
            try:
                await self._db.execute("COMMIT")
            except BaseException:
                with anyio.CancelScope(shield=True):
                    if self._db.in_transaction:
                        await self._db.execute("ROLLBACK")
                raise

    def read(self) -> AbstractAsyncContextManager[SQLiteTransaction]:
        """A consistent snapshot for reads."""
        return self._transaction("BEGIN")

    def write(self) -> AbstractAsyncContextManager[SQLiteTransaction]:
        """The one write path: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error."""
        return self._transaction("BEGIN IMMEDIATE")

    async def close(self) -> None:
        await self._db.close()
