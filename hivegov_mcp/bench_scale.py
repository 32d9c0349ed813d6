"""The scale table of `make bench`: service calls on a large database, built once into a cache.

`python -m hivegov_mcp.bench_scale [--scale F]`: F = 1 is 100,000 proposals, 1,000,000
comments and 1,000,000 votes (the issue's size); the default 0.1 is a tenth of that. The
database is built by the store's bulk loader into `.bench-cache/` (or $HIVEGOV_BENCH_CACHE)
and reused by later runs; writes measured here add a few hundred rows to it.
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
from pathlib import Path

import anyio

from hivegov_mcp.agents import LOCAL_ADMIN
from hivegov_mcp.app import open_service
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.bulk import FORMAT, Scale, load

RULES = parse_config(
    "[governance]\nwrites_per_agent_per_minute = 1000000\nmax_comments_per_agent = 1000000\nearly_close = false\n"
)
JUSTIFICATION = "The benchmark votes to measure the cost of a vote."


def cache_dir() -> Path:
    return Path(os.environ.get("HIVEGOV_BENCH_CACHE") or Path.cwd() / ".bench-cache")


async def build(scale: Scale) -> Path:
    """The cached database for `scale`, built on first use (a temporary name until complete)."""
    folder = cache_dir()
    await anyio.Path(folder).mkdir(parents=True, exist_ok=True)
    path = folder / f"scale-v{FORMAT}-{scale.proposals}-{scale.comments}-{scale.votes}.db"
    if await anyio.Path(path).exists():
        return path
    partial = Path(tempfile.mkdtemp(dir=folder)) / "building.db"
    async with open_service(Settings(db=partial, rules=RULES)):
        pass  # migrations and rules version 1
    started = time.perf_counter()
    await anyio.to_thread.run_sync(load, partial, scale)
    print(f"built {path.name} in {time.perf_counter() - started:.0f} s")
    await anyio.Path(partial).rename(path)
    for leftover in (partial.with_name(partial.name + "-wal"), partial.with_name(partial.name + "-shm")):
        if await anyio.Path(leftover).exists():
            await anyio.Path(leftover).unlink()
    await anyio.Path(partial.parent).rmdir()
    return path


async def _times(op: Callable[[int], Awaitable[object]], calls: int) -> list[float]:
    samples = []
    for i in range(calls):
        start = time.perf_counter()
        await op(i)
        samples.append((time.perf_counter() - start) * 1000)
    return sorted(samples)


def _row(label: str, samples: list[float]) -> str:
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    return f"  {label:<44} {statistics.median(samples):>9.2f} {p99:>8.2f}"


async def measure(path: Path, scale: Scale, calls: int) -> None:
    rng = random.Random(7)
    async with open_service(Settings(db=path)) as svc:
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
        size = (await anyio.Path(path).stat()).st_size / 2**30
        print(f"\nscale: {scale.proposals:,} proposals, {scale.comments:,} comments, {scale.votes:,} votes")
        print(f"({size:.2f} GiB); service calls, {calls} each")
        print(f"  {'operation':<44} {'median ms':>9} {'p99 ms':>8}")
        for label, op in cases:
            await op(0)  # warm
            print(_row(label, await _times(op, calls)), flush=True)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        check = await svc.verify_audit(me)
        elapsed = time.perf_counter() - started
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        shown = f"{check.events:,} events in {elapsed:.1f} s (ok={check.ok})"
        print(f"  verify_audit: {shown}; peak memory grew {grown:.0f} MiB")


async def run(factor: float, calls: int) -> None:
    scale = Scale(
        proposals=max(100, int(100_000 * factor)),
        comments=max(1000, int(1_000_000 * factor)),
        votes=max(1000, int(1_000_000 * factor)),
    )
    await measure(await build(scale), scale, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=0.1, help="1 = 100k proposals, 1M comments, 1M votes")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    anyio.run(run, args.scale, args.calls)


if __name__ == "__main__":
    main()
