"""The one factory: open the store, adopt or check the rules, build the service.

Every front door (stdio MCP, HTTP, the command line, the demo, the bench) takes its service
from `open_service`; none constructs a store itself. `--db postgresql://…` selects PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from hivegov_mcp.domain.errors import StorageError
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.checkpoint import Signer
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.base import Store
from hivegov_mcp.store.sqlite import SQLiteStore
from hivegov_mcp.store.urls import is_postgres_url


@asynccontextmanager
async def open_service(
    settings: Settings, *, check_rules: bool = True, store_rules: bool = True, create: bool = True
) -> AsyncIterator[GovernanceService]:
    """The service on the settings' database, closed on exit.

    A database without rules stores the settings' rules (or the defaults) as rules version 1,
    unless `store_rules` is off (commands that only read). A database with rules refuses
    settings whose rules differ (RulesMismatch names both hashes), unless `check_rules` is off
    (the `rules` commands, which show or replace them). Without `create`, a SQLite file that does
    not exist yet is refused rather than made (a mistyped --db must not start a new governance)."""
    if not create and not is_postgres_url(settings.db):
        refuse_missing_database(Path(settings.db))
    store: Store
    if is_postgres_url(settings.db):
        from hivegov_mcp.store.postgres import PostgresStore  # psycopg only when PostgreSQL is named

        store = await PostgresStore.open(str(settings.db), busy_timeout_ms=settings.busy_timeout_ms)
    else:
        store = await SQLiteStore.open(settings.db, busy_timeout_ms=settings.busy_timeout_ms)
    try:
        service = GovernanceService(store, settings.clock, Signer(settings.signing_key_file(), settings.log_origin()))
        await service.adopt_log_name()
        await service.adopt_rules(settings.rules, source=settings.rules_source, check=check_rules, store=store_rules)
        yield service
    finally:
        await store.close()


def refuse_missing_database(path: Path) -> None:
    """StorageError when `path` holds no database yet (missing or empty), naming what creates one."""
    if not path.is_file() or path.stat().st_size == 0:
        raise StorageError(
            str(path),
            "there is no database in that file; check --db (or HIVEGOV_DB), or create it and its first agent "
            f"with `hivegov-mcp --db {path} agent add ID --role …`",
        )
