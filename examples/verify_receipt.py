#!/usr/bin/env python3
"""Check a hivegov audit proof without the database: Python's standard library plus
`cryptography`, nothing from hivegov-mcp.

    python examples/verify_receipt.py PROOF.json VERIFIER_KEY [--receipt RECEIPT.json] [--checkpoint KEPT.txt]

PROOF.json is what `get_audit_proof` returns (MCP tool, or GET /api/governance/audit/{seq}/proof);
VERIFIER_KEY is the line `hivegov-mcp audit public-key` prints, obtained from the operator
out of band (never from the proof itself), as text or as a file holding it; RECEIPT.json is
what the write returned (its whole result, or its `receipt`), kept since. It checks that:

1. the checkpoint in the proof is signed by that key (C2SP signed-note, Ed25519) and names the
   tree size and root the proof uses;
2. the event's bytes hash to the leaf, and the RFC 6962 inclusion proof leads from that leaf to
   the signed root (RFC 9162 §2.1.3.2);
3. with --receipt, the proof is of the event your receipt was given for: the same sequence
   number and the same Merkle leaf (an event rewritten since, even with the tree regrown and
   the checkpoint signed anew, has another leaf);
4. with --checkpoint (a checkpoint you saved earlier, signed by the same key), the proof's
   consistency proof shows the signed tree extends the saved one (RFC 9162 §2.1.4.2).

Exit 0 when everything holds, 1 with the reason otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Invalid(Exception):
    pass


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


KEY_FORM = "NAME+HASH+KEY, the line `hivegov-mcp audit public-key` prints"


def read_key(given: str) -> str:
    """The verifier key, given as text or as a file that holds it."""
    path = Path(given)
    try:
        is_file = path.is_file()
    except OSError:  # (text too long to be a path)
        is_file = False
    if is_file:
        text = path.read_text(encoding="utf-8").strip()
        if text.count("+") < 2 or len(text.splitlines()) != 1:
            raise Invalid(f"the file {given} does not hold a verifier key: expected one line, {KEY_FORM}")
        return text
    if given.strip().count("+") >= 2 and not any(c.isspace() for c in given.strip()):
        return given.strip()
    raise Invalid(f"VERIFIER_KEY {given!r} is neither a verifier key ({KEY_FORM}) nor a file that holds one")


def open_note(note: str, vkey: str) -> tuple[str, int, bytes]:
    """(origin, size, root) of a signed checkpoint, if `vkey` signed it."""
    name, key_id, encoded = vkey.strip().split("+", 2)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise Invalid(f"the verifier key's last part is not base64 ({KEY_FORM})") from None
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise Invalid("the verifier key is not an Ed25519 key")
    if hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() != key_id:
        raise Invalid("the verifier key's hash does not match its name and key")
    text, sep, signatures = note.partition("\n\n")
    if not sep:
        raise Invalid("the checkpoint is not a signed note")
    body = (text + "\n").encode()
    for line in signatures.splitlines():
        signer, _, sig_b64 = line.removeprefix("\u2014 ").partition(" ")
        sig = base64.b64decode(sig_b64 or "")
        if signer == name and sig[:4].hex() == key_id:
            try:
                Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], body)
            except InvalidSignature:
                raise Invalid("the checkpoint's signature does not verify: it was altered") from None
            origin, size, root = text.splitlines()[:3]
            return origin, int(size), base64.b64decode(root)
    raise Invalid(f"the checkpoint carries no signature by {name}")


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, old: bytes, new: bytes, proof: list[bytes]) -> bool:
    if m == n:
        return not proof and old == new
    if not 0 < m < n or not proof:
        return False
    path = [old, *proof] if m & (m - 1) == 0 else list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old and sr == new and sn == 0


def read_receipt(given: Any) -> tuple[int, str]:
    """(seq, leaf) of a receipt: a write's result holding `receipt`, or the receipt itself."""
    receipt = given.get("receipt", given) if isinstance(given, dict) else None
    if not isinstance(receipt, dict) or not isinstance(receipt.get("seq"), int):
        raise Invalid("the receipt file holds no receipt: expected the write's result (with `receipt`) or its receipt")
    leaf = receipt.get("leaf")
    if not isinstance(leaf, str) or not leaf:
        raise Invalid(
            f"the receipt of event #{receipt['seq']} carries no `leaf`, so no proof can be held against it "
            "(a server from before receipts carried their leaf)"
        )
    return receipt["seq"], leaf.lower()


def check(proof: dict[str, object], vkey: str, kept: str | None = None, receipt: Any = None) -> str:
    """What was proved, in one line; Invalid when anything fails."""
    origin, size, root = open_note(str(proof["checkpoint"]["note"]), vkey)  # type: ignore[index]
    if size != proof["tree_size"] or root.hex() != proof["root"]:
        raise Invalid("the proof is not against the signed checkpoint's size and root")
    event = str(proof["canonical_event"]).encode()
    seq = int(json.loads(event)["seq"])
    if seq != proof["seq"]:
        raise Invalid(f"the event is #{seq}, the proof says #{proof['seq']}")
    leaf = hashlib.sha256(b"\x00" + event).digest()
    if leaf.hex() != proof["leaf_hash"]:
        raise Invalid("the event's bytes do not hash to the proof's leaf")
    path = [bytes.fromhex(h) for h in proof["inclusion"]]  # type: ignore[attr-defined]
    if not verify_inclusion(seq - 1, size, leaf, path, root):
        raise Invalid(f"event #{seq} is not in the signed tree of {size} events (the inclusion proof fails)")
    said = f"event #{seq} is in {origin}'s signed log of {size} events"
    if receipt is not None:
        held_seq, held_leaf = read_receipt(receipt)
        if held_seq != seq:
            raise Invalid(f"the receipt is for event #{held_seq}, the proof for event #{seq}")
        if held_leaf != leaf.hex():
            raise Invalid(
                f"event #{seq} is not the event of your receipt: its leaf is {leaf.hex()}, your receipt's is "
                f"{held_leaf}; the log was rewritten after your write"
            )
        said += ", the very event of your receipt"
    if kept is not None:
        _, old_size, old_root = open_note(kept, vkey)
        consistency = proof.get("consistency")
        if not isinstance(consistency, dict) or consistency.get("from_size") != old_size:
            raise Invalid(f"ask for the proof with since_size={old_size} to check it against your checkpoint")
        hashes = [bytes.fromhex(h) for h in consistency["proof"]]
        if not verify_consistency(old_size, size, old_root, root, hashes):
            raise Invalid(f"the log of {size} events does not extend your checkpoint of {old_size}: it was rewritten")
        said += f", which extends your checkpoint of {old_size}"
    return said


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a hivegov audit proof offline.")
    parser.add_argument("proof", help="the JSON that get_audit_proof returned")
    parser.add_argument(
        "verifier_key", help="the operator's published key (`hivegov-mcp audit public-key`), as text or a file"
    )
    parser.add_argument("--receipt", help="the write's result (or its receipt) as JSON, kept since the write")
    parser.add_argument("--checkpoint", help="a signed checkpoint you kept earlier")
    args = parser.parse_args(argv)
    try:
        vkey = read_key(args.verifier_key)
        proof = json.loads(Path(args.proof).read_text(encoding="utf-8"))
        receipt = json.loads(Path(args.receipt).read_text(encoding="utf-8")) if args.receipt else None
        kept = Path(args.checkpoint).read_text(encoding="utf-8") if args.checkpoint else None
        print("ok: " + check(proof, vkey, kept, receipt))
        return 0
    except (Invalid, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"INVALID: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
