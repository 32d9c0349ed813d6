"""The store contract beyond the service suites (DESIGN §8, §17), on SQLite and PostgreSQL alike:
races between two services on one database, an intact chain under concurrent writers, tamper
detection behind the server's back, the append-only guards, search, and limits; and, for
PostgreSQL, the change feed woken by NOTIFY rather than by polling."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import anyio.lowlevel
import psycopg
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.cli import main
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.errors import InvalidInput, NotEligible, RateLimited, TransitionNotAllowed
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.postgres import WRITE_LOCK, PostgresStore, redacted
from hivegov_mcp.store.sqlite import SQLiteStore
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]

WHY = "I weighed the specification against the motivation and it holds up."
ONE_A_MINUTE = parse_config("[governance]\nwrites_per_agent_per_minute = 1\n")


@asynccontextmanager
async def _other(db: Path | str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[GovernanceService]:
    """A second service on the same database, as another process or instance would open it."""
    async with open_service(Settings(db=db, clock=clock, signing_key=tmp_path / "signing.ed25519")) as svc:
        yield svc


def _sql(db: Path | str, *statements: str) -> None:
    """Statements run behind the server's back, on either store."""
    if isinstance(db, Path):
        with sqlite3.connect(db) as con:
            for s in statements:
                con.execute(s)
        con.close()
        return
    with psycopg.connect(db, autocommit=True) as pg:
        for s in statements:
            pg.execute(s.encode())


async def _in_voting(service: GovernanceService, cast: Cast) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready for a vote.")
    return pid


async def test_a_close_race_between_two_services_has_one_winner(
    service: GovernanceService, cast: Cast, db: Path | str, tmp_path: Path, clock: FakeClock
) -> None:
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    outcomes: list[str] = []
    async with _other(db, tmp_path, clock) as other:

        async def close(svc: GovernanceService) -> None:
            try:
                await svc.close_voting(cast["carol"], pid, "Time is up.")
                outcomes.append("closed")
            except TransitionNotAllowed:
                outcomes.append("refused")

        async with anyio.create_task_group() as tg:
            tg.start_soon(close, service)
            tg.start_soon(close, other)
    log = await service.get_audit_log(cast["root"], proposal_id=pid, limit=100)

    assert sorted(outcomes) == ["closed", "refused"]
    assert [e.action for e in log.events].count("close_voting") == 1
    assert (await service.verify_audit()).ok


async def test_concurrent_writers_on_two_services_keep_the_sequence_contiguous_and_the_chain_intact(
    service: GovernanceService, cast: Cast, db: Path | str, tmp_path: Path, clock: FakeClock
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    seqs: list[int] = []
    async with _other(db, tmp_path, clock) as other:

        async def write(svc: GovernanceService, agent: Agent, n: int) -> None:
            for k in range(n):
                seqs.append((await svc.add_comment(agent, pid, f"Point {k} from {agent.id}.")).receipt.seq)

        async with anyio.create_task_group() as tg:
            tg.start_soon(write, service, cast["bob"], 8)
            tg.start_soon(write, other, cast["dave"], 8)
            tg.start_soon(write, other, cast["carol"], 8)
    check = await service.verify_audit()

    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 24))  # no gap, no repeat
    assert check.ok and check.events == max(seqs)
    proof = await service.get_audit_proof(cast["bob"], max(seqs))
    assert proof.tree_size == max(seqs)


async def test_a_vote_changed_behind_the_server_s_back_is_named_by_verify(
    service: GovernanceService, cast: Cast, db: Path | str
) -> None:
    pid = await _in_voting(service, cast)
    for voter, decision in (("bob", "approve"), ("carol", "approve"), ("dave", "reject")):
        await service.cast_vote(cast[voter], pid, decision, WHY)
    assert (await service.verify_audit()).ok

    _sql(db, "UPDATE votes SET decision = 'approve' WHERE agent_id = 'dave'")
    check = await service.verify_audit()

    assert not check.ok and check.row == f"votes: {pid} ballot 1 of dave"


async def test_the_log_refuses_updates_and_deletes_and_a_dropped_guard_is_named(
    service: GovernanceService, cast: Cast, db: Path | str
) -> None:
    await service.create_proposal(cast["alice"], **PROPOSAL)
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises((sqlite3.DatabaseError, psycopg.Error), match="append-only"):
            _sql(db, statement)
    _sql(db, "DROP TRIGGER audit_events_no_delete" + ("" if isinstance(db, Path) else " ON audit_events"))
    check = await service.verify_audit()

    assert not check.ok and check.row is not None and "audit_events_no_delete" in check.row


