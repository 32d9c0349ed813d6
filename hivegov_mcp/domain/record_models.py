"""The public models of the records: the audit log, its checkpoints and proofs, agents' receipts,
the governance status, the rules, metrics, the agenda and webhooks (the proposals' and their
discussion's are in `models.py`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.models import Agent, PublicModel, Receipt
from hivegov_mcp.domain.phases import Status


class AuditEvent(PublicModel):
    seq: int = Field(description="Sequence number, from 1.")
    at: datetime = Field(description="When (UTC).")
    actor: str = Field(description="Agent id, @engine (deadlines) or @cli (local administrator).")
    action: str = Field(description="What happened.")
    subject: str = Field(description="What it happened to: a proposal id or agent:ID.")
    payload: dict[str, object] = Field(description="Details, as hashed (canonical JSON).")
    prev_hash: str = Field(description="Hash of the previous event.")
    hash: str = Field(description="SHA-256(prev_hash ‖ canonical event).")


class AuditPage(PublicModel):
    events: list[AuditEvent] = Field(description="Events in sequence order.")
    next_after_seq: int | None = Field(description="Pass as after_seq for the next page; null at the end.")


class AuditVerification(PublicModel):
    ok: bool = Field(
        description="True when every hash, link and Merkle leaf checks out, the append-only guards are in place "
        "and the state tables agree with the log."
    )
    events: int = Field(description="How many events were checked.")
    head: str | None = Field(description="Hash of the last event (anchor it elsewhere to detect truncation).")
    first_bad_seq: int | None = Field(description="The first event that fails, if any.")
    problem: str | None = Field(description="What is wrong (at first_bad_seq, or in `row`).")
    row: str | None = Field(
        default=None,
        description="The state row or schema object that disagrees with the log, e.g. 'votes: BIP-001 ballot of "
        "dave' or 'trigger audit_events_no_delete'.",
    )


class SignedCheckpoint(PublicModel):
    """A C2SP tlog-checkpoint of the audit log, in a signed note (Ed25519)."""

    origin: str = Field(description="The log's name, the note's first line.")
    size: int = Field(description="How many events the checkpoint covers.")
    root: str = Field(description="RFC 6962 Merkle root of the first `size` events (hex).")
    note: str = Field(description="The signed note, byte for byte: save it to prove later what the log held.")
    verifier_key: str = Field(
        description="The key that signed it (name+hash+key); trust only the one the operator published "
        "(`hivegov-mcp audit public-key`)."
    )
    signed_at: datetime = Field(description="When it was first signed (UTC).")


class ConsistencyProof(PublicModel):
    from_size: int = Field(description="The older tree size (a checkpoint you kept).")
    to_size: int = Field(description="The newer tree size (this proof's checkpoint).")
    proof: list[str] = Field(description="RFC 6962 consistency proof, hex hashes in order.")


class AuditProof(PublicModel):
    """What an outsider needs to check that an event is in the signed log, without the database."""

    seq: int = Field(description="The event's sequence number (its leaf is seq - 1).")
    canonical_event: str = Field(description="The exact text hashed: leaf = SHA-256(0x00 ‖ its UTF-8 bytes).")
    leaf_hash: str = Field(description="The event's RFC 6962 leaf hash (hex).")
    tree_size: int = Field(description="The size of the tree the proof is against (the checkpoint's).")
    inclusion: list[str] = Field(description="RFC 6962 inclusion proof (audit path), hex hashes in order.")
    root: str = Field(description="The tree's root (hex); equals the checkpoint's.")
    checkpoint: SignedCheckpoint = Field(description="The signed checkpoint of tree_size.")
    consistency: ConsistencyProof | None = Field(
        default=None, description="When since_size was given: proof that this tree extends the older one."
    )


class AgentReceipt(Agent):
    receipt: Receipt = Field(description="The audit event this write produced.")


class RegisteredAgent(AgentReceipt):
    token: str = Field(description="The agent's secret token. Shown once; only its hash is stored.")


class ModelUsageReceipt(PublicModel):
    # A report of model usage (report_model_usage): its event, model_usage_reported, holds the figures.
    # (No docstring: it would be the tool's output description, and tools/list stays compact.)
    receipt: Receipt = Field(description="The audit event this write produced.")


class AgentList(PublicModel):
    agents: list[Agent] = Field(description="Agents, sorted by id.")


class Deadline(PublicModel):
    proposal_id: str = Field(description="Proposal id.")
    status: Status = Field(description="discussion or voting.")
    deadline: datetime = Field(description="When the phase ends (UTC).")


class GovernanceStatus(PublicModel):
    now: datetime = Field(description="The server's time (UTC).")
    counts: dict[str, int] = Field(description="Proposals per status.")
    next_deadlines: list[Deadline] = Field(description="The soonest deadlines, soonest first.")
    active_agents: int = Field(description="Active agents.")
    rules_version: int = Field(description="The rules version in force.")
    rules_hash: str = Field(description="SHA-256 of the rules in force (their canonical TOML).")
    audit_events: int = Field(description="Events in the audit log.")
    audit_head: str | None = Field(description="Hash of the last audit event.")


class RulesInfo(PublicModel):
    version: int = Field(description="Rules version, from 1.")
    hash: str = Field(description="SHA-256 of the canonical TOML.")
    toml: str = Field(description="The rules as canonical TOML (every key; per-type tables where they differ).")
    created_at: datetime = Field(description="When this version was stored (UTC).")
    actor: str = Field(description="Who stored it.")


class RulesReceipt(RulesInfo):
    receipt: Receipt = Field(description="The audit event this write produced.")


class Criterion(PublicModel):
    name: str = Field(description="participation, quality, consensus or implementation.")
    value: float | None = Field(description="The measured share (0..1); null when nothing was measured.")
    target: float = Field(description="The target it is measured against.")
    met: bool | None = Field(description="value >= target; null when nothing was measured.")
    numerator: int = Field(description="What was counted (e.g. ballots cast).")
    denominator: int = Field(description="Out of (e.g. eligible voters); for consensus, the votes averaged.")


class PhaseTime(PublicModel):
    status: Status = Field(description="The status stayed in.")
    median_minutes: float = Field(description="Median stay.")
    p90_minutes: float = Field(description="90th percentile stay.")
    stays: int = Field(description="Stays that ended in the range.")


class AgentStats(PublicModel):
    agent_id: str = Field(description="Agent id.")
    proposals: int = Field(description="Proposals created.")
    comments: int = Field(description="Comments written (objections included).")
    objections_raised: int = Field(description="Objections written.")
    objections_resolved: int = Field(description="Objections it resolved.")
    votes: int = Field(description="Ballots cast (a changed vote counts each time).")
    matched_outcome: float | None = Field(
        description="Share of its counted approve/reject ballots that matched the outcome."
    )
    model_requests: int = Field(description="Model requests it reported spending (report_model_usage).")
    model_tokens: int = Field(description="Model tokens, input and output, it reported spending.")


class GovernanceMetrics(PublicModel):
    since: datetime = Field(description="Start of the range (UTC, inclusive).")
    until: datetime = Field(description="End of the range (UTC, exclusive).")
    criteria: list[Criterion] = Field(
        description="Participation, quality, consensus and implementation, each next to its target."
    )
    phases: list[PhaseTime] = Field(description="Time spent in each status, for stays that ended in the range.")
    agents: list[AgentStats] = Field(description="Per-agent figures (reporters and the local administrator only).")


class AgendaItem(PublicModel):
    proposal_id: str = Field(description="The proposal.")
    title: str = Field(description="Its title (the author's data).")
    status: Status = Field(description="Its status.")
    deadline: datetime | None = Field(description="When it stops waiting for you (UTC), if it has a deadline.")
    why: str = Field(description="What needs you.")
    tool: str = Field(description="The tool to call next.")
    ref_id: int | None = Field(description="The comment or appeal concerned, when there is one.")


class Delegation(PublicModel):
    agent_id: str = Field(description="The agent whose vote is delegated.")
    to_agent: str = Field(description="Its delegate.")
    proposal_type: ProposalType | None = Field(description="The proposal type it covers; null: every type.")
    since: datetime = Field(description="When it was made (UTC).")


class DelegationReceipt(PublicModel):
    delegation: Delegation = Field(description="The delegation made, or the one revoked.")
    replaced: str | None = Field(description="The delegate it replaced, if any.")
    closes_cycle: list[str] | None = Field(
        description="The cycle it closes, from you back to you: such weight counts as not voted."
    )
    receipt: Receipt = Field(description="The audit event this write produced.")


class DelegationList(PublicModel):
    delegations: list[Delegation] = Field(description="Delegations in force, by agent then type.")


class Agenda(PublicModel):
    agent_id: str = Field(description="You.")
    items: list[AgendaItem] = Field(description="What needs you now, soonest deadline first.")
    delegations: list[Delegation] = Field(description="Yours: your weight when you don't vote.")
    delegated_to_you: list[Delegation] = Field(description="To you: weight your ballot may carry.")


class Webhook(PublicModel):
    id: int = Field(description="Webhook id.")
    url: str = Field(description="Where each audit event is POSTed.")
    created_at: datetime = Field(description="When it was registered (UTC).")
    created_by: str = Field(description="The admin who registered it.")
    from_seq: int = Field(description="Events after this sequence number are delivered.")
    delivered: int = Field(description="Events delivered so far.")
    failed_attempts: int = Field(description="Delivery attempts that failed.")


class RegisteredWebhook(Webhook):
    secret: str = Field(description="The HMAC-SHA256 key of X-Hivegov-Signature. Shown ONCE.")
    receipt: Receipt


class WebhookList(PublicModel):
    webhooks: list[Webhook] = Field(description="Active webhooks, oldest first.")
