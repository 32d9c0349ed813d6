"""Every closed vote is recounted from its events alone (issue 19): the ballots its closing event
records, the electorate its opening event froze, the rules of the version it froze. A server that
miscounts writes a tally the table and the log agree on, and only the recount can name it."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.recount import recount_majority
from hivegov_mcp.domain.tally import Outcome, RejectReason, Tally, tally_votes
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

    monkeypatch.setattr(engine, "tally_votes", swapped)
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
