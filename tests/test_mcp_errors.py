"""Errors over MCP that a model can act on: short argument errors, text that is not Unicode,
prompts with validated arguments and JSON-RPC errors, storage failures named, idempotent summaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client, MCPError
from mcp.types import INVALID_PARAMS, TextContent

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import Conflict, InvalidInput, PermissionDenied
from hivegov_mcp.mcp import ServerOptions, build_server
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.store.sqlite import SQLiteStore
from tests.conftest import PROPOSAL, Cast
from tests.mcp_helpers import connect, ok, refused

pytestmark = pytest.mark.anyio


async def test_an_out_of_range_argument_names_the_parameter_and_its_bound(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        limit = await refused(alice, "list_proposals", limit=500)
        status = await refused(alice, "list_proposals", status="open")
        missing = await refused(alice, "create_proposal", type="process", abstract="a", motivation="m")

    assert limit == (
        "Error executing tool list_proposals: Invalid arguments: limit must be less than or equal to 100 (got 500)."
    )
    assert (
        "status must be 'draft', 'discussion', 'revision', 'voting', 'approved', 'rejected', 'withdrawn', "
        "'executing', 'executed', 'execution_failed' or 'rolled_back' (got 'open')"
    ) in status
    assert missing == (
        "Error executing tool create_proposal: Invalid arguments: title is required; specification is required."
    )
    for text in (limit, status, missing):
        assert "pydantic" not in text and "validation error" not in text


async def test_text_with_a_lone_surrogate_gets_a_clear_error_and_writes_nothing(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        before = (await ok(alice, "get_governance_status"))["audit_events"]
        text = await refused(alice, "create_proposal", **{**PROPOSAL, "abstract": "broken \ud800 text"})
        lookup = await refused(alice, "get_proposal", proposal_id="BIP-\udfff")
        after = (await ok(alice, "get_governance_status"))["audit_events"]

    assert text.startswith("Error executing tool create_proposal: Invalid argument abstract: it contains a lone UTF-16")
    assert "'\\ud800' at character 7" in text
    assert "Invalid argument proposal_id" in lookup
    assert after == before


async def test_a_surrogate_reaching_the_service_by_another_door_is_refused_too(
    service: GovernanceService, cast: Cast
) -> None:
    with pytest.raises(InvalidInput, match="lone UTF-16 surrogate"):
        await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": "x\ud83d"})
    with pytest.raises(InvalidInput, match="proposal_id"):
        await service.get_proposal(cast["alice"], "BIP-\ud800")


async def test_an_unknown_prompt_is_a_json_rpc_error_naming_the_prompts(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        with pytest.raises(MCPError) as unknown:
            await alice.get_prompt("draft_law", {"topic": "x"})
        with pytest.raises(MCPError) as bad_type:
            await alice.get_prompt("draft_proposal", {"topic": "Changelogs", "type": "nonsense"})
        with pytest.raises(MCPError) as no_such:
            await alice.get_prompt("review_proposal", {"proposal_id": "BIP-404"})
        prompts = {p.name: p for p in (await alice.list_prompts()).prompts}

    assert unknown.value.code == INVALID_PARAMS
    assert "Unknown prompt 'draft_law'" in unknown.value.message and "draft_proposal" in unknown.value.message
    assert bad_type.value.code == INVALID_PARAMS
    assert bad_type.value.message == "Invalid type 'nonsense': use one of standards, informational, process."
    assert no_such.value.code == INVALID_PARAMS and "Unknown proposal 'BIP-404'" in no_such.value.message
    for prompt in prompts.values():
        for argument in prompt.arguments or []:
            assert argument.description, (prompt.name, argument.name)


async def test_a_prompt_lists_objections_in_words_not_as_a_python_value(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        pid = (await ok(alice, "create_proposal", **PROPOSAL))["id"]
        await ok(alice, "start_discussion", proposal_id=pid)
        with pytest.raises(MCPError) as not_yet:
            await alice.get_prompt("vote_on_proposal", {"proposal_id": pid})
        async with connect(db_path, cast.tokens["carol"], clock=clock) as carol:
            await ok(carol, "conclude_discussion", proposal_id=pid, resolution="approved-for-voting", reason="Ok.")
        result = await alice.get_prompt("vote_on_proposal", {"proposal_id": pid})

    assert not_yet.value.code == INVALID_PARAMS
    assert not_yet.value.message == f"{pid} is in discussion: votes are cast only while it is in voting."
    content = result.messages[0].content
    assert isinstance(content, TextContent)
    assert "Resolved objections: none" in content.text
    assert "[]" not in content.text


async def test_a_storage_failure_reaches_the_model_with_the_path_and_the_cause(
    service: GovernanceService, cast: Cast, db_path: Path
) -> None:
    assert isinstance(service.store, SQLiteStore)
    store = service.store
    server = build_server(service, ServerOptions(token=cast.tokens["alice"], tick_seconds=0))
    async with Client(server, raise_exceptions=True) as alice:
        # The server's own connection turns read-only, as on a read-only mount.
        await store.run(lambda c: c.execute("PRAGMA query_only = ON"))
        text = await refused(alice, "create_proposal", **PROPOSAL)
        await store.run(lambda c: c.execute("PRAGMA query_only = OFF"))
        listed = await ok(alice, "list_proposals")

    assert text.startswith(f"Error executing tool create_proposal: The database {db_path} can't be used: ")
    assert "readonly" in text and "Nothing was written" in text
    assert listed["proposals"] == []


async def test_summarizing_an_unchanged_discussion_again_writes_nothing(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["bob"], clock=clock) as bob:
        pid = "BIP-001"
        async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
            await ok(alice, "create_proposal", **PROPOSAL)
            await ok(alice, "start_discussion", proposal_id=pid)
        await ok(bob, "add_comment", proposal_id=pid, content="Looks right.", type="support")
        first = await ok(bob, "summarize_discussion", proposal_id=pid)
        events = (await ok(bob, "get_governance_status"))["audit_events"]
        second = await ok(bob, "summarize_discussion", proposal_id=pid)
        unchanged = (await ok(bob, "get_governance_status"))["audit_events"]
        await ok(bob, "add_comment", proposal_id=pid, content="One more thing.", type="suggestion")
        third = await ok(bob, "summarize_discussion", proposal_id=pid)

    assert (first["changed"], second["changed"], third["changed"]) == (True, False, True)
    assert second["receipt"] == first["receipt"] and unchanged == events
    assert third["receipt"]["seq"] > first["receipt"]["seq"]


async def test_an_admin_activates_a_deactivated_agent_again(db_path: Path, cast: Cast, clock: FakeClock) -> None:
    async with connect(db_path, cast.tokens["root"], clock=clock) as root:
        await ok(root, "deactivate_agent", agent_id="dave")
        async with connect(db_path, cast.tokens["dave"], clock=clock) as dave:
            text = await refused(dave, "whoami")
            assert "deactivated" in text and "hivegov-mcp agent activate dave" in text
            back = await ok(root, "activate_agent", agent_id="dave")
            assert back["active"] is True
            assert (await ok(dave, "whoami"))["id"] == "dave"
        assert "already active" in await refused(root, "activate_agent", agent_id="dave")


async def test_a_prompt_with_a_missing_or_unknown_argument_names_it(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        with pytest.raises(MCPError) as missing:
            await alice.get_prompt("review_proposal", {})
        with pytest.raises(MCPError) as extra:
            await alice.get_prompt("review_proposal", {"proposal_id": "BIP-001", "mood": "grumpy"})

    assert (missing.value.code, missing.value.message) == (
        INVALID_PARAMS,
        "Missing argument proposal_id: review_proposal takes proposal_id.",
    )
    assert (extra.value.code, extra.value.message) == (
        INVALID_PARAMS,
        "Unknown argument(s) 'mood': review_proposal takes proposal_id.",
    )


async def test_a_misspelt_tool_argument_is_refused_rather_than_dropped(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        text = await refused(alice, "create_proposal", **PROPOSAL, implementaton="Ship it in March.")
        listed = await ok(alice, "list_proposals")

    assert text.startswith("Error executing tool create_proposal: Unknown argument(s) 'implementaton'; ")
    assert "implementation" in text and listed["proposals"] == []


async def test_an_error_of_the_caller_on_a_resource_is_invalid_params(
    db_path: Path, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db_path, cast.tokens["alice"], clock=clock) as alice:
        await ok(alice, "create_proposal", **PROPOSAL)
        with pytest.raises(MCPError) as draft:
            await alice.read_resource("hivegov://proposals/BIP-001/results")

    assert draft.value.code == INVALID_PARAMS
    assert "Can't get_voting_results on BIP-001: it is in draft" in draft.value.message


async def test_an_admin_may_not_lock_itself_out(service: GovernanceService, cast: Cast) -> None:
    with pytest.raises(Conflict, match="can't deactivate itself"):
        await service.deactivate_agent(cast["root"], "root")
    assert (await service.authenticate(cast.tokens["root"])).active


async def test_refusing_to_resolve_an_objection_says_whose_authorship_counts(
    service: GovernanceService, cast: Cast
) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    objection = await service.add_comment(cast["bob"], pid, "This breaks X.", type="objection")

    with pytest.raises(PermissionDenied, match="it needs to be the objection's author or the arbiter role"):
        await service.resolve_comment(cast["alice"], objection.id, "I disagree.")
