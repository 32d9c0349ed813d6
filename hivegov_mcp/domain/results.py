"""The stored records of a closed count, as the public results show them (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hivegov_mcp.domain.counting import figure_value
from hivegov_mcp.domain.vote_models import Ballot, OptionFigure, OptionTally, RunoffRound, UncountedVoter


def carried_ballots(ballots: Sequence[Ballot], delegation: Mapping[str, Any] | None, *, closed: bool) -> list[Ballot]:
    """Each ballot with the weight it counted with and whose delegated weight it carried (after
    close; while open, weights as cast)."""
    if not closed:
        return list(ballots)
    carried: Mapping[str, Any] = (delegation or {}).get("carried", {})
    shown = []
    for b in ballots:
        extra = carried.get(b.agent_id)
        weight = int(extra["weight"]) if extra else b.weight
        by = [str(a) for a in extra["delegated_by"]] if extra else []
        shown.append(b.model_copy(update={"carried_weight": weight, "delegated_by": by}))
    return shown


def uncounted_voters(delegation: Mapping[str, Any]) -> list[UncountedVoter]:
    return [
        UncountedVoter(agent_id=u["agent"], weight=u["weight"], reason=u["reason"], chain=u["chain"])
        for u in delegation.get("uncounted", [])
    ]


def option_tally(record: Mapping[str, Any], labels: Sequence[str]) -> OptionTally:
    """A result record (`counting.result_record`) with its options' labels."""

    def label(option: int) -> str:
        return labels[option - 1] if 0 < option <= len(labels) else f"option {option}"

    winner = record["winner"]
    method = record["method"]
    return OptionTally(
        winner=winner,
        winner_label=label(winner) if winner is not None else None,
        figures=[
            OptionFigure(option=int(o), label=label(int(o)), figure=str(f).removesuffix("/1"), value=figure_value(f))
            for o, f in record["totals"].items()
        ],
        order=record["order"],
        tied=record["tied"],
        tie_rule=record["tie_rule"],
        pairwise=record["pairwise"] if method == "ranked" else None,
        strongest_paths=record["strongest_paths"] if method == "ranked" else None,
        schulze_winners=record["schulze_winners"] if method == "ranked" else None,
        rounds=[
            RunoffRound(
                number=r["number"],
                totals={int(o): w for o, w in r["totals"].items()},
                exhausted=r["exhausted"],
                eliminated=r["eliminated"],
                tied_for_last=r["tied_for_last"],
            )
            for r in record["rounds"]
        ]
        if method == "ranked_irv"
        else None,
    )
