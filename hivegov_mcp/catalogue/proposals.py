"""Proposals: create, read, list, revise, history, diff, withdraw, search."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hivegov_mcp.catalogue.base import KIB, Arguments, Kind, OneProposal, Operation, ProposalId, Route, View, inline
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.models import (
    Proposal,
    ProposalDiff,
    ProposalHistory,
    ProposalPage,
    ProposalReceipt,
    SearchResults,
)
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.store.search import AND_TERMS, RANK_WINDOW

TypeArg = Annotated[ProposalType, inline(ProposalType)]
StatusArg = Annotated[Status, inline(Status)]
TAG = "proposals"


class CreateProposal(Arguments):
    title: str = Field(min_length=1, description=f"One-line title, at most {limits.MAX_TITLE} characters.")
    type: TypeArg = Field(description="standards, informational or process.")
    abstract: str = Field(min_length=1, description="A short summary (Markdown).")
    motivation: str = Field(min_length=1, description="Why this is needed (Markdown).")
    specification: str = Field(min_length=1, description="Exactly what changes (Markdown).")
    implementation: str = Field("", description="How it will be carried out (optional).")
    dependencies: list[str] | None = Field(None, description="Ids of existing proposals it depends on.")
    options: list[str] | None = Field(
        None,
        description="2-20 short labels to vote on, only for a type decided by approval, score or ranking "
        "(option id = position from 1); omit for a yes/no vote.",
    )


class GetProposal(Arguments):
    proposal_id: ProposalId
    version: int | None = Field(None, description="A past version to show; latest when omitted.", ge=1)


class ListProposals(Arguments):
    status: StatusArg | None = Field(None, description="Only proposals in this status.")
    type: TypeArg | None = Field(None, description="Only proposals of this type.")
    author: str | None = Field(None, description="Only proposals by this agent id.")
    limit: int = Field(limits.DEFAULT_LIST, description=f"Page size, 1 to {limits.MAX_LIST}.", ge=1, le=limits.MAX_LIST)
    cursor: str | None = Field(None, description="next_cursor from the previous page.")


class ReviseProposal(Arguments):
    proposal_id: ProposalId
    expected_version: int = Field(description="The version you read; guards against lost edits.")
    change_note: str = Field(min_length=1, description="What changed and why (shown in the history).")
    title: str | None = Field(None, description="New title; unchanged when omitted.")
    abstract: str | None = Field(None, description="New abstract; unchanged when omitted.")
    motivation: str | None = Field(None, description="New motivation; unchanged when omitted.")
    specification: str | None = Field(None, description="New specification; unchanged when omitted.")
    implementation: str | None = Field(None, description="New implementation; unchanged if omitted.")
    dependencies: list[str] | None = Field(None, description="New dependency ids; unchanged if omitted.")
    options: list[str] | None = Field(None, description="New option labels (2-20), [] for none; unchanged if omitted.")


class DiffProposal(Arguments):
    proposal_id: ProposalId
    from_version: int = Field(description="Older version.", ge=1)
    to_version: int = Field(description="Newer version.", ge=1)


class WithdrawProposal(Arguments):
    proposal_id: ProposalId
    reason: str = Field(min_length=1, description="Why it is withdrawn (required).")


class SearchProposals(Arguments):
    query: str = Field(min_length=1, description="Words to look for in proposals and comments.")
    limit: int = Field(
        limits.DEFAULT_SEARCH,
        description=f"At most this many hits, 1 to {limits.MAX_SEARCH}.",
        ge=1,
        le=limits.MAX_SEARCH,
    )


OPERATIONS = [
    Operation(
        name="create_proposal",
        kind=Kind.WRITE,
        permission="create_proposal",
        arguments=CreateProposal,
        result=ProposalReceipt,
        rest=Route("POST", "/proposals", "Create a proposal (draft, version 1)", TAG, status=201),
        description="Create a proposal as a draft (version 1); you need the proposer role. Each text field may "
        f"be up to {limits.MAX_FIELD_BYTES // KIB} KiB. Next: revise it while in draft, then start_discussion.",
    ),
    Operation(
        name="get_proposal",
        kind=Kind.READ,
        permission="read",
        arguments=GetProposal,
        result=Proposal,
        rest=Route("GET", "/proposals/{proposal_id}", "Read a proposal (a past version with ?version=)", TAG),
        description="Read a proposal: status, phase, deadline and the content of one version.",
        agent_text=True,
        view=View.PROPOSAL_CARD,
    ),
    Operation(
        name="list_proposals",
        kind=Kind.READ,
        permission="read",
        arguments=ListProposals,
        result=ProposalPage,
        rest=Route("GET", "/proposals", "List proposals, newest first", TAG),
        description="List proposals, newest first, with optional filters; page with cursor.",
        view=View.BOARD,
    ),
    Operation(
        name="revise_proposal",
        kind=Kind.WRITE,
        permission="revise_proposal",
        arguments=ReviseProposal,
        result=ProposalReceipt,
        rest=Route("PUT", "/proposals/{proposal_id}", "Revise a proposal (a new version)", TAG),
        description="""Make a new version of your own proposal (author only; in draft or revision). Fields left
        out stay as they are. Fails if expected_version is not the latest: re-read and retry.""",
    ),
    Operation(
        name="get_proposal_history",
        kind=Kind.READ,
        permission="read",
        arguments=OneProposal,
        result=ProposalHistory,
        rest=Route("GET", "/proposals/{proposal_id}/history", "Versions and status changes", TAG),
        description="Every version (with change notes and hashes) and every status change of a proposal.",
    ),
    Operation(
        name="diff_proposal",
        kind=Kind.READ,
        permission="read",
        arguments=DiffProposal,
        result=ProposalDiff,
        rest=Route("GET", "/proposals/{proposal_id}/diff", "Diff two versions", TAG),
        description="A unified diff between two versions of a proposal (Markdown).",
        agent_text=True,
    ),
    Operation(
        name="withdraw_proposal",
        kind=Kind.DESTRUCTIVE,
        permission="withdraw_proposal",
        arguments=WithdrawProposal,
        result=ProposalReceipt,
        rest=Route("POST", "/proposals/{proposal_id}/withdraw", "Withdraw a proposal", TAG),
        description="""Withdraw a proposal in draft, discussion or revision (its author, a mediator or an
        arbiter). This is final.""",
    ),
    Operation(
        name="search_proposals",
        kind=Kind.READ,
        permission="read",
        arguments=SearchProposals,
        result=SearchResults,
        rest=Route("GET", "/search", "Full-text search over proposals and comments", TAG, names={"query": "q"}),
        description="Full-text search over proposals and comments, best match first, with snippets. Words match "
        f"by stem; the first {limits.MAX_QUERY_TERMS} distinct words of the query count. Up to {AND_TERMS} words: "
        "entries with all of them (else any); more words: entries with any, those with more rare words "
        f"first. Very common words narrow the match but don't rank it; among the newest {RANK_WINDOW} "
        "matches of each kind, so add rarer words to find older entries.",
        agent_text=True,
    ),
]
