"""Lines a client sends over real stdio that the SDK's parser refuses still get an answer."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.text import TextReceiveStream

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings

pytestmark = pytest.mark.anyio

HELLO = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]


def _call(request_id: int, tool: str, arguments: dict[str, Any]) -> str:
    message = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    return json.dumps(message)  # ensure_ascii: a lone surrogate goes out as the escape "\ud800"


async def _exchange(
    db_path: Path, token: str, lines: list[str], expect: set[int | None], *, anonymous: int = 0
) -> tuple[dict[int | None, Any], list[Any]]:
    """Send raw lines to `hivegov-mcp serve`; collect the responses with the expected ids and
    `anonymous` responses whose id is null."""
    env = {**os.environ, "HIVEGOV_TOKEN": token, "HIVEGOV_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "hivegov_mcp", "--db", str(db_path), "serve"]
    answers: dict[int | None, Any] = {}
    nameless: list[Any] = []
    with anyio.fail_after(60):
        async with await anyio.open_process(command, env=env) as process:
            assert process.stdin is not None and process.stdout is not None
            await process.stdin.send("".join(f"{line}\n" for line in lines).encode())
            buffer = ""
            async for chunk in TextReceiveStream(process.stdout):
                buffer += chunk
                *complete, buffer = buffer.split("\n")
                for line in complete:
                    message = json.loads(line)
                    if message.get("id") is None:
                        nameless.append(message)
                    else:
                        answers[message["id"]] = message
                if expect <= set(answers) and len(nameless) >= anonymous:
                    break
            await process.stdin.aclose()
    return answers, nameless


async def test_a_lone_surrogate_or_a_broken_line_is_answered_and_the_server_goes_on(db_path: Path) -> None:
    async with open_service(Settings(db=db_path, clock=FakeClock())) as service:
        token = (await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])).token
    deep: Any = "bottom"
    for _ in range(400):
        deep = [deep]
    very_deep = "[" * 1_000 + '"bottom"' + "]" * 1_000
    lines = [
        *(json.dumps(m) for m in HELLO),
        _call(100, "create_proposal", {"title": "hi \ud800 there"}),
        _call(101, "list_proposals", {"status": ["nested", deep]}),
        "this line is not JSON",
        json.dumps({"jsonrpc": "2.0", "id": "a\udfff", "method": "ping"}),  # a surrogate in the id itself
        _call(103, "whoami", {"x": "DEEP"}).replace('"DEEP"', very_deep),  # deeper than Python's parser likes
        json.dumps([json.loads(_call(104, "whoami", {}))]),  # a batch
        _call(102, "whoami", {}),
    ]

    answers, nameless = await _exchange(db_path, token, lines, {100, 101, 102}, anonymous=4)

    surrogate = answers[100]["error"]
    assert surrogate["code"] == -32602
    assert surrogate["message"].startswith("Invalid argument params.arguments.title: it contains a lone UTF-16")
    assert answers[101]["result"]["isError"] is True  # too deep for the SDK's parser, refused by the tool
    assert "status" in answers[101]["result"]["content"][0]["text"]
    # the broken line, the bad id, the message too deep to read its id, the batch: each answered
    assert sorted(m["error"]["code"] for m in nameless) == [-32700, -32602, -32600, -32600]
    assert {"code": -32600, "message": "Invalid Request: the message is nested too deeply."} in [
        m["error"] for m in nameless
    ]
    assert answers[102]["result"]["structuredContent"]["id"] == "alice"
