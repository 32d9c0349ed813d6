"""A real uvicorn serving the HTTP app on a free loopback port, inside the test's event loop,
and clients for it (the SDK's MCP `Client` over Streamable HTTP or SSE, plain httpx2)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import uvicorn
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import Clock
from hivegov_mcp.http.app import HttpOptions, build_http_app
from hivegov_mcp.http.serve import guarded_config
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings


@dataclass
class Served:
    base: str
    service: GovernanceService


@asynccontextmanager
async def serve(db_path: Path, *, clock: Clock, feed_seconds: float = 0.02, **guard: Any) -> AsyncIterator[Served]:
    """The app on a socket bound before uvicorn starts, so clients can connect at once, behind
    `serve`'s connection guard (`guard`: its head deadline and bounds, see `guarded_config`)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        app = build_http_app(service, HttpOptions(port=port, tick_seconds=0, feed_seconds=feed_seconds))
        server = uvicorn.Server(guarded_config(app, **guard))
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock]))
            try:
                yield Served(base=f"http://127.0.0.1:{port}", service=service)
            finally:
                server.should_exit = True
    sock.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def mcp_client(
    base: str, token: str, *, transport: str = "streamable-http", mode: Any = "auto"
) -> AsyncIterator[Client]:
    if transport == "sse":
        async with Client(sse_client(f"{base}/sse", headers=bearer(token)), mode=mode) as client:
            yield client
        return
    async with (
        httpx2.AsyncClient(headers=bearer(token), timeout=30) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client
