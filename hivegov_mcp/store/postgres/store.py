"""The PostgreSQL store (DESIGN §17): the same interface and the same SQL as the SQLite store,
for several server instances on several machines sharing one governance.

psycopg 3, async, with a connection pool. Writes go through the group commit
(store/group_commit.py): each batch is one READ COMMITTED transaction that first takes a
transaction-scoped advisory lock, so writes are serialized across every instance, as SQLite's
write lock serializes them across processes: sequence numbers stay contiguous, the hash chain
and the Merkle tree stay valid, a close race has one winner and a deadline is applied once.
Reads run in REPEATABLE READ READ ONLY snapshots, a read operation's statements bounded by the
read budget. Each audit append NOTIFYs the log's channel on commit: the change feed of every
instance wakes up at once instead of polling.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import Context
from datetime import datetime
from typing import Any, TypeVar

import anyio
import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from hivegov_mcp.domain.errors import StorageError, StoreBusy
from hivegov_mcp.store.base import BUSY_TIMEOUT_MS, READ_BUDGET_S
from hivegov_mcp.store.group_commit import GroupCommit, Job
from hivegov_mcp.store.operations import Operation, current, running
from hivegov_mcp.store.postgres.connection import cause, redacted, rollback
from hivegov_mcp.store.postgres.migrations import PG_MIGRATIONS
from hivegov_mcp.store.postgres.transaction import PostgresTransaction
from hivegov_mcp.store.rows import ts

T = TypeVar("T")
WRITE_LOCK = 0x68697665  # "hive": the advisory lock every write transaction takes
POOL_SIZE = 10


class PostgresBatch:
    """The group commit's batch on PostgreSQL (store/group_commit.py `Batch`), on one pooled
    connection; each operation a task on the event loop, in its caller's context."""

    def __init__(self, store: PostgresStore, conn: psycopg.AsyncConnection[Any]) -> None:
        self._store = store
        self._conn = conn
        self.tx = PostgresTransaction(store, conn)
        self.broken = False

    async def begin(self) -> None:
        if self._conn.closed:
            raise self.lost()
        try:
            await self._conn.execute(  # one round trip: the transaction, its lock timeout, the write lock
                # READ COMMITTED whatever the server's default: each statement after the lock
                # sees every write committed before it (a REPEATABLE READ snapshot predates it)
                f"BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = {int(self._store.busy_timeout_ms)}; "
                f"SELECT pg_advisory_xact_lock({WRITE_LOCK})".encode()
            )
        except pg_errors.LockNotAvailable:
            raise StoreBusy("another instance held the write lock too long", self._store.path) from None
        except psycopg.OperationalError as exc:
            raise StorageError(self._store.path, cause(exc)) from None

    async def execute(self, statement: str) -> None:
        await self.tx._run(statement)

    def in_transaction(self) -> bool:
        if self._conn.closed or self._conn.broken:
            return False
        return self._conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def aborted(self) -> bool:
        return self._conn.info.transaction_status == TransactionStatus.INERROR

    def lost(self) -> BaseException:
        return StorageError(self._store.path, "the connection was lost; nothing of the batch was written")

    async def run(self, context: Context, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return await asyncio.get_running_loop().create_task(op(), context=context)

    async def commit(self) -> None:
        try:
            await self._conn.execute("COMMIT")
        except psycopg.Error as exc:
            raise StorageError(
                self._store.path, f"the commit's answer was lost ({cause(exc)}); check whether the write is there"
            ) from None

    async def rollback(self) -> None:
        with anyio.CancelScope(shield=True):
            await rollback(self._conn)  # (a cancelled query closes its connection: nothing to undo)


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
        self.group_commit = GroupCommit(self, self._write_batch)
        self._listener: psycopg.AsyncConnection[Any] | None = None

    @classmethod
    async def open(cls, url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> PostgresStore:
        store = cls(url)
        store.busy_timeout_ms = busy_timeout_ms
        try:  # one connection first: a wrong URL or a server that is down is said at once
            first = await psycopg.AsyncConnection.connect(url, connect_timeout=10)
            await first.close()
        except psycopg.Error as exc:
            raise StorageError(store.path, f"no connection to PostgreSQL ({cause(exc)})") from None
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
            raise StorageError(store.path, f"no connection to PostgreSQL ({cause(exc)})") from None
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
            found = await tx._all("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(int(r["version"]), r["name"]) for r in found]

    # -- reads -----------------------------------------------------------------------------------
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
                    await rollback(conn)  # (a cancelled query closes its connection: nothing to undo)
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
            raise StorageError(self.path, cause(exc)) from None

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[PostgresTransaction]:
        async with self._connection() as conn:
            yield PostgresTransaction(self, conn)

    def read(self) -> AbstractAsyncContextManager[PostgresTransaction]:
        operation = current(self)
        if operation is not None:
            return _within(operation.tx.fresh())
        return self._snapshot()

    def lookup(self) -> AbstractAsyncContextManager[PostgresTransaction]:
        """For a read of one statement (a token's agent, say): no transaction round trips."""
        operation = current(self)
        if operation is not None:
            return _within(operation.tx.fresh())
        return self._autocommit()

    @property
    def in_read_operation(self) -> bool:
        operation = current(self)
        return operation is not None and operation.kind == "read"

    async def run_read(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if current(self) is not None:
            return await op()
        async with self._snapshot(budget=True) as tx:
            with running(Operation("read", self, tx)):
                return await op()

    # -- writes ----------------------------------------------------------------------------------
    def write(self) -> AbstractAsyncContextManager[PostgresTransaction]:
        """A savepoint of its own inside the batch's transaction; only inside a write operation."""
        return self.group_commit.savepoint()

    async def submit(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a write operation in the next batch (what it may await, and what a cancellation
        does: see GroupCommit); its result once its batch committed."""
        return await self.group_commit.submit(op)

    async def _write_batch(self, jobs: list[Job]) -> None:
        async with self._connection() as conn:
            await self.group_commit.write(jobs, PostgresBatch(self, conn))

    # -- the change feed -------------------------------------------------------------------------
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
        await self.group_commit.close()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self.pool is not None:
            await self.pool.close()
            self.pool = None


@asynccontextmanager
async def _within(tx: PostgresTransaction) -> AsyncIterator[PostgresTransaction]:
    yield tx
