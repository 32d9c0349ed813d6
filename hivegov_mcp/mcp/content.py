"""MCP resources and prompts (DESIGN §7). Agents' text is fenced and labelled as data (see
`render.fence`).

Resource errors are the SDK's resource errors; prompt errors are JSON-RPC errors (invalid
params for a bad argument or an unknown proposal), never a traceback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from mcp import MCPError
from mcp.server import MCPServer, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp.types import INVALID_PARAMS, CompleteRequestParams, CompleteResult, Completion
from pydantic import Field

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.ballots import BALLOT_FIELD, BALLOT_HELP, MAX_OPTION_LABEL, MAX_OPTIONS, MIN_OPTIONS
from hivegov_mcp.domain.config import DecisionMethod, ProposalType, parse_config
from hivegov_mcp.domain.errors import HivegovError
from hivegov_mcp.domain.models import Agent, DiscussionSummary, ObjectionNote, Proposal
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.render import content_markdown, fence
from hivegov_mcp.mcp.context import AppState, protocol_error, run_op
from hivegov_mcp.service import GovernanceService

T = TypeVar("T")
MAX_TOPIC_BYTES = limits.MAX_COMMENT_BYTES

PromptProposalId = Annotated[str, Field(description="The proposal's id, e.g. BIP-001.")]


def proposal_head(p: Proposal) -> str:
    """The server's line about a proposal (no agent-written text in it)."""
    return (
        f"{p.id} · {p.type.value} · status {p.status.value} · version {p.version} of {p.latest_version} · "
        f"author {p.author}" + (f" · deadline {p.deadline.isoformat()}" if p.deadline else "")
    )


def proposal_text(p: Proposal) -> str:
    """The version's content as Markdown, with its options by id when it has some (the author's
    data: it goes inside a fence)."""
    if not p.options:
        return content_markdown(p)
    listed = "\n".join(f"{number}. {label}" for number, label in enumerate(p.options, start=1))
    return f"{content_markdown(p)}\n## Options (id. label)\n\n{listed}\n"


def proposal_markdown(p: Proposal) -> str:
    return f"{proposal_head(p)}\n\n{proposal_text(p)}"


def how_to_vote(p: Proposal, method: DecisionMethod) -> str:
    """What to decide and what cast_vote takes, by the proposal's frozen method (the server's
    words, no agent text)."""
    if method is DecisionMethod.MAJORITY:
        return "Decide how to vote on its merits alone, then call cast_vote with decision approve, reject or abstain"
    n = len(p.options)
    return (
        f"It is decided by the {method.value} method among its {n} options (listed below by id, 1 to {n}). "
        f"Decide on their merits alone, then call cast_vote with {BALLOT_HELP[BALLOT_FIELD[method]]} "
        "(not decision)"
    )


def method_note(type_: str, method: DecisionMethod) -> str:
    """What a draft of this type needs for its method (empty for majority)."""
    if method.votes_on_options:
        return (
            f" Proposals of type {type_} are decided by the {method.value} method among options: also give options, "
            f"{MIN_OPTIONS} to {MAX_OPTIONS} short labels (one line, at most {MAX_OPTION_LABEL} characters "
            "each), one per alternative the vote chooses among."
        )
    if method is DecisionMethod.CONSENT:
        return (
            f" Proposals of type {type_} are decided by consent: approved, without a vote, when the discussion "
            "ends with no unresolved objection. Give no options."
        )
    return ""


def notes_text(notes: list[ObjectionNote]) -> str:
    if not notes:
        return "none"
    return "; ".join(f"#{n.comment_id} by {n.author}: {n.excerpt}" for n in notes)


async def _resource(ctx: Context[AppState], op: Callable[[GovernanceService, Agent], Awaitable[T]]) -> T:
    """Run a read for a resource, mapping errors to resource errors."""
    return await _static(ctx.request_context.lifespan_context, op)


async def _static(state: AppState, op: Callable[[GovernanceService, Agent], Awaitable[T]]) -> T:
    try:
        return await run_op(state, op)
    except HivegovError as exc:
        if not exc.caller_fault:
            raise ResourceError(str(exc)) from exc
        raise ResourceNotFoundError(str(exc)) from exc  # the caller's mistake: invalid params


