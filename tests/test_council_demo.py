"""`hivegov-mcp demo --council` (issue 18), as a user runs it: the real command in a process of
its own (its server and its council in processes of theirs, scripted models on loopback), then
its database opened to check that every act of the cycle is in the audit log under the agent
who did it, and that the log verifies."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.tally import Decision
from hivegov_mcp.settings import Settings

pytestmark = pytest.mark.anyio

MEMBERS = ("gpt", "deepseek", "claude", "qwen")


def _index(lines: list[str], pattern: str) -> int:
    """The position of the first line matching `pattern` (a regular expression)."""
    for i, line in enumerate(lines):
        if re.search(pattern, line):
            return i
    raise AssertionError(f"no line matches {pattern!r} in:\n" + "\n".join(lines))


async def test_the_council_demo_runs_the_whole_cycle_to_approved_with_every_act_logged_under_its_agent(
    tmp_path: Path,
) -> None:
    db = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEGOV_")}
    with anyio.fail_after(180):
        done = await anyio.run_process(
            [sys.executable, "-m", "hivegov_mcp", "demo", "--council", "--db", str(db)],
            cwd=tmp_path,
            env=env,
            check=False,
        )
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    lines = out.splitlines()
    pid = re.search(r"alice +(\S+) create_proposal", out)
    assert pid is not None, out
    p = re.escape(pid[1])

    # the transcript: who did what, in the cycle's order
    objection = _index(lines, rf"^  gpt {p} add_comment\(type=objection, .*\): ok")
    revise = _index(lines, rf"^  alice +{p} revise_proposal")
    sent_back = _index(lines, rf"^  claude {p} conclude_discussion\(resolution=requires-revision, .*\): ok \(revision")
    resolved = _index(lines, rf"^  gpt {p} resolve_comment\(comment_id=\d+, .*\): ok")
    summary = _index(lines, rf"^  qwen {p} publish_summary\(text=.*\): ok")
    to_vote = _index(lines, rf"^  claude {p} conclude_discussion\(resolution=approved-for-voting, .*\): ok \(voting")
    votes = [line.split()[0] for line in lines if re.match(rf"^  \w+ {p} cast_vote\(decision=approve, .*\): ok", line)]
    first_vote = _index(lines, rf"^  \w+ {p} cast_vote\(")
    # the council's lines come through one pipe in the order they were said; alice's are printed by
    # the demo itself, so only their presence is checked against them
    assert objection < sent_back < resolved < to_vote < first_vote
    assert summary < to_vote
    assert revise > 0
    # every member's ballot is in the log (below), but the line of the ballot that closes the vote
    # may be cut off: the demo stops the council as soon as alice sees `approved` (see the report)
    assert len(votes) >= len(MEMBERS) - 1 and set(votes) <= set(MEMBERS) and len(set(votes)) == len(votes)
    assert lines[-1] == f"== {pid[1]}: approved; council exit 0; demo ok"
    assert "Traceback" not in out + err

    # the database the demo left: every act under its agent, and the chain intact
    async with open_service(Settings(db=db), check_rules=False, store_rules=False, create=False) as service:
        log = await service.get_audit_log(LOCAL_ADMIN, proposal_id=pid[1], limit=500)
        verified = await service.verify_audit()
        proposal = await service.get_proposal(LOCAL_ADMIN, pid[1])
        results = await service.get_voting_results(LOCAL_ADMIN, pid[1])
    acts = [(e.actor, e.action, e.payload) for e in log.events]

    def by(action: str) -> list[tuple[str, dict[str, object]]]:
        return [(actor, payload) for actor, act, payload in acts if act == action]

    assert [a for a, _ in by("create_proposal")] == ["alice"]
    assert [a for a, _ in by("revise_proposal")] == ["alice"]
    assert [a for a, _ in by("start_discussion")] == ["alice", "alice"]
    objections = [(a, pl) for a, pl in by("add_comment") if pl.get("type") == "objection"]
    assert [a for a, _ in objections] == ["gpt"]
    assert [a for a, _ in by("resolve_comment")] == ["gpt"]
    assert [(a, pl.get("resolution")) for a, pl in by("conclude_discussion")] == [
        ("claude", "requires-revision"),
        ("claude", "approved-for-voting"),
    ]
    # one summary per round qwen got to in time: the rounds' order races with claude's conclusions
    # (and a round-1 summary can land on round 2: see test_council_prompts' stale summary test)
    summaries = by("publish_summary")
    assert summaries and {a for a, _ in summaries} == {"qwen"}
    assert sorted(a for a, _ in by("cast_vote")) == sorted(MEMBERS)
    assert results.ballots is not None
    assert sorted((b.agent_id, b.decision) for b in results.ballots) == sorted((m, Decision.APPROVE) for m in MEMBERS)
    assert results.result is not None and results.result.value == "approved"
    assert {a for a, _, _ in acts} <= {"alice", *MEMBERS, "@engine"}
    assert proposal.status.value == "approved"
    assert verified.ok, verified
