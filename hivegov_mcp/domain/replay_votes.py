"""A proposal's vote checked against the audit log (DESIGN §16, §20), pure: the electorate and
rules version its opening event froze, each ballot against the commitment its cast_vote event
logged, the last ballots and the stored count against the closing event, and the closing event
recounted from the log alone (`recount.py`). `replay.py` calls these for each proposal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from hivegov_mcp.domain.audit import ballot_commitment
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.recount import recount_majority
from hivegov_mcp.domain.replay_events import UNKNOWN, Disagreement, LoggedEvent, Unknown

CONSENT = "consent"  # the `method` of a move that approved a proposal by consent, without a vote


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
    counting: Mapping[int, tuple[Fraction, Fraction]],
    vote: FrozenVote,
    closed: LoggedEvent | None,
) -> Disagreement | None:
    """The closed vote, counted again from its events alone."""
    if closed is None or not isinstance(vote.eligible, Mapping):
        return None  # no vote closed, or one from before the log froze its electorate
    version = closed.payload.get("rules_version")
    if not isinstance(version, int) or version not in counting:
        return None
    quorum, threshold = counting[version]
    problem = recount_majority(closed.payload, vote.eligible, quorum=quorum, threshold=threshold, version=version)
    return None if problem is None else Disagreement(f"tallies: {pid}", f"the closing event: {problem}", closed.seq)


def check_votes(
    pid: str,
    votes: Sequence[tuple[str, str, str, str | None]],
    tally: Mapping[str, int] | None,
    logged: Mapping[str, Sequence[LoggedEvent]],
    closed: LoggedEvent | None,
) -> Disagreement | None:
    """The votes table (agent, decision, justification, salt, in the order cast) against the
    cast_vote events (by agent), and the last ballots and stored tally against the closing event."""
    cast: dict[str, list[tuple[str, str, str | None]]] = {}
    for agent, decision, justification, salt in votes:
        cast.setdefault(agent, []).append((decision, justification, salt))
    for agent in sorted(set(cast) | set(logged)):
        mine, events = cast.get(agent, []), logged.get(agent, [])
        if len(mine) != len(events):
            return Disagreement(
                f"votes: {pid} ballots of {agent}",
                f"{len(mine)} in the table, {len(events)} cast_vote events in the log",
                events[-1].seq if events else None,
            )
        for n, ((decision, justification, salt), event) in enumerate(zip(mine, events, strict=True), start=1):
            if ballot_commitment(decision, justification, salt) != event.payload.get("ballot_sha256"):
                return Disagreement(
                    f"votes: {pid} ballot {n} of {agent}",
                    "is not the ballot its cast_vote event committed to (ballot_sha256)",
                    event.seq,
                )
    if closed is None:
        return None
    last = {agent: ballots[-1][0] for agent, ballots in cast.items()}
    counted = dict(closed.payload.get("ballots", {}))
    if last != counted:
        agent = sorted(a for a in set(last) | set(counted) if last.get(a) != counted.get(a))[0]
        return Disagreement(
            f"votes: {pid} ballot of {agent}",
            f"the table says {last.get(agent, 'no vote')}; the vote was counted with {counted.get(agent, 'no vote')}",
            closed.seq,
        )
    if tally is not None and dict(tally) != dict(closed.payload.get("tally", {})):
        return Disagreement(
            f"tallies: {pid}",
            f"holds {dict(tally)}; the closing event counted {closed.payload.get('tally')}",
            closed.seq,
        )
    return None
