"""A proposal's timeline as the dashboard builds it (hivegov_mcp/http/timeline.py), without I/O:
events in sequence order whatever order they arrive in, ballots joined only when shown, the
ballot that counts joined to the event that cast it, and any action readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hivegov_mcp.domain.record_models import AuditEvent
from hivegov_mcp.domain.tally import Decision
from hivegov_mcp.domain.vote_models import Ballot
from hivegov_mcp.http.timeline import proposal_timeline

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def event(seq: int, actor: str, action: str, **payload: Any) -> AuditEvent:
    return AuditEvent(
        seq=seq,
        at=START + timedelta(minutes=seq),
        actor=actor,
        action=action,
        subject="BIP-001",
        payload=payload,
        prev_hash="0" * 64,
        hash=f"{seq:064x}",
    )


def ballot(agent: str, decision: Decision, seq: int) -> Ballot:
    return Ballot(
        agent_id=agent,
        decision=decision,
        justification=f"{agent} explains the vote at length.",
        weight=1,
        cast_at=START + timedelta(minutes=seq),
    )


EVENTS = [
    event(5, "bob", "cast_vote", ballot_sha256="b1", replaces_earlier=False),
    event(1, "alice", "create_proposal", version=1, title="Adopt changelogs", content_hash="h"),
    event(2, "alice", "start_discussion", round=1, **{"from": "draft", "to": "discussion"}),
    event(3, "dave", "add_comment", comment_id=1, type="objection", parent_id=None, round=1),
    event(4, "carol", "conclude_discussion", resolution="approved-for-voting", reason="Ok.", to="voting"),
    event(6, "bob", "cast_vote", ballot_sha256="b2", replaces_earlier=True),
    event(7, "carol", "cast_vote", ballot_sha256="c1", replaces_earlier=False),
    event(8, "@engine", "voting_deadline", tally={"approve": 2, "reject": 0, "abstain": 0}, to="approved"),
    event(9, "alice", "revise_proposal", version=2, change_note="Typo.", content_hash="h2"),
    event(10, "ed", "report_execution", attempt=1, outcome="succeeded", artifacts=["https://x.example/pr/1"]),
    event(11, "erin", "something_new", why="A reason."),
]


def test_while_ballots_are_hidden_the_timeline_says_a_ballot_was_cast_and_not_how() -> None:
    lines = proposal_timeline("BIP-001", EVENTS, None)
    assert [e.seq for e in lines] == list(range(1, 12))
    assert [(e.actor, e.text, e.ballot) for e in lines if e.kind == "vote"][:3] == [
        ("bob", "cast a ballot", None),
        ("bob", "changed its ballot", None),
        ("carol", "cast a ballot", None),
    ]


def test_once_shown_each_counted_ballot_joins_the_event_that_cast_it() -> None:
    ballots = [ballot("bob", Decision.APPROVE, 6), ballot("carol", Decision.APPROVE, 7)]
    lines = {e.seq: e for e in proposal_timeline("BIP-001", EVENTS, ballots)}
    assert (lines[5].text, lines[5].ballot) == ("cast a ballot it later replaced", None)
    assert (lines[6].text, lines[6].ballot, lines[6].detail) == ("voted", ballots[0], ballots[0].justification)
    assert (lines[7].text, lines[7].ballot) == ("voted", ballots[1])
    assert lines[8].text == "the voting deadline passed (approve 2, reject 0, abstain 0)"


def test_each_line_says_what_happened_where_it_points_and_the_move_it_made() -> None:
    lines = {e.seq: e for e in proposal_timeline("BIP-001", EVENTS, None)}
    assert (lines[1].kind, lines[1].text, lines[1].detail) == (
        "version",
        "created the proposal (v1)",
        "Adopt changelogs",
    )
    assert (lines[2].text, lines[2].status) == ("opened discussion round 1", ("draft", "discussion"))
    assert (lines[3].kind, lines[3].text, lines[3].href) == ("objection", "objected (#1)", "#comment-1")
    assert lines[4].status is None  # a payload without "from" names no move
    assert (lines[9].text, lines[9].detail, lines[9].href) == (
        "revised it to v2",
        "Typo.",
        "/proposals/BIP-001?diff=2#diff",
    )
    assert lines[10].artifacts == ["https://x.example/pr/1"]
    assert (lines[11].kind, lines[11].text, lines[11].detail) == ("other", "something new", "A reason.")
