"""Database URLs, without importing a database driver: whether `--db` names PostgreSQL, and a URL
without its password for messages. (A stdio server on SQLite never imports psycopg.)"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def is_postgres_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("postgresql://", "postgres://"))


def redacted(url: str) -> str:
    """The URL without its password (in the user part or in the query), for messages."""
    parts = urlsplit(url)
    user, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{user.split(':', 1)[0]}@{hosts}" if at else hosts
    query = "&".join(q for q in parts.query.split("&") if q and not q.lower().startswith("password="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
