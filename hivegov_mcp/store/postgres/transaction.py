"""PostgreSQL's transaction: the store's queries (hivegov_mcp.store.sql) in PostgreSQL's
dialect, with its search, on one pooled connection (psycopg 3, async); psycopg's errors as the
store's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row

from hivegov_mcp.domain.errors import InvalidInput, ReadTooCostly, StorageError
from hivegov_mcp.domain.models import Receipt
from hivegov_mcp.store.postgres.connection import cause
from hivegov_mcp.store.postgres.dialect import POSTGRES
from hivegov_mcp.store.postgres.search import TextSearch
from hivegov_mcp.store.rows import Row
from hivegov_mcp.store.sql import Params, Queries


class Owner(Protocol):
    """The store a transaction belongs to."""

    path: str  # the URL without its password
    read_budget_s: float
    channel: str  # the log's NOTIFY channel


class PostgresTransaction(Queries, TextSearch):
    dialect = POSTGRES

    def __init__(self, owner: Owner, conn: psycopg.AsyncConnection[Any]) -> None:
        self._owner = owner
        self.conn = conn

    def fresh(self) -> PostgresTransaction:
        """Another transaction object on the same connection (and transaction)."""
        return PostgresTransaction(self._owner, self.conn)

    def _path(self) -> str:
        return self._owner.path

    async def _all(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            async with self.conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(sql, params)
                found: list[Row] = list(await cur.fetchall()) if cur.description else []
                return found
        except psycopg.Error as exc:
            raise self._store_error(exc) from None

    async def _one(self, sql: str, params: Params = ()) -> Row | None:
        found = await self._all(sql, params)
        return found[0] if found else None

    async def _run(self, sql: str, params: Params = ()) -> None:
        try:
            await self.conn.execute(sql, params or None)  # (no parameters: the statement as it is)
        except psycopg.Error as exc:
            raise self._store_error(exc) from None

    async def _insert(self, sql: str, params: Params) -> int:
        found = await self._all(sql, params)
        return int(found[0]["id"]) if found else 0

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if not batch:
            return
        try:
            async with self.conn.cursor() as cur:
                await cur.executemany(sql, batch)  # pipelined: one round trip
        except psycopg.Error as exc:
            raise self._store_error(exc) from None

    async def _appended(self, receipt: Receipt) -> None:
        await self._run("SELECT pg_notify(%s, %s)", (self._owner.channel, str(receipt.seq)))  # delivered on commit

    def _store_error(self, exc: psycopg.Error) -> Exception:
        """psycopg's error as the store's (DESIGN §8): what the caller can act on, named."""
        if isinstance(exc, pg_errors.QueryCanceled):
            return ReadTooCostly(self._owner.read_budget_s)
        if isinstance(exc, psycopg.DataError) and "NUL" in str(exc):  # refused before it is sent
            return InvalidInput("text", "contains a NUL byte; remove it and try again")
        if isinstance(exc, pg_errors.IntegrityError | pg_errors.ProgrammingError | pg_errors.RaiseException):
            return exc  # a broken constraint, a bug, or the append-only guard: keep it visible
        if isinstance(exc, psycopg.DataError):
            return exc
        return StorageError(self._owner.path, cause(exc))