async def test_search_ranks_and_snippets_on_either_store(service: GovernanceService, cast: Cast) -> None:
    await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": "Quarterly budget review"})
    await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": "Changelogs, with a budget note"})
    found = await service.search_proposals(cast["bob"], "budget")
    both = await service.search_proposals(cast["bob"], "quarterly budget")
    none = await service.search_proposals(cast["bob"], "nonexistentword")

    assert len(found.hits) == 2 and all("[budget]" in h.snippet.lower() for h in found.hits)
    assert [h.title for h in both.hits] == ["Quarterly budget review"]  # two words: both must match
    assert none.hits == []


async def test_limits_hold_on_either_store(service: GovernanceService, cast: Cast) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    with pytest.raises(InvalidInput, match="content"):
        await service.add_comment(cast["bob"], pid, "x" * 100_000)
    with pytest.raises(RateLimited):
        for _ in range(1_000):
            await service.create_proposal(cast["alice"], **PROPOSAL)


@pytest.mark.postgres_only
async def test_postgres_wakes_the_change_feed_of_another_instance_by_notify(
    db: Path | str, tmp_path: Path, clock: FakeClock, store_kind: str
) -> None:
    async with _other(db, tmp_path, clock) as listener, _other(db, tmp_path, clock) as writer:
        store = listener.store
        assert isinstance(store, PostgresStore)
        woke: list[Any] = []

        async def wait() -> None:
            await store.wait_for_change(60)  # a poll would wait the whole minute
            woke.append(True)

        await store.wait_for_change(0)  # LISTEN is in place before the write
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.wait_all_tasks_blocked()  # the waiter waits for a notification
                await writer.register_agent(LOCAL_ADMIN, "newcomer", ["voter"])
    assert woke == [True]


@pytest.mark.postgres_only
def test_an_unreachable_postgresql_is_one_clear_message_without_its_password(
    capsys: pytest.CaptureFixture[str], store_kind: str
) -> None:
    code = main(["--db", "postgresql://hivegov:s3cret@127.0.0.1:1/nowhere", "agent", "list"])
    err = capsys.readouterr().err

    assert code == 2 and "postgresql://hivegov@127.0.0.1:1/nowhere can't be used: no connection" in err, err
    assert "s3cret" not in err and "Traceback" not in err


async def test_a_rules_change_holds_for_the_writes_batched_after_it(
    service: GovernanceService, cast: Cast, db: Path | str
) -> None:
    """Operations of one batch share its transaction, yet each reads what the ones before it
    wrote: a write limit set by one holds for the next."""
    store = service.store
    assert isinstance(store, SQLiteStore | PostgresStore)
    group = store.group_commit
    created: list[object] = []

    async def create() -> None:
        try:
            created.append((await service.create_proposal(cast["alice"], **PROPOSAL)).id)
        except RateLimited as exc:
            created.append(exc)

    before = group.batches
    with _write_lock_held(db) as release:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(service.register_agent, LOCAL_ADMIN, "newcomer", ["voter"]))
            await _until(lambda: group.writing == 1)  # its batch, waiting for the lock
            tg.start_soon(partial(service.set_rules, cast["root"], ONE_A_MINUTE, source="test"))
            await _until(lambda: group.queued == 1)
            tg.start_soon(create)
            await _until(lambda: group.queued == 2)
            tg.start_soon(create)
            await _until(lambda: group.queued == 3)
            release()

    assert group.batches - before == 2  # the rules and both creates in one batch
    assert created[0] == "BIP-001" and isinstance(created[1], RateLimited)


async def test_a_refused_write_keeps_the_passed_deadline_it_applied_first(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    """An operation's completed write() blocks stand when it then fails: the deadline's move,
    applied before the comment is refused, is committed on either store."""
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    clock.advance(minutes=61)

    with pytest.raises(TransitionNotAllowed):
        await service.add_comment(cast["bob"], pid, "Just in time?")
    async with service.store.read() as tx:  # as stored: no deadline applied on the way
        state = await tx.get_proposal(pid)
        events = await tx.audit_events(subject=pid, after_seq=0, limit=None)

    assert state is not None and state.status.value == "voting"
    assert events[-1].action == "discussion_deadline"


async def test_a_write_cancelled_at_any_point_leaves_all_of_it_or_nothing(
    service: GovernanceService, cast: Cast
) -> None:
    """Cancelled after 0, 1, 2… scheduling steps: before the write starts (nothing), while it
    waits for the lock (nothing), or once it runs (it completes, as the SQLite store's batch does)."""
    written = 0
    for steps in range(40):
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(service.create_proposal, cast["alice"], **PROPOSAL))
            for _ in range(steps):
                await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()
        listed = await service.list_proposals(cast["bob"], limit=100)
        assert len(listed.proposals) >= written  # nothing acknowledged is lost
        written = len(listed.proposals)
    for steps in range(20):  # reads cancelled mid-way leave the store as it was
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(service.search_proposals, cast["bob"], "changelogs"))
            for _ in range(steps):
                await anyio.lowlevel.checkpoint()
            tg.cancel_scope.cancel()
    after = await service.create_proposal(cast["alice"], **PROPOSAL)  # the store goes on
    check = await service.verify_audit()

    assert check.ok, check  # every proposal that exists has its event, and no event lacks its rows
    assert 0 < written < 40 and after.id == f"BIP-{written + 1:03d}"


