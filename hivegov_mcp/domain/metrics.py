"""The seed's success criteria and the time in each phase (DESIGN §15), computed from the
audit log alone (so every process, and an outsider with the log, gets the same figures).

Pure: `compute(events, since, until)` over the events (any order of arrival; sorted by seq).
- participation: ballots counted / eligible voters, over the votes closed in the range;
- quality: of the proposals whose discussion started in the range, those that reached voting
  (a consent type's: those that consent approved, its decision without a vote);
- consensus: the mean consensus of the votes closed in the range, each as its closing event
  records it (`"consensus"`, an exact fraction in [0, 1]), by the vote's method:
      majority     approve / (approve + reject), by weight (abstentions count in neither)
      approval     the winner's approving weight / voted weight
      score        the winner's weighted mean score / 5
      ranked       the least weight ranking the winner above another option / voted weight
      ranked_irv   the winner's weight in the last round / voted weight
  (0 for a vote on options with no winner; `domain/counting.py` defines the option methods'.)
  A consent decision holds no vote, so it counts in neither participation nor consensus;
- implementation: of the proposals approved in the range (by a vote or by consent), those executed;
- time in each status: every stay that ended in the range (median and p90, minutes);
- per agent: proposals, comments, objections raised and resolved, votes, how often its last
  ballot matched the outcome, and the model requests and tokens (input and output) it reported
  spending (`model_usage_reported`). A decision matches approve/approved or reject/rejected; a
  ballot on options matches when the winning option is among its first choices (approved, given
  its highest score, ranked first). An abstention, and a ballot on options with no first choice
  (no approval, every score 0), count neither way.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
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
    decisive_votes: int = 0  # ballots in closed votes that count either way (the base of the match rate)
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


def first_choices(ballot: Mapping[str, Any]) -> set[int]:
    """The options a logged ballot on options puts first: those approved, those given its
    highest score (above 0), its first-ranked option."""
    if "approvals" in ballot:
        return {int(o) for o in ballot["approvals"]}
    if "scores" in ballot:
        scores = {int(o): int(s) for o, s in ballot["scores"].items()}
        top = max(scores.values(), default=0)
        return {o for o, s in scores.items() if s == top} if top > 0 else set()
    ranking = ballot.get("ranking") or []
    return {int(ranking[0])} if ranking else set()


def matched(ballot: str | Mapping[str, Any], outcome: object, winner: object) -> bool | None:
    """Whether a closing event's ballot matched the outcome: None when it counts neither way."""
    if isinstance(ballot, str):
        if ballot not in ("approve", "reject"):
            return None  # an abstention
        return (ballot, outcome) in (("approve", "approved"), ("reject", "rejected"))
    first = first_choices(ballot)
    if not first:
        return None
    return winner in first


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
            consent = e.payload.get("method") == "consent"  # decided without a vote
            if to == "approved" and consent and e.subject in started:
                reached_voting.add(e.subject)  # its decision, as a vote is the others'
            decided = e.action in CLOSING_ACTIONS or consent
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
            ballots: dict[str, str | dict[str, Any]] = e.payload["ballots"]  # a decision, or a ballot on options
            ballots_counted += len(ballots)
            eligible_total += eligible_at_open.get(e.subject, len(ballots))
            consensus.append(Fraction(e.payload.get("consensus", "0")))
            result = e.payload.get("result")
            winner = result.get("winner") if isinstance(result, dict) else None
            for agent_id, ballot in ballots.items():
                hit = matched(ballot, e.payload.get("to"), winner)
                if hit is None:
                    continue
                agents[agent_id].decisive_votes += 1
                agents[agent_id].matched_outcome += hit

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
