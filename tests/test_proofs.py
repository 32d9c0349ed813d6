"""Audit proofs (DESIGN §16): get_audit_proof over every door, checked by the standalone
verifier in examples/ (a subprocess, standard library plus `cryptography`) with only the public
key; consistency with a checkpoint kept earlier; an older database's tree planted on upgrade."""

from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain import merkle
from hivegov_mcp.domain.audit import event_leaf
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import InvalidInput, LogTampered, NotFound
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.checkpoint import parse_verified
from hivegov_mcp.settings import Settings
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

VERIFIER = Path(__file__).resolve().parent.parent / "examples" / "verify_receipt.py"


def _verify(
    tmp_path: Path, proof: dict[str, object], vkey: str, kept: str | None = None, receipt: object = None
) -> tuple[int, str]:
    (tmp_path / "proof.json").write_text(json.dumps(proof), encoding="utf-8")
    args = [sys.executable, "-I", str(VERIFIER), str(tmp_path / "proof.json"), vkey]
    if kept is not None:
        (tmp_path / "kept.txt").write_text(kept, encoding="utf-8")
        args += ["--checkpoint", str(tmp_path / "kept.txt")]
    if receipt is not None:
        (tmp_path / "receipt.json").write_text(json.dumps(receipt), encoding="utf-8")
        args += ["--receipt", str(tmp_path / "receipt.json")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout.strip() + done.stderr


async def _writes(service: GovernanceService, cast: Cast, n: int) -> list[int]:
    return [(await service.create_proposal(cast["alice"], **PROPOSAL)).receipt.seq for _ in range(n)]


def test_the_verifier_imports_nothing_of_hivegov() -> None:
    imported = set()
    for node in ast.walk(ast.parse(VERIFIER.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"cryptography"}, imported


async def test_a_receipt_s_proof_verifies_offline_and_a_doctored_one_does_not(
    service: GovernanceService, cast: Cast, tmp_path: Path
) -> None:
    seqs = await _writes(service, cast, 5)
    proof = (await service.get_audit_proof(cast["bob"], seqs[2])).model_dump(mode="json")
    vkey = service.signer.verifier_key()

    code, out = _verify(tmp_path, proof, vkey)
    doctored = {**proof, "canonical_event": proof["canonical_event"].replace("alice", "mallory")}
    forged_leaf = {**doctored, "leaf_hash": merkle.leaf_hash(doctored["canonical_event"].encode()).hex()}
    other_key = "hivegov.local/x+00000000+" + "AQ" + "A" * 42 + "="

    assert code == 0 and f"event #{seqs[2]} is in" in out, out
    assert _verify(tmp_path, doctored, vkey)[0] == 1
    assert "inclusion proof fails" in _verify(tmp_path, forged_leaf, vkey)[1]
    assert _verify(tmp_path, proof, other_key)[0] == 1


async def test_a_proof_is_against_a_checkpoint_signed_once_per_size_and_proves_consistency(
    service: GovernanceService, cast: Cast, tmp_path: Path
) -> None:
    first = await _writes(service, cast, 3)
    kept = await service.latest_checkpoint(cast["bob"])
    again = await service.latest_checkpoint(cast["dave"])
    later = await _writes(service, cast, 4)
    proof = await service.get_audit_proof(cast["bob"], later[-1], since_size=kept.size)
    old = await service.get_audit_proof(cast["bob"], first[0])  # the latest checkpoint covers it: no new one

    signed = parse_verified(proof.checkpoint.note, service.signer.verifier_key())
    assert again == kept and proof.tree_size == later[-1] == signed.size
    assert old.checkpoint == proof.checkpoint
    assert proof.consistency is not None and proof.consistency.from_size == kept.size
    code, out = _verify(tmp_path, proof.model_dump(mode="json"), service.signer.verifier_key(), kept.note)
    assert code == 0 and f"extends your checkpoint of {kept.size}" in out, out
    no_consistency = (await service.get_audit_proof(cast["bob"], later[-1])).model_dump(mode="json")
    assert "since_size" in _verify(tmp_path, no_consistency, service.signer.verifier_key(), kept.note)[1]


async def test_every_proof_of_a_log_verifies_and_bad_arguments_are_named(
    service: GovernanceService, cast: Cast
) -> None:
    await _writes(service, cast, 4)
    checkpoint = await service.latest_checkpoint(cast["bob"])
    root = bytes.fromhex(checkpoint.root)
    for seq in range(1, checkpoint.size + 1):
        p = await service.get_audit_proof(cast["bob"], seq, since_size=seq)
        path = [bytes.fromhex(h) for h in p.inclusion]
        assert merkle.verify_inclusion(seq - 1, p.tree_size, bytes.fromhex(p.leaf_hash), path, root)
        assert p.consistency is not None
        old_root = (await service.audit_tree(seq))[1]
        hashes = [bytes.fromhex(h) for h in p.consistency.proof]
        assert merkle.verify_consistency(seq, p.tree_size, old_root, root, hashes)
    with pytest.raises(NotFound, match=f"events 1 to {checkpoint.size}"):
        await service.get_audit_proof(cast["bob"], checkpoint.size + 1)
    with pytest.raises(InvalidInput, match="since_size"):
        await service.get_audit_proof(cast["bob"], 1, since_size=checkpoint.size + 1)


async def test_an_older_database_gets_its_tree_planted_once_on_upgrade(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    async with open_service(Settings(db=db, clock=FakeClock())) as svc:
        for n in range(6):
            await svc.register_agent(LOCAL_ADMIN, f"agent{n}", ["voter"])
        size, root = await svc.audit_tree()
    with sqlite3.connect(db) as con:  # as a database from before migration 7 was
        for (name,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'audit_tree%' "
            "OR name LIKE 'audit_checkpoints%')"
        ).fetchall():
            con.execute(f"DROP TRIGGER {name}")
        con.execute("DROP TABLE audit_tree")
        con.execute("DROP TABLE audit_checkpoints")
        con.execute("ALTER TABLE votes DROP COLUMN salt")
        con.execute("DELETE FROM schema_migrations WHERE version = 7")
    con.close()

    async with open_service(Settings(db=db, clock=FakeClock())) as svc:
        check = await svc.verify_audit()
        checkpoint = await svc.latest_checkpoint()
        await svc.register_agent(LOCAL_ADMIN, "late", ["voter"])
        after = await svc.verify_audit()

    assert check.ok and checkpoint.size == size and checkpoint.root == root.hex()
    assert after.ok and after.events == size + 1


async def test_no_checkpoint_is_signed_over_a_stored_tree_that_disagrees_with_the_events(tmp_path: Path) -> None:
    db = tmp_path / "gov.db"
    async with open_service(Settings(db=db, clock=FakeClock())) as svc:
        for n in range(17):
            await svc.register_agent(LOCAL_ADMIN, f"agent{n}", ["voter"])
    with sqlite3.connect(db) as con:
        con.execute("DROP TRIGGER audit_tree_no_update")
        con.execute("UPDATE audit_tree SET hash = zeroblob(32) WHERE level = 4 AND idx = 0")
    con.close()

    async with open_service(Settings(db=db, clock=FakeClock())) as svc:
        with pytest.raises(LogTampered, match="no checkpoint is signed over it"):
            await svc.sign_checkpoint()
        async with svc.store.read() as tx:
            assert await tx.checkpoint() is None


async def _kept_result(service: GovernanceService, cast: Cast) -> dict[str, Any]:
    """A write's whole result as its author keeps it, the receipt's leaf included."""
    result = (await service.create_proposal(cast["alice"], **PROPOSAL)).model_dump(mode="json")
    if result["receipt"].get("leaf") is None:  # until the store's append_audit returns it (see issue 17, item 3)
        async with service.store.read() as tx:
            (event,) = await tx.audit_events(subject=None, after_seq=result["receipt"]["seq"] - 1, limit=1)
        result["receipt"]["leaf"] = event_leaf(event).hex()
    return result


def _rewritten(proofs: list[dict[str, Any]], seq: int, signer: Any) -> dict[str, Any]:
    """The proof of event `seq` after whoever holds the database and the key rewrote it: the
    event edited, the tree regrown over the log, a checkpoint signed anew."""
    events = [p["canonical_event"].encode() for p in proofs]
    events[seq - 1] = events[seq - 1].replace(b"structured", b"unstructured")
    leaves = [merkle.leaf_hash(e) for e in events]
    root = merkle.root(leaves)
    proof = proofs[seq - 1]
    return {
        **proof,
        "canonical_event": events[seq - 1].decode(),
        "leaf_hash": leaves[seq - 1].hex(),
        "inclusion": [h.hex() for h in merkle.inclusion_proof(seq - 1, leaves)],
        "root": root.hex(),
        "checkpoint": {**proof["checkpoint"], "note": signer.sign(len(leaves), root), "root": root.hex()},
    }


async def test_a_proof_is_held_against_the_write_s_receipt_and_a_rewritten_event_is_refused(
    service: GovernanceService, cast: Cast, tmp_path: Path
) -> None:
    await _writes(service, cast, 2)
    kept = await _kept_result(service, cast)  # the author keeps the write's result
    seq = kept["receipt"]["seq"]
    await _writes(service, cast, 2)
    size = (await service.latest_checkpoint(cast["bob"])).size
    proofs = [(await service.get_audit_proof(cast["bob"], n)).model_dump(mode="json") for n in range(1, size + 1)]
    vkey = service.signer.verifier_key()
    forged = _rewritten(proofs, seq, service.signer)
    assert forged["leaf_hash"] != proofs[seq - 1]["leaf_hash"]

    ok, said = _verify(tmp_path, proofs[seq - 1], vkey, receipt=kept)
    assert ok == 0 and "the very event of your receipt" in said, said
    assert _verify(tmp_path, proofs[seq - 1], vkey, receipt=kept["receipt"])[0] == 0  # the receipt alone too
    assert _verify(tmp_path, forged, vkey)[0] == 0  # without the receipt the rewrite passes (issue 17, item 3)
    refused, why = _verify(tmp_path, forged, vkey, receipt=kept)
    assert refused == 1 and f"event #{seq} is not the event of your receipt" in why, why
    other, why = _verify(tmp_path, proofs[seq], vkey, receipt=kept)
    assert other == 1 and f"the receipt is for event #{seq}, the proof for event #{seq + 1}" in why, why
    leafless = {**kept, "receipt": {**kept["receipt"], "leaf": None}}
    assert "carries no `leaf`" in _verify(tmp_path, proofs[seq - 1], vkey, receipt=leafless)[1]


async def test_the_verifier_takes_the_key_as_text_or_as_a_file_and_says_when_it_is_neither(
    service: GovernanceService, cast: Cast, tmp_path: Path
) -> None:
    (seq,) = await _writes(service, cast, 1)
    proof = (await service.get_audit_proof(cast["bob"], seq)).model_dump(mode="json")
    key_file = tmp_path / "key.txt"
    key_file.write_text(service.signer.verifier_key() + "\n", encoding="utf-8")
    (tmp_path / "not-a-key.txt").write_text("hello\n", encoding="utf-8")

    assert _verify(tmp_path, proof, str(key_file))[0] == 0
    assert _verify(tmp_path, proof, service.signer.verifier_key())[0] == 0
    code, said = _verify(tmp_path, proof, "key.txt-that-is-not-there")
    assert code == 1 and "is neither a verifier key (NAME+HASH+KEY" in said and "unpack" not in said, said
    code, said = _verify(tmp_path, proof, str(tmp_path / "not-a-key.txt"))
    assert code == 1 and "does not hold a verifier key" in said, said
    assert "not base64" in _verify(tmp_path, proof, "name+00000000+not*base64")[1]


async def test_every_write_s_receipt_carries_the_leaf_its_proof_proves(service: GovernanceService, cast: Cast) -> None:
    created = await service.create_proposal(cast["alice"], **PROPOSAL)
    await service.start_discussion(cast["alice"], created.id)
    summary = await service.summarize_discussion(cast["bob"], created.id)
    again = await service.summarize_discussion(cast["bob"], created.id)  # unchanged: the earlier event's receipt
    for receipt in (created.receipt, summary.receipt, again.receipt):
        proof = await service.get_audit_proof(cast["bob"], receipt.seq)
        assert receipt.leaf == proof.leaf_hash, receipt
    assert again.receipt == summary.receipt and not again.changed
