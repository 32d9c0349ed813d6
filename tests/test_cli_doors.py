"""The command line's front doors: storage failures, token and log-level checks at start, the request
log, help texts, `agent activate` and rules from the command line, each through a real subprocess."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import PROPOSAL
from tests.mcp_helpers import ok, refused, stdio_params

MCP_TOOL_NAMES = ("list_agents", "set_agent_roles", "register_agent", "deactivate_agent", "activate_agent")
SHA256 = re.compile(r"\b[0-9a-f]{64}\b")


def base_env(**extra: str) -> dict[str, str]:
    """This process's environment without HIVEGOV_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEGOV_")}
    return {**env, **extra}


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m hivegov_mcp ARGS…` with stdin empty, so a `serve` stops at end of file."""
    return subprocess.run(
        [sys.executable, "-m", "hivegov_mcp", *args],
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env if env is not None else base_env(),
    )


def cli(db: Path, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--config", str(config)] if config else []
    return run("--db", str(db), *extra, *args)


def add_agent(db: Path, agent_id: str, *roles: str, config: Path | None = None) -> str:
    done = cli(db, "agent", "add", agent_id, *[arg for role in roles for arg in ("--role", role)], config=config)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def serve_once(db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Start `serve` with stdin at end of file: it says what it thinks of its token, then stops."""
    return run("--db", str(db), "serve", env=base_env(HIVEGOV_LOG_LEVEL="WARNING", **env), timeout=30)


def assert_short_storage_error(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("hivegov-mcp: ")
    assert len(done.stderr.strip().splitlines()) <= 4, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


# 1. Storage failures


def test_a_folder_given_as_database_is_refused_with_its_path_and_no_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file"
    folder.mkdir()
    assert_short_storage_error(cli(folder, "agent", "list"), str(folder), "folder")


def test_a_database_under_a_regular_file_is_refused_naming_the_folder_problem(tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("I am a file, not a folder\n")
    db = blocker / "x.db"
    assert_short_storage_error(cli(db, "agent", "list"), str(db), "folder")


def test_a_garbage_database_file_is_refused_as_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "garbage.db"
    db.write_bytes((b"not a database" * 300)[:4096])
    assert_short_storage_error(cli(db, "agent", "list"), str(db), "file is not a database")
    assert db.read_bytes() == (b"not a database" * 300)[:4096]  # nothing was written


def test_an_immutable_database_file_is_refused_with_its_path_and_nothing_is_written(db_path: Path) -> None:
    add_agent(db_path, "alice", "proposer")
    if subprocess.run(["chattr", "+i", str(db_path)], capture_output=True, check=False).returncode != 0:
        pytest.skip("this file system can't mark a file immutable (chattr +i)")
    try:
        done = cli(db_path, "agent", "add", "bob", "--role", "voter")
        listed = cli(db_path, "agent", "list")
    finally:
        subprocess.run(["chattr", "-i", str(db_path)], check=True)
    assert_short_storage_error(done, str(db_path), "readonly database")
    assert listed.stdout.split()[0] == "alice" and "bob" not in listed.stdout


# 2. The token at the start of `serve`


def test_serve_with_a_token_that_matches_no_agent_says_so_at_start(db_path: Path) -> None:
    add_agent(db_path, "bob", "voter")
    done = serve_once(db_path, HIVEGOV_TOKEN="hg_wrong")
    assert "HIVEGOV_TOKEN is refused" in done.stderr and "matches no agent" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_serve_with_a_deactivated_agents_token_says_it_is_deactivated(db_path: Path) -> None:
    token = add_agent(db_path, "bob", "voter")
    assert cli(db_path, "agent", "deactivate", "bob").returncode == 0
    done = serve_once(db_path, HIVEGOV_TOKEN=token)
    assert "HIVEGOV_TOKEN is refused" in done.stderr and "deactivated" in done.stderr, done.stderr


def test_serve_without_a_token_says_it_is_not_set(db_path: Path) -> None:
    add_agent(db_path, "bob", "voter")  # serve never creates the database
    done = serve_once(db_path)
    assert "HIVEGOV_TOKEN is not set" in done.stderr, done.stderr
    assert "refused" not in done.stderr


# 3. Logging


@pytest.mark.anyio
async def test_a_debug_server_logs_each_call_with_its_outcome_but_no_secrets_or_sql(
    db_path: Path, tmp_path: Path
) -> None:
    token = add_agent(db_path, "alice", "proposer", "discussant")
    logfile = tmp_path / "server.log"
    env = {"HIVEGOV_TOKEN": token, "HIVEGOV_LOG_LEVEL": "DEBUG"}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    params = StdioServerParameters(
        command="/bin/sh",
        args=["-c", 'exec "$0" -m hivegov_mcp --db "$1" serve 2>"$2"', sys.executable, str(db_path), str(logfile)],
        env=env,
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            await ok(client, "create_proposal", **PROPOSAL)
            await ok(client, "start_discussion", proposal_id="BIP-001")
            await ok(client, "add_comment", proposal_id="BIP-001", content="SECRET-COMMENT-TEXT-42")
            await refused(client, "get_proposal", proposal_id="BIP-999")
    log = logfile.read_text()
    lines = log.splitlines()
    assert any("tool=add_comment agent=alice outcome=ok" in line for line in lines), log
    assert any("tool=get_proposal agent=alice outcome=not_found" in line for line in lines), log
    assert "SECRET-COMMENT-TEXT-42" not in log
    assert token not in log
    assert hashlib.sha256(token.encode()).hexdigest() not in log
    assert "executing" not in log.lower()


def test_an_unknown_log_level_is_refused_before_serving(db_path: Path) -> None:
    done = run("--db", str(db_path), "serve", env=base_env(HIVEGOV_LOG_LEVEL="LOUD"))
    assert done.returncode == 2
    assert "HIVEGOV_LOG_LEVEL" in done.stderr and "'LOUD'" in done.stderr and "DEBUG" in done.stderr
    assert "Traceback" not in done.stderr


# 4. The CLI speaks CLI


def test_deactivating_an_unknown_agent_names_it_without_mcp_tool_names(db_path: Path) -> None:
    done = cli(db_path, "agent", "deactivate", "nobody")
    assert done.returncode == 2
    assert "Unknown agent 'nobody'" in done.stderr
    assert [name for name in MCP_TOOL_NAMES if name in done.stderr] == []


def test_agent_roles_without_a_role_is_refused_and_keeps_the_roles(db_path: Path) -> None:
    add_agent(db_path, "bob", "discussant", "voter")
    done = cli(db_path, "agent", "roles", "bob")
    assert done.returncode == 2
    assert "ROLE" in done.stderr
    assert cli(db_path, "agent", "list").stdout.split() == ["bob", "active", "weight", "1", "discussant,", "voter"]


def test_help_names_the_real_default_database_path(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg-data"
    done = run("--help", env=base_env(XDG_DATA_HOME=str(xdg)))
    assert done.returncode == 0
    assert str(xdg / "hivegov" / "hivegov.db") in done.stdout, done.stdout


def test_serve_help_names_every_environment_variable() -> None:
    done = run("serve", "--help")
    assert done.returncode == 0
    for name in ("HIVEGOV_TOKEN", "HIVEGOV_DB", "HIVEGOV_CONFIG", "HIVEGOV_LOG_LEVEL"):
        assert name in done.stdout, name


def test_agent_roles_help_lists_what_each_role_grants() -> None:
    done = run("agent", "roles", "--help")
    assert done.returncode == 0
    grants = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("  ") and line.split()}
    assert "claim_execution" in grants["executor"]
    assert "cast_vote" in grants["voter"]
    assert "create_proposal" in grants["proposer"]


# 5. agent activate


@pytest.mark.anyio
async def test_an_activated_agents_token_works_again_over_stdio(db_path: Path) -> None:
    token = add_agent(db_path, "bob", "voter")
    assert cli(db_path, "agent", "deactivate", "bob").returncode == 0
    with anyio.fail_after(60):
        async with Client(stdio_params(db_path, token)) as client:
            message = await refused(client, "whoami")
    assert "deactivated" in message and "agent activate bob" in message
    activated = cli(db_path, "agent", "activate", "bob")
    assert (activated.returncode, activated.stdout.strip()) == (0, "bob: active")
    with anyio.fail_after(60):
        async with Client(stdio_params(db_path, token)) as client:
            me = await ok(client, "whoami")
    assert (me["id"], me["active"], me["roles"]) == ("bob", True, ["voter"])


def test_activating_an_active_agent_is_refused(db_path: Path) -> None:
    add_agent(db_path, "bob", "voter")
    done = cli(db_path, "agent", "activate", "bob")
    assert done.returncode == 2
    assert "already active" in done.stderr


# 6. Rules from the command line


def test_rules_move_from_file_to_database_only_through_rules_set(db_path: Path, tmp_path: Path) -> None:
    first, other = tmp_path / "first.toml", tmp_path / "other.toml"
    first.write_text('[governance]\nquorum = "1/3"\n')
    other.write_text('[governance]\nquorum = "1/2"\n')
    reading = cli(db_path, "agent", "list", config=first)  # a command that only reads creates nothing
    assert reading.returncode == 2 and "there is no database in that file" in reading.stderr
    assert not db_path.exists()
    assert cli(db_path, "agent", "add", "alice", "--role", "proposer", config=first).returncode == 0

    shown = cli(db_path, "rules", "show")
    assert shown.returncode == 0
    assert shown.stdout.splitlines()[0].startswith("# rules version 1")
    assert 'quorum = "1/3"' in shown.stdout.splitlines()

    mismatch = cli(db_path, "agent", "list", config=other)
    assert mismatch.returncode == 2
    assert len(set(SHA256.findall(mismatch.stderr))) == 2, mismatch.stderr
    assert "rules set" in mismatch.stderr

    stored = cli(db_path, "rules", "set", str(other))
    assert stored.returncode == 0 and stored.stdout.startswith("stored rules version 2"), stored.stderr
    again = cli(db_path, "rules", "set", str(other))
    assert again.returncode == 0 and again.stdout.startswith("rules unchanged"), again.stderr
    assert cli(db_path, "agent", "list", config=other).returncode == 0

    assert cli(db_path, "audit", "verify").returncode == 0
    with sqlite3.connect(db_path) as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_events ORDER BY seq")]
    db.close()
    assert actions == ["rules_changed", "register_agent", "rules_changed"]


def test_rules_show_output_given_back_to_rules_set_is_unchanged(db_path: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[governance]\nquorum = "1/3"\nvoting_minutes = 45\n')
    assert cli(db_path, "agent", "add", "alice", "--role", "proposer", config=rules).returncode == 0
    shown = tmp_path / "shown.toml"
    shown.write_text(cli(db_path, "rules", "show").stdout)
    done = cli(db_path, "rules", "set", str(shown))
    assert done.returncode == 0 and done.stdout.startswith("rules unchanged: version 1"), done.stdout + done.stderr


def test_an_empty_db_path_is_refused_rather_than_meaning_the_default(tmp_path: Path) -> None:
    done = run("--db", "", "agent", "add", "alice", "--role", "proposer")
    assert done.returncode == 2 and "--db" in done.stderr and "is empty" in done.stderr


def test_a_reading_command_on_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    for command in (["agent", "list"], ["rules", "show"], ["audit", "verify"]):
        done = cli(missing, *command)
        assert done.returncode == 2 and str(missing) in done.stderr, command
        assert "there is no database in that file" in done.stderr
    assert not missing.exists()
    missing.touch()  # an empty file is no database either, and stays empty
    assert "there is no database" in cli(missing, "agent", "list").stderr
    assert missing.stat().st_size == 0


def test_rules_show_into_a_pipe_that_closes_early_prints_no_traceback(db_path: Path) -> None:
    add_agent(db_path, "alice", "proposer")
    done = subprocess.run(
        f'"{sys.executable}" -m hivegov_mcp --db "{db_path}" rules show | head -n 1',
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.startswith("# rules version 1") and done.stderr == ""


def test_a_rules_file_with_a_bad_value_is_named_in_the_error(db_path: Path, tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text("[governance]\nquorum = 2\n")
    done = cli(db_path, "agent", "add", "alice", "--role", "proposer", config=rules)
    assert done.returncode == 2 and f"{rules}: governance.quorum" in done.stderr