async def test_a_nul_in_an_id_is_named_on_either_store(service: GovernanceService, cast: Cast) -> None:
    with pytest.raises(InvalidInput, match=r"proposal_id.*NUL"):
        await service.get_proposal(cast["bob"], "BIP-\x00001")


@pytest.mark.postgres_only
async def test_postgres_writes_stay_serialized_when_the_server_defaults_to_serializable(
    pg_url: str, tmp_path: Path, clock: FakeClock, store_kind: str
) -> None:
    """A write's statements must see every write committed before its lock: READ COMMITTED is
    asked for, whatever default_transaction_isolation says."""
    strict = pg_url + "%20-cdefault_transaction_isolation%3Dserializable"
    async with _other(strict, tmp_path, clock) as one, _other(strict, tmp_path, clock) as two:
        async with anyio.create_task_group() as tg:
            for n in range(12):
                tg.start_soon(partial((one, two)[n % 2].register_agent, LOCAL_ADMIN, f"agent{n}", ["voter"]))
        check = await one.verify_audit()
    assert check.ok and check.events == 1 + 12  # the rules, then every agent


@pytest.mark.postgres_only
async def test_postgres_takes_any_schema_name_and_keeps_passwords_out_of_messages(
    pg_server: str, tmp_path: Path, clock: FakeClock, store_kind: str
) -> None:
    schema = "é" * 30  # 60 bytes: a channel named after it would pass PostgreSQL's 63
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{pg_server}?options=-csearch_path%3D{quote(schema)}"
        async with _other(url, tmp_path, clock) as svc:
            await svc.register_agent(LOCAL_ADMIN, "unicode", ["voter"])  # an append: its NOTIFY
            assert (await svc.verify_audit()).ok
    finally:
        with psycopg.connect(pg_server, autocommit=True) as con:
            con.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert redacted("postgresql://u:pw@h:5432/db") == "postgresql://u@h:5432/db"
    assert redacted("postgresql://u@h/db?password=s3cret&sslmode=require") == "postgresql://u@h/db?sslmode=require"
    assert redacted("postgresql://u:p@h1:5432,h2:5433/db") == "postgresql://u@h1:5432,h2:5433/db"


@contextmanager
def _write_lock_held(db: Path | str) -> Iterator[Callable[[], object]]:
    """Another process (SQLite) or instance (PostgreSQL) holds the write lock until released."""
    if isinstance(db, Path):
        con = sqlite3.connect(db, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield partial(con.execute, "ROLLBACK")
        finally:
            con.close()
        return
    with psycopg.connect(db, autocommit=True) as pg:
        pg.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))
        yield partial(pg.execute, "SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))


async def _until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not condition():
            await anyio.lowlevel.checkpoint()


async def test_writes_queued_behind_a_batch_form_the_next_one_and_a_failing_one_fails_alone(
    service: GovernanceService, cast: Cast, db: Path | str
) -> None:
    """Group commit on either store: the first vote's batch waits for the write lock; the votes
    queued meanwhile form the next batch, each in its savepoint, so the refused one leaves the
    others of its batch written."""
    store = service.store
    assert isinstance(store, SQLiteStore | PostgresStore)
    group = store.group_commit
    pid = await _in_voting(service, cast)
    outcomes: dict[str, object] = {}

    async def vote(voter: str) -> None:
        try:
            outcomes[voter] = (await service.cast_vote(cast[voter], pid, "approve", WHY)).receipt.seq
        except NotEligible as exc:
            outcomes[voter] = exc

    before = group.batches
    with _write_lock_held(db) as release:
        async with anyio.create_task_group() as tg:
            tg.start_soon(vote, "bob")
            await _until(lambda: group.writing == 1)  # bob's batch, waiting for the lock
            for voter in ("alice", "carol", "dave"):  # alice is no voter: hers fails
                tg.start_soon(vote, voter)
            await _until(lambda: group.queued == 3)
            release()
    results = await service.get_voting_results(cast["bob"], pid)

    assert group.batches - before == 2  # bob's, then the three queued behind it together
    assert isinstance(outcomes.pop("alice"), NotEligible)
    seqs = {voter: seq for voter, seq in outcomes.items() if isinstance(seq, int)}
    assert sorted(seqs.values()) == [seqs["bob"], seqs["bob"] + 1, seqs["bob"] + 2]  # one after the other
    assert set(results.voted) == {"bob", "carol", "dave"}
    assert (await service.verify_audit()).ok
