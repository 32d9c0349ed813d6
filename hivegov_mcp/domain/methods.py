"""Decision methods for proposals with options (DESIGN §20), in exact numbers: what they share, and
approval and score (the ranked ones: `ranked.py`; delegation: `delegation.py`).

One pure function per method; each takes the same four things and returns an `OptionResult`:

- `eligible`: agent id -> weight, frozen when voting opened;
- `ballots`: agent id -> that agent's last ballot. The caller validates ballots and words the
  messages; a ballot that still names an unknown option, or comes from an agent outside
  `eligible`, is the caller's bug and raises `ValueError` rather than being miscounted;
- `options`: the proposal's option ids in listed order (the order every tie rule refers to);
- `quorum`: the share of eligible weight that must vote, as a `Fraction`.

An optional keyword `carried` (agent id -> weight its ballot carries) lets a ballot count the
weight delegated to it (`resolve_delegations(...).ballot_weights`); without it each ballot counts
its agent's own eligible weight. Weight that reaches a ballot through delegation counts as voted.

    method       ballot                            figure per option (`totals`)        winner
    approval     set of approved option ids        weight approving it (int)           most weight
    score        option id -> 0..5, every option   weighted mean score (Fraction)      highest mean
    ranked       option ids, most preferred first  options it beats, Schulze (int)     Schulze winner
    ranked_irv   option ids, most preferred first  first preferences, last round (int) majority

Quorum: voted weight / eligible weight >= quorum (and some weight is eligible), else no winner
(`reason = quorum_not_met`); the figures are still computed. With the quorum met, a method whose
ballots support no option at all (nothing approved, every score 0, nothing ranked) has no winner
(`reason = no_support`). Ties for first are broken by the rule stated in `OptionResult.tie_rule`:
the option listed first among those tied (for Schulze, among the Schulze winners). Instant-runoff
has no tie for first (a winner holds a majority); its ties for last are broken by eliminating the
option listed last among them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

SCORE_MIN = 0
SCORE_MAX = 5

ApprovalBallot = Set[int]
ScoreBallot = Mapping[int, int]
RankingBallot = Sequence[int]


class Method(StrEnum):
    APPROVAL = "approval"
    SCORE = "score"
    RANKED = "ranked"
    RANKED_IRV = "ranked_irv"


class NoWinnerReason(StrEnum):
    QUORUM_NOT_MET = "quorum_not_met"
    NO_SUPPORT = "no_support"


FIRST_LISTED_WINS = "Among options tied for first, the one listed first on the proposal wins."
SCHULZE_FIRST_LISTED_WINS = (
    "Among the Schulze winners (options that no other option beats by a stronger path), "
    "the one listed first on the proposal wins."
)
IRV_LAST_LISTED_ELIMINATED = (
    "Each round eliminates the option with the least first-preference weight; among options tied "
    "for least, the one listed last on the proposal is eliminated. A winner holds more than half "
    "of the weight still on continuing options, so there is no tie for first."
)


@dataclass(frozen=True)
class IrvRound:
    """One instant-runoff round: the first-preference weight of each continuing option (listed
    order), the weight of ballots exhausted so far (no continuing option ranked), the option
    eliminated at the end of the round (None in the round a winner is found) and, if the
    elimination needed the tie rule, the options that were tied for least."""

    number: int
    totals: Mapping[int, int]
    exhausted: int
    eliminated: int | None
    tied_for_last: tuple[int, ...] = ()


@dataclass(frozen=True)
class OptionResult:
    """The count of one vote on a proposal with options.

    `totals` holds every option's figure (see the module's table). `order` lists the options from
    first to last as tiers; options in one tier are tied by the method's figure. `tied` names the
    options tied for first before the tie rule (empty when the figures alone decided, and when no
    winner was chosen). For `ranked`: `pairwise[i][j]` is the weight of ballots ranking
    `options[i]` above `options[j]` (the matrix d) and `strongest_paths[i][j]` the strength of the
    strongest path from `options[i]` to `options[j]` (the matrix p); both are tuples of rows in
    listed order, diagonal 0 (lists of lists in JSON). `schulze_winners` are the options no other
    beats by a stronger path. For `ranked_irv`: `rounds`, every round in order.
    """

    method: Method
    options: tuple[int, ...]
    winner: int | None
    reason: NoWinnerReason | None
    quorum_met: bool
    eligible_weight: int
    voted_weight: int
    totals: Mapping[int, int | Fraction]
    tie_rule: str
    tied: tuple[int, ...]
    order: tuple[tuple[int, ...], ...]
    pairwise: tuple[tuple[int, ...], ...] = ()
    strongest_paths: tuple[tuple[int, ...], ...] = ()
    schulze_winners: tuple[int, ...] = ()
    rounds: tuple[IrvRound, ...] = ()


# --- what every method shares ----------------------------------------------------------------


def ballot_weights(
    eligible: Mapping[str, int], ballots: Mapping[str, object], carried: Mapping[str, int] | None
) -> dict[str, int]:
    """The weight each ballot counts: its agent's own, or what delegation made it carry."""
    strangers = set(ballots) - set(eligible)
    if strangers:
        raise ValueError(f"ballots from agents outside the eligible set: {sorted(strangers)}")
    if carried is None:
        return {agent: eligible[agent] for agent in ballots}
    if set(carried) != set(ballots):
        raise ValueError(
            f"carried weights must name exactly the ballots' agents: {sorted(set(carried) ^ set(ballots))}"
        )
    if sum(carried.values()) > sum(eligible.values()):
        raise ValueError("ballots carry more weight than is eligible")
    return dict(carried)


def _quorum_met(eligible_weight: int, voted_weight: int, quorum: Fraction) -> bool:
    return eligible_weight > 0 and Fraction(voted_weight) >= quorum * eligible_weight


