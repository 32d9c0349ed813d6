"""A thread of its own for one SQLite connection: every call on the connection runs there, one
at a time, in the order made. (The stdlib's sqlite3 blocks; this keeps it off the event loop.)

A call made from the event loop returns its result there. A caller cancelled while its call
is queued or running stops waiting; the call itself still runs, in its turn, so what was sent
to the database is never cut off half-way (a rollback queued after it runs after it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import suppress
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")
_Call = tuple["asyncio.Future[Any]", Callable[[], Any]]


class DatabaseThread:
    def __init__(self, name: str) -> None:
        self._calls: SimpleQueue[_Call | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[], T]) -> T:
        """`fn()` on the thread, after every call made before it: its result or its error."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((future, fn))
        return await future

    def stop(self) -> None:
        """End the thread once the calls already made have run."""
        self._calls.put(None)

    def _serve(self) -> None:
        while (call := self._calls.get()) is not None:
            future, fn = call
            try:
                result = fn()
            except BaseException as exc:  # handed to the caller, whatever it is
                _settle(future, None, exc)
            else:
                _settle(future, result, None)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if future.cancelled():  # the caller stopped waiting
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    with suppress(RuntimeError):  # (the event loop is closed: nobody waits any more)
        future.get_loop().call_soon_threadsafe(settle)
