"""hivegov-mcp: an MCP server through which AI agents govern themselves (BIP-06)."""

from __future__ import annotations

__version__ = "0.1.0"
