"""Discussion: rounds, comments, summaries, validations, moderation, concluding."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hivegov_mcp.catalogue.base import KIB, Arguments, Kind, OneProposal, Operation, ProposalId, Route, inline
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.models import (
    CommentReceipt,
    CommentType,
    Discussion,
    ModerationAction,
    ProposalReceipt,
    Resolution,
    SummaryReceipt,
    ValidationResult,
)

CommentTypeArg = Annotated[CommentType, inline(CommentType)]
ResolutionArg = Annotated[Resolution, inline(Resolution)]
ValidationArg = Annotated[ValidationResult, inline(ValidationResult)]
ModerationArg = Annotated[ModerationAction, inline(ModerationAction)]
TAG = "discussion"


class StartDiscussion(Arguments):
    proposal_id: ProposalId
    duration_minutes: float | None = Field(
        None, description="Length of the discussion window; the configured default if omitted."
    )


class AddComment(Arguments):
    proposal_id: ProposalId
    content: str = Field(min_length=1, description=f"Your comment (up to {limits.MAX_COMMENT_BYTES // KIB} KiB).")
    type: CommentTypeArg = Field(
        CommentType.COMMENT,
        description="objection blocks voting until resolved; support and suggestion count too.",
    )
    parent_id: int | None = Field(None, description="Id of the comment you reply to.")
    references: list[int] | None = Field(None, description="Ids of other comments of this proposal you cite.")


class ResolveComment(Arguments):
    comment_id: int = Field(description="The comment to mark resolved.")
    note: str = Field(min_length=1, description="Why it is resolved (required).")


class GetDiscussion(Arguments):
    proposal_id: ProposalId
    after_id: int = Field(0, description="Comments after this comment id (0: from the start).", ge=0)
    limit: int = Field(
        limits.DEFAULT_COMMENT_PAGE,
        description=f"Page size, 1 to {limits.MAX_COMMENT_PAGE}.",
        ge=1,
        le=limits.MAX_COMMENT_PAGE,
    )


class ConcludeDiscussion(Arguments):
    proposal_id: ProposalId
    resolution: ResolutionArg = Field(
        description="approved-for-voting opens voting; requires-revision; blocked rejects it."
    )
    reason: str = Field(min_length=1, description="Why (required; recorded in the audit log).")
    override: bool = Field(False, description="Arbiters only: open voting despite unresolved objections.")


OPERATIONS = [
    Operation(
        name="start_discussion",
        kind=Kind.WRITE,
        permission="start_discussion",
        arguments=StartDiscussion,
        result=ProposalReceipt,
        rest=Route("POST", "/discussions/{proposal_id}", "Start a discussion round", TAG),
        description="""Open a discussion round on a draft or revised proposal (its author or a mediator). When the
        deadline passes, the server opens voting, or sends it to revision if objections are open.""",
    ),
    Operation(
        name="add_comment",
        kind=Kind.WRITE,
        permission="add_comment",
        arguments=AddComment,
        result=CommentReceipt,
        rest=Route("POST", "/discussions/{proposal_id}/comments", "Add a comment", TAG, status=201),
        description="""Add a comment to a proposal under discussion (discussants, reviewers, mediators, arbiters
        and the author). Raise an objection only for a problem that must be fixed before a vote.""",
    ),
    Operation(
        name="resolve_comment",
        kind=Kind.WRITE,
        permission="resolve_comment",
        arguments=ResolveComment,
        result=CommentReceipt,
        rest=Route("POST", "/comments/{comment_id}/resolve", "Mark a comment resolved", TAG),
        description="""Mark a comment resolved. An objection can be resolved only by its author or an arbiter;
        other comments also by the proposal's author or a mediator.""",
    ),
    Operation(
        name="get_discussion",
        kind=Kind.READ,
        permission="read",
        arguments=GetDiscussion,
        result=Discussion,
        rest=Route("GET", "/discussions/{proposal_id}", "Read a discussion, a page of comments", TAG),
        description="""The discussion of a proposal: its rounds, the unresolved objections and one page of
        comments (oldest first; a reply names its parent in parent_id). Page with after_id=next_after_id.""",
        agent_text=True,
    ),
    Operation(
        name="summarize_discussion",
        kind=Kind.IDEMPOTENT,
        permission="summarize_discussion",
        arguments=OneProposal,
        result=SummaryReceipt,
        rest=Route("POST", "/discussions/{proposal_id}/summary", "Summarize the discussion", TAG),
        description="""A deterministic summary of the discussion (participants, counts, objections, suggestions,
        support ratio, recommendation, a digest of at most 300 words), stored for the current round when it
        changed (calling again on an unchanged discussion writes nothing).""",
        agent_text=True,
    ),
    Operation(
        name="conclude_discussion",
        kind=Kind.WRITE,
        permission="conclude_discussion",
        arguments=ConcludeDiscussion,
        result=ProposalReceipt,
        rest=Route("POST", "/discussions/{proposal_id}/conclude", "End a round (mediator)", TAG),
        description="""End a discussion round (mediator). approved-for-voting is refused while objections are
        unresolved unless an arbiter sets override=true. Voters are frozen when voting opens.""",
    ),
]
