"""A cancelled request never freezes the server nor holds the database: a write is whole or
absent, whether it fails at any statement or its caller is cancelled while it waits or runs."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
from anyio.lowlevel import current_token
from mcp import Client, MCPError

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
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


class Injected(Exception):
    """A failure injected before one statement of a write."""


OPERATIONS = [_create, _conclude, _last_vote]
IDS = ["create", "conclude", "close-vote"]


@pytest.mark.parametrize("operation", OPERATIONS, ids=IDS)
async def test_a_write_failing_at_any_statement_leaves_nothing_and_releases_the_database(
    service: GovernanceService, cast: Cast, db_path: Path, operation: Operation
) -> None:
    """A disk error, a full disk or a bug can strike before any statement: the operation's
    savepoint rolls back whole, and its batch still commits or ends cleanly."""
    store = service.store
    assert isinstance(store, SQLiteStore)
    pid = await _prepare(service, cast, operation)
    before = _counts(db_path)
    failed_at = 0
    point = 0
    while True:
        point += 1
        seen = 0

        def fail_here(sql: str, point: int = point) -> None:
            nonlocal seen
            seen += 1
            if seen == point:
                raise Injected(f"before statement {point}: {sql[:40]}")

        store.statement_hook = fail_here
        try:
            await operation(service, cast, pid)
        except Injected:
            failed_at += 1
        else:
            break  # the operation ran past every statement: it completed
        finally:
            store.statement_hook = None
        assert not store.in_transaction, point
        assert _lock_is_free(db_path), point
        assert _counts(db_path) == before, point  # nothing of the failed write remains
        assert (await service.verify_audit()).ok

    assert failed_at >= 5  # the operations have many statements, and each was tried
    after = _counts(db_path)
    assert after != before and (await service.verify_audit()).ok


@pytest.mark.parametrize("operation", OPERATIONS, ids=IDS)
async def test_a_write_cancelled_while_it_runs_commits_whole_before_the_cancellation_returns(
    service: GovernanceService, cast: Cast, db_path: Path, operation: Operation
) -> None:
    """Once the writer has started an operation it finishes it: the cancelled caller waits for
    the batch's COMMIT, so when the cancellation returns the write is whole and the lock free."""
    store = service.store
    assert isinstance(store, SQLiteStore)
    pid = await _prepare(service, cast, operation)
    before = _counts(db_path)
    token = current_token()
    with anyio.CancelScope() as scope:
        seen = 0

        def cancel_mid_write(sql: str) -> None:
            nonlocal seen
            seen += 1
            if seen == 3:  # the writer's thread asks the event loop to cancel the caller
                anyio.from_thread.run_sync(scope.cancel, token=token)

        store.statement_hook = cancel_mid_write
        try:
            await operation(service, cast, pid)
        finally:
            store.statement_hook = None
    assert scope.cancelled_caught
    assert not store.in_transaction
    assert _lock_is_free(db_path)
    after = _counts(db_path)
    assert after != before and (await service.verify_audit()).ok
    if operation is _create:
        assert after[0] == before[0] + 1
    if operation is _conclude:
        assert after[2] > before[2]  # the electorate was frozen with the move to voting
    if operation is _last_vote:
        assert (await service.get_proposal(cast["alice"], pid)).status.value in {"approved", "rejected"}


async def test_a_write_cancelled_while_queued_is_dropped(service: GovernanceService, cast: Cast, db_path: Path) -> None:
    store = service.store
    assert isinstance(store, SQLiteStore)
    before = _counts(db_path)
    first_running, release = threading.Event(), threading.Event()

    def hold_first(sql: str) -> None:
        if not first_running.is_set():
            first_running.set()
            release.wait(10)  # the writer's thread is busy with the first create

    store.statement_hook = hold_first
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(functools.partial(service.create_proposal, cast["alice"], **PROPOSAL))
            await anyio.to_thread.run_sync(first_running.wait, 10)
            with anyio.CancelScope() as second:
                second.deadline = anyio.current_time() + 0.2  # it waits in the queue, then gives up
                await service.create_proposal(cast["bob"], **PROPOSAL)
            assert second.cancelled_caught
            release.set()
    finally:
        store.statement_hook = None
    proposals = await service.list_proposals(cast["alice"])
    assert [(p.id, p.author) for p in proposals.proposals] == [("BIP-001", "alice")]
    assert _counts(db_path)[0] == before[0] + 1 and _lock_is_free(db_path)


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
            # The server reads its input in order: once this answers, it has seen the cancellation,
            # and the create still waiting for the write lock is dropped.
            await ok(client, "whoami")
            blocker.execute("ROLLBACK")
            blocker.close()

            created = await ok(client, "create_proposal", **PROPOSAL)
            listed = await ok(client, "list_proposals")
            assert _lock_is_free(db_path)
    assert created["id"] == "BIP-001"  # the cancelled create left nothing behind
    assert [p["id"] for p in listed["proposals"]] == ["BIP-001"]
