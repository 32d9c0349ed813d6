"""Event streams catching up share the log's reads (issue 17, item 4): N streams from the same
position cost about one store read per page, not N per page; the pages kept for them go when
the last stream is done; a stream checks its token again when an agent changes, not per event.
Counted by the statements the real SQLite store runs (its statement hook)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest

from hivegov_mcp.domain.errors import NotAuthenticated
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.http import events
from hivegov_mcp.runtime.feed import PAGE, AuditFeed
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast

pytestmark = pytest.mark.anyio

STREAMS = 20


@contextmanager
def counted(service: GovernanceService) -> Iterator[dict[str, int]]:
    """How many log reads and token lookups the store runs inside the block."""
    seen = {"log": 0, "token": 0}

    def hook(sql: str) -> None:
        if "FROM audit_events WHERE seq >" in sql:
            seen["log"] += 1
        elif sql.lstrip().startswith("SELECT") and "token_hash" in sql.split("WHERE", 1)[-1]:
            seen["token"] += 1

    store: Any = service.store
    store.statement_hook = hook
    try:
        yield seen
    finally:
        store.statement_hook = None


async def _feed(service: GovernanceService) -> AuditFeed:
    feed = AuditFeed(service, anyio.sleep_forever)
    feed.head = (await service.get_governance_status(LOCAL_ADMIN)).audit_events
    return feed


async def _read(
    service: GovernanceService, feed: AuditFeed, token: str, me: Any, after: int, until: int, into: list[int]
) -> None:
    """Follow a stream as the dashboard does until it has given event `until`."""
    messages = events.stream(service, feed, token, me, None, after)
    try:
        async for message in messages:
            into.append(int(message["id"]))
            if into[-1] == until:
                return
    finally:
        await messages.aclose()


async def test_streams_catching_up_from_the_start_share_one_read_per_page(
    service: GovernanceService, cast: Cast
) -> None:
    for n in range(3 * PAGE + 40):  # a log of four pages and a bit
        await service.register_agent(LOCAL_ADMIN, f"agent{n}", ["voter"])
    feed = await _feed(service)
    head = feed.head
    assert head is not None
    got: list[list[int]] = [[] for _ in range(STREAMS)]

    with counted(service) as seen, anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for into in got:
                tg.start_soon(_read, service, feed, cast.tokens["bob"], cast["bob"], 0, head, into)

    pages = math.ceil(head / PAGE)
    assert all(into == list(range(1, head + 1)) for into in got)  # each stream: every event, once, in order
    assert seen["log"] <= pages + 1, seen  # one read per page, shared (each stream alone: STREAMS x pages)
    assert seen["token"] == STREAMS, seen  # once per stream, not once per page or event
    assert feed.pages.kept == 0  # the pages kept for them are gone with the last stream


async def test_a_stream_checks_its_token_again_only_when_an_agent_changes(
    service: GovernanceService, cast: Cast
) -> None:
    feed = await _feed(service)
    head = feed.head
    assert head is not None
    got: dict[str, list[int]] = {name: [] for name in ("bob", "dave", "erin")}
    ended: list[str] = []

    async def follow(name: str) -> None:
        try:
            await _read(service, feed, cast.tokens[name], cast[name], head, head + 32, got[name])
        except NotAuthenticated:
            ended.append(name)

    with counted(service) as seen, anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for name in got:
                tg.start_soon(follow, name)
            await anyio.wait_all_tasks_blocked()
            for n in range(30):  # thirty live events: no token is read again
                await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": f"P{n}"})
            await feed.poll()
            await anyio.wait_all_tasks_blocked()
            checked_before_the_change = seen["token"]
            await service.deactivate_agent(LOCAL_ADMIN, "erin")  # an agent changes: each stream checks once
            await service.create_proposal(cast["alice"], **PROPOSAL)
            await feed.poll()

    assert checked_before_the_change == len(got), seen  # the first check of each stream, nothing per event
    assert seen["token"] == 2 * len(got), seen
    assert ended == ["erin"] and got["erin"] == list(range(head + 1, head + 31))  # not the deactivation itself
    assert got["bob"] == got["dave"] == list(range(head + 1, head + 33))  # the deactivation included
