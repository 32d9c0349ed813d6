"""Lightened output schemas accept and refuse exactly what pydantic's schemas do."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from hivegov_mcp.domain.models import Comment, Discussion, VotingResults
from hivegov_mcp.mcp.schemas import lighten

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
