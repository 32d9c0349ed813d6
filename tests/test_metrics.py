"""get_governance_metrics (DESIGN §15) against values computed by hand for a scripted history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hivegov_mcp.cli import main
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.metrics import Event, compute
from hivegov_mcp.domain.record_models import GovernanceMetrics
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast

JUSTIFICATION = "I weighed the specification against the motivation and it holds up."


def _criteria(metrics: GovernanceMetrics) -> dict[str, tuple[float | None, int, int, bool | None]]:
    return {c.name: (c.value, c.numerator, c.denominator, c.met) for c in metrics.criteria}


@pytest.mark.anyio
async def test_the_metrics_of_a_scripted_history_are_the_ones_computed_by_hand(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    start = clock.now()
    reporter = await service.authenticate((await service.register_agent(LOCAL_ADMIN, "rep", ["reporter"])).token)
    executor = await service.authenticate((await service.register_agent(LOCAL_ADMIN, "ex", ["executor"])).token)
    # P1: discussed 10 min, voted 10 min (bob and carol approve, dave doesn't vote), approved.
    p1 = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], p1)
    await service.add_comment(cast["bob"], p1, "Useful.", type="support")
    objection = await service.add_comment(cast["dave"], p1, "Say who writes the entries.", type="objection")
    await service.resolve_comment(cast["dave"], objection.id, "The author clarified it.")
    clock.advance(minutes=10)
    await service.conclude_discussion(cast["carol"], p1, "approved-for-voting", "Ready.")
    await service.cast_vote(cast["bob"], p1, "approve", JUSTIFICATION)
    await service.cast_vote(cast["carol"], p1, "approve", JUSTIFICATION)
    clock.advance(minutes=10)
    await service.close_voting(cast["carol"], p1, "Two of three is enough.")
    # P2: discussed 5 min, blocked (never reaches voting). P3: withdrawn as a draft.
    p2 = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], p2)
    clock.advance(minutes=5)
    await service.conclude_discussion(cast["carol"], p2, "blocked", "Out of scope.")
    p3 = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.withdraw_proposal(cast["alice"], p3, "Merged into BIP-001.")
    before_execution = await service.get_governance_metrics(reporter, start, clock.now() + timedelta(seconds=1))

    clock.advance(minutes=61)  # P1's appeal window (60 min from its close) has passed
    await service.claim_execution(executor, p1)
    clock.advance(minutes=10)
    await service.report_execution(executor, p1, "succeeded", "Done.")
    after = await service.get_governance_metrics(reporter, start, clock.now() + timedelta(seconds=1))
    as_voter = await service.get_governance_metrics(cast["bob"], start, clock.now() + timedelta(seconds=1))

    assert _criteria(before_execution) == {
        "participation": (2 / 3, 2, 3, False),  # 2 ballots of 3 eligible; target 80 %
        "quality": (1 / 2, 1, 2, False),  # P1 of P1, P2 reached voting; target 90 %
        "consensus": (1.0, 1, 1, True),  # P1: approve 2 / decided 2
        "implementation": (0.0, 0, 1, False),  # P1 approved, not executed yet
    }
    assert _criteria(after)["implementation"] == (1.0, 1, 1, True)
    phases = {p.status.value: (p.median_minutes, p.p90_minutes, p.stays) for p in after.phases}
    assert phases == {
        "draft": (0.0, 0.0, 3),  # P1 and P2 started at once; P3 withdrawn at once
        "discussion": (7.5, 10.0, 2),  # 10 and 5 minutes
        "voting": (10.0, 10.0, 1),
        "approved": (66.0, 66.0, 1),  # closed at +20 min, claimed at +86 min
        "executing": (10.0, 10.0, 1),
    }
    agents = {a.agent_id: a for a in after.agents}
    assert (agents["alice"].proposals, agents["alice"].comments) == (3, 0)
    assert (agents["dave"].objections_raised, agents["dave"].objections_resolved, agents["dave"].votes) == (1, 1, 0)
    assert (agents["bob"].votes, agents["bob"].matched_outcome) == (1, 1.0)
    assert as_voter.agents == []  # per-agent figures are for reporters


OPTIONS = ["Keep a Changelog format", "Conventional commits", "Free text"]
ON_OPTIONS = parse_config(
    '[governance.types.process]\nmethod = "ranked"\n[governance.types.standards]\nmethod = "approval"\n'
    '[governance.types.informational]\nmethod = "consent"\n'
)


@pytest.mark.anyio
@pytest.mark.parametrize("config", [ON_OPTIONS])
async def test_votes_on_options_count_their_closing_consensus_and_a_ballot_matches_when_its_first_choice_won(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    start = clock.now()

    async def voted(kind: str, ballots: dict[str, dict[str, Any]]) -> str:
        pid = (await service.create_proposal(cast["alice"], **{**PROPOSAL, "type": kind}, options=OPTIONS)).id
        await service.start_discussion(cast["alice"], pid)
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
        for voter, ballot in ballots.items():
            await service.cast_vote(cast[voter], pid, justification=JUSTIFICATION, **ballot)
        return pid

    # ranked: 1 wins (Schulze); bob and dave ranked it first, carol ranked 2 first
    ranked = await voted(
        "process", {"bob": {"ranking": [1, 2, 3]}, "carol": {"ranking": [2, 1, 3]}, "dave": {"ranking": [1, 3]}}
    )
    # approval: 2 wins, approved by all three (dave's ballot approves 2 and 3)
    approval = await voted(
        "standards", {"bob": {"approvals": [1, 2]}, "carol": {"approvals": [2]}, "dave": {"approvals": [2, 3]}}
    )
    # consent: approved without a vote (it reached its decision; no ballots, no consensus figure)
    consent = (await service.create_proposal(cast["alice"], **{**PROPOSAL, "type": "informational"})).id
    await service.start_discussion(cast["alice"], consent)
    await service.conclude_discussion(cast["carol"], consent, "approved-for-voting", "No objection.")
    closed = [await service.get_voting_results(cast["bob"], pid) for pid in (ranked, approval)]
    metrics = await service.get_governance_metrics(LOCAL_ADMIN, start, clock.now() + timedelta(seconds=1))

    assert [r.consensus for r in closed] == [pytest.approx(2 / 3), 1.0]  # as each closing event records it
    assert _criteria(metrics) == {
        "participation": (1.0, 6, 6, True),  # 3 ballots of 3 eligible, twice
        "quality": (1.0, 3, 3, True),  # both votes and the consent decision
        "consensus": (pytest.approx(5 / 6), 2, 2, True),  # the mean of 2/3 and 1; consent holds no vote
        "implementation": (0.0, 0, 3, False),
    }
    matched = {a.agent_id: (a.votes, a.matched_outcome) for a in metrics.agents if a.votes}
    assert matched == {"bob": (2, 1.0), "carol": (2, 0.5), "dave": (2, 1.0)}


def test_a_ballot_on_options_with_no_first_choice_counts_neither_way() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    close = Event(
        seq=1,
        at=at,
        actor="@engine",
        action="voting_deadline",
        subject="BIP-001",
        payload={
            "to": "approved",
            "method": "score",
            "consensus": "4/5",
            "result": {"winner": 2},
            "ballots": {
                "ann": {"scores": {"1": 0, "2": 0}},  # no first choice
                "ben": {"scores": {"1": 3, "2": 3}},  # 1 and 2 tie first: 2 won
                "cy": {"scores": {"1": 4, "2": 1}},
            },
        },
    )
    agents = compute([close], at, at + timedelta(seconds=1)).agents

    # ann's ballot counts neither way (she has no figures from it); cy put 1 first, and 2 won
    assert {a: (f.decisive_votes, f.matched_outcome) for a, f in agents.items()} == {"ben": (1, 1), "cy": (1, 0)}


def test_the_report_command_prints_the_metrics_as_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "gov.db"
    assert main(["--db", str(db), "agent", "add", "alice", "--role", "proposer"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "report", "--since", "2026-01-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Governance report")
    assert "| participation | n/a | 80% | n/a | 0 / 0 |" in out
    assert "| alice | 0 |" not in out  # alice has done nothing but be registered (an @cli event)
    with pytest.raises(SystemExit):  # argparse refuses it, naming the value
        main(["--db", str(db), "report", "--since", "yesterday"])
    assert "'yesterday' is not an ISO 8601 date" in capsys.readouterr().err
