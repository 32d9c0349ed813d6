"""Counting a vote on options by its method (DESIGN §20), without I/O: the one dispatcher the
engine and the recount both call, the record a closing event and the stored tally keep, and the
consensus the metrics read.

Consensus, for a vote on options, is the share of the voted weight behind the winner, in [0, 1]
(0 when there is no winner):

    approval     the winner's approving weight / voted weight
    score        the winner's weighted mean score / 5
    ranked       the least, over every other option, of the weight ranking the winner above it /
                 voted weight (how broadly it beats its strongest rival head to head)
    ranked_irv   the winner's weight in the last round / voted weight (exhausted ballots count
                 in the denominator)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from hivegov_mcp.domain.ballots import method_ballot
from hivegov_mcp.domain.config import DecisionMethod, Rules
from hivegov_mcp.domain.delegation import CHAIN_SHOWN, DelegationResult
from hivegov_mcp.domain.methods import SCORE_MAX, OptionResult, tally_approval, tally_score
from hivegov_mcp.domain.ranked import tally_ranked, tally_ranked_irv
from hivegov_mcp.domain.tally import Outcome, RejectReason, Tally, fraction_text, tally_votes
from hivegov_mcp.domain.vote_models import Ballot

OptionTally = Callable[..., OptionResult]
TALLIES: dict[DecisionMethod, OptionTally] = {
    DecisionMethod.APPROVAL: tally_approval,
    DecisionMethod.SCORE: tally_score,
    DecisionMethod.RANKED: tally_ranked,
    DecisionMethod.RANKED_IRV: tally_ranked_irv,
}


def count_options(
    method: DecisionMethod,
    eligible: Mapping[str, int],
    ballots: Mapping[str, Mapping[str, Any]],
    option_count: int,
    *,
    quorum: Fraction,
    carried: Mapping[str, int] | None = None,
) -> OptionResult:
    """Count the last ballot objects (see `ballots.py`) of a vote on options 1..option_count."""
    tally = TALLIES.get(method)
    if tally is None:
        raise ValueError(f"{method.value} does not vote on options")
    options = list(range(1, option_count + 1))
    typed = {agent: method_ballot(ballot) for agent, ballot in ballots.items()}
    return tally(eligible, typed, options, quorum=quorum, carried=carried)


def consensus_of(result: OptionResult) -> Fraction:
    """The share of the voted weight behind the winner (see the module's table)."""
    winner = result.winner
    if winner is None or result.voted_weight == 0:
        return Fraction(0)
    figure = result.totals[winner]
    if result.method.value == DecisionMethod.SCORE.value:
        return Fraction(figure) / SCORE_MAX
    if result.method.value == DecisionMethod.RANKED.value:
        w = result.options.index(winner)
        above = [result.pairwise[w][o] for o in range(len(result.options)) if o != w]
        return Fraction(min(above, default=result.voted_weight), result.voted_weight)
    return Fraction(figure) / result.voted_weight


def _figure(value: int | Fraction) -> int | str:
    """An exact figure as JSON: an int, or a fraction "n/d" (score means)."""
    if isinstance(value, Fraction):
        return fraction_text(value)
    return value


def result_record(result: OptionResult) -> dict[str, Any]:
    """The count as a closing event and the stored tally keep it (JSON; option ids as keys are
    strings). A recount compares records, so two counts agree exactly when their records do."""
    return {
        "method": result.method.value,
        "winner": result.winner,
        "reason": result.reason.value if result.reason else None,
        "quorum_met": result.quorum_met,
        "eligible_weight": result.eligible_weight,
        "voted_weight": result.voted_weight,
        "totals": {str(o): _figure(result.totals[o]) for o in result.options},
        "order": [list(tier) for tier in result.order],
        "tied": list(result.tied),
        "tie_rule": result.tie_rule,
        "pairwise": [list(row) for row in result.pairwise],
        "strongest_paths": [list(row) for row in result.strongest_paths],
        "schulze_winners": list(result.schulze_winners),
        "rounds": [
            {
                "number": r.number,
                "totals": {str(o): w for o, w in r.totals.items()},
                "exhausted": r.exhausted,
                "eliminated": r.eliminated,
                "tied_for_last": list(r.tied_for_last),
            }
            for r in result.rounds
        ],
    }


def figure_value(figure: int | str) -> float:
    """A recorded figure as a number (for display)."""
    return float(Fraction(figure)) if isinstance(figure, str) else float(figure)


def count(
    eligible: dict[str, int], ballots: list[Ballot], rules: Rules, carried: dict[str, int] | None = None
) -> Tally:
    return tally_votes(
        eligible,
        {b.agent_id: b.decision for b in ballots if b.decision is not None},
        quorum=rules.quorum,
        threshold=rules.approval_threshold,
        carried=carried,
    )


def ballot_object(b: Ballot) -> dict[str, Any]:
    """A ballot on options as stored and logged (domain/ballots.py)."""
    if b.approvals is not None:
        return {"approvals": b.approvals}
    if b.scores is not None:
        return {"scores": {str(o): s for o, s in sorted(b.scores.items())}}
    return {"ranking": b.ranking or []}


def counted_options(
    eligible: Mapping[str, int],
    ballots: list[Ballot],
    rules: Rules,
    labels: list[str],
    carried: Mapping[str, int] | None,
) -> tuple[Tally, dict[str, Any]]:
    """A vote on options counted by its method: a winner approves the proposal, none rejects it."""
    result = count_options(
        rules.method,
        eligible,
        {b.agent_id: ballot_object(b) for b in ballots},
        len(labels),
        quorum=rules.quorum,
        carried=carried,
    )
    won = result.winner is not None
    tally = Tally(
        approve=0,
        reject=0,
        abstain=0,
        eligible_weight=result.eligible_weight,
        voted_weight=result.voted_weight,
        quorum_met=result.quorum_met,
        consensus=consensus_of(result),
        outcome=Outcome.APPROVED if won else Outcome.REJECTED,
        reason=None if won or result.reason is None else RejectReason(result.reason.value),
    )
    return tally, result_record(result)


def delegation_record(flow: DelegationResult) -> dict[str, Any]:
    """Where delegated weight went: each ballot that carried some, and each non-voter it missed,
    with the first `CHAIN_SHOWN` (10) agents of the chain it followed (so a record grows with the
    number of agents, not with the square of a chain's length)."""
    return {
        "carried": {
            voter: {"weight": c.weight, "delegated_by": list(c.delegated_by)}
            for voter, c in sorted(flow.carried.items())
            if c.delegated_by
        },
        "uncounted": [
            {"agent": u.agent, "weight": u.weight, "reason": u.reason.value, "chain": list(u.chain[:CHAIN_SHOWN])}
            for u in flow.uncounted
        ],
    }
