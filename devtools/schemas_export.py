"""Write the JSON Schemas of the public models: `python -m devtools.schemas_export schemas`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from hivegov_mcp.domain.models import Agent, Comment, Discussion, DiscussionSummary, Proposal
from hivegov_mcp.domain.record_models import AuditEvent, AuditVerification
from hivegov_mcp.domain.vote_models import VotingResults

PUBLIC_MODELS: dict[str, type[BaseModel]] = {
    "proposal": Proposal,
    "comment": Comment,
    "discussion": Discussion,
    "discussion_summary": DiscussionSummary,
    "voting_results": VotingResults,
    "audit_event": AuditEvent,
    "audit_verification": AuditVerification,
    "agent": Agent,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[str, str]:
    return {f"{name}.schema.json": render(model) for name, model in PUBLIC_MODELS.items()}


def main(argv: list[str]) -> int:
    target = Path(argv[0] if argv else "schemas")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in expected_files().items():
        (target / name).write_text(text, encoding="utf-8")
        print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
