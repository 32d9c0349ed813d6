"""Delegation with override (DESIGN §20): a non-voter's weight follows its chain to the first
eligible agent who voted; voting overrides delegating; cycles and dead ends count as not voted."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.delegation import (
    CarriedWeight,
    DelegationResult,
    Uncounted,
    UncountedWeight,
    resolve_delegations,
)
from hivegov_mcp.domain.methods import tally_approval


def test_a_non_voter_s_weight_follows_its_chain_to_the_first_eligible_voter() -> None:
    """ann -> ben (eligible, did not vote) -> cyd (voted): cyd carries all three; dee votes
    and keeps its own weight although it delegates to cyd."""
    eligible = {"ann": 2, "ben": 1, "cyd": 3, "dee": 1}
    delegations = {"ann": "ben", "ben": "cyd", "dee": "cyd"}
    assert resolve_delegations(eligible, {"cyd", "dee"}, delegations) == DelegationResult(
        carried={
            "cyd": CarriedWeight(weight=6, own_weight=3, delegated_by=("ann", "ben")),
            "dee": CarriedWeight(weight=1, own_weight=1, delegated_by=()),
        },
        chains={"ann": ("ann", "ben", "cyd"), "ben": ("ben", "cyd")},
        uncounted=(),
    )


def test_a_chain_passes_through_agents_who_are_not_eligible() -> None:
    """zed is not in the frozen electorate (even though it voted): it only forwards."""
    result = resolve_delegations({"ann": 1, "cyd": 1}, {"cyd", "zed"}, {"ann": "zed", "zed": "cyd"})
    assert result.carried["cyd"] == CarriedWeight(weight=2, own_weight=1, delegated_by=("ann",))
    assert result.chains == {"ann": ("ann", "zed", "cyd")}


def test_a_pure_cycle_of_non_voters_counts_nothing() -> None:
    result = resolve_delegations({"ann": 1, "ben": 2}, set(), {"ann": "ben", "ben": "ann"})
    assert result == DelegationResult(
        carried={},
        chains={},
        uncounted=(
            UncountedWeight("ann", 1, Uncounted.CYCLE, ("ann", "ben", "ann")),
            UncountedWeight("ben", 2, Uncounted.CYCLE, ("ben", "ann", "ben")),
        ),
    )


def test_a_chain_into_a_cycle_a_dead_end_or_nowhere_is_not_counted() -> None:
    eligible = {"ann": 1, "ben": 1, "cyd": 1, "dee": 1, "eve": 1, "fay": 1}
    delegations = {"ann": "ben", "ben": "cyd", "cyd": "ben", "dee": "eve", "fay": "fay"}
    result = resolve_delegations(eligible, set(), delegations)
    assert result.uncounted == (
        UncountedWeight("ann", 1, Uncounted.CYCLE, ("ann", "ben", "cyd", "ben")),
        UncountedWeight("ben", 1, Uncounted.CYCLE, ("ben", "cyd", "ben")),
        UncountedWeight("cyd", 1, Uncounted.CYCLE, ("cyd", "ben", "cyd")),
        UncountedWeight("dee", 1, Uncounted.DEAD_END, ("dee", "eve")),
        UncountedWeight("eve", 1, Uncounted.NO_DELEGATION, ("eve",)),
        UncountedWeight("fay", 1, Uncounted.CYCLE, ("fay", "fay")),
    )
    assert result.uncounted_weight == 6


def test_carried_weight_decides_an_approval_vote_and_its_quorum() -> None:
    """ann approves 1, ben approves 2; cyd and dee delegate to ben and do not vote."""
    eligible = {"ann": 1, "ben": 1, "cyd": 1, "dee": 1}
    ballots = {"ann": {1}, "ben": {2}}
    flow = resolve_delegations(eligible, set(ballots), {"cyd": "ben", "dee": "cyd"})
    result = tally_approval(eligible, ballots, [1, 2], quorum=Fraction(3, 4), carried=flow.ballot_weights)
    assert (result.winner, result.totals, result.voted_weight) == (2, {1: 1, 2: 3}, 4)


AGENTS = ["ann", "ben", "cyd", "dee", "eve", "fay", "gus"]


@settings(max_examples=500, deadline=None)
@given(
    eligible=st.dictionaries(st.sampled_from(AGENTS), st.integers(0, 5)),
    voted=st.sets(st.sampled_from(AGENTS)),
    delegations=st.dictionaries(st.sampled_from(AGENTS), st.sampled_from(AGENTS)),
)
def test_every_eligible_weight_is_counted_once_or_reported_uncounted(
    eligible: dict[str, int], voted: set[str], delegations: dict[str, str]
) -> None:
    result = resolve_delegations(eligible, voted, delegations)
    assert set(result.carried) == set(eligible) & voted
    counted = Counter(list(result.carried))
    for carrier in result.carried.values():
        counted.update(carrier.delegated_by)
    counted.update(u.agent for u in result.uncounted)
    assert counted == Counter(list(eligible))  # each eligible agent exactly once, nobody else
    carried_weight = sum(c.weight for c in result.carried.values())
    assert carried_weight + result.uncounted_weight == sum(eligible.values())
    for voter, carrier in result.carried.items():
        assert carrier.weight == eligible[voter] + sum(eligible[d] for d in carrier.delegated_by)
        for delegator in carrier.delegated_by:
            chain = result.chains[delegator]
            assert (chain[0], chain[-1]) == (delegator, voter)
            assert all(delegations[a] == b for a, b in pairwise(chain))
            assert not any(a in result.carried for a in chain[1:-1])  # the first voter on the way


@settings(max_examples=300, deadline=None)
@given(
    eligible=st.dictionaries(st.sampled_from(AGENTS), st.integers(1, 5), min_size=1),
    delegations=st.dictionaries(st.sampled_from(AGENTS), st.sampled_from(AGENTS)),
)
def test_with_nobody_voting_no_weight_is_carried(eligible: dict[str, int], delegations: dict[str, str]) -> None:
    result = resolve_delegations(eligible, set(), delegations)
    assert (result.carried, result.chains, result.uncounted_weight) == ({}, {}, sum(eligible.values()))
