"""What the command line's help says, through the real command line (a subprocess)."""

from __future__ import annotations

from tests.test_cli_doors import run


def test_agent_roles_help_says_an_open_vote_keeps_the_electorate_frozen_when_it_opened() -> None:
    done = run("agent", "roles", "--help")
    text = " ".join(done.stdout.split())
    assert done.returncode == 0
    assert "except on a vote already open: its electorate and weights were frozen when voting opened" in text
    assert "removing `voter` leaves the agent its place (and its ballot) in that vote" in text
