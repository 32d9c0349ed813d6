"""Issue 17, item 2: edits to the state tables that would flip a decision or an identity, made
behind the server's back with the audit log untouched, on SQLite and PostgreSQL. Each is named by
`verify_audit` (and `hivegov-mcp audit verify`, exit 1) at its row; where the engine is about to
use what was edited (a vote's electorate and rules, a deadline, the objections and validations
that gate a vote, a token), the write is refused there (`LogTampered`) and nothing is decided."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.cli import main
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import LogTampered, NotAuthenticated
from hivegov_mcp.domain.identity import LOCAL_ADMIN, hash_token, new_token
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.conftest import PROPOSAL, Cast
from tests.mcp_helpers import connect, text_of
from tests.test_store_contract import _sql

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]

WHY = "I weighed the specification against the motivation and it holds up."


def _rows(db: Path | str, statement: str) -> list[tuple[Any, ...]]:
    """A query behind the server's back, on either store."""
    if isinstance(db, Path):
        with sqlite3.connect(db) as con:
            found = con.execute(statement).fetchall()
        con.close()
        return found
    with psycopg.connect(db, autocommit=True) as pg:
        return list(pg.execute(statement.encode()).fetchall())


@asynccontextmanager
async def _restarted(db: Path | str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[GovernanceService]:
    """The server started again on the edited database (nothing of the old process cached)."""
    async with open_service(Settings(db=db, clock=clock, signing_key=tmp_path / "signing.ed25519")) as svc:
        yield svc


async def _caught(
    db: Path | str, tmp_path: Path, clock: FakeClock, row: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify_audit and `audit verify` both name `row`."""
    async with _restarted(db, tmp_path, clock) as svc:
        check = await svc.verify_audit()
    assert not check.ok and row in (check.row or ""), check
    capsys.readouterr()
    code = await anyio.to_thread.run_sync(main, ["--db", str(db), "audit", "verify"])
    out = capsys.readouterr().out
    assert code == 1 and out.startswith("TAMPERED") and row in out, out


async def _in_voting(service: GovernanceService, cast: Cast) -> str:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready for a vote.")
    return pid


async def _status(db: Path | str, pid: str) -> str:
    return str(_rows(db, f"SELECT status FROM proposals WHERE id = '{pid}'")[0][0])


async def test_an_electorate_weight_raised_is_refused_at_close_and_named_by_verify(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bob approves, carol and dave reject: rejected 1–2. bob's weight made 10 in eligible_voters
    would make it approved 10–2 when dave's ballot closes the vote."""
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    await service.cast_vote(cast["carol"], pid, "reject", WHY)
    _sql(db, f"UPDATE eligible_voters SET weight = 10 WHERE proposal_id = '{pid}' AND agent_id = 'bob'")

    with pytest.raises(LogTampered, match=r"eligible_voters.*bob has weight 10 in it; the vote opened with weight 1"):
        await service.cast_vote(cast["dave"], pid, "reject", WHY)  # the last ballot: the vote closes early

    assert await _status(db, pid) == "voting"
    await _caught(db, tmp_path, clock, f"eligible_voters: {pid}", capsys)


async def test_rewritten_rules_are_refused_at_use_and_named_by_verify(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """approval_threshold 2/3 rewritten to 1/4 in rules_versions: a 1–2 vote would pass."""
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    await service.cast_vote(cast["carol"], pid, "reject", WHY)
    _sql(
        db,
        "UPDATE rules_versions SET rules = "
        "replace(rules, 'approval_threshold = \"2/3\"', 'approval_threshold = \"1/4\"')",
    )

    async with _restarted(db, tmp_path, clock) as again:
        with pytest.raises(LogTampered, match=r"rules_versions.*version 1.*rewritten"):
            await again.cast_vote(cast["dave"], pid, "reject", WHY)

    assert await _status(db, pid) == "voting"
    await _caught(db, tmp_path, clock, "rules_versions: 1", capsys)


async def test_a_deadline_moved_into_the_past_is_refused_and_named_by_verify(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The vote's deadline set to the moment it opened: the engine would close it at once."""
    pid = await _in_voting(service, cast)
    await service.cast_vote(cast["bob"], pid, "approve", WHY)
    _sql(db, f"UPDATE proposals SET deadline = voting_opened_at WHERE id = '{pid}'")
    clock.advance(minutes=1)

    with pytest.raises(LogTampered, match=f"proposals.*{pid}'s deadline is .*; the log set "):
        await service.cast_vote(cast["carol"], pid, "reject", WHY)

    assert await _status(db, pid) == "voting"
    await _caught(db, tmp_path, clock, f"proposals: {pid} deadline", capsys)


async def _objection(service: GovernanceService, cast: Cast) -> tuple[str, int]:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    objection = await service.add_comment(cast["dave"], pid, "Who writes the entries?", type="objection")
    return pid, objection.id


@pytest.mark.parametrize(
    ("edit", "row"),
    [
        ("resolved_by = 'dave', resolved_at = created_at", "resolved_by"),
        ("hidden_by = 'carol', hidden_reason = 'Off topic.', hidden_at = created_at", "hidden_by"),
        ("type = 'comment'", ""),
    ],
    ids=["marked resolved", "hidden", "made a comment"],
)
async def test_an_objection_settled_in_the_table_does_not_open_the_vote(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    edit: str,
    row: str,
) -> None:
    pid, objection = await _objection(service, cast)
    _sql(db, f"UPDATE comments SET {edit} WHERE id = {objection}")

    with pytest.raises(LogTampered, match=f"table comments.* {objection} on {pid}"):
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready for a vote.")
    clock.advance(minutes=61)  # the discussion deadline: the engine would open the vote itself
    with pytest.raises(LogTampered, match=f"table comments.* {objection} on {pid}"):
        await service.apply_due_deadlines()

    assert await _status(db, pid) == "discussion"
    await _caught(db, tmp_path, clock, f"comments: {objection} on {pid} {row}".rstrip(), capsys)


async def test_a_validation_flipped_from_fail_to_pass_does_not_open_the_vote(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    validator = await _agent(service, "val", "validator")
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    failed = await service.record_validation(validator, pid, "fail", "The specification contradicts itself.")
    _sql(db, f"UPDATE validations SET result = 'pass' WHERE id = {failed.id}")

    with pytest.raises(LogTampered, match=f"validations.*validations: {failed.id} on {pid}|says val gave"):
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready for a vote.")

    assert await _status(db, pid) == "discussion"
    await _caught(db, tmp_path, clock, f"validations: {failed.id} on {pid}", capsys)


async def _agent(service: GovernanceService, agent_id: str, role: str) -> Agent:
    return await service.authenticate((await service.register_agent(LOCAL_ADMIN, agent_id, [role])).token)


async def test_a_token_hash_moved_to_another_agent_does_not_act_as_it(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """bob's and dave's token hashes swapped: bob's token would then act as dave (an arbiter's
    token as a voter's, say)."""
    hashes = dict(_rows(db, "SELECT id, token_hash FROM agents WHERE id IN ('bob', 'dave')"))
    _sql(
        db,
        "UPDATE agents SET token_hash = 'moving' WHERE id = 'bob'",
        f"UPDATE agents SET token_hash = '{hashes['bob']}' WHERE id = 'dave'",
        f"UPDATE agents SET token_hash = '{hashes['dave']}' WHERE id = 'bob'",
    )

    async with _restarted(db, tmp_path, clock) as again:
        with pytest.raises(LogTampered, match=r"agents.*dave's token_hash is not the token the log last issued"):
            await again.authenticate(cast.tokens["bob"])

    await _caught(db, tmp_path, clock, "agents: bob token_hash", capsys)


async def test_a_rotated_token_is_logged_and_checked_like_a_registered_one(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The rotation logs its token's digest: the old hash put back is found, and refused."""
    old = _rows(db, "SELECT token_hash FROM agents WHERE id = 'dave'")[0][0]
    await service.rotate_token(cast["root"], "dave")
    async with _restarted(db, tmp_path, clock) as again:
        assert (await again.verify_audit()).ok
    _sql(db, f"UPDATE agents SET token_hash = '{old}' WHERE id = 'dave'")

    async with _restarted(db, tmp_path, clock) as again:
        with pytest.raises(LogTampered, match="dave's token_hash"):
            await again.authenticate(cast.tokens["dave"])
    await _caught(db, tmp_path, clock, "agents: dave token_hash", capsys)


@pytest.mark.parametrize(
    ("edit", "row"),
    [
        ("UPDATE agents SET display_name = 'The Arbiter' WHERE id = 'dave'", "agents: dave display_name"),
        ("UPDATE webhooks SET url = 'https://collector.example.net/T0'", "webhooks: 1 url"),
        ("UPDATE webhooks SET removed_at = created_at", "webhooks: 1 removed_at"),
        ("UPDATE webhooks SET url = 'https://hooks.example.org/elsewhere'", "webhooks: 1 url"),
        ("UPDATE webhooks SET secret = 'chosen-by-the-editor'", "webhooks: 1 url"),
    ],
    ids=["display name", "webhook target", "webhook removed", "webhook path", "webhook secret"],
)
async def test_an_identity_or_a_webhook_target_changed_is_named_by_verify(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    edit: str,
    row: str,
) -> None:
    await service.add_webhook(cast["root"], "https://hooks.example.org/T0")
    assert (await service.verify_audit()).ok
    _sql(db, edit)
    await _caught(db, tmp_path, clock, row, capsys)


async def test_an_untouched_governance_with_every_checked_column_verifies_and_decides_as_before(
    service: GovernanceService, cast: Cast, db: Path | str, clock: FakeClock
) -> None:
    """Resolved and hidden objections, validations, a rotation, a webhook, a closed vote, a
    reopened one: nothing is reported, and the vote closes as the ballots say."""
    validator = await _agent(service, "val", "validator")
    pid, objection = await _objection(service, cast)
    await service.resolve_comment(cast["dave"], objection, "Answered in the spec.")
    other = await service.add_comment(cast["bob"], pid, "Off topic: lunch?", type="objection")
    await service.moderate_comment(cast["erin"], other.id, "hide", "Not about the proposal.")
    await service.record_validation(validator, pid, "pass", "Consistent.")
    await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready for a vote.")
    await service.rotate_token(cast["root"], "erin")
    await service.add_webhook(cast["root"], "https://hooks.example.org/T0")
    for voter, decision in (("bob", "approve"), ("carol", "reject"), ("dave", "reject")):
        await service.cast_vote(cast[voter], pid, decision, WHY)
    assert (await service.get_proposal(cast["bob"], pid)).status is Status.REJECTED
    appeal = await service.file_appeal(cast["bob"], pid, "The vote came too soon.")
    await service.decide_appeal(cast["erin"], appeal.id, "reopen", "Fair.")
    clock.advance(minutes=61)
    await service.apply_due_deadlines()  # the reopened discussion's deadline opens the vote again

    check = await service.verify_audit()
    assert check.ok, check
    assert (await service.get_proposal(cast["bob"], pid)).status is Status.VOTING


async def test_events_from_before_token_digests_verify_and_authenticate(
    service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    """A database written by the previous version: its register_agent and rotate_token events
    carry no token_sha256. They verify, their tokens work, and a rotation made now is checked."""
    token = new_token()
    now = clock.now()
    agent = Agent(id="old", display_name="old", roles=["voter"], weight=1, active=True, created_at=now)

    async def as_before() -> None:  # what register_agent and rotate_token appended before this change
        async with service.store.write() as tx:
            await tx.insert_agent(agent, hash_token("hg_first"))
            await tx.append_audit(
                at=now,
                actor=LOCAL_ADMIN.id,
                action="register_agent",
                subject="agent:old",
                payload={"roles": ["voter"], "weight": 1, "display_name": "old"},
            )
            await tx.update_agent("old", token_hash=hash_token(token))
            await tx.append_audit(at=now, actor=LOCAL_ADMIN.id, action="rotate_token", subject="agent:old", payload={})

    await service.store.submit(as_before)

    assert (await service.verify_audit()).ok
    assert (await service.authenticate(token)).id == "old"
    rotated = await service.rotate_token(cast["root"], "old")
    assert (await service.authenticate(rotated.token)).id == "old"
    assert (await service.verify_audit()).ok


async def test_a_token_that_matches_no_agent_names_the_database_and_its_agents(
    service: GovernanceService, cast: Cast
) -> None:
    """A mistyped --db opens another (often empty) database: the refusal says which, and how many
    agents it holds."""
    with pytest.raises(NotAuthenticated) as refused:
        await service.authenticate("hg_not-a-token")

    assert f"The database is {service.store.path}, which holds 6 agents" in refused.value.database
    assert "--db" in refused.value.database and "rotate-token" in str(refused.value)
    assert str(service.store.path) not in str(refused.value)  # the network doors send no path


async def test_a_stdio_server_names_its_database_when_its_token_matches_no_agent(
    db: Path | str, service: GovernanceService, cast: Cast, clock: FakeClock
) -> None:
    async with connect(db, "hg_not-a-token", clock=clock) as client:
        refused = await client.call_tool("whoami", {})
    assert refused.is_error
    assert f"The database is {service.store.path}, which holds 6 agents" in text_of(refused.content)


async def test_a_webhook_pointed_at_another_host_is_not_delivered_to(
    service: GovernanceService, cast: Cast, db: Path | str, caplog: pytest.LogCaptureFixture
) -> None:
    """The log, copied to whoever the row names: the dispatcher leaves that endpoint out."""
    await service.add_webhook(cast["root"], "https://hooks.example.org/T0")
    kept = await service.add_webhook(cast["root"], "https://other.example.org/T1")
    _sql(db, "UPDATE webhooks SET url = 'https://collector.example.net/T0' WHERE id = 1")

    hooks = await service.active_webhooks()

    assert [h.id for h, _ in hooks] == [kept.id]
    assert "webhooks: 1 url" in caplog.text and "collector.example.net" in caplog.text


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE agents SET weight = 10 WHERE id = 'bob'", "bob weight is 10"),
        ("""UPDATE agents SET roles = '["arbiter", "voter"]' WHERE id = 'erin'""", "erin roles are"),
    ],
    ids=["a weight raised", "a voter role granted"],
)
async def test_an_agent_edited_before_the_vote_opens_is_not_frozen_into_its_electorate(
    service: GovernanceService,
    cast: Cast,
    db: Path | str,
    tmp_path: Path,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    edit: str,
    named: str,
) -> None:
    """The vote would open with the edited weight or voter, and log it as its electorate."""
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    _sql(db, edit)

    with pytest.raises(LogTampered, match=f"table agents disagrees with the log.*{named}"):
        await service.conclude_discussion(cast["carol"], pid, "approved-for-voting", "Ready for a vote.")
    clock.advance(minutes=61)
    with pytest.raises(LogTampered, match="table agents"):
        await service.apply_due_deadlines()

    assert await _status(db, pid) == "discussion"
    await _caught(db, tmp_path, clock, "agents: " + named.split()[0], capsys)
