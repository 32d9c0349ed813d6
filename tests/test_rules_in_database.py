"""The rules live in the database (DESIGN §4): one version in force for every process, frozen
with the eligible set when voting opens, and a closed vote is read, never recounted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, canonical_toml, parse_config, rules_hash
from hivegov_mcp.domain.errors import PermissionDenied, RulesMismatch
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.conftest import PROPOSAL, Cast

pytestmark = pytest.mark.anyio

ONE_THIRD = parse_config('[governance]\napproval_threshold = "1/3"\n')
JUSTIFICATION = "I weighed the specification against the motivation."


async def _in_voting(service: GovernanceService, cast: Cast) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    return pid


async def test_a_new_database_stores_the_given_rules_as_version_one_with_an_audit_event(
    db_path: Path, clock: FakeClock
) -> None:
    async with open_service(Settings(db=db_path, rules=ONE_THIRD, clock=clock)) as service:
        shown = await service.show_rules()
        log = await service.get_audit_log(LOCAL_ADMIN)

    assert (shown.version, shown.hash, shown.toml) == (1, rules_hash(ONE_THIRD), canonical_toml(ONE_THIRD))
    assert [(e.action, e.subject, e.payload["version"], e.payload["hash"]) for e in log.events] == [
        ("rules_changed", "rules", 1, rules_hash(ONE_THIRD))
    ]


async def test_a_process_whose_rules_differ_from_the_database_refuses_to_start_naming_both_hashes(
    db_path: Path, clock: FakeClock
) -> None:
    async with open_service(Settings(db=db_path, clock=clock)):
        pass

    with pytest.raises(RulesMismatch) as refused:
        async with open_service(Settings(db=db_path, rules=ONE_THIRD, rules_source="third.toml", clock=clock)):
            pass

    text = str(refused.value)
    assert rules_hash(ONE_THIRD) in text and rules_hash(GovernanceConfig()) in text
    assert f"hivegov-mcp --db {db_path} rules set third.toml" in text


async def test_a_process_without_rules_of_its_own_uses_the_database_rules(db_path: Path, clock: FakeClock) -> None:
    async with open_service(Settings(db=db_path, rules=ONE_THIRD, clock=clock)):
        pass
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        assert (await service.show_rules()).hash == rules_hash(ONE_THIRD)
        status = await service.get_governance_status(LOCAL_ADMIN)
    assert (status.rules_version, status.rules_hash) == (1, rules_hash(ONE_THIRD))


async def test_rules_written_differently_but_meaning_the_same_have_the_same_hash() -> None:
    spelled = parse_config(
        '[governance]\nquorum = "3/5"\nvoting_minutes = 30\n[governance.types.process]\nquorum = 0.6\n'
    )

    assert rules_hash(spelled) == rules_hash(GovernanceConfig())
    assert rules_hash(parse_config(canonical_toml(ONE_THIRD))) == rules_hash(ONE_THIRD)


async def test_setting_new_rules_stores_a_version_and_setting_them_again_stores_nothing(
    service: GovernanceService, cast: Cast
) -> None:
    first, receipt = await service.set_rules(LOCAL_ADMIN, ONE_THIRD, source="third.toml")
    again, none = await service.set_rules(LOCAL_ADMIN, ONE_THIRD, source="third.toml")

    assert first.version == 2 and receipt is not None
    assert (again, none) == (first, None)
    event = (await service.get_audit_log(LOCAL_ADMIN, after_seq=receipt.seq - 1, limit=1)).events[0]
    assert (event.action, event.payload["version"], event.payload["previous_hash"]) == (
        "rules_changed",
        2,
        rules_hash(GovernanceConfig()),
    )
    with pytest.raises(PermissionDenied, match="set_rules: it needs the admin role"):
        await service.set_rules(cast["alice"], GovernanceConfig(), source="x.toml")


async def test_a_vote_runs_under_the_rules_in_force_when_it_opened(service: GovernanceService, cast: Cast) -> None:
    pid = await _in_voting(service, cast)  # frozen under version 1: threshold 2/3
    await service.set_rules(LOCAL_ADMIN, ONE_THIRD, source="third.toml")  # version 2: threshold 1/3

    await service.cast_vote(cast["bob"], pid, "approve", JUSTIFICATION)
    await service.cast_vote(cast["carol"], pid, "reject", JUSTIFICATION)
    last = await service.cast_vote(cast["dave"], pid, "abstain", JUSTIFICATION)
    results = await service.get_voting_results(cast["alice"], pid)

    assert last.status is Status.REJECTED  # 1/2 meets 1/3 but not the frozen 2/3
    assert (results.rules_version, results.approval_threshold, results.reason) == (1, "2/3", "threshold_not_met")
    assert (await service.get_proposal(cast["alice"], pid)).rules_version == 1


async def test_a_vote_opened_after_a_rules_change_runs_under_the_new_rules(
    service: GovernanceService, cast: Cast
) -> None:
    await service.set_rules(LOCAL_ADMIN, ONE_THIRD, source="third.toml")
    pid = await _in_voting(service, cast)

    await service.cast_vote(cast["bob"], pid, "approve", JUSTIFICATION)
    await service.cast_vote(cast["carol"], pid, "reject", JUSTIFICATION)
    await service.cast_vote(cast["dave"], pid, "abstain", JUSTIFICATION)
    results = await service.get_voting_results(cast["alice"], pid)

    assert (results.status, results.rules_version, results.approval_threshold) == (Status.APPROVED, 2, "1/3")


async def test_a_closed_vote_is_read_as_counted_never_recounted(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    pid = await _in_voting(service, cast)
    for voter, decision in (("bob", "approve"), ("carol", "approve"), ("dave", "reject")):
        await service.cast_vote(cast[voter], pid, decision, JUSTIFICATION)
    counted = await service.get_voting_results(cast["alice"], pid)
    # Someone slips two more ballots into the votes table after the close (bypassing the service).
    with sqlite3.connect(db_path) as con:
        for voter in ("bob", "carol"):
            con.execute(
                "INSERT INTO votes (proposal_id, agent_id, decision, justification, cast_at) VALUES (?, ?, ?, ?, ?)",
                (pid, voter, "reject", "late", "2030-01-01T00:00:00.000000+00:00"),
            )
    con.close()
    await service.set_rules(LOCAL_ADMIN, ONE_THIRD, source="third.toml")

    later = await service.get_voting_results(cast["alice"], pid)

    assert counted.result == later.result == "approved"
    assert (later.tally, later.consensus, later.quorum_met) == (counted.tally, counted.consensus, counted.quorum_met)
