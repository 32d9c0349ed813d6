"""Signed checkpoints (DESIGN §16): `audit checkpoint`, `audit public-key` and `audit verify
--checkpoint` catch truncation and whole-log rewrites that nothing in the database can reveal
(an attacker who rewrites the chain, regrows the Merkle tree and drops the recorded checkpoints)."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from hivegov_mcp.cli import main
from hivegov_mcp.domain.audit import event_bytes
from hivegov_mcp.domain.merkle import Frontier, leaf_hash, root
from hivegov_mcp.service import checkpoint

ROLES = ["--role", "proposer"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def _governance(db: Path, capsys: pytest.CaptureFixture[str], agents: int, first: int = 0) -> None:
    for n in range(first, first + agents):
        assert main(["--db", str(db), "agent", "add", f"agent{n}", *ROLES]) == 0
    capsys.readouterr()


def _drop_guards(con: sqlite3.Connection) -> list[str]:
    """Drop the append-only triggers; their SQL, to put them back afterwards."""
    triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        con.execute(f"DROP TRIGGER {name}")
    return [sql for _, sql in triggers]


def _cover_up(con: sqlite3.Connection, guards: list[str]) -> None:
    """What a thorough attacker does after editing the log: a Merkle tree to match, no recorded
    checkpoint, and the triggers back."""
    con.execute("DELETE FROM audit_tree")
    con.execute("DELETE FROM audit_checkpoints")
    frontier = Frontier()
    for seq, at, actor, action, subject, payload in con.execute(
        "SELECT seq, at, actor, action, subject, payload FROM audit_events ORDER BY seq"
    ).fetchall():
        data = event_bytes(seq=seq, at=at, actor=actor, action=action, subject=subject, payload=payload)
        for (level, idx), digest in frontier.append(leaf_hash(data)):
            con.execute("INSERT INTO audit_tree VALUES (?, ?, ?)", (level, idx, digest))
    for sql in guards:
        con.execute(sql)


def test_a_checkpoint_is_signed_and_the_log_that_grew_since_extends_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "gov.db"
    _governance(db, capsys, 3)
    code, note = _run(capsys, "--db", str(db), "audit", "checkpoint")
    (tmp_path / "cp.txt").write_text(note, encoding="utf-8")
    _, vkey = _run(capsys, "--db", str(db), "audit", "public-key")
    _governance(db, capsys, 2, first=3)  # the log grows: the old checkpoint still holds
    grown, out = _run(capsys, "--db", str(db), "audit", "verify", "--checkpoint", str(tmp_path / "cp.txt"))

    saved = checkpoint.parse_verified(note, vkey.strip())
    assert code == 0 and grown == 0, out
    assert saved.size == 4  # rules_changed + three agents
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT seq, at, actor, action, subject, payload FROM audit_events ORDER BY seq").fetchall()
    con.close()
    leaves = [
        leaf_hash(event_bytes(seq=r[0], at=r[1], actor=r[2], action=r[3], subject=r[4], payload=r[5])) for r in rows
    ]
    assert saved.root == root(leaves[:4])  # the RFC 6962 root an outsider computes from the rows
    assert stat.S_IMODE(checkpoint.key_path(db).stat().st_mode) == 0o600  # created on first use, owner-only
    with pytest.raises(ValueError, match="does not verify"):
        checkpoint.parse_verified(note.replace("\n4\n", "\n5\n"), vkey.strip())


@pytest.mark.parametrize("tamper", ["truncate", "rewrite"])
def test_verify_with_a_checkpoint_catches_what_the_chain_alone_lets_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tamper: str
) -> None:
    db = tmp_path / "gov.db"
    _governance(db, capsys, 4)
    _, note = _run(capsys, "--db", str(db), "audit", "checkpoint")
    (tmp_path / "cp.txt").write_text(note, encoding="utf-8")
    with sqlite3.connect(db) as con:
        guards = _drop_guards(con)
        if tamper == "truncate":
            con.execute("DELETE FROM audit_events WHERE seq >= 4")  # the last events, the chain still links
            con.execute("DELETE FROM agents WHERE id IN ('agent2', 'agent3')")  # and the rows they made
        else:  # a forged history, re-chained from the start
            from hivegov_mcp.domain.audit import GENESIS, event_hash

            prev = GENESIS
            for seq, at, actor, action, subject, payload in con.execute(
                "SELECT seq, at, actor, action, subject, payload FROM audit_events ORDER BY seq"
            ).fetchall():
                if seq == 2:
                    payload = payload.replace("agent0", "mallory")
                    subject = "agent:mallory"
                digest = event_hash(prev, seq=seq, at=at, actor=actor, action=action, subject=subject, payload=payload)
                con.execute(
                    "UPDATE audit_events SET subject = ?, payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    (subject, payload, prev, digest, seq),
                )
                prev = digest
        if tamper == "rewrite":
            con.execute("UPDATE agents SET id = 'mallory', display_name = 'mallory' WHERE id = 'agent0'")
        _cover_up(con, guards)
    con.close()
    chain_only, plain = _run(capsys, "--db", str(db), "audit", "verify")
    with_checkpoint, out = _run(capsys, "--db", str(db), "audit", "verify", "--checkpoint", str(tmp_path / "cp.txt"))

    assert chain_only == 0, plain  # nothing left in the database can tell
    assert with_checkpoint == 1
    if tamper == "truncate":
        assert "the log has 3 events, fewer than the checkpoint's 5 (it was truncated)" in out
    else:
        assert "the first 5 events have root" in out and "(the log was rewritten)" in out
