"""The proof table of `make bench`: `get_audit_proof` at the service on a log of 2M events
(DESIGN §16: proof generation p99 ≤ 5 ms at 2M events).

The log is built once by the bulk loader's chain (events, hashes and Merkle tree as the store
writes them) into `.bench-cache/` (or $HIVEGOV_BENCH_CACHE), then each call proves a random
event against the signed checkpoint, with and without a consistency proof from a random older
size; each proof is checked before it counts.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import time
from pathlib import Path

import anyio

from devtools.bench_scale import cached
from devtools.bulk import FORMAT, Chain
from hivegov_mcp.app import open_service
from hivegov_mcp.domain import merkle
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings

BATCH = 50_000


def _fill(path: Path, events: int) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    chain = Chain(con)
    at = "2026-01-01T00:00:00.000000+00:00"
    while chain.seq < events:
        con.execute("BEGIN")
        for _ in range(min(BATCH, events - chain.seq)):
            chain.add(at, "bench_event", "bench", {"n": chain.seq + 1})
        chain.flush(con)
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


async def build(events: int) -> Path:
    return await cached(f"proofs-v{FORMAT}-{events}.db", lambda path: _fill(path, events))


def _row(label: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"  {label:<52} {statistics.median(ms):>9.2f} {p99:>8.2f}"


async def bench(events: int, calls: int) -> None:
    path = await build(events)
    rng = random.Random(10)
    async with open_service(Settings(db=path)) as svc:
        async with svc.store.read() as tx:
            signed_before = await tx.checkpoint() is not None
        started = time.perf_counter()
        checkpoint = await svc.latest_checkpoint()
        signing = time.perf_counter() - started
        root = bytes.fromhex(checkpoint.root)
        plain, with_consistency = [], []
        for _ in range(calls):
            seq = rng.randint(1, checkpoint.size)
            started = time.perf_counter()
            proof = await svc.get_audit_proof(LOCAL_ADMIN, seq)
            plain.append(time.perf_counter() - started)
            path_ = [bytes.fromhex(h) for h in proof.inclusion]
            assert merkle.verify_inclusion(seq - 1, proof.tree_size, bytes.fromhex(proof.leaf_hash), path_, root)
            since = rng.randint(1, checkpoint.size)
            started = time.perf_counter()
            proof = await svc.get_audit_proof(LOCAL_ADMIN, seq, since_size=since)
            with_consistency.append(time.perf_counter() - started)
            assert proof.consistency is not None and len(proof.consistency.proof) <= 2 * checkpoint.size.bit_length()
    print(f"\naudit proofs: a log of {checkpoint.size:,} events; service calls, {calls} each")
    if signed_before:
        print(f"  the latest checkpoint, signed on an earlier run, read: {signing * 1000:.1f} ms")
    else:  # the first signing hashes the whole log once, to check the stored tree against it
        print(f"  the first checkpoint signed (every event hashed once): {signing:.1f} s")
    print(f"  {'operation':<52} {'median ms':>9} {'p99 ms':>8}")
    print(_row("get_audit_proof(seq), a random event", plain))
    print(_row("get_audit_proof(seq, since_size), + consistency", with_consistency))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2_000_000, help="the log's size (default 2,000,000)")
    parser.add_argument("--calls", type=int, default=1_000, help="proofs timed per row")
    args = parser.parse_args()
    anyio.run(bench, args.events, args.calls)


if __name__ == "__main__":
    main()
