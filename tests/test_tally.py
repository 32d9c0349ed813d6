"""The one vote-counting rule (DESIGN §3), in exact fractions."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.tally import Decision, Outcome, RejectReason, Tally, tally_votes

TWO_THIRDS = Fraction(2, 3)
THREE_FIFTHS = Fraction(3, 5)

D = Decision


def test_two_of_three_meets_a_two_thirds_threshold() -> None:
    result = tally_votes(
        {"a": 1, "b": 1, "c": 1},
        {"a": D.APPROVE, "b": D.APPROVE, "c": D.REJECT},
        quorum=THREE_FIFTHS,
        threshold=TWO_THIRDS,
    )
    assert result == Tally(
        approve=2,
        reject=1,
        abstain=0,
        eligible_weight=3,
        voted_weight=3,
        quorum_met=True,
        consensus=Fraction(2, 3),
        outcome=Outcome.APPROVED,
        reason=None,
    )


def test_one_of_two_misses_a_two_thirds_threshold() -> None:
    result = tally_votes({"a": 1, "b": 1}, {"a": D.APPROVE, "b": D.REJECT}, quorum=THREE_FIFTHS, threshold=TWO_THIRDS)
    assert (result.consensus, result.outcome, result.reason) == (
        Fraction(1, 2),
        Outcome.REJECTED,
        RejectReason.THRESHOLD_NOT_MET,
    )


def test_voted_weight_exactly_at_the_quorum_meets_it() -> None:
    eligible = {f"v{i}": 1 for i in range(5)}
    ballots = {"v0": D.APPROVE, "v1": D.APPROVE, "v2": D.APPROVE}
    assert tally_votes(eligible, ballots, quorum=THREE_FIFTHS, threshold=TWO_THIRDS).quorum_met is True


def test_voted_weight_just_below_the_quorum_rejects_for_quorum() -> None:
    eligible = {f"v{i}": 1 for i in range(5)}
    ballots = {"v0": D.APPROVE, "v1": D.APPROVE}
    result = tally_votes(eligible, ballots, quorum=THREE_FIFTHS, threshold=TWO_THIRDS)
    assert result == Tally(
        approve=2,
        reject=0,
        abstain=0,
        eligible_weight=5,
        voted_weight=2,
        quorum_met=False,
        consensus=Fraction(1),
        outcome=Outcome.REJECTED,
        reason=RejectReason.QUORUM_NOT_MET,
    )


def test_abstentions_count_for_quorum_but_not_for_consensus() -> None:
    eligible = {"a": 1, "b": 1, "c": 1}
    result = tally_votes(
        eligible, {"a": D.APPROVE, "b": D.ABSTAIN, "c": D.ABSTAIN}, quorum=THREE_FIFTHS, threshold=TWO_THIRDS
    )
    assert result == Tally(
        approve=1,
        reject=0,
        abstain=2,
        eligible_weight=3,
        voted_weight=3,
        quorum_met=True,
        consensus=Fraction(1),
        outcome=Outcome.APPROVED,
        reason=None,
    )


def test_only_abstentions_give_zero_consensus_and_miss_the_threshold() -> None:
    result = tally_votes({"a": 1, "b": 1}, {"a": D.ABSTAIN, "b": D.ABSTAIN}, quorum=THREE_FIFTHS, threshold=TWO_THIRDS)
    assert (result.quorum_met, result.consensus, result.outcome, result.reason) == (
        True,
        Fraction(0),
        Outcome.REJECTED,
        RejectReason.THRESHOLD_NOT_MET,
    )


def test_weights_count_rather_than_heads() -> None:
    result = tally_votes(
        {"big": 3, "small1": 1, "small2": 1},
        {"big": D.APPROVE, "small1": D.REJECT, "small2": D.REJECT},
        quorum=THREE_FIFTHS,
        threshold=Fraction(1, 2),
    )
    assert (result.approve, result.reject, result.consensus, result.outcome) == (
        3,
        2,
        Fraction(3, 5),
        Outcome.APPROVED,
    )


def test_no_ballots_reject_for_quorum() -> None:
    result = tally_votes({"a": 1}, {}, quorum=THREE_FIFTHS, threshold=TWO_THIRDS)
    assert (result.voted_weight, result.quorum_met, result.reason) == (0, False, RejectReason.QUORUM_NOT_MET)


def test_an_empty_eligible_set_never_meets_the_quorum() -> None:
    result = tally_votes({}, {}, quorum=Fraction(1), threshold=Fraction(1))
    assert (result.eligible_weight, result.quorum_met, result.outcome) == (0, False, Outcome.REJECTED)


def test_a_ballot_from_an_agent_outside_the_eligible_set_is_an_error() -> None:
    with pytest.raises(ValueError, match="mallory"):
        tally_votes({"a": 1}, {"a": D.APPROVE, "mallory": D.APPROVE}, quorum=THREE_FIFTHS, threshold=TWO_THIRDS)


# --- properties ------------------------------------------------------------------------------------------------------

agent_ids = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)
eligible_sets = st.dictionaries(agent_ids, st.integers(min_value=1, max_value=1000), max_size=12)


@st.composite
def unit_fractions(draw: st.DrawFn) -> Fraction:
    """A fraction in (0, 1]."""
    denominator = draw(st.integers(min_value=1, max_value=20))
    return Fraction(draw(st.integers(min_value=1, max_value=denominator)), denominator)


@st.composite
def elections(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, Decision]]:
    eligible = draw(eligible_sets)
    voters = draw(st.lists(st.sampled_from(sorted(eligible)), unique=True) if eligible else st.just([]))
    ballots = {agent: draw(st.sampled_from(Decision)) for agent in voters}
    return eligible, ballots


def _expected(eligible: dict[str, int], ballots: dict[str, Decision], quorum: Fraction, threshold: Fraction) -> Tally:
    """An independent count: integer cross-multiplication instead of Fraction comparisons."""
    approve = sum(eligible[a] for a, d in ballots.items() if d == "approve")
    reject = sum(eligible[a] for a, d in ballots.items() if d == "reject")
    abstain = sum(eligible[a] for a, d in ballots.items() if d == "abstain")
    total = sum(eligible.values())
    voted = approve + reject + abstain
    quorum_met = total > 0 and voted * quorum.denominator >= quorum.numerator * total
    decided = approve + reject
    consensus = Fraction(approve, decided) if decided else Fraction(0)
    meets = decided > 0 and approve * threshold.denominator >= threshold.numerator * decided
    if not quorum_met:
        outcome, reason = Outcome.REJECTED, RejectReason.QUORUM_NOT_MET
    elif meets:
        outcome, reason = Outcome.APPROVED, None
    else:
        outcome, reason = Outcome.REJECTED, RejectReason.THRESHOLD_NOT_MET
    return Tally(
        approve=approve,
        reject=reject,
        abstain=abstain,
        eligible_weight=total,
        voted_weight=voted,
        quorum_met=quorum_met,
        consensus=consensus,
        outcome=outcome,
        reason=reason,
    )


@settings(max_examples=200, deadline=None)
@given(election=elections(), quorum=unit_fractions(), threshold=unit_fractions())
def test_the_tally_matches_an_independent_exact_count(
    election: tuple[dict[str, int], dict[str, Decision]], quorum: Fraction, threshold: Fraction
) -> None:
    eligible, ballots = election
    result = tally_votes(eligible, ballots, quorum=quorum, threshold=threshold)
    assert result == _expected(eligible, ballots, quorum, threshold)
    assert (result.outcome is Outcome.APPROVED) == (result.quorum_met and result.consensus >= threshold)
    assert isinstance(result.consensus, Fraction)


@settings(max_examples=200, deadline=None)
@given(election=elections(), quorum=unit_fractions(), threshold=unit_fractions())
def test_abstaining_instead_of_staying_away_changes_quorum_and_never_consensus(
    election: tuple[dict[str, int], dict[str, Decision]], quorum: Fraction, threshold: Fraction
) -> None:
    eligible, ballots = election
    absent = sorted(set(eligible) - set(ballots))
    with_abstentions = {**ballots, **dict.fromkeys(absent, Decision.ABSTAIN)}
    before = tally_votes(eligible, ballots, quorum=quorum, threshold=threshold)
    after = tally_votes(eligible, with_abstentions, quorum=quorum, threshold=threshold)
    assert after.consensus == before.consensus
    assert (after.approve, after.reject) == (before.approve, before.reject)
    assert after.voted_weight == before.voted_weight + sum(eligible[a] for a in absent)
    assert after.abstain == before.abstain + sum(eligible[a] for a in absent)
    if eligible:
        assert after.quorum_met  # everyone voted
    if before.quorum_met:
        assert after.outcome is before.outcome


@settings(max_examples=200, deadline=None)
@given(
    election=elections(),
    stranger=st.from_regex(r"[A-Z][A-Z0-9]{0,7}", fullmatch=True),
    decision=st.sampled_from(Decision),
)
def test_a_ballot_from_a_non_eligible_agent_raises(
    election: tuple[dict[str, int], dict[str, Decision]], stranger: str, decision: Decision
) -> None:
    eligible, ballots = election
    with pytest.raises(ValueError, match=stranger):
        tally_votes(eligible, {**ballots, stranger: decision}, quorum=THREE_FIFTHS, threshold=TWO_THIRDS)
