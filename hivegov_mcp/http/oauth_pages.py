"""The OAuth consent page (DESIGN §21), a dashboard page: a person signed in as an agent (the
dashboard's session, or a sign-in form on this page) approves a client, and the scopes it gets;
an admin may approve on another agent's behalf. Approving records the grant with its audit event
(through the service) and sends the browser back to the client's redirect URI with a code;
denying sends it back with `error=access_denied`. Forms carry the session's CSRF token (the
sign-in form, a one-time nonce), as every dashboard form does.

A request waits here at most `CONSENT_LIFETIME` (hivegov_mcp.http.oauth) and is answered once.

`/oauth/grants` lists the grants that act as the signed-in agent (an admin: every grant), each
with a Revoke button: the grant and every token of it stop working, and the log says who revoked.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from mcp.server.auth.provider import construct_redirect_uri
from pydantic import AnyHttpUrl
from starlette.types import ASGIApp, Receive, Scope, Send

from hivegov_mcp.domain.errors import HivegovError, NotAuthenticated
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.oauth import ACCESS_LIFETIME, REFRESH_LIFETIME, SCOPES, WRITE
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.http.dashboard import SESSION_COOKIE, Session, Sessions, render, templates
from hivegov_mcp.http.oauth import CONSENT_PATH, ConsentRequest, ConsentRequests, GovernanceAuthProvider
from hivegov_mcp.service import GovernanceService

router = APIRouter(include_in_schema=False)

# Whether the app serving this request is an OAuth authorization server (set per request by
# `OAuthOn`): the dashboard's pages then link the connected clients page ("Clients").
OAUTH_ON: ContextVar[bool] = ContextVar("oauth_on", default=False)
templates.globals["oauth_on"] = OAUTH_ON.get


class OAuthOn:
    """Marks each request as served by an app with OAuth on (`OAUTH_ON`), for its pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = OAUTH_ON.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            OAUTH_ON.reset(token)


GRANTS_PATH = "/oauth/grants"
EXPIRED = "This sign-in request has expired or was answered already: start again from your client."


def _service(request: Request) -> GovernanceService:
    service: GovernanceService = request.app.state.service
    return service


def _consents(request: Request) -> ConsentRequests:
    return _provider(request).consents


def _provider(request: Request) -> GovernanceAuthProvider:
    provider: GovernanceAuthProvider = request.app.state.oauth
    return provider


def _sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


async def _signed_in(request: Request) -> tuple[Agent, Session] | None:
    """The dashboard session's agent (its token checked again now), or None."""
    session = _sessions(request).get(request.cookies.get(SESSION_COOKIE), _service(request).clock.now())
    if session is None:
        return None
    try:
        return await _service(request).authenticate(session.token), session
    except NotAuthenticated:
        return None


def _pending(request: Request, rid: str) -> ConsentRequest | None:
    return _consents(request).get(rid, _service(request).clock.now())


