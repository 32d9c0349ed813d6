"""A proposal's discussion checked against the audit log (DESIGN §16), pure: each comment's
resolution and moderation columns against its last resolve_comment and moderate_comment events,
and its validations against their record_validation events. `replay.py` calls these for each
proposal; the engine's guards call them before a vote opens (service/guards.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hivegov_mcp.domain.replay_events import Disagreement, LoggedEvent


@dataclass(frozen=True)
class CommentMarks:
    """A comment's resolution and moderation columns."""

    id: int
    resolved_by: str | None
    resolution_note: str | None
    hidden_by: str | None
    hidden_reason: str | None
    resolved: bool = False  # resolved_at is set
    hidden: bool = False  # hidden_at is set


def check_all_marks(
    pid: str, marks: Sequence[CommentMarks], resolved: Mapping[int, LoggedEvent], hidden: Mapping[int, LoggedEvent]
) -> Disagreement | None:
    """Every comment's resolution and moderation columns against its events."""
    for mark in marks:
        found = check_marks(pid, mark, resolved.get(mark.id), hidden.get(mark.id))
        if found is not None:
            return found
    return None


def check_marks(
    pid: str, mark: CommentMarks, resolve: LoggedEvent | None, moderation: LoggedEvent | None
) -> Disagreement | None:
    """A comment's resolution and moderation columns against its last resolve_comment and
    moderate_comment events (None: the log has none)."""
    row = f"comments: {mark.id} on {pid}"
    table = (mark.resolved, mark.resolved_by, mark.resolution_note)
    if resolve is None:
        if table != (False, None, None):
            return Disagreement(f"{row} resolved_by", "marks it resolved; the log has no resolve_comment event", None)
    else:
        note = resolve.payload.get("note", mark.resolution_note)  # older events may not carry the note
        if table != (True, resolve.actor, note):
            return Disagreement(
                f"{row} resolved_by",
                f"says {mark.resolved_by} resolved it; the log says {resolve.actor}, with its note",
                resolve.seq,
            )
    logged: tuple[bool, str | None, str | None] = (False, None, None)
    if moderation is not None and moderation.payload.get("action") == "hide":
        logged = (True, moderation.actor, str(moderation.payload.get("reason")))
    if (mark.hidden, mark.hidden_by, mark.hidden_reason) != logged:
        state = f"hidden by {logged[1]}" if logged[0] else "not hidden"
        mine = f"hidden by {mark.hidden_by}" if mark.hidden else "not hidden"
        return Disagreement(
            f"{row} hidden_by", f"says {mine}; the log left it {state}", moderation.seq if moderation else None
        )
    return None


def check_validations(
    pid: str, validations: Sequence[tuple[int, int, str, str]], logged: Mapping[int, LoggedEvent]
) -> Disagreement | None:
    """A proposal's validations (id, version, validator, result) against its record_validation events."""
    kept = {number for number, *_ in validations}
    for number, e in sorted(logged.items()):
        if number not in kept:
            return Disagreement(f"validations: {number} on {pid}", "the log recorded it; its row was deleted", e.seq)
    for number, version, validator, result in validations:
        row = f"validations: {number} on {pid}"
        recorded = logged.get(number)
        if recorded is None:
            return Disagreement(row, "the log has no record_validation event for it", None)
        p = recorded.payload
        said = (recorded.actor, int(p.get("version", version)), str(p.get("result")))
        if (validator, version, result) != said:
            return Disagreement(
                row,
                f"says {validator} gave version {version} a {result}; the log says {said[0]} gave "
                f"version {said[1]} a {said[2]}",
                recorded.seq,
            )
    return None
