"""The one vote-counting rule (DESIGN §3), in exact fractions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from hivegov_mcp.domain.methods import ballot_weights


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ABSTAIN = "abstain"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    QUORUM_NOT_MET = "quorum_not_met"
    THRESHOLD_NOT_MET = "threshold_not_met"
    NO_SUPPORT = "no_support"  # a vote on options: quorum met, but no ballot supported any option


def fraction_text(value: Fraction) -> str:
    """An exact fraction as text, "n/d" (how rules and stored tallies write it)."""
    return f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class Tally:
    approve: int
    reject: int
    abstain: int
    eligible_weight: int
    voted_weight: int
    quorum_met: bool
    consensus: Fraction
    outcome: Outcome
    reason: RejectReason | None


def tally_votes(
    eligible: Mapping[str, int],
    ballots: Mapping[str, Decision],
    *,
    quorum: Fraction,
    threshold: Fraction,
    carried: Mapping[str, int] | None = None,
) -> Tally:
    """Count the last ballot of each eligible agent, weighted.

    `eligible` maps agent id to weight (frozen when voting opened); `ballots` maps agent id to
    its last decision. A ballot from an agent outside `eligible` is an error of the caller.
    `carried` (agent id -> weight its ballot carries, delegation included) replaces each ballot's
    own weight when given (`delegation.resolve_delegations(...).ballot_weights`).
    """
    counted = ballot_weights(eligible, ballots, carried)
    weights = {d: 0 for d in Decision}
    for agent, decision in ballots.items():
        weights[decision] += counted[agent]
    total = sum(eligible.values())
    voted = sum(weights.values())
    quorum_met = total > 0 and Fraction(voted) >= quorum * total
    decided = weights[Decision.APPROVE] + weights[Decision.REJECT]
    consensus = Fraction(weights[Decision.APPROVE], decided) if decided else Fraction(0)
    if not quorum_met:
        outcome, reason = Outcome.REJECTED, RejectReason.QUORUM_NOT_MET
    elif consensus >= threshold:
        outcome, reason = Outcome.APPROVED, None
    else:
        outcome, reason = Outcome.REJECTED, RejectReason.THRESHOLD_NOT_MET
    return Tally(
        approve=weights[Decision.APPROVE],
        reject=weights[Decision.REJECT],
        abstain=weights[Decision.ABSTAIN],
        eligible_weight=total,
        voted_weight=voted,
        quorum_met=quorum_met,
        consensus=consensus,
        outcome=outcome,
        reason=reason,
    )
