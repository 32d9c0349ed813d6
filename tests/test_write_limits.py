"""Writes per agent per minute are limited, counted in the database (DESIGN §9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, parse_config
from hivegov_mcp.domain.errors import RateLimited
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

THREE_A_MINUTE = parse_config("[governance]\nwrites_per_agent_per_minute = 3\n")


async def _proposals(service: GovernanceService, cast: Cast) -> int:
    return len((await service.list_proposals(cast["alice"], limit=100)).proposals)


@pytest.mark.parametrize("config", [THREE_A_MINUTE])
async def test_a_write_past_the_limit_is_refused_with_when_to_retry_and_writes_nothing(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    for n in range(3):
        await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": f"P{n}"})
        clock.advance(seconds=10)
    head = (await service.verify_audit()).events

    with pytest.raises(RateLimited) as refused:
        await service.create_proposal(cast["alice"], **PROPOSAL)

    assert refused.value.retry_seconds == 30  # the first of the three was 30 s ago
    assert "retry in 30 s" in str(refused.value) and "writes_per_agent_per_minute = 3" in str(refused.value)
    assert await _proposals(service, cast) == 3
    assert (await service.verify_audit()).events == head
    clock.advance(seconds=30)
    await service.create_proposal(cast["alice"], **PROPOSAL)
    assert await _proposals(service, cast) == 4


@pytest.mark.parametrize("config", [THREE_A_MINUTE])
async def test_the_limit_holds_across_processes_on_one_database(
    service: GovernanceService, cast: Cast, clock: FakeClock, db: Path | str, config: GovernanceConfig
) -> None:
    await service.create_proposal(cast["alice"], **PROPOSAL)
    async with open_service(Settings(db=db, rules=config, clock=clock)) as other:
        await other.create_proposal(cast["alice"], **PROPOSAL)
        await service.create_proposal(cast["alice"], **PROPOSAL)
        with pytest.raises(RateLimited):
            await other.create_proposal(cast["alice"], **PROPOSAL)


@pytest.mark.parametrize("config", [THREE_A_MINUTE])
async def test_the_limit_counts_each_agent_apart_and_spares_reads_and_the_local_administrator(
    service: GovernanceService, cast: Cast
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    await service.add_comment(cast["alice"], pid, "One more.")
    with pytest.raises(RateLimited):
        await service.add_comment(cast["alice"], pid, "And another.")

    await service.add_comment(cast["bob"], pid, "Bob has his own budget.")
    for _ in range(5):
        await service.get_discussion(cast["alice"], pid)
        await service.register_agent(LOCAL_ADMIN, f"extra-{_}", ["voter"])
    summary = await service.summarize_discussion(cast["bob"], pid)
    again = await service.summarize_discussion(cast["bob"], pid)  # unchanged: no write, no budget spent
    assert again.receipt == summary.receipt and not again.changed
    await service.add_comment(cast["bob"], pid, "Third write of bob.")
