"""Delegation, liquid democracy with override (issue 19, DESIGN §20), without I/O: at close, an
eligible voter who did not vote has its weight follow its delegation chain to the first eligible
agent who voted; a voter who voted keeps its own weight (its delegation is overridden); a chain
that meets a cycle or ends with no one who voted counts as not voted. Each eligible agent's
weight is counted at most once.

Resolution is linear in the number of agents: each agent's outcome (the ballot its weight reaches,
or why it reaches none) is found once and reused by every chain that passes through it. A chain is
kept only as its first `CHAIN_SHOWN` agents, so that a long chain of delegations makes records of
bounded size per agent, not a record that grows with the square of its length."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from enum import StrEnum

CHAIN_SHOWN = 10  # a recorded chain is the first 10 agents of the chain


class Uncounted(StrEnum):
    NO_DELEGATION = "no_delegation"  # did not vote and delegated to no one
    DEAD_END = "dead_end"  # the chain ends at an agent who did not vote and delegated to no one
    CYCLE = "cycle"  # the chain comes back to an agent already on it before reaching a voter


@dataclass(frozen=True)
class CarriedWeight:
    """The weight one ballot carries: its agent's own plus that of every eligible non-voter whose
    chain ends at it, named in `delegated_by` (sorted)."""

    weight: int
    own_weight: int
    delegated_by: tuple[str, ...]


@dataclass(frozen=True)
class UncountedWeight:
    """An eligible agent whose weight counts for no ballot, why, and the first `CHAIN_SHOWN` (10)
    agents of the chain it followed (from the agent itself; for a cycle, up to the agent seen
    twice)."""

    agent: str
    weight: int
    reason: Uncounted
    chain: tuple[str, ...]


@dataclass(frozen=True)
class DelegationResult:
    """Where every eligible agent's weight went. `carried` has one entry per eligible agent who
    voted; `chains` gives, for each non-voter whose weight was carried, the first `CHAIN_SHOWN`
    (10) agents of the path from it to the ballot that carries it; `uncounted` lists the rest
    (sorted by agent). Each eligible agent's weight appears exactly once: in its own ballot, in
    one `delegated_by`, or in `uncounted`."""

    carried: Mapping[str, CarriedWeight]
    chains: Mapping[str, tuple[str, ...]]
    uncounted: tuple[UncountedWeight, ...]

    @property
    def ballot_weights(self) -> dict[str, int]:
        """Agent id -> weight its ballot counts (the `carried` argument of the tally functions)."""
        return {agent: c.weight for agent, c in self.carried.items()}

    @property
    def uncounted_weight(self) -> int:
        return sum(u.weight for u in self.uncounted)


@dataclass(frozen=True)
class _Reached:
    """Where an agent's chain leads: the ballot that carries it (`carrier`), or none and why."""

    carrier: str | None
    reason: Uncounted | None
    chain: tuple[str, ...]  # its first CHAIN_SHOWN agents

    def through(self, agent: str) -> _Reached:
        """The outcome for `agent`, who delegates to the agent this is the outcome of (and is not
        on its chain): the same end, one agent longer; a delegation to no one is a dead end for it."""
        reason = Uncounted.DEAD_END if self.reason is Uncounted.NO_DELEGATION else self.reason
        return _Reached(self.carrier, reason, (agent, *self.chain)[:CHAIN_SHOWN])


def resolve_delegations(
    eligible: Mapping[str, int], voted: Set[str], delegations: Mapping[str, str]
) -> DelegationResult:
    """Liquid democracy with override, resolved at close.

    `eligible` is the electorate frozen at voting open; `voted` the agents who cast a ballot;
    `delegations` each agent's delegate as of close (the caller has already chosen the
    type-specific delegation before the general one). An eligible agent who voted keeps its own
    weight, whatever it delegated. An eligible agent who did not vote has its weight follow its
    chain of delegations to the first agent that is eligible and voted. Agents on the way who
    are not eligible, or did not vote, just forward. A chain that returns to an agent already on
    it (a cycle) or stops at an agent who did not vote and delegated to no one (a dead end)
    counts as not voted; so does a non-voter who delegated to no one.
    """
    carriers: dict[str, list[str]] = {agent: [] for agent in sorted(eligible) if agent in voted}
    reached = _reach(sorted(a for a in eligible if a not in carriers), carriers, delegations)
    chains: dict[str, tuple[str, ...]] = {}
    uncounted: list[UncountedWeight] = []
    for agent in sorted(eligible):
        if agent in carriers:
            continue
        end = reached[agent]
        if end.carrier is not None:
            carriers[end.carrier].append(agent)
            chains[agent] = end.chain
        else:
            assert end.reason is not None
            uncounted.append(UncountedWeight(agent, eligible[agent], end.reason, end.chain))
    carried = {
        voter: CarriedWeight(
            weight=eligible[voter] + sum(eligible[d] for d in delegators),
            own_weight=eligible[voter],
            delegated_by=tuple(delegators),
        )
        for voter, delegators in carriers.items()
    }
    return DelegationResult(carried=carried, chains=chains, uncounted=tuple(uncounted))


def _reach(starts: list[str], carriers: Mapping[str, object], delegations: Mapping[str, str]) -> dict[str, _Reached]:
    """Where the chain of each agent of `starts` (none of them a carrier) leads, each agent on the
    way resolved once. A walk goes from delegate to delegate until an agent delegates to no one or
    to a carrier, reaches an agent already resolved, or comes back to an agent on its own path (a
    cycle, whose agents each go round it from themselves); walking back, every agent it passed
    inherits the outcome of its delegate."""
    reached: dict[str, _Reached] = {}
    for start in starts:
        path: list[str] = []
        place: dict[str, int] = {}  # agent -> its index on `path`
        agent = start
        while agent not in reached:
            place[agent] = len(path)
            path.append(agent)
            delegate = delegations.get(agent)
            if delegate is None:
                reached[path.pop()] = _Reached(None, Uncounted.NO_DELEGATION, (agent,))
            elif delegate in carriers:
                reached[path.pop()] = _Reached(delegate, None, (agent, delegate)[:CHAIN_SHOWN])
            elif delegate in place:  # back on its own path: a cycle from `delegate` to `agent`
                cycle = path[place[delegate] :]
                del path[place[delegate] :]
                for i, member in enumerate(cycle):  # round the cycle from `member`, back to it
                    around = (cycle[(i + k) % len(cycle)] for k in range(min(len(cycle) + 1, CHAIN_SHOWN)))
                    reached[member] = _Reached(None, Uncounted.CYCLE, tuple(around))
            else:
                agent = delegate
        for behind in reversed(path):
            reached[behind] = reached[delegations[behind]].through(behind)
    return reached
