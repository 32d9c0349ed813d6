"""An OAuth grant of hivegov:read only never writes (review of issue 20): not the writes of the
agent's roles, not those every agent may make (a comment, model usage), not those a proposal's
author may (withdraw, revise). The one write entry (`service.base.writes`) refuses them all with
the same message; over MCP the tool answers it, and tools/list shows such a connection reads only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hivegov_mcp.catalogue import CATALOGUE
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import ReadOnlyGrant
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.oauth import READ, WRITE
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import ok, refused
from tests.oauth_helpers import CALLBACK, challenge_of, client_of, redeem

pytestmark = pytest.mark.anyio
RESOURCE = "http://127.0.0.1:8000/mcp"
READ_ONLY = "this connection was granted read only"


async def _acting(service: GovernanceService, agent: Agent, scopes: list[str]) -> Agent:
    """The agent as an OAuth access token of a grant with `scopes` acts."""
    await service.register_oauth_client("c", '{"client_id": "c", "redirect_uris": ["http://localhost:1/cb"]}')
    code = await service.grant_oauth(
        agent,
        agent_id=agent.id,
        client_id="c",
        client_name="c",
        scopes=scopes,
        resource=RESOURCE,
        redirect_uri="http://localhost:1/cb",
        redirect_uri_explicit=True,
        code_challenge="a" * 43,
    )
    issued = await service.redeem_oauth_code(code)
    assert issued is not None
    return await service.authenticate(issued.access_token, resource=RESOURCE)


async def test_a_read_only_grant_may_not_write_even_as_the_author_or_as_every_agent_may(
    service: GovernanceService, cast: Cast
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    reader = await _acting(service, cast["alice"], [READ])
    assert reader.roles == [] and not reader.may_write
    with pytest.raises(ReadOnlyGrant, match=READ_ONLY):
        await service.add_comment(reader, pid, "written with a read-only token")
    with pytest.raises(ReadOnlyGrant, match=READ_ONLY):
        await service.withdraw_proposal(reader, pid, "withdrawn with a read-only token")
    with pytest.raises(ReadOnlyGrant, match="hivegov:write on the consent page"):
        await service.revise_proposal(reader, pid, expected_version=1, change_note="n", title="Changed")
    with pytest.raises(ReadOnlyGrant, match=READ_ONLY):
        await service.report_model_usage(reader, "m", requests=1)
    assert (await service.get_proposal(reader, pid)).status.value == "discussion"  # reads still work
    writer = await _acting(service, cast["alice"], [READ, WRITE])
    assert writer.may_write
    await service.add_comment(writer, pid, "written with a read-write token")


async def test_every_write_operation_refuses_a_read_only_grant_before_anything_else(
    service: GovernanceService, cast: Cast
) -> None:
    """Whatever the write and its arguments (none given here): the write entry refuses first."""
    reader = await _acting(service, cast["root"], [READ])
    writes = [op for op in CATALOGUE.values() if op.kind.writes]
    assert len(writes) > 20
    for op in writes:
        with pytest.raises(ReadOnlyGrant, match=READ_ONLY):
            await getattr(service, op.service_method)(reader)
    for method in ("grant_oauth", "revoke_oauth_grant"):  # the consent and grants pages' writes too
        with pytest.raises(ReadOnlyGrant):
            await getattr(service, method)(reader)


async def test_over_mcp_a_read_only_grant_reads_lists_no_write_and_every_write_is_refused(
    db_path: Path, clock: FakeClock
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        service = served.service
        for name, roles in {"alice": ["proposer", "discussant"], "bob": ["voter"]}.items():
            await service.register_agent(LOCAL_ADMIN, name, roles)
        alice = next(a for a in (await service.list_agents(LOCAL_ADMIN)).agents if a.id == "alice")
        pid = (await service.create_proposal(alice, **PROPOSAL)).id
        await service.start_discussion(alice, pid)
        code = await service.grant_oauth(
            alice,
            agent_id="alice",
            client_id=client_id,
            client_name=None,
            scopes=[READ],
            resource=f"{served.base}/mcp",
            redirect_uri=CALLBACK,
            redirect_uri_explicit=True,
            code_challenge=challenge_of("v" * 50),
        )
        issued = (await redeem(http, client_id, code, "v" * 50)).json()
        calls: dict[str, dict[str, Any]] = {
            "add_comment": {"proposal_id": pid, "content": "read-only"},
            "withdraw_proposal": {"proposal_id": pid, "reason": "read-only"},
            "revise_proposal": {"proposal_id": pid, "expected_version": 1, "change_note": "n", "title": "T"},
            "report_model_usage": {"model": "m", "requests": 1},
            "summarize_discussion": {"proposal_id": pid},
            "delegate_vote": {"to_agent": "bob"},
            "create_proposal": PROPOSAL,
        }
        async with (
            httpx2.AsyncClient(headers=bearer(issued["access_token"]), timeout=30) as authed,
            Client(streamable_http_client(f"{served.base}/mcp", http_client=authed)) as client,
        ):
            listed = {t.name for t in (await client.list_tools()).tools}
            seen = await ok(client, "get_proposal", proposal_id=pid)
            answers = {name: await refused(client, name, **args) for name, args in calls.items()}
        log = await service.get_audit_log(LOCAL_ADMIN, limit=100)
    assert seen["status"] == "discussion"
    assert "get_proposal" in listed and not listed & {op.name for op in CATALOGUE.values() if op.kind.writes}
    for name, text in answers.items():
        assert READ_ONLY in text and "hivegov:write on the consent page" in text, (name, text)
    assert [e.action for e in log.events if e.actor == "alice"][-1] == "oauth_granted"  # nothing written after
