"""Required text is marked non-empty in every door's schema (minLength 1), so a client sees it
before calling; an empty value is refused with a message naming the field, over MCP and REST."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from hivegov_mcp.catalogue import CATALOGUE
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import connect, refused

pytestmark = pytest.mark.anyio


def test_every_required_text_argument_is_marked_non_empty_in_its_schema() -> None:
    """The rule, checked on every operation: a required string that is not an enum is non-empty
    (the service refuses empty text and empty ids alike)."""
    marked = []
    for name, op in CATALOGUE.items():
        schema = op.arguments.model_json_schema()
        for field in schema.get("required", []):
            prop = schema["properties"][field]
            if prop.get("type") == "string" and "enum" not in prop:
                assert prop.get("minLength") == 1, f"{name}.{field}"
                marked.append(f"{name}.{field}")
    assert "create_proposal.motivation" in marked and "cast_vote.proposal_id" in marked


async def test_tools_list_shows_min_length_and_an_empty_text_is_refused_naming_the_field(
    db_path: Path, service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    every_role = (await service.register_agent(LOCAL_ADMIN, "all-roles", [r.value for r in Role])).token
    async with connect(db_path, every_role, clock=clock) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        empty_mcp = await refused(client, "create_proposal", **{**PROPOSAL, "motivation": ""})
    assert tools["create_proposal"].input_schema["properties"]["motivation"]["minLength"] == 1
    assert tools["cast_vote"].input_schema["properties"]["justification"]["minLength"] == 1
    assert "motivation is empty; it is required" in empty_mcp

    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        openapi = (await http.get("/api/openapi.json")).json()
        empty_rest = await http.post(
            "/api/governance/proposals", json={**PROPOSAL, "motivation": ""}, headers=bearer(cast.tokens["alice"])
        )
    bodies = openapi["components"]["schemas"]
    assert any(s.get("properties", {}).get("motivation", {}).get("minLength") == 1 for s in bodies.values())
    assert empty_rest.status_code == 400 and "motivation" in empty_rest.json()["error"]["message"]
