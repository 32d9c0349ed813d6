"""`hivegov-mcp migrate --from sqlite:PATH --to postgresql://…` (DESIGN §10, §17): a whole
governance copied, the audit chain, Merkle tree and checkpoints intact and verified on the
target, which then goes on where the source stopped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import psycopg
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.cli import main
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.service.checkpoint import parse_verified
from hivegov_mcp.settings import Settings
from tests.test_tamper import _governance

pytestmark = pytest.mark.anyio


async def test_a_governance_is_copied_verified_and_goes_on_in_postgresql(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "gov.db"
    at = await _governance(source)  # a cycle with an objection, votes, a closed vote, an appeal
    key = tmp_path / "gov.db.ed25519"
    async with open_service(Settings(db=source, clock=FakeClock())) as svc:
        signed = await svc.sign_checkpoint()
        vkey = svc.signer.verifier_key()
        old_proposal = await svc.get_proposal(LOCAL_ADMIN, "BIP-001")

    code = await anyio.to_thread.run_sync(main, ["migrate", "--from", f"sqlite:{source}", "--to", pg_url])
    out = capsys.readouterr().out
    again = await anyio.to_thread.run_sync(main, ["migrate", "--from", f"sqlite:{source}", "--to", pg_url])
    refused = capsys.readouterr()

    async with open_service(Settings(db=pg_url, clock=FakeClock(), signing_key=key)) as pg:
        check = await pg.verify_audit()
        latest = await pg.latest_checkpoint()
        published = pg.signer.verifier_key()
        proposal = await pg.get_proposal(LOCAL_ADMIN, "BIP-001")
        later = await pg.register_agent(LOCAL_ADMIN, "late", ["voter"])  # ids and seqs go on
        hits = await pg.search_proposals(LOCAL_ADMIN, "changelogs")
        grown = await pg.latest_checkpoint()
        after = await pg.verify_audit()

    assert code == 0 and f"ok: {at['head']} events verified" in out, out
    assert again == 2 and "holds a governance already" in refused.err
    assert check.ok and check.head is not None and latest.note == signed.note  # the same checkpoint, same key
    assert proposal == old_proposal
    assert later.receipt.seq == at["head"] + 1 and after.ok
    # the log keeps its name and key: the key published for gov.db verifies its checkpoints on PostgreSQL
    assert latest.origin == "hivegov.local/gov.db" and published == vkey
    assert parse_verified(grown.note, vkey).size == later.receipt.seq
    assert [h.proposal_id for h in hits.hits] == ["BIP-001"]


async def test_a_tampered_source_is_not_copied(tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "gov.db"
    await _governance(source)
    with sqlite3.connect(source) as con:
        con.execute("UPDATE proposals SET status = 'rejected'")
    con.close()

    code = await anyio.to_thread.run_sync(main, ["migrate", "--from", f"sqlite:{source}", "--to", pg_url])

    assert code == 1 and "TAMPERED source at proposals: BIP-001 status" in capsys.readouterr().out
    with psycopg.connect(pg_url) as pg:
        assert pg.execute("SELECT to_regclass('audit_events')").fetchone() == (None,)  # nothing created
