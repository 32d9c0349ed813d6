"""A cancelled request never freezes the server nor holds the database: every exit from a
transaction rolls back, cancellation included, and an acknowledged write is whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
from anyio.lowlevel import checkpoint
from mcp import Client, MCPError

from hivegov_mcp.agents import LOCAL_ADMIN
from hivegov_mcp.app import open_service
from hivegov_mcp.clock import FakeClock
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.sqlite import SQLiteStore
from tests.conftest import PROPOSAL, Cast
from tests.mcp_helpers import ok, stdio_params

pytestmark = pytest.mark.anyio

JUSTIFICATION = "I weighed the specification against the motivation."
Operation = Callable[[GovernanceService, Cast, str], Awaitable[object]]


def _lock_is_free(db_path: Path) -> bool:
    """Another process can take the write lock at once."""
    con = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


def _counts(db_path: Path) -> tuple[int, int, int, int]:
    with sqlite3.connect(db_path) as con:
        row = con.execute(
            "SELECT (SELECT COUNT(*) FROM proposals), (SELECT COUNT(*) FROM votes), "
            "(SELECT COUNT(*) FROM eligible_voters), (SELECT COUNT(*) FROM audit_events)"
        ).fetchone()
    con.close()
    return row[0], row[1], row[2], row[3]


async def _create(service: GovernanceService, cast: Cast, pid: str) -> object:
    return await service.create_proposal(cast["alice"], **PROPOSAL)


async def _conclude(service: GovernanceService, cast: Cast, pid: str) -> object:
    return await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")


async def _last_vote(service: GovernanceService, cast: Cast, pid: str) -> object:
    """Closes the vote early: the vote, the tally and two audit events in one transaction."""
    return await service.cast_vote(cast["dave"], pid, "approve", JUSTIFICATION)


async def _prepare(service: GovernanceService, cast: Cast, operation: Operation) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    if operation is _last_vote:
        await _conclude(service, cast, pid)
        await service.cast_vote(cast["bob"], pid, "approve", JUSTIFICATION)
        await service.cast_vote(cast["carol"], pid, "approve", JUSTIFICATION)
    return pid


@pytest.mark.parametrize("in_flight", [False, True], ids=["before-the-statement", "statement-in-flight"])
@pytest.mark.parametrize("operation", [_create, _conclude, _last_vote], ids=["create", "conclude", "close-vote"])
async def test_a_write_cancelled_at_each_await_point_is_all_or_nothing_and_releases_the_database(
    service: GovernanceService, cast: Cast, db_path: Path, operation: Operation, in_flight: bool
) -> None:
    assert isinstance(service.store, SQLiteStore)
    store = service.store
    pid = await _prepare(service, cast, operation)
    before = _counts(db_path)
    cancelled_at = 0
    point = 0
    while True:
        point += 1
        seen = 0
        with anyio.CancelScope() as scope:

            async def cancel_here(sql: str, scope: anyio.CancelScope = scope, point: int = point) -> None:
                nonlocal seen
                seen += 1
                if seen == point:
                    scope.cancel()
                    if not in_flight:
                        await checkpoint()  # cancelled here, before the statement is sent

            store.statement_hook = cancel_here
            try:
                await operation(service, cast, pid)
            finally:
                store.statement_hook = None
        assert not store.in_transaction, point
        assert _lock_is_free(db_path), point
        if not scope.cancelled_caught:
            break  # the operation ran past every await point: it completed
        cancelled_at += 1
        assert _counts(db_path) == before, point  # nothing of the cancelled write remains
        assert (await service.verify_audit()).ok

    assert cancelled_at >= 5  # the operations have many await points, and each was tried
    after = _counts(db_path)
    assert after != before and (await service.verify_audit()).ok


async def test_a_request_cancelled_while_another_process_holds_the_lock_leaves_every_process_working(
    db_path: Path,
) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock())) as service:
        token = (await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])).token
    with anyio.fail_after(90):
        async with Client(stdio_params(db_path, token)) as client:
            await ok(client, "whoami")
            blocker = sqlite3.connect(db_path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(MCPError):  # the client gives up after 1 s and cancels the request
                await client.call_tool("create_proposal", PROPOSAL, read_timeout_seconds=1.0)
            blocker.execute("ROLLBACK")
            blocker.close()

            created = await ok(client, "create_proposal", **PROPOSAL)
            listed = await ok(client, "list_proposals")
            assert _lock_is_free(db_path)
    assert created["id"] == "BIP-001"  # the cancelled create left nothing behind
    assert [p["id"] for p in listed["proposals"]] == ["BIP-001"]
