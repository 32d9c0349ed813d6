"""The SQLite store (DESIGN §6, §8): migrations, pragmas, the append-only audit log, atomic writes, hashed tokens.

Plain `sqlite3` connections play the part of someone with the database file in hand.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig
from hivegov_mcp.domain.errors import InvalidInput, StoreBusy, TransitionNotAllowed
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from hivegov_mcp.store import search
from hivegov_mcp.store.sqlite import SQLiteStore
from hivegov_mcp.store.sqlite.migrations import MIGRATIONS
from tests.conftest import PROPOSAL, Cast

pytestmark = pytest.mark.anyio


@contextmanager
def raw(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A plain autocommit connection to the file, closed on exit."""
    with closing(sqlite3.connect(db_path, isolation_level=None)) as con:
        yield con


def scalar(db_path: Path, sql: str, params: tuple[object, ...] = ()) -> object:
    with raw(db_path) as con:
        row = con.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def sqlite_store(service: GovernanceService) -> SQLiteStore:
    assert isinstance(service.store, SQLiteStore)
    return service.store


async def _in_discussion(service: GovernanceService, cast: Cast) -> str:
    proposal_id = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], proposal_id)
    return proposal_id


async def _create(service: GovernanceService, author: Agent, title: str) -> None:
    await service.create_proposal(author, **{**PROPOSAL, "title": title})


# -- migrations ------------------------------------------------------------------------------------


async def test_migrations_are_recorded_and_not_applied_again_on_reopen(db_path: Path) -> None:
    names = [
        (1, "core"),
        (2, "audit_no_replace"),
        (3, "rules_tallies_limits"),
        (4, "listing_indexes"),
        (5, "after_the_vote"),
        (6, "webhooks"),
        (7, "verifiable_log"),
        (8, "decision_methods"),
        (9, "oauth"),
    ]
    async with open_service(Settings(db=db_path, clock=FakeClock())) as service:
        assert isinstance(service.store, SQLiteStore)
        assert await service.store.applied_migrations() == names
        assert [(v, n) for v, n, _ in MIGRATIONS] == names
        await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
    applied_at = scalar(db_path, "SELECT applied_at FROM schema_migrations WHERE version = 1")

    async with open_service(Settings(db=db_path, clock=FakeClock())) as reopened:
        assert isinstance(reopened.store, SQLiteStore)
        assert await reopened.store.applied_migrations() == names
        agents = await reopened.list_agents(LOCAL_ADMIN)

    assert [a.id for a in agents.agents] == ["alice"]
    assert scalar(db_path, "SELECT COUNT(*) FROM schema_migrations") == 9
    assert scalar(db_path, "SELECT applied_at FROM schema_migrations WHERE version = 1") == applied_at


# -- pragmas ---------------------------------------------------------------------------------------


async def test_the_file_is_in_wal_mode(service: GovernanceService, db_path: Path) -> None:
    assert scalar(db_path, "PRAGMA journal_mode") == "wal"


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [("journal_mode", "wal"), ("synchronous", 2), ("foreign_keys", 1), ("busy_timeout", 0)],
)
async def test_the_store_connection_is_durable_and_checks_foreign_keys(
    service: GovernanceService, pragma: str, expected: object
) -> None:
    store = sqlite_store(service)

    rows = await store.run(lambda c: c.execute(f"PRAGMA {pragma}").fetchall())

    assert rows[0][0] == expected


async def test_the_writer_polls_for_another_process_s_write_lock_until_the_busy_timeout(db_path: Path) -> None:
    """SQLite's busy handler backs off to 100 ms sleeps, so under contention a process could
    wait seconds while others take the lock in turn. The writer tries again itself every
    millisecond or so instead, up to the same busy timeout, then gives up with StoreBusy."""
    tries: list[str] = []
    async with open_service(Settings(db=db_path, clock=FakeClock(), busy_timeout_ms=300)) as service:
        store = sqlite_store(service)
        store.statement_hook = tries.append
        with raw(db_path) as blocker:
            blocker.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(StoreBusy, match="Nothing was written"):
                await service.register_agent(LOCAL_ADMIN, "alice", ["voter"])
            waited = time.monotonic() - started
            blocker.execute("ROLLBACK")
        store.statement_hook = None
        registered = await service.register_agent(LOCAL_ADMIN, "alice", ["voter"])

    assert waited >= 0.3  # the whole busy timeout,
    assert tries.count("BEGIN IMMEDIATE") >= 30  # trying again and again (SQLite's handler: one try, waited in)
    assert tries.count("BEGIN IMMEDIATE") == len(tries)  # and nothing else: the operation never started
    assert registered.receipt.seq == 2  # after the rules; nothing of the refused write was kept


