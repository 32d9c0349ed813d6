"""Issue 19, item 4, on SQLite and PostgreSQL: a vote on options and a delegated vote are recounted
from the log alone by `verify_audit` (and `hivegov-mcp audit verify`). A server that miscounts
writes the same wrong count into the table and the log, and only the recount names it; an edit to
an option ballot, an option result, the weight a ballot carried or a delegation, made behind the
server's back with the log untouched, is named at its row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hivegov_mcp.domain import delegation as delegation_module
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import GovernanceConfig, parse_config
from hivegov_mcp.domain.counting import counted_options
from hivegov_mcp.domain.tally import Tally
from hivegov_mcp.service import GovernanceService, engine
from hivegov_mcp.store.sql.delegations import DelegationSQL
from tests.conftest import PROPOSAL, Cast
from tests.test_store_contract import _sql
from tests.test_tamper_state import _caught

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]

WHY = "This is the option that serves the agents best."
OPTIONS = ["Keep a Changelog format", "Conventional commits", "Free text"]


def _method(name: str) -> GovernanceConfig:
    return parse_config(f'[governance.types.process]\nmethod = "{name}"\n')


async def _voting(service: GovernanceService, cast: Cast, options: list[str] | None = None) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL, options=options or [])).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready for a vote.")
    return pid


async def _ranked_vote(service: GovernanceService, cast: Cast) -> str:
    """bob and dave rank option 1 first, carol option 2: option 1 wins (closed early, all voted)."""
    pid = await _voting(service, cast, OPTIONS)
    await service.cast_vote(cast["bob"], pid, justification=WHY, ranking=[1, 2, 3])
    await service.cast_vote(cast["carol"], pid, justification=WHY, ranking=[2, 1, 3])
    await service.cast_vote(cast["dave"], pid, justification=WHY, ranking=[1, 3])
    return pid


async def _delegated_vote(service: GovernanceService, cast: Cast, clock: FakeClock) -> str:
    """dave delegates to bob and does not vote: `_split_vote`, approved 2-1."""
    await service.delegate_vote(cast["dave"], "bob")
    return await _split_vote(service, cast, clock)


async def _split_vote(service: GovernanceService, cast: Cast, clock: FakeClock) -> str:
    """bob approves, carol rejects, dave does not vote: closed at its deadline, approved under the
    2/3 threshold only if bob's ballot carries dave's weight."""
    pid = await _voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    await service.cast_vote(cast["carol"], pid, "reject", WHY)
    clock.advance(minutes=10_000)
    await service.apply_due_deadlines()
    return pid


@pytest.mark.parametrize("config", [_method("ranked")])
async def test_an_option_vote_the_server_miscounted_into_table_and_log_is_named_by_the_recount(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    honest = await _ranked_vote(service, cast)
    assert (await service.verify_audit()).ok  # counted right, it recounts clean

    def second_wins(*args: Any, **kwargs: Any) -> tuple[Tally, dict[str, Any]]:  # a counting bug
        tally, record = counted_options(*args, **kwargs)
        return tally, {**record, "winner": 2}

    monkeypatch.setattr(engine, "counted_options", second_wins)
    miscounted = await _ranked_vote(service, cast)
    monkeypatch.undo()
    check = await service.verify_audit()

    assert honest != miscounted
    assert not check.ok and check.row == f"tallies: {miscounted}"
    assert check.problem is not None and "result.winner 2 (the ballots give 1)" in check.problem
    await _caught(db, tmp_path, clock, f"tallies: {miscounted}", capsys)


async def test_a_delegated_vote_the_server_miscounted_into_table_and_log_is_named_by_the_recount(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    honest = await _delegated_vote(service, cast, clock)
    assert (await service.get_voting_results(cast["bob"], honest)).result == "approved"
    assert (await service.verify_audit()).ok
    await service.revoke_delegation(cast["dave"])

    def forgetful(
        eligible: Any, voted: Any, delegations: Any
    ) -> delegation_module.DelegationResult:  # a bug: delegations ignored at close
        return delegation_module.resolve_delegations(eligible, voted, {})

    await service.delegate_vote(cast["dave"], "bob")
    monkeypatch.setattr(engine, "resolve_delegations", forgetful)
    miscounted = await _split_vote(service, cast, clock)
    monkeypatch.undo()
    check = await service.verify_audit()

    assert (await service.get_voting_results(cast["bob"], miscounted)).result == "rejected"
    assert not check.ok and check.row == f"tallies: {miscounted}", check
    assert check.problem is not None and "the ballots give 'approved'" in check.problem
    assert "carried {} (the ballots give {'bob': {'weight': 2, 'delegated_by': ['dave']}}" in check.problem
    await _caught(db, tmp_path, clock, f"tallies: {miscounted}", capsys)


async def test_a_close_that_follows_delegations_the_log_never_made_is_named(
    service: GovernanceService, cast: Cast, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """The store's map says dave delegates to bob; no delegate_vote event ever said so."""

    async def invented(tx: Any, proposal_type: str) -> dict[str, str]:
        return {"dave": "bob"}

    monkeypatch.setattr(DelegationSQL, "delegation_map", invented)
    pid = await _split_vote(service, cast, clock)
    monkeypatch.undo()
    check = await service.verify_audit()

    assert not check.ok and check.row == f"tallies: {pid}"
    assert check.problem is not None
    assert "it has dave delegating to bob; the log's delegation events left dave delegating to no one" in (
        check.problem
    )


