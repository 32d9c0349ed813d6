"""Delegation with override (DESIGN §20): a non-voter's weight follows its chain to the first
eligible agent who voted; voting overrides delegating; cycles and dead ends count as not voted.
Each agent is resolved once (linear in the agents), and a chain is recorded as its first 10 agents."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Set
from fractions import Fraction
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.counting import delegation_record
from hivegov_mcp.domain.delegation import (
    CHAIN_SHOWN,
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


def test_an_agent_whose_chain_reaches_one_already_resolved_takes_its_end_from_its_own_place() -> None:
    """ann (no delegation) and the ben-cyd cycle are resolved before yan and zed reach them: for
    zed, ann's "no delegation" is a dead end; yan's chain goes into the cycle and round it once."""
    eligible = {"ann": 1, "ben": 1, "cyd": 1, "yan": 1, "zed": 1}
    delegations = {"ben": "cyd", "cyd": "ben", "yan": "ben", "zed": "ann"}
    assert resolve_delegations(eligible, set(), delegations).uncounted == (
        UncountedWeight("ann", 1, Uncounted.NO_DELEGATION, ("ann",)),
        UncountedWeight("ben", 1, Uncounted.CYCLE, ("ben", "cyd", "ben")),
        UncountedWeight("cyd", 1, Uncounted.CYCLE, ("cyd", "ben", "cyd")),
        UncountedWeight("yan", 1, Uncounted.CYCLE, ("yan", "ben", "cyd", "ben")),
        UncountedWeight("zed", 1, Uncounted.DEAD_END, ("zed", "ann")),
    )


LONG = 3_000
CHAIN = [f"v{i:05d}" for i in range(LONG)]
EACH_TO_THE_NEXT = dict(pairwise(CHAIN))


def test_a_chain_of_3000_resolves_to_records_that_grow_with_the_agents_not_the_square() -> None:
    """The reviewer's chain: each of 3,000 delegates to the next and nobody votes. Each agent's
    recorded chain is the first 10 agents of its chain, so the record is a few hundred kB, not the
    tens of MB that every whole chain made."""
    eligible = dict.fromkeys(CHAIN, 1)
    result = resolve_delegations(eligible, set(), EACH_TO_THE_NEXT)

    assert [u.agent for u in result.uncounted] == CHAIN
    assert {u.reason for u in result.uncounted[:-1]} == {Uncounted.DEAD_END}
    assert result.uncounted[-1] == UncountedWeight(CHAIN[-1], 1, Uncounted.NO_DELEGATION, (CHAIN[-1],))
    for i, u in enumerate(result.uncounted):
        assert u.chain == tuple(CHAIN[i : i + CHAIN_SHOWN])
    record = delegation_record(result)
    assert max(len(u["chain"]) for u in record["uncounted"]) == CHAIN_SHOWN == 10
    assert len(json.dumps(record)) < 200 * LONG  # ~170 bytes an agent; every whole chain: ~45 MB

    voted = resolve_delegations(eligible, {CHAIN[-1]}, EACH_TO_THE_NEXT)  # the last one votes
    assert voted.carried[CHAIN[-1]] == CarriedWeight(weight=LONG, own_weight=1, delegated_by=tuple(CHAIN[:-1]))
    assert voted.chains[CHAIN[0]] == tuple(CHAIN[:CHAIN_SHOWN])
    assert voted.chains[CHAIN[-2]] == (CHAIN[-2], CHAIN[-1])
    assert sum(len(c) for c in voted.chains.values()) <= CHAIN_SHOWN * LONG
    assert len(json.dumps(delegation_record(voted))) < 15 * LONG  # the delegators' names, once each


def test_a_cycle_of_3000_records_each_agent_going_round_it_for_10_agents() -> None:
    cycle = {**EACH_TO_THE_NEXT, CHAIN[-1]: CHAIN[0]}
    result = resolve_delegations(dict.fromkeys(CHAIN, 1), set(), cycle)

    assert {u.reason for u in result.uncounted} == {Uncounted.CYCLE}
    assert result.uncounted[0].chain == tuple(CHAIN[:CHAIN_SHOWN])
    assert result.uncounted[-1].chain == (CHAIN[-1], *CHAIN[: CHAIN_SHOWN - 1])
    assert resolve_delegations({"ann": 1}, set(), {"ann": "ben", "ben": "ann"}).uncounted[0].chain == (
        "ann",
        "ben",
        "ann",
    )


def _naive_resolution(eligible: Mapping[str, int], voted: Set[str], delegations: Mapping[str, str]) -> DelegationResult:
    """The reference: each eligible non-voter's whole chain walked afresh (quadratic in a chain's
    length), each chain then cut to its first 10 agents."""
    carriers: dict[str, list[str]] = {agent: [] for agent in sorted(eligible) if agent in voted}
    chains: dict[str, tuple[str, ...]] = {}
    uncounted: list[UncountedWeight] = []
    for agent in sorted(eligible):
        if agent in carriers:
            continue
        chain, reason = [agent], None
        while reason is None:
            delegate = delegations.get(chain[-1])
            if delegate is None:
                reason = Uncounted.NO_DELEGATION if len(chain) == 1 else Uncounted.DEAD_END
            elif delegate in chain:
                chain.append(delegate)
                reason = Uncounted.CYCLE
            else:
                chain.append(delegate)
                if delegate in carriers:
                    break
        if reason is None:
            carriers[chain[-1]].append(agent)
            chains[agent] = tuple(chain[:CHAIN_SHOWN])
        else:
            uncounted.append(UncountedWeight(agent, eligible[agent], reason, tuple(chain[:CHAIN_SHOWN])))
    carried = {
        voter: CarriedWeight(eligible[voter] + sum(eligible[d] for d in by), eligible[voter], tuple(by))
        for voter, by in carriers.items()
    }
    return DelegationResult(carried=carried, chains=chains, uncounted=tuple(uncounted))


MANY = [f"a{i:02d}" for i in range(24)]


@settings(max_examples=400, deadline=None)
@given(
    eligible=st.dictionaries(st.sampled_from(MANY), st.integers(0, 5)),
    voted=st.sets(st.sampled_from(MANY)),
    order=st.permutations(MANY),
    chained=st.integers(0, len(MANY)),
    links=st.dictionaries(st.sampled_from(MANY), st.sampled_from(MANY), max_size=8),
)
def test_resolving_each_agent_once_gives_what_walking_every_chain_gives(
    eligible: dict[str, int], voted: set[str], order: list[str], chained: int, links: dict[str, str]
) -> None:
    """On random delegation graphs: long chains (a run of `order`, each to the next, up to 24), with
    random links over it that make cycles, dead ends, forks and non-eligible forwarders."""
    delegations = {**dict(pairwise(order[:chained])), **links}
    assert resolve_delegations(eligible, voted, delegations) == _naive_resolution(eligible, voted, delegations)
