"""What the PostgreSQL store says about a connection: its URL without the password, the cause
of a failure in one line, and a rollback that never raises."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password (in the user part or in the query), for messages."""
    parts = urlsplit(url)
    user, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{user.split(':', 1)[0]}@{hosts}" if at else hosts
    query = "&".join(q for q in parts.query.split("&") if q and not q.lower().startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def cause(exc: BaseException) -> str:
    """The first line of the error's message."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


async def rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    if conn.closed:
        return
    with suppress(psycopg.Error):  # the connection broke: the server rolls back, the pool discards it
        await conn.execute("ROLLBACK")
