"""A write that can't get the lock fails cleanly with a message to retry, and writes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hivegov_mcp.agents import LOCAL_ADMIN
from hivegov_mcp.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig
from hivegov_mcp.errors import StoreBusy
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


async def test_a_write_blocked_past_the_busy_timeout_raises_store_busy_and_writes_nothing(db_path: Path) -> None:
    store = await SQLiteStore.open(db_path, busy_timeout_ms=50)
    service = GovernanceService(store, GovernanceConfig(), FakeClock())
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreBusy, match="retry the call"):
            await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
        other.execute("ROLLBACK")
        assert (await service.list_agents(LOCAL_ADMIN)).agents == []
        registered = await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
        assert registered.receipt.seq == 1
    finally:
        other.close()
        await store.close()
