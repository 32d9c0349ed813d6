"""The one factory: open the store, adopt or check the rules, build the service.

Every front door (stdio MCP, HTTP, the command line, the demo, the bench) takes its service
from `open_service`; none constructs a store itself. `--db postgresql://…` selects PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.checkpoint import Signer
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.base import Store
from hivegov_mcp.store.postgres import PostgresStore, is_postgres_url
from hivegov_mcp.store.sqlite import SQLiteStore


@asynccontextmanager
async def open_service(
    settings: Settings, *, check_rules: bool = True, store_rules: bool = True
) -> AsyncIterator[GovernanceService]:
    """The service on the settings' database, closed on exit.

    A database without rules stores the settings' rules (or the defaults) as rules version 1,
    unless `store_rules` is off (commands that only read). A database with rules refuses
    settings whose rules differ (RulesMismatch names both hashes), unless `check_rules` is off
    (the `rules` commands, which show or replace them)."""
    store: Store
    if is_postgres_url(settings.db):
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
