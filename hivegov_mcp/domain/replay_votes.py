"""A proposal's vote checked against the audit log (DESIGN §16, §20), pure: the electorate and
rules version its opening event froze, each ballot against the commitment its cast_vote event
logged, the last ballots and the stored count against the closing event, and the closing event
recounted from the log alone (`recount.py`). `replay.py` calls these for each proposal."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hivegov_mcp.domain.audit import ballot_commitment, canonical_json, option_ballot_commitment
from hivegov_mcp.domain.counting import delegation_record
from hivegov_mcp.domain.delegation import resolve_delegations
from hivegov_mcp.domain.delegation_log import DelegationHistory
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.recount import FrozenRules, recount
from hivegov_mcp.domain.replay_events import UNKNOWN, Disagreement, LoggedEvent, Unknown
from hivegov_mcp.domain.tally import Decision, Tally

CONSENT = "consent"  # the `method` of a move that approved a proposal by consent, without a vote


@dataclass(frozen=True)
class VoteRow:
    """A row of `votes`: a decision (majority) or a ballot on options (its JSON text)."""

    agent: str
    decision: str | None
    ballot: str | None
    justification: str
    salt: str | None  # None: cast before ballots were salted


@dataclass(frozen=True)
class CountRows:
    """A closed vote's count as `vote_tallies` stores it: the tally (a vote on options keeps zero
    counts with its outcome, reason, quorum and consensus), and the records of how it was counted
    (the method of a vote on options, its result record, where delegated weight went; None where
    the row has none)."""

    tally: Tally | None = None
    method: str | None = None
    result: Mapping[str, Any] | None = None
    delegation: Mapping[str, Any] | None = None


class FrozenVote:
    """The electorate and rules version the log froze for the proposal's current vote."""

    def __init__(self) -> None:
        self.eligible: dict[str, int] | Unknown | None = None
        self.rules_version: int | Unknown | None = None
        self.seq: int | None = None

    def feed(self, e: LoggedEvent) -> None:
        p = e.payload
        if "to" not in p or "from" not in p:
            return
        if p["to"] == Status.VOTING.value and p["from"] != Status.VOTING.value:
            self.seq = e.seq
            given = p.get("eligible")
            self.eligible = {str(a): int(w) for a, w in given.items()} if isinstance(given, Mapping) else UNKNOWN
            version = p.get("rules_version", UNKNOWN)
            self.rules_version = version if version is None or isinstance(version, int | Unknown) else UNKNOWN
        elif p["to"] == Status.DISCUSSION.value:  # reopened: the next vote freezes its own
            self.eligible, self.rules_version, self.seq = None, None, e.seq
        elif p.get("method") == CONSENT and p["to"] == Status.APPROVED.value:  # decided without a vote
            self.seq = e.seq
            self.eligible = {}
            version = p.get("rules_version", UNKNOWN)
            self.rules_version = version if isinstance(version, int | Unknown) else UNKNOWN


