"""Request bodies of the REST API (DESIGN §12): the MCP tools' arguments as models. Results
are the domain models the tools return; limits come from the domain, not from here."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.models import (
    AppealDecision,
    CommentType,
    ExecutionOutcome,
    ModerationAction,
    ProposalContent,
    Resolution,
    ValidationResult,
)
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.domain.tally import Decision


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt optional field is refused, not dropped


class NewProposal(ProposalContent, Body):
    """A proposal's content (the same model the tools return), its type, and defaults."""

    type: ProposalType = Field(description="standards, informational or process.")
    implementation: str = Field("", description="How it will be carried out (optional).")
    dependencies: list[str] = Field(default_factory=list, description="Ids of existing proposals it depends on.")


class Revision(Body):
    expected_version: int = Field(description="The version you read; guards against lost edits.")
    change_note: str = Field(description="What changed and why.")
    title: str | None = None
    abstract: str | None = None
    motivation: str | None = None
    specification: str | None = None
    implementation: str | None = None
    dependencies: list[str] | None = None


class Reason(Body):
    reason: str = Field(description="Why (required; recorded in the audit log).")


class DiscussionStart(Body):
    duration_minutes: float | None = Field(None, description="Length of the discussion window; the default if null.")


class NewComment(Body):
    content: str = Field(description="The comment (Markdown).")
    type: CommentType = Field(CommentType.COMMENT, description="objection blocks voting until resolved.")
    parent_id: int | None = Field(None, description="Id of the comment this replies to.")
    references: list[int] = Field(default_factory=list, description="Ids of other comments of this proposal cited.")


class CommentResolution(Body):
    note: str = Field(description="Why it is resolved (required).")


class Conclusion(Body):
    resolution: Resolution = Field(description="approved-for-voting opens voting; requires-revision; blocked.")
    reason: str = Field(description="Why (required).")
    override: bool = Field(False, description="Arbiters only: open voting despite unresolved objections.")


class NewBallot(Body):
    decision: Decision = Field(description="approve, reject or abstain.")
    justification: str = Field(description="The reasoning behind the vote.")


class NewAgent(Body):
    agent_id: str = Field(description="New agent id: lowercase letters, digits, - and _.")
    roles: list[Role] = Field(description="Roles to grant.")
    display_name: str | None = Field(None, description="Human-readable name; defaults to the id.")
    weight: int = Field(1, ge=1, description="Voting weight.")


class Roles(Body):
    roles: list[Role] = Field(description="The complete new list of roles (replaces the old).")


class AppealFiling(Body):
    grounds: str = Field(description="Why the resolution should be reviewed.")


class AppealRuling(Body):
    decision: AppealDecision = Field(description="uphold: the result stands; reopen: a new discussion round.")
    reason: str = Field(description="Why (required).")


class ExecutionReport(Body):
    outcome: ExecutionOutcome = Field(description="succeeded or failed.")
    details: str = Field(description="What was done, or what went wrong.")
    artifacts: list[str] = Field(default_factory=list, description="Links: a PR, a commit, a CI run.")


class ValidationBody(Body):
    result: ValidationResult = Field(description="pass or fail, for the current version.")
    findings: str = Field(description="What was checked and found.")


class SummaryBody(Body):
    text: str = Field(description="The summary of the current round (Markdown).")
    recommendation: Resolution = Field(description="approved-for-voting, requires-revision or blocked.")


class ModerationBody(Body):
    action: ModerationAction = Field(description="hide or restore.")
    reason: str = Field(description="Why (its author sees it).")


class WebhookBody(Body):
    url: str = Field(description="An http:// or https:// URL each audit event is POSTed to.")


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. not_found, wrong_status.")
    message: str = Field(description="What went wrong, naming the value.")
    hint: str | None = Field(description="What to do next.")


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str = Field(description="ok when the database answers.")
    audit_events: int = Field(description="Events in the audit log.")
