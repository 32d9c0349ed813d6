"""`hivegov-mcp migrate --from sqlite:PATH --to postgresql://…`: a governance copied from a
SQLite file into an empty PostgreSQL database, every row as stored (the audit chain, the
Merkle tree and the signed checkpoints byte for byte), in one transaction that holds the
target's write lock. The caller verifies the copy afterwards through the service.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from hivegov_mcp.domain.errors import Conflict, StorageError
from hivegov_mcp.store.postgres.connection import redacted
from hivegov_mcp.store.postgres.migrations import IDENTITY_TABLES
from hivegov_mcp.store.postgres.store import WRITE_LOCK

# Parents before children (foreign keys); the search index last. schema_migrations is the
# target's own (it was migrated when the service opened it).
TABLES = (
    "agents",
    "delegations",
    "rules_versions",
    "proposals",
    "proposal_versions",
    "rounds",
    "comments",
    "eligible_voters",
    "votes",
    "vote_tallies",
    "appeals",
    "executions",
    "validations",
    "round_summaries",
    "webhooks",
    "webhook_deliveries",
    "oauth_clients",
    "oauth_grants",
    "oauth_codes",
    "oauth_tokens",
    "audit_events",
    "audit_tree",
    "audit_checkpoints",
)
SEARCH = ("rowid", "proposal_id", "kind", "comment_id", "title", "body")
BATCH = 5_000


def _rows(con: sqlite3.Connection, sql: str) -> Iterator[list[tuple[Any, ...]]]:
    cursor = con.execute(sql)
    while batch := cursor.fetchmany(BATCH):
        yield batch


def copy_governance(source: Path, target: str) -> dict[str, int]:
    """Copy every table; how many rows of each. The target must hold no governance yet."""
    con = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    con.text_factory = bytes  # the stored bytes: decoded below, so that bad UTF-8 is refused by name
    con.execute("BEGIN")  # one snapshot of the source for every table, whatever writes it meanwhile
    counts: dict[str, int] = {}
    try:
        with psycopg.connect(target) as pg, pg.transaction():
            pg.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            row = pg.execute("SELECT (SELECT COUNT(*) FROM audit_events) + (SELECT COUNT(*) FROM agents)").fetchone()
            if row is not None and row[0]:
                raise Conflict(
                    f"The PostgreSQL database {redacted(target)} holds a governance already.",
                    "Copy into an empty database (a new one, or a new schema).",
                )
            for table in (*TABLES, "search_index"):
                columns = SEARCH if table == "search_index" else _columns(con, table)
                order = "level, idx" if table == "audit_tree" else "rowid"  # (the one table WITHOUT ROWID)
                insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.SQL(", ").join(sql.Placeholder() * len(columns)),
                )
                counts[table] = 0
                with pg.cursor() as cur:
                    for batch in _rows(con, f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"):
                        cur.executemany(
                            insert,
                            [tuple(_decode(table, c, v) for c, v in zip(columns, r, strict=True)) for r in batch],
                        )
                        counts[table] += len(batch)
            for table in IDENTITY_TABLES:  # the next id the database assigns follows the copied ones
                pg.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence({}, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {}"
                    ).format(sql.Literal(table), sql.Identifier(table))
                )
    except sqlite3.Error as exc:
        raise StorageError(str(source), str(exc)) from None
    except psycopg.OperationalError as exc:
        raise StorageError(redacted(target), str(exc).strip().splitlines()[0]) from None
    finally:
        con.close()
    return counts


def _columns(con: sqlite3.Connection, table: str) -> tuple[str, ...]:
    return tuple(r[1].decode() if isinstance(r[1], bytes) else r[1] for r in con.execute(f"PRAGMA table_info({table})"))


BINARY = {("audit_tree", "hash"), ("audit_checkpoints", "root")}


def _decode(table: str, column: str, value: Any) -> Any:
    if not isinstance(value, bytes) or (table, column) in BINARY:
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise StorageError(
            f"{table}.{column}", "holds bytes that are not UTF-8 (a tampered row?): run `audit verify` on the source"
        ) from None
