"""The hash chain of the audit log (DESIGN §6).

hash = SHA-256(prev_hash ‖ canonical event), where the canonical event is the JSON of
seq, at, actor, action, subject and payload with sorted keys and no spaces. The hash covers
the payload bytes as stored: verification never re-parses and re-serializes them, and a
stored payload that is not canonical JSON counts as tampering.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hivegov_mcp.domain.merkle import leaf_hash

GENESIS = "0" * 64


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_bytes(*, seq: int, at: str, actor: str, action: str, subject: str, payload: str) -> bytes:
    """The canonical event, with the stored payload text embedded byte for byte (never re-parsed).

    Equal to canonical_json of the event with the parsed payload whenever the payload is
    canonical, which is what the store writes; a payload that is not is caught apart."""
    head = canonical_json({"action": action, "actor": actor, "at": at})
    tail = canonical_json({"seq": seq, "subject": subject})
    # surrogateescape: a tampered row's bytes that are not UTF-8 come back as they were stored
    return f'{head[:-1]},"payload":{payload},{tail[1:]}'.encode("utf-8", "surrogateescape")


def event_hash(prev_hash: str, *, seq: int, at: str, actor: str, action: str, subject: str, payload: str) -> str:
    """`payload` is the canonical JSON text as stored."""
    body = event_bytes(seq=seq, at=at, actor=actor, action=action, subject=subject, payload=payload)
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


def event_leaf(event: StoredEvent) -> bytes:
    """The event's RFC 6962 leaf hash (the Merkle tree's leaf), over its canonical bytes as stored."""
    data = event_bytes(
        seq=event.seq, at=event.at, actor=event.actor, action=event.action, subject=event.subject, payload=event.payload
    )
    return leaf_hash(data)


def _not_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def is_canonical(payload: object) -> bool:
    """True when the stored payload is exactly the canonical JSON of a JSON object."""
    if not isinstance(payload, str) or _not_unicode(payload):
        return False
    try:
        value = json.loads(payload)
        return isinstance(value, dict) and canonical_json(value) == payload
    except (ValueError, RecursionError):
        return False


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


def _problem(ev: StoredEvent, expected_seq: int, prev: str) -> str | None:
    if ev.seq != expected_seq:
        return f"sequence gap: expected {expected_seq}, found {ev.seq}"
    if ev.prev_hash != prev:
        return "prev_hash does not match the hash of the event before"
    if not all(isinstance(v, str) and not _not_unicode(v) for v in (ev.at, ev.actor, ev.action, ev.subject)):
        return "a field of the event is not UTF-8 text"
    if not is_canonical(ev.payload):
        return "the stored payload is not byte-for-byte canonical JSON"
    recomputed = event_hash(
        prev, seq=ev.seq, at=ev.at, actor=ev.actor, action=ev.action, subject=ev.subject, payload=ev.payload
    )
    return None if recomputed == ev.hash else "hash does not match the event's content"


class ChainVerifier:
    """Checks the chain a page at a time, so a verification holds one page in memory."""

    def __init__(self) -> None:
        self._prev = GENESIS
        self._count = 0
        self._failure: ChainCheck | None = None

    def feed(self, events: Iterable[StoredEvent]) -> bool:
        """Check the next events in order; False once a bad event was found (stop feeding)."""
        if self._failure is not None:
            return False
        for ev in events:
            self._count += 1
            problem = _problem(ev, self._count, self._prev)
            if problem:
                self._failure = ChainCheck(
                    ok=False, events=self._count, head=ev.hash, first_bad_seq=ev.seq, problem=problem
                )
                return False
            self._prev = ev.hash
        return True

    def result(self) -> ChainCheck:
        if self._failure is not None:
            return self._failure
        head = None if self._count == 0 else self._prev
        return ChainCheck(ok=True, events=self._count, head=head, first_bad_seq=None, problem=None)


def verify_chain(events: Iterable[StoredEvent]) -> ChainCheck:
    """Recompute every link; report the first event whose seq, link or hash is wrong."""
    verifier = ChainVerifier()
    verifier.feed(events)
    return verifier.result()


def content_hash(fields: Mapping[str, object]) -> str:
    return hashlib.sha256(canonical_json(dict(fields)).encode()).hexdigest()


def option_ballot_commitment(ballot: Mapping[str, object], justification: str, salt: str) -> str:
    """What a cast_vote event records of a ballot on options (approvals, scores or a ranking):
    SHA-256 of the canonical JSON of the ballot, its justification and its random salt."""
    committed = {"ballot": dict(ballot), "justification": justification, "salt": salt}
    return hashlib.sha256(canonical_json(committed).encode()).hexdigest()


def ballot_commitment(decision: str, justification: str, salt: str | None) -> str:
    """What a cast_vote event records of the ballot: SHA-256 of its canonical JSON with the vote's
    random salt (without one for ballots cast before salting)."""
    ballot: dict[str, str] = {"decision": decision, "justification": justification}
    if salt is not None:
        ballot["salt"] = salt
    return hashlib.sha256(canonical_json(ballot).encode()).hexdigest()
