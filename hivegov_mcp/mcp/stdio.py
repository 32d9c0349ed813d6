"""Stdio with a screen in front of the SDK's reader.

The SDK parses each line with pydantic's JSON parser, which refuses a lone UTF-16 surrogate
escape (`"\\ud800"`) or deep nesting; it then drops the line, and the client waits for an
answer that never comes. The screen re-reads such a line with Python's parser: a request
holding a lone surrogate gets a JSON-RPC invalid-params error naming where it is, any other
valid JSON goes on to the server, and a line that is not JSON gets a parse error.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.stdio import stdio_server
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from hivegov_mcp.mcp.arguments import surrogate_problem


def _refusal(request_id: Any, code: int, message: str) -> SessionMessage:
    valid_id = request_id if isinstance(request_id, int | str) and not isinstance(request_id, bool) else None
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=valid_id, error=ErrorData(code=code, message=message)))


def rescue(exc: Exception) -> SessionMessage | None:
    """What to do with a line the SDK could not parse: a message to pass on or to answer with."""
    if not isinstance(exc, ValidationError):
        return None
    line = next((e.get("input") for e in exc.errors() if e["type"] == "json_invalid"), None)
    if not isinstance(line, str):  # JSON, but not one JSON-RPC message (a batch, a bare value)
        return _refusal(None, INVALID_REQUEST, "Invalid Request: send one JSON-RPC message per line (no batches).")
    try:
        value = json.loads(line)
    except RecursionError:
        return _refusal(None, INVALID_REQUEST, "Invalid Request: the message is nested too deeply.")
    except ValueError:
        return _refusal(None, PARSE_ERROR, "Parse error: the line is not valid JSON.")
    if not isinstance(value, dict):
        return _refusal(None, INVALID_REQUEST, "Invalid Request: send one JSON-RPC message per line (no batches).")
    request_id = value.get("id")
    if surrogate_problem(request_id) is not None:
        request_id = None
    problem = surrogate_problem(value)
    if problem is not None:
        return _refusal(request_id, INVALID_PARAMS, problem) if "id" in value else None
    try:
        return SessionMessage(jsonrpc_message_adapter.validate_python(value, by_name=False))
    except (ValidationError, RecursionError):
        return _refusal(request_id, INVALID_REQUEST, "Invalid Request: not a JSON-RPC message, or nested too deeply.")


async def _screen(
    incoming: ReadStream[SessionMessage | Exception],
    onward: MemoryObjectSendStream[SessionMessage | Exception],
    outgoing: WriteStream[SessionMessage],
) -> None:
    async with onward:
        async for item in incoming:
            if not isinstance(item, Exception):
                await onward.send(item)
                continue
            try:
                rescued = rescue(item)
            except Exception:  # the screen itself must never take the server down
                rescued = _refusal(None, INVALID_REQUEST, "Invalid Request: the line could not be read.")
            if rescued is None:
                await onward.send(item)
            elif isinstance(rescued.message, JSONRPCError):
                await outgoing.send(rescued)
            else:
                await onward.send(rescued)


async def run_screened_stdio(serve: Any) -> None:
    """Run `serve(read_stream, write_stream)` on stdio with the screen in between."""
    async with stdio_server() as (read_stream, write_stream):
        onward, screened = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_screen, read_stream, onward, write_stream)
            await serve(screened, write_stream)
            tg.cancel_scope.cancel()
