"""Delegation, liquid democracy with override (issue 19, DESIGN §20), without I/O: at close, an
eligible voter who did not vote has its weight follow its delegation chain to the first eligible
agent who voted; a voter who voted keeps its own weight (its delegation is overridden); a chain
that meets a cycle or ends with no one who voted counts as not voted. Each eligible agent's
weight is counted at most once."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from enum import StrEnum


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
    """An eligible agent whose weight counts for no ballot, why, and the chain it followed
    (from the agent itself; for a cycle, up to the agent seen twice)."""

    agent: str
    weight: int
    reason: Uncounted
    chain: tuple[str, ...]


@dataclass(frozen=True)
class DelegationResult:
    """Where every eligible agent's weight went. `carried` has one entry per eligible agent who
    voted; `chains` gives, for each non-voter whose weight was carried, the path from it to the
    ballot that carries it; `uncounted` lists the rest (sorted by agent). Each eligible agent's
    weight appears exactly once: in its own ballot, in one `delegated_by`, or in `uncounted`."""

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
    chains: dict[str, tuple[str, ...]] = {}
    uncounted: list[UncountedWeight] = []
    for agent in sorted(eligible):
        if agent in carriers:
            continue
        chain, on_chain = [agent], {agent}
        reason: Uncounted | None = None
        while True:
            delegate = delegations.get(chain[-1])
            if delegate is None:
                reason = Uncounted.NO_DELEGATION if len(chain) == 1 else Uncounted.DEAD_END
                break
            chain.append(delegate)
            if delegate in on_chain:
                reason = Uncounted.CYCLE
                break
            if delegate in carriers:
                break
            on_chain.add(delegate)
        if reason is None:
            carriers[chain[-1]].append(agent)
            chains[agent] = tuple(chain)
        else:
            uncounted.append(UncountedWeight(agent, eligible[agent], reason, tuple(chain)))
    carried = {
        voter: CarriedWeight(
            weight=eligible[voter] + sum(eligible[d] for d in delegators),
            own_weight=eligible[voter],
            delegated_by=tuple(delegators),
        )
        for voter, delegators in carriers.items()
    }
    return DelegationResult(carried=carried, chains=chains, uncounted=tuple(uncounted))
