"""The MCP front door: tools, resources and prompts, thin over the service."""

from __future__ import annotations

from hivegov_mcp.mcp.server import ServerOptions, build_server, serve_stdio

__all__ = ["ServerOptions", "build_server", "serve_stdio"]