def checked_options(options: Sequence[int]) -> tuple[int, ...]:
    listed = tuple(options)
    if not listed:
        raise ValueError("a vote on options needs at least one option")
    if len(set(listed)) != len(listed):
        raise ValueError(f"options are listed twice: {listed}")
    return listed


def tiers_by_figure(options: tuple[int, ...], figure: Mapping[int, int | Fraction]) -> tuple[tuple[int, ...], ...]:
    """Options from the highest figure to the lowest, equal figures in one tier (listed order)."""
    levels = sorted({figure[o] for o in options}, reverse=True)
    return tuple(tuple(o for o in options if figure[o] == level) for level in levels)


def first_tier(order: tuple[tuple[int, ...], ...], *, supported: bool) -> tuple[int | None, tuple[int, ...]]:
    """The leader is the first listed option of the first tier; the tier is a tie if it has several."""
    if not supported or not order:
        return None, ()
    first = order[0]
    return first[0], first if len(first) > 1 else ()


def option_result(
    method: Method,
    options: tuple[int, ...],
    *,
    eligible_weight: int,
    voted_weight: int,
    quorum: Fraction,
    totals: Mapping[int, int | Fraction],
    order: tuple[tuple[int, ...], ...],
    leader: int | None,
    tied: tuple[int, ...],
    tie_rule: str,
    pairwise: tuple[tuple[int, ...], ...] = (),
    strongest_paths: tuple[tuple[int, ...], ...] = (),
    schulze_winners: tuple[int, ...] = (),
    rounds: tuple[IrvRound, ...] = (),
) -> OptionResult:
    """Settle the winner: none without quorum, none without a leader (no support), else the
    leader the figures and the tie rule chose; `tied` is kept only when a winner is named."""
    quorum_met = _quorum_met(eligible_weight, voted_weight, quorum)
    winner: int | None = None
    reason: NoWinnerReason | None = None
    if not quorum_met:
        reason = NoWinnerReason.QUORUM_NOT_MET
    elif leader is None:
        reason = NoWinnerReason.NO_SUPPORT
    else:
        winner = leader
    return OptionResult(
        method=method,
        options=options,
        winner=winner,
        reason=reason,
        quorum_met=quorum_met,
        eligible_weight=eligible_weight,
        voted_weight=voted_weight,
        totals=totals,
        tie_rule=tie_rule,
        tied=tied if winner is not None else (),
        order=order,
        pairwise=pairwise,
        strongest_paths=strongest_paths,
        schulze_winners=schulze_winners,
        rounds=rounds,
    )


# --- approval ----------------------------------------------------------------------------------


def tally_approval(
    eligible: Mapping[str, int],
    ballots: Mapping[str, ApprovalBallot],
    options: Sequence[int],
    *,
    quorum: Fraction,
    carried: Mapping[str, int] | None = None,
) -> OptionResult:
    """Approval voting: each ballot approves a set of options (possibly none, possibly all).

    An option's figure is the weight of the ballots approving it; the most weight wins, ties to
    the option listed first. If no ballot approves anything there is no winner (`no_support`).
    """
    listed = checked_options(options)
    weights = ballot_weights(eligible, ballots, carried)
    totals: dict[int, int | Fraction] = {o: 0 for o in listed}
    for agent, approved in ballots.items():
        unknown = set(approved) - set(listed)
        if unknown:
            raise ValueError(f"{agent} approves options that are not listed: {sorted(unknown)}")
        for option in approved:
            totals[option] += weights[agent]
    order = tiers_by_figure(listed, totals)
    leader, tied = first_tier(order, supported=any(totals.values()))
    return option_result(
        Method.APPROVAL,
        listed,
        eligible_weight=sum(eligible.values()),
        voted_weight=sum(weights.values()),
        quorum=quorum,
        totals=totals,
        order=order,
        leader=leader,
        tied=tied,
        tie_rule=FIRST_LISTED_WINS,
    )


# --- score -------------------------------------------------------------------------------------


def tally_score(
    eligible: Mapping[str, int],
    ballots: Mapping[str, ScoreBallot],
    options: Sequence[int],
    *,
    quorum: Fraction,
    carried: Mapping[str, int] | None = None,
) -> OptionResult:
    """Score voting: each ballot gives every option a whole score from 0 to 5.

    An option's figure is its weighted mean score over the ballots cast:
    sum(weight x score) / sum(weight), both sums over the ballots (an agent who did not vote does
    not count as a 0). The highest mean wins, ties to the option listed first. With no ballot
    cast, or every option's mean 0, there is no winner (`no_support`).
    """
    listed = checked_options(options)
    weights = ballot_weights(eligible, ballots, carried)
    sums = dict.fromkeys(listed, 0)
    for agent, scores in ballots.items():
        if set(scores) != set(listed):
            raise ValueError(f"{agent} must score every listed option exactly: {sorted(scores)} vs {list(listed)}")
        for option, score in scores.items():
            if not SCORE_MIN <= score <= SCORE_MAX:
                raise ValueError(f"{agent} scores option {option} {score}, outside {SCORE_MIN}..{SCORE_MAX}")
            sums[option] += weights[agent] * score
    voted = sum(weights.values())
    totals: dict[int, int | Fraction] = {o: Fraction(sums[o], voted) if voted else Fraction(0) for o in listed}
    order = tiers_by_figure(listed, totals)
    leader, tied = first_tier(order, supported=any(totals.values()))
    return option_result(
        Method.SCORE,
        listed,
        eligible_weight=sum(eligible.values()),
        voted_weight=voted,
        quorum=quorum,
        totals=totals,
        order=order,
        leader=leader,
        tied=tied,
        tie_rule=FIRST_LISTED_WINS,
    )
