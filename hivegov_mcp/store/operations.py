"""An operation: a coroutine the service hands the store to run whole, in one transaction —
a read (`Store.run_read`, one snapshot) or a write (`Store.submit`, its batch's transaction).

While it runs, `current()` is that operation in its context, so `read()`, `lookup()` and
`write()` called from inside it use its transaction rather than opening another. On SQLite an
operation runs on the database's thread, driven by `drive` (see GroupCommit for what it may
await, and why).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")


@dataclass(eq=False)
class Operation:
    kind: Literal["read", "write"]
    store: object  # the store running it (another store's read() opens its own transaction)
    tx: Any  # the engine's transaction; each read(), lookup() or write() in it gets a new one (`tx.fresh()`)
    batch: Any = None  # a write's: the group commit's batch (hivegov_mcp.store.group_commit.Batch)
    savepoints: int = 0  # `write()` blocks open in it now (each a savepoint, named by its depth)


_current: ContextVar[Operation | None] = ContextVar("hivegov_operation", default=None)


def current(store: object) -> Operation | None:
    """The operation of `store` this code runs in, if any."""
    operation = _current.get()
    return operation if operation is not None and operation.store is store else None


def in_write(store: object) -> bool:
    operation = current(store)
    return operation is not None and operation.kind == "write"


@contextmanager
def running(operation: Operation) -> Iterator[Operation]:
    token = _current.set(operation)
    try:
        yield operation
    finally:
        _current.reset(token)


def drive(op: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an operation to its end here and now, on the database's thread (SQLite): its
    statements run at once, so it never suspends and one `send` completes it. One that awaits
    anything else is abandoned (closed: its open savepoints roll back) with RuntimeError."""
    coroutine = op()
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a write operation awaited something other than its transaction; it was abandoned")
