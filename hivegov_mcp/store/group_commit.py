"""Group commit: the one write path of both stores (DESIGN §8, §17).

Every write operation is queued (`submit`). One task of the store's own takes the queue a batch
at a time (up to MAX_BATCH operations) and writes the batch in one transaction, holding the
write lock of every process or instance (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory
lock): each operation in a savepoint of its own, then one COMMIT, so one fsync covers the
batch. An operation is acknowledged only once its batch committed. The operations that queue
while a batch is written form the next one.

What an operation may await (the rule for whoever writes one, i.e. a service method marked
`@writes`): the statements of its own transaction — `store.write()`, and `store.read()` or
`store.lookup()`, which inside an operation give its transaction — and nothing else: no sleep,
no lock, no network call, no other task, no `store.submit` of another store. Why:

* On SQLite the whole batch runs on the database's thread, and each operation is driven there
  by one `send` (`operations.drive`): its statements run at once, so the coroutine never
  suspends, and a batch costs one round trip from the event loop however many statements it
  runs. There is no event loop on that thread: an operation that awaits anything else is
  abandoned with RuntimeError (its open savepoints roll back) and fails alone.
* On PostgreSQL the operation runs as a task on the event loop, so such an await would work;
  but it would hold the write lock of every instance while it waits. The rule is the same.

A read operation (`@reads`, run by `Store.run_read`) follows the same rule, for the same
reason: on SQLite it runs whole on the reader's thread, in one snapshot.

A failure is the operation's own: one that raises gets its error, its failed `write()` block
rolled back; its `write()` blocks that completed stand (the service applies a passed deadline
in one, then may refuse the request), unless a failed statement aborted the whole transaction
(PostgreSQL), in which case nothing of it stands. The other operations of the batch go on. A
batch that can't commit (no write lock within the busy timeout, a lost connection, a full
disk) fails every operation that ran in it with the cause; nothing of it is written.

Cancellation: a caller cancelled while its operation waits in the queue, or in a batch that
waits for the write lock, drops it: it never runs. Once started it runs to its end: the
cancelled caller waits, shielded, for its batch's COMMIT, then sees its cancellation. So a
write is whole or absent whenever its caller is cancelled.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import Context, copy_context
from functools import partial
from typing import Any, Protocol, TypeVar

import anyio

from hivegov_mcp.store.operations import Operation, current, in_write, running

MAX_BATCH = 256  # write operations committed together at most
T = TypeVar("T")
WriteOp = Callable[[], Coroutine[Any, Any, Any]]


class Job:
    """One queued write operation and, once its batch is written, its outcome."""

    __slots__ = ("context", "done", "dropped", "error", "op", "running", "signal", "taken", "value")

    def __init__(self, op: WriteOp) -> None:
        self.op = op
        self.context: Context = copy_context()  # the request's context vars (the log's agent)
        self.signal = anyio.Event()  # set once the job is done
        self.taken = False  # in a batch (it may still wait there for the write lock)
        self.running = False  # started: from then on it runs to the end
        self.dropped = False  # cancelled before it started: the batch skips it
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None


class Batch(Protocol):
    """An engine's side of one batch: a transaction on its writer connection. On SQLite each
    method runs at once on the database's thread (the batch is driven there)."""

    tx: Any  # the transaction the operations' statements go through
    broken: bool  # a savepoint could not be undone: the transaction must not commit

    async def begin(self) -> None:
        """Start the transaction holding the write lock; StoreBusy past the busy timeout."""

    async def execute(self, statement: str) -> None:
        """A statement of the batch's own (a savepoint's)."""

    def in_transaction(self) -> bool:
        """The transaction is still open (SQLite rolls it back itself on a full disk)."""

    def aborted(self) -> bool:
        """A failed statement aborted the transaction: only a rollback to a savepoint goes on."""

    def lost(self) -> BaseException:
        """The error each operation of a transaction that can't go on gets, failing no other way."""

    async def run(self, context: Context, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run `op` to its end in `context` (the caller's), as this engine runs an operation."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None:
        """Roll back whatever is open; never raises (nothing is committed either way)."""


class GroupCommit:
    """The queue, the batches and the cancellation contract of one store's writes.

    `write_batch(jobs)` is the engine's: it opens a `Batch` on the writer connection and has
    `write(jobs, batch)` write it (on SQLite, driven on the database's thread)."""

    def __init__(self, store: object, write_batch: Callable[[list[Job]], Awaitable[None]]) -> None:
        self._store = store
        self._write_batch = write_batch
        self._queue: deque[Job] = deque()  # write operations waiting for a batch
        self._task: asyncio.Task[None] | None = None  # the task writing batches, while any wait
        self._lock = threading.Lock()  # a job's start (maybe on the database's thread) against its cancellation
        self.batches = 0  # batches written so far (committed or not)
        self.writing = 0  # operations in the batch under way (it may still wait for the write lock)

    @property
    def queued(self) -> int:
        """Operations waiting for a batch."""
        return len(self._queue)

    async def submit(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a write operation in the next batch; its result once its batch committed."""
        if in_write(self._store):  # one write operation calling another: the same batch, the same savepoint
            return await op()
        job = Job(op)
        self._queue.append(job)
        if self._task is None:
            # A task of the store's own, not of any caller: a caller's cancellation can't stop a
            # batch that other callers wait for.
            self._task = asyncio.ensure_future(self._write_batches())
        try:
            await job.signal.wait()
        except BaseException:
            with self._lock:
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

    async def _write_batches(self) -> None:
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(MAX_BATCH, len(self._queue)))]
                for job in batch:
                    job.taken = True
                self.writing = len(batch)
                try:
                    await self._write_batch(batch)
                except BaseException as exc:  # no batch could be opened: the connection is gone
                    self._fail(batch, exc)
                    if not isinstance(exc, Exception):  # the event loop is closing: nothing more is written
                        batch += self._queue
                        self._queue.clear()
                        self._fail(batch, exc)
                        raise
                finally:
                    self.batches += 1
                    self.writing = 0
                    self._done(batch)
        finally:
            self._task = None

    @staticmethod
    def _done(jobs: Iterable[Job]) -> None:
        for job in jobs:
            job.done = True
            job.signal.set()

    async def write(self, jobs: list[Job], batch: Batch) -> None:
        """Write the jobs: a transaction, each operation in its savepoint, one COMMIT. Operations
        after one that broke the transaction go on in a new one. Every job ends with a value or
        an error."""
        pending = deque(jobs)
        try:
            while pending:
                try:
                    await batch.begin()
                except Exception as exc:
                    await batch.rollback()
                    self._fail(pending, exc)
                    return
                ran: list[Job] = []
                while pending:
                    job = pending.popleft()
                    if not self._start(job):  # cancelled while its batch waited for the write lock
                        continue
                    ran.append(job)
                    try:
                        job.value = await batch.run(job.context, partial(self._operate, job, batch))
                    except Exception as exc:
                        job.error = exc
                    if batch.broken or not batch.in_transaction():  # it can't commit any more
                        await batch.rollback()
                        self._fail(ran, job.error or batch.lost())
                        break
                else:
                    try:
                        await batch.commit()
                    except Exception as exc:
                        await batch.rollback()
                        self._fail(ran, exc)
        except BaseException as exc:  # interrupted (the event loop is closing): nothing is written
            await batch.rollback()
            self._fail(jobs, exc)
            raise

    def _start(self, job: Job) -> bool:
        with self._lock:
            if job.dropped:
                return False
            job.running = True
            return True

    @staticmethod
    def _fail(jobs: Iterable[Job], error: BaseException) -> None:
        """None of these operations is written: each gets `error`, unless it failed on its own."""
        for job in jobs:
            job.value = None
            if job.error is None:
                job.error = error

    # -- savepoints ----------------------------------------------------------------------------
    async def _operate(self, job: Job, batch: Batch) -> Any:
        """The operation in its savepoint, as the current write operation of its context."""
        with running(Operation("write", self._store, batch.tx, batch)):
            await batch.execute("SAVEPOINT operation")
            try:
                value = await job.op()
            except BaseException:
                await self._end_failed(batch)
                raise
            await self._release(batch, "operation")
            return value

    async def _end_failed(self, batch: Batch) -> None:
        """After an operation raised: its completed `write()` blocks stand, unless a failed
        statement aborted the transaction (then nothing of the operation does)."""
        if batch.aborted():
            await self._undo(batch, "operation")
        elif batch.in_transaction():
            await self._release(batch, "operation")

    def savepoint(self) -> AbstractAsyncContextManager[Any]:
        """A `write()` block of the current operation: its own savepoint, released when the
        block ends, rolled back on any error. Its transaction is the operation's."""
        operation = current(self._store)
        if operation is None or operation.kind != "write":
            name = type(self._store).__name__
            raise RuntimeError(f"{name}.write() is for write operations run by submit() (the service's @writes)")
        return self._savepoint(operation)

    @asynccontextmanager
    async def _savepoint(self, operation: Operation) -> AsyncIterator[Any]:
        batch: Batch = operation.batch
        operation.savepoints += 1
        name = f"write{operation.savepoints}"
        try:
            await batch.execute(f"SAVEPOINT {name}")
            try:
                yield operation.tx.fresh()  # a transaction object per block (the service caches by it)
            except BaseException:
                await self._undo(batch, name)
                raise
            await self._release(batch, name)
        finally:
            operation.savepoints -= 1

    async def _release(self, batch: Batch, name: str) -> None:
        try:
            await batch.execute(f"RELEASE {name}")
        except BaseException:
            await self._undo(batch, name)
            raise

    @staticmethod
    async def _undo(batch: Batch, name: str) -> None:
        try:
            if batch.in_transaction():  # SQLite may have rolled back the whole batch already (disk full)
                await batch.execute(f"ROLLBACK TO {name}")
                await batch.execute(f"RELEASE {name}")
        except BaseException:
            batch.broken = True  # the savepoint could not be undone: the batch must not commit
            raise

    async def close(self) -> None:
        """Wait for the batches under way (their callers wait for them)."""
        while self._task is not None:
            with anyio.CancelScope(shield=True):
                await asyncio.wait([self._task])
