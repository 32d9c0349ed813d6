"""The committed JSON Schemas match the pydantic models (regenerate with `make schemas`)."""

from __future__ import annotations

from pathlib import Path

from devtools.schemas_export import expected_files

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


def test_every_public_model_has_a_committed_schema_that_matches_it() -> None:
    expected = expected_files()
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(expected)
    for name, text in expected.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == text, f"{name} drifted: run `make schemas`"


def test_the_proposal_schema_names_the_interface_fields() -> None:
    import json

    proposal = json.loads((SCHEMAS / "proposal.schema.json").read_text(encoding="utf-8"))
    assert {"id", "status", "version", "author", "type", "title"} <= set(proposal["required"])
    results = json.loads((SCHEMAS / "voting_results.schema.json").read_text(encoding="utf-8"))
    assert {"status", "result", "reason", "quorum_met", "consensus", "tally"} <= set(results["required"])
