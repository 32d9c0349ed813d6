"""The live dashboard (DESIGN §13): server-rendered pages (Jinja2, assets in the package) on
the HTTP app, acting through the same service as MCP and REST.

A person signs in with an agent token, exchanged for a session cookie (HttpOnly,
SameSite=Strict; the token stays on the server, never in the page); each request checks the
token again, so a deactivated agent's session stops working. A session ends after 30 minutes
unused or 12 hours after sign-in (the service's clock), and at sign-out, on the server. Every
form carries the session's CSRF token. Pages refresh their live part from `/dashboard/events` (the audit log
as server-sent events), with no reload.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sse_starlette import EventSourceResponse

from hivegov_mcp.catalogue import CATALOGUE, Operation
from hivegov_mcp.catalogue.base import describe_validation, validated
from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.errors import HivegovError, NotAuthenticated
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.domain.record_models import AuditEvent, Delegation
from hivegov_mcp.domain.summary import summarize
from hivegov_mcp.http import events
from hivegov_mcp.http.forms import form_arguments
from hivegov_mcp.http.markdown import page_budget, render_markdown, safe_url
from hivegov_mcp.http.timeline import proposal_timeline
from hivegov_mcp.runtime.feed import AuditFeed
from hivegov_mcp.service import GovernanceService

HERE = Path(__file__).parent
SESSION_COOKIE = "hivegov_session"
MAX_SESSIONS = 10_000
MAX_SESSIONS_PER_AGENT = 8
IDLE = timedelta(minutes=30)  # a session unused this long ends
ABSOLUTE = timedelta(hours=12)  # and any session ends this long after sign-in
PAGE = 50
TIMELINE_EVENTS = 2_000  # a proposal's timeline shows at most this many events (the audit page has them all)

templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
templates.filters["markdown"] = render_markdown  # agents' Markdown, sanitised (http/markdown.py)
templates.filters["safe_url"] = safe_url  # a URL to link, or None: show it as text
static = StaticFiles(directory=HERE / "static")


@dataclass
class Session:
    token: str
    csrf: str
    agent_id: str
    opened: datetime
    seen: datetime


class Sessions:
    """Session id -> the agent token, the CSRF token and when the session opened and was last
    used, in this process's memory; and the nonces of sign-in forms served (a sign-in must post
    one back: no login CSRF from another site).

    A session ends after IDLE unused or ABSOLUTE after it opened, whichever comes first, and at
    sign-out. Times come from the caller (the service's clock), so this class does no I/O. The
    sessions are kept least recently used first, so the expired ones are swept from the front
    and, when full, the least recently used one is evicted.
    """

    def __init__(self, *, idle: timedelta = IDLE, absolute: timedelta = ABSOLUTE) -> None:
        self.idle, self.absolute = idle, absolute
        self._by_id: dict[str, Session] = {}
        self._nonces: dict[str, None] = {}

    def open(self, token: str, agent_id: str, now: datetime) -> tuple[str, str]:
        self._sweep(now)
        mine = [sid for sid, s in self._by_id.items() if s.agent_id == agent_id]
        if len(mine) >= MAX_SESSIONS_PER_AGENT:  # an agent signing in again and again evicts only itself
            self.close(mine[0])
        if len(self._by_id) >= MAX_SESSIONS:
            self.close(next(iter(self._by_id)))
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._by_id[sid] = Session(token, csrf, agent_id, opened=now, seen=now)
        return sid, csrf

    def login_nonce(self) -> str:
        if len(self._nonces) >= MAX_SESSIONS:
            self._nonces.pop(next(iter(self._nonces)))
        nonce = secrets.token_urlsafe(32)
        self._nonces[nonce] = None
        return nonce

    def take_login_nonce(self, nonce: str) -> bool:
        return self._nonces.pop(nonce, "missing") is None

    def get(self, sid: str | None, now: datetime) -> Session | None:
        """The live session of this id, marked used now; None (and the session ended) when it
        is unknown or has expired."""
        session = self._by_id.pop(sid or "", None)
        if session is None or self._expired(session, now):
            return None
        session.seen = max(session.seen, now)
        self._by_id[sid or ""] = session  # to the back: most recently used
        return session

    def close(self, sid: str | None) -> None:
        self._by_id.pop(sid or "", None)

    def __len__(self) -> int:
        return len(self._by_id)

    def _expired(self, session: Session, now: datetime) -> bool:
        return now - session.seen >= self.idle or now - session.opened >= self.absolute

    def _sweep(self, now: datetime) -> None:
        while self._by_id:
            sid, oldest = next(iter(self._by_id.items()))
            if now - oldest.seen < self.idle:  # the least recently used is live: the idle ones are gone
                break
            self.close(sid)


router = APIRouter(include_in_schema=False)


def _service(request: Request) -> GovernanceService:
    service: GovernanceService = request.app.state.service
    return service


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


async def render_page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of agents' data rendered in a worker thread, never on the event loop: its Markdown
    (up to http/markdown.py's page budget of it not cached yet) takes CPU while the server keeps
    answering everyone else."""

    def html() -> str:
        with page_budget():
            return templates.get_template(name).render(**context)

    return HTMLResponse(await anyio.to_thread.run_sync(html), status_code=status)


def _now(request: Request) -> datetime:
    return _service(request).clock.now()


async def _signed_in(request: Request) -> tuple[Agent, str, str] | None:
    """The session's agent (checked against the database now), its token and CSRF token."""
    found = _sessions(request).get(request.cookies.get(SESSION_COOKIE), _now(request))
    if found is None:
        return None
    try:
        return await _service(request).authenticate(found.token), found.token, found.csrf
    except NotAuthenticated:
        _sessions(request).close(request.cookies.get(SESSION_COOKIE))
        return None


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


Page = Callable[[GovernanceService, Agent], Awaitable[dict[str, Any]]]


async def _page(
    request: Request, name: str, load: Page, error: str | None = None, status: int = 200, url: str | None = None
) -> Response:
    """A page for the signed-in agent; `url`, when a refused form shows the page again, is the
    page's own address (the browser shows it in place of the form's, so a reload or a live
    refresh reads the page, not the form)."""
    who = await _signed_in(request)
    if who is None:
        return _to_login()
    me, _, csrf = who
    try:
        context = await load(_service(request), me)
    except HivegovError as exc:
        return render("base.html", exc.http_status, me=me, csrf=csrf, error=str(exc))
    return await render_page(name, status, me=me, csrf=csrf, error=error, page_url=url, **context)


# -- signing in -----------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    return render("login.html", login_csrf=_sessions(request).login_nonce(), me=None)


@router.post("/login")
async def login(request: Request, token: str = Form(""), csrf: str = Form("")) -> Response:
    sessions = _sessions(request)
    if not sessions.take_login_nonce(csrf):  # a nonce this server served, used once
        error = "The sign-in form expired: reload the page and sign in."
        return render("login.html", 403, login_csrf=sessions.login_nonce(), me=None, error=error)
    try:
        agent = await _service(request).authenticate(token.strip())
    except NotAuthenticated as exc:
        return render("login.html", 401, login_csrf=sessions.login_nonce(), me=None, error=str(exc))
    sid, _ = sessions.open(token.strip(), agent.id, _now(request))
    signed_in = RedirectResponse("/", status_code=303)
    max_age = int(sessions.absolute.total_seconds())
    signed_in.set_cookie(SESSION_COOKIE, sid, max_age=max_age, httponly=True, samesite="strict", path="/")
    return signed_in


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign-out ends the session on the server, with or without its CSRF field: a person who
    pressed "Sign out" expects the session to be unusable afterwards, whatever page the form
    came from. Nothing to guard: the worst a forged sign-out can do is sign someone out, and the
    SameSite=Strict cookie is not sent with another site's request anyway."""
    _sessions(request).close(request.cookies.get(SESSION_COOKIE))
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- pages ----------------------------------------------------------------------------------------


@router.get("/")
async def board(request: Request, status: str | None = None, q: str | None = None) -> Response:
    async def load(service: GovernanceService, me: Agent) -> dict[str, Any]:
        overview = await service.get_governance_status(me)
        page = await service.list_proposals(me, status=status or None, limit=PAGE)
        hits = (await service.search_proposals(me, q)).hits if q and q.strip() else None
        return {"counts": overview.counts, "proposals": page.proposals, "q": q, "hits": hits, "shown": status}

    return await _page(request, "board.html", load)


async def _proposal_context(service: GovernanceService, me: Agent, pid: str, diff: int | None) -> dict[str, Any]:
    p = await service.get_proposal(me, pid)
    history = await service.get_proposal_history(me, pid)
    discussion = await service.get_discussion(me, pid, limit=500)
    try:
        results = await service.get_voting_results(me, pid)
    except HivegovError:
        results = None
    shown = (await service.diff_proposal(me, pid, diff - 1, diff)).diff if diff and 1 < diff <= p.version else None
    events: list[AuditEvent] = []
    after: int | None = 0
    while after is not None and len(events) < TIMELINE_EVENTS:
        audit = await service.get_audit_log(me, proposal_id=pid, after_seq=after, limit=500)
        events += audit.events
        after = audit.next_after_seq
    return {
        "p": p,
        "history": history,
        "discussion": discussion,
        "results": results,
        "diff": shown,
        "timeline": proposal_timeline(pid, events, results.ballots if results else None),
        # The deterministic digest of the comments shown (domain/summary.py), as summarize_discussion makes it.
        "digest": summarize(p.id, p.title, p.round, discussion.comments) if p.round and discussion.comments else None,
        "timeline_cut": after is not None,
    }


@router.get("/proposals/{proposal_id}")
async def proposal(request: Request, proposal_id: str, diff: int | None = None) -> Response:
    return await _page(request, "proposal.html", lambda s, me: _proposal_context(s, me, proposal_id, diff))


@router.get("/audit")
async def audit(request: Request, after_seq: int = 0) -> Response:
    async def load(service: GovernanceService, me: Agent) -> dict[str, Any]:
        return {
            "page": await service.get_audit_log(me, after_seq=max(0, after_seq), limit=100),
            "check": await service.verify_audit(me),
        }

    return await _page(request, "audit.html", load)


async def _agents_context(service: GovernanceService, me: Agent) -> dict[str, Any]:
    """The agents, each with its delegations, and whom the signed-in agent may delegate to."""
    agents = (await service.list_agents(me)).agents
    delegations: dict[str, list[Delegation]] = {}
    for d in (await service.list_delegations(me)).delegations:
        delegations.setdefault(d.agent_id, []).append(d)
    return {
        "agents": agents,
        "is_admin": Role.ADMIN in me.roles,
        "delegations": delegations,
        "mine": delegations.get(me.id, []),
        "can_delegate": Role.VOTER in me.roles,
        "delegates": [a.id for a in agents if a.active and Role.VOTER in a.roles and a.id != me.id],
        "types": [t.value for t in ProposalType],
    }


@router.get("/agents")
async def agents(request: Request) -> Response:
    return await _page(request, "agents.html", _agents_context)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    async def load(service: GovernanceService, me: Agent) -> dict[str, Any]:
        return {"metrics": await service.get_governance_metrics(me)}

    return await _page(request, "metrics.html", load)


@router.get("/dashboard/events")
async def live(request: Request, proposal_id: str | None = None) -> Response:
    """The audit log as server-sent events for the pages (the session's token, not a header)."""
    who = await _signed_in(request)
    if who is None:
        return Response(status_code=401)
    me, token, _ = who
    feed: AuditFeed = request.app.state.feed
    streams: events.Streams = request.app.state.streams
    head = await feed.started()
    streams.admit(me.id)
    unnamed = _unnamed(events.stream(_service(request), feed, token, me, proposal_id, head))
    return EventSourceResponse(events.guarded(streams, me.id, unnamed), ping=events.PING_SECONDS)


async def _unnamed(messages: Any) -> Any:
    async for message in messages:  # the page listens to plain messages
        yield {"id": message["id"], "data": message["data"]}


# -- acting ---------------------------------------------------------------------------------------
# Each form runs one operation of the catalogue: its fields are the operation's arguments (the
# ones in the path come from the path), checked by the operation's argument model.
FORMS = (
    ("/proposals/{proposal_id}/comment", "add_comment"),
    ("/proposals/{proposal_id}/resolve", "resolve_comment"),
    ("/proposals/{proposal_id}/vote", "cast_vote"),
    ("/proposals/{proposal_id}/conclude", "conclude_discussion"),
    ("/proposals/{proposal_id}/close", "close_voting"),
    ("/appeals/{appeal_id}/decide", "decide_appeal"),
    ("/agents/{agent_id}/deactivate", "deactivate_agent"),
    ("/agents/{agent_id}/activate", "activate_agent"),
    ("/agents/me/delegate", "delegate_vote"),
    ("/agents/me/revoke-delegation", "revoke_delegation"),
)


def _after(request: Request) -> tuple[str, str, Page]:
    """Where a form sends the person back, and the page that shows a refusal inline."""
    pid = request.path_params.get("proposal_id")
    if pid is not None:
        return f"/proposals/{pid}", "proposal.html", lambda s, me: _proposal_context(s, me, pid, None)
    if request.url.path.startswith("/agents/"):
        return "/agents", "agents.html", _agents_context
    referer = request.headers.get("referer", "/")
    return (referer if referer.startswith(str(request.base_url)) else "/"), "base.html", _nothing


def form_action(op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def act(request: Request) -> Response:
        """Check the CSRF token, act through the service; on success back to the page, on a
        refusal the page again with the error inline."""
        who = await _signed_in(request)
        if who is None:
            return _to_login()
        me, _, expected = who
        form = await request.form()
        if not secrets.compare_digest(expected, str(form.get("csrf", ""))):
            return render("base.html", 403, me=me, csrf=expected, error="Missing or wrong CSRF token: reload the page.")
        back, page, load = _after(request)
        taken = op.arguments.model_fields
        # An optional field left empty (a select's "every type", say) is an argument left out;
        # lists and mappings (a ballot's approvals, ranking, scores) as hivegov_mcp.http.forms reads them.
        given = form_arguments(form, taken)
        given |= {name: value for name, value in request.path_params.items() if name in taken}
        try:
            arguments = validated(op, given)
            await op.invoke(_service(request), me, arguments)
        except ValidationError as exc:
            return await _page(request, page, load, error=describe_validation(exc), status=400, url=back)
        except HivegovError as exc:
            return await _page(request, page, load, error=str(exc), status=exc.http_status, url=back)
        return RedirectResponse(back, status_code=303)

    act.__name__ = f"form_{op.name}"
    return act


for _path, _name in FORMS:
    router.add_api_route(_path, form_action(CATALOGUE[_name]), methods=["POST"])


async def _nothing(service: GovernanceService, me: Agent) -> dict[str, Any]:
    return {}
