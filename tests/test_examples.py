"""The examples run, and the demo completes its cycle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_client(db: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "client.py"), str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_example_client_script_runs_a_short_cycle(tmp_path: Path) -> None:
    assert run_client(tmp_path / "example.db") == [
        "ada created BIP-001 (audit #4)",
        "lin commented #1 (support)",
        "BIP-001 is in discussion with 1 comment(s)",
        "audit chain ok=True events=6",
    ]


def test_the_example_client_runs_again_on_the_same_database(tmp_path: Path) -> None:
    run_client(tmp_path / "example.db")
    again = run_client(tmp_path / "example.db")
    assert again[0] == "ada created BIP-002 (audit #9)"  # 6 events, then two token rotations
    assert again[-1] == "audit chain ok=True events=11"


def test_client_configurations_start_the_server_with_a_token() -> None:
    for name in ("claude_desktop_config.json", "cursor_mcp.json"):
        server = json.loads((ROOT / "examples" / name).read_text())["mcpServers"]["hivegov"]
        assert server["args"][-1] == "serve"
        assert "HIVEGOV_TOKEN" in server["env"]


def test_the_demo_approves_one_proposal_rejects_another_and_verifies_the_chain() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hivegov_mcp", "demo"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "conclude_discussion approved-for-voting -> REFUSED" in out
    assert "BIP-001: APPROVED" in out
    assert "BIP-002: REJECTED (threshold_not_met)" in out
    assert "== Audit chain: INTACT" in out
    assert "claim_execution -> REFUSED" in out and "its appeal window is open until" in out
    assert "report_execution succeeded -> executed" in out and "== BIP-001: executed" in out
    assert "implementation" in out
