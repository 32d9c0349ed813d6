"""The embedded SQLite store (DESIGN §8): the file, its migrations, read snapshots, and the
write path.

Two connections per process, each with a thread of its own (store/sqlite/thread.py). Reads run
on a `query_only` reader; in WAL mode a reader never waits for a writer. A read operation
(`run_read`) runs whole on the reader's thread in one snapshot, its statements interrupted
past the read budget. Writes go through the group commit (store/group_commit.py): a batch runs
whole on the writer's thread in one `BEGIN IMMEDIATE … COMMIT` (synchronous=FULL: the fsync
covers the batch), each operation driven there by one `send`, so its statements cost no round
trip to the event loop. An in-memory database has one connection for both.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import Context, copy_context
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio

from hivegov_mcp.domain.errors import ReadTooCostly, StorageError, StoreBusy
from hivegov_mcp.store.base import BUSY_TIMEOUT_MS, READ_BUDGET_S
from hivegov_mcp.store.group_commit import GroupCommit, Job
from hivegov_mcp.store.operations import Operation, current, drive, running
from hivegov_mcp.store.rows import ts
from hivegov_mcp.store.sqlite.connection import Connection, StatementHook, store_error
from hivegov_mcp.store.sqlite.migrations import MIGRATIONS
from hivegov_mcp.store.sqlite.transaction import DirectTransaction, SQLiteTransaction, statements, transaction

PROGRESS_STEPS = 10_000  # SQLite virtual-machine steps between two looks at the read's clock
LOCK_POLL_S = (0.0005, 0.002)  # how long a batch sleeps between tries for another process's write lock
T = TypeVar("T")


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (triggers included)."""
    found, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            found.append(buf.strip())
            buf = ""
    if buf.strip():
        found.append(buf.strip())
    return found


