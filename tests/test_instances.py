"""Several instances, one governance (DESIGN §17): two `hivegov-mcp serve --transport
streamable-http` processes on one PostgreSQL database, agents spread across them, a whole cycle
over REST and MCP; an event written through one instance reaches the other's event stream; a
close race between the instances has one winner."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL
from tests.http_helpers import bearer, mcp_client
from tests.mcp_helpers import ok

pytestmark = pytest.mark.anyio

API = "/api/governance"
WHY = "I weighed the specification against the motivation and it holds up."


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _instance(url: str, key: Path, port: int) -> Iterator[str]:
    """One `serve` process; its base URL once it answers /healthz."""
    env = {**os.environ, "HIVEGOV_SIGNING_KEY": str(key), "HIVEGOV_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "hivegov_mcp", "--db", url, "serve", "--transport", "streamable-http"]
    process = subprocess.Popen([*command, "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once the service is open, before uvicorn binds
        assert "serving" in line, line + process.stderr.read()
        drain = threading.Thread(target=process.stderr.read, daemon=True)  # a full pipe would stall it
        drain.start()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


@asynccontextmanager
async def _client(base: str) -> AsyncIterator[httpx2.AsyncClient]:
    # Retried connections cover the moment between the process's "serving" line and uvicorn's bind.
    transport = httpx2.AsyncHTTPTransport(retries=20)
    async with httpx2.AsyncClient(base_url=base, timeout=30, transport=transport) as http:
        assert (await http.get("/healthz")).status_code == 200
        yield http


async def _events(http: httpx2.AsyncClient, token: str, after: int, count: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    headers = {**bearer(token), "Last-Event-ID": str(after)}
    async with http.stream("GET", f"{API}/events", headers=headers) as response:
        event: dict[str, Any] = {}
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event["event"] = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                event["data"] = json.loads(line.split(":", 1)[1])
            elif not line and event:
                seen.append(event)
                event = {}
                if len(seen) == count:
                    return seen
    return seen


async def test_two_instances_on_one_database_serve_one_governance(pg_url: str, tmp_path: Path) -> None:
    key = tmp_path / "shared.ed25519"  # every instance signs with the operator's one key
    async with open_service(Settings(db=pg_url, signing_key=key)) as svc:
        tokens = {name: (await svc.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}
    with _instance(pg_url, key, _port()) as one, _instance(pg_url, key, _port()) as two:
        async with _client(one) as a, _client(two) as b:
            created = await a.post(f"{API}/proposals", json=PROPOSAL, headers=bearer(tokens["alice"]))
            pid = created.json()["id"]
            head = created.json()["receipt"]["seq"]
            seen_on_two: list[dict[str, Any]] = []

            async def watch() -> None:  # instance two's stream, from the proposal on
                seen_on_two.extend(await _events(b, tokens["dave"], head, 2))

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(watch)
                    await anyio.wait_all_tasks_blocked()
                    assert (
                        await a.post(f"{API}/discussions/{pid}", headers=bearer(tokens["alice"]))
                    ).status_code == 200
                    comment = await b.post(
                        f"{API}/discussions/{pid}/comments",
                        json={"content": "Who writes the entries?", "type": "comment"},
                        headers=bearer(tokens["bob"]),
                    )
                    assert comment.status_code == 201, comment.text
            concluded = await a.post(
                f"{API}/discussions/{pid}/conclude",
                json={"resolution": "approved-for-voting", "reason": "Ready."},
                headers=bearer(tokens["carol"]),
            )
            assert concluded.status_code == 200, concluded.text
            async with mcp_client(two, tokens["dave"]) as dave:  # MCP on instance two, REST on one
                await ok(dave, "cast_vote", proposal_id=pid, decision="approve", justification=WHY)
            vote = {"decision": "approve", "justification": WHY}
            assert (await a.post(f"{API}/votes/{pid}", json=vote, headers=bearer(tokens["bob"]))).status_code == 200

            async def close(http: httpx2.AsyncClient, out: list[int]) -> None:
                answer = await http.post(
                    f"{API}/votes/{pid}/close", json={"reason": "Time is up."}, headers=bearer(tokens["carol"])
                )
                out.append(answer.status_code)

            statuses: list[int] = []
            async with anyio.create_task_group() as tg:
                tg.start_soon(close, a, statuses)
                tg.start_soon(close, b, statuses)
            results = (await b.get(f"{API}/votes/{pid}", headers=bearer(tokens["erin"]))).json()
            verified = (await a.get(f"{API}/audit/verify", headers=bearer(tokens["erin"]))).json()
            checkpoints = [
                (await http.get(f"{API}/audit/checkpoint", headers=bearer(tokens["erin"]))).json() for http in (a, b)
            ]

    assert [e["event"] for e in seen_on_two] == ["start_discussion", "add_comment"]  # written through one, and two
    assert sorted(statuses) == [200, 409]  # one winner of the close race
    assert results["result"] == "approved" and sorted(results["voted"]) == ["bob", "dave"]
    assert verified["ok"] is True
    assert checkpoints[0]["note"] == checkpoints[1]["note"]  # one log, one key, one checkpoint
