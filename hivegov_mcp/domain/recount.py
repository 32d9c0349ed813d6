"""A closed vote recounted from its events alone (issue 19, DESIGN §20), without I/O.

The event that closed a vote records the method and rules it counted under, every counted ballot,
the delegations it followed, the weight each ballot carried, the count (a majority tally, or the
result record of a vote on options), whether the quorum was met, why it was rejected and the
status it led to; the event that opened it froze the electorate and the rules version; the
delegation events before it fix the delegations in force (`delegation_log.py`). Recounting those
ballots with that electorate and those delegations under that version's rules must give what the
closing event recorded: a server that miscounted (or a log written by one) is named by
`verify_audit`, not only a row edited behind the server's back. The count itself is the domain's
own (`tally.py`, `counting.py`); what is checked here is that the log's inputs give the log's
outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hivegov_mcp.domain.ballots import BALLOT_FIELD
from hivegov_mcp.domain.config import DecisionMethod
from hivegov_mcp.domain.counting import consensus_of, count_options, delegation_record, result_record
from hivegov_mcp.domain.delegation import DelegationResult, resolve_delegations
from hivegov_mcp.domain.tally import Decision, fraction_text, tally_votes


@dataclass(frozen=True)
class FrozenRules:
    """What a rules version fixes for a proposal type's vote."""

    method: DecisionMethod
    quorum: Fraction
    threshold: Fraction  # majority only


def recount(
    closing: Mapping[str, Any],
    eligible: Mapping[str, int],
    *,
    rules: FrozenRules,
    version: int,
    delegations: Mapping[str, str],
) -> str | None:
    """What the closing event recorded that its own ballots don't give, counted by the method and
    under the quorum (and threshold) of rules `version`, with `eligible` (the opening event's
    electorate) and `delegations` (agent -> delegate in force at close, the log's), or None."""
    problem = _stated_rules(closing, rules, version) or _stated_delegations(closing, delegations)
    if problem is not None:
        return problem
    ballots = closing.get("ballots")
    if not isinstance(ballots, Mapping):
        return "it records no ballots to recount"
    flow = resolve_delegations(eligible, {str(a) for a in ballots}, delegations)
    try:
        if rules.method is DecisionMethod.MAJORITY:
            expected, consensus = _majority(ballots, eligible, flow, rules)
        else:
            expected, consensus = _options(closing, ballots, eligible, flow, rules)
    except (ValueError, TypeError, KeyError) as exc:  # a ballot outside the electorate, or not of its method
        return f"its ballots can't be counted: {exc}"
    expected.update(_delegation_record(closing, flow))
    recorded = {key: closing.get(key, {} if key == "carried" else None) for key in expected}
    wrong = _differences("", recorded, expected)
    if "consensus" in closing or rules.method is not DecisionMethod.MAJORITY:  # older majority events lack it
        wrong += _consensus_difference(closing.get("consensus"), consensus)
    if wrong:
        return f"its ballots, recounted under the rules it froze, don't give what it recorded: {', '.join(wrong)}"
    return None


def recount_majority(
    closing: Mapping[str, Any], eligible: Mapping[str, int], *, quorum: Fraction, threshold: Fraction, version: int
) -> str | None:
    """`recount` of a majority vote with no delegation in force."""
    rules = FrozenRules(DecisionMethod.MAJORITY, quorum, threshold)
    return recount(closing, eligible, rules=rules, version=version, delegations={})


def _stated_rules(closing: Mapping[str, Any], rules: FrozenRules, version: int) -> str | None:
    """The method, quorum and threshold the event says it counted under against the frozen
    version's. An event without `method` counted by majority (it predates the other methods); an
    event that states no rules at all predates their being stated, and is recounted under the
    version's."""
    method = closing.get("method", DecisionMethod.MAJORITY.value)
    if method != rules.method.value:
        return f"it says it counted by {method}; rules version {version} decides this type by {rules.method.value}"
    if rules.method is DecisionMethod.MAJORITY:
        stated = (closing.get("quorum"), closing.get("approval_threshold"))
        frozen = (fraction_text(rules.quorum), fraction_text(rules.threshold))
        if stated != (None, None) and stated != frozen:
            return (
                f"it says it counted under quorum {stated[0]} and threshold {stated[1]}; rules version {version} "
                f"has {frozen[0]} and {frozen[1]}"
            )
    elif closing.get("quorum") != fraction_text(rules.quorum):
        return (
            f"it says it counted under quorum {closing.get('quorum')}; rules version {version} has "
            f"{fraction_text(rules.quorum)}"
        )
    return None


