"""examples/recount.py: anyone with a token (or a saved log) recounts every closed vote from the
audit log alone, with the standard library and counting rules of its own: majority, approval,
score, Schulze and instant-runoff (on Wikipedia's worked examples), with delegated weight."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
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


# --- every method, and delegation, from a saved log ----------------------------------------------

# Wikipedia, "Schulze method", section "Example": 45 voters in 8 groups, candidates A-E; E wins.
SCHULZE_GROUPS = [(5, "ACBED"), (5, "ADECB"), (8, "BEDAC"), (3, "CABED"), (7, "CAEBD"), (2, "CBADE"), (7, "DCEBA")]
SCHULZE_GROUPS += [(8, "EBADC")]
# Wikipedia, "Instant-runoff voting", the Tennessee capital example; Knoxville wins in round 3.
# Knoxville's 17 are two agents: 10 who vote and 7 who delegate to them and do not.
TENNESSEE_GROUPS = [(42, "MNCK"), (26, "NCKM"), (15, "CKNM"), (10, "KCNM")]


async def _vote_on_options(
    service: GovernanceService,
    method: str,
    labels: list[str],
    ballots: dict[str, dict[str, object]],
    clock: FakeClock,
) -> str:
    """A proposal of a type decided by `method` (quorum 1/20: every voter of the test is eligible
    for every vote), voted on by `ballots` (agent -> cast_vote's ballot field), closed at its deadline."""
    await service.set_rules(
        LOCAL_ADMIN, parse_config(f'[governance.types.process]\nmethod = "{method}"\nquorum = "1/20"\n'), source=method
    )
    alice, carol = await agent(service, "alice"), await agent(service, "carol")
    pid = (await service.create_proposal(alice, **PROPOSAL, options=labels)).id
    await service.start_discussion(alice, pid)
    await service.conclude_discussion(carol, pid, "approved-for-voting", "Ready.")
    for name, ballot in ballots.items():
        await service.cast_vote(await agent(service, name), pid, justification=WHY, **ballot)  # type: ignore[arg-type]
    clock.advance(minutes=10_000)
    await service.apply_due_deadlines()
    return pid


async def test_each_method_and_a_delegated_vote_recount_from_a_saved_log_and_each_miscount_is_named(
    service: GovernanceService, clock: FakeClock, tmp_path: Path
) -> None:
    await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])
    await service.register_agent(LOCAL_ADMIN, "carol", ["mediator"])
    voters = {f"s{n}": (count, ranking) for n, (count, ranking) in enumerate(SCHULZE_GROUPS)}
    voters |= {f"t{n}": (count, ranking) for n, (count, ranking) in enumerate(TENNESSEE_GROUPS)}
    for name, (count, _) in [*voters.items(), ("k7", (7, ""))]:
        await service.register_agent(LOCAL_ADMIN, name, ["voter"], weight=count)
    await service.delegate_vote(await agent(service, "k7"), "t3")  # Knoxville's other 7

    def ranking(prefix: str, letters: str) -> dict[str, dict[str, object]]:
        return {
            name: {"ranking": [letters.index(c) + 1 for c in order]}
            for name, (_, order) in voters.items()
            if name.startswith(prefix)
        }

    schulze = await _vote_on_options(service, "ranked", list("ABCDE"), ranking("s", "ABCDE"), clock)
    runoff = await _vote_on_options(service, "ranked_irv", list("MNCK"), ranking("t", "MNCK"), clock)
    approval = await _vote_on_options(
        service, "approval", ["x", "y", "z"], {"s0": {"approvals": [1, 2]}, "s2": {"approvals": [2]}}, clock
    )
    score = await _vote_on_options(
        service, "score", ["x", "y"], {"s0": {"scores": {1: 5, 2: 1}}, "s2": {"scores": {1: 0, 2: 4}}}, clock
    )
    assert (await service.verify_audit()).ok  # the server's own recount agrees
    events = [json.loads(e.model_dump_json()) for e in (await service.get_audit_log(LOCAL_ADMIN, limit=500)).events]
    (tmp_path / "events.json").write_text(json.dumps(events))
    code, out = await _recount("--file", str(tmp_path / "events.json"))

    assert code == 0, out
    for line in (
        f"{schulze}: approved, ranked, option 5 won, recounted ok",  # E
        f"{runoff}: approved, ranked_irv, option 4 won, recounted ok",  # Knoxville, with k7's weight
        f"{approval}: approved, approval, option 2 won, recounted ok",  # 13 approve y, 5 x
        f"{score}: approved, score, option 2 won, recounted ok",  # means 25/13 and 37/13
    ):
        pid, rest = line.split(": ", 1)
        assert any(row.startswith(f"{pid} (#") and row.endswith(rest) for row in out.splitlines()), (line, out)
    closing = {e["subject"]: e for e in events if "ballots" in e["payload"]}
    assert closing[runoff]["payload"]["carried"] == {"t3": {"weight": 17, "delegated_by": ["k7"]}}

    edits: list[tuple[str, tuple[str, ...], object]] = [
        (schulze, ("result", "winner"), 1),  # A, not E
        (runoff, ("carried",), {}),  # k7's weight not carried
        (runoff, ("delegations",), {}),  # k7's delegation not followed
        (approval, ("result", "totals", "2"), 99),
        (score, ("consensus",), "1"),
    ]
    for pid, path, value in edits:
        tampered = json.loads(json.dumps(events))
        event = next(e for e in tampered if e["subject"] == pid and "ballots" in e["payload"])
        inner = event["payload"]
        for key in path[:-1]:
            inner = inner[key]
        inner[path[-1]] = value
        (tmp_path / "tampered.json").write_text(json.dumps(tampered))
        code, out = await _recount("--file", str(tmp_path / "tampered.json"))
        assert code == 1 and f"{pid} (#{event['seq']}): MISCOUNTED" in out and "1 MISCOUNTED" in out, out
