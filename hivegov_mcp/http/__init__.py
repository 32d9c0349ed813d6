"""The HTTP front door: MCP over Streamable HTTP and SSE, the REST API, its events (DESIGN §12)."""
