"""The scale table of `make bench`: service calls on a large database, built once into a cache.

`python -m devtools.bench_scale [--scale F]`: F = 1 is 100,000 proposals, 1,000,000
comments and 1,000,000 votes (the issue's size); the default 0.1 is a tenth of that. The
database is built by the store's bulk loader into `.bench-cache/` (or $HIVEGOV_BENCH_CACHE)
and reused by later runs; writes measured here add a few hundred rows to it. The same calls
then run on PostgreSQL, on a copy of that database (`migrate`'s copy) in a throwaway cluster
with PostgreSQL's durable defaults (or on HIVEGOV_BENCH_PG_URL's server), printed side by side;
`--no-postgres` or HIVEGOV_BENCH_PG=0 leaves it out.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import psycopg

from devtools import pgcluster
from devtools.bulk import FORMAT, Scale, load
from hivegov_mcp.app import open_service
from hivegov_mcp.domain.config import GovernanceConfig, parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.copy import copy_governance

RULES = parse_config(
    "[governance]\nwrites_per_agent_per_minute = 1000000\nmax_comments_per_agent = 1000000\nearly_close = false\n"
)
JUSTIFICATION = "The benchmark votes to measure the cost of a vote."


def cache_dir() -> Path:
    return Path(os.environ.get("HIVEGOV_BENCH_CACHE") or Path.cwd() / ".bench-cache")


async def cached(name: str, fill: Callable[[Path], None], rules: GovernanceConfig | None = None) -> Path:
    """The cache's database `name`, built on first use: migrated (rules stored, if given), then
    filled by `fill` on a thread, under a temporary name until complete."""
    folder = cache_dir()
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    path = folder / name
    if await anyio.Path(path).exists():
        return path
    partial = Path(tempfile.mkdtemp(dir=folder)) / "building.db"
    async with open_service(Settings(db=partial, rules=rules)):
        pass  # migrations (and rules version 1)
    started = time.perf_counter()
    await anyio.to_thread.run_sync(fill, partial)
    print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    await anyio.Path(partial).rename(path)
    for leftover in (partial.with_name(partial.name + "-wal"), partial.with_name(partial.name + "-shm")):
        if await anyio.Path(leftover).exists():
            await anyio.Path(leftover).unlink()
    await anyio.Path(partial.parent).rmdir()
    return path


async def build(scale: Scale) -> Path:
    """The cached database for `scale`."""
    name = f"scale-v{FORMAT}-{scale.proposals}-{scale.comments}-{scale.votes}.db"
    return await cached(name, lambda path: load(path, scale), RULES)


async def _times(op: Callable[[int], Awaitable[object]], calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        start = time.perf_counter()
        await op(i)
        samples.append((time.perf_counter() - start) * 1000)
    return sorted(samples)


@dataclass
class Measured:
    rows: list[tuple[str, list[float]]]
    verify: str


async def measure(db: Path | str, scale: Scale, calls: int, key: Path) -> Measured:
    rng = random.Random(7)
    async with open_service(Settings(db=db, signing_key=key)) as svc:
        reg = await svc.register_agent(LOCAL_ADMIN, f"bench-{time.time_ns()}", ["proposer", "discussant", "voter"])
        me = await svc.authenticate(reg.token)
        ids = [f"BIP-{rng.randint(1, scale.proposals):03d}" for _ in range(calls)]
        mine = await svc.create_proposal(
            me, title="Bench", type="process", abstract="a", motivation="m", specification="s"
        )
        page = await svc.list_proposals(me, limit=100)
        deep = page.next_cursor
        version = [mine.version]
        many_words = " ".join(f"term{n}" for n in range(16))

        async def create(i: int) -> object:
            return await svc.create_proposal(
                me, title=f"B{i}", type="process", abstract="a", motivation="m", specification="s"
            )

        async def revise(i: int) -> object:
            done = await svc.revise_proposal(
                me, mine.id, expected_version=version[0], change_note="n", abstract=f"a{time.time_ns()}"
            )
            version[0] = done.version
            return done

        cases: list[tuple[str, Callable[[int], Awaitable[object]]]] = [
            ("get_proposal (random)", lambda i: svc.get_proposal(me, ids[i])),
            ("list_proposals, first page", lambda i: svc.list_proposals(me)),
            ("list_proposals, status=discussion", lambda i: svc.list_proposals(me, status="discussion")),
            ("list_proposals, author, past page 1", lambda i: svc.list_proposals(me, author="agent007", cursor=deep)),
            ("search_proposals, common word", lambda i: svc.search_proposals(me, "governance")),
            ("search_proposals, rare word", lambda i: svc.search_proposals(me, "term4321")),
            ("search_proposals, 16 words", lambda i: svc.search_proposals(me, many_words)),
            ("get_discussion BIP-001, 1,000 comments", lambda i: svc.get_discussion(me, "BIP-001", limit=500)),
            ("create_proposal", create),
            ("revise_proposal", revise),
        ]
        rows = []
        for label, op in cases:
            await op(0)  # warm
            rows.append((label, await _times(op, calls)))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        check = await svc.verify_audit(me)
        elapsed = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        verify = f"{check.events:,} events in {elapsed:.1f} s (ok={check.ok}); peak memory grew {grown:.0f} MiB"
    return Measured(rows, verify)


async def postgres_copy(path: Path) -> tuple[str, Callable[[], None]]:
    """The cached SQLite database copied into a fresh PostgreSQL database: HIVEGOV_BENCH_PG_URL's
    server, else a throwaway cluster with the server's durable defaults (fsync on)."""
    given = os.environ.get("HIVEGOV_BENCH_PG_URL")
    cluster = None if given else await anyio.to_thread.run_sync(lambda: pgcluster.start(durable=True))
    server = given or (cluster.url if cluster else "")
    name = f"bench_{time.time_ns()}"
    url = server.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name}")
        if cluster is not None:
            cluster.stop()

    try:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        async with open_service(Settings(db=url), check_rules=False, store_rules=False):
            pass  # migrations
        started = time.perf_counter()
        await anyio.to_thread.run_sync(copy_governance, path, url)
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("VACUUM ANALYZE")
        print(f"copied into PostgreSQL in {time.perf_counter() - started:.0f} s")
    except BaseException:
        await anyio.to_thread.run_sync(drop)
        raise
    return url, drop


