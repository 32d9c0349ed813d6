"""The values a transaction takes and returns that are the store's own (the domain's models,
`Agent`, `Comment`, …, are the others). `hivegov_mcp.store.base` exports them with the contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hivegov_mcp.domain.models import ProposalContent
from hivegov_mcp.domain.phases import Status


@dataclass(frozen=True)
class ProposalState:
    """The mutable state of a proposal (its content lives in versions)."""

    id: str
    number: int
    type: str
    status: Status
    author: str
    version: int
    round: int
    revision_rounds: int
    deadline: datetime | None
    outcome: str | None
    outcome_reason: str | None
    voting_opened_at: datetime | None
    voting_closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    rules_version: int | None = None  # frozen when voting opens


@dataclass(frozen=True)
class Version:
    proposal_id: str
    version: int
    content: ProposalContent
    change_note: str
    content_hash: str
    author: str
    created_at: datetime


@dataclass(frozen=True)
class NewComment:
    proposal_id: str
    round: int
    author: str
    type: str
    content: str
    parent_id: int | None
    references: Sequence[int]
    created_at: datetime


@dataclass(frozen=True)
class StoredRules:
    version: int
    toml: str
    hash: str
    created_at: datetime
    actor: str


@dataclass(frozen=True)
class StoredSummary:
    text: str  # canonical JSON of the summary
    seq: int  # the audit event that stored it
    hash: str


@dataclass(frozen=True)
class CommentRow:
    """A comment as stored, with the columns of its resolution and moderation (for verify_audit)."""

    id: int
    type: str
    content: str
    resolved_by: str | None
    resolution_note: str | None
    hidden_by: str | None
    hidden_reason: str | None
    resolved_at: bool  # whether resolved_at is set
    hidden_at: bool  # whether hidden_at is set


@dataclass(frozen=True)
class StoredVote:
    agent_id: str
    decision: str | None  # None: a ballot on options
    justification: str
    salt: str | None  # None: cast before ballots were salted
    ballot: str | None = None  # a ballot on options: its canonical JSON (domain/ballots.py)


@dataclass(frozen=True)
class CountRecords:
    """How a closed vote was counted, beside its tally: the method when it voted on options (None:
    majority), its result record (`counting.result_record`) and where delegated weight went
    (`{"carried": {voter: {"weight", "delegated_by"}}, "uncounted": [...]}`; None before delegation)."""

    method: str | None = None
    result: Mapping[str, Any] | None = None
    delegation: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str  # the signed note
    signed_at: datetime


@dataclass(frozen=True)
class VoterStanding:
    """Where one agent stands in an open vote, read in one statement when it casts a ballot."""

    eligible: bool
    voted_before: bool  # this ballot replaces an earlier one
    eligible_count: int  # the counts only when asked for (early close), else 0
    voted_count: int  # eligible voters with a ballot, before this one


@dataclass(frozen=True)
class AgendaRow:
    kind: str  # vote, objection, revise, discussion, summary, conclude, validate, claim, appeal
    proposal_id: str
    title: str
    status: Status
    deadline: datetime | None
    ref_id: int | None


@dataclass(frozen=True)
class RawHit:
    proposal_id: str
    kind: str
    comment_id: int | None
    texts: tuple[str, str]  # the indexed title and body, for the snippet
    score: float
    title: str  # the proposal's latest title
    status: Status
