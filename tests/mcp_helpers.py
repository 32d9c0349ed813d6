"""Helpers for tests that go through a real MCP client."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from mcp import Client, StdioServerParameters
from mcp.types import TextContent

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import Clock
from hivegov_mcp.domain.config import GovernanceConfig
from hivegov_mcp.mcp import ServerOptions, build_server
from hivegov_mcp.settings import Settings

Mode = Literal["auto", "legacy"]


@asynccontextmanager
async def connect(
    db_path: Path | str,
    token: str | None,
    *,
    clock: Clock,
    config: GovernanceConfig | None = None,
    mode: Mode = "auto",
) -> AsyncIterator[Client]:
    """An in-memory MCP client on a fresh server acting as the agent with `token` (no ticker)."""
    async with open_service(Settings(db=db_path, rules=config, clock=clock)) as service:
        server = build_server(service, ServerOptions(token=token, tick_seconds=0))
        async with Client(server, mode=mode, raise_exceptions=True) as client:
            yield client


async def ok(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured content."""
    result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result.content)
    assert result.structured_content is not None
    content: dict[str, Any] = result.structured_content
    return content


async def refused(client: Client, tool: str, **args: Any) -> str:
    """Call a tool that must fail; return the error text the model reads."""
    result = await client.call_tool(tool, args)
    assert result.is_error, result.structured_content
    return text_of(result.content)


def text_of(content: list[Any]) -> str:
    return "\n".join(c.text for c in content if isinstance(c, TextContent))


def stdio_params(
    db_path: Path, token: str | None, *extra: str, env: dict[str, str] | None = None
) -> StdioServerParameters:
    environment = {"HIVEGOV_LOG_LEVEL": "WARNING", **(env or {})}
    if token is not None:
        environment["HIVEGOV_TOKEN"] = token
    if "PYTHONPATH" in os.environ:
        environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return StdioServerParameters(
        command=sys.executable, args=["-m", "hivegov_mcp", "--db", str(db_path), *extra, "serve"], env=environment
    )
