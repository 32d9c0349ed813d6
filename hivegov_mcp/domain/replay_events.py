"""What every replay of the audit log (DESIGN §16) speaks in, pure: a logged event as the replays
read it, the disagreement they name, and the marker for a field an older log did not record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LoggedEvent:
    seq: int
    action: str
    actor: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Disagreement:
    row: str  # e.g. "votes: BIP-001 ballot 2 of dave"
    problem: str
    seq: int | None  # the event the row contradicts, if one


class Unknown:
    """What an older log did not record (a field added later): not checked."""

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN = Unknown()
