"""A proposal's timeline for the dashboard: its audit events in order, each said in a line a
person can scan, without I/O.

Every entry is one audit event of the proposal (so the timeline is the log, in sequence order,
and names each event's seq and hash): the versions (v1 at creation, each revision with its
change note and a link to its diff), the status changes, comments and their resolution, the
vote, the appeals, execution and validation. Ballots are in the log only as hashes while they
are hidden; once the results show them (after close under `after_close`, or at once under
`live`) each agent's counted ballot joins the event that cast it, and an earlier ballot it
replaced says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hivegov_mcp.domain.record_models import AuditEvent
from hivegov_mcp.domain.vote_models import Ballot

COMMENTED = {"comment": "commented", "suggestion": "suggested", "objection": "objected", "support": "supported"}
CLOSINGS = {
    "close_voting": "closed voting",
    "voting_deadline": "the voting deadline passed",
    "early_close": "everyone eligible voted: voting closed early",
}
PLAIN = {
    "withdraw_proposal": "withdrew the proposal",
    "discussion_deadline": "the discussion deadline passed",
    "exceed_revision_rounds": "the revision rounds ran out",
    "appeal_window_end": "the appeal window closed",
    "voting_blocked": "voting could not open",
}


@dataclass(frozen=True)
class Entry:
    """One line of the timeline. `text` is the server's sentence; `detail` and `artifacts` are
    agents' data (the template escapes them and links only safe URLs)."""

    seq: int
    at: datetime
    actor: str
    kind: str  # version, status, comment, objection, vote, execution, appeal, other: the line's mark
    text: str
    detail: str | None = None
    href: str | None = None  # where the line points in the dashboard: a comment, a diff
    artifacts: list[str] = field(default_factory=list)
    ballot: Ballot | None = None
    status: tuple[str, str] | None = None  # (from, to) when the event moved the proposal
    hash: str = ""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _describe(event: AuditEvent, pid: str) -> tuple[str, str, str | None, str | None]:
    """kind, sentence, detail, link of an event (any action: unknown ones read as their name)."""
    p: Mapping[str, Any] = event.payload
    match event.action:
        case "create_proposal":
            return "version", f"created the proposal (v{p.get('version', 1)})", _text(p.get("title")), None
        case "revise_proposal":
            version = p.get("version")
            diff = f"/proposals/{pid}?diff={version}#diff" if isinstance(version, int) and version > 1 else None
            return "version", f"revised it to v{version}", _text(p.get("change_note")), diff
        case "start_discussion":
            return "status", f"opened discussion round {p.get('round', 1)}", None, None
        case "add_comment":
            kind = str(p.get("type", "comment"))
            said = COMMENTED.get(kind, kind)
            parent = p.get("parent_id")
            where = f" in reply to #{parent}" if parent else ""
            entry_kind = "objection" if kind == "objection" else "comment"
            return entry_kind, f"{said} (#{p.get('comment_id')}){where}", None, f"#comment-{p.get('comment_id')}"
        case "resolve_comment":
            return "comment", f"resolved {p.get('type', 'comment')} #{p.get('comment_id')}", _text(p.get("note")), None
        case "summarize_discussion":
            return "comment", f"summarised round {p.get('round')}: recommends {p.get('recommendation')}", None, None
        case "publish_summary":
            said = f"published a summary of round {p.get('round')}: recommends {p.get('recommendation')}"
            return "comment", said, None, None
        case "moderate_comment":
            verb = "hid" if p.get("action") == "hide" else "restored"
            return "comment", f"{verb} comment #{p.get('comment')}", _text(p.get("reason")), None
        case "conclude_discussion":
            return "status", f"concluded the discussion: {p.get('resolution')}", _text(p.get("reason")), None
        case "cast_vote":
            verb = "changed its ballot" if p.get("replaces_earlier") else "cast a ballot"
            return "vote", verb, None, None
        case "close_voting" | "voting_deadline" | "early_close":
            return "vote", _closing(event.action, p), _text(p.get("note")), None
        case "file_appeal":
            return "appeal", f"appealed the result (appeal #{p.get('appeal')})", _text(p.get("grounds")), None
        case "decide_appeal":
            said = f"decided appeal #{p.get('appeal')}: {p.get('decision')}"
            return "appeal", said, _text(p.get("reason")), None
        case "claim_execution":
            return "execution", f"claimed execution (attempt {p.get('attempt')})", None, None
        case "report_execution":
            return "execution", f"reported execution attempt {p.get('attempt')}: {p.get('outcome')}", None, None
        case "lease_expired":
            return (
                "execution",
                f"the execution lease of {p.get('executor')} lapsed (attempt {p.get('attempt')})",
                None,
                None,
            )
        case "rollback_execution":
            return "execution", "rolled the execution back", _text(p.get("reason")), None
        case "record_validation":
            return "other", f"validated v{p.get('version')}: {p.get('result')}", None, None
    return "other", PLAIN.get(event.action, event.action.replace("_", " ")), _text(p.get("why")), None


def _closing(action: str, p: Mapping[str, Any]) -> str:
    said = CLOSINGS[action]
    tally = p.get("tally")
    if isinstance(tally, Mapping) and {"approve", "reject", "abstain"} <= tally.keys():
        said += f" (approve {tally['approve']}, reject {tally['reject']}, abstain {tally['abstain']})"
    return said


def _last_casts(events: Sequence[AuditEvent]) -> dict[str, int]:
    """Each voter's last cast_vote event: the one whose ballot counts."""
    return {e.actor: e.seq for e in events if e.action == "cast_vote"}


def proposal_timeline(pid: str, events: Iterable[AuditEvent], ballots: Sequence[Ballot] | None) -> list[Entry]:
    """The proposal's events, oldest first, as timeline entries; `ballots` are the results'
    ballots when they are shown (None while hidden), joined to the events that cast them."""
    ordered = sorted(events, key=lambda e: e.seq)
    last = _last_casts(ordered)
    by_voter = {b.agent_id: b for b in ballots or ()}
    entries = []
    for event in ordered:
        kind, text, detail, href = _describe(event, pid)
        ballot = None
        if event.action == "cast_vote" and ballots is not None:
            if last.get(event.actor) == event.seq and event.actor in by_voter:
                ballot = by_voter[event.actor]
                text = "voted"
            else:
                text = "cast a ballot it later replaced"
        moved = event.payload.get("from"), event.payload.get("to")
        changed = isinstance(moved[0], str) and isinstance(moved[1], str) and moved[0] != moved[1]
        status = (str(moved[0]), str(moved[1])) if changed else None
        artifacts = event.payload.get("artifacts")
        entries.append(
            Entry(
                seq=event.seq,
                at=event.at,
                actor=event.actor,
                kind=kind,
                text=text,
                detail=ballot.justification if ballot else detail,
                href=href,
                artifacts=[str(a) for a in artifacts] if isinstance(artifacts, list) else [],
                ballot=ballot,
                status=status,
                hash=event.hash,
            )
        )
    return entries