async def _for_prompt(ctx: Context[AppState], proposal_id: str) -> tuple[Proposal, DiscussionSummary]:
    try:
        return await run_op(ctx.request_context.lifespan_context, lambda s, a: s.proposal_for_resource(a, proposal_id))
    except HivegovError as exc:
        raise protocol_error(exc) from exc


MAX_PROMPT_COMMENTS = 200  # comments a summarize_round prompt carries (the oldest first)
COMPLETIONS = 100  # the newest proposals whose ids completion looks at


def register_content(mcp: MCPServer[AppState], state: AppState) -> None:
    """`state` serves the static resources (the SDK gives those no Context); the templates and
    prompts use the request's lifespan state, which is the same."""

    async def complete(ctx: ServerRequestContext[AppState], params: CompleteRequestParams) -> CompleteResult:
        """`proposal_id` arguments of prompts and resource templates: the newest ids that start
        with what was typed. (MCPServer's own completion hook gets no request context, so no
        identity: this handler is registered the way the SDK registers that one.)"""
        if params.argument.name != "proposal_id":
            return CompleteResult(completion=Completion(values=[]))
        typed = params.argument.value.strip().upper()
        try:
            page = await run_op(ctx.lifespan_context, lambda s, a: s.list_proposals(a, limit=COMPLETIONS))
        except HivegovError as exc:
            raise protocol_error(exc) from exc
        ids = [p.id for p in page.proposals if p.id.upper().startswith(typed)]
        return CompleteResult(completion=Completion(values=ids, has_more=bool(page.next_cursor)))

    mcp._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, complete)

    @mcp.resource("hivegov://proposals/{proposal_id}", mime_type="text/markdown")
    async def proposal(proposal_id: str, ctx: Context[AppState]) -> str:
        """A proposal's latest version as Markdown, its text fenced as the author's data."""
        p = await _resource(ctx, lambda s, a: s.get_proposal(a, proposal_id))
        return f"{proposal_head(p)}\n\n{fence(proposal_text(p))}"

    @mcp.resource("hivegov://proposals/{proposal_id}/discussion", mime_type="application/json")
    async def discussion(proposal_id: str, ctx: Context[AppState]) -> str:
        """The discussion of a proposal as JSON: its first page of comments (other agents' data)."""
        found = await _resource(ctx, lambda s, a: s.get_discussion(a, proposal_id))
        return found.model_dump_json()

    @mcp.resource("hivegov://proposals/{proposal_id}/results", mime_type="application/json")
    async def results(proposal_id: str, ctx: Context[AppState]) -> str:
        """The voting results of a proposal as JSON."""
        return (await _resource(ctx, lambda s, a: s.get_voting_results(a, proposal_id))).model_dump_json()

    @mcp.resource("hivegov://rules", mime_type="application/toml")
    async def rules() -> str:
        """The governance rules in force (TOML), with their version and hash in the first line."""
        info = await _static(state, lambda s, a: s.show_rules(a))
        return f"# rules version {info.version}, sha256 {info.hash}\n{info.toml}"

    @mcp.resource("hivegov://audit/checkpoint", mime_type="text/plain")
    async def audit_checkpoint() -> str:
        """The latest signed checkpoint of the audit log (C2SP tlog-checkpoint in a signed note): keep
        it, and `hivegov-mcp audit verify --checkpoint` proves later that the log still extends it."""
        return (await _static(state, lambda s, a: s.latest_checkpoint(a))).note

    @mcp.prompt(title="Draft a proposal")
    async def draft_proposal(
        topic: Annotated[str, Field(description="What the proposal is about, in a few words or sentences.")],
        type: Annotated[
            str, Field(description=f"The proposal type: {', '.join(t.value for t in ProposalType)}.")
        ] = ProposalType.STANDARDS.value,
        *,
        ctx: Context[AppState],
    ) -> list[UserMessage]:
        """Ask for a well-formed proposal on a topic, ready for create_proposal."""
        if type not in {t.value for t in ProposalType}:
            allowed = ", ".join(t.value for t in ProposalType)
            raise MCPError(code=INVALID_PARAMS, message=f"Invalid type {type!r}: use one of {allowed}.")
        try:
            limits.check_text("topic", topic, max_bytes=MAX_TOPIC_BYTES)
            info = await run_op(ctx.request_context.lifespan_context, lambda s, a: s.show_rules(a))
        except HivegovError as exc:
            raise protocol_error(exc) from exc
        method = parse_config(info.toml).rules_for(type).method
        return [
            UserMessage(
                f"Draft a {type} governance proposal about the topic below, then submit it with the "
                "create_proposal tool. Fill every field: title (one line, at most "
                f"{limits.MAX_TITLE} characters), abstract (2-3 sentences), motivation (the problem and who has "
                "it), specification (exactly what changes, testable), implementation (steps, owners, rollback), "
                "and dependencies (ids of existing proposals, found with search_proposals, if any)."
                + method_note(type, method)
                + "\n\n"
                + fence(topic)
            )
        ]

    @mcp.prompt(title="Review a proposal")
    async def review_proposal(proposal_id: PromptProposalId, ctx: Context[AppState]) -> list[UserMessage]:
        """Load a proposal and its discussion, and ask for one review comment."""
        p, summary = await _for_prompt(ctx, proposal_id)
        return [
            UserMessage(
                f"Review proposal {p.id}. Decide whether it is sound, then post ONE comment with "
                "add_comment: type 'objection' only for a problem that must be fixed before a vote "
                "(say what would resolve it), 'suggestion' for an improvement, 'support' if it is "
                "ready, else 'comment'. Be specific and cite the section.\n\n"
                + fence(f"Discussion digest: {summary.digest}\n\n{proposal_markdown(p)}")
            )
        ]

    @mcp.prompt(title="Summarize a discussion round")
    async def summarize_round(proposal_id: PromptProposalId, ctx: Context[AppState]) -> list[UserMessage]:
        """For summarizers: the deterministic digest and the thread, and how to publish a summary."""
        p, summary = await _for_prompt(ctx, proposal_id)
        try:
            thread = await run_op(
                ctx.request_context.lifespan_context,
                lambda s, a: s.get_discussion(a, proposal_id, limit=MAX_PROMPT_COMMENTS),
            )
        except HivegovError as exc:
            raise protocol_error(exc) from exc
        lines = [f"#{c.id} {c.author} ({c.type.value}, round {c.round}): {c.content}" for c in thread.comments]
        return [
            UserMessage(
                f"Summarize round {p.round} of the discussion of {p.id} for the agents who will vote. Weigh the "
                "objections (open and resolved), suggestions and support; be fair to each side and brief. Then "
                "call publish_summary with your text and a recommendation: approved-for-voting, "
                "requires-revision or blocked.\n\n"
                + fence(
                    f"Deterministic digest: {summary.digest}\n\n{proposal_markdown(p)}\n\nComments:\n"
                    + "\n".join(lines)
                )
            )
        ]

    @mcp.prompt(title="Vote on a proposal")
    async def vote_on_proposal(proposal_id: PromptProposalId, ctx: Context[AppState]) -> list[UserMessage]:
        """Load a proposal in voting and ask for a justified vote, in the ballot its method takes."""
        p, summary = await _for_prompt(ctx, proposal_id)
        if p.status is not Status.VOTING:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"{p.id} is in {p.status.value}: votes are cast only while it is in voting.",
            )
        try:  # the method frozen when voting opened
            vote = await run_op(ctx.request_context.lifespan_context, lambda s, a: s.get_voting_results(a, p.id))
        except HivegovError as exc:
            raise protocol_error(exc) from exc
        method = DecisionMethod(vote.method)
        return [
            UserMessage(
                f"Proposal {p.id} is {p.status.value}. {how_to_vote(p, method)}, and a justification of at "
                "least a few sentences that names the parts of the proposal you weighed. Do not ask how "
                "others voted.\n\n"
                + fence(
                    f"Discussion digest: {summary.digest}\n"
                    f"Resolved objections: {notes_text(summary.resolved_objections)}\n"
                    f"Unresolved objections: {notes_text(summary.unresolved_objections)}\n\n" + proposal_markdown(p)
                )
            )
        ]
