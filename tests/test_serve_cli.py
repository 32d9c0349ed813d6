"""`hivegov-mcp serve` over HTTP through the real command line (a subprocess): a bad port, a port
in use and `--port 0` each get one clear line; the startup line names every door, the dashboard
included."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import anyio
import httpx2
import pytest

from tests.test_cli_doors import add_agent, base_env, run

pytestmark = pytest.mark.anyio

HTTP = ("serve", "--transport", "streamable-http")


@pytest.fixture
def governance(tmp_path: Path) -> Path:
    db = tmp_path / "g.db"
    add_agent(db, "alice", "voter")
    return db


@pytest.mark.parametrize("port", ["99999", "-5", "65536"])
def test_a_port_out_of_range_is_one_line_saying_what_to_use(governance: Path, port: str) -> None:
    done = run("--db", str(governance), *HTTP, "--port", port, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"hivegov-mcp: Configuration error at --port {port}: that is not a port: use 1-65535, or 0 for any free one"
    ]


def test_a_port_in_use_is_one_line_before_anything_is_printed(governance: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("--db", str(governance), *HTTP, "--port", str(port), timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"hivegov-mcp: Configuration error at --port {port}: 127.0.0.1:{port} is already in use (another server?): "
        "choose another --port, or --port 0 for any free one"
    ]


async def test_port_0_prints_the_port_chosen_and_the_dashboard_and_serves_there(governance: Path) -> None:
    command = [sys.executable, "-m", "hivegov_mcp", "--db", str(governance), *HTTP, "--port", "0"]
    async with await anyio.open_process(command, env=base_env(HIVEGOV_LOG_LEVEL="WARNING")) as process:
        try:
            assert process.stderr is not None
            with anyio.fail_after(60):
                line = b""
                while not line.endswith(b"\n"):
                    line += await process.stderr.receive(1)
            text = line.decode()
            port = int(text.split("MCP at http://127.0.0.1:", 1)[1].split("/", 1)[0])
            base = f"http://127.0.0.1:{port}"
            async with httpx2.AsyncClient(base_url=base, transport=httpx2.AsyncHTTPTransport(retries=20)) as http:
                with anyio.fail_after(30):
                    health = await http.get("/healthz")
        finally:
            process.terminate()
    assert port != 0 and health.status_code == 200
    assert f"MCP at {base}/mcp, REST at {base}/api/governance/" in text
    assert f"the dashboard at {base}/ (sign in with an agent token)" in text
