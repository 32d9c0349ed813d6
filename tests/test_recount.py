"""Every closed vote is recounted from its events alone (issue 19): the ballots its closing event
records, the electorate its opening event froze, the rules of the version it froze. A server that
miscounts writes a tally the table and the log agree on, and only the recount can name it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain import counting
from hivegov_mcp.domain.config import DecisionMethod
from hivegov_mcp.domain.counting import consensus_of, count_options, delegation_record, result_record
from hivegov_mcp.domain.delegation import resolve_delegations
from hivegov_mcp.domain.delegation_log import DelegationHistory, DelegationRow, check_delegations
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.recount import FrozenRules, recount, recount_majority
from hivegov_mcp.domain.replay_events import Disagreement, LoggedEvent
from hivegov_mcp.domain.tally import Decision, Outcome, RejectReason, Tally, fraction_text, tally_votes
from hivegov_mcp.service import GovernanceService, engine
from tests.conftest import PROPOSAL, Cast

WHY = "I weighed the specification against the motivation and it holds up."
CLOSING = {
    "ballots": {"bob": "approve", "carol": "approve", "dave": "reject"},
    "tally": {"approve": 2, "reject": 1, "abstain": 0},
    "quorum_met": True,
    "reason": None,
    "to": "approved",
}
EVERYONE = {"bob": 1, "carol": 1, "dave": 1}


def test_a_closing_event_that_agrees_with_its_ballots_recounts_clean() -> None:
    assert recount_majority(CLOSING, EVERYONE, quorum=Fraction(3, 5), threshold=Fraction(2, 3), version=1) is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"to": "rejected"}, "to 'rejected' (the ballots give 'approved')"),
        ({"tally": {"approve": 3, "reject": 0, "abstain": 0}}, "tally {'approve': 3"),
        ({"quorum_met": False}, "quorum_met False (the ballots give True)"),
        ({"ballots": {"bob": "approve", "erin": "approve"}}, "can't be counted"),
        ({"ballots": None}, "records no ballots"),
    ],
)
def test_a_closing_event_that_does_not_follow_from_its_ballots_is_named(change: dict[str, object], named: str) -> None:
    problem = recount_majority(
        {**CLOSING, **change}, EVERYONE, quorum=Fraction(3, 5), threshold=Fraction(2, 3), version=1
    )
    assert problem is not None and named in problem


def test_the_recount_uses_the_frozen_threshold() -> None:
    # 2 of 3 approve: approved at a 2/3 threshold, rejected at 3/4
    problem = recount_majority(CLOSING, EVERYONE, quorum=Fraction(3, 5), threshold=Fraction(3, 4), version=1)
    assert problem is not None and "the ballots give 'rejected'" in problem


@pytest.mark.anyio
@pytest.mark.both_stores
async def test_a_server_that_miscounts_is_named_by_verify_though_table_and_log_agree(
    service: GovernanceService, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    honest = await _closed_vote(service, cast)
    assert (await service.verify_audit()).ok  # a vote counted right recounts clean

    def swapped(*args: object, **kwargs: object) -> Tally:  # a counting bug: approvals and rejections swapped
        right = tally_votes(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(
            right,
            approve=right.reject,
            reject=right.approve,
            outcome=Outcome.REJECTED,
            reason=RejectReason.THRESHOLD_NOT_MET,
        )

    monkeypatch.setattr(counting, "tally_votes", swapped)
    miscounted = await _closed_vote(service, cast)
    monkeypatch.undo()
    check = await service.verify_audit()

    assert honest != miscounted
    assert not check.ok and check.row == f"tallies: {miscounted}"
    assert check.problem is not None and "the ballots give 'approved'" in check.problem


async def _closed_vote(service: GovernanceService, cast: Cast) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    for name in ("bob", "carol", "dave"):
        await service.cast_vote(cast[name], pid, "approve", WHY)
    closed = await service.get_proposal(LOCAL_ADMIN, pid)
    assert closed.status.value in ("approved", "rejected")
    return pid


@pytest.mark.anyio
@pytest.mark.both_stores
async def test_a_closing_event_stating_other_rules_than_its_frozen_version_is_named(
    service: GovernanceService, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "fraction_text", lambda value: "1/2")  # a server writing the wrong rules down
    pid = await _closed_vote(service, cast)
    monkeypatch.undo()
    check = await service.verify_audit()

    assert not check.ok and check.row == f"tallies: {pid}"
    assert check.problem is not None and "says it counted under quorum 1/2 and threshold 1/2" in check.problem


# --- votes on options, recounted from their closing events (pure) -----------------------------

SCHULZE = FrozenRules(DecisionMethod.RANKED, Fraction(1, 2), Fraction(2, 3))
IRV = FrozenRules(DecisionMethod.RANKED_IRV, Fraction(1, 2), Fraction(2, 3))
APPROVAL = FrozenRules(DecisionMethod.APPROVAL, Fraction(1, 2), Fraction(2, 3))
SCORE = FrozenRules(DecisionMethod.SCORE, Fraction(1, 2), Fraction(2, 3))
MAJORITY = FrozenRules(DecisionMethod.MAJORITY, Fraction(3, 5), Fraction(2, 3))

# Wikipedia, "Schulze method", section "Example": 45 voters, candidates A-E, E wins.
WIKIPEDIA_SCHULZE = [
    (5, "ACBED"),
    (5, "ADECB"),
    (8, "BEDAC"),
    (3, "CABED"),
    (7, "CAEBD"),
    (2, "CBADE"),
    (7, "DCEBA"),
    (8, "EBADC"),
]
# Wikipedia, "Instant-runoff voting", the Tennessee capital example: Knoxville wins in round 3.
TENNESSEE_VOTERS = [(42, "MNCK"), (26, "NCKM"), (15, "CKNM"), (17, "KCNM")]


def _voters(letters: str, groups: list[tuple[int, str]]) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """One agent of weight 1 per voter, each ranking options numbered by their letter's place."""
    eligible: dict[str, int] = {}
    ballots: dict[str, dict[str, Any]] = {}
    for count, ranking in groups:
        for _ in range(count):
            agent = f"voter{len(eligible) + 1:02}"
            eligible[agent] = 1
            ballots[agent] = {"ranking": [letters.index(letter) + 1 for letter in ranking]}
    return eligible, ballots


