"""The ranked methods (DESIGN §20), in exact numbers: `ranked` (Schulze: the pairwise matrix, the
strongest paths, the winners and the full order) and `ranked_irv` (instant-runoff, every round
recorded). A ballot ranks option ids, most preferred first; options it leaves out rank below the
ones it ranks, equal among themselves. What every method shares (the result, quorum, tie rules)
is in `methods.py`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from hivegov_mcp.domain.methods import (
    IRV_LAST_LISTED_ELIMINATED,
    SCHULZE_FIRST_LISTED_WINS,
    IrvRound,
    Method,
    OptionResult,
    RankingBallot,
    ballot_weights,
    checked_options,
    first_tier,
    option_result,
    tiers_by_figure,
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
    listed = checked_options(options)
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
    listed = checked_options(options)
    weights = ballot_weights(eligible, ballots, carried)
    d = pairwise_preferences(weights, ballots, listed)
    p = strongest_paths(d)
    n = len(listed)
    totals: dict[int, int | Fraction] = {listed[x]: sum(1 for y in range(n) if p[x][y] > p[y][x]) for x in range(n)}
    order = _schulze_tiers(p, listed)
    leader, tied = first_tier(order, supported=any(any(row) for row in d))
    return option_result(
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
    listed = checked_options(options)
    weights = ballot_weights(eligible, ballots, carried)
    rankings = {agent: _checked_ranking(agent, ranking, listed) for agent, ranking in ballots.items()}
    rounds, leader = _runoff_rounds(weights, rankings, listed)
    last = rounds[-1]
    totals: dict[int, int | Fraction] = {o: last.totals.get(o, 0) for o in listed}
    others: dict[int, int | Fraction] = {o: w for o, w in last.totals.items() if o != leader}
    eliminated = [r.eliminated for r in rounds if r.eliminated is not None]
    winner_tier: tuple[tuple[int, ...], ...] = ((leader,),) if leader is not None else ()
    order = winner_tier + tiers_by_figure(tuple(others), others) + tuple((o,) for o in reversed(eliminated))
    tied: tuple[int, ...] = ()
    if leader is not None and len(rounds) > 1:
        before = rounds[-2].totals
        if len(set(before.values())) == 1:
            tied = tuple(before)
    return option_result(
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
