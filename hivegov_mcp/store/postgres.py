"""The PostgreSQL store (DESIGN §17): the same interface as the SQLite store, for several
server instances on several machines sharing one governance.

psycopg 3, async, with a connection pool. Every write operation is one transaction that first
takes a transaction-scoped advisory lock: writes are serialized across every instance, as
SQLite's write lock serializes them across processes, so sequence numbers stay contiguous, the
hash chain and the Merkle tree stay valid, a close race has one winner and a deadline is
applied once. Reads run in REPEATABLE READ READ ONLY snapshots, each statement bounded by the
read budget. Each audit append NOTIFYs the log's channel on commit: the change feed of every
instance wakes up at once instead of polling.

The queries are the SQLite store's (portable SQL: `?` placeholders translated, times as ISO
text, flags as 0/1), except where the dialects differ: full-text search (a tsvector column with
a GIN index, ranked by ts_rank), JSON roles, the catalogue of triggers, an insert that returns
its id, and an insert that may find its row taken.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from contextvars import Context, ContextVar, copy_context
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hivegov_mcp.domain.errors import HivegovError, InvalidInput, ReadTooCostly, StorageError, StoreBusy
from hivegov_mcp.domain.models import Agent, Receipt
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.store.base import RawHit
from hivegov_mcp.store.pg_migrations import IDENTITY_TABLES, LOG_GUARDS, PG_MIGRATIONS
from hivegov_mcp.store.sqlite import (
    _AUDIT_FIELDS,
    AND_TERMS,
    BUSY_TIMEOUT_MS,
    READ_BUDGET_S,
    SQLiteTransaction,
    _agent,
    ts,
)

T = TypeVar("T")
WRITE_LOCK = 0x68697665  # "hive": the advisory lock every write transaction takes
POOL_SIZE = 10
RANK_WINDOW = 500  # matches ranked per kind of row, as in the SQLite store
MAX_BATCH = 256  # write operations committed together at most, as in the SQLite store
_NAMED = re.compile(r"(?<!:):([a-z_]+)")
_UNARY_PLUS = re.compile(r"(?<=[\s(])\+([a-z_]+(?:\.[a-z_]+)?)")
_INSERT = re.compile(r"^\s*INSERT INTO (\w+)", re.IGNORECASE)

# The connection of the operation running in this task: ("write" | "read", connection).
_current: ContextVar[tuple[str, psycopg.AsyncConnection[Any]] | None] = ContextVar("hivegov_pg_op", default=None)


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password (in the user part or in the query), for messages."""
    parts = urlsplit(url)
    user, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{user.split(':', 1)[0]}@{hosts}" if at else hosts
    query = "&".join(q for q in parts.query.split("&") if q and not q.lower().startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _sql(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[str, Any]:
    """SQLite's placeholders and idioms as psycopg's."""
    sql = _UNARY_PLUS.sub(r"\1", sql.replace("%", "%%"))  # +column: SQLite's "don't use an index here"
    if isinstance(params, Mapping):
        return _NAMED.sub(r"%(\1)s", sql), {k: _value(v) for k, v in params.items()}
    return sql.replace("?", "%s"), [_value(v) for v in params]


def _value(v: Any) -> Any:
    return int(v) if isinstance(v, bool) else v


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


class PostgresTransaction(SQLiteTransaction):
    """The SQLite store's queries on a PostgreSQL connection, and the ones that differ."""

    _AUDIT_COLUMNS = ", ".join(_AUDIT_FIELDS)  # text as stored (PostgreSQL's text is always UTF-8)

    def __init__(self, store: PostgresStore, conn: psycopg.AsyncConnection[Any]) -> None:
        self._pg = store
        self._conn = conn

    def _path(self) -> str:
        return self._pg.path

    async def _all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        query, values = _sql(sql, params)
        try:
            async with self._conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query, values)
                return await cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise self._store_error(exc) from None

    async def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement; an insert into a table whose id the database assigns returns it."""
        match = _INSERT.match(sql)
        if match and match.group(1) in IDENTITY_TABLES:
            rows = await self._all(sql + " RETURNING id", params)
            return int(rows[0]["id"]) if rows else 0
        await self._all(sql, params)
        return 0

    async def _many(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        batch = [_sql(sql, one) for one in params]
        if not batch:
            return
        try:
            async with self._conn.cursor() as cur:
                await cur.executemany(batch[0][0], [values for _, values in batch])  # pipelined: one round trip
        except psycopg.Error as exc:
            raise self._store_error(exc) from None

    def _store_error(self, exc: psycopg.Error) -> Exception:
        """psycopg's error as the store's (DESIGN §8): what the caller can act on, named."""
        if isinstance(exc, pg_errors.QueryCanceled):
            return ReadTooCostly(self._pg.read_budget_s)
        if isinstance(exc, psycopg.DataError) and "NUL" in str(exc):  # refused before it is sent
            return InvalidInput("text", "contains a NUL byte; remove it and try again")
        if isinstance(exc, pg_errors.IntegrityError | pg_errors.ProgrammingError | pg_errors.RaiseException):
            return exc  # a broken constraint, a bug, or the append-only guard: keep it visible
        if isinstance(exc, psycopg.DataError):
            return exc
        return StorageError(self._pg.path, _cause(exc))

    # -- where the dialects differ ---------------------------------------------------------------
    async def list_agents(self, role: str | None = None) -> list[Agent]:
        if role is None:
            return [_agent(r) for r in await self._all(f"{self._AGENT} ORDER BY id")]
        rows = await self._all(
            f"{self._AGENT} WHERE EXISTS (SELECT 1 FROM jsonb_array_elements_text(agents.roles::jsonb) AS r(value) "
            "WHERE r.value = ?) ORDER BY id",
            (role,),
        )
        return [_agent(r) for r in rows]

    async def record_delivery(
        self, webhook_id: int, seq: int, attempt: int, at: datetime, status_code: int | None, error: str | None
    ) -> bool:
        delivered = int(status_code is not None and 200 <= status_code < 300)
        rows = await self._all(
            "INSERT INTO webhook_deliveries (webhook_id, seq, attempt, at, status_code, error, delivered) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1 AS taken",
            (webhook_id, seq, attempt, ts(at), status_code, error, delivered),
        )
        return bool(rows)

    async def append_audit(
        self, *, at: datetime, actor: str, action: str, subject: str, payload: Mapping[str, object]
    ) -> Receipt:
        receipt = await super().append_audit(at=at, actor=actor, action=action, subject=subject, payload=payload)
        await self._all("SELECT pg_notify(?, ?)", (self._pg.channel, str(receipt.seq)))  # delivered on commit
        return receipt

    async def missing_guards(self) -> list[str]:
        rows = await self._all(
            "SELECT t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
        )
        present = {r["name"] for r in rows}
        return [g for g in LOG_GUARDS if g not in present]

    async def search(self, terms: Sequence[str], limit: int) -> list[RawHit]:
        """As the SQLite store: up to AND_TERMS terms must all match (else any), a longer query any;
        each kind of row takes its RANK_WINDOW newest matches, ranked by ts_rank (title above body)."""
        words = [re.sub(r"[^\w]", "", t) for t in terms]
        words = [w for w in words if w]
        if not words:
            return []
        joiners = (" & ", " | ") if len(words) <= AND_TERMS else (" | ",)
        rows: list[dict[str, Any]] = []
        for joiner in joiners:
            query = joiner.join(words)
            # The tsquery is written out in each branch (not taken from a CTE), so the planner sees
            # how common the words are: a common word walks the newest rows, a rare one the index.
            match = "doc @@ to_tsquery('english', ?)"
            rows = await self._all(
                f"WITH c AS MATERIALIZED ((SELECT rowid FROM search_index WHERE {match} AND rowid < 0 "
                f"ORDER BY rowid LIMIT ?) UNION ALL (SELECT rowid FROM search_index WHERE {match} AND rowid > 0 "
                "ORDER BY rowid DESC LIMIT ?)), "
                "r AS (SELECT s.rowid AS rowid, ts_rank(s.doc, to_tsquery('english', ?)) AS score "
                "FROM c JOIN search_index s ON s.rowid = c.rowid ORDER BY score DESC, abs(s.rowid) DESC LIMIT ?) "
                "SELECT s.rowid AS rowid, s.proposal_id AS proposal_id, s.kind AS kind, s.comment_id AS comment_id, "
                "s.title AS indexed_title, s.body AS body, v.title AS title, p.status AS status, r.score AS score "
                "FROM r JOIN search_index s ON s.rowid = r.rowid "
                "JOIN proposals p ON p.id = s.proposal_id "
                "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version "
                "ORDER BY r.score DESC, abs(s.rowid) DESC",
                (query, RANK_WINDOW, query, RANK_WINDOW, query, limit),
            )
            if rows or len(words) == 1:
                break
        return [
            RawHit(
                proposal_id=r["proposal_id"],
                kind=r["kind"],
                comment_id=r["comment_id"],
                texts=(r["indexed_title"], r["body"]),
                score=float(r["score"]),
                title=r["title"],
                status=Status(r["status"]),
            )
            for r in rows
        ]


async def _rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    if conn.closed:
        return
    with suppress(psycopg.Error):  # the connection broke: the server rolls back, the pool discards it
        await conn.execute("ROLLBACK")


@dataclass(eq=False)
class _Job:
    """A write operation waiting for, or in, a batch."""

    op: Callable[[], Coroutine[Any, Any, Any]]
    context: Context
    done: anyio.Event = field(default_factory=anyio.Event)
    value: Any = None
    error: BaseException | None = None
    running: bool = False
    dropped: bool = False


class PostgresStore:
    """A pool of connections to one database (and schema): read snapshots, serialized writes,
    and the change feed's channel."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = redacted(url)
        self.pool: AsyncConnectionPool[Any] | None = None
        self.busy_timeout_ms = BUSY_TIMEOUT_MS
        self.read_budget_s = READ_BUDGET_S
        self.channel = "hivegov_audit"
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._queue: deque[_Job] = deque()  # write operations waiting for a batch
        self._writer: asyncio.Future[None] | None = None  # the batch being written, if any

    @classmethod
    async def open(cls, url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> PostgresStore:
        store = cls(url)
        store.busy_timeout_ms = busy_timeout_ms
        try:  # one connection first: a wrong URL or a server that is down is said at once
            first = await psycopg.AsyncConnection.connect(url, connect_timeout=10)
            await first.close()
        except psycopg.Error as exc:
            raise StorageError(store.path, f"no connection to PostgreSQL ({_cause(exc)})") from None
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            # No prepared statements: each query is planned for its values. A generic plan of the
            # search (after psycopg prepares it) walks the whole index for a rare word: 30 ms, not 1.
            kwargs={"autocommit": True, "prepare_threshold": None},
        )
        try:
            await pool.open(wait=True, timeout=10)
        except Exception as exc:
            await pool.close()
            raise StorageError(store.path, f"no connection to PostgreSQL ({_cause(exc)})") from None
        store.pool = pool
        try:
            async with pool.connection() as conn:
                row = await (await conn.execute("SELECT current_schema()")).fetchone()
            if row is None or row[0] is None:
                raise StorageError(store.path, "its search_path names no schema that exists; create it first")
            digest = hashlib.sha256(str(row[0]).encode()).hexdigest()[:16]
            store.channel = f"hivegov_audit_{digest}"  # one per schema, a valid name whatever the schema's
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        return store

    def _pool(self) -> AsyncConnectionPool[Any]:
        assert self.pool is not None, "the store is closed"
        return self.pool

    async def _migrate(self) -> None:
        """Apply missing migrations under the write lock (another instance may be migrating)."""
        async with self._pool().connection() as conn, conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            applied = {int(r[0]) for r in await cur.fetchall()}
            for version, name, script in PG_MIGRATIONS:
                if version in applied:
                    continue
                await conn.execute(script.encode())  # several statements: sent as one simple query
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                    (version, name, ts(datetime.now().astimezone())),
                )

    async def applied_migrations(self) -> list[tuple[int, str]]:
        async with self.read() as tx:
            rows = await tx._all("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(int(r["version"]), r["name"]) for r in rows]

    # -- transactions --------------------------------------------------------------------------------
    @asynccontextmanager
    async def _snapshot(self, *, budget: bool = False) -> AsyncIterator[PostgresTransaction]:
        """A snapshot; with `budget` (a read operation, as SQLite's run_read) each statement is
        bounded by the read budget. Long reads of the whole log (verify_audit) are not."""
        async with self._connection() as conn:
            begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            if budget:
                begin += f"; SET LOCAL statement_timeout = {int(self.read_budget_s * 1000)}"
            await conn.execute(begin.encode())  # one round trip (no parameters: one simple query)
            try:
                yield PostgresTransaction(self, conn)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await _rollback(conn)  # (a cancelled query closes its connection: nothing to undo)
                raise
            await conn.execute("COMMIT")  # a read has nothing to commit: this ends its snapshot

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        try:
            async with self._pool().connection(timeout=self.busy_timeout_ms / 1000) as conn:
                yield conn
        except PoolTimeout:  # (an OperationalError too: caught first)
            raise StoreBusy("every pooled connection stayed in use", self.path) from None
        except psycopg.OperationalError as exc:
            raise StorageError(self.path, _cause(exc)) from None

    @asynccontextmanager
    async def _within(self, conn: psycopg.AsyncConnection[Any]) -> AsyncIterator[PostgresTransaction]:
        yield PostgresTransaction(self, conn)

    def read(self) -> AbstractAsyncContextManager[PostgresTransaction]:
        current = _current.get()
        if current is not None:
            return self._within(current[1])
        return self._snapshot()

    def lookup(self) -> AbstractAsyncContextManager[PostgresTransaction]:
        """For a read of one statement (a token's agent, say): no transaction round trips."""
        current = _current.get()
        if current is not None:
            return self._within(current[1])
        return self._autocommit()

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[PostgresTransaction]:
        async with self._connection() as conn:
            yield PostgresTransaction(self, conn)

    @property
    def in_read_operation(self) -> bool:
        current = _current.get()
        return current is not None and current[0] == "read"

    async def run_read(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if _current.get() is not None:
            return await op()
        async with self._snapshot(budget=True) as tx:
            token = _current.set(("read", tx._conn))
            try:
                return await op()
            finally:
                _current.reset(token)

    def write(self) -> AbstractAsyncContextManager[PostgresTransaction]:
        current = _current.get()
        if current is None or current[0] != "write":
            raise RuntimeError("PostgresStore.write() is for write operations run by submit() (the service's @writes)")
        return self._savepoint(current[1])

    @asynccontextmanager
    async def _savepoint(self, conn: psycopg.AsyncConnection[Any]) -> AsyncIterator[PostgresTransaction]:
        async with conn.transaction():  # inside the operation's transaction: a savepoint
            yield PostgresTransaction(self, conn)

    async def submit(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a write operation in the next batch (group commit, as the SQLite store): the
        operations that queue while a batch runs are written together, each in a savepoint of
        its own, in one transaction under the write lock, one commit. Cancelled before its batch
        starts it, the operation is dropped; once started, it runs to the end and the
        cancellation waits for its batch."""
        current = _current.get()
        if current is not None and current[0] == "write":
            return await op()
        job = _Job(op, copy_context())
        self._queue.append(job)
        if self._writer is None:
            # A task of the store's own, not of any caller: a caller's cancellation can't stop a
            # batch that other callers wait for.
            self._writer = asyncio.ensure_future(self._write_batches())
        try:
            await job.done.wait()
        except BaseException:
            if not job.running:
                job.dropped = True
                with suppress(ValueError):
                    self._queue.remove(job)
                raise
            with anyio.CancelScope(shield=True):
                await job.done.wait()
            raise
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[no-any-return]

    async def _write_batches(self) -> None:
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
                await self._write_batch(batch)
        finally:
            self._writer = None

    async def _write_batch(self, batch: list[_Job]) -> None:
        try:
            async with self._connection() as conn:
                try:
                    await conn.execute(  # one round trip: the transaction, its lock timeout, the write lock
                        # READ COMMITTED whatever the server's default: each statement after the lock
                        # sees every write committed before it (a REPEATABLE READ snapshot predates it)
                        f"BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = {int(self.busy_timeout_ms)}; "
                        f"SELECT pg_advisory_xact_lock({WRITE_LOCK})".encode()
                    )
                    for job in batch:
                        if job.dropped:  # cancelled while its batch waited for the lock
                            continue
                        job.running = True
                        try:
                            job.value = await self._run_job(conn, job)
                        except Exception as exc:  # this operation only: its savepoint was rolled back
                            job.error = exc
                        if conn.closed or conn.broken:
                            raise StorageError(self.path, "the connection was lost; nothing of the batch was written")
                    try:
                        await conn.execute("COMMIT")
                    except psycopg.Error as exc:
                        raise StorageError(
                            self.path, f"the commit's answer was lost ({_cause(exc)}); check whether the write is there"
                        ) from None
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await _rollback(conn)  # (a cancelled query closes its connection: nothing to undo)
                    raise
        except Exception as exc:  # nothing of the batch is acknowledged; each operation gets the cause
            error: Exception = exc
            if isinstance(exc, pg_errors.LockNotAvailable):
                error = StoreBusy("another instance held the write lock too long", self.path)
            elif isinstance(exc, psycopg.OperationalError):
                error = StorageError(self.path, _cause(exc))
            for job in batch:
                job.value = None
                if job.error is None or not job.running or not isinstance(job.error, HivegovError):
                    job.error = error
        finally:
            for job in batch:
                job.done.set()

    async def _run_job(self, conn: psycopg.AsyncConnection[Any], job: _Job) -> Any:
        """The operation in its savepoint, in its caller's context (as if the caller ran it)."""

        async def in_savepoint() -> Any:
            async with conn.transaction():
                token = _current.set(("write", conn))
                try:
                    return await job.op()
                finally:
                    _current.reset(token)

        return await asyncio.get_running_loop().create_task(in_savepoint(), context=job.context)

    async def wait_for_change(self, seconds: float) -> None:
        """Until an instance appends to the log (NOTIFY), or `seconds` pass."""
        if self._listener is None or self._listener.closed:
            try:
                self._listener = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                await self._listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            except psycopg.Error:
                self._listener = None
                await anyio.sleep(seconds)
                return
        try:
            async for _ in self._listener.notifies(timeout=seconds, stop_after=1):
                break
            # drain whatever else arrived meanwhile: one poll of the log reads them all
            async for _ in self._listener.notifies(timeout=0, stop_after=1000):
                pass
        except psycopg.Error:
            await self._listener.close()
            self._listener = None
            await anyio.sleep(seconds)

    async def close(self) -> None:
        while self._writer is not None:  # let the batches under way finish (callers wait for them)
            with anyio.CancelScope(shield=True):
                await self._writer
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None
