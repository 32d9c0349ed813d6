"""The real transport and the command line: server processes over stdio, one database file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.conftest import PROPOSAL
from tests.mcp_helpers import Mode, ok, refused, stdio_params


def cli(db: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--config", str(config)] if config else []
    return subprocess.run(
        [sys.executable, "-m", "hivegov_mcp", "--db", str(db), *extra, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def add_agent(db: Path, agent_id: str, *roles: str, config: Path | None = None) -> str:
    done = cli(db, "agent", "add", agent_id, *[arg for role in roles for arg in ("--role", role)], config=config)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_agent_add_prints_the_token_alone_on_the_last_line_of_stdout(db_path: Path) -> None:
    done = cli(db_path, "agent", "add", "alice", "--role", "proposer", "--role", "voter")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[-1].startswith("hg_") and len(lines[-1]) > 40
    listed = cli(db_path, "agent", "list")
    assert listed.stdout.split() == ["alice", "active", "weight", "1", "proposer,", "voter"]
    assert (
        lines[-1] not in sqlite3.connect(db_path).execute("SELECT group_concat(token_hash) FROM agents").fetchone()[0]
    )


def test_cli_manages_roles_tokens_and_deactivation(db_path: Path) -> None:
    first = add_agent(db_path, "bob", "voter")
    assert cli(db_path, "agent", "roles", "bob", "voter", "mediator").stdout.strip() == "bob: mediator, voter"
    rotated = cli(db_path, "agent", "rotate-token", "bob")
    assert rotated.returncode == 0 and rotated.stdout.strip() != first
    assert "deactivated" in cli(db_path, "agent", "deactivate", "bob").stdout
    duplicate = cli(db_path, "agent", "add", "bob", "--role", "voter")
    assert duplicate.returncode == 2 and "already exists" in duplicate.stderr
    bad_role = cli(db_path, "agent", "add", "zed", "--role", "king")
    assert bad_role.returncode == 2 and "'king' unknown" in bad_role.stderr


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_serve_speaks_mcp_on_stdio_as_the_agent_of_hivegov_token(db_path: Path, mode: Mode) -> None:
    token = add_agent(db_path, "alice", "proposer")
    with anyio.fail_after(60):
        async with Client(stdio_params(db_path, token), mode=mode) as client:
            assert (await ok(client, "whoami"))["id"] == "alice"
            created = await ok(client, "create_proposal", **PROPOSAL)
            assert created["id"] == "BIP-001" and created["receipt"]["seq"] == 3  # rules v1, alice, this
        async with Client(stdio_params(db_path, None), mode=mode) as anonymous:
            assert "hivegov-mcp agent add" in await refused(anonymous, "list_proposals")


@pytest.mark.anyio
async def test_two_server_processes_writing_at_once_lose_nothing_and_keep_the_chain(db_path: Path) -> None:
    alice = add_agent(db_path, "alice", "proposer", "discussant")
    dave = add_agent(db_path, "dave", "proposer", "discussant")
    per_agent = 12

    async def write_many(token: str, author: str) -> None:
        async with Client(stdio_params(db_path, token)) as client:
            for i in range(per_agent):
                await ok(client, "create_proposal", **{**PROPOSAL, "title": f"{author} proposal {i}"})

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tg:
            tg.start_soon(write_many, alice, "alice")
            tg.start_soon(write_many, dave, "dave")
    with sqlite3.connect(db_path) as db:
        ids = [r[0] for r in db.execute("SELECT id FROM proposals ORDER BY number")]
        titles = {r[0] for r in db.execute("SELECT title FROM proposal_versions")}
        events = db.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
    db.close()
    assert ids == [f"BIP-{n:03d}" for n in range(1, 2 * per_agent + 1)]
    assert titles == {f"{a} proposal {i}" for a in ("alice", "dave") for i in range(per_agent)}
    assert events == 1 + 2 + 2 * per_agent  # rules v1, the two agents, their proposals
    verified = cli(db_path, "audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith(f"ok: {events} events")


def test_audit_verify_exits_non_zero_at_the_tampered_sequence_number(db_path: Path) -> None:
    add_agent(db_path, "alice", "proposer")
    add_agent(db_path, "bob", "voter")
    add_agent(db_path, "carol", "voter")
    assert cli(db_path, "audit", "verify").returncode == 0
    with sqlite3.connect(db_path) as db:
        db.execute("DROP TRIGGER audit_events_no_update")
        db.execute("""UPDATE audit_events SET payload = '{"roles":["admin"]}' WHERE seq = 2""")
    db.close()
    broken = cli(db_path, "audit", "verify")
    assert broken.returncode == 1
    assert "TAMPERED at seq 2" in broken.stdout


@pytest.mark.anyio
async def test_tick_applies_a_passed_deadline_once(db_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "fast.toml"
    # 0.0001 minutes is 6 ms: over long before the next process has even started.
    config.write_text("[governance]\nmin_discussion_minutes = 0\ndiscussion_minutes = 0.0001\n")
    token = add_agent(db_path, "alice", "proposer", config=config)  # the first command stores the rules
    add_agent(db_path, "bob", "voter")
    with anyio.fail_after(60):
        async with Client(stdio_params(db_path, token, "--config", str(config))) as client:
            await ok(client, "create_proposal", **PROPOSAL)
            started = await ok(client, "start_discussion", proposal_id="BIP-001")
            assert started["status"] == "discussion"
    assert cli(db_path, "tick", config=config).stdout.strip() == "processed 1 deadline(s): BIP-001"
    assert cli(db_path, "tick", config=config).stdout.strip() == "processed 0 deadline(s)"
    with sqlite3.connect(db_path) as db:
        status = db.execute("SELECT status FROM proposals WHERE id = 'BIP-001'").fetchone()[0]
    db.close()
    assert status == "voting"


def test_global_options_are_also_accepted_after_the_command(db_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hivegov_mcp", "agent", "add", "zed", "--role", "voter", "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert cli(db_path, "agent", "list").stdout.split()[0] == "zed"