# --- edits behind the server's back --------------------------------------------------------------


@pytest.mark.parametrize("config", [_method("ranked")])
@pytest.mark.parametrize(
    ("edit", "row"),
    [
        ("UPDATE votes SET ballot = '{{\"ranking\":[2,1,3]}}' WHERE agent_id = 'bob'", "votes: {pid} ballot 1 of bob"),
        (
            "UPDATE vote_tallies SET option_result = replace(option_result, '\"winner\":1', '\"winner\":2')",
            "tallies: {pid} option_result",
        ),
        ("UPDATE vote_tallies SET outcome = 'rejected', reason = 'no_support'", "tallies: {pid} outcome"),
        ("UPDATE vote_tallies SET consensus = '1/1'", "tallies: {pid} consensus"),
        ("UPDATE vote_tallies SET voted_weight = voted_weight - 1", "tallies: {pid} voted_weight"),
        ("UPDATE vote_tallies SET eligible_weight = eligible_weight + 1", "tallies: {pid} eligible_weight"),
    ],
    ids=[
        "an option ballot rewritten",
        "the stored winner changed",
        "the outcome flipped",
        "the consensus raised",
        "the voted weight lowered",
        "the eligible weight raised",
    ],
)
async def test_an_edit_to_an_option_vote_is_named_at_its_row(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    edit: str,
    row: str,
) -> None:
    pid = await _ranked_vote(service, cast)
    _sql(db, edit.format())
    await _caught(db, tmp_path, clock, row.format(pid=pid), capsys)


@pytest.mark.parametrize(
    ("edit", "row"),
    [
        ("UPDATE delegations SET delegate = 'carol' WHERE agent_id = 'dave'", "delegations: dave for every type"),
        ("DELETE FROM delegations WHERE agent_id = 'dave'", "delegations: dave for every type"),
        (
            "INSERT INTO delegations (agent_id, proposal_type, delegate, since) "
            "VALUES ('carol', 'standards', 'bob', '2026-01-01T00:00:00.000000+00:00')",
            "delegations: carol for standards",
        ),
        (
            "UPDATE vote_tallies SET delegation = replace(delegation, '\"weight\":2', '\"weight\":3')",
            "tallies: {pid} delegation",
        ),
        ("UPDATE vote_tallies SET delegation = NULL", "tallies: {pid} delegation"),
        ("UPDATE vote_tallies SET delegation = 'null'", "tallies: {pid} delegation"),
        ("UPDATE vote_tallies SET delegation = '[]'", "tallies: {pid} delegation"),
        (
            "UPDATE vote_tallies SET delegation = replace(delegation, '\"uncounted\":[]', "
            '\'"uncounted":[{{"agent":"dave","weight":1,"reason":"no_delegation","chain":["dave"]}}]\')',
            "tallies: {pid} delegation",
        ),
        ("UPDATE vote_tallies SET voted_weight = voted_weight - 1", "tallies: {pid} voted_weight"),
        ("UPDATE vote_tallies SET eligible_weight = eligible_weight + 1", "tallies: {pid} eligible_weight"),
    ],
    ids=[
        "a delegate changed",
        "a delegation deleted",
        "a delegation invented",
        "the carried weight raised",
        "the delegation record emptied (NULL)",
        "the delegation record emptied ('null')",
        "the delegation record not a record",
        "a carried voter said to be uncounted",
        "the voted weight lowered to leave out the delegated weight",
        "the eligible weight raised",
    ],
)
async def test_an_edit_to_a_delegation_is_named_at_its_row(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    edit: str,
    row: str,
) -> None:
    pid = await _delegated_vote(service, cast, clock)
    assert (await service.verify_audit()).ok
    _sql(db, edit.format())
    await _caught(db, tmp_path, clock, row.format(pid=pid), capsys)
