"""The audit hash covers the payload bytes as stored: a payload rewritten into an equivalent but
non-canonical form is tampering, even when every hash after it was recomputed."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.domain.audit import GENESIS, canonical_json
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast

pytestmark = pytest.mark.anyio


def _old_style_hash(prev: str, row: sqlite3.Row) -> str:
    """The hash a verifier that re-parses payloads would accept (what the log used to check)."""
    body = canonical_json(
        {
            "seq": row["seq"],
            "at": row["at"],
            "actor": row["actor"],
            "action": row["action"],
            "subject": row["subject"],
            "payload": json.loads(row["payload"]),
        }
    )
    return hashlib.sha256((prev + body).encode()).hexdigest()


def _rewrite(db_path: Path, seq: int, payload: str) -> None:
    """Replace one payload and re-chain every later hash the way a re-parsing verifier expects."""
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    with con:
        con.execute("DROP TRIGGER audit_events_no_update")
        con.execute("UPDATE audit_events SET payload = ? WHERE seq = ?", (payload, seq))
        prev = GENESIS
        for row in con.execute("SELECT * FROM audit_events ORDER BY seq").fetchall():
            digest = _old_style_hash(prev, row)
            con.execute("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, row["seq"]))
            prev = digest
    con.close()


def _overwrite(db_path: Path, seq: int, expression: str, *params: object) -> None:
    """Set one stored payload to an SQL expression, leaving every hash as it was."""
    con = sqlite3.connect(db_path)
    with con:
        con.execute("DROP TRIGGER audit_events_no_update")
        con.execute(f"UPDATE audit_events SET payload = {expression} WHERE seq = ?", (*params, seq))
    con.close()


async def _one_proposal(service: GovernanceService, cast: Cast, db_path: Path) -> int:
    receipt = (await service.create_proposal(cast["alice"], **PROPOSAL)).receipt
    return receipt.seq


def _stored_payload(db_path: Path, seq: int) -> str:
    with sqlite3.connect(db_path) as con:
        text: str = con.execute("SELECT payload FROM audit_events WHERE seq = ?", (seq,)).fetchone()[0]
    con.close()
    return text


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda p: p.replace(",", ", "),
        lambda p: json.dumps(dict(reversed(list(json.loads(p).items()))), separators=(",", ":")),
        lambda p: p.replace('"process"', '"\\u0070rocess"'),
        lambda p: p[:-1] + ',"type":"process"}',
    ],
    ids=["whitespace", "key-order", "unicode-escape", "duplicate-key"],
)
async def test_an_equivalent_but_non_canonical_payload_is_reported_at_its_sequence_number(
    service: GovernanceService, cast: Cast, db_path: Path, rewrite: object
) -> None:
    seq = await _one_proposal(service, cast, db_path)
    original = _stored_payload(db_path, seq)
    assert callable(rewrite)
    changed = rewrite(original)
    assert changed != original and json.loads(changed) == json.loads(original)

    _rewrite(db_path, seq, changed)
    check = await service.verify_audit()

    assert (check.ok, check.first_bad_seq) == (False, seq)
    assert check.problem == "the stored payload is not byte-for-byte canonical JSON"


async def test_a_deeply_nested_payload_is_reported_not_crashed_on(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    seq = await _one_proposal(service, cast, db_path)
    _overwrite(db_path, seq, "?", "[" * 200_000)

    check = await service.verify_audit()
    page = await service.get_audit_log(LOCAL_ADMIN)
    done = await anyio.run_process(
        [sys.executable, "-m", "hivegov_mcp", "--db", str(db_path), "audit", "verify"], check=False
    )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()

    assert (check.ok, check.first_bad_seq) == (False, seq)
    assert [e.payload for e in page.events if e.seq == seq] == [{"unreadable_payload": "[" * 200}]
    assert done.returncode == 1 and "Traceback" not in stderr
    assert stdout.startswith(f"TAMPERED at seq {seq}: the stored payload is not byte-for-byte canonical JSON")


async def test_an_untouched_log_still_verifies_with_the_same_hashes_as_before(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    await _one_proposal(service, cast, db_path)
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM audit_events ORDER BY seq").fetchall()
    con.close()
    prev = GENESIS
    for row in rows:  # a canonical payload hashes the same embedded as bytes or re-parsed
        assert row["hash"] == _old_style_hash(prev, row)
        prev = row["hash"]
    assert (await service.verify_audit()).ok


async def test_a_payload_whose_bytes_are_not_utf8_is_reported_as_tampering(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    seq = await _one_proposal(service, cast, db_path)
    _overwrite(db_path, seq, "CAST(X'7B2278223A22FF227D' AS TEXT)")  # {"x":"<byte FF>"}

    check = await service.verify_audit()
    page = await service.get_audit_log(LOCAL_ADMIN)

    assert (check.ok, check.first_bad_seq) == (False, seq)
    assert [e.payload for e in page.events if e.seq == seq] == [{"unreadable_payload": '{"x":"\\udcff"}'}]


async def test_the_log_is_verified_page_by_page_across_page_boundaries(
    service: GovernanceService, cast: Cast, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hivegov_mcp.service import records

    for _ in range(3):
        await _one_proposal(service, cast, db_path)
    whole = await service.verify_audit()
    monkeypatch.setattr(records, "VERIFY_PAGE", 3)
    paged = await service.verify_audit()
    _rewrite(db_path, whole.events - 1, _stored_payload(db_path, whole.events - 1).replace(",", ", "))
    tampered = await service.verify_audit()

    assert paged == whole and whole.ok and whole.events > 9
    assert (tampered.ok, tampered.first_bad_seq) == (False, whole.events - 1)
