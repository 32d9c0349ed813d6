"""PostgreSQL schemas for the store contract: migrated once, emptied after each test.

A test on PostgreSQL needs a migrated schema with nothing in it. Creating and migrating one costs
~50 ms (the migrations are DDL), and the suite runs some 200 such tests. So a schema is migrated
once, through `open_service` as any first instance migrates it, handed to one test at a time, and
emptied after it: every row deleted except those the migrations wrote, every sequence restarted,
so ids, sequence numbers and the audit chain start over as on a new schema. What a governance
keeps (its rules, the audit log, the Merkle tree, the checkpoints and the log's name) is rows;
what derives from the schema's name (the NOTIFY channel) reaches nobody once the test's stores
are closed, since a notification goes only to sessions listening when it is sent.

TRUNCATE would empty the tables in one statement, but it gives every table and index a new file:
~80 ms, more than migrating. Deleting a test's few rows, restarting the sequences and checking the
schema takes ~7 ms. The log's guards (the store's append-only triggers) refuse the deletes, so the
emptying transaction switches the user triggers of those tables off and on again, as the tables'
owner may, superuser or not.

A test may change the schema itself (a tamper test drops a guard behind the server's back). After
emptying, the schema's catalogue (tables, columns and defaults, constraints, indexes, triggers and
whether they fire, rules, functions) and the rows the migrations wrote are compared with what they
were after migrating; a schema that differs, or could not be emptied within the lock timeout, is
dropped, and the next test gets a newly migrated one. Every schema is dropped at the session's end,
so a server given by HIVEGOV_TEST_PG_URL keeps none.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import psycopg
from psycopg import sql

from hivegov_mcp.app import open_service
from hivegov_mcp.settings import Settings

LOCK_TIMEOUT = "5s"  # a store a test left open holds its locks: give up on that schema rather than wait

# One line per object of the schema, hashed: what a test could change besides rows.
CATALOGUE = """
SELECT md5(string_agg(line, E'\\n' ORDER BY line)) FROM (
  SELECT concat_ws(' ', 'class', c.relname, c.relkind, c.relpersistence, c.relrowsecurity)
    FROM pg_class c WHERE c.relnamespace = {namespace}
  UNION ALL
  SELECT concat_ws(' ', 'column', c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = {namespace} AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT concat_ws(' ', 'constraint', k.conname, pg_get_constraintdef(k.oid))
    FROM pg_constraint k WHERE k.connamespace = {namespace}
  UNION ALL
  SELECT concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = {namespace}
  UNION ALL
  SELECT concat_ws(' ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = {namespace}
  UNION ALL
  SELECT concat_ws(' ', 'rule', pg_get_ruledef(r.oid))
    FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE c.relnamespace = {namespace}
  UNION ALL
  SELECT concat_ws(' ', 'function', pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.pronamespace = {namespace}
) AS objects(line)
"""


class MigratedSchemas:
    """Migrated, empty schemas on one server, lent to one test at a time (`take`, `give_back`),
    all dropped by `close`."""

    def __init__(self, server: str, key_folder: Path) -> None:
        self.server = server
        self.key_folder = key_folder  # the migrating service's signing key goes here (it signs nothing)
        self.free: list[str] = []
        self.created: list[str] = []
        self.emptying: dict[str, sql.Composed] = {}  # schema -> the script that empties it
        self.checking: dict[str, sql.Composed] = {}  # schema -> the query of its state
        self.pristine: dict[str, tuple[object, ...]] = {}  # schema -> its state, as migrated
        self.rebuilt = 0  # schemas dropped because a test changed them, or left them locked
        self._con: psycopg.Connection[tuple[object, ...]] | None = None

    def url(self, schema: str) -> str:
        sep = "&" if "?" in self.server else "?"
        return f"{self.server}{sep}options=-csearch_path%3D{schema}"

    def take(self) -> str:
        return self.free.pop() if self.free else self._migrated()

    def give_back(self, schema: str) -> None:
        """Empty the schema for the next test; drop it if the test changed more than rows."""
        try:
            con = self._connection()
            with con.transaction():
                con.execute(self.emptying[schema])
            intact = con.execute(self.checking[schema]).fetchone() == self.pristine[schema]
        except psycopg.Error:
            intact = False
        if intact:
            self.free.append(schema)
            return
        self.rebuilt += 1
        self._drop(schema)

    def close(self) -> None:
        for schema in list(self.created):
            self._drop(schema)
        if self._con is not None:
            self._con.close()

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._con is None or self._con.closed or self._con.broken:
            self._con = psycopg.connect(self.server, autocommit=True)
        return self._con

    def _migrated(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        name = sql.Identifier(schema)
        con = self._connection()
        con.execute(sql.SQL("CREATE SCHEMA {}").format(name))
        self.created.append(schema)
        settings = Settings(db=self.url(schema), signing_key=self.key_folder / f"{schema}.ed25519")

        async def migrate() -> None:
            async with open_service(settings, store_rules=False):  # migrations only: no rules, no event
                pass

        with ThreadPoolExecutor(1) as thread:  # its own event loop, whatever the caller runs in
            thread.submit(anyio.run, migrate).result()

        tables = [str(r[0]) for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
        kept = sorted(t for t in tables if self._has_rows(con, schema, t))  # the migrations' own rows stay
        emptied = [sql.SQL("{}.{}").format(name, sql.Identifier(t)) for t in tables if t not in kept]
        guarded = [
            sql.SQL("{}.{}").format(name, sql.Identifier(str(r[0])))
            for r in con.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = %s",
                (schema,),
            )
        ]
        self.emptying[schema] = self._emptying(schema, emptied, guarded)
        namespace = sql.SQL("(SELECT oid FROM pg_namespace WHERE nspname = {})").format(sql.Literal(schema))
        rows = sql.SQL("(SELECT md5(string_agg(r::text, E'\\n' ORDER BY r::text)) FROM {}.{} AS r)")
        self.checking[schema] = sql.SQL("SELECT ({}), {}").format(
            sql.SQL(CATALOGUE).format(namespace=namespace),
            sql.SQL(", ").join(rows.format(name, sql.Identifier(t)) for t in kept) if kept else sql.SQL("0"),
        )
        pristine = con.execute(self.checking[schema]).fetchone()
        assert pristine is not None
        self.pristine[schema] = pristine
        return schema

    @staticmethod
    def _has_rows(con: psycopg.Connection[tuple[object, ...]], schema: str, table: str) -> bool:
        query = sql.SQL("SELECT EXISTS (SELECT FROM {}.{})").format(sql.Identifier(schema), sql.Identifier(table))
        row = con.execute(query).fetchone()
        return bool(row and row[0])

    @staticmethod
    def _emptying(schema: str, emptied: list[sql.Composed], guarded: list[sql.Composed]) -> sql.Composed:
        """Every row a test wrote deleted, every sequence back at its start: one script, run in one
        transaction. The deletes are one statement, so foreign keys are checked once all are gone."""
        deletes = [sql.SQL("DELETE FROM {}").format(t) for t in emptied]
        steps = [sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT))]
        steps += [sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(t) for t in guarded]
        steps.append(
            sql.SQL("WITH {} {}").format(
                sql.SQL(", ").join(sql.SQL("d{} AS ({})").format(sql.Literal(n), d) for n, d in enumerate(deletes[1:])),
                deletes[0],
            )
        )
        steps += [sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(t) for t in guarded]
        steps.append(
            sql.SQL(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                "FROM pg_sequences WHERE schemaname = {}"
            ).format(sql.Literal(schema))
        )
        return sql.SQL("; ").join(steps)

    def _drop(self, schema: str) -> None:
        try:
            con = self._connection()
            con.execute(sql.SQL("SET lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            con.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        except psycopg.Error:
            return  # still locked: tried again by `close`
        self.created.remove(schema)
