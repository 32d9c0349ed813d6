"""Signed checkpoints of the audit log (DESIGN §16): the C2SP `tlog-checkpoint` body (origin,
size, base64 root of the RFC 6962 tree) in a C2SP `signed-note`, signed with Ed25519.

The key lives beside the database (`<db>.ed25519`, owner-only) and is created on first use,
unless the operator names one (HIVEGOV_SIGNING_KEY); `verifier_key` is what an outsider needs:
`<name>+<key hash>+<base64(0x01 ‖ public key)>`. The service records every checkpoint it signs
in the database and never signs one size with two roots."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = b"\x01"


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def key_path(db: Path) -> Path:
    return db.with_name(db.name + ".ed25519")


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_hash(name: str, public: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + _raw(public)).digest()[:4]


def verifier_key(name: str, public: Ed25519PublicKey) -> str:
    return f"{name}+{key_hash(name, public).hex()}+{base64.b64encode(ALG_ED25519 + _raw(public)).decode()}"


def body(checkpoint: Checkpoint) -> str:
    return f"{checkpoint.origin}\n{checkpoint.size}\n{base64.b64encode(checkpoint.root).decode()}\n"


def sign(checkpoint: Checkpoint, key: Ed25519PrivateKey) -> str:
    text = body(checkpoint)
    signature = key_hash(checkpoint.origin, key.public_key()) + key.sign(text.encode())
    return f"{text}\n\u2014 {checkpoint.origin} {base64.b64encode(signature).decode()}\n"


def parse_verified(note: str, vkey: str) -> Checkpoint:
    """The checkpoint of a signed note, if `vkey` signed it; else ValueError saying why."""
    name, hash_hex, encoded = vkey.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    if raw[:1] != ALG_ED25519:
        raise ValueError("the verifier key is not an Ed25519 key")
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    text, sep, signatures = note.partition("\n\n")
    if not sep:
        raise ValueError("it is not a signed note (no blank line before the signatures)")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            continue
        signer, _, sig_b64 = line[2:].partition(" ")
        sig = base64.b64decode(sig_b64)
        if signer != name or sig[:4].hex() != hash_hex:
            continue
        try:
            public.verify(sig[4:], text.encode())
        except Exception:
            raise ValueError(f"the signature of {name} does not verify: the note was altered") from None
        origin, size, root_b64 = text.splitlines()[:3]
        return Checkpoint(origin=origin, size=int(size), root=base64.b64decode(root_b64))
    raise ValueError(f"the note carries no signature by {name}")


class Signer:
    """The log's signing key, loaded (or created, owner-only) on first use, and its origin line."""

    def __init__(self, key_file: Path, origin: str) -> None:
        self.key_file = key_file
        self.origin = origin
        self._key: Ed25519PrivateKey | None = None

    def key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = load_or_create_key(self.key_file)
        return self._key

    def verifier_key(self) -> str:
        return verifier_key(self.origin, self.key().public_key())

    def sign(self, size: int, root: bytes) -> str:
        return sign(Checkpoint(origin=self.origin, size=size, root=root), self.key())
