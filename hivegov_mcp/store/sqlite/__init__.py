"""The embedded SQLite store (DESIGN §8).

store.py        SQLiteStore: the file, migrations, snapshots, the write path
connection.py   one sqlite3 connection on its own thread (thread.py); SQLite's errors as the store's
transaction.py  the store's queries in SQLite's dialect (dialect.py), run on or off that thread
search.py       full-text search over FTS5
migrations.py   the schema, numbered, applied on open
"""

from __future__ import annotations

from hivegov_mcp.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