class SQLiteBatch:
    """The group commit's batch on SQLite (store/group_commit.py `Batch`): run on the writer's
    thread, every method at once."""

    def __init__(self, store: SQLiteStore, db: sqlite3.Connection) -> None:
        self._store = store
        self._db = db
        self.tx = DirectTransaction(store, db)
        self.broken = False

    async def begin(self) -> None:
        self._begin_immediate()

    def _begin_immediate(self) -> None:
        """BEGIN IMMEDIATE, trying again every millisecond or so while another process writes,
        up to the busy timeout (then StoreBusy). SQLite's own busy handler backs off to 100 ms
        sleeps, so under contention one process could wait seconds while others take turns.
        (On the writer's thread: its sleeps hold up only the writes, which wait for the lock.)"""
        give_up = time.monotonic() + self._store.busy_timeout_ms / 1000
        while True:
            try:
                self.tx.execute("BEGIN IMMEDIATE")
                return
            except StoreBusy:
                if time.monotonic() >= give_up:
                    raise
                time.sleep(random.uniform(*LOCK_POLL_S))

    async def execute(self, statement: str) -> None:
        self.tx.execute(statement)

    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def aborted(self) -> bool:
        return False  # a failed statement undoes only itself

    def lost(self) -> BaseException:
        return StorageError(self._store.path, "the transaction was rolled back; nothing of it was written")

    async def run(self, context: Context, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        return context.run(drive, op)

    async def commit(self) -> None:
        self.tx.execute("COMMIT")

    async def rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is gone or the disk failed: nothing is committed either way


class SQLiteStore:
    """Opens the file, applies migrations, hands out read snapshots and runs write operations."""

    def __init__(self, path: str) -> None:
        self.path = path
        # Called before each statement (on the thread that runs it); tests fail one on purpose.
        self.statement_hook: StatementHook | None = None
        self._writer: Connection | None = None
        self._reader: Connection | None = None
        self.group_commit = GroupCommit(self, self._write_batch)
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
            # From now on the writer takes the write lock itself (SQLiteBatch.begin polls for it).
            await store.writer.call(lambda db: db.execute("PRAGMA busy_timeout = 0"))
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

    async def run(self, op: Callable[[sqlite3.Connection], Any]) -> Any:
        """`op(connection)` on the writer's thread (outside any transaction): its result."""

        def run(db: sqlite3.Connection) -> Any:
            if self.statement_hook is not None:
                self.statement_hook("")
            return op(db)

        return await self.writer.call(run)

    def error(self, exc: sqlite3.Error) -> StoreBusy | StorageError:
        return store_error(self.path, exc)

    # -- migrations ------------------------------------------------------------------------------
    async def _pending_migrations(self) -> bool:
        async with transaction(self.writer, "BEGIN") as tx:
            exists = await tx._one(
                "SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            )
            if exists is None:
                return True
            found = await tx._all("SELECT version FROM schema_migrations")
        return {r["version"] for r in found} != {version for version, _, _ in MIGRATIONS}

    async def _migrate(self) -> None:
        """Apply missing migrations, each recorded in its transaction. Only then is the write lock
        taken: an up-to-date database is opened without waiting for another process's write."""
        if not await self._pending_migrations():
            return
        async with transaction(self.writer, "BEGIN IMMEDIATE") as tx:
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
            found = await tx._all("SELECT version, name FROM schema_migrations ORDER BY version")
        return [(r["version"], r["name"]) for r in found]

    # -- reads -----------------------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return any(c is not None and c.in_transaction for c in (self._writer, self._reader))

    @property
    def in_read_operation(self) -> bool:
        """Inside an operation run by `run_read` (it can't write)."""
        operation = current(self)
        return operation is not None and operation.kind == "read"

    def read(self) -> AbstractAsyncContextManager[SQLiteTransaction | DirectTransaction]:
        """A consistent snapshot for reads, on the reader connection (inside an operation: the
        operation's own transaction)."""
        operation = current(self)
        if operation is not None:
            return _within(operation.tx.fresh())
        return transaction(self.reader, "BEGIN")

    def lookup(self) -> AbstractAsyncContextManager[SQLiteTransaction | DirectTransaction]:
        """For a read of one statement: no transaction round trips, on the reader connection."""
        operation = current(self)
        if operation is not None:
            return _within(operation.tx.fresh())
        return statements(self.reader)

    async def run_read(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a read operation whole on the reader's thread, in one snapshot: one round trip
        from the event loop however many statements it reads. Its result, or its error."""
        if current(self) is not None:
            return await op()
        async with self.reader.lock:  # an in-memory database shares this connection with writes
            return await self.reader.call(partial(self._run_read, op, copy_context()))

    def _run_read(self, op: Callable[[], Coroutine[Any, Any, T]], context: Context, db: sqlite3.Connection) -> T:
        """On the reader's thread. No read can run on: past the budget SQLite interrupts its
        statement, so no query holds the reader (or pins the WAL with its snapshot) for long."""
        tx = DirectTransaction(self, db)
        stop_at = time.monotonic() + self.read_budget_s
        db.set_progress_handler(lambda: time.monotonic() > stop_at, self.progress_steps)
        try:
            tx.execute("BEGIN")
            return context.run(_drive_as, Operation("read", self, tx), op)
        except StorageError as exc:
            if "interrupted" in exc.cause:
                raise ReadTooCostly(self.read_budget_s) from None
            raise
        finally:
            db.set_progress_handler(None, 0)
            if db.in_transaction:
                db.execute("COMMIT")  # a read has nothing to commit: this ends its snapshot

    # -- writes ----------------------------------------------------------------------------------
    def write(self) -> AbstractAsyncContextManager[DirectTransaction]:
        """The one write path: a savepoint inside the batch's transaction, released when the
        block ends and rolled back on any error. Only write operations run by `submit` (the
        service's `@writes`) write."""
        return self.group_commit.savepoint()

    async def submit(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a write operation in the writer's next batch; its result once the batch committed
        (what it may await, and what a cancellation does: see GroupCommit)."""
        return await self.group_commit.submit(op)

    async def _write_batch(self, jobs: list[Job]) -> None:
        """The batch on the writer's thread, driven there whole: one call from the event loop."""

        def write(db: sqlite3.Connection) -> None:
            drive(partial(self.group_commit.write, jobs, SQLiteBatch(self, db)))

        async with self.writer.lock:  # an in-memory database shares this connection with reads
            await self.writer.call(write)

    async def wait_for_change(self, seconds: float) -> None:
        """The change feed's pause: SQLite has no notifications, so the feed polls the log."""
        await anyio.sleep(seconds)

    async def close(self) -> None:
        await self.group_commit.close()
        for connection in {id(c): c for c in (self._reader, self._writer) if c is not None}.values():
            await connection.close()
        self._reader = self._writer = None


def _drive_as(operation: Operation, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with running(operation):
        return drive(op)


@asynccontextmanager
async def _within(tx: Any) -> AsyncIterator[Any]:
    yield tx
