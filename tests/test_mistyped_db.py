"""A mistyped --db must not start a new, empty governance unnoticed (issue 17, item 9): `serve`
never creates a database, and `agent add` says when it creates one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli_doors import add_agent, base_env, cli, run


@pytest.mark.parametrize("transport", ["stdio", "streamable-http"])
def test_serve_on_a_file_that_holds_no_database_refuses_and_creates_nothing(tmp_path: Path, transport: str) -> None:
    typo = tmp_path / "no-such-folder" / "govrnance.db"
    done = run("--db", str(typo), "serve", "--transport", transport, "--port", "0", env=base_env(), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "there is no database in that file" in done.stderr and str(typo) in done.stderr
    assert "agent add" in done.stderr
    assert "Traceback" not in done.stderr
    assert not typo.parent.exists()


def test_agent_add_says_when_it_creates_a_database_and_only_then(tmp_path: Path) -> None:
    db = tmp_path / "gov.db"
    first = cli(db, "agent", "add", "alice", "--role", "proposer")
    assert first.returncode == 0, first.stderr
    assert f"creating a new governance database at {db}" in first.stderr
    add_agent(db, "bob", "voter")
    second = cli(db, "agent", "add", "carol", "--role", "voter")
    assert second.returncode == 0 and "creating a new governance database" not in second.stderr
