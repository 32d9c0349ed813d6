"""What the PostgreSQL store says about a connection: its URL without the password, the cause
of a failure in one line, and a rollback that never raises."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import psycopg

from hivegov_mcp.store.urls import is_postgres_url, redacted

__all__ = ["cause", "is_postgres_url", "redacted", "rollback"]


def cause(exc: BaseException) -> str:
    """The first line of the error's message."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


async def rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    if conn.closed:
        return
    with suppress(psycopg.Error):  # the connection broke: the server rolls back, the pool discards it
        await conn.execute("ROLLBACK")
