"""What every MCP handler shares: the service, the caller's identity and the one error mapping.

`call` resolves the acting agent and runs one service operation; a domain error becomes a
`ToolError` whose text (message and hint) the model reads. Handlers of resources and prompts
map the same errors to JSON-RPC errors with `protocol_error`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from mcp import MCPError
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS

from hivegov_mcp.domain.errors import HivegovError, NotAuthenticated
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.service import GovernanceService

T = TypeVar("T")

# Filled by `call` with the acting agent's id, read by the request log of the server.
request_agent: ContextVar[list[str] | None] = ContextVar("hivegov_request_agent", default=None)


@dataclass
class AppState:
    """The lifespan state: the service, and the token a stdio process acts with (None over
    HTTP, where each request brings its own)."""

    service: GovernanceService
    token: str | None


async def acting_agent(state: AppState) -> Agent:
    """The agent of this request: over HTTP from its bearer token (checked again here, so a
    token deactivated or rotated a moment ago is refused), else the process's HIVEGOV_TOKEN."""
    bearer = get_access_token()
    if bearer is not None:  # an OAuth token's resource is this endpoint's (the SDK checked it)
        agent = await state.service.authenticate(bearer.token, resource=bearer.resource)
    elif state.token is None:
        raise NotAuthenticated(
            "this server was started without HIVEGOV_TOKEN",
            "An operator registers an agent with `hivegov-mcp agent add ID --role …` and starts this server "
            "with the printed token in HIVEGOV_TOKEN.",
        )
    else:
        try:
            agent = await state.service.authenticate(state.token)
        except NotAuthenticated as exc:
            hint = f"{exc.database} {exc.hint}".strip()  # a local process: name its database
            raise NotAuthenticated(f"{exc.reason} (the token in HIVEGOV_TOKEN of this server)", hint) from None
    holder = request_agent.get()
    if holder is not None:
        holder.append(agent.id)
    return agent


async def run_op(state: AppState, op: Callable[[GovernanceService, Agent], Awaitable[T]]) -> T:
    return await op(state.service, await acting_agent(state))


async def call(ctx: Context[AppState], op: Callable[[GovernanceService, Agent], Awaitable[T]]) -> T:
    """Resolve the acting agent, run one service operation, and turn domain errors into ToolErrors."""
    try:
        return await run_op(ctx.request_context.lifespan_context, op)
    except HivegovError as exc:
        raise ToolError(str(exc)) from exc


def protocol_error(exc: HivegovError) -> MCPError:
    """A domain error as a JSON-RPC error (for prompts, completions): the caller's mistake is
    "invalid params", the server's trouble an internal error (the error class says which)."""
    code = INVALID_PARAMS if exc.caller_fault else INTERNAL_ERROR
    return MCPError(code=code, message=str(exc), data={"code": exc.code})