def _closing(
    rules: FrozenRules,
    eligible: Mapping[str, int],
    ballots: Mapping[str, Any],
    labels: list[str] | None = None,
    delegations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A closing event as an honest server writes it (service/engine.py `close_voting`)."""
    flow = resolve_delegations(eligible, set(ballots), delegations or {})
    record = delegation_record(flow)
    event: dict[str, Any] = {"rules_version": 1, "quorum": fraction_text(rules.quorum)}
    if rules.method is DecisionMethod.MAJORITY:
        tally = tally_votes(
            eligible,
            {a: Decision(d) for a, d in ballots.items()},
            quorum=rules.quorum,
            threshold=rules.threshold,
            carried=flow.ballot_weights,
        )
        event |= {
            "tally": {d.value: getattr(tally, d.value) for d in Decision},
            "approval_threshold": fraction_text(rules.threshold),
            "quorum_met": tally.quorum_met,
            "consensus": str(tally.consensus),
            "reason": tally.reason.value if tally.reason else None,
            "to": tally.outcome.value,
        }
    else:
        assert labels is not None
        result = count_options(
            rules.method, eligible, ballots, len(labels), quorum=rules.quorum, carried=flow.ballot_weights
        )
        event |= {
            "method": rules.method.value,
            "options": labels,
            "result": result_record(result),
            "quorum_met": result.quorum_met,
            "consensus": str(consensus_of(result)),
            "reason": result.reason.value if result.reason else None,
            "to": "approved" if result.winner is not None else "rejected",
        }
    return event | {
        "ballots": dict(ballots),
        "delegations": dict(sorted((delegations or {}).items())),
        "carried": record["carried"],
    }


def _recounted(event: Mapping[str, Any], eligible: Mapping[str, int], rules: FrozenRules, **kw: Any) -> str | None:
    return recount(event, eligible, rules=rules, version=1, delegations=kw.get("delegations", {}))


def test_wikipedias_schulze_example_recounts_to_e_and_a_log_naming_another_winner_is_named() -> None:
    eligible, ballots = _voters("ABCDE", WIKIPEDIA_SCHULZE)
    honest = _closing(SCHULZE, eligible, ballots, list("ABCDE"))
    assert honest["result"]["winner"] == 5 and honest["result"]["schulze_winners"] == [5]
    assert _recounted(honest, eligible, SCHULZE) is None

    claims_a = {**honest, "result": {**honest["result"], "winner": 1}}
    problem = _recounted(claims_a, eligible, SCHULZE)
    assert problem is not None and "result.winner 1 (the ballots give 5)" in problem

    # d[A][B] is 20 in Wikipedia's matrix; a log that wrote 21 is named though its winner is right
    pairwise = [list(row) for row in honest["result"]["pairwise"]]
    pairwise[0][1] = 21
    problem = _recounted({**honest, "result": {**honest["result"], "pairwise": pairwise}}, eligible, SCHULZE)
    assert problem is not None and "result.pairwise" in problem and "[0, 20, 26, 30, 22]" in problem


def test_the_tennessee_runoff_recounts_to_knoxville_and_a_log_with_other_rounds_is_named() -> None:
    eligible, ballots = _voters("MNCK", TENNESSEE_VOTERS)
    honest = _closing(IRV, eligible, ballots, ["Memphis", "Nashville", "Chattanooga", "Knoxville"])
    assert honest["result"]["winner"] == 4
    assert [r["eliminated"] for r in honest["result"]["rounds"]] == [3, 2, None]
    assert _recounted(honest, eligible, IRV) is None

    # a server that eliminated Knoxville first: Nashville would win
    rounds = [{**r} for r in honest["result"]["rounds"]]
    rounds[0]["eliminated"] = 4
    problem = _recounted({**honest, "result": {**honest["result"], "rounds": rounds}}, eligible, IRV)
    assert problem is not None and "result.rounds" in problem


def test_approval_and_score_logs_whose_figures_or_consensus_differ_are_named() -> None:
    eligible = {"ann": 3, "ben": 2, "cyd": 1}
    approvals = {"ann": {"approvals": [1]}, "ben": {"approvals": [2, 3]}, "cyd": {"approvals": [2]}}
    honest = _closing(APPROVAL, eligible, approvals, ["x", "y", "z"])
    assert honest["result"]["totals"] == {"1": 3, "2": 3, "3": 2} and honest["result"]["winner"] == 1
    assert _recounted(honest, eligible, APPROVAL) is None
    inflated = {**honest, "result": {**honest["result"], "totals": {"1": 3, "2": 4, "3": 2}}}
    problem = _recounted(inflated, eligible, APPROVAL)
    assert problem is not None and "result.totals" in problem

    scores = {"ann": {"scores": {"1": 5, "2": 1}}, "ben": {"scores": {"1": 0, "2": 5}}}
    honest = _closing(SCORE, eligible, scores, ["x", "y"])
    assert honest["result"]["totals"] == {"1": "3/1", "2": "13/5"} and honest["consensus"] == "3/5"
    assert _recounted(honest, eligible, SCORE) is None
    problem = _recounted({**honest, "consensus": "1"}, eligible, SCORE)
    assert problem is not None and "consensus '1' (the ballots give '3/5')" in problem


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"method": "approval"}, "it says it counted by approval; rules version 1 decides this type by ranked"),
        ({"quorum": "1/4"}, "it says it counted under quorum 1/4; rules version 1 has 1/2"),
        ({"ballots": {"bob": {"approvals": [1]}}}, "bob's ballot is not a ballot of ranking"),
        ({"ballots": {"zed": {"ranking": [1]}}}, "ballots from agents outside the eligible set: ['zed']"),
        ({"options": None}, "it records no options"),
        ({"to": "rejected"}, "to 'rejected' (the ballots give 'approved')"),
        ({"reason": "no_support"}, "reason 'no_support' (the ballots give None)"),
    ],
)
def test_a_closing_event_on_options_that_does_not_follow_from_its_ballots_is_named(
    change: dict[str, Any], named: str
) -> None:
    eligible = {"bob": 1, "carol": 1, "dave": 1}
    ballots = {"bob": {"ranking": [1, 2]}, "carol": {"ranking": [2, 1]}, "dave": {"ranking": [1]}}
    honest = _closing(SCHULZE, eligible, ballots, ["x", "y"])
    assert _recounted(honest, eligible, SCHULZE) is None
    problem = _recounted({**honest, **change}, eligible, SCHULZE)
    assert problem is not None and named in problem, problem


# --- delegation, recounted (pure) ----------------------------------------------------------------

ELECTORATE = {"bob": 1, "carol": 1, "dave": 1, "erin": 1}
SPLIT = {"bob": "approve", "carol": "reject", "dave": "reject"}  # 1-2: rejected; erin's weight decides


def test_a_delegated_weight_is_recounted_with_its_ballot_and_a_log_that_dropped_it_is_named() -> None:
    delegations = {"erin": "bob", "bob": "carol"}  # bob voted, so his own delegation is overridden
    honest = _closing(MAJORITY, ELECTORATE, SPLIT, delegations=delegations)
    assert honest["tally"] == {"approve": 2, "reject": 2, "abstain": 0}
    assert honest["carried"] == {"bob": {"weight": 2, "delegated_by": ["erin"]}}
    assert _recounted(honest, ELECTORATE, MAJORITY, delegations=delegations) is None

    ignored = _closing(MAJORITY, ELECTORATE, SPLIT)  # counted as if no one delegated
    problem = _recounted(ignored, ELECTORATE, MAJORITY, delegations=delegations)
    assert (
        problem is not None
        and "it has bob delegating to no one; the log's delegation events left bob delegating to carol" in problem
    )

    hidden = {**ignored, "delegations": delegations}  # names the delegations, counts without them
    problem = _recounted(hidden, ELECTORATE, MAJORITY, delegations=delegations)
    assert problem is not None
    assert "tally {'approve': 1, 'reject': 2, 'abstain': 0} (the ballots give {'approve': 2" in problem
    assert "carried {} (the ballots give {'bob': {'weight': 2, 'delegated_by': ['erin']}})" in problem


def test_a_log_without_delegations_recounts_clean_when_none_were_in_force() -> None:
    older = {k: v for k, v in _closing(MAJORITY, ELECTORATE, SPLIT).items() if k not in ("delegations", "carried")}
    assert _recounted(older, ELECTORATE, MAJORITY) is None
    problem = _recounted(older, ELECTORATE, MAJORITY, delegations={"erin": "bob"})
    assert problem == "it records no delegations; the log had 1 in force when it closed"


def test_a_delegation_cycle_carries_no_weight_in_the_recount() -> None:
    cycle = {"erin": "dave2", "dave2": "erin"}
    eligible = {**ELECTORATE, "dave2": 1}
    honest = _closing(MAJORITY, eligible, SPLIT, delegations=cycle)
    assert honest["carried"] == {} and honest["tally"] == {"approve": 1, "reject": 2, "abstain": 0}
    assert _recounted(honest, eligible, MAJORITY, delegations=cycle) is None
    claims = {**honest, "carried": {"bob": {"weight": 3, "delegated_by": ["dave2", "erin"]}}}
    problem = _recounted(claims, eligible, MAJORITY, delegations=cycle)
    assert problem is not None and "carried {'bob'" in problem


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from([APPROVAL, SCORE, SCHULZE, IRV, MAJORITY]),
    voted=st.sets(st.sampled_from(sorted(ELECTORATE)), min_size=1),
    delegations=st.dictionaries(
        st.sampled_from([*ELECTORATE, "zed"]), st.sampled_from([*ELECTORATE, "zed"]), max_size=5
    ),
    seed=st.integers(0, 10_000),
)
def test_an_honest_close_with_any_delegations_recounts_clean_and_no_weight_counts_twice(
    method: FrozenRules, voted: set[str], delegations: dict[str, str], seed: int
) -> None:
    delegations = {a: d for a, d in delegations.items() if a != d}
    eligible = {a: 1 + (seed >> i) % 3 for i, a in enumerate(sorted(ELECTORATE))}
    ballots = {a: _some_ballot(method.method, seed + i) for i, a in enumerate(sorted(voted))}
    honest = _closing(method, eligible, ballots, ["x", "y", "z"], delegations)

    assert _recounted(honest, eligible, method, delegations=delegations) is None
    carried = [c["weight"] for c in honest["carried"].values()]
    delegators = [a for c in honest["carried"].values() for a in c["delegated_by"]]
    assert len(delegators) == len(set(delegators)) and not set(delegators) & set(ballots)
    assert sum(carried) + sum(eligible[a] for a in ballots if a not in honest["carried"]) <= sum(eligible.values())


def _some_ballot(method: DecisionMethod, seed: int) -> Any:
    if method is DecisionMethod.MAJORITY:
        return ("approve", "reject", "abstain")[seed % 3]
    if method is DecisionMethod.APPROVAL:
        return {"approvals": [o for o in (1, 2, 3) if seed >> o & 1]}
    if method is DecisionMethod.SCORE:
        return {"scores": {str(o): (seed >> o) % 6 for o in (1, 2, 3)}}
    return {"ranking": [(seed + i) % 3 + 1 for i in range(1 + seed % 3)]}


# --- the delegations the log set and revoked (pure) ----------------------------------------------


def _delegation_events() -> DelegationHistory:
    def event(seq: int, action: str, **payload: Any) -> LoggedEvent:
        return LoggedEvent(seq=seq, action=action, actor="dave", payload=payload)

    return DelegationHistory(
        {
            "dave": [
                event(3, "delegate_vote", to="bob", proposal_type=None, replaces=None),
                event(5, "delegate_vote", to="carol", proposal_type="standards", replaces=None),
                event(8, "revoke_delegation", proposal_type=None, was="bob"),
                event(9, "register_agent", roles=["voter"]),  # not a delegation event: passed over
            ],
            "erin": [event(4, "delegate_vote", to="dave", proposal_type="process", replaces=None)],
        }
    )


def test_the_delegations_in_force_at_a_close_are_the_logs_as_of_that_event_type_specific_first() -> None:
    history = _delegation_events()
    assert history.effective("standards", 3) == {}  # the event at 3 is not yet in force at 3
    assert history.effective("standards", 4) == {"dave": "bob"}
    assert history.effective("standards", 6) == {"dave": "carol"}
    assert history.effective("process", 6) == {"dave": "bob", "erin": "dave"}
    assert history.effective("process", 9) == {"erin": "dave"}
    assert history.effective("informational", 9) == {}


@pytest.mark.parametrize(
    ("table", "named"),
    [
        (
            [("dave", "standards", "carol"), ("erin", "process", "dave")],
            None,
        ),
        (
            [("dave", "standards", "bob"), ("erin", "process", "dave")],
            Disagreement(
                "delegations: dave for standards", "delegates to bob; the log's last delegate_vote gave carol", 5
            ),
        ),
        (
            [("erin", "process", "dave")],
            Disagreement(
                "delegations: dave for standards", "the log left it in force (to carol); its row was deleted", 5
            ),
        ),
        (
            [("dave", "", "bob"), ("dave", "standards", "carol"), ("erin", "process", "dave")],
            Disagreement(
                "delegations: dave for every type",
                "says dave delegates to bob; the log has no such delegation in force",
                8,
            ),
        ),
    ],
    ids=["as the log left them", "a delegate changed", "a row deleted", "a revoked one back"],
)
def test_the_delegations_table_is_checked_against_the_logs_replay(
    table: list[tuple[str, str, str]], named: Disagreement | None
) -> None:
    rows = [DelegationRow(agent, kind, delegate) for agent, kind, delegate in table]
    assert check_delegations(rows, _delegation_events()) == named
