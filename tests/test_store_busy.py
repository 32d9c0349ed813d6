"""A write that can't get the lock fails cleanly with a message to retry, and writes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import StoreBusy
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.conftest import PROPOSAL

pytestmark = pytest.mark.anyio


async def test_a_write_blocked_past_the_busy_timeout_raises_store_busy_and_writes_nothing(db_path: Path) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock(), busy_timeout_ms=50)) as service:
        await _blocked_write_is_refused_then_retried(service, db_path)


async def _blocked_write_is_refused_then_retried(service: GovernanceService, db_path: Path) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreBusy, match="Nothing was written; retry"):
            await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
        other.execute("ROLLBACK")
        assert (await service.list_agents(LOCAL_ADMIN)).agents == []
        registered = await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
        assert registered.receipt.seq == 2  # after the rules_changed event of rules version 1
    finally:
        other.close()


async def test_the_busy_message_names_the_database_file(db_path: Path) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock(), busy_timeout_ms=50)) as service:
        other = sqlite3.connect(db_path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreBusy) as busy:
                await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
        finally:
            other.close()
    assert str(db_path) in str(busy.value)


async def test_an_up_to_date_database_opens_and_reads_while_another_process_holds_the_write_lock(
    db_path: Path,
) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock())) as service:
        await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        async with open_service(Settings(db=db_path, clock=FakeClock(), busy_timeout_ms=50)) as reader:
            agents = await reader.list_agents(LOCAL_ADMIN)
            verified = await reader.verify_audit()
    finally:
        other.close()
    assert [a.id for a in agents.agents] == ["alice"] and verified.ok


async def test_reads_go_on_while_a_write_waits_for_another_process_lock(db_path: Path) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock())) as service:
        alice = await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
        first = await service.create_proposal(await service.authenticate(alice.token), **PROPOSAL)
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        created: list[str] = []
        try:
            async with anyio.create_task_group() as tg:

                async def blocked_write() -> None:
                    agent = await service.authenticate(alice.token)
                    created.append((await service.create_proposal(agent, **PROPOSAL)).id)

                tg.start_soon(blocked_write)
                with anyio.fail_after(5):  # the write waits up to 30 s; the reads must not
                    agent = await service.authenticate(alice.token)
                    read = await service.get_proposal(agent, first.id)
                    listed = await service.list_proposals(agent)
                assert created == []
                other.execute("ROLLBACK")
        finally:
            other.close()
    assert read.id == first.id and [p.id for p in listed.proposals] == [first.id]
    assert created == ["BIP-002"]
