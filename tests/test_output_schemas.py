"""Lightened output schemas accept and refuse exactly what pydantic's schemas do; tools/list is
compact, portable (no type arrays, titles or $refs) and names, for a write's result, the read
that documents it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.models import Comment, Discussion
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.domain.vote_models import VotingResults
from hivegov_mcp.mcp.schemas import lighten
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast
from tests.mcp_helpers import connect, ok

NOW = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
COMMENT: dict[str, Any] = {
    "id": 1,
    "proposal_id": "BIP-001",
    "round": 1,
    "author": "bob",
    "type": "objection",
    "content": "No.",
    "parent_id": None,
    "references": [],
    "created_at": NOW,
    "resolved": False,
    "resolved_by": None,
    "resolution_note": None,
    "resolved_at": None,
}
DISCUSSION: dict[str, Any] = {
    "proposal_id": "BIP-001",
    "status": "discussion",
    "round": 1,
    "deadline": None,
    "rounds": [],
    "comment_count": 1,
    "comments": [COMMENT],
    "next_after_id": None,
    "unresolved_objections": [1],
}


@pytest.mark.parametrize(
    "document",
    [
        DISCUSSION,
        {**DISCUSSION, "status": "nonsense"},
        {**DISCUSSION, "deadline": 5},
        {**DISCUSSION, "comments": [{**COMMENT, "type": "rant"}]},
        {**DISCUSSION, "comments": [{**COMMENT, "parent_id": "x"}]},
        {**DISCUSSION, "comments": [{k: v for k, v in COMMENT.items() if k != "author"}]},
        {**DISCUSSION, "next_after_id": 3},
    ],
    ids=["valid", "bad-status", "bad-nullable", "bad-nested-enum", "bad-nested-nullable", "missing-nested", "ok-int"],
)
def test_a_lightened_schema_judges_a_document_as_the_original_does(document: dict[str, Any]) -> None:
    original = Discussion.model_json_schema(mode="serialization")
    light = lighten(original)

    assert "$defs" not in light and "$ref" not in str(light)
    assert jsonschema.Draft202012Validator(light).is_valid(document) == (
        jsonschema.Draft202012Validator(original).is_valid(document)
    )


@pytest.mark.parametrize("model", [Comment, Discussion, VotingResults])
def test_a_lightened_schema_keeps_every_property_and_description(model: type[Comment]) -> None:
    original = model.model_json_schema(mode="serialization")
    light = lighten(original)

    assert set(light["properties"]) == set(original["properties"])
    for name, prop in original["properties"].items():
        assert light["properties"][name].get("description") == prop.get("description"), name


# -- tools/list as a model and a strict client read it ---------------------------------------------


def _walk(schema: Any) -> Any:
    if isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key == "properties":
                for sub in value.values():
                    yield from _walk(sub)
            else:
                yield from _walk(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _walk(item)


@pytest.mark.anyio
async def test_tools_list_is_compact_portable_and_every_write_names_a_listed_read(
    db_path: Path, service: GovernanceService, clock: FakeClock
) -> None:
    sizes = {}
    for roles in (["voter"], ["admin"], [r.value for r in Role]):
        token = (await service.register_agent(LOCAL_ADMIN, f"a-{len(roles)}-{roles[0]}", roles)).token
        async with connect(db_path, token, clock=clock) as client:
            tools = (await client.list_tools()).tools
        listed = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
        sizes[roles[0] if len(roles) == 1 else "every role"] = len(json.dumps(listed, separators=(",", ":")))
        names = {t.name for t in tools}
        for tool in listed:
            nodes = list(_walk(tool["inputSchema"])) + list(_walk(tool["outputSchema"]))
            assert not [n["type"] for n in nodes if isinstance(n.get("type"), list)], tool["name"]  # --strict
            assert not [n for n in nodes if "title" in n or "$ref" in n or "$defs" in n], tool["name"]
            texts = [tool["description"], *(n["description"] for n in nodes if "description" in n)]
            assert all(" ".join(t.split()) == t for t in texts), tool["name"]  # no docstring indentation
            assert "seed" not in tool["description"], tool["name"]
            for pointed in re.findall(r"The same fields as (?:an item of )?(\w+)'s", json.dumps(tool["outputSchema"])):
                assert pointed in names, (tool["name"], pointed)
    # Were 30k/30k/48k: issue 19 adds options, option ballots and results, delegation tools, agenda delegations
    assert sizes["voter"] < 34_000 and sizes["admin"] < 31_500 and sizes["every role"] < 54_000, sizes


@pytest.mark.anyio
async def test_a_write_s_listed_result_points_to_the_read_that_documents_it(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        tools = {t.name: t for t in (await alice.list_tools()).tools}
        created = await ok(alice, "create_proposal", **PROPOSAL)  # the Client checks it against the schema
    schema = tools["create_proposal"].output_schema or {}
    assert schema["description"] == "The same fields as get_proposal's result, and: receipt."
    assert set(schema["properties"]) == {"receipt"}
    assert "title" in (tools["get_proposal"].output_schema or {})["properties"]
    assert created["id"] == "BIP-001" and set(created["receipt"]) == {"seq", "hash", "leaf"}
    args = tools["list_proposals"].input_schema["properties"]
    assert args["status"]["type"] == "string" and "default" not in args["status"]  # optional: its type alone
