"""What the SQL of every aggregate stands on: a transaction that runs statements in its
engine's dialect. Each engine's transaction class fills this in (store/sqlite/transaction.py,
store/postgres/transaction.py); the aggregates' modules only write SQL and read rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from hivegov_mcp.domain.models import Receipt
from hivegov_mcp.store.dialect import Dialect
from hivegov_mcp.store.rows import Row

Params = Sequence[Any] | Mapping[str, Any]  # positional (dialect.placeholder) or named (dialect.named)


class Executor:
    dialect: ClassVar[Dialect]

    def _path(self) -> str:
        """Where the data lives, for messages."""
        raise NotImplementedError

    async def _all(self, sql: str, params: Params = ()) -> list[Row]:
        raise NotImplementedError

    async def _one(self, sql: str, params: Params = ()) -> Row | None:
        raise NotImplementedError

    async def _run(self, sql: str, params: Params = ()) -> None:
        raise NotImplementedError

    async def _insert(self, sql: str, params: Params) -> int:
        """Run an INSERT that ends with `dialect.returning_id`: the new row's id."""
        raise NotImplementedError

    async def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """One statement for many rows (PostgreSQL pipelines them: one round trip)."""
        raise NotImplementedError

    async def _appended(self, receipt: Receipt) -> None:
        """After an audit append, in its transaction (PostgreSQL wakes the other instances' feeds)."""
