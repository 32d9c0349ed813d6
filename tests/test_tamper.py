"""Every tamper case of issue 10, done to a real database file behind the server's back: each is
caught by `verify_audit` (and `hivegov-mcp audit verify`, exit 1) at the right sequence number
or row. The log cases hide from the hash chain alone (hashes recomputed); the state cases leave
the log alone and change the tables it describes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.cli import main
from hivegov_mcp.domain.audit import GENESIS, canonical_json, event_hash
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.record_models import AuditVerification
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL

pytestmark = pytest.mark.anyio

WHY = "I weighed the specification against the motivation and it holds up."
EVENTS = "SELECT seq, at, actor, action, subject, payload FROM audit_events"


async def _governance(db: Path) -> dict[str, int]:
    """A whole cycle: a resolved objection, three votes, the vote closed. Returns the seqs and ids
    the cases aim at."""
    async with open_service(Settings(db=db, clock=FakeClock())) as svc:
        agents = {}
        for agent_id, roles in CAST.items():
            agents[agent_id] = await svc.authenticate((await svc.register_agent(LOCAL_ADMIN, agent_id, roles)).token)
        pid = (await svc.create_proposal(agents["alice"], **PROPOSAL)).id
        await svc.start_discussion(agents["alice"], pid)
        objection = await svc.add_comment(agents["dave"], pid, "Who writes the entries?", type="objection")
        await svc.resolve_comment(agents["dave"], objection.id, "The release manager does; see the spec.")
        await svc.conclude_discussion(agents["carol"], pid, "approved-for-voting", "Ready for a vote.")
        ballots = {v: (await svc.cast_vote(agents[v], pid, d, WHY)).receipt.seq for v, d in
                   (("bob", "approve"), ("carol", "approve"), ("dave", "reject"))}  # fmt: skip
        appeal = await svc.file_appeal(agents["dave"], pid, "The objection was resolved too quickly.")
        head = (await svc.get_governance_status(agents["root"])).audit_events
        assert (await svc.verify_audit()).ok
    return {"head": head, "objection": objection.id, "dave_ballot": ballots["dave"], "appeal": appeal.id}


def _drop_guards(con: sqlite3.Connection) -> None:
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")


def _rewrite(con: sqlite3.Connection, rows: list[tuple[int, str, str, str, str, str]]) -> None:
    """Replace the whole log by `rows`, renumbered from 1 and re-chained: a chain that verifies."""
    con.execute("DELETE FROM audit_events")
    prev = GENESIS
    for seq, (_, at, actor, action, subject, payload) in enumerate(rows, start=1):
        digest = event_hash(prev, seq=seq, at=at, actor=actor, action=action, subject=subject, payload=payload)
        con.execute(
            "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, actor, action, subject, payload, prev, digest),
        )
        prev = digest


def _events(con: sqlite3.Connection) -> list[tuple[int, str, str, str, str, str]]:
    return list(con.execute(EVENTS + " ORDER BY seq").fetchall())


def _delete_last(n: int) -> Callable[[sqlite3.Connection, dict[str, int]], None]:
    def tamper(con: sqlite3.Connection, at: dict[str, int]) -> None:
        _drop_guards(con)
        con.execute("DELETE FROM audit_events WHERE seq > ?", (at["head"] - n,))

    return tamper


def _forge_admin(con: sqlite3.Connection, at: dict[str, int]) -> None:
    """A set_agent_roles dave→admin row with a correct hash, and the agents row to match."""
    seq, prev = con.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    payload = canonical_json({"from": CAST["dave"], "to": ["admin"]})
    when = "2026-01-01T00:00:00.000000+00:00"
    digest = event_hash(
        prev, seq=seq + 1, at=when, actor="root", action="set_agent_roles", subject="agent:dave", payload=payload
    )
    con.execute(
        "INSERT INTO audit_events VALUES (?, ?, 'root', 'set_agent_roles', 'agent:dave', ?, ?, ?)",
        (seq + 1, when, payload, prev, digest),
    )
    con.execute("UPDATE agents SET roles = ? WHERE id = 'dave'", (json.dumps(["admin"]),))


def _change_ballot(con: sqlite3.Connection, at: dict[str, int]) -> None:
    """Dave's counted reject becomes approve in the closing event; every later hash recomputed."""
    _drop_guards(con)
    rows = _events(con)
    for i, (seq, *_, payload) in enumerate(rows):
        if '"ballots"' in payload:
            rows[i] = (*rows[i][:5], payload.replace('"dave":"reject"', '"dave":"approve"'))
            at["changed"] = seq
    _rewrite(con, rows)


