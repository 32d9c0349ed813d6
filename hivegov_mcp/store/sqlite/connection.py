"""One SQLite connection (the stdlib's sqlite3) on a thread of its own, and SQLite's errors as
the store's: StoreBusy or StorageError naming the file (DESIGN §8)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Protocol, TypeVar

import anyio

from hivegov_mcp.domain.errors import InvalidInput, StorageError, StoreBusy
from hivegov_mcp.store.sqlite.thread import DatabaseThread

T = TypeVar("T")
StatementHook = Callable[[str], None]  # called before each statement (tests fail one on purpose)


class Owner(Protocol):
    """The store a connection serves: its file, and the hook its statements call."""

    path: str
    statement_hook: StatementHook | None


def cause(exc: sqlite3.Error, path: str = ":memory:") -> str:
    """SQLite's reason, with what it usually means on disk when SQLite's own words are vague."""
    text = str(exc) or type(exc).__name__
    folder = os.path.dirname(os.path.abspath(path))
    if path != ":memory:" and "unable to open" in text and not os.access(folder, os.W_OK):
        text += f" (its folder {folder} is not writable: a read-only mount?)"
    return text


def store_error(path: str, exc: sqlite3.Error) -> StoreBusy | StorageError:
    text = cause(exc, path)
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
        return StoreBusy(text, path)
    return StorageError(path, text)


def translate(path: str, exc: Exception) -> Exception:
    """SQLite's error as the store's: StoreBusy or StorageError naming the file."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return exc  # a broken constraint or a misused connection is a bug, not the disk: keep it visible
    if isinstance(exc, sqlite3.Error):
        return store_error(path, exc)
    if isinstance(exc, UnicodeEncodeError):  # text that is not Unicode (a lone surrogate) can't be stored
        return InvalidInput("text", f"contains {exc.object[exc.start : exc.end]!r}, which is not valid Unicode")
    return exc


@contextmanager
def sqlite_errors(path: str) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, UnicodeEncodeError) as exc:
        error = translate(path, exc)
        if error is exc:
            raise
        raise error from (exc if isinstance(exc, sqlite3.Error) else None)


class Connection:
    """A sqlite3 connection, the thread every call on it runs on, and its lock: transactions on
    it never interleave (a transaction of several calls holds it)."""

    def __init__(self, owner: Owner, thread: DatabaseThread, db: sqlite3.Connection) -> None:
        self.owner = owner
        self.db = db  # used on `thread` only (but for reading `in_transaction`)
        self.lock = anyio.Lock()
        self._thread = thread

    @property
    def path(self) -> str:
        return self.owner.path

    @classmethod
    async def connect(cls, owner: Owner, *, busy_timeout_ms: int, read_only: bool) -> Connection:
        thread = DatabaseThread("hivegov-sqlite-" + ("reader" if read_only else "writer"))

        def connect() -> sqlite3.Connection:
            db = sqlite3.connect(
                owner.path, isolation_level=None, timeout=busy_timeout_ms / 1000, check_same_thread=False
            )
            db.row_factory = sqlite3.Row
            return db

        try:
            db = await thread.call(connect)
        except sqlite3.Error as exc:
            thread.stop()
            raise StorageError(owner.path, cause(exc, owner.path)) from None
        connection = cls(owner, thread, db)
        pragmas = [f"PRAGMA busy_timeout = {int(busy_timeout_ms)}"]
        if read_only:
            pragmas.append("PRAGMA query_only = ON")
        else:
            pragmas += ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"]

        def apply(db: sqlite3.Connection) -> None:
            for pragma in pragmas:
                db.execute(pragma)

        try:
            await connection.call(apply)
        except BaseException:
            await connection.close()
            raise
        return connection

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` on the connection's thread, SQLite's errors as the store's."""

        def run() -> T:
            try:  # (inline rather than `sqlite_errors`: this runs for every call)
                return fn(self.db)
            except (sqlite3.Error, UnicodeEncodeError) as exc:
                error = translate(self.owner.path, exc)
                if error is exc:
                    raise
                raise error from (exc if isinstance(exc, sqlite3.Error) else None)

        return await self._thread.call(run)

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    async def settle(self) -> None:
        """After a failure or a cancellation: roll back, once the call in flight has ended (the
        thread runs calls in order). Shielded, so a cancelled request still releases the database
        before it unwinds."""

        def rollback(db: sqlite3.Connection) -> None:
            if db.in_transaction:
                db.execute("ROLLBACK")

        # (an error: the connection is gone or the disk failed, and nothing is committed either way)
        with anyio.CancelScope(shield=True), suppress(sqlite3.Error):
            await self._thread.call(lambda: rollback(self.db))

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await self._thread.call(self.db.close)
            finally:
                self._thread.stop()
