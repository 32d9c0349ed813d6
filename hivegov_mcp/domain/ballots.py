"""A proposal's options and the ballot its method takes (DESIGN §20), checked before anything is
written, with messages that name the option and say what to give instead.

Options are short labels; an option's id is its position, from 1. A ballot on options is stored,
committed to and counted as a small JSON object with one key:

    approval     {"approvals": [1, 3]}                   the options approved (any number, even none)
    score        {"scores": {"1": 4, "2": 0, "3": 5}}    every option, a whole score 0 to 5
    ranked,      {"ranking": [2, 1]}                      option ids, most preferred first; options
    ranked_irv                                            left out rank below, equal among themselves
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.config import DecisionMethod
from hivegov_mcp.domain.errors import InvalidInput
from hivegov_mcp.domain.methods import SCORE_MAX, SCORE_MIN
from hivegov_mcp.domain.tally import Decision

MIN_OPTIONS, MAX_OPTIONS = 2, 20
MAX_OPTION_LABEL = 120  # characters

# The cast_vote field each method takes.
BALLOT_FIELD = {
    DecisionMethod.MAJORITY: "decision",
    DecisionMethod.APPROVAL: "approvals",
    DecisionMethod.SCORE: "scores",
    DecisionMethod.RANKED: "ranking",
    DecisionMethod.RANKED_IRV: "ranking",
}
BALLOT_HELP = {
    "decision": "decision: approve, reject or abstain",
    "approvals": "approvals: the ids of the options you approve (any number, even none)",
    "scores": f"scores: every option id with a whole score from {SCORE_MIN} to {SCORE_MAX}",
    "ranking": "ranking: option ids, most preferred first, leaving out any you rank last",
}


def checked_options(labels: Sequence[str]) -> list[str]:
    """2 to 20 distinct labels, each one line of at most 120 characters, stripped."""
    if not MIN_OPTIONS <= len(labels) <= MAX_OPTIONS:
        raise InvalidInput("options", f"has {len(labels)} labels; give {MIN_OPTIONS} to {MAX_OPTIONS}")
    seen: dict[str, int] = {}
    kept: list[str] = []
    for number, label in enumerate(labels, start=1):
        field = f"options[{number}]"
        limits.check_text(field, label, max_bytes=4 * MAX_OPTION_LABEL)
        text = label.strip()
        if len(text) > MAX_OPTION_LABEL:
            raise InvalidInput(field, f"is {len(text)} characters; the limit is {MAX_OPTION_LABEL}. Shorten it.")
        if any(c in text for c in "\r\n\t") or not text.isprintable():
            raise InvalidInput(field, f"{text[:40]!r} must be one line of printable text")
        key = unicodedata.normalize("NFKC", text).casefold()  # "Café" twice, or "Ａ" and "A", is one option
        if key in seen:
            raise InvalidInput(field, f"{text!r} repeats option {seen[key]}; each option must differ")
        seen[key] = number
        kept.append(text)
    return kept


def options_fit(method: DecisionMethod, labels: Sequence[str]) -> bool | None:
    """Whether a proposal's options fit its method: None when they do, True when the method needs
    options it lacks, False when it has options the method doesn't vote on."""
    if method.votes_on_options and len(labels) < MIN_OPTIONS:
        return True
    if labels and not method.votes_on_options:
        return False
    return None


def check_options_fit(proposal_type: str, method: DecisionMethod, labels: Sequence[str]) -> None:
    """A proposal carries options exactly when its type's method votes on them."""
    needs = options_fit(method, labels)
    if needs is True:
        raise InvalidInput(
            "options",
            f"is missing: {proposal_type} proposals are decided by {method.value}; give "
            f"{MIN_OPTIONS} to {MAX_OPTIONS} option labels to vote on",
        )
    if needs is False:
        raise InvalidInput(
            "options",
            f"{proposal_type} proposals are decided by {method.value}, which votes on no options; leave options "
            "out (they are for types decided by approval, score, ranked or ranked_irv)",
        )


