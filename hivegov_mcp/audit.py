"""The hash chain of the audit log (DESIGN §6).

hash = SHA-256(prev_hash ‖ canonical event), where the canonical event is the JSON of
seq, at, actor, action, subject and payload with sorted keys and no spaces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS = "0" * 64


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(prev_hash: str, *, seq: int, at: str, actor: str, action: str, subject: str, payload: str) -> str:
    """`payload` is already canonical JSON text (as stored)."""
    body = canonical_json(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "payload": json.loads(payload),
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    head: str | None
    first_bad_seq: int | None
    problem: str | None


def verify_chain(events: Iterable[StoredEvent]) -> ChainCheck:
    """Recompute every link; report the first event whose seq, link or hash is wrong."""
    prev = GENESIS
    count = 0
    head: str | None = None
    for expected_seq, ev in enumerate(events, start=1):
        count += 1
        problem = None
        if ev.seq != expected_seq:
            problem = f"sequence gap: expected {expected_seq}, found {ev.seq}"
        elif ev.prev_hash != prev:
            problem = "prev_hash does not match the hash of the event before"
        else:
            try:
                recomputed = event_hash(
                    prev,
                    seq=ev.seq,
                    at=ev.at,
                    actor=ev.actor,
                    action=ev.action,
                    subject=ev.subject,
                    payload=ev.payload,
                )
            except ValueError:
                recomputed = None
            if recomputed != ev.hash:
                problem = "hash does not match the event's content"
        if problem:
            return ChainCheck(ok=False, events=count, head=ev.hash, first_bad_seq=ev.seq, problem=problem)
        prev = head = ev.hash
    return ChainCheck(ok=True, events=count, head=head, first_bad_seq=None, problem=None)


def content_hash(fields: Mapping[str, object]) -> str:
    return hashlib.sha256(canonical_json(dict(fields)).encode()).hexdigest()
