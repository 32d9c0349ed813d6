"""The consent method (issue 19, DESIGN §20): a proposal type decided without a vote. It is
approved when its discussion ends with no unresolved objection (sociocracy's "no paramount
objection"): at its deadline, or when a mediator concludes approved-for-voting; an objection sends
it to revision as today. The approval freezes the rules version, opens the appeal window and
verifies like any other move."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import DecisionMethod, GovernanceConfig, canonical_toml, parse_config
from hivegov_mcp.domain.errors import ConfigError, NotFound, ObjectionsUnresolved
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.engine import ENGINE
from hivegov_mcp.settings import Settings
from tests.conftest import PROPOSAL, Cast
from tests.mcp_helpers import connect, ok

CONSENT_FOR_PROCESS = parse_config('[governance.types.process]\nmethod = "consent"\n')


def test_method_is_a_rule_per_type_and_majority_leaves_the_canonical_text_as_it_was() -> None:
    assert CONSENT_FOR_PROCESS.rules_for("process").method is DecisionMethod.CONSENT
    assert CONSENT_FOR_PROCESS.rules_for("standards").method is DecisionMethod.MAJORITY
    assert "method" not in canonical_toml(GovernanceConfig())  # stored rules keep their hash
    assert 'method = "consent"' in canonical_toml(CONSENT_FOR_PROCESS)
    assert parse_config(canonical_toml(CONSENT_FOR_PROCESS)) == CONSENT_FOR_PROCESS


def test_an_unknown_method_is_refused_naming_the_ones_there_are() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config('[governance]\nmethod = "plurality"\n')
    assert refused.value.key == "governance.method"
    assert "majority, consent, approval, score, ranked, ranked_irv" in refused.value.problem


async def _discussed(service: GovernanceService, cast: Cast) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id  # PROPOSAL is a process proposal
    await service.start_discussion(cast["alice"], pid)
    return pid


@pytest.mark.anyio
@pytest.mark.both_stores
@pytest.mark.parametrize("config", [CONSENT_FOR_PROCESS])
async def test_a_consent_proposal_is_approved_when_its_discussion_ends_without_objection(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _discussed(service, cast)
    await service.add_comment(cast["bob"], pid, "Looks useful.", type="support")
    clock.advance(minutes=61)
    approved = await service.get_proposal(cast["bob"], pid)
    log = (await service.get_audit_log(LOCAL_ADMIN, proposal_id=pid)).events

    assert approved.status is Status.APPROVED
    assert approved.deadline == clock.now() + timedelta(minutes=60)  # its appeal window
    assert (log[-1].actor, log[-1].action) == (ENGINE, "discussion_deadline")
    assert log[-1].payload["method"] == "consent" and log[-1].payload["to"] == "approved"
    assert "eligible" not in log[-1].payload and "ballots" not in log[-1].payload  # no vote was held
    with pytest.raises(NotFound) as no_vote:
        await service.get_voting_results(cast["bob"], pid)
    assert "decided by consent" in no_vote.value.hint
    assert (await service.verify_audit()).ok


@pytest.mark.anyio
@pytest.mark.both_stores
@pytest.mark.parametrize("config", [CONSENT_FOR_PROCESS])
async def test_an_open_objection_sends_a_consent_proposal_to_revision_and_blocks_its_conclusion(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _discussed(service, cast)
    await service.add_comment(cast["dave"], pid, "The scope is unclear.", type="objection")
    with pytest.raises(ObjectionsUnresolved):
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Consent.")
    clock.advance(minutes=61)

    assert (await service.get_proposal(cast["bob"], pid)).status is Status.REVISION
    assert (await service.verify_audit()).ok


@pytest.mark.anyio
@pytest.mark.both_stores
@pytest.mark.parametrize("config", [CONSENT_FOR_PROCESS])
async def test_a_mediator_concluding_a_consent_round_approves_it_and_a_majority_type_still_votes(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    pid = await _discussed(service, cast)
    concluded = await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "No objection.")
    other = (await service.create_proposal(cast["alice"], **{**PROPOSAL, "type": "standards"})).id
    await service.start_discussion(cast["alice"], other)
    voting = await service.conclude_discussion(cast["carol"], other, "approved-for-voting", "Ready.")
    clock.advance(minutes=61)  # the appeal window passes: the consent approval can be executed
    state = await service.get_proposal(cast["bob"], pid)

    assert (concluded.status, voting.status) == (Status.APPROVED, Status.VOTING)
    assert state.status is Status.APPROVED and state.deadline is None
    assert (await service.verify_audit()).ok


@pytest.mark.anyio
async def test_a_whole_consent_cycle_over_mcp(db_path: Path, clock: FakeClock) -> None:
    async with open_service(Settings(db=db_path, rules=CONSENT_FOR_PROCESS, clock=clock)) as svc:
        alice = (await svc.register_agent(LOCAL_ADMIN, "alice", ["proposer", "discussant"])).token
        carol = (await svc.register_agent(LOCAL_ADMIN, "carol", ["mediator"])).token
    async with connect(db_path, alice, clock=clock, config=CONSENT_FOR_PROCESS) as a:
        pid = (await ok(a, "create_proposal", **PROPOSAL))["id"]
        await ok(a, "start_discussion", proposal_id=pid)
    async with connect(db_path, carol, clock=clock, config=CONSENT_FOR_PROCESS) as c:
        done = await ok(c, "conclude_discussion", proposal_id=pid, resolution="approved-for-voting", reason="Agreed.")
        check = await ok(c, "verify_audit")

    assert done["status"] == "approved" and check["ok"] is True
