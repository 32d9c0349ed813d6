"""`python -m hivegov_mcp.bench [--calls N]`: time tool calls over real stdio MCP.

One server process, one database file in a temporary folder; the cheapest tool (whoami: one
token lookup) is timed next to reads and writes (each write is a BEGIN IMMEDIATE transaction
with its audit append, fsynced with synchronous=FULL).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from hivegov_mcp.agents import LOCAL_ADMIN
from hivegov_mcp.app import open_service
from hivegov_mcp.demo import server_params
from hivegov_mcp.settings import settings_from

PROPOSAL = {
    "title": "Benchmark proposal",
    "type": "process",
    "abstract": "A proposal created by the benchmark.",
    "motivation": "Measure the cost of a write.",
    "specification": "Nothing changes; this measures the write path.",
}


async def _token(db: Path, config: Path) -> str:
    async with open_service(settings_from(str(db), str(config))) as svc:
        reg = await svc.register_agent(LOCAL_ADMIN, "bench", ["proposer", "discussant", "voter"])
        return reg.token


async def _time(client: Client, tool: str, args: Callable[[int], dict[str, Any]], calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        start = time.perf_counter()
        result = await client.call_tool(tool, args(i))
        samples.append((time.perf_counter() - start) * 1000)
        if result.is_error:
            raise SystemExit(f"{tool} failed: {result.content}")
    return samples


CASES: list[tuple[str, str, Callable[[int], dict[str, Any]]]] = [
    ("whoami (trivial: one token lookup)", "whoami", lambda i: {}),
    ("get_proposal (read)", "get_proposal", lambda i: {"proposal_id": "BIP-001"}),
    ("search_proposals (FTS5 read)", "search_proposals", lambda i: {"query": "benchmark write"}),
    ("create_proposal (write + audit)", "create_proposal", lambda i: {**PROPOSAL, "title": f"B {i}"}),
    ("add_comment (write + audit)", "add_comment", lambda i: {"proposal_id": "BIP-001", "content": f"comment {i}"}),
]


async def one_run(calls: int, warmup: int) -> dict[str, list[float]]:
    """A fresh database and server process; sorted samples (ms) per case."""
    with tempfile.TemporaryDirectory(prefix="hivegov-bench-") as tmp:
        db = Path(tmp) / "bench.db"
        config = Path(tmp) / "bench.toml"
        config.write_text(
            "[governance]\nmax_comments_per_agent = 1000000\nwrites_per_agent_per_minute = 1000000\n",
            encoding="utf-8",
        )
        token = await _token(db, config)
        samples: dict[str, list[float]] = {}
        async with Client(server_params(db, str(config), token)) as client:
            await client.call_tool("create_proposal", PROPOSAL)
            await client.call_tool("start_discussion", {"proposal_id": "BIP-001", "duration_minutes": 1440})
            for label, tool, args in CASES:
                await _time(client, tool, args, warmup)
                samples[label] = sorted(await _time(client, tool, args, calls))
        return samples


async def run(calls: int, warmup: int, runs: int) -> None:
    print(f"hivegov-mcp bench: {runs} run(s), each a fresh server process over stdio and a fresh database;")
    print(f"{calls} sequential calls per tool per run after {warmup} warm-up calls (python {sys.version.split()[0]})")
    results = [await one_run(calls, warmup) for _ in range(runs)]
    print(f"{'tool':<38} {'median ms':>10} {'p95 ms':>8}   median range over runs")
    for label, _, _ in CASES:
        medians = [statistics.median(r[label]) for r in results]
        p95s = [r[label][int(0.95 * (len(r[label]) - 1))] for r in results]
        spread = f"{min(medians):.2f}-{max(medians):.2f}"
        print(f"{label:<38} {statistics.median(medians):>10.2f} {statistics.median(p95s):>8.2f}   {spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    anyio.run(run, args.calls, args.warmup, args.runs)


if __name__ == "__main__":
    main()