def recount_vote(
    pid: str,
    vote: FrozenVote,
    closed: LoggedEvent | None,
    *,
    counting: Mapping[int, FrozenRules],
    delegations: DelegationHistory,
    proposal_type: str | None,
    stored: CountRows | None,
    options: Sequence[str] | None = None,
) -> Disagreement | None:
    """The closed vote, counted again from its events alone: its opening event's electorate, the
    delegations the log left in force for the proposal's type before its closing event, and the
    method, quorum and threshold of the rules version it froze. The options it counted must be
    those of the version voted on (`options`, None: not known), and the stored record of where
    delegated weight went the recount's."""
    if closed is None or not isinstance(vote.eligible, Mapping):
        return None  # no vote closed, or one from before the log froze its electorate
    electorate = sum(vote.eligible.values())
    if stored is not None and stored.tally is not None and stored.tally.eligible_weight != electorate:
        return Disagreement(
            f"tallies: {pid} eligible_weight",
            f"is {stored.tally.eligible_weight}; the electorate the vote's opening event froze weighs {electorate}",
            closed.seq,
        )
    if proposal_type is None:
        return None
    version = closed.payload.get("rules_version")
    if not isinstance(version, int) or version not in counting:
        return None
    given = closed.payload.get("options")
    if options is not None and given is not None and list(given) != list(options):
        return Disagreement(
            f"tallies: {pid}",
            f"the closing event counted options {canonical_json(given)}; the version voted on has "
            f"{canonical_json(list(options))}",
            closed.seq,
        )
    in_force = delegations.effective(proposal_type, closed.seq)
    problem = recount(closed.payload, vote.eligible, rules=counting[version], version=version, delegations=in_force)
    if problem is not None:
        return Disagreement(f"tallies: {pid}", f"the closing event: {problem}", closed.seq)
    if stored is not None and (stored.delegation is not None or _records_delegation(closed.payload)):
        ballots = closed.payload.get("ballots", {})
        flow = resolve_delegations(vote.eligible, {str(a) for a in ballots}, in_force)
        if not isinstance(stored.delegation, Mapping) or dict(stored.delegation) != delegation_record(flow):
            return Disagreement(
                f"tallies: {pid} delegation",
                "is not where the log's delegations carried the weight of those who did not vote",
                closed.seq,
            )
    return None


def check_votes(
    pid: str,
    votes: Sequence[VoteRow],
    logged: Mapping[str, Sequence[LoggedEvent]],
    closed: LoggedEvent | None,
    *,
    stored: CountRows | None,
) -> Disagreement | None:
    """The votes table (in the order cast) against the cast_vote events (by agent), and the last
    ballots and the stored count against the closing event."""
    cast: dict[str, list[VoteRow]] = {}
    for row in votes:
        cast.setdefault(row.agent, []).append(row)
    for agent in sorted(set(cast) | set(logged)):
        mine, events = cast.get(agent, []), logged.get(agent, [])
        if len(mine) != len(events):
            return Disagreement(
                f"votes: {pid} ballots of {agent}",
                f"{len(mine)} in the table, {len(events)} cast_vote events in the log",
                events[-1].seq if events else None,
            )
        for n, (row, event) in enumerate(zip(mine, events, strict=True), start=1):
            if _commitment(row) != event.payload.get("ballot_sha256"):
                return Disagreement(
                    f"votes: {pid} ballot {n} of {agent}",
                    "is not the ballot its cast_vote event committed to (ballot_sha256)",
                    event.seq,
                )
    if closed is None:
        return None
    last = {agent: _counted_form(rows[-1]) for agent, rows in cast.items()}
    counted = dict(closed.payload.get("ballots", {}))
    if last != counted:
        agent = sorted(a for a in set(last) | set(counted) if last.get(a) != counted.get(a))[0]
        return Disagreement(
            f"votes: {pid} ballot of {agent}",
            f"the table says {_shown(last.get(agent))}; the vote was counted with {_shown(counted.get(agent))}",
            closed.seq,
        )
    return None if stored is None else _check_count(pid, stored, closed)


def _check_count(pid: str, stored: CountRows, closed: LoggedEvent) -> Disagreement | None:
    """The stored count against the closing event: the majority's tally, or the method and the
    result record of a vote on options, the eligible and voted weight, and where delegated weight
    went (a closing event that records it leaves a row that must keep it)."""
    p = closed.payload
    method = p.get("method")
    if stored.method != method:
        return Disagreement(
            f"tallies: {pid} method",
            f"is {stored.method or 'majority'}; the closing event counted by {method or 'majority'}",
            closed.seq,
        )
    tally = stored.tally
    if tally is not None:
        counts = {d.value: getattr(tally, d.value) for d in Decision}
        if method is None and counts != dict(p.get("tally", {})):
            return Disagreement(
                f"tallies: {pid}", f"holds {counts}; the closing event counted {p.get('tally')}", closed.seq
            )
        found = _check_outcome(pid, tally, closed) or _check_weights(pid, tally, closed)
        if found is not None:
            return found
    if method is not None and stored.result != p.get("result"):
        wrong = _first_difference(stored.result or {}, p.get("result") or {})
        return Disagreement(f"tallies: {pid} option_result", f"{wrong}: not what the closing event counted", closed.seq)
    delegation = stored.delegation
    if delegation is None and _records_delegation(p):
        return Disagreement(
            f"tallies: {pid} delegation",
            "is empty; the closing event recorded the delegations it followed and the weight each ballot carried",
            closed.seq,
        )
    if delegation is not None and (
        not isinstance(delegation, Mapping) or delegation.get("carried") != p.get("carried", {})
    ):
        return Disagreement(
            f"tallies: {pid} delegation",
            "says the ballots carried other weight than the closing event counted them with",
            closed.seq,
        )
    return None


