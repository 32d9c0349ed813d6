"""A closed vote recounted from its events alone (issue 19, DESIGN §20), without I/O.

The event that closed a vote records every counted ballot, the tally, whether the quorum was met,
why it was rejected and the status it led to; the event that opened it froze the electorate and
the rules version. Recounting those ballots with that electorate under that version's rules must
give what the closing event recorded: a server that miscounted (or a log written by one) is named
by `verify_audit`, not only a row edited behind the server's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from hivegov_mcp.domain.tally import Decision, fraction_text, tally_votes


def recount_majority(
    closing: Mapping[str, Any], eligible: Mapping[str, int], *, quorum: Fraction, threshold: Fraction, version: int
) -> str | None:
    """What the closing event recorded that its own ballots don't give under rules `version` (its
    quorum and threshold), or None. An event that states the rules it counted under must state these."""
    stated = (closing.get("quorum"), closing.get("approval_threshold"))
    frozen = (fraction_text(quorum), fraction_text(threshold))
    if stated != (None, None) and stated != frozen:
        return (
            f"it says it counted under quorum {stated[0]} and threshold {stated[1]}; rules version {version} has "
            f"{frozen[0]} and {frozen[1]}"
        )
    ballots = closing.get("ballots")
    if not isinstance(ballots, Mapping):
        return "it records no ballots to recount"
    try:
        decisions = {str(agent): Decision(str(d)) for agent, d in ballots.items()}
        tally = tally_votes(eligible, decisions, quorum=quorum, threshold=threshold)
    except ValueError as exc:  # a ballot outside the electorate, or no such decision
        return f"its ballots can't be counted: {exc}"
    counted = {d.value: getattr(tally, d.value) for d in Decision}
    expected = {
        "tally": counted,
        "quorum_met": tally.quorum_met,
        "reason": tally.reason.value if tally.reason else None,
        "to": tally.outcome.value,
    }
    recorded = {key: closing.get(key) for key in expected}
    if recorded != expected:
        wrong = ", ".join(
            f"{k} {recorded[k]!r} (the ballots give {expected[k]!r})" for k in expected if recorded[k] != expected[k]
        )
        return f"its ballots, recounted under the rules it froze, don't give what it recorded: {wrong}"
    return None
