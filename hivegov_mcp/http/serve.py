"""`hivegov-mcp serve --transport streamable-http|sse`: the HTTP app under uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from hivegov_mcp.app import open_service
from hivegov_mcp.http.app import HttpOptions, build_http_app, public_base, transport_security
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.postgres import redacted

__all__ = ["HttpOptions", "serve_http"]

MAX_CONNECTIONS = 1_000  # open connections and tasks at once; past it uvicorn answers 503


async def serve_http(settings: Settings, options: HttpOptions, transport: str = "streamable-http") -> None:
    transport_security(options)  # a non-loopback bind without --allowed-host is refused before anything opens
    async with open_service(settings) as service:
        app = build_http_app(service, options)
        base = public_base(options)
        endpoint = f"{base}/sse" if transport == "sse" else f"{base}/mcp"
        print(
            f"hivegov-mcp: serving {redacted(str(settings.db))} over HTTP: MCP at {endpoint}, "
            f"REST at {base}/api/governance/ "
            f"(docs {base}/api/docs); each request needs Authorization: Bearer <agent token>",
            file=sys.stderr,
            flush=True,
        )
        config = uvicorn.Config(
            app,
            host=options.host,
            port=options.port,
            log_level="warning",
            lifespan="on",
            limit_concurrency=MAX_CONNECTIONS,
        )
        await uvicorn.Server(config).serve()
