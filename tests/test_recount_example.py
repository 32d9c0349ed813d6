"""examples/recount.py: anyone with a token (or a saved log) recounts every closed vote from the
audit log alone, with the standard library and a counting rule of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL
from tests.council_helpers import agent
from tests.http_helpers import serve

pytestmark = pytest.mark.anyio

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "recount.py"
WHY = "I weighed the specification against the motivation and it holds up."


async def _two_votes(service: GovernanceService) -> tuple[str, str]:
    for name, roles in (("alice", ["proposer"]), ("carol", ["mediator", "voter"]), ("bob", ["voter"])):
        await service.register_agent(LOCAL_ADMIN, name, roles)
    alice, carol, bob = [await agent(service, n) for n in ("alice", "carol", "bob")]
    pids = []
    for decisions in (("approve", "approve"), ("approve", "reject")):
        pid = (await service.create_proposal(alice, **PROPOSAL)).id
        await service.start_discussion(alice, pid)
        await service.conclude_discussion(carol, pid, "approved-for-voting", "Ready.")
        await service.cast_vote(carol, pid, decisions[0], WHY)
        await service.cast_vote(bob, pid, decisions[1], WHY)
        pids.append(pid)
    return pids[0], pids[1]


async def _recount(*args: str) -> tuple[int, str]:
    done = await anyio.run_process([sys.executable, str(SCRIPT), *args], check=False)
    return done.returncode, done.stdout.decode()


async def test_every_closed_vote_recounts_from_the_log_over_rest_and_a_miscount_in_a_saved_log_is_named(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    async with serve(db_path, clock=clock) as served:
        first, second = await _two_votes(served.service)
        token = (await served.service.register_agent(LOCAL_ADMIN, "reader", ["discussant"])).token
        code, out = await _recount("--url", served.base, "--token", token)
        events = (await served.service.get_audit_log(LOCAL_ADMIN, limit=500)).events

    assert code == 0, out
    assert f"{first} (#" in out and "approved, 2-0-0, recounted ok" in out
    assert f"{second} (#" in out and "rejected, 1-1-0, recounted ok" in out  # 1/2 is under the 2/3 threshold
    assert out.rstrip().endswith("2 closed vote(s) recounted from " + f"{len(events)} events: all agree")

    saved = [json.loads(e.model_dump_json()) for e in events]
    closing = next(e for e in saved if e["subject"] == second and "ballots" in e["payload"])
    closing["payload"]["to"] = "approved"  # a log that claims the split vote passed
    closing["payload"]["reason"] = None
    (tmp_path / "events.json").write_text(json.dumps(saved))
    code, out = await _recount("--file", str(tmp_path / "events.json"))

    assert code == 1
    assert f"{second} (#{closing['seq']}): MISCOUNTED" in out and "1 MISCOUNTED" in out