def _stated_delegations(closing: Mapping[str, Any], delegations: Mapping[str, str]) -> str | None:
    """The delegations the event says it followed against those the log's delegation events left
    in force. An event without `delegations` predates delegation: none may have been in force."""
    stated = closing.get("delegations")
    if stated is None:
        if not delegations:
            return None
        return f"it records no delegations; the log had {len(delegations)} in force when it closed"
    if not isinstance(stated, Mapping):
        return "its delegations are not a map of agent to delegate"
    said = {str(a): d for a, d in stated.items()}
    if said == dict(delegations):
        return None
    agent = sorted(a for a in set(said) | set(delegations) if said.get(a) != delegations.get(a))[0]
    mine = f"to {said[agent]}" if agent in said else "to no one"
    logged = f"to {delegations[agent]}" if agent in delegations else "to no one"
    return f"it has {agent} delegating {mine}; the log's delegation events left {agent} delegating {logged}"


def _majority(
    ballots: Mapping[str, Any], eligible: Mapping[str, int], flow: DelegationResult, rules: FrozenRules
) -> tuple[dict[str, Any], Fraction]:
    decisions = {str(agent): Decision(str(d)) for agent, d in ballots.items()}
    tally = tally_votes(
        eligible, decisions, quorum=rules.quorum, threshold=rules.threshold, carried=_weights(decisions, flow)
    )
    expected = {
        "tally": {d.value: getattr(tally, d.value) for d in Decision},
        "quorum_met": tally.quorum_met,
        "reason": tally.reason.value if tally.reason else None,
        "to": tally.outcome.value,
    }
    return expected, tally.consensus


def _options(
    closing: Mapping[str, Any],
    ballots: Mapping[str, Any],
    eligible: Mapping[str, int],
    flow: DelegationResult,
    rules: FrozenRules,
) -> tuple[dict[str, Any], Fraction]:
    options = closing.get("options")
    if not isinstance(options, list) or not options:
        raise ValueError("it records no options")
    field = BALLOT_FIELD[rules.method]
    for agent, ballot in ballots.items():
        if not isinstance(ballot, Mapping) or set(ballot) != {field}:
            raise ValueError(f"{agent}'s ballot is not a ballot of {field} ({rules.method.value} takes one)")
    result = count_options(
        rules.method,
        eligible,
        {str(a): b for a, b in ballots.items()},
        len(options),
        quorum=rules.quorum,
        carried=_weights(ballots, flow),
    )
    record = result_record(result)
    expected = {
        "result": record,
        "quorum_met": result.quorum_met,
        "reason": record["reason"],
        "to": "approved" if result.winner is not None else "rejected",
    }
    return expected, consensus_of(result)


def _weights(ballots: Mapping[str, Any], flow: DelegationResult) -> dict[str, int] | None:
    """The weight each ballot carries, or None when none carries delegated weight (each counts its own)."""
    if not any(c.delegated_by for c in flow.carried.values()):
        return None
    return {str(agent): flow.carried[str(agent)].weight for agent in ballots if str(agent) in flow.carried}


def _delegation_record(closing: Mapping[str, Any], flow: DelegationResult) -> dict[str, Any]:
    """What the event must say of where delegated weight went: `carried` always (an event without it
    carried none), `uncounted` when it records it."""
    record = delegation_record(flow)
    return {key: record[key] for key in ("carried", "uncounted") if key == "carried" or key in closing}


def _consensus_difference(recorded: object, expected: Fraction) -> list[str]:
    """The recorded consensus against the count's, as exact fractions ("2/3", "1" and "1/1" agree)."""
    try:
        same = Fraction(str(recorded)) == expected
    except (ValueError, ZeroDivisionError):
        same = False
    return [] if same else [f"consensus {recorded!r} (the ballots give {fraction_text(expected)!r})"]


def _differences(prefix: str, recorded: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Each key whose recorded value is not the recounted one, named (into a record, key by key)."""
    wrong: list[str] = []
    for key, value in expected.items():
        mine = recorded.get(key)
        if mine == value:
            continue
        if isinstance(value, Mapping) and isinstance(mine, Mapping) and key == "result":
            wrong += _differences(f"{prefix}{key}.", mine, value)
        else:
            wrong.append(f"{prefix}{key} {mine!r} (the ballots give {value!r})")
    return wrong
