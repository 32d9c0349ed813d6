"""Records and overview: the audit log and its proofs, status, metrics, the agenda, the rules,
webhooks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from hivegov_mcp.catalogue.base import Arguments, Kind, NoArguments, Operation, Route
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.record_models import (
    Agenda,
    AuditPage,
    AuditProof,
    AuditVerification,
    GovernanceMetrics,
    GovernanceStatus,
    RegisteredWebhook,
    RulesInfo,
    SignedCheckpoint,
    Webhook,
    WebhookList,
)

TAG = "records"


class GetAuditLog(Arguments):
    proposal_id: str | None = Field(None, description="Only events of this proposal.")
    after_seq: int = Field(0, description="Events after this sequence number.", ge=0)
    limit: int = Field(
        limits.DEFAULT_AUDIT_PAGE,
        description=f"Page size, 1 to {limits.MAX_AUDIT_PAGE}.",
        ge=1,
        le=limits.MAX_AUDIT_PAGE,
    )


class GetAuditProof(Arguments):
    seq: int = Field(description="The event's sequence number (a write's receipt.seq).", ge=1)
    since_size: int | None = Field(
        None, description="The size of a checkpoint you kept: adds the proof that the log extends it.", ge=1
    )


def _not_a_number(value: object) -> object:
    """A number (or a numeric string, as a query string brings it) would be read as seconds since
    1970: `until=0.5` meant 1970-01-01T00:00:00.5Z. Only ISO 8601 is a time here."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise PydanticCustomError("iso_datetime", _MOMENT_EXPECTED + "; a number is not read as a time")
    return value


def _with_zone(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("iso_datetime", _MOMENT_EXPECTED + "; this one has no zone")
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MOMENT_EXPECTED = "must be an ISO 8601 date-time with its zone, e.g. 2026-11-01T00:00:00Z"
Moment = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_with_zone)]


class GetGovernanceMetrics(Arguments):
    since: Moment | None = Field(None, description="Start (ISO 8601 with zone); the beginning if omitted.")
    until: Moment | None = Field(None, description="End, exclusive (ISO 8601 with zone); now if omitted.")


class AddWebhook(Arguments):
    url: str = Field(min_length=1, description="An http:// or https:// URL each audit event is POSTed to.")


class RemoveWebhook(Arguments):
    webhook_id: int = Field(description="The webhook to remove (webhook list shows the ids).")


OPERATIONS = [
    Operation(
        name="get_audit_log",
        kind=Kind.READ,
        permission="read",
        arguments=GetAuditLog,
        result=AuditPage,
        rest=Route("GET", "/audit", "The audit log, in sequence order", TAG),
        description="Read the hash-chained audit log in sequence order; page with next_after_seq.",
    ),
    Operation(
        name="verify_audit",
        command="audit verify",
        kind=Kind.READ,
        permission="read",
        arguments=NoArguments,
        result=AuditVerification,
        rest=Route("GET", "/audit/verify", "Check the audit log and the state against it", TAG),
        description="""Check the whole audit log: its hash chain, its Merkle leaves and checkpoints, its
        append-only guards, and the state tables against it. Reports the first bad sequence number or row.""",
    ),
    Operation(
        name="get_audit_checkpoint",
        command="audit checkpoint",
        method="latest_checkpoint",
        kind=Kind.READ,
        permission="read",
        arguments=NoArguments,
        result=SignedCheckpoint,
        rest=Route("GET", "/audit/checkpoint", "The latest signed checkpoint of the audit log", TAG),
        tool=False,  # MCP reads it as the resource hivegov://audit/checkpoint
        description="The latest signed checkpoint of the audit log (C2SP signed note, Ed25519), signing one "
        "first when the log has grown since the last.",
    ),
    Operation(
        name="get_audit_proof",
        kind=Kind.READ,
        permission="read",
        arguments=GetAuditProof,
        result=AuditProof,
        rest=Route("GET", "/audit/{seq}/proof", "An event's inclusion proof against a signed checkpoint", TAG),
        description="""Prove that an event is in the signed log: its RFC 6962 inclusion proof against the latest
        signed checkpoint (C2SP signed note, Ed25519), checkable without the database
        (examples/verify_receipt.py); with since_size, also the consistency proof from that older checkpoint.""",
    ),
    Operation(
        name="get_my_agenda",
        kind=Kind.READ,
        permission="read",
        arguments=NoArguments,
        result=Agenda,
        rest=Route("GET", "/agenda", "What needs the agent now, soonest first", TAG),
        description="""What needs you now, soonest deadline first, each with the tool to call next: your votes,
        objections and proposals to revise, and what your roles act on: discussions to join, rounds to
        summarize or conclude, versions to validate, executions to claim, appeals to decide.""",
        agent_text=True,
    ),
    Operation(
        name="get_governance_metrics",
        command="report",
        kind=Kind.READ,
        permission="read",
        arguments=GetGovernanceMetrics,
        result=GovernanceMetrics,
        rest=Route("GET", "/metrics", "Success criteria, time per phase, per-agent figures", TAG),
        description="""How well governance works over a time range, each measure next to its target:
        participation (ballots counted / eligible voters, target 80 %), quality (discussions that
        reached a vote, 90 %), consensus (mean consensus of closed votes, 75 %) and implementation
        (approved proposals executed, 95 %); time spent in each status; and (for reporters)
        per-agent figures. Computed exactly from the audit log.""",
    ),
    Operation(
        name="get_governance_status",
        kind=Kind.READ,
        permission="read",
        arguments=NoArguments,
        result=GovernanceStatus,
        rest=Route("GET", "/status", "Counts, next deadlines, rules version, audit head", TAG),
        description="Counts of proposals per status, the next deadlines, the rules version in force and the "
        "audit head.",
    ),
    Operation(
        name="show_rules",
        command="rules show",
        kind=Kind.READ,
        permission="read",
        arguments=NoArguments,
        result=RulesInfo,
        rest=Route("GET", "/rules", "The rules in force", TAG),
        tool=False,  # MCP reads them as the resource hivegov://rules
        description="The rules in force: their version, hash and TOML text.",
    ),
    Operation(
        name="add_webhook",
        command="webhook add",
        kind=Kind.WRITE,
        permission="manage_webhooks",
        arguments=AddWebhook,
        result=RegisteredWebhook,
        rest=Route("POST", "/webhooks", "Register a webhook (admin; the secret once)", "webhooks", status=201),
        tool=False,  # an operator's matter: REST and `hivegov-mcp webhook add`
        description="Register a webhook (admin only): every audit event from now on is POSTed to the URL, "
        "signed with HMAC-SHA256; the result holds the signing secret once.",
    ),
    Operation(
        name="list_webhooks",
        command="webhook list",
        kind=Kind.READ,
        permission="manage_webhooks",
        arguments=NoArguments,
        result=WebhookList,
        rest=Route("GET", "/webhooks", "List the webhooks (admin)", "webhooks"),
        tool=False,
        description="The registered webhooks with their delivery counts (admin only).",
    ),
    Operation(
        name="remove_webhook",
        command="webhook remove",
        kind=Kind.DESTRUCTIVE,
        permission="manage_webhooks",
        arguments=RemoveWebhook,
        result=Webhook,
        rest=Route("DELETE", "/webhooks/{webhook_id}", "Remove a webhook (admin)", "webhooks"),
        tool=False,
        description="Remove a webhook (admin only): no event is delivered to it any more.",
    ),
]
