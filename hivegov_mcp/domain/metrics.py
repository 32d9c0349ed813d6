"""The seed's success criteria and the time in each phase (DESIGN §15), computed from the
audit log alone (so every process, and an outsider with the log, gets the same figures).

Pure: `compute(events, since, until)` over the events (any order of arrival; sorted by seq).
- participation: ballots counted / eligible voters, over the votes closed in the range;
- quality: of the proposals whose discussion started in the range, those that reached voting;
- consensus: the mean consensus of the votes closed in the range;
- implementation: of the proposals approved in the range, those executed;
- time in each status: every stay that ended in the range (median and p90, minutes);
- per agent: proposals, comments, objections raised and resolved, votes, how often its last
  ballot matched the outcome (abstentions don't count either way), and the model requests and
  tokens (input and output) it reported spending (`model_usage_reported`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from hivegov_mcp.domain.replay_registry import MODEL_USAGE  # an agent's report of the model usage it spent

TARGETS = {"participation": 0.80, "quality": 0.90, "consensus": 0.75, "implementation": 0.95}
CLOSING_ACTIONS = frozenset({"close_voting", "voting_deadline", "early_close"})


@dataclass(frozen=True)
class Event:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    payload: dict[str, Any]


@dataclass
class AgentFigures:
    proposals: int = 0
    comments: int = 0
    objections_raised: int = 0
    objections_resolved: int = 0
    votes: int = 0
    matched_outcome: int = 0
    decisive_votes: int = 0  # approve or reject ballots in closed votes (the base of the match rate)
    model_requests: int = 0  # reported in model_usage_reported events
    model_tokens: int = 0  # input and output tokens, reported likewise


@dataclass
class Metrics:
    since: datetime
    until: datetime
    criteria: dict[str, tuple[float | None, int, int]]  # name -> (value, numerator, denominator)
    phase_minutes: dict[str, tuple[float, float, int]]  # status -> (median, p90, stays)
    agents: dict[str, AgentFigures]


def _count(value: object) -> int:
    """A count as logged: a whole number 0 or more (anything else, which the server never writes, is 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def compute(events: Iterable[Event], since: datetime, until: datetime) -> Metrics:
    ordered = sorted(events, key=lambda e: e.seq)
    eligible_at_open: dict[str, int] = {}
    entered: dict[str, tuple[str, datetime]] = {}  # proposal -> (status, since when)
    stays: dict[str, list[float]] = defaultdict(list)
    started: set[str] = set()
    reached_voting: set[str] = set()
    approved: set[str] = set()
    executed: set[str] = set()
    ballots_counted = eligible_total = 0
    consensus: list[Fraction] = []
    agents: dict[str, AgentFigures] = defaultdict(AgentFigures)

    for e in ordered:
        inside = since <= e.at < until
        if e.action == "create_proposal":
            entered[e.subject] = ("draft", e.at)
        to = e.payload.get("to")
        if isinstance(to, str) and e.payload.get("from") != to:
            previous = entered.get(e.subject)
            if previous is not None and inside:
                stays[previous[0]].append((e.at - previous[1]).total_seconds() / 60)
            entered[e.subject] = (to, e.at)
            if inside and to == "discussion" and e.payload.get("from") in ("draft", "revision"):
                started.add(e.subject)
            if to == "voting":
                eligible_at_open[e.subject] = len(e.payload.get("eligible", {}))
                if e.subject in started:
                    reached_voting.add(e.subject)
            decided = e.action in CLOSING_ACTIONS or e.payload.get("method") == "consent"
            if inside and to == "approved" and decided:  # not a lapsed lease's return
                approved.add(e.subject)
            if to == "executed" and e.subject in approved:
                executed.add(e.subject)
        if not inside:
            continue
        figures = agents[e.actor] if not e.actor.startswith("@") else None
        if figures is not None:
            if e.action == "create_proposal":
                figures.proposals += 1
            elif e.action == "add_comment":
                figures.comments += 1
                figures.objections_raised += e.payload.get("type") == "objection"
            elif e.action == "resolve_comment" and e.payload.get("type") == "objection":
                figures.objections_resolved += 1
            elif e.action == "cast_vote":
                figures.votes += 1
            elif e.action == MODEL_USAGE:
                figures.model_requests += _count(e.payload.get("requests"))
                figures.model_tokens += _count(e.payload.get("input_tokens")) + _count(e.payload.get("output_tokens"))
        if e.action in CLOSING_ACTIONS and "ballots" in e.payload:
            ballots: dict[str, str] = e.payload["ballots"]
            ballots_counted += len(ballots)
            eligible_total += eligible_at_open.get(e.subject, len(ballots))
            consensus.append(Fraction(e.payload.get("consensus", "0")))
            outcome = e.payload.get("to")
            for agent_id, decision in ballots.items():
                if decision == "abstain":
                    continue
                agents[agent_id].decisive_votes += 1
                agents[agent_id].matched_outcome += (decision, outcome) in (
                    ("approve", "approved"),
                    ("reject", "rejected"),
                )

    def ratio(numerator: int, denominator: int) -> tuple[float | None, int, int]:
        return (numerator / denominator if denominator else None, numerator, denominator)

    mean_consensus = float(sum(consensus, Fraction(0)) / len(consensus)) if consensus else None
    return Metrics(
        since=since,
        until=until,
        criteria={
            "participation": ratio(ballots_counted, eligible_total),
            "quality": ratio(len(reached_voting), len(started)),
            "consensus": (mean_consensus, len(consensus), len(consensus)),
            "implementation": ratio(len(executed), len(approved)),
        },
        phase_minutes={
            status: (statistics.median(values), _p90(values), len(values)) for status, values in sorted(stays.items())
        },
        agents=dict(sorted(agents.items())),
    )
