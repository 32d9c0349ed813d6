"""The delegations the audit log set and revoked (issue 19, DESIGN §20), replayed without I/O.

`delegate_vote` and `revoke_delegation` events have the delegating agent as subject (and actor);
`delegate_vote` logs `{"to", "proposal_type", "replaces"}`, `revoke_delegation` logs
`{"proposal_type", "was"}`, a `proposal_type` of null meaning every type. Replaying them in
sequence order gives, as of any event, the delegations in force: what a vote closed at that event
had to follow (the type-specific delegation before the general one), and what the `delegations`
table must hold now.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hivegov_mcp.domain.replay_events import Disagreement, LoggedEvent

DELEGATE_VOTE, REVOKE_DELEGATION = "delegate_vote", "revoke_delegation"
DELEGATION_EVENTS = (DELEGATE_VOTE, REVOKE_DELEGATION)
EVERY_TYPE = ""  # the `proposal_type` of a delegation for every type, as the table stores it


@dataclass(frozen=True)
class DelegationRow:
    """A row of the `delegations` table."""

    agent: str
    proposal_type: str  # EVERY_TYPE, or one proposal type
    delegate: str


def scope_of(proposal_type: str) -> str:
    """A delegation's proposal type in words."""
    return "every type" if proposal_type == EVERY_TYPE else proposal_type


class DelegationHistory:
    """Every delegation the log set or revoked, by delegating agent and proposal type, in order.

    Built from each agent's delegation events (agent id -> its events, any order across agents);
    other actions are passed over. Asked about an event's seq, it answers as of just before it:
    what a vote closed by that event saw."""

    def __init__(self, events: Mapping[str, Sequence[LoggedEvent]]) -> None:
        changes = sorted(
            (e.seq, agent, e) for agent, logged in events.items() for e in logged if e.action in DELEGATION_EVENTS
        )
        # (agent, type) -> the seqs of its changes and what each left: the delegate, or None (revoked)
        self._seqs: dict[tuple[str, str], list[int]] = {}
        self._delegates: dict[tuple[str, str], list[str | None]] = {}
        for seq, agent, e in changes:
            given = e.payload.get("proposal_type")
            key = (agent, EVERY_TYPE if given is None else str(given))
            delegate = str(e.payload["to"]) if e.action == DELEGATE_VOTE and "to" in e.payload else None
            self._seqs.setdefault(key, []).append(seq)
            self._delegates.setdefault(key, []).append(delegate)

    def in_force(self, before: int | None = None) -> dict[tuple[str, str], tuple[str, int]]:
        """(agent, proposal type) -> (delegate, seq of the event that set it), for every delegation
        in force just before event `before` (None: after the last event)."""
        found: dict[tuple[str, str], tuple[str, int]] = {}
        for key, seqs in self._seqs.items():
            at = len(seqs) if before is None else bisect_left(seqs, before)
            if at == 0:
                continue
            delegate = self._delegates[key][at - 1]
            if delegate is not None:
                found[key] = (delegate, seqs[at - 1])
        return found

    def effective(self, proposal_type: str, before: int) -> dict[str, str]:
        """Agent -> delegate for a vote on a proposal of `proposal_type` closed by event `before`:
        each agent's delegation for that type if it has one in force, else its general one."""
        general: dict[str, str] = {}
        specific: dict[str, str] = {}
        for (agent, kind), (delegate, _) in self.in_force(before).items():
            if kind == EVERY_TYPE:
                general[agent] = delegate
            elif kind == proposal_type:
                specific[agent] = delegate
        return dict(sorted({**general, **specific}.items()))

    def last_event(self, agent: str, proposal_type: str) -> int | None:
        """The seq of the last event about this agent's delegation for this type, if any."""
        seqs = self._seqs.get((agent, proposal_type))
        return seqs[-1] if seqs else None


def check_delegations(rows: Sequence[DelegationRow], history: DelegationHistory) -> Disagreement | None:
    """The `delegations` table against the log's delegation events: a row the log never set (or
    revoked), a delegate other than the one the log last gave, a delegation in force whose row
    was deleted."""
    logged = history.in_force()
    table = {(r.agent, r.proposal_type): r for r in rows}
    for key, (delegate, seq) in sorted(logged.items()):
        if key not in table:
            return Disagreement(_row(*key), f"the log left it in force (to {delegate}); its row was deleted", seq)
    for key, row in sorted(table.items()):
        where = _row(*key)
        if key not in logged:
            return Disagreement(
                where,
                f"says {row.agent} delegates to {row.delegate}; the log has no such delegation in force",
                history.last_event(*key),
            )
        delegate, seq = logged[key]
        if row.delegate != delegate:
            return Disagreement(
                where, f"delegates to {row.delegate}; the log's last delegate_vote gave {delegate}", seq
            )
    return None


def _row(agent: str, proposal_type: str) -> str:
    return f"delegations: {agent} for {scope_of(proposal_type)}"