def _option_id(field: str, value: object, labels: Sequence[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= len(labels):
        listed = "; ".join(f"{i} = {label!r}" for i, label in enumerate(labels, start=1))
        raise InvalidInput(field, f"{value!r} is not an option id of this proposal: use one of {listed}")
    return value


def _refuse_others(proposal_id: str, method: DecisionMethod, given: Mapping[str, object]) -> None:
    field = BALLOT_FIELD[method]
    wrong = [name for name, value in given.items() if value is not None and name != field]
    if wrong or given.get(field) is None:
        what = f"{' and '.join(wrong)} is not its ballot" if wrong else f"{field} is missing"
        raise InvalidInput(
            wrong[0] if wrong else field,
            f"{proposal_id} is decided by {method.value}: give {BALLOT_HELP[field]}; {what}",
        )


def _repeated(ids: Sequence[int]) -> int | None:
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            return i
        seen.add(i)
    return None


def checked_ballot(
    proposal_id: str,
    method: DecisionMethod,
    labels: Sequence[str],
    *,
    decision: str | None = None,
    approvals: Sequence[int] | None = None,
    scores: Mapping[int, int] | Mapping[str, int] | None = None,
    ranking: Sequence[int] | None = None,
) -> Decision | dict[str, Any]:
    """The ballot the proposal's frozen `method` takes, from the one cast_vote field it names: a
    `Decision` for majority, else the ballot's JSON object (see the module's table)."""
    given: dict[str, object] = {"decision": decision, "approvals": approvals, "scores": scores, "ranking": ranking}
    _refuse_others(proposal_id, method, given)
    if method is DecisionMethod.MAJORITY:
        assert decision is not None
        return limits.choice("decision", Decision, decision)
    if method.votes_on_options and not labels:
        raise InvalidInput("proposal_id", f"{proposal_id} has no options to vote on; its vote can't take a ballot")
    if method is DecisionMethod.APPROVAL:
        assert approvals is not None
        if len(approvals) > len(labels):
            raise InvalidInput("approvals", f"lists {len(approvals)} ids; there are {len(labels)} options")
        chosen = [_option_id(f"approvals[{n}]", v, labels) for n, v in enumerate(approvals, start=1)]
        twice = _repeated(chosen)
        if twice is not None:
            raise InvalidInput("approvals", f"names option {twice} twice; list each option at most once")
        return {"approvals": sorted(chosen)}
    if method is DecisionMethod.SCORE:
        assert scores is not None
        scored: dict[int, int] = {}
        for key, score in scores.items():
            option = _option_id("scores", _as_int(key), labels)
            if option in scored:
                raise InvalidInput("scores", f"scores option {option} twice (as {key!r}); score each option once")
            if isinstance(score, bool) or not isinstance(score, int) or not SCORE_MIN <= score <= SCORE_MAX:
                raise InvalidInput(
                    f"scores[{option}]",
                    f"{score!r} for {labels[option - 1]!r} must be a whole score from {SCORE_MIN} to {SCORE_MAX}",
                )
            scored[option] = score
        missing = [i for i in range(1, len(labels) + 1) if i not in scored]
        if missing:
            names = ", ".join(f"{i} ({labels[i - 1]!r})" for i in missing)
            raise InvalidInput("scores", f"leaves out option {names}; score every option ({SCORE_MIN} for none)")
        return {"scores": {str(i): scored[i] for i in sorted(scored)}}
    assert ranking is not None
    if not ranking:
        raise InvalidInput("ranking", "is empty; rank at least your first choice")
    if len(ranking) > len(labels):
        raise InvalidInput("ranking", f"lists {len(ranking)} ids; there are {len(labels)} options")
    ranked = [_option_id(f"ranking[{n}]", v, labels) for n, v in enumerate(ranking, start=1)]
    twice = _repeated(ranked)
    if twice is not None:
        raise InvalidInput("ranking", f"ranks option {twice} twice; rank each option at most once")
    return {"ranking": ranked}


_OPTION_KEY = re.compile(r"[1-9][0-9]{0,3}")


def _as_int(key: object) -> object:
    """An option id given as a JSON object key ("2") is the number 2; "02" or " 2" is not an id."""
    if isinstance(key, str) and _OPTION_KEY.fullmatch(key):
        return int(key)
    return key


def method_ballot(ballot: Mapping[str, Any]) -> object:
    """A stored ballot object as the tally functions take it: a set of ids, a mapping of id to
    score, or a ranking."""
    if "approvals" in ballot:
        return frozenset(int(i) for i in ballot["approvals"])
    if "scores" in ballot:
        return {int(k): int(v) for k, v in ballot["scores"].items()}
    return tuple(int(i) for i in ballot["ranking"])
