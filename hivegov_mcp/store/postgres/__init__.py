"""The PostgreSQL store (DESIGN §17).

store.py        PostgresStore: the pool, migrations, snapshots, the write path, the change feed
transaction.py  the store's queries in PostgreSQL's dialect (dialect.py), psycopg's errors as the store's
search.py       full-text search over tsvector
connection.py   URLs without their password, one-line causes
migrations.py   the schema, numbered as SQLite's, applied on open
"""

from __future__ import annotations

from hivegov_mcp.store.postgres.connection import is_postgres_url, redacted
from hivegov_mcp.store.postgres.store import WRITE_LOCK, PostgresStore

__all__ = ["WRITE_LOCK", "PostgresStore", "is_postgres_url", "redacted"]
