"""get_my_agenda (DESIGN §14, for the council of §19): every kind of item appears for the roles
that may act on it, not for the others, and leaves once the agent has done it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.service.records import AGENDA, CLOSES_SOON
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

OPEN = AGENDA["discussion"][1]
LONG = 600.0  # minutes: a discussion that does not close soon


async def _agent(service: GovernanceService, name: str, *roles: str) -> Agent:
    return await service.authenticate((await service.register_agent(LOCAL_ADMIN, name, list(roles))).token)


async def _items(service: GovernanceService, agent: Agent, pid: str) -> dict[str, str]:
    """The agent's items on one proposal: tool -> why."""
    agenda = await service.get_my_agenda(agent)
    assert agenda.agent_id == agent.id
    found = [i for i in agenda.items if i.proposal_id == pid]
    assert len({i.tool for i in found}) == len(found), found  # one item per kind and proposal
    return {i.tool: i.why for i in found}


async def _discussed(service: GovernanceService, cast: Cast, minutes: float = LONG) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid, minutes)
    return pid


async def test_an_open_discussion_waits_for_each_discussant_s_comment_once_per_round(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    proposer = await _agent(service, "pro", "proposer")  # may comment on its own proposals only
    pid = await _discussed(service, cast)

    for name in ("bob", "dave", "carol", "erin"):  # discussants, a mediator, an arbiter
        assert (await _items(service, cast[name], pid)).get("add_comment") == OPEN, name
    assert "add_comment" not in await _items(service, cast["alice"], pid)  # its own proposal
    assert await _items(service, proposer, pid) == {}
    assert await _items(service, cast["root"], pid) == {}

    await service.add_comment(cast["bob"], pid, "Which format?", type="suggestion")
    assert "add_comment" not in await _items(service, cast["bob"], pid)  # no nagging once it commented
    assert (await _items(service, cast["dave"], pid))["add_comment"] == OPEN

    clock.advance(minutes=LONG - 30)  # within the hour before the deadline
    (item,) = [i for i in (await service.get_my_agenda(cast["dave"])).items if i.tool == "add_comment"]
    assert (item.proposal_id, item.why, item.status) == (pid, CLOSES_SOON, Status.DISCUSSION)
    assert item.deadline is not None and item.deadline - clock.now() == timedelta(minutes=30)

    await service.conclude_discussion(cast["carol"], pid, "requires-revision", "Name the format.")
    assert "add_comment" not in await _items(service, cast["dave"], pid)  # in revision: nothing to discuss
    await service.revise_proposal(cast["alice"], pid, expected_version=1, change_note="Format named.", abstract="v2")
    await service.start_discussion(cast["alice"], pid, LONG)
    assert (await _items(service, cast["bob"], pid))["add_comment"] == OPEN  # a new round asks again


async def test_a_round_with_comments_waits_for_a_summarizer_s_summary(service: GovernanceService, cast: Cast) -> None:
    summarizer = await _agent(service, "sum", "summarizer")
    pid = await _discussed(service, cast)
    assert "publish_summary" not in await _items(service, summarizer, pid)  # nothing said yet

    note = await service.add_comment(cast["bob"], pid, "Buy cheap sunglasses.", type="comment")
    assert await _items(service, summarizer, pid) == {"publish_summary": AGENDA["summary"][1]}
    await service.moderate_comment(cast["carol"], note.id, "hide", "Spam.")
    assert await _items(service, summarizer, pid) == {}  # a hidden comment is not a discussion
    await service.add_comment(cast["dave"], pid, "Version the changelog schema.", type="suggestion")
    assert "publish_summary" in await _items(service, summarizer, pid)
    for name in ("bob", "carol", "erin", "alice", "root"):
        assert "publish_summary" not in await _items(service, cast[name], pid), name

    await service.publish_summary(summarizer, pid, "One suggestion: version the schema.", "requires-revision")
    assert await _items(service, summarizer, pid) == {}


async def test_a_round_with_comments_and_no_open_objection_waits_for_a_mediator_to_conclude(
    service: GovernanceService, cast: Cast
) -> None:
    pid = await _discussed(service, cast)
    conclude = AGENDA["conclude"][1]
    assert "conclude_discussion" not in await _items(service, cast["carol"], pid)  # nothing said yet

    await service.add_comment(cast["bob"], pid, "Looks right.", type="support")
    assert (await _items(service, cast["carol"], pid))["conclude_discussion"] == conclude
    objection = await service.add_comment(cast["dave"], pid, "Who writes the entries?", type="objection")
    # an objection is open: the round can only end in revision, and the item says so
    assert (await _items(service, cast["carol"], pid))["conclude_discussion"] == AGENDA["conclude_blocked"][1]
    await service.resolve_comment(cast["dave"], objection.id, "The release owner does.")
    assert (await _items(service, cast["carol"], pid))["conclude_discussion"] == conclude
    for name in ("bob", "dave", "erin", "alice", "root"):  # the arbiter only overrides objections
        assert "conclude_discussion" not in await _items(service, cast[name], pid), name

    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Consensus.")
    assert "conclude_discussion" not in await _items(service, cast["carol"], pid)
    assert "cast_vote" in await _items(service, cast["carol"], pid)


async def test_a_discussed_version_waits_for_each_validator_s_validation(
    service: GovernanceService, cast: Cast
) -> None:
    first, second = await _agent(service, "val1", "validator"), await _agent(service, "val2", "validator")
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    assert await _items(service, first, pid) == {}  # a draft is not validated yet
    await service.start_discussion(cast["alice"], pid, LONG)
    validate = {"record_validation": AGENDA["validate"][1]}
    assert await _items(service, first, pid) == validate
    for name in ("bob", "carol", "erin", "alice", "root"):
        assert "record_validation" not in await _items(service, cast[name], pid), name

    await service.record_validation(first, pid, "fail", "The scope field is undefined.")
    assert await _items(service, first, pid) == {}
    assert await _items(service, second, pid) == validate  # each validator's own
    await service.conclude_discussion(cast["carol"], pid, "requires-revision", "Define scope.")
    await service.revise_proposal(cast["alice"], pid, expected_version=1, change_note="Scope.", abstract="v2")
    await service.start_discussion(cast["alice"], pid, LONG)
    assert await _items(service, first, pid) == validate  # version 2 is not validated
    await service.record_validation(first, pid, "pass", "Scope defined.")
    assert await _items(service, first, pid) == {}


async def test_one_agent_with_every_discussion_role_gets_each_kind_once(service: GovernanceService, cast: Cast) -> None:
    busy = await _agent(service, "busy", "discussant", "summarizer", "mediator", "validator")
    pid = await _discussed(service, cast)
    await service.add_comment(cast["bob"], pid, "Looks right.", type="support")
    agenda = await service.get_my_agenda(busy)
    assert [i.tool for i in agenda.items] == [
        "add_comment",
        "publish_summary",
        "conclude_discussion",
        "record_validation",
    ]
    assert {i.proposal_id for i in agenda.items} == {pid}