def _delete_middle(con: sqlite3.Connection, at: dict[str, int]) -> None:
    """The objection's event removed, the rest renumbered and re-chained."""
    _drop_guards(con)
    rows = [r for r in _events(con) if not (r[3] == "add_comment" and '"objection"' in r[5])]
    at["deleted"] = next(r[0] for r in _events(con) if r[3] == "add_comment")
    _rewrite(con, rows)


def _sql(*statements: str) -> Callable[[sqlite3.Connection, dict[str, int]], None]:
    def tamper(con: sqlite3.Connection, at: dict[str, int]) -> None:
        for statement in statements:
            con.execute(statement.format(**at))

    return tamper


def _expect_seq(key: str, offset: int = 0) -> Callable[[AuditVerification, dict[str, int]], bool]:
    return lambda check, at: check.first_bad_seq == at[key] + offset


def _expect_row(text: str) -> Callable[[AuditVerification, dict[str, int]], bool]:
    return lambda check, at: text.format(**at) in (check.row or "")


CASES = {
    "the last row deleted": (_delete_last(1), _expect_seq("head")),
    "the last 5 rows deleted": (_delete_last(5), _expect_seq("head", -4)),
    "a forged set_agent_roles row appended": (_forge_admin, _expect_seq("head", 1)),
    "a ballot changed, later hashes recomputed": (_change_ballot, _expect_seq("changed")),
    "a middle row deleted and the rest re-chained": (_delete_middle, _expect_seq("deleted")),
    "the append-only triggers dropped": (
        lambda con, _: _drop_guards(con),
        _expect_row("trigger audit_events_no_update"),
    ),
    "a vote changed in votes": (
        _sql("UPDATE votes SET decision = 'approve' WHERE agent_id = 'dave'"),
        _expect_row("votes: BIP-001 ballot 1 of dave"),
    ),
    "a specification replaced": (
        _sql("UPDATE proposal_versions SET specification = 'Anything goes.'"),
        _expect_row("proposal_versions: BIP-001 v1"),
    ),
    "an agent made admin with weight 1000": (
        _sql("""UPDATE agents SET roles = '["admin"]', weight = 1000 WHERE id = 'dave'"""),
        _expect_row("agents: dave roles"),
    ),
    "a status changed": (_sql("UPDATE proposals SET status = 'rejected'"), _expect_row("proposals: BIP-001 status")),
    "an appeal's grounds rewritten": (
        _sql("UPDATE appeals SET grounds = 'None.' WHERE id = {appeal}"),
        _expect_row("appeals: {appeal} on BIP-001"),
    ),
    "the objection's row deleted": (
        _sql("PRAGMA foreign_keys = OFF", "DELETE FROM comments WHERE id = {objection}"),
        _expect_row("comments: {objection} on BIP-001"),
    ),
    "an agent's row deleted": (
        _sql("PRAGMA foreign_keys = OFF", "DELETE FROM agents WHERE id = 'erin'"),
        _expect_row("agents: erin"),
    ),
    "an inner node of the Merkle tree changed": (
        _sql(
            "DROP TRIGGER audit_tree_no_update", "UPDATE audit_tree SET hash = zeroblob(32) WHERE level = 4 AND idx = 0"
        ),
        _expect_row("table audit_tree"),
    ),
    "an objection rewritten as support": (
        _sql("UPDATE comments SET type = 'support' WHERE id = {objection}"),
        _expect_row("comments: {objection} on BIP-001"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_each_tamper_case_is_caught_at_its_sequence_number_or_row(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "gov.db"
    at = await _governance(db)
    tamper, expected = CASES[case]
    with sqlite3.connect(db) as con:
        tamper(con, at)
    con.close()

    async with open_service(Settings(db=db, clock=FakeClock())) as svc:
        check = await svc.verify_audit()
    code = await anyio.to_thread.run_sync(main, ["--db", str(db), "audit", "verify"])
    out = capsys.readouterr().out

    assert not check.ok and expected(check, at), check
    assert code == 1 and out.startswith("TAMPERED") and (check.row or f"seq {check.first_bad_seq}") in out


async def test_an_untouched_governance_verifies_and_a_write_after_a_forged_row_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "gov.db"
    at = await _governance(db)
    assert await anyio.to_thread.run_sync(main, ["--db", str(db), "audit", "verify"]) == 0
    with sqlite3.connect(db) as con:
        _forge_admin(con, at)
    con.close()

    async with open_service(Settings(db=db, clock=FakeClock())) as svc:
        with pytest.raises(Exception, match="changed outside the server") as refused:
            await svc.register_agent(LOCAL_ADMIN, "zed", ["voter"])
        events = (await svc.get_governance_status(LOCAL_ADMIN)).audit_events

    assert getattr(refused.value, "code", None) == "log_tampered"
    assert events == at["head"] + 1  # the forged row only: the refused write left nothing
