"""SQLite's transactions: the store's queries (hivegov_mcp.store.sql) in SQLite's dialect, with
its search, run one of two ways:

* `DirectTransaction`, on the database's thread inside an operation (a read run by `run_read`,
  or a batch of writes): each statement runs at once, so its coroutines never suspend and the
  operation is driven to its end with one `send`.
* `SQLiteTransaction`, on the event loop outside operations (a snapshot opened by `read()`, a
  one-statement `lookup()`, the migrations): each statement is one call to the thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio

from hivegov_mcp.store.rows import Row
from hivegov_mcp.store.sql import Params, Queries
from hivegov_mcp.store.sqlite.connection import Connection, Owner, sqlite_errors, translate
from hivegov_mcp.store.sqlite.dialect import SQLITE
from hivegov_mcp.store.sqlite.search import FullTextSearch


def execute(owner: Owner, db: sqlite3.Connection, sql: str, params: Params = ()) -> sqlite3.Cursor:
    """One statement, after the owner's hook; SQLite's errors as the store's."""
    if owner.statement_hook is not None:
        owner.statement_hook(sql)
    try:  # inline rather than `sqlite_errors`: this runs for every statement of every write
        return db.execute(sql, params)
    except (sqlite3.Error, UnicodeEncodeError) as exc:
        raise translate(owner.path, exc) from None


def fetch_all(owner: Owner, db: sqlite3.Connection, sql: str, params: Params = ()) -> list[Row]:
    cursor = execute(owner, db, sql, params)
    try:
        return cursor.fetchall()
    except sqlite3.Error as exc:  # (a read interrupted past its budget, say)
        raise translate(owner.path, exc) from None


def insert(owner: Owner, db: sqlite3.Connection, sql: str, params: Params) -> int:
    return execute(owner, db, sql, params).lastrowid or 0


def execute_many(owner: Owner, db: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    if owner.statement_hook is not None:
        owner.statement_hook(sql)
    with sqlite_errors(owner.path):
        db.executemany(sql, rows)


class SQLiteQueries(Queries, FullTextSearch):
    dialect = SQLITE


class DirectTransaction(SQLiteQueries):
    """The queries run at once, on the database's thread."""

    def __init__(self, owner: Owner, db: sqlite3.Connection) -> None:
        self._owner = owner
        self._db = db

    def fresh(self) -> DirectTransaction:
        """Another transaction object on the same connection (and transaction)."""
        return DirectTransaction(self._owner, self._db)

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        return execute(self._owner, self._db, sql, params)

    def _path(self) -> str:
        return self._owner.path

    async def _all(self, sql: str, params: Params = ()) -> list[Row]:
        return fetch_all(self._owner, self._db, sql, params)

    async def _one(self, sql: str, params: Params = ()) -> Row | None:
        found = fetch_all(self._owner, self._db, sql, params)
        return found[0] if found else None

    async def _run(self, sql: str, params: Params = ()) -> None:
        execute(self._owner, self._db, sql, params)

    async def _insert(self, sql: str, params: Params) -> int:
        return insert(self._owner, self._db, sql, params)

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        execute_many(self._owner, self._db, sql, rows)


class SQLiteTransaction(SQLiteQueries):
    """The queries from the event loop, each statement one call to the connection's thread."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._owner = connection.owner

    def _path(self) -> str:
        return self._owner.path

    async def _all(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._connection.call(partial(fetch_all, self._owner, sql=sql, params=params))

    async def _one(self, sql: str, params: Params = ()) -> Row | None:
        found = await self._all(sql, params)
        return found[0] if found else None

    async def _run(self, sql: str, params: Params = ()) -> None:
        await self._connection.call(partial(execute, self._owner, sql=sql, params=params))

    async def _insert(self, sql: str, params: Params) -> int:
        return await self._connection.call(partial(insert, self._owner, sql=sql, params=params))

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._connection.call(partial(execute_many, self._owner, sql=sql, rows=rows))


@asynccontextmanager
async def transaction(connection: Connection, begin: str) -> AsyncIterator[SQLiteTransaction]:
    """A transaction from the event loop (BEGIN … COMMIT), rolled back on any error; once
    committing, it finishes whatever the caller's cancellation: the write is whole or absent."""
    async with connection.lock:
        try:
            await connection.call(partial(execute, connection.owner, sql=begin))
            yield SQLiteTransaction(connection)
        except BaseException:
            await connection.settle()
            raise
        try:
            with anyio.CancelScope(shield=True):
                await connection.call(partial(execute, connection.owner, sql="COMMIT"))
        except BaseException:
            await connection.settle()
            raise


@asynccontextmanager
async def statements(connection: Connection) -> AsyncIterator[SQLiteTransaction]:
    """Statements each in its own implicit transaction (no BEGIN/COMMIT round trips): for a read
    of one statement, which needs no snapshot."""
    async with connection.lock:
        yield SQLiteTransaction(connection)
