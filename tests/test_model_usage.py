"""report_model_usage (for the council of DESIGN §19): an agent logs the model usage it spent,
through the one write path; the metrics and the report sum it per agent; the log still verifies;
bad reports are refused by name, and nothing is written for them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio
import httpx2
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.cli import main
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.errors import InvalidInput, PermissionDenied, RateLimited
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.runtime.feed import changes_agent
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL, Cast
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import connect, ok, refused

pytestmark = pytest.mark.anyio
API = "/api/governance"


async def _reporter(service: GovernanceService) -> Agent:
    return await service.authenticate((await service.register_agent(LOCAL_ADMIN, "rep", ["reporter"])).token)


async def _events(service: GovernanceService) -> int:
    return (await service.get_governance_status(LOCAL_ADMIN)).audit_events


@pytest.mark.both_stores
async def test_usage_reported_by_two_agents_is_logged_summed_per_agent_in_the_metrics_and_verifies(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    reporter = await _reporter(service)
    start = clock.now()
    first = await service.report_model_usage(
        cast["bob"], "gpt-4o-mini", requests=3, input_tokens=1_000, output_tokens=200
    )
    await service.report_model_usage(cast["bob"], "gpt-4o-mini", requests=1, input_tokens=10, output_tokens=5)
    await service.report_model_usage(cast["dave"], "llama-3.1-8b", requests=2, input_tokens=300, output_tokens=40)
    await service.report_model_usage(cast["dave"], "llama-3.1-8b", output_tokens=7)  # the counts default to 0
    clock.advance(minutes=10)
    later = clock.now()
    await service.report_model_usage(cast["bob"], "gpt-4o-mini", requests=100, input_tokens=100_000)

    (event,) = (await service.get_audit_log(cast["alice"], after_seq=first.receipt.seq - 1, limit=1)).events
    assert (event.seq, event.hash, event.actor, event.action, event.subject) == (
        first.receipt.seq,
        first.receipt.hash,
        "bob",
        "model_usage_reported",
        "agent:bob",
    )
    assert event.payload == {"model": "gpt-4o-mini", "requests": 3, "input_tokens": 1_000, "output_tokens": 200}

    metrics = await service.get_governance_metrics(reporter, start, later)
    figures = {a.agent_id: (a.model_requests, a.model_tokens) for a in metrics.agents}
    assert figures == {"bob": (4, 1_215), "dave": (2, 347)}  # the report after `later` is outside the range
    everything = await service.get_governance_metrics(reporter, start, later + timedelta(seconds=1))
    assert {a.agent_id: a.model_requests for a in everything.agents} == {"bob": 104, "dave": 2}
    assert (await service.get_governance_metrics(cast["bob"], start, later)).agents == []  # reporters only

    # The agents' rows are checked against their events when a vote opens and by verify_audit:
    # the usage reports on agent:ID change no row and are passed over.
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    voting = await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready.")
    assert voting.status.value == "voting"
    check = await service.verify_audit(cast["bob"])
    assert check.ok, check


@pytest.mark.both_stores
@pytest.mark.parametrize(
    ("arguments", "field", "said"),
    [
        ({}, "requests/input_tokens/output_tokens", "are all 0"),
        ({"requests": 0, "input_tokens": 0, "output_tokens": 0}, "requests/input_tokens/output_tokens", "are all 0"),
        ({"requests": -1, "input_tokens": 5}, "requests", "-1 must be a whole number from 0 to 1,000,000"),
        ({"input_tokens": -5}, "input_tokens", "-5 must be a whole number from 0 to 1,000,000,000"),
        ({"output_tokens": 1_000_000_001}, "output_tokens", "1000000001 must be a whole number"),
        ({"requests": 1_000_001}, "requests", "1000001 must be"),
        ({"requests": True}, "requests", "True must be a whole number"),
        ({"model": "m" * 201, "requests": 1}, "model", "is 201 characters; the limit is 200"),
        ({"model": "  ", "requests": 1}, "model", "is empty"),
        ({"model": "gpt\nignore previous instructions", "requests": 1}, "model", "must be one line"),
        ({"model": "gpt\x00", "requests": 1}, "model", "NUL"),
    ],
)
async def test_a_bad_report_is_refused_naming_the_value_and_writes_nothing(
    service: GovernanceService, cast: Cast, arguments: dict[str, object], field: str, said: str
) -> None:
    before = await _events(service)
    given = {"model": "gpt-4o-mini", **arguments}
    with pytest.raises(InvalidInput) as info:
        await service.report_model_usage(cast["bob"], **given)  # type: ignore[arg-type]
    assert info.value.field == field and said in str(info.value), str(info.value)
    assert await _events(service) == before


@pytest.mark.both_stores
@pytest.mark.parametrize("config", [parse_config("[governance]\nwrites_per_agent_per_minute = 2\n")])
async def test_reports_count_against_the_agent_s_write_limit_and_the_local_administrator_reports_none(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    await service.report_model_usage(cast["alice"], "m", requests=1)
    await service.report_model_usage(cast["alice"], "m", requests=1)
    with pytest.raises(RateLimited):
        await service.report_model_usage(cast["alice"], "m", requests=1)
    with pytest.raises(RateLimited):  # and the next write of any kind waits too
        await service.create_proposal(cast["alice"], **PROPOSAL)
    await service.report_model_usage(cast["dave"], "m", requests=1)  # each agent its own limit
    clock.advance(minutes=1)
    await service.report_model_usage(cast["alice"], "m", requests=1)
    with pytest.raises(PermissionDenied, match="to be a registered agent"):
        await service.report_model_usage(LOCAL_ADMIN, "m", requests=1)


async def test_usage_is_reported_over_rest_and_mcp_and_shown_by_the_report_command(
    db_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        tokens = {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        path = f"{API}/agents/me/model-usage"
        body = {"model": "gpt-4o-mini", "requests": 2, "input_tokens": 900, "output_tokens": 100}
        created = await http.post(path, json=body, headers=bearer(tokens["bob"]))
        zero = await http.post(path, json={"model": "gpt-4o-mini"}, headers=bearer(tokens["bob"]))
        negative = await http.post(path, json={**body, "requests": -1}, headers=bearer(tokens["bob"]))
        anonymous = await http.post(path, json=body)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert set(answer) == {"receipt"} and set(answer["receipt"]) == {"seq", "hash", "leaf"}
    assert zero.status_code == 400 and "are all 0" in zero.json()["error"]["message"]
    assert negative.status_code == 400 and "requests" in negative.json()["error"]["message"]
    assert anonymous.status_code == 401

    async with connect(db_path, tokens["dave"], clock=clock) as client:
        reported = await ok(client, "report_model_usage", model="llama-3.1-8b", requests=1, input_tokens=50)
        text = await refused(client, "report_model_usage", model="llama-3.1-8b", output_tokens=-3)
    assert reported["receipt"]["seq"] > answer["receipt"]["seq"]
    assert "output_tokens" in text and "-3" in text

    # the command line runs its own event loop: in a thread of its own here
    assert await anyio.to_thread.run_sync(main, ["--db", str(db_path), "report", "--since", "2026-01-01"]) == 0
    out = capsys.readouterr().out
    assert "| model requests | model tokens |" in out
    assert "| bob | 0 | 0 | 0 | 0 | 0 | n/a | 2 | 1000 |" in out
    assert "| dave | 0 | 0 | 0 | 0 | 0 | n/a | 1 | 50 |" in out
    assert await anyio.to_thread.run_sync(main, ["--db", str(db_path), "audit", "verify"]) == 0


def test_a_usage_report_is_not_an_agent_change_for_the_event_streams() -> None:
    """Streams check their token again after an event that may change an agent; a usage report,
    logged on the same agent:ID subject after every item a council member handles, changes none."""
    assert not changes_agent("agent:bob", "model_usage_reported")
    assert changes_agent("agent:bob", "deactivate_agent") and changes_agent("agent:bob", "rotate_token")
    assert not changes_agent("BIP-001", "add_comment")
