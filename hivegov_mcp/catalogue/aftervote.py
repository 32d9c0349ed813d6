"""Review and after the vote: validations, published summaries, moderation, appeals, execution."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hivegov_mcp.catalogue.base import Arguments, Kind, OneProposal, Operation, ProposalId, Route, inline
from hivegov_mcp.catalogue.discussion import ResolutionArg
from hivegov_mcp.domain.models import (
    AppealDecision,
    AppealReceipt,
    ExecutionOutcome,
    ExecutionReceipt,
    ModerationAction,
    ModerationReceipt,
    PublishedSummaryReceipt,
    ValidationReceipt,
    ValidationResult,
)

AppealDecisionArg = Annotated[AppealDecision, inline(AppealDecision)]
OutcomeArg = Annotated[ExecutionOutcome, inline(ExecutionOutcome)]
ValidationArg = Annotated[ValidationResult, inline(ValidationResult)]
ModerationArg = Annotated[ModerationAction, inline(ModerationAction)]
TAG = "after the vote"
REVIEW = "discussion"  # the REST tag of validations, published summaries and moderation


class RecordValidation(Arguments):
    proposal_id: ProposalId
    result: ValidationArg = Field(description="pass or fail, for the current version.")
    findings: str = Field(min_length=1, description="What you checked and found.")


class PublishSummary(Arguments):
    proposal_id: ProposalId
    text: str = Field(min_length=1, description="Your summary of the current round (Markdown).")
    recommendation: ResolutionArg = Field(description="approved-for-voting, requires-revision or blocked.")
    round: int | None = Field(None, ge=1, strict=True, description="Refused if this round has ended.")


class ModerateComment(Arguments):
    comment_id: int = Field(description="The comment.")
    action: ModerationArg = Field(description="hide or restore.")
    reason: str = Field(min_length=1, description="Why (required; its author sees it).")


class FileAppeal(Arguments):
    proposal_id: ProposalId
    grounds: str = Field(min_length=1, description="Why the resolution should be reviewed (required).")


class DecideAppeal(Arguments):
    appeal_id: int = Field(description="The appeal (a proposal's history lists its appeals).")
    decision: AppealDecisionArg = Field(description="uphold: the result stands; reopen: a new round.")
    reason: str = Field(min_length=1, description="Why (required; recorded in the audit log).")


class ReportExecution(Arguments):
    proposal_id: ProposalId
    outcome: OutcomeArg = Field(description="succeeded or failed.")
    details: str = Field(min_length=1, description="What was done, or what went wrong.")
    artifacts: list[str] | None = Field(None, description="Links to the work: a PR, a commit, a CI run.")


class RollbackExecution(Arguments):
    proposal_id: ProposalId
    reason: str = Field(min_length=1, description="Why it is rolled back (required).")


OPERATIONS = [
    Operation(
        name="record_validation",
        kind=Kind.WRITE,
        permission="record_validation",
        arguments=RecordValidation,
        result=ValidationReceipt,
        rest=Route("POST", "/proposals/{proposal_id}/validations", "Validate", REVIEW, status=201),
        description="""Record a validation of the proposal's current version (validator). A fail blocks voting
        until a later pass; with the rules' require_validation, voting also needs a pass.""",
    ),
    Operation(
        name="publish_summary",
        kind=Kind.WRITE,
        permission="publish_summary",
        arguments=PublishSummary,
        result=PublishedSummaryReceipt,
        rest=Route("POST", "/discussions/{proposal_id}/published-summaries", "Publish a summary", REVIEW, status=201),
        description="""Publish a summary of the current round (summarizer), stored beside the deterministic
        digest; the summarize_round prompt gathers its material.""",
    ),
    Operation(
        name="moderate_comment",
        kind=Kind.IDEMPOTENT,
        permission="moderate_comment",
        arguments=ModerateComment,
        result=ModerationReceipt,
        rest=Route("POST", "/comments/{comment_id}/moderation", "Hide or restore a comment", REVIEW),
        description="""Hide a comment from views, summaries and search, or restore it (mediator; an unresolved
        objection only by an arbiter). It stays in the audit log.""",
    ),
    Operation(
        name="file_appeal",
        kind=Kind.WRITE,
        permission="file_appeal",
        arguments=FileAppeal,
        result=AppealReceipt,
        rest=Route("POST", "/proposals/{proposal_id}/appeals", "Appeal a resolution", TAG, status=201),
        description="""Appeal an approved or rejected proposal within its appeal window (see its deadline), as
        an eligible voter of that vote or its author. One appeal per resolution; execution waits for it.""",
    ),
    Operation(
        name="decide_appeal",
        kind=Kind.DESTRUCTIVE,
        permission="decide_appeal",
        arguments=DecideAppeal,
        result=AppealReceipt,
        rest=Route("POST", "/appeals/{appeal_id}/decision", "Decide an appeal (arbiter)", TAG),
        description="Decide a pending appeal (arbiter). reopen starts a new discussion round and, later, a new vote.",
    ),
    Operation(
        name="claim_execution",
        kind=Kind.WRITE,
        permission="claim_execution",
        arguments=OneProposal,
        result=ExecutionReceipt,
        rest=Route("POST", "/executions/{proposal_id}/claim", "Claim an execution (executor)", TAG),
        description="""Claim an approved proposal to carry it out (executor): refused while its appeal window is
        open, an appeal is pending or a dependency is not executed. The claim is a lease: report before
        lease_until or the proposal returns to approved. A failed attempt may be claimed again.""",
    ),
    Operation(
        name="report_execution",
        kind=Kind.WRITE,
        permission="report_execution",
        arguments=ReportExecution,
        result=ExecutionReceipt,
        rest=Route("POST", "/executions/{proposal_id}/report", "Report the claimed execution", TAG),
        description="Report the execution you claimed: executed, or execution_failed (which may be retried).",
    ),
    Operation(
        name="rollback_execution",
        kind=Kind.DESTRUCTIVE,
        permission="rollback_execution",
        arguments=RollbackExecution,
        result=ExecutionReceipt,
        rest=Route("POST", "/executions/{proposal_id}/rollback", "Roll an execution back", TAG),
        description="Roll back an executed (or failed) execution (executor or arbiter). This is final.",
    ),
]
