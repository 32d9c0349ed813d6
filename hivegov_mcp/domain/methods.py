"""Decision methods for proposals with options (DESIGN §20), in exact numbers (delegation: `delegation.py`).

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


def _ballot_weights(
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


def _checked_options(options: Sequence[int]) -> tuple[int, ...]:
    listed = tuple(options)
    if not listed:
        raise ValueError("a vote on options needs at least one option")
    if len(set(listed)) != len(listed):
        raise ValueError(f"options are listed twice: {listed}")
    return listed


def _tiers_by_figure(options: tuple[int, ...], figure: Mapping[int, int | Fraction]) -> tuple[tuple[int, ...], ...]:
    """Options from the highest figure to the lowest, equal figures in one tier (listed order)."""
    levels = sorted({figure[o] for o in options}, reverse=True)
    return tuple(tuple(o for o in options if figure[o] == level) for level in levels)


def _first_tier(order: tuple[tuple[int, ...], ...], *, supported: bool) -> tuple[int | None, tuple[int, ...]]:
    """The leader is the first listed option of the first tier; the tier is a tie if it has several."""
    if not supported or not order:
        return None, ()
    first = order[0]
    return first[0], first if len(first) > 1 else ()


def _result(
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
    listed = _checked_options(options)
    weights = _ballot_weights(eligible, ballots, carried)
    totals: dict[int, int | Fraction] = {o: 0 for o in listed}
    for agent, approved in ballots.items():
        unknown = set(approved) - set(listed)
        if unknown:
            raise ValueError(f"{agent} approves options that are not listed: {sorted(unknown)}")
        for option in approved:
            totals[option] += weights[agent]
    order = _tiers_by_figure(listed, totals)
    leader, tied = _first_tier(order, supported=any(totals.values()))
    return _result(
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
    listed = _checked_options(options)
    weights = _ballot_weights(eligible, ballots, carried)
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
    order = _tiers_by_figure(listed, totals)
    leader, tied = _first_tier(order, supported=any(totals.values()))
    return _result(
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


# --- ranked: Schulze ---------------------------------------------------------------------------


def _checked_ranking(agent: str, ranking: RankingBallot, listed: tuple[int, ...]) -> tuple[int, ...]:
    ranked = tuple(ranking)
    unknown = set(ranked) - set(listed)
    if unknown:
        raise ValueError(f"{agent} ranks options that are not listed: {sorted(unknown)}")
    if len(set(ranked)) != len(ranked):
        raise ValueError(f"{agent} ranks an option twice: {list(ranked)}")
    return ranked


def pairwise_preferences(
    weights: Mapping[str, int], ballots: Mapping[str, RankingBallot], options: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """The matrix d: d[i][j] is the weight of ballots ranking options[i] above options[j].

    A ranked option is above every option the ballot leaves out; options left out are equal
    among themselves (they add to neither side). The diagonal is 0.
    """
    listed = _checked_options(options)
    index = {o: i for i, o in enumerate(listed)}
    n = len(listed)
    d = [[0] * n for _ in range(n)]
    for agent, ranking in ballots.items():
        ranked = [index[o] for o in _checked_ranking(agent, ranking, listed)]
        left_out = [i for i in range(n) if i not in set(ranked)]
        weight = weights[agent]
        for position, i in enumerate(ranked):
            for j in (*ranked[position + 1 :], *left_out):
                d[i][j] += weight
    return tuple(tuple(row) for row in d)


def strongest_paths(d: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The matrix p of the Schulze method (widest paths, "winning votes").

    A link from i to j has strength d[i][j] when d[i][j] > d[j][i] and does not exist otherwise
    (strength 0). A path is as strong as its weakest link; p[i][j] is the strength of the
    strongest path from i to j (0 if there is none), found by the Floyd-Warshall recurrence
    p[i][j] = max(p[i][j], min(p[i][k], p[k][j])). The diagonal is 0.
    """
    n = len(d)
    p = [[d[i][j] if i != j and d[i][j] > d[j][i] else 0 for j in range(n)] for i in range(n)]
    for k in range(n):
        for i in range(n):
            if i == k:
                continue
            for j in range(n):
                if j not in (i, k):
                    p[i][j] = max(p[i][j], min(p[i][k], p[k][j]))
    return tuple(tuple(row) for row in p)


