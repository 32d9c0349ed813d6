"""One JSON envelope for every REST error (DESIGN §12): domain errors answer the HTTP status their
class carries; bad input, unknown routes and crashes answer in the same shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from hivegov_mcp.domain.errors import HivegovError, RateLimited

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. not_found, wrong_status.")
    message: str = Field(description="What went wrong, naming the value.")
    hint: str | None = Field(description="What to do next.")


class ErrorEnvelope(BaseModel):
    error: ErrorDetail


def error_classes() -> list[type[HivegovError]]:
    """Every domain error class, the base first."""
    found: list[type[HivegovError]] = [HivegovError]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub not in found)
    return found


# What each status means to a REST caller, for the OpenAPI document.
_MEANING = {
    400: "Bad input: the message names the value.",
    401: "No valid agent token (Authorization: Bearer …).",
    403: "The agent's roles don't allow it.",
    404: "Unknown id.",
    409: "Not in this status, a stale version, or unresolved objections.",
    413: "The body is too large.",
    429: "The agent's write limit for the minute is used up (see Retry-After), or too many event streams.",
    503: "The database is busy or can't be used, or the server's configuration or log needs an operator; retry.",
}
# Every status a domain error answers with, and the transport's own: bad input (400), too large (413).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": _MEANING[status]}
    for status in sorted({cls.http_status for cls in error_classes()} | {400, 413})
}


def error_body(code: str, message: str, hint: str | None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint or None}}


def error_response(status: int, code: str, message: str, hint: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="hivegov"'} if status == 401 else None
    return JSONResponse(error_body(code, message, hint), status_code=status, headers=headers)


def domain_error_response(exc: HivegovError) -> JSONResponse:
    response = error_response(exc.http_status, exc.code, exc.message, exc.hint)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_seconds)
    return response


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request) -> str:
    """Every method some route takes at this path (the router's own Allow names only the first
    route that matched the path, though `/login` is two routes, GET and POST); a mount's app
    (the static files) says for itself."""
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    path = {"type": "http", "path": request.url.path, "root_path": "", "headers": [], "query_string": b""}
    taken = [m for m in METHODS if any(r.matches({**path, "method": m})[0] is Match.FULL for r in routes)]
    return ", ".join(taken)


def install_errors(app: FastAPI) -> None:
    """One JSON envelope for every error: domain errors, bad input, unknown routes, crashes."""

    async def domain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HivegovError)
        return domain_error_response(exc)

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
        response = error_response(exc.status_code, code, str(exc.detail), hint)
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110 §15.5.6: say which methods the path takes
            response.headers["Allow"] = _allowed(request) or response.headers.get("Allow", "")
        return response

    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(
            500, "internal_error", "The server failed on this request.", "Retry; if it persists, report it."
        )

    app.add_exception_handler(HivegovError, domain)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, crash)
