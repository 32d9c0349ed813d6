"""The throughput table of `make bench`: durable votes per second under concurrency.

`python -m devtools.bench_throughput [--seconds S]`: N voters (1, 8, 64) in one process
each cast votes back to back on one open vote through the service (every vote a write
with its audit append, fsynced before it is acknowledged); then 4 processes × 16 voters on
one database. Each row prints votes per second and the latency of one vote (p50, p99, max) as
its voter saw it, on SQLite and, side by side, on PostgreSQL (a throwaway cluster with its
durable defaults, or HIVEGOV_BENCH_PG_URL's server; `--no-postgres` or HIVEGOV_BENCH_PG=0
leaves it out).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import anyio
import psycopg

from devtools import pgcluster
from hivegov_mcp.app import open_service
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.postgres import is_postgres_url

RULES = parse_config(
    "[governance]\nwrites_per_agent_per_minute = 100000000\nearly_close = false\nvoting_minutes = 1440\n"
)
JUSTIFICATION = "The benchmark votes to measure the cost of a vote."
PROPOSAL = {
    "title": "Throughput",
    "type": "process",
    "abstract": "A vote for the throughput benchmark.",
    "motivation": "Measure durable votes per second.",
    "specification": "Nothing changes.",
}


async def prepare(db: Path | str, voters: int) -> tuple[str, list[str]]:
    """`voters` agents, one proposal in voting on which they are all eligible: its id and their tokens."""
    async with open_service(Settings(db=db, rules=RULES)) as svc:
        tokens = []
        for n in range(voters):
            reg = await svc.register_agent(LOCAL_ADMIN, f"voter-{n:03}", ["proposer", "voter", "mediator"])
            tokens.append(reg.token)
        lead = await svc.authenticate(tokens[0])
        proposal = await svc.create_proposal(lead, **PROPOSAL)
        await svc.start_discussion(lead, proposal.id)
        await svc.conclude_discussion(lead, proposal.id, "approved-for-voting", "Benchmark.")
        return proposal.id, tokens


async def vote_for(db: Path | str, proposal_id: str, tokens: list[str], seconds: float) -> list[float]:
    """Every voter votes back to back for `seconds`; each vote's latency in ms."""
    latencies: list[float] = []
    async with open_service(Settings(db=db, rules=RULES)) as svc:
        agents = [await svc.authenticate(t) for t in tokens]
        stop = time.perf_counter() + seconds

        async def voter(index: int) -> None:
            agent = agents[index]
            n = 0
            while time.perf_counter() < stop:
                started = time.perf_counter()
                await svc.cast_vote(agent, proposal_id, ("approve", "reject")[n % 2], JUSTIFICATION)
                latencies.append((time.perf_counter() - started) * 1000)
                n += 1

        async with anyio.create_task_group() as tg:
            for index in range(len(agents)):
                tg.start_soon(voter, index)
    return latencies


def _cells(latencies: list[float], seconds: float) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    rate = len(ordered) / seconds
    return f" {rate:>9.0f} {statistics.median(ordered):>8.2f} {p99:>8.2f} {ordered[-1]:>8.2f}"


@asynccontextmanager
async def sqlite_db() -> AsyncIterator[Path | str]:
    with tempfile.TemporaryDirectory(prefix="hivegov-bench-") as tmp:
        yield Path(tmp) / "votes.db"


def postgres_dbs(server: str) -> Callable[[], AbstractAsyncContextManager[Path | str]]:
    @asynccontextmanager
    async def fresh() -> AsyncIterator[Path | str]:
        name = f"votes_{time.time_ns()}"
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        try:
            yield server.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with psycopg.connect(server, autocommit=True) as con:
                con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return fresh


async def table(fresh: Callable[[], AbstractAsyncContextManager[Path | str]], seconds: float) -> list[str]:
    """The rows of one store: 1, 8 and 64 voters in one process, then 4 processes × 16."""
    cells = []
    for voters in (1, 8, 64):
        async with fresh() as db:
            proposal_id, tokens = await prepare(db, voters)
            cells.append(_cells(await vote_for(db, proposal_id, tokens, seconds), seconds))
    processes, each = 4, 16
    async with fresh() as db:
        proposal_id, tokens = await prepare(db, processes * each)
        with tempfile.TemporaryDirectory(prefix="hivegov-bench-") as tmp:
            children = []
            for p in range(processes):
                job = Path(tmp) / f"job-{p}.json"
                job.write_text(json.dumps({"tokens": tokens[p * each : (p + 1) * each]}), encoding="utf-8")
                command = [sys.executable, "-m", "devtools.bench_throughput", "--child", str(db), proposal_id]
                children.append(await anyio.open_process([*command, str(job), "--seconds", str(seconds)]))
            latencies = []
            for child, p in zip(children, range(processes), strict=True):
                await child.wait()
                if child.returncode != 0:
                    raise SystemExit(f"a voting process failed (exit {child.returncode})")
                latencies.extend(json.loads((Path(tmp) / f"job-{p}.out.json").read_text(encoding="utf-8")))
                await child.aclose()
        cells.append(_cells(latencies, seconds))
    return cells


async def run(seconds: float, with_postgres: bool) -> None:
    labels = ["1 in one process", "8 in one process", "64 in one process", "4 processes × 16"]
    stores = {"SQLite": await table(sqlite_db, seconds)}
    if with_postgres:
        given = os.environ.get("HIVEGOV_BENCH_PG_URL")
        cluster = None if given else await anyio.to_thread.run_sync(lambda: pgcluster.start(durable=True))
        try:
            stores["PostgreSQL"] = await table(postgres_dbs(given or (cluster.url if cluster else "")), seconds)
        finally:
            if cluster is not None:
                await anyio.to_thread.run_sync(cluster.stop)
    print(f"\nthroughput: durable votes through the service, {seconds:g} s per row ({os.cpu_count()} cores)")
    head = "".join(f" {name + ' votes/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}" for name in stores)
    print(f"  {'voters':<26}{head}")
    for i, label in enumerate(labels):
        print(f"  {label:<26}" + "".join(cells[i] for cells in stores.values()))


async def child(db: Path | str, proposal_id: str, job: Path, seconds: float) -> None:
    tokens = json.loads(await anyio.Path(job).read_text(encoding="utf-8"))["tokens"]
    latencies = await vote_for(db, proposal_id, tokens, seconds)
    await anyio.Path(job.with_name(job.stem + ".out.json")).write_text(json.dumps(latencies), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only (also when HIVEGOV_BENCH_PG=0)")
    parser.add_argument("--child", nargs=3, metavar=("DB", "PROPOSAL", "JOB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        db, proposal_id, job = args.child
        anyio.run(child, db if is_postgres_url(db) else Path(db), proposal_id, Path(job), args.seconds)
    else:
        anyio.run(run, args.seconds, not args.no_postgres and os.environ.get("HIVEGOV_BENCH_PG") != "0")


if __name__ == "__main__":
    main()
