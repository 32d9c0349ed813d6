"""Group commit: concurrent writes share a transaction and an fsync, yet each is its own.

One operation's failure rolls back only that operation; an acknowledged write survives
`kill -9` of the process that wrote it; writes from several processes all land."""

from __future__ import annotations

import functools
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from anyio.streams.text import TextReceiveStream

from devtools.bench_throughput import JUSTIFICATION, RULES, prepare
from hivegov_mcp.app import open_service
from hivegov_mcp.domain.errors import NotEligible
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.sqlite import SQLiteStore
from tests.conftest import PROPOSAL, Cast

pytestmark = pytest.mark.anyio

VOTER = """
import sys, anyio
from pathlib import Path
from devtools.bench_throughput import JUSTIFICATION, RULES
from hivegov_mcp.app import open_service
from hivegov_mcp.settings import Settings

async def main(db, proposal_id, tokens):
    async with open_service(Settings(db=Path(db), rules=RULES)) as svc:
        agents = [await svc.authenticate(t) for t in tokens]

        async def voter(agent):
            for n in range(1_000_000):
                receipt = await svc.cast_vote(agent, proposal_id, ("approve", "reject")[n % 2], JUSTIFICATION)
                print(receipt.receipt.seq, receipt.receipt.hash, flush=True)  # acknowledged

        async with anyio.create_task_group() as tg:
            for agent in agents:
                tg.start_soon(voter, agent)

anyio.run(main, sys.argv[1], sys.argv[2], sys.argv[3].split(","))
"""


async def _until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not condition():
            await anyio.lowlevel.checkpoint()


async def test_writes_queued_behind_a_batch_are_committed_together_once_and_a_failing_one_fails_alone(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    """The first vote's batch waits for another process's write lock; the votes queued meanwhile
    are written by the next batch: one transaction, one COMMIT (one fsync) for all of them."""
    store = service.store
    assert isinstance(store, SQLiteStore)
    group = store.group_commit
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    outcomes: dict[str, object] = {}
    commits: list[str] = []

    async def vote(name: str) -> None:
        try:
            outcomes[name] = (await service.cast_vote(cast[name], pid, "approve", JUSTIFICATION)).receipt.seq
        except NotEligible as exc:
            outcomes[name] = exc

    store.statement_hook = lambda sql: commits.append(sql) if sql == "COMMIT" else None
    blocker = sqlite3.connect(db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        async with anyio.create_task_group() as tg:
            tg.start_soon(vote, "bob")
            await _until(lambda: group.writing == 1)  # bob's batch, waiting for the lock
            for name in ("alice", "carol", "dave"):  # alice is no voter: hers fails
                tg.start_soon(vote, name)
            await _until(lambda: group.queued == 3)
            blocker.execute("ROLLBACK")
    finally:
        store.statement_hook = None
        blocker.close()

    assert commits == ["COMMIT", "COMMIT"]  # bob's batch, then the three queued behind it
    assert isinstance(outcomes.pop("alice"), NotEligible)
    seqs = {voter: seq for voter, seq in outcomes.items() if isinstance(seq, int)}
    assert sorted(seqs.values()) == [seqs["bob"], seqs["bob"] + 1, seqs["bob"] + 2]  # one after the other
    results = await service.get_voting_results(cast["bob"], pid)
    assert set(results.voted) == {"bob", "carol", "dave"} and results.votes_cast == 3
    assert (await service.verify_audit()).ok


async def test_every_acknowledged_vote_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "votes.db"
    proposal_id, tokens = await prepare(db, 16)
    acknowledged: list[tuple[int, str]] = []
    command = [sys.executable, "-c", VOTER, str(db), proposal_id, ",".join(tokens)]
    with anyio.fail_after(60):
        async with await anyio.open_process(command) as process:
            assert process.stdout is not None
            buffer = ""
            async for chunk in TextReceiveStream(process.stdout):
                buffer += chunk
                *lines, buffer = buffer.split("\n")
                acknowledged.extend((int(seq), digest) for seq, digest in (line.split() for line in lines))
                if len(acknowledged) >= 300:
                    process.send_signal(signal.SIGKILL)  # mid-batch: the votes under way are not acknowledged
                    break
            await process.wait()
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as con:
        stored = dict(con.execute("SELECT seq, hash FROM audit_events WHERE action = 'cast_vote'").fetchall())
    con.close()
    missing = [(seq, digest) for seq, digest in acknowledged if stored.get(seq) != digest]
    assert missing == []
    async with open_service(Settings(db=db, rules=RULES)) as svc:
        assert (await svc.verify_audit()).ok


async def test_a_batch_waiting_for_another_process_s_lock_takes_it_once_released(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    store = service.store
    assert isinstance(store, SQLiteStore)
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    tries = 0
    polling = threading.Event()

    def count_tries(sql: str) -> None:
        nonlocal tries
        if sql == "BEGIN IMMEDIATE":
            tries += 1
            if tries == 3:
                polling.set()

    store.statement_hook = count_tries
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(functools.partial(service.create_proposal, cast["alice"], **PROPOSAL))
            await anyio.to_thread.run_sync(polling.wait, 10)  # the batch is trying again and again
            blocker.execute("ROLLBACK")
    finally:
        store.statement_hook = None
        blocker.close()
    assert tries >= 3
    assert [p.id for p in (await service.list_proposals(cast["alice"])).proposals] == ["BIP-001"]
