"""Rows and values, both ways, for both engines: a stored row (read by column name) becomes a
`ProposalState`, an `Agent`, a `Comment`…; a value becomes what is stored.

Both engines store the same things: times as ISO 8601 text in UTC with microseconds (so text
order is time order), flags as 0/1, lists as JSON text, hashes of the tree as bytes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Protocol

from hivegov_mcp.domain.audit import StoredEvent
from hivegov_mcp.domain.models import (
    Agent,
    Appeal,
    AppealDecision,
    Comment,
    CommentType,
    ExecutionAttempt,
    HiddenComment,
    ProposalContent,
    PublishedSummary,
    Resolution,
    RoundInfo,
    Validation,
    ValidationResult,
)
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.record_models import Webhook
from hivegov_mcp.domain.tally import Decision, Outcome, RejectReason, Tally
from hivegov_mcp.domain.vote_models import Ballot
from hivegov_mcp.store.values import ProposalState, StoredCheckpoint, StoredRules, StoredVote, Version

MAX_INTEGER = 2**63 - 1  # both engines' integer range: a larger id names nothing


class Row(Protocol):
    """A row read by column name (sqlite3.Row, or psycopg's dict row)."""

    def __getitem__(self, key: str, /) -> Any: ...


def fits(value: int) -> bool:
    return -MAX_INTEGER - 1 <= value <= MAX_INTEGER


def ts(value: datetime) -> str:
    """Stored time: UTC, ISO 8601 with microseconds, so text order is time order."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


def text(value: object) -> str:
    """Stored text; bytes that are not UTF-8 keep a lone surrogate each, which the verifier rejects."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


# -- proposals ----------------------------------------------------------------------------------
PROPOSAL_FIELDS = (
    "id",
    "number",
    "type",
    "status",
    "author",
    "version",
    "round",
    "revision_rounds",
    "deadline",
    "outcome",
    "outcome_reason",
    "voting_opened_at",
    "voting_closed_at",
    "created_at",
    "updated_at",
    "rules_version",
)
PROPOSAL_COLUMNS = ", ".join(PROPOSAL_FIELDS)
_TIMES = {"deadline", "voting_opened_at", "voting_closed_at", "created_at", "updated_at"}


def proposal(row: Row) -> ProposalState:
    values: dict[str, Any] = {name: row[name] for name in PROPOSAL_FIELDS}
    for name in _TIMES:
        values[name] = dt(values[name])
    values["status"] = Status(values["status"])
    return ProposalState(**values)


def proposal_values(state: ProposalState) -> dict[str, Any]:
    """The proposal's row, by column name."""
    values: dict[str, Any] = {name: getattr(state, name) for name in PROPOSAL_FIELDS}
    for name in _TIMES:
        values[name] = ts(values[name]) if values[name] is not None else None
    values["status"] = state.status.value
    return values


VERSION_COLUMNS = (
    "proposal_id, version, title, abstract, motivation, specification, implementation, dependencies, "
    "change_note, content_hash, author, created_at, options"
)


def version(row: Row) -> Version:
    return Version(
        proposal_id=row["proposal_id"],
        version=row["version"],
        content=ProposalContent(
            title=row["title"],
            abstract=row["abstract"],
            motivation=row["motivation"],
            specification=row["specification"],
            implementation=row["implementation"],
            dependencies=json.loads(row["dependencies"]),
            options=json.loads(row["options"]) if row["options"] else [],
        ),
        change_note=row["change_note"],
        content_hash=row["content_hash"],
        author=row["author"],
        created_at=_dt(row["created_at"]),
    )


def version_values(v: Version) -> tuple[Any, ...]:
    """The version's row, in VERSION_COLUMNS' order."""
    c = v.content
    return (
        v.proposal_id,
        v.version,
        c.title,
        c.abstract,
        c.motivation,
        c.specification,
        c.implementation,
        json.dumps(c.dependencies),
        v.change_note,
        v.content_hash,
        v.author,
        ts(v.created_at),
        json.dumps(c.options, ensure_ascii=False) if c.options else None,
    )


def round_info(row: Row) -> RoundInfo:
    return RoundInfo(
        round=row["round"],
        started_at=_dt(row["started_at"]),
        deadline=_dt(row["deadline"]),
        concluded_at=dt(row["concluded_at"]),
        outcome=row["outcome"],
    )


# -- agents and rules ---------------------------------------------------------------------------
AGENT_COLUMNS = "id, display_name, roles, weight, active, created_at"


def agent(row: Row) -> Agent:
    return Agent(
        id=row["id"],
        display_name=row["display_name"],
        roles=json.loads(row["roles"]),
        weight=row["weight"],
        active=bool(row["active"]),
        created_at=_dt(row["created_at"]),
    )


RULES_COLUMNS = "version, rules, hash, created_at, actor"


def rules(row: Row) -> StoredRules:
    return StoredRules(
        version=row["version"],
        toml=row["rules"],
        hash=row["hash"],
        created_at=_dt(row["created_at"]),
        actor=row["actor"],
    )


# -- discussion ---------------------------------------------------------------------------------
COMMENT_COLUMNS = (
    "id, proposal_id, round, author, type, content, parent_id, refs, created_at, resolved_by, "
    "resolution_note, resolved_at"
)


def comment(row: Row) -> Comment:
    return Comment(
        id=row["id"],
        proposal_id=row["proposal_id"],
        round=row["round"],
        author=row["author"],
        type=CommentType(row["type"]),
        content=row["content"],
        parent_id=row["parent_id"],
        references=json.loads(row["refs"]),
        created_at=_dt(row["created_at"]),
        resolved=row["resolved_by"] is not None,
        resolved_by=row["resolved_by"],
        resolution_note=row["resolution_note"],
        resolved_at=dt(row["resolved_at"]),
    )


def hidden_comment(row: Row) -> HiddenComment:
    return HiddenComment(
        comment_id=row["id"], hidden_by=row["hidden_by"], reason=row["hidden_reason"], hidden_at=_dt(row["hidden_at"])
    )


# -- voting -------------------------------------------------------------------------------------
def stored_vote(row: Row) -> StoredVote:
    return StoredVote(row["agent_id"], row["decision"], row["justification"], row["salt"], row["ballot"])


def ballot(row: Row) -> Ballot:
    on_options: dict[str, Any] = json.loads(row["ballot"]) if row["ballot"] else {}
    return Ballot(
        agent_id=row["agent_id"],
        decision=Decision(row["decision"]) if row["decision"] else None,
        approvals=on_options.get("approvals"),
        scores={int(k): v for k, v in on_options["scores"].items()} if "scores" in on_options else None,
        ranking=on_options.get("ranking"),
        justification=row["justification"],
        weight=row["weight"],
        cast_at=_dt(row["cast_at"]),
    )


def tally(row: Row) -> Tally:
    return Tally(
        approve=row["approve"],
        reject=row["reject"],
        abstain=row["abstain"],
        eligible_weight=row["eligible_weight"],
        voted_weight=row["voted_weight"],
        quorum_met=bool(row["quorum_met"]),
        consensus=Fraction(row["consensus"]),
        outcome=Outcome(row["outcome"]),
        reason=RejectReason(row["reason"]) if row["reason"] else None,
    )


# -- after the vote -----------------------------------------------------------------------------
APPEAL_COLUMNS = "id, proposal_id, appellant, grounds, filed_at, decision, decided_by, reason, decided_at"


def appeal(row: Row) -> Appeal:
    return Appeal(
        id=row["id"],
        proposal_id=row["proposal_id"],
        appellant=row["appellant"],
        grounds=row["grounds"],
        filed_at=_dt(row["filed_at"]),
        decision=AppealDecision(row["decision"]) if row["decision"] else None,
        decided_by=row["decided_by"],
        reason=row["reason"],
        decided_at=dt(row["decided_at"]),
    )


def execution(row: Row) -> ExecutionAttempt:
    return ExecutionAttempt(
        attempt=row["attempt"],
        executor=row["executor"],
        claimed_at=_dt(row["claimed_at"]),
        lease_until=_dt(row["lease_until"]),
        outcome=row["outcome"],
        details=row["details"],
        artifacts=json.loads(row["artifacts"]),
        reported_at=dt(row["reported_at"]),
    )


def validation(row: Row) -> Validation:
    return Validation(
        id=row["id"],
        version=row["version"],
        validator=row["validator"],
        result=ValidationResult(row["result"]),
        findings=row["findings"],
        at=_dt(row["at"]),
    )


def published_summary(row: Row) -> PublishedSummary:
    return PublishedSummary(
        round=row["round"],
        author=row["author"],
        text=row["text"],
        recommendation=Resolution(row["recommendation"]),
        at=_dt(row["at"]),
    )


# -- the audit log ------------------------------------------------------------------------------
AUDIT_FIELDS = ("at", "actor", "action", "subject", "payload", "prev_hash", "hash")


def event(row: Row) -> StoredEvent:
    """An audit row whose text may come as bytes (SQLite reads them so: a tampered row that is
    not UTF-8 is reported by the verifier at its sequence number, not crashed on)."""
    texts = {f: text(row[f]) for f in AUDIT_FIELDS}
    return StoredEvent(seq=row["seq"], **texts)


def checkpoint(row: Row) -> StoredCheckpoint:
    return StoredCheckpoint(int(row["size"]), bytes(row["root"]), row["note"], _dt(row["signed_at"]))


# -- webhooks -----------------------------------------------------------------------------------
def webhook(row: Row) -> tuple[Webhook, str]:
    """A webhook with its delivery counts, and its secret."""
    hook = Webhook(
        id=row["id"],
        url=row["url"],
        created_at=_dt(row["created_at"]),
        created_by=row["created_by"],
        from_seq=row["from_seq"],
        delivered=row["delivered"],
        failed_attempts=row["failed"],
    )
    return hook, row["secret"]