def _schulze_tiers(p: tuple[tuple[int, ...], ...], listed: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """The Schulze order: each tier is the remaining options that no remaining option beats
    (x beats y when p[x][y] > p[y][x]; Schulze proves this relation transitive)."""
    remaining = list(range(len(listed)))
    tiers = []
    while remaining:
        tier = [x for x in remaining if all(p[x][y] >= p[y][x] for y in remaining)]
        tiers.append(tuple(listed[x] for x in tier))
        remaining = [x for x in remaining if x not in tier]
    return tuple(tiers)


def tally_ranked(
    eligible: Mapping[str, int],
    ballots: Mapping[str, RankingBallot],
    options: Sequence[int],
    *,
    quorum: Fraction,
    carried: Mapping[str, int] | None = None,
) -> OptionResult:
    """Ranked voting by the Schulze method.

    Each ballot ranks options, most preferred first; options it leaves out rank below every
    ranked one and equal among themselves. From the weighted pairwise matrix d and the
    strongest-path matrix p (see `pairwise_preferences` and `strongest_paths`), option x beats
    option y when p[x][y] > p[y][x]. The Schulze winners are the options no other option beats;
    if there are several, the one listed first wins. An option's figure is how many options it
    beats. If no ballot ranks anything there is no winner (`no_support`).
    """
    listed = _checked_options(options)
    weights = _ballot_weights(eligible, ballots, carried)
    d = pairwise_preferences(weights, ballots, listed)
    p = strongest_paths(d)
    n = len(listed)
    totals: dict[int, int | Fraction] = {listed[x]: sum(1 for y in range(n) if p[x][y] > p[y][x]) for x in range(n)}
    order = _schulze_tiers(p, listed)
    leader, tied = _first_tier(order, supported=any(any(row) for row in d))
    return _result(
        Method.RANKED,
        listed,
        eligible_weight=sum(eligible.values()),
        voted_weight=sum(weights.values()),
        quorum=quorum,
        totals=totals,
        order=order,
        leader=leader,
        tied=tied,
        tie_rule=SCHULZE_FIRST_LISTED_WINS,
        pairwise=d,
        strongest_paths=p,
        schulze_winners=order[0],
    )


# --- ranked: instant-runoff --------------------------------------------------------------------


def _runoff_rounds(
    weights: Mapping[str, int], rankings: Mapping[str, tuple[int, ...]], listed: tuple[int, ...]
) -> tuple[tuple[IrvRound, ...], int | None]:
    """Every instant-runoff round, and the option holding a majority at the end (None if no
    ballot ranks anything)."""
    continuing = list(listed)
    rounds: list[IrvRound] = []
    while continuing:
        totals = dict.fromkeys(continuing, 0)
        exhausted = 0
        for agent, ranking in rankings.items():
            top = next((o for o in ranking if o in totals), None)
            if top is None:
                exhausted += weights[agent]
            else:
                totals[top] += weights[agent]
        live = sum(totals.values())
        if live == 0:
            rounds.append(IrvRound(len(rounds) + 1, totals, exhausted, None))
            return tuple(rounds), None
        leader = max(continuing, key=lambda o: totals[o])
        if 2 * totals[leader] > live:
            rounds.append(IrvRound(len(rounds) + 1, totals, exhausted, None))
            return tuple(rounds), leader
        least = min(totals.values())
        tied = tuple(o for o in continuing if totals[o] == least)
        eliminated = tied[-1]
        rounds.append(IrvRound(len(rounds) + 1, totals, exhausted, eliminated, tied if len(tied) > 1 else ()))
        continuing.remove(eliminated)
    return tuple(rounds), None  # not reached: one continuing option with live weight holds it all


def tally_ranked_irv(
    eligible: Mapping[str, int],
    ballots: Mapping[str, RankingBallot],
    options: Sequence[int],
    *,
    quorum: Fraction,
    carried: Mapping[str, int] | None = None,
) -> OptionResult:
    """Ranked voting by instant-runoff.

    Each round counts every ballot's weight for its highest-ranked continuing option; a ballot
    with no continuing option ranked is exhausted and drops out. An option with more than half
    of the weight on continuing options wins. Otherwise the option with the least weight is
    eliminated (among those tied for least, the one listed last) and a new round is counted.
    Every round is recorded. An option's figure is its weight in the last round (0 for options
    eliminated before it). `tied` names the continuing options of the round before the winning
    round when they all held the same weight (the tie rule, not the ballots, separated them).
    If no ballot ranks anything there is no winner (`no_support`).
    """
    listed = _checked_options(options)
    weights = _ballot_weights(eligible, ballots, carried)
    rankings = {agent: _checked_ranking(agent, ranking, listed) for agent, ranking in ballots.items()}
    rounds, leader = _runoff_rounds(weights, rankings, listed)
    last = rounds[-1]
    totals: dict[int, int | Fraction] = {o: last.totals.get(o, 0) for o in listed}
    others: dict[int, int | Fraction] = {o: w for o, w in last.totals.items() if o != leader}
    eliminated = [r.eliminated for r in rounds if r.eliminated is not None]
    winner_tier: tuple[tuple[int, ...], ...] = ((leader,),) if leader is not None else ()
    order = winner_tier + _tiers_by_figure(tuple(others), others) + tuple((o,) for o in reversed(eliminated))
    tied: tuple[int, ...] = ()
    if leader is not None and len(rounds) > 1:
        before = rounds[-2].totals
        if len(set(before.values())) == 1:
            tied = tuple(before)
    return _result(
        Method.RANKED_IRV,
        listed,
        eligible_weight=sum(eligible.values()),
        voted_weight=sum(weights.values()),
        quorum=quorum,
        totals=totals,
        order=order,
        leader=leader,
        tied=tied,
        tie_rule=IRV_LAST_LISTED_ELIMINATED,
        rounds=rounds,
    )