async def run(factor: float, calls: int, with_postgres: bool) -> None:
    scale = Scale(
        proposals=max(100, int(100_000 * factor)),
        comments=max(1000, int(1_000_000 * factor)),
        votes=max(1000, int(1_000_000 * factor)),
    )
    path = await build(scale)
    key = path.with_name(path.name + ".ed25519")
    results = {"SQLite": await measure(path, scale, calls, key)}
    if with_postgres:
        url, drop = await postgres_copy(path)
        try:
            results["PostgreSQL"] = await measure(url, scale, calls, key)
        finally:
            await anyio.to_thread.run_sync(drop)
    size = (await anyio.Path(path).stat()).st_size / 2**30
    print(f"\nscale: {scale.proposals:,} proposals, {scale.comments:,} comments, {scale.votes:,} votes")
    print(f"(SQLite file {size:.2f} GiB); service calls, {calls} each; median and p99, ms")
    stores = list(results)
    print(f"  {'operation':<44}" + "".join(f" {s + ' median':>18} {'p99':>7}" for s in stores))
    for i, (label, _) in enumerate(results["SQLite"].rows):
        cells = ""
        for s in stores:
            samples = results[s].rows[i][1]
            p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
            cells += f" {statistics.median(samples):>18.2f} {p99:>7.2f}"
        print(f"  {label:<44}{cells}")
    for s in stores:
        print(f"  verify_audit on {s}: {results[s].verify}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=0.1, help="1 = 100k proposals, 1M comments, 1M votes")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only (also when HIVEGOV_BENCH_PG=0)")
    args = parser.parse_args()
    anyio.run(run, args.scale, args.calls, not args.no_postgres and os.environ.get("HIVEGOV_BENCH_PG") != "0")


if __name__ == "__main__":
    main()