# -- the append-only audit log ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2",
        "UPDATE audit_events SET payload = '{}'",
        "DELETE FROM audit_events WHERE seq = 6",
        "DELETE FROM audit_events",
    ],
)
async def test_the_schema_refuses_to_update_or_delete_audit_events(
    service: GovernanceService, cast: Cast, db_path: Path, statement: str
) -> None:
    before = await service.get_audit_log(cast["root"], limit=500)

    with raw(db_path) as con, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute(statement)

    assert await service.get_audit_log(cast["root"], limit=500) == before
    assert (await service.verify_audit()).ok


async def test_the_schema_refuses_to_overwrite_an_audit_event_with_insert_or_replace(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    with raw(db_path) as con:
        row = con.execute("SELECT * FROM audit_events WHERE seq = 2").fetchone()
        forged = (2, row[1], "mallory", *row[3:])
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("INSERT OR REPLACE INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", forged)

    assert scalar(db_path, "SELECT actor FROM audit_events WHERE seq = 2") == "@cli"


@pytest.mark.parametrize("k", [1, 3, 6])
async def test_a_tampered_audit_payload_is_detected_at_its_sequence_number(
    service: GovernanceService, cast: Cast, db_path: Path, k: int
) -> None:
    assert (await service.verify_audit()).ok
    with raw(db_path) as con:
        con.execute("DROP TRIGGER audit_events_no_update")
        con.execute("UPDATE audit_events SET payload = ? WHERE seq = ?", ('{"roles":["admin"],"weight":99}', k))

    check = await service.verify_audit()

    assert (check.ok, check.first_bad_seq) == (False, k)
    assert check.problem is not None
    assert "hash" in check.problem


async def test_a_payload_that_is_no_longer_json_is_detected(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    with raw(db_path) as con:
        con.execute("DROP TRIGGER audit_events_no_update")
        con.execute("UPDATE audit_events SET payload = 'not json' WHERE seq = 4")

    check = await service.verify_audit()

    assert (check.ok, check.first_bad_seq) == (False, 4)


async def test_a_tampered_event_whose_hash_was_recomputed_breaks_the_next_link(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    with raw(db_path) as con:
        con.execute("DROP TRIGGER audit_events_no_update")
        con.execute("UPDATE audit_events SET actor = 'mallory', hash = ? WHERE seq = 3", ("f" * 64,))

    check = await service.verify_audit()

    assert (check.ok, check.first_bad_seq) == (False, 3)
    with raw(db_path) as con:
        con.execute("UPDATE audit_events SET hash = (SELECT prev_hash FROM audit_events WHERE seq = 4) WHERE seq = 3")
    relinked = await service.verify_audit()
    assert (relinked.ok, relinked.first_bad_seq) == (False, 3)


async def test_a_deleted_audit_event_is_detected_as_a_gap(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    with raw(db_path) as con:
        con.execute("DROP TRIGGER audit_events_no_delete")
        con.execute("DELETE FROM audit_events WHERE seq = 2")

    check = await service.verify_audit()

    assert (check.ok, check.first_bad_seq) == (False, 3)
    assert check.problem is not None
    assert "gap" in check.problem


async def test_an_intact_log_verifies_with_its_head(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_discussion(service, cast)
    await service.add_comment(cast["bob"], pid, "Fine.", type="support")

    check = await service.verify_audit()
    status = await service.get_governance_status(cast["root"])

    assert (check.ok, check.events, check.first_bad_seq, check.problem) == (True, 10, None, None)
    assert check.head == status.audit_head
    assert status.audit_events == 10


# -- atomic writes ---------------------------------------------------------------------------------


async def test_a_refused_comment_leaves_no_row_and_no_audit_event(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    pid = await _in_discussion(service, cast)
    await service.add_comment(cast["bob"], pid, "The first comment.")
    head = scalar(db_path, "SELECT MAX(seq) FROM audit_events")

    with pytest.raises(InvalidInput):
        await service.add_comment(cast["dave"], pid, "Citing a ghost.", references=[1, 77])

    assert scalar(db_path, "SELECT COUNT(*) FROM comments") == 1
    assert scalar(db_path, "SELECT MAX(seq) FROM audit_events") == head
    assert (await service.search_proposals(cast["dave"], "ghost")).hits == []


async def test_a_refused_write_keeps_the_passed_deadline_and_writes_nothing_of_its_own(
    service: GovernanceService, cast: Cast, db_path: Path, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    head = scalar(db_path, "SELECT MAX(seq) FROM audit_events")
    clock.advance(minutes=61)

    # The deadline is applied and committed first (voting opens at the deadline's processing), then the
    # comment is refused: the refusal can't undo the engine's move.
    with pytest.raises(TransitionNotAllowed):
        await service.add_comment(cast["bob"], pid, "Just in time?")

    assert scalar(db_path, "SELECT status FROM proposals WHERE id = ?", (pid,)) == "voting"
    assert scalar(db_path, "SELECT COUNT(*) FROM eligible_voters") == 3
    assert scalar(db_path, "SELECT COUNT(*) FROM comments") == 0
    assert scalar(db_path, "SELECT MAX(seq) FROM audit_events") == head + 1  # type: ignore[operator]
    assert scalar(db_path, "SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1") == "discussion_deadline"


async def test_a_write_that_fails_in_the_database_midway_leaves_nothing(
    service: GovernanceService, cast: Cast, db_path: Path, clock: FakeClock
) -> None:
    pid = await _in_discussion(service, cast)
    objection = await service.add_comment(cast["bob"], pid, "Unclear format.", type="objection")
    clock.advance(minutes=61)
    await service.get_proposal(cast["bob"], pid)  # the deadline moves it to revision
    head = scalar(db_path, "SELECT MAX(seq) FROM audit_events")
    # An arbiter the database has never heard of: the foreign key on resolved_by fails after the
    # comment row has been updated inside the transaction.
    ghost = Agent(id="ghost", display_name="ghost", roles=["arbiter"], weight=1, active=True, created_at=clock.now())

    with pytest.raises(sqlite3.IntegrityError):
        await service.resolve_comment(ghost, objection.id, "Resolved by nobody.")

    assert scalar(db_path, "SELECT status FROM proposals WHERE id = ?", (pid,)) == "revision"
    assert scalar(db_path, "SELECT resolved_by FROM comments WHERE id = ?", (objection.id,)) is None
    assert scalar(db_path, "SELECT MAX(seq) FROM audit_events") == head
    assert (await service.verify_audit()).ok


async def test_two_stores_writing_at_once_keep_one_unbroken_chain(
    service: GovernanceService, cast: Cast, db_path: Path, config: GovernanceConfig, clock: FakeClock
) -> None:
    async with open_service(Settings(db=db_path, rules=config, clock=clock)) as other, anyio.create_task_group() as tg:
        for n in range(6):
            for writer in (service, other):
                tg.start_soon(_create, writer, cast["alice"], f"Proposal {n}")

    page = await service.list_proposals(cast["alice"], limit=100)
    assert sorted(p.id for p in page.proposals) == [f"BIP-{n:03d}" for n in range(1, 13)]
    check = await service.verify_audit()
    assert (check.ok, check.events) == (True, 1 + 6 + 12)  # rules version 1, the cast, the proposals


# -- tokens ----------------------------------------------------------------------------------------


async def test_tokens_are_stored_only_as_their_sha256(service: GovernanceService, cast: Cast, db_path: Path) -> None:
    rotated = await service.rotate_token(cast["root"], "bob")
    tokens = [*cast.tokens.values(), rotated.token]

    with raw(db_path) as con:
        rows = con.execute("SELECT * FROM agents ORDER BY id").fetchall()
        hashes = dict(con.execute("SELECT id, token_hash FROM agents").fetchall())
        audit = " ".join(r[0] for r in con.execute("SELECT payload FROM audit_events"))
    files = [p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)]
    stored = b"".join(p.read_bytes() for p in files)

    assert len(files) >= 1
    for token in tokens:
        assert token.startswith("hg_")
        assert token.encode() not in stored
        assert token not in audit
        assert all(token not in str(value) for row in rows for value in row)
    assert hashes["alice"] == hashlib.sha256(cast.tokens["alice"].encode()).hexdigest()
    assert hashes["bob"] == hashlib.sha256(rotated.token.encode()).hexdigest()


async def test_a_search_ranks_each_kind_among_its_newest_matches(
    service: GovernanceService, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["alpha alpha alpha alpha", "alpha beta", "alpha gamma", "alpha delta"]
    for n, text in enumerate(texts):
        await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": f"P{n}", "specification": text})
    everything = await service.search_proposals(cast["bob"], "alpha")
    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    newest = await service.search_proposals(cast["bob"], "alpha")

    assert everything.hits[0].title == "P0"  # the densest match ranks first when all are ranked
    assert {h.title for h in everything.hits} == {"P0", "P1", "P2", "P3"}
    assert {h.title for h in newest.hits} == {"P2", "P3"}  # a very common word: the newest, ranked


async def test_a_common_word_filters_without_ranking_and_a_long_query_matches_any_word_ranked_by_rare_ones(
    service: GovernanceService, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["alpha zebra zebra zebra", "alpha beta", "alpha gamma quokka", "alpha delta"]
    for n, text in enumerate(texts):
        await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": f"P{n}", "specification": text})
    monkeypatch.setattr(search, "COMMON_ROWS", 3)  # alpha (in 4 rows) is a common word now
    common = await service.search_proposals(cast["bob"], "alpha")
    both = await service.search_proposals(cast["bob"], "alpha zebra")
    long = await service.search_proposals(cast["bob"], "zebra quokka beta nothing")

    assert [h.title for h in common.hits] == ["P3", "P2", "P1", "P0"]  # unranked: newest first
    assert [h.title for h in both.hits] == ["P0"]  # up to 3 words: all of them
    assert {h.title for h in long.hits} == {"P0", "P1", "P2"}  # 4 words: any of them
    assert long.hits[0].title == "P0"  # ranked by its rare words: zebra three times
