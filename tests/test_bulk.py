"""The benchmark's bulk loader writes the store's own schema: a database the service reads,
searches and verifies like any other."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from devtools.bulk import Scale, load
from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import ReadTooCostly
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.sqlite import SQLiteStore

pytestmark = pytest.mark.anyio


async def test_a_bulk_loaded_database_verifies_and_serves_every_read(db_path: Path) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock())):
        pass
    await anyio.to_thread.run_sync(load, db_path, Scale(proposals=50, comments=400, votes=300, agents=10))

    async with open_service(Settings(db=db_path, clock=FakeClock())) as service:
        check = await service.verify_audit()
        first = await service.get_proposal(LOCAL_ADMIN, "BIP-001")
        page = await service.list_proposals(LOCAL_ADMIN, limit=100)
        found = await service.search_proposals(LOCAL_ADMIN, "governance")
        discussion = await service.get_discussion(LOCAL_ADMIN, "BIP-001")
    with sqlite3.connect(db_path) as con:
        counts = con.execute(
            "SELECT (SELECT COUNT(*) FROM proposals), (SELECT COUNT(*) FROM comments), (SELECT COUNT(*) FROM votes)"
        ).fetchone()
    con.close()

    async with open_service(Settings(db=db_path, clock=FakeClock())) as service, service.store.read() as tx:
        statuses = [p.status for p in await tx.proposals_after(0, 100)]
    not_draft = sum(1 for status in statuses if status != "draft")
    closed = sum(1 for status in statuses if status in ("approved", "rejected"))
    # rules, agents, proposals, one move per proposal out of draft, one close per closed vote, comments, votes
    assert check.ok and check.events == 1 + 10 + 50 + not_draft + closed + 400 + 300, check
    assert counts == (50, 400, 300)
    assert first.status == "discussion" and len(page.proposals) == 50
    assert found.hits and all("[governance]" in h.snippet for h in found.hits if h.kind == "proposal")
    assert discussion.comment_count >= 200  # half the comments (at most 1,000) go to BIP-001, then at random


async def test_a_read_past_its_budget_is_stopped_with_a_clear_error_and_the_reader_serves_on(db_path: Path) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock())):
        pass
    await anyio.to_thread.run_sync(load, db_path, Scale(proposals=200, comments=2000, votes=0, agents=10))
    async with open_service(Settings(db=db_path, clock=FakeClock())) as service:
        assert isinstance(service.store, SQLiteStore)
        service.store.read_budget_s = 0.0  # every read is past it at SQLite's first look at the clock,
        service.store.progress_steps = 100  # which comes after 100 steps of its virtual machine
        with pytest.raises(ReadTooCostly) as caught:
            await service.search_proposals(LOCAL_ADMIN, "governance")
        assert "budget of 0 s" in str(caught.value) and "fewer or rarer search words" in str(caught.value)
        service.store.read_budget_s = 2.0
        found = await service.search_proposals(LOCAL_ADMIN, "governance")
    assert found.hits
