"""The server as one member sees it: its toolset (Streamable HTTP with its token, or a stdio
server of its own), a discussion read whole, and whether a failure is its token being refused."""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlsplit

import httpx2
from fastmcp.client.transports import StdioTransport
from pydantic_ai.exceptions import ModelRetry
from pydantic_ai.mcp import MCPToolset

from hivegov_mcp.council.config import Council, Member
from hivegov_mcp.council.wake import TokenRefused
from hivegov_mcp.settings import ENV_TOKEN

DISCUSSION_PAGES = 20  # of 100 comments, read for one item


def toolset_for(council: Council, member: Member, hook: Any = None) -> MCPToolset[Any]:
    """The server's tools as `member`: over Streamable HTTP with its token, or a `hivegov-mcp serve`
    of its own on stdio with the token in its environment."""
    if council.server is not None:
        return MCPToolset(
            council.server,
            headers={"Authorization": f"Bearer {member.token}"},
            process_tool_call=hook,
            max_retries=3,
        )
    assert council.db is not None
    env = {ENV_TOKEN: member.token, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    command = [sys.executable, "-m", "hivegov_mcp", "--db", str(council.db), "serve"]
    return MCPToolset(StdioTransport(command[0], command[1:], env=env), process_tool_call=hook, max_retries=3)


async def read_discussion(toolset: MCPToolset[Any], pid: str) -> dict[str, Any]:
    """The discussion with every comment (a page of 100 at a time, oldest first, at most
    DISCUSSION_PAGES pages): the prompt shows the newest, the citation check knows them all."""
    first: dict[str, Any] = await toolset.direct_call_tool("get_discussion", {"proposal_id": pid, "limit": 100})
    comments = list(first.get("comments", []))
    after = first.get("next_after_id")
    for _ in range(DISCUSSION_PAGES - 1):
        if after is None:
            break
        page = await toolset.direct_call_tool("get_discussion", {"proposal_id": pid, "limit": 100, "after_id": after})
        comments.extend(page.get("comments", []))
        after = page.get("next_after_id")
    return {**first, "comments": comments, "next_after_id": after}


def refused_token(exc: BaseException) -> bool:
    """Whether the failure is the server refusing the token (over stdio, the server's own words)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        e = pending.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, TokenRefused):
            return True
        if isinstance(e, httpx2.HTTPStatusError) and e.response.status_code == 401:
            return True
        if isinstance(e, ModelRetry) and "No valid identity" in e.message:
            return True
        if isinstance(e, BaseExceptionGroup):
            pending.extend(e.exceptions)
        pending.extend(x for x in (e.__cause__, e.__context__) if x is not None)
    return False


async def token_refusal(council: Council, member: Member) -> str | None:
    """Over HTTP, ask the REST door who the token is: the reason it is refused, or None. (The MCP
    client reports a 401 as a generic error, so a lost server and a refused token look alike.)"""
    if council.server is None:
        return None
    parts = urlsplit(council.server)
    url = f"{parts.scheme}://{parts.netloc}/api/governance/agents/me"
    try:
        async with httpx2.AsyncClient(timeout=10.0) as http:
            answer = await http.get(url, headers={"Authorization": f"Bearer {member.token}"})
    except httpx2.HTTPError:
        return None  # the server is away: not a verdict on the token
    if answer.status_code != 401:
        return None
    try:
        message = str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = "HTTP 401"
    return f"the server refused the token of {member.agent!r}: {message}"