async def _show(request: Request, rid: str, *, error: str | None = None, status: int = 200) -> Response:
    pending = _pending(request, rid)
    known = None if pending is None else await _provider(request).get_client(pending.client_id)
    if pending is None or known is None:
        return render("consent.html", 410, me=None, error=EXPIRED, pending=None)
    who = await _signed_in(request)
    client = {
        "name": known.client_name or "An unnamed client",
        "id": pending.client_id,
        "uri": str(known.client_uri) if known.client_uri else None,
        "redirect": str(pending.params.redirect_uri),
    }
    context = {
        "pending": pending,
        "request_id": rid,
        "client": client,
        "scopes": [(s, SCOPES[s]) for s in pending.scopes],
        "may_write": WRITE in pending.scopes,  # offered: the person may still untick it
        "access_minutes": int(ACCESS_LIFETIME.total_seconds() // 60),
        "refresh_days": REFRESH_LIFETIME.days,
        "error": error,
    }
    if who is None:
        return render("consent.html", status, me=None, login_csrf=_sessions(request).login_nonce(), **context)
    me, session = who
    agents = [me.id]
    if Role.ADMIN in me.roles:
        agents += [a.id for a in (await _service(request).list_agents(me)).agents if a.active and a.id != me.id]
    return render("consent.html", status, me=me, csrf=session.csrf, agents=agents, **context)


@router.get(CONSENT_PATH)
async def consent_page(request: Request, request_id: str = "") -> Response:
    return await _show(request, request.query_params.get("request", request_id))


@router.post(CONSENT_PATH + "/sign-in")
async def consent_sign_in(request: Request) -> Response:
    """Sign in (as the dashboard's sign-in does: the session cookie) and come back to the request."""
    form = await request.form()
    rid, token = str(form.get("request", "")), str(form.get("token", "")).strip()
    sessions = _sessions(request)
    if not sessions.take_login_nonce(str(form.get("csrf", ""))):
        return await _show(request, rid, error="The sign-in form expired: sign in again.", status=403)
    try:
        agent = await _service(request).authenticate(token)
    except NotAuthenticated as exc:
        return await _show(request, rid, error=str(exc), status=401)
    sid, _ = sessions.open(token, agent.id, _service(request).clock.now())
    back = RedirectResponse(f"{CONSENT_PATH}?{urlencode({'request': rid})}", status_code=303)
    max_age = int(sessions.absolute.total_seconds())
    back.set_cookie(SESSION_COOKIE, sid, max_age=max_age, httponly=True, samesite="strict", path="/")
    return back


@router.post(CONSENT_PATH)
async def consent_answer(request: Request) -> Response:
    """Approve (the grant, then back to the client with a code) or deny (back with access_denied)."""
    form = await request.form()
    rid = str(form.get("request", ""))
    who = await _signed_in(request)
    pending = _pending(request, rid)
    if who is None or pending is None:
        return await _show(request, rid, error=None if pending is None else "Sign in first.", status=401)
    me, session = who
    if not secrets.compare_digest(session.csrf, str(form.get("csrf", ""))):
        return await _show(request, rid, error="Missing or wrong CSRF token: reload the page.", status=403)
    params = pending.params
    issuer = str(AnyHttpUrl(_provider(request).issuer))  # RFC 9207: as the metadata names it
    if form.get("decision") != "approve":
        _consents(request).take(rid)
        denied = construct_redirect_uri(
            str(params.redirect_uri),
            error="access_denied",
            error_description="the person declined",
            state=params.state,
            iss=issuer,
        )
        return RedirectResponse(denied, status_code=303)
    scopes = [s for s in pending.scopes if s in form.getlist("scope")]
    if not scopes:
        return await _show(request, rid, error="Choose at least one permission to approve.", status=400)
    known = await _provider(request).get_client(pending.client_id)
    try:
        code = await _service(request).grant_oauth(
            me,
            agent_id=str(form.get("agent") or me.id),
            client_id=pending.client_id,
            client_name=known.client_name if known is not None else None,
            scopes=scopes,
            resource=pending.resource,
            redirect_uri=str(params.redirect_uri),
            redirect_uri_explicit=params.redirect_uri_provided_explicitly,
            code_challenge=params.code_challenge,
        )
    except HivegovError as exc:
        return await _show(request, rid, error=str(exc), status=exc.http_status)
    _consents(request).take(rid)
    approved = construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state, iss=issuer)
    return RedirectResponse(approved, status_code=303)


# -- the grants page --------------------------------------------------------------------------------


@router.get(GRANTS_PATH)
async def grants_page(request: Request) -> Response:
    return await _grants(request)


async def _grants(request: Request, error: str | None = None, status: int = 200) -> Response:
    who = await _signed_in(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    me, session = who
    listed = await _service(request).list_oauth_grants(me)
    return render("grants.html", status, me=me, csrf=session.csrf, grants=listed, scopes=SCOPES, error=error)


@router.post(GRANTS_PATH + "/{grant_id}/revoke")
async def revoke_grant(request: Request, grant_id: str) -> Response:
    who = await _signed_in(request)
    if who is None:
        return RedirectResponse("/login", status_code=303)
    me, session = who
    form = await request.form()
    if not secrets.compare_digest(session.csrf, str(form.get("csrf", ""))):
        return await _grants(request, "Missing or wrong CSRF token: reload the page.", 403)
    try:
        await _service(request).revoke_oauth_grant(me, grant_id)
    except HivegovError as exc:
        return await _grants(request, str(exc), exc.http_status)
    return RedirectResponse(GRANTS_PATH, status_code=303)