def _records_delegation(closing: Mapping[str, Any]) -> bool:
    """Whether a closing event records where delegated weight went (every close since delegation)."""
    return "delegations" in closing or "carried" in closing


def _check_outcome(pid: str, tally: Tally, closed: LoggedEvent) -> Disagreement | None:
    """The stored outcome, reason, quorum and consensus (what results and metrics read) against the
    closing event's (an older event without consensus leaves it unjudged)."""
    p = closed.payload
    stored: dict[str, object] = {
        "outcome": tally.outcome.value,
        "reason": tally.reason.value if tally.reason else None,
        "quorum_met": tally.quorum_met,
    }
    logged: dict[str, object] = {"outcome": p.get("to"), "reason": p.get("reason"), "quorum_met": p.get("quorum_met")}
    if "consensus" in p:
        stored["consensus"], logged["consensus"] = tally.consensus, _fraction(p["consensus"])
    for column, value in stored.items():
        if value != logged[column]:
            return Disagreement(
                f"tallies: {pid} {column}", f"is {value}; the closing event recorded {logged[column]}", closed.seq
            )
    return None


def _check_weights(pid: str, tally: Tally, closed: LoggedEvent) -> Disagreement | None:
    """The stored voted weight (delegated weight included: what the quorum is read from) against
    the closing event's count, and the eligible weight against its result record (a vote on
    options; a majority's is checked against the frozen electorate, `recount_vote`)."""
    p = closed.payload
    logged: dict[str, object] = {}
    result = p.get("result")
    if p.get("method") is not None and isinstance(result, Mapping):
        logged = {"eligible_weight": result.get("eligible_weight"), "voted_weight": result.get("voted_weight")}
    elif isinstance(p.get("tally"), Mapping):
        counts = p["tally"].values()
        logged = {"voted_weight": sum(counts) if all(isinstance(c, int) for c in counts) else None}
    for column, value in logged.items():
        if getattr(tally, column) != value:
            return Disagreement(
                f"tallies: {pid} {column}",
                f"is {getattr(tally, column)}; the closing event counted {value}",
                closed.seq,
            )
    return None


def _fraction(value: object) -> Fraction | None:
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None


def _commitment(row: VoteRow) -> str | None:
    """The commitment a cast_vote event logs for this row's ballot (None: no ballot it could be)."""
    if row.ballot is None:
        return None if row.decision is None else ballot_commitment(row.decision, row.justification, row.salt)
    try:
        ballot = json.loads(row.ballot)
    except ValueError:
        return None
    if row.decision is not None or row.salt is None or not isinstance(ballot, dict):
        return None
    return option_ballot_commitment(ballot, row.justification, row.salt)


def _counted_form(row: VoteRow) -> object:
    """A row's ballot as a closing event lists it: the decision, or the ballot's JSON object."""
    if row.ballot is None:
        return row.decision
    try:
        return json.loads(row.ballot)
    except ValueError:
        return row.ballot


def _shown(ballot: object) -> str:
    if ballot is None:
        return "no vote"
    return ballot if isinstance(ballot, str) else canonical_json(ballot)


def _first_difference(mine: Mapping[str, Any], logged: Mapping[str, Any]) -> str:
    """The first key of a result record where the stored one differs, in words."""
    for key in sorted(set(mine) | set(logged)):
        if mine.get(key) != logged.get(key):
            return (
                f"its {key} is {canonical_json(mine.get(key))}, the closing event's {canonical_json(logged.get(key))}"
            )
    return "it differs"
