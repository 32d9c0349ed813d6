"""The REST API (DESIGN §12): the seed's eleven endpoints at exactly their paths, and the rest
of the catalogue in the same style. Each endpoint names its inputs and calls the service;
the acting agent comes from the request's bearer token; errors are one JSON envelope."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.errors import HivegovError, NotAuthenticated, RateLimited
from hivegov_mcp.domain.models import (
    Agenda,
    Agent,
    AgentList,
    AgentReceipt,
    AppealReceipt,
    AuditPage,
    AuditProof,
    AuditVerification,
    CommentReceipt,
    Discussion,
    ExecutionReceipt,
    GovernanceMetrics,
    GovernanceStatus,
    ModerationReceipt,
    Proposal,
    ProposalDiff,
    ProposalHistory,
    ProposalPage,
    ProposalReceipt,
    PublishedSummaryReceipt,
    RegisteredAgent,
    RegisteredWebhook,
    ResultsReceipt,
    RulesInfo,
    SearchResults,
    SignedCheckpoint,
    SummaryReceipt,
    ValidationReceipt,
    VoteReceipt,
    VotingResults,
    Webhook,
    WebhookList,
)
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.http.bodies import (
    AppealFiling,
    AppealRuling,
    CommentResolution,
    Conclusion,
    DiscussionStart,
    ErrorEnvelope,
    ExecutionReport,
    ModerationBody,
    NewAgent,
    NewBallot,
    NewComment,
    NewProposal,
    Reason,
    Revision,
    Roles,
    SummaryBody,
    ValidationBody,
    WebhookBody,
)
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.base import MAX_AUDIT_PAGE, MAX_LIST, MAX_SEARCH
from hivegov_mcp.service.discussion import DEFAULT_COMMENT_PAGE, MAX_COMMENT_PAGE

log = logging.getLogger(__name__)

PREFIX = "/api/governance"
# HTTP status of each domain error code; any other code is the caller's mistake (400).
STATUS = {
    "not_authenticated": 401,
    "permission_denied": 403,
    "not_eligible": 403,
    "not_found": 404,
    "wrong_status": 409,
    "conflict": 409,
    "stale_version": 409,
    "no_eligible_voters": 409,
    "objections_unresolved": 409,
    "not_now": 409,
    "rate_limited": 429,
    "too_many_streams": 429,
    "store_busy": 503,
    "storage_error": 503,
    "log_tampered": 503,
    "config_error": 503,
    "rules_mismatch": 503,
}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in {
        400: "Bad input: the message names the value.",
        401: "No valid agent token (Authorization: Bearer …).",
        403: "The agent's roles don't allow it.",
        404: "Unknown id.",
        409: "Not in this status, a stale version, or unresolved objections.",
        413: "The body is too large.",
        429: "The agent's write limit for the minute is used up (see Retry-After).",
        503: "The database is busy or can't be used; retry.",
    }.items()
}

bearer = HTTPBearer(auto_error=False, description="An agent token, as printed by `hivegov-mcp agent add`.")


def error_body(code: str, message: str, hint: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint or None}}


def error_response(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="hivegov"'} if status == 401 else None
    return JSONResponse(error_body(code, message, hint), status_code=status, headers=headers)


def service_of(request: Request) -> GovernanceService:
    service: GovernanceService = request.app.state.service
    return service


Service = Annotated[GovernanceService, Depends(service_of)]


async def acting_agent(
    service: Service, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Agent:
    if credentials is None:
        raise NotAuthenticated(
            "no agent token was given",
            "Send `Authorization: Bearer <token>`; an operator prints one with `hivegov-mcp agent add ID --role …`.",
        )
    return await service.authenticate(credentials.credentials)


Me = Annotated[Agent, Depends(acting_agent)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIST, description=f"Page size, 1 to {MAX_LIST}.")]


def install_errors(app: FastAPI) -> None:
    """One JSON envelope for every error: domain errors, bad input, unknown routes, crashes."""

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HivegovError)
        response = error_response(STATUS.get(exc.code, 400), exc.code, exc.message, exc.hint)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_seconds)
        return response

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return error_response(400, "invalid_input", "; ".join(problems), "Check the field against /api/openapi.json.")

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        code = codes.get(exc.status_code, "http_error")
        hint = "The endpoints are listed at /api/docs." if exc.status_code in (404, 405) else None
        return error_response(exc.status_code, code, str(exc.detail), hint)

    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(
            500, "internal_error", "The server failed on this request.", "Retry; if it persists, report it."
        )

    app.add_exception_handler(HivegovError, domain)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, crash)


router = APIRouter(prefix=PREFIX, responses=ERRORS)

# -- the seed's endpoints -------------------------------------------------------------------------


@router.post("/proposals", status_code=201, tags=["proposals"], summary="Create a proposal (draft, version 1)")
async def create_proposal(body: NewProposal, service: Service, me: Me) -> ProposalReceipt:
    return await service.create_proposal(me, **body.model_dump())


@router.get("/proposals/{proposal_id}", tags=["proposals"], summary="Read a proposal (a past version with ?version=)")
async def get_proposal(
    proposal_id: str, service: Service, me: Me, version: Annotated[int | None, Query(ge=1)] = None
) -> Proposal:
    return await service.get_proposal(me, proposal_id, version)


@router.put("/proposals/{proposal_id}", tags=["proposals"], summary="Revise a proposal (a new version)")
async def revise_proposal(proposal_id: str, body: Revision, service: Service, me: Me) -> ProposalReceipt:
    return await service.revise_proposal(me, proposal_id, **body.model_dump())


@router.get("/proposals", tags=["proposals"], summary="List proposals, newest first")
async def list_proposals(
    service: Service,
    me: Me,
    status: Status | None = None,
    type: ProposalType | None = None,
    author: str | None = None,
    limit: Limit = 20,
    cursor: str | None = None,
) -> ProposalPage:
    return await service.list_proposals(me, status=status, type=type, author=author, limit=limit, cursor=cursor)


@router.post("/discussions/{proposal_id}", tags=["discussion"], summary="Start a discussion round")
async def start_discussion(
    proposal_id: str, service: Service, me: Me, body: DiscussionStart | None = None
) -> ProposalReceipt:
    return await service.start_discussion(me, proposal_id, body.duration_minutes if body else None)


@router.post("/discussions/{proposal_id}/comments", status_code=201, tags=["discussion"], summary="Add a comment")
async def add_comment(proposal_id: str, body: NewComment, service: Service, me: Me) -> CommentReceipt:
    return await service.add_comment(
        me, proposal_id, body.content, type=body.type, parent_id=body.parent_id, references=body.references
    )


@router.get("/discussions/{proposal_id}", tags=["discussion"], summary="Read a discussion, a page of comments")
async def get_discussion(
    proposal_id: str,
    service: Service,
    me: Me,
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_COMMENT_PAGE)] = DEFAULT_COMMENT_PAGE,
) -> Discussion:
    return await service.get_discussion(me, proposal_id, after_id=after_id, limit=limit)


@router.post("/discussions/{proposal_id}/summary", tags=["discussion"], summary="Summarize the discussion")
async def summarize_discussion(proposal_id: str, service: Service, me: Me) -> SummaryReceipt:
    return await service.summarize_discussion(me, proposal_id)


@router.post("/votes/{proposal_id}", tags=["voting"], summary="Cast (or change) a vote")
async def cast_vote(proposal_id: str, body: NewBallot, service: Service, me: Me) -> VoteReceipt:
    return await service.cast_vote(me, proposal_id, body.decision, body.justification)


@router.get("/votes/{proposal_id}", tags=["voting"], summary="Voting results (hidden while open by default)")
async def get_voting_results(proposal_id: str, service: Service, me: Me) -> VotingResults:
    return await service.get_voting_results(me, proposal_id)


@router.post("/votes/{proposal_id}/close", tags=["voting"], summary="Close voting now and count (mediator)")
async def close_voting(proposal_id: str, body: Reason, service: Service, me: Me) -> ResultsReceipt:
    return await service.close_voting(me, proposal_id, body.reason)


# -- the rest of the catalogue ---------------------------------------------------------------------


@router.get("/proposals/{proposal_id}/history", tags=["proposals"], summary="Versions and status changes")
async def get_proposal_history(proposal_id: str, service: Service, me: Me) -> ProposalHistory:
    return await service.get_proposal_history(me, proposal_id)


@router.get("/proposals/{proposal_id}/diff", tags=["proposals"], summary="Diff two versions")
async def diff_proposal(
    proposal_id: str,
    service: Service,
    me: Me,
    from_version: Annotated[int, Query(ge=1)],
    to_version: Annotated[int, Query(ge=1)],
) -> ProposalDiff:
    return await service.diff_proposal(me, proposal_id, from_version, to_version)


@router.post("/proposals/{proposal_id}/withdraw", tags=["proposals"], summary="Withdraw a proposal")
async def withdraw_proposal(proposal_id: str, body: Reason, service: Service, me: Me) -> ProposalReceipt:
    return await service.withdraw_proposal(me, proposal_id, body.reason)


@router.get("/search", tags=["proposals"], summary="Full-text search over proposals and comments")
async def search_proposals(
    service: Service,
    me: Me,
    q: Annotated[str, Query(description="Words to look for.")],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH)] = 10,
) -> SearchResults:
    return await service.search_proposals(me, q, limit)


@router.post("/comments/{comment_id}/resolve", tags=["discussion"], summary="Mark a comment resolved")
async def resolve_comment(comment_id: int, body: CommentResolution, service: Service, me: Me) -> CommentReceipt:
    return await service.resolve_comment(me, comment_id, body.note)


@router.post("/discussions/{proposal_id}/conclude", tags=["discussion"], summary="End a round (mediator)")
async def conclude_discussion(proposal_id: str, body: Conclusion, service: Service, me: Me) -> ProposalReceipt:
    return await service.conclude_discussion(me, proposal_id, body.resolution, body.reason, override=body.override)


@router.post("/proposals/{proposal_id}/validations", status_code=201, tags=["discussion"], summary="Validate")
async def record_validation(proposal_id: str, body: ValidationBody, service: Service, me: Me) -> ValidationReceipt:
    return await service.record_validation(me, proposal_id, body.result, body.findings)


@router.post(
    "/discussions/{proposal_id}/published-summaries", status_code=201, tags=["discussion"], summary="Publish a summary"
)
async def publish_summary(proposal_id: str, body: SummaryBody, service: Service, me: Me) -> PublishedSummaryReceipt:
    return await service.publish_summary(me, proposal_id, body.text, body.recommendation)


@router.post("/comments/{comment_id}/moderation", tags=["discussion"], summary="Hide or restore a comment")
async def moderate_comment(comment_id: int, body: ModerationBody, service: Service, me: Me) -> ModerationReceipt:
    return await service.moderate_comment(me, comment_id, body.action, body.reason)


@router.post(
    "/proposals/{proposal_id}/appeals", status_code=201, tags=["after the vote"], summary="Appeal a resolution"
)
async def file_appeal(proposal_id: str, body: AppealFiling, service: Service, me: Me) -> AppealReceipt:
    return await service.file_appeal(me, proposal_id, body.grounds)


@router.post("/appeals/{appeal_id}/decision", tags=["after the vote"], summary="Decide an appeal (arbiter)")
async def decide_appeal(appeal_id: int, body: AppealRuling, service: Service, me: Me) -> AppealReceipt:
    return await service.decide_appeal(me, appeal_id, body.decision, body.reason)


@router.post("/executions/{proposal_id}/claim", tags=["after the vote"], summary="Claim an execution (executor)")
async def claim_execution(proposal_id: str, service: Service, me: Me) -> ExecutionReceipt:
    return await service.claim_execution(me, proposal_id)


@router.post("/executions/{proposal_id}/report", tags=["after the vote"], summary="Report the claimed execution")
async def report_execution(proposal_id: str, body: ExecutionReport, service: Service, me: Me) -> ExecutionReceipt:
    return await service.report_execution(me, proposal_id, body.outcome, body.details, body.artifacts)


@router.post("/executions/{proposal_id}/rollback", tags=["after the vote"], summary="Roll an execution back")
async def rollback_execution(proposal_id: str, body: Reason, service: Service, me: Me) -> ExecutionReceipt:
    return await service.rollback_execution(me, proposal_id, body.reason)


@router.get("/agents/me", tags=["agents"], summary="The agent of the token")
async def whoami(service: Service, me: Me) -> Agent:
    return await service.whoami(me)


@router.get("/agents", tags=["agents"], summary="List agents")
async def list_agents(service: Service, me: Me, role: Role | None = None) -> AgentList:
    return await service.list_agents(me, role)


@router.post("/agents", status_code=201, tags=["agents"], summary="Register an agent (admin; the token once)")
async def register_agent(body: NewAgent, service: Service, me: Me) -> RegisteredAgent:
    return await service.register_agent(
        me, body.agent_id, body.roles, display_name=body.display_name, weight=body.weight
    )


@router.put("/agents/{agent_id}/roles", tags=["agents"], summary="Replace an agent's roles (admin)")
async def set_agent_roles(agent_id: str, body: Roles, service: Service, me: Me) -> AgentReceipt:
    return await service.set_agent_roles(me, agent_id, body.roles)


@router.post("/agents/{agent_id}/deactivate", tags=["agents"], summary="Deactivate an agent (admin)")
async def deactivate_agent(agent_id: str, service: Service, me: Me) -> AgentReceipt:
    return await service.deactivate_agent(me, agent_id)


@router.post("/agents/{agent_id}/activate", tags=["agents"], summary="Activate an agent again (admin)")
async def activate_agent(agent_id: str, service: Service, me: Me) -> AgentReceipt:
    return await service.activate_agent(me, agent_id)


@router.get("/status", tags=["records"], summary="Counts, next deadlines, rules version, audit head")
async def get_governance_status(service: Service, me: Me) -> GovernanceStatus:
    return await service.get_governance_status(me)


@router.get("/audit", tags=["records"], summary="The audit log, in sequence order")
async def get_audit_log(
    service: Service,
    me: Me,
    proposal_id: str | None = None,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 50,
) -> AuditPage:
    return await service.get_audit_log(me, proposal_id=proposal_id, after_seq=after_seq, limit=limit)


@router.get("/audit/verify", tags=["records"], summary="Check the audit log and the state against it")
async def verify_audit(service: Service, me: Me) -> AuditVerification:
    return await service.verify_audit(me)


@router.get("/audit/checkpoint", tags=["records"], summary="The latest signed checkpoint of the audit log")
async def get_audit_checkpoint(service: Service, me: Me) -> SignedCheckpoint:
    return await service.latest_checkpoint(me)


@router.get("/audit/{seq}/proof", tags=["records"], summary="An event's inclusion proof against a signed checkpoint")
async def get_audit_proof(
    seq: Annotated[int, Path(ge=1)],
    service: Service,
    me: Me,
    since_size: Annotated[
        int | None, Query(ge=1, description="A kept checkpoint's size: adds a consistency proof")
    ] = None,
) -> AuditProof:
    return await service.get_audit_proof(me, seq, since_size)


@router.get("/agenda", tags=["records"], summary="What needs the agent now, soonest first")
async def get_my_agenda(service: Service, me: Me) -> Agenda:
    return await service.get_my_agenda(me)


@router.get("/metrics", tags=["records"], summary="Success criteria, time per phase, per-agent figures")
async def get_governance_metrics(
    service: Service, me: Me, since: datetime | None = None, until: datetime | None = None
) -> GovernanceMetrics:
    return await service.get_governance_metrics(me, since, until)


@router.post("/webhooks", status_code=201, tags=["webhooks"], summary="Register a webhook (admin; the secret once)")
async def add_webhook(body: WebhookBody, service: Service, me: Me) -> RegisteredWebhook:
    return await service.add_webhook(me, body.url)


@router.get("/webhooks", tags=["webhooks"], summary="List the webhooks (admin)")
async def list_webhooks(service: Service, me: Me) -> WebhookList:
    return await service.list_webhooks(me)


@router.delete("/webhooks/{webhook_id}", tags=["webhooks"], summary="Remove a webhook (admin)")
async def remove_webhook(webhook_id: int, service: Service, me: Me) -> Webhook:
    return await service.remove_webhook(me, webhook_id)


@router.get("/rules", tags=["records"], summary="The rules in force")
async def show_rules(service: Service, me: Me) -> RulesInfo:
    return await service.show_rules(me)
