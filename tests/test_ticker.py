"""The background ticker moves a proposal nobody touches (stepped by hand: no sleeps)."""

from __future__ import annotations

import anyio
import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.runtime.ticker import run_ticker
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast

pytestmark = pytest.mark.anyio


async def test_each_tick_applies_due_deadlines_without_any_read_of_the_proposal(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid, 10)
    ticks_in, ticks = anyio.create_memory_object_stream[None](1)
    done_in, done = anyio.create_memory_object_stream[list[str]](1)

    async def report(processed: list[str]) -> None:
        await done_in.send(processed)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_ticker, service, ticks.receive, report)
            await ticks_in.send(None)
            assert await done.receive() == []  # nothing due yet
            clock.advance(minutes=10)
            await ticks_in.send(None)
            assert await done.receive() == [pid]
            tg.cancel_scope.cancel()
    async with service.store.read() as tx:  # raw read: no deadline applied on the way
        state = await tx.get_proposal(pid)
    assert state is not None and state.status is Status.VOTING
    for stream in (ticks_in, ticks, done_in, done):
        stream.close()
