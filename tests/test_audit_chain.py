"""The hash chain of the audit log (DESIGN §6)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.audit import (
    GENESIS,
    ChainCheck,
    StoredEvent,
    canonical_json,
    content_hash,
    event_hash,
    verify_chain,
)


def build_chain(n: int) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        at = f"2025-01-01T00:00:{seq:02d}+00:00"
        actor = "alice" if seq % 2 else "@engine"
        action = "create_proposal" if seq == 1 else "add_comment"
        payload = canonical_json({"n": seq, "text": f"event {seq} ✓"})
        digest = event_hash(prev, seq=seq, at=at, actor=actor, action=action, subject="BIP-001", payload=payload)
        events.append(StoredEvent(seq, at, actor, action, "BIP-001", payload, prev, digest))
        prev = digest
    return events


TAMPERS: dict[str, Callable[[StoredEvent], StoredEvent]] = {
    "at": lambda ev: replace(ev, at="2030-01-01T00:00:00+00:00"),
    "actor": lambda ev: replace(ev, actor="mallory"),
    "action": lambda ev: replace(ev, action="cast_vote"),
    "subject": lambda ev: replace(ev, subject="BIP-002"),
    "payload": lambda ev: replace(ev, payload=canonical_json({"n": -1})),
    "prev_hash": lambda ev: replace(ev, prev_hash="f" * 64),
    "hash": lambda ev: replace(ev, hash="e" * 64),
}


def test_genesis_is_sixty_four_zeros() -> None:
    assert GENESIS == "0" * 64


def test_an_event_hash_is_sha256_of_the_previous_hash_and_the_canonical_event() -> None:
    body = (
        '{"action":"cast_vote","actor":"bob","at":"2025-01-01T00:00:00+00:00",'
        '"payload":{"a":1,"b":"é"},"seq":3,"subject":"BIP-001"}'
    )
    expected = hashlib.sha256((GENESIS + body).encode()).hexdigest()
    assert (
        event_hash(
            GENESIS,
            seq=3,
            at="2025-01-01T00:00:00+00:00",
            actor="bob",
            action="cast_vote",
            subject="BIP-001",
            payload='{"a":1,"b":"é"}',
        )
        == expected
    )


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    assert canonical_json({"b": [1, 2], "a": {"d": None, "c": "ü"}}) == '{"a":{"c":"ü","d":null},"b":[1,2]}'


def test_content_hash_does_not_depend_on_key_order() -> None:
    assert content_hash({"title": "x", "abstract": "y"}) == content_hash({"abstract": "y", "title": "x"})
    assert content_hash({"title": "x"}) != content_hash({"title": "X"})


def test_an_intact_chain_verifies() -> None:
    events = build_chain(5)
    assert verify_chain(events) == ChainCheck(ok=True, events=5, head=events[-1].hash, first_bad_seq=None, problem=None)


def test_an_empty_chain_is_ok_with_no_head() -> None:
    assert verify_chain([]) == ChainCheck(ok=True, events=0, head=None, first_bad_seq=None, problem=None)


def test_the_first_event_links_to_genesis() -> None:
    events = build_chain(2)
    assert events[0].prev_hash == GENESIS
    assert events[1].prev_hash == events[0].hash


def test_a_changed_payload_is_reported_at_its_sequence_number() -> None:
    events = build_chain(5)
    events[2] = replace(events[2], payload=canonical_json({"n": 3, "text": "rewritten"}))
    assert verify_chain(events) == ChainCheck(
        ok=False,
        events=3,
        head=events[2].hash,
        first_bad_seq=3,
        problem="hash does not match the event's content",
    )


@settings(max_examples=200, deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=8), field=st.sampled_from(sorted(TAMPERS)))
def test_changing_any_field_of_event_k_is_reported_at_k(data: st.DataObject, n: int, field: str) -> None:
    events = build_chain(n)
    k = data.draw(st.integers(min_value=1, max_value=n))
    events[k - 1] = TAMPERS[field](events[k - 1])
    check = verify_chain(events)
    assert (check.ok, check.first_bad_seq, check.events) == (False, k, k)
    assert check.problem is not None


def test_a_changed_event_with_a_recomputed_hash_breaks_the_next_link() -> None:
    events = build_chain(4)
    forged = replace(events[1], actor="mallory")
    events[1] = replace(
        forged,
        hash=event_hash(
            forged.prev_hash,
            seq=forged.seq,
            at=forged.at,
            actor=forged.actor,
            action=forged.action,
            subject=forged.subject,
            payload=forged.payload,
        ),
    )
    check = verify_chain(events)
    assert (check.ok, check.first_bad_seq, check.problem) == (
        False,
        3,
        "prev_hash does not match the hash of the event before",
    )


def test_a_removed_middle_event_is_detected() -> None:
    events = build_chain(5)
    del events[2]
    assert verify_chain(events) == ChainCheck(
        ok=False, events=3, head=events[2].hash, first_bad_seq=4, problem="sequence gap: expected 3, found 4"
    )


def test_a_removed_middle_event_is_detected_even_when_the_rest_is_renumbered() -> None:
    events = build_chain(5)
    del events[2]
    events = [replace(ev, seq=i) for i, ev in enumerate(events, start=1)]
    check = verify_chain(events)
    assert (check.ok, check.first_bad_seq) == (False, 3)


def test_a_changed_sequence_number_is_a_gap() -> None:
    events = build_chain(3)
    events[1] = replace(events[1], seq=7)
    check = verify_chain(events)
    assert check.ok is False
    assert check.problem == "sequence gap: expected 2, found 7"


def test_a_payload_that_is_not_json_is_reported_not_raised() -> None:
    events = build_chain(3)
    events[1] = replace(events[1], payload="{not json")
    assert (verify_chain(events).ok, verify_chain(events).first_bad_seq) == (False, 2)


def test_a_payload_with_nan_is_reported_not_raised() -> None:
    events = build_chain(3)
    events[0] = replace(events[0], payload='{"x": NaN}')
    assert (verify_chain(events).ok, verify_chain(events).first_bad_seq) == (False, 1)


def test_dropping_the_last_event_changes_the_head() -> None:
    events = build_chain(4)
    truncated = verify_chain(events[:-1])
    assert truncated.ok is True
    assert truncated.head == events[2].hash != verify_chain(events).head


def test_verify_accepts_any_iterable() -> None:
    events = build_chain(3)
    assert verify_chain(iter(events)) == verify_chain(events)
