"""The catalogue is checked against the service and the permission table when it is imported:
an entry that disagrees with them is an error, never a door that quietly does something else."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from pydantic import Field

from hivegov_mcp.catalogue import CATALOGUE, TOOLS, Kind, Route
from hivegov_mcp.catalogue.base import Arguments
from hivegov_mcp.catalogue.checks import CatalogueError, check_catalogue
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.permissions import may_ever
from hivegov_mcp.http.app import build_http_app
from hivegov_mcp.service import GovernanceService

pytestmark = pytest.mark.anyio


class VoteWithATypo(Arguments):
    proposal_id: str = Field(description="Proposal id.")
    decison: str = Field(description="Misspelt.")
    justification: str = Field(description="Why.")
    approvals: list[int] | None = Field(None, description="Approved options.")
    scores: dict[int, int] | None = Field(None, description="Scores.")
    ranking: list[int] | None = Field(None, description="Ranking.")


class VoteWithAWrongType(Arguments):
    proposal_id: str = Field(description="Proposal id.")
    decision: int = Field(description="A number, where the service takes a string.")
    justification: str = Field(description="Why.")
    approvals: list[int] | None = Field(None, description="Approved options.")
    scores: dict[int, int] | None = Field(None, description="Scores.")
    ranking: list[int] | None = Field(None, description="Ranking.")


def test_the_real_catalogue_passes_its_checks() -> None:
    check_catalogue(list(CATALOGUE.values()))
    assert {op.name for op in TOOLS} <= set(CATALOGUE)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"permission": "vote"}, "permission 'vote' is not in the permission table"),
        ({"method": "cast_ballot"}, "GovernanceService has no async method 'cast_ballot'"),
        ({"arguments": VoteWithATypo}, "differ from the service method's"),
        (
            {"arguments": VoteWithAWrongType},
            "argument decision is declared integer here but the service method takes string",
        ),
        ({"result": Agent}, "the result model Agent is not what the service method returns"),
        ({"permission": "close_voting"}, "the service method never checks the permission 'close_voting'"),
        ({"kind": Kind.READ}, "declared read but the service method is @writes"),
        ({"rest": Route("GET", "/votes/{proposal_id}", "Vote", "voting")}, "reads are GET, writes are not"),
        ({"rest": Route("POST", "/votes/{ballot_id}", "Vote", "voting")}, "path argument {ballot_id}"),
        ({"rest": Route("POST", "/search", "Vote", "voting", names={"q": "query"})}, "REST names for unknown"),
        ({"tool": False, "rest": None}, "served by no door"),
        ({"description": "  "}, "no description"),
    ],
)
def test_an_entry_that_disagrees_with_what_it_names_is_refused(change: dict[str, object], problem: str) -> None:
    wrong = replace(CATALOGUE["cast_vote"], **change)  # type: ignore[arg-type]
    with pytest.raises(CatalogueError, match="catalogue entry cast_vote: ") as refused:
        check_catalogue([wrong])
    assert problem in str(refused.value)


def test_a_read_method_declared_as_a_write_is_refused() -> None:
    with pytest.raises(CatalogueError, match="declared write but the service method is @reads"):
        check_catalogue([replace(CATALOGUE["get_proposal"], kind=Kind.WRITE, rest=None)])


def test_an_operation_or_a_route_declared_twice_is_refused() -> None:
    vote = CATALOGUE["cast_vote"]
    with pytest.raises(CatalogueError, match="operations declared twice: cast_vote"):
        check_catalogue([vote, vote])
    with pytest.raises(CatalogueError, match=re.escape("routes declared twice: POST /votes/{proposal_id}")):
        check_catalogue([vote, replace(vote, name="cast_vote_again", method="cast_vote")])


def test_a_permission_missing_from_the_table_is_an_error_not_anyone_may() -> None:
    with pytest.raises(KeyError):
        may_ever("launch_rockets", ["admin"])


async def test_every_route_of_the_catalogue_is_in_the_openapi_document_with_its_verb_and_status(
    service: GovernanceService,
) -> None:
    paths = build_http_app(service).openapi()["paths"]
    for op in CATALOGUE.values():
        if op.rest is None:
            continue
        served = paths[f"/api/governance{op.rest.path}"][op.rest.verb.lower()]
        assert str(op.rest.status) in served["responses"], op.name
        assert served["summary"] == op.rest.summary
        assert served["operationId"].startswith(op.name)
