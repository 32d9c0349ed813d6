"""`python -m devtools.bench [--calls N] [--runs N]`: time tool calls through the real MCP client.

For each transport (a `hivegov-mcp serve` process over stdio, one over Streamable HTTP on a
loopback port, and the in-memory client of the SDK), each run builds a fresh database, then
times sequential calls of each tool after a warm-up; the cheapest tool (whoami) is the
yardstick the others are divided by. Writes are group-committed transactions with their
audit append, fsynced (synchronous=FULL) before they are acknowledged. Then the time from
starting `serve` to the answer of `initialize`, and the server's resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from anyio.streams.text import TextReceiveStream
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hivegov_mcp.app import open_service
from hivegov_mcp.demo import server_params
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.settings import settings_from

RULES = (
    "[governance]\nmax_comments_per_agent = 1000000\nwrites_per_agent_per_minute = 1000000\n"
    "early_close = false\nvoting_minutes = 1440\ndiscussion_minutes = 1440\n"
)
PROPOSAL = {
    "title": "Benchmark proposal",
    "type": "process",
    "abstract": "A proposal created by the benchmark.",
    "motivation": "Measure the cost of a write.",
    "specification": "Nothing changes; this measures the write path.",
}
JUSTIFICATION = "The benchmark votes to measure the cost of a vote."
Args = Callable[[int], dict[str, Any]]
CASES: list[tuple[str, str, Args]] = [
    ("whoami (the yardstick)", "whoami", lambda i: {}),
    ("get_proposal", "get_proposal", lambda i: {"proposal_id": "BIP-001"}),
    ("list_proposals", "list_proposals", lambda i: {}),
    ("search_proposals", "search_proposals", lambda i: {"query": "benchmark write"}),
    ("get_discussion (20 comments)", "get_discussion", lambda i: {"proposal_id": "BIP-001", "limit": 20}),
    ("create_proposal", "create_proposal", lambda i: {**PROPOSAL, "title": f"B {i}"}),
    ("add_comment", "add_comment", lambda i: {"proposal_id": "BIP-001", "content": f"comment {i}"}),
    (
        "cast_vote",
        "cast_vote",
        lambda i: {"proposal_id": "BIP-002", "decision": ("approve", "reject")[i % 2], "justification": JUSTIFICATION},
    ),
]
WRITES = {"create_proposal", "add_comment", "cast_vote"}


async def prepare(db: Path, rules: Path) -> str:
    """An agent, BIP-001 in discussion with 20 comments, BIP-002 in voting; the agent's token."""
    async with open_service(settings_from(str(db), str(rules))) as svc:
        reg = await svc.register_agent(LOCAL_ADMIN, "bench", ["proposer", "discussant", "voter", "mediator"])
        agent = await svc.authenticate(reg.token)
        first = await svc.create_proposal(agent, **PROPOSAL)
        await svc.start_discussion(agent, first.id)
        for n in range(20):
            await svc.add_comment(agent, first.id, f"Opening comment {n}.")
        second = await svc.create_proposal(agent, **PROPOSAL)
        await svc.start_discussion(agent, second.id)
        await svc.conclude_discussion(agent, second.id, "approved-for-voting", "Benchmark.")
        return reg.token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def http_client(db: Path, rules: Path, token: str) -> AsyncIterator[Client]:
    """A `serve --transport streamable-http` process, and the SDK client over HTTP with the token."""
    port = free_port()
    command = [sys.executable, "-m", "hivegov_mcp", "--db", str(db), "--config", str(rules), "serve"]
    command += ["--transport", "streamable-http", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    async with await anyio.open_process(command, env={**os.environ, "HIVEGOV_LOG_LEVEL": "WARNING"}) as process:
        try:
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                with anyio.fail_after(30):
                    while True:
                        try:
                            if (await http.get(f"{base}/healthz")).status_code == 200:
                                break
                        except httpx2.TransportError:
                            await anyio.sleep(0.05)  # the bench waits for its server; tests never sleep
                async with Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
                    yield client
        finally:
            process.terminate()
            await process.wait()


@asynccontextmanager
async def client_for(transport: str, db: Path, rules: Path, token: str) -> AsyncIterator[Client]:
    if transport == "stdio":
        async with Client(server_params(db, str(rules), token)) as client:
            yield client
        return
    if transport == "http":
        async with http_client(db, rules, token) as client:
            yield client
        return
    from hivegov_mcp.mcp import ServerOptions, build_server

    async with (
        open_service(settings_from(str(db), str(rules))) as svc,
        Client(build_server(svc, ServerOptions(token=token, tick_seconds=0))) as client,
    ):
        yield client


async def _time(client: Client, tool: str, args: Args, calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        start = time.perf_counter()
        result = await client.call_tool(tool, args(i))
        samples.append((time.perf_counter() - start) * 1000)
        if result.is_error:
            raise SystemExit(f"{tool} failed: {result.content}")
    return sorted(samples)


async def one_run(transport: str, calls: int, warmup: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="hivegov-bench-") as tmp:
        db, rules = Path(tmp) / "bench.db", Path(tmp) / "bench.toml"
        rules.write_text(RULES, encoding="utf-8")
        token = await prepare(db, rules)
        samples: dict[str, list[float]] = {}
        async with client_for(transport, db, rules, token) as client:
            for label, tool, args in CASES:
                await _time(client, tool, args, warmup)
                samples[label] = await _time(client, tool, args, calls)
        return samples


def _p(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


# The floor: the SDK itself, a bare MCPServer with one tool on stdio (issue 21 states our startup as a ratio to it).
BARE_SERVER = """
from mcp.server import MCPServer
server = MCPServer("bare")
@server.tool()
def echo(text: str) -> str:
    \"\"\"Say it back.\"\"\"
    return text
server.run()
"""


async def startup(db: Path, rules: Path, token: str, *, bare: bool = False) -> tuple[float, float]:
    """Seconds from starting `serve` (or, `bare`, the SDK's one-tool server) to the answer of
    `initialize`, and its resident MiB then."""
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
    }
    command = (
        [sys.executable, "-c", BARE_SERVER]
        if bare
        else [sys.executable, "-m", "hivegov_mcp", "--db", str(db), "--config", str(rules), "serve"]
    )
    env = {**os.environ, "HIVEGOV_TOKEN": token, "HIVEGOV_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    async with await anyio.open_process(command, env=env) as process:
        assert process.stdin is not None and process.stdout is not None
        await process.stdin.send((json.dumps(hello) + "\n").encode())
        async for chunk in TextReceiveStream(process.stdout):
            if '"id":1' in chunk:
                break
        elapsed = time.perf_counter() - started
        status = await anyio.Path(f"/proc/{process.pid}/status").read_text()
        rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        await process.stdin.aclose()
    return elapsed, rss_kib / 1024


LISTED = {"a voter": ["voter"], "an admin": ["admin"], "every role": [r.value for r in Role]}


async def tool_lists() -> None:
    """How many tools, and how many bytes of JSON, tools/list hands each kind of agent."""
    with tempfile.TemporaryDirectory(prefix="hivegov-bench-") as tmp:
        async with open_service(settings_from(str(Path(tmp) / "tools.db"), None)) as svc:
            from hivegov_mcp.mcp import ServerOptions, build_server

            print("\ntools/list per agent (in memory):")
            for who, roles in LISTED.items():
                token = (await svc.register_agent(LOCAL_ADMIN, who.split()[-1], roles)).token
                async with Client(build_server(svc, ServerOptions(token=token, tick_seconds=0))) as client:
                    tools = (await client.list_tools()).tools
                dumped = json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools])
                print(f"  {who:<12} {len(tools):>3} tools, {len(dumped) / 1000:.0f} KB")


async def run(calls: int, warmup: int, runs: int) -> None:
    print(f"hivegov-mcp bench: python {sys.version.split()[0]}, {os.cpu_count()} cores; {runs} run(s) per transport,")
    print(f"each on a fresh database: {calls} sequential calls per tool after {warmup} warm-up calls")
    for transport in ("stdio", "http", "memory"):
        results = [await one_run(transport, calls, warmup) for _ in range(runs)]
        base = statistics.median(statistics.median(r[CASES[0][0]]) for r in results)
        print(f"\n{transport}: {'tool':<30} {'median ms':>9} {'p99 ms':>7} {'× whoami':>8}   medians over runs")
        for label, _, _ in CASES:
            medians = [statistics.median(r[label]) for r in results]
            median = statistics.median(medians)
            p99 = statistics.median(_p(r[label], 0.99) for r in results)
            spread = f"{min(medians):.2f}-{max(medians):.2f}"
            print(f"{'':<7}{label:<30} {median:>9.2f} {p99:>7.2f} {median / base:>8.2f}   {spread}")
    with tempfile.TemporaryDirectory(prefix="hivegov-bench-") as tmp:
        db, rules = Path(tmp) / "bench.db", Path(tmp) / "bench.toml"
        rules.write_text(RULES, encoding="utf-8")
        token = await prepare(db, rules)
        starts = [await startup(db, rules, token) for _ in range(3)]
        floors = [await startup(db, rules, token, bare=True) for _ in range(3)]
    seconds = statistics.median(s for s, _ in starts)
    rss = statistics.median(m for _, m in starts)
    bare_s = statistics.median(s for s, _ in floors)
    bare_rss = statistics.median(m for _, m in floors)
    print(
        f"\nstartup: `serve` to the answer of initialize, median of 3: {seconds:.2f} s; "
        f"resident memory then {rss:.0f} MiB"
    )
    print(
        f"         the SDK's bare one-tool server on stdio: {bare_s:.2f} s, {bare_rss:.0f} MiB "
        f"(ours: {seconds / bare_s:.2f}x the time, {rss / bare_rss:.2f}x the memory)"
    )
    await tool_lists()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    anyio.run(run, args.calls, args.warmup, args.runs)


if __name__ == "__main__":
    main()
