"""`council check` (DESIGN §19): it reaches every member's endpoint (its model list: no
completion is asked for) and the server as each member (whoami and the tool list: nothing is
written), and says ok or FAIL per member and per door. A real uvicorn on loopback, the
scripted OpenAI-compatible endpoint on another port, and once the real command line."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import anyio
import pytest

from hivegov_mcp.council.runner import check_council, run_council
from hivegov_mcp.council.scripted import ScriptedEndpoint, say
from hivegov_mcp.council.status import read
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL
from tests.council_helpers import FakeTime, Transcript, council, member
from tests.http_helpers import mcp_client, serve

pytestmark = pytest.mark.anyio

ROLES = ["discussant", "voter"]


def _nothing(_: object) -> dict[str, str]:
    return say("Nothing to do.")


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def _log(service: GovernanceService) -> list[tuple[int, str, str]]:
    page = await service.get_audit_log(LOCAL_ADMIN, limit=500)
    return [(e.seq, e.actor, e.action) for e in page.events]


def _line(lines: list[str], agent: str, what: str) -> str:
    (found,) = [x for x in lines if x.split()[1:3] == [agent, what]]
    return found


async def test_all_reachable_returns_0_and_says_ok_for_each_members_endpoint_and_server(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(_nothing, models=("model-a", "model-b"))
    lines: list[str] = []
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        tokens = {a: (await served.service.register_agent(LOCAL_ADMIN, a, ROLES)).token for a in ("gpt", "deepseek")}
        await served.service.register_agent(LOCAL_ADMIN, "qwen", ["summarizer"])
        async with mcp_client(served.base, tokens["gpt"]) as client:
            offered = len((await client.list_tools()).tools)
        before = await _log(served.service)
        setup = council(
            tmp_path,
            [
                member("gpt", tokens["gpt"], "model-a", endpoint.base_url),
                member("deepseek", tokens["deepseek"], "model-b", endpoint.base_url),
            ],
            server=f"{served.base}/mcp",
        )
        code = await check_council(setup, say=lines.append)
        after = await _log(served.service)
        verified = await served.service.verify_audit()

    assert code == 0, lines
    assert len(lines) == 5
    for agent, model in (("gpt", "model-a"), ("deepseek", "model-b")):
        assert _line(lines, agent, "endpoint").startswith("ok ")
        assert _line(lines, agent, "endpoint").endswith(f"{endpoint.base_url} serves {model}")
        assert _line(lines, agent, "server").startswith("ok ")
        assert _line(lines, agent, "server").endswith(f"token ok, roles discussant, voter; {offered} tools")
    assert [x.split()[1] for x in lines[:4]] == ["gpt", "gpt", "deepseek", "deepseek"]  # the file's order
    assert lines[-1] == f"{tmp_path / 'council.toml'}: 2 member(s), all reachable"
    # nothing was spent at the endpoint and nothing was written on the server
    assert endpoint.count() == 0
    assert after == before
    assert verified.ok


async def test_each_problem_is_a_fail_line_naming_it_and_check_returns_2_having_acted_on_nothing(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(_nothing, models=("model-a", "model-b"))
    lines: list[str] = []
    closed = f"http://127.0.0.1:{_closed_port()}/v1"
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        service = served.service
        tokens = {
            a: (await service.register_agent(LOCAL_ADMIN, a, ROLES)).token
            for a in ("gpt", "llama", "faraway", "thief", "gone")
        }
        await service.deactivate_agent(LOCAL_ADMIN, "gone")
        before = await _log(service)
        setup = council(
            tmp_path,
            [
                member("gpt", tokens["gpt"], "model-a", endpoint.base_url),
                member("llama", tokens["llama"], "llama3.1:8b", endpoint.base_url),  # not served there
                member("faraway", tokens["faraway"], "model-a", closed),  # nobody listens
                member("thief", tokens["gpt"], "model-b", endpoint.base_url),  # another agent's token
                member("stranger", "hg_not_a_token", "model-b", endpoint.base_url),  # no agent's token
                member("gone", tokens["gone"], "model-b", endpoint.base_url),  # a deactivated agent
            ],
            server=f"{served.base}/mcp",
        )
        code = await check_council(setup, say=lines.append)
        after = await _log(service)

    assert code == 2, lines
    ok = {(x.split()[1], x.split()[2]) for x in lines[:-1] if x.startswith("ok ")}
    failed = {(x.split()[1], x.split()[2]) for x in lines[:-1] if x.startswith("FAIL")}
    assert failed == {
        ("llama", "endpoint"),
        ("faraway", "endpoint"),
        ("thief", "server"),
        ("stranger", "server"),
        ("gone", "server"),
    }
    assert len(ok) == 12 - len(failed)
    assert _line(lines, "llama", "endpoint").endswith(
        "model 'llama3.1:8b' is not served there (it has: model-a, model-b)"
    )
    assert f"{closed} can't be reached" in _line(lines, "faraway", "endpoint")
    assert _line(lines, "faraway", "server").startswith("ok ")  # its token is fine: only the endpoint fails
    assert _line(lines, "thief", "server").endswith("the token in HIVEGOV_TOKEN is agent gpt's, not thief's")
    assert "the server refused the token of 'stranger'" in _line(lines, "stranger", "server")
    assert "the server refused the token of 'gone'" in _line(lines, "gone", "server")
    assert lines[-1] == f"{tmp_path / 'council.toml'}: 6 member(s), 5 problem(s)"
    assert endpoint.count() == 0
    assert after == before


async def test_a_refused_token_is_said_to_be_refused(db_path: Path, clock: FakeClock, tmp_path: Path) -> None:
    """The MCP client reports the server's 401 as a generic error: check says what it was."""
    endpoint = ScriptedEndpoint(_nothing, models=("model-a",))
    lines: list[str] = []
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        setup = council(
            tmp_path, [member("stranger", "hg_not_a_token", "model-a", endpoint.base_url)], server=f"{served.base}/mcp"
        )
        assert await check_council(setup, say=lines.append) == 2
    detail = _line(lines, "stranger", "server")
    assert detail.startswith("FAIL")
    assert "the server refused the token of 'stranger'" in detail, detail
    assert "MCPError" not in detail


async def test_a_member_whose_token_is_refused_at_start_stops_alone_and_the_others_go_on(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(_nothing, models=("model-a",))
    transcript = Transcript()
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        service = served.service
        token = (await service.register_agent(LOCAL_ADMIN, "good", ROLES)).token
        alice = await service.authenticate((await service.register_agent(LOCAL_ADMIN, "alice", ["proposer"])).token)
        pid = (await service.create_proposal(alice, **PROPOSAL)).id
        await service.start_discussion(alice, pid)
        setup = council(
            tmp_path,
            [
                member("good", token, "model-a", endpoint.base_url),
                member("stranger", "hg_not_a_token", "model-a", endpoint.base_url),
            ],
            server=f"{served.base}/mcp",
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: run_council(setup, time=FakeTime(), say=transcript))
            await transcript.wait_for("stranger: stopped: the server refused the token in HIVEGOV_TOKEN", timeout=20)
            await transcript.wait_for(f"good {pid} add_comment: no action", timeout=20)  # the council goes on
            tg.cancel_scope.cancel()

    assert not transcript.has("stranger: lost the server")  # told apart from a server that is away
    status = read(setup.status_file)
    assert status is not None
    stranger = status["members"]["stranger"]
    assert stranger["state"] == "stopped: the server refused this member's token"
    assert "the server refused the token of 'stranger'" in stranger["last_error"]
    assert status["members"]["good"]["last_action"].startswith(f"{pid} add_comment: no action")
    assert endpoint.count("model-a") >= 1


# -- the command line ---------------------------------------------------------------------------


def _council_toml(server: str, base_url: str, models: dict[str, str]) -> str:
    body = [f'[council]\nserver = "{server}"\n']
    for agent, model in models.items():
        body.append(
            f'[[member]]\nagent = "{agent}"\ntoken_env = "{agent.upper()}_HIVEGOV_TOKEN"\n'
            f'model = "{model}"\nbase_url = "{base_url}"\n'
        )
    return "\n".join(body)


async def test_council_check_through_the_command_line_exits_0_then_2(
    db_path: Path, clock: FakeClock, tmp_path: Path
) -> None:
    endpoint = ScriptedEndpoint(_nothing, models=("model-a", "model-b"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEGOV_")}
    command = [sys.executable, "-m", "hivegov_mcp", "council", "check", "--config"]
    async with serve(db_path, clock=clock) as served, endpoint.serving():
        for agent in ("gpt", "deepseek"):
            env[f"{agent.upper()}_HIVEGOV_TOKEN"] = (
                await served.service.register_agent(LOCAL_ADMIN, agent, ROLES)
            ).token
        before = await _log(served.service)
        good = tmp_path / "good.toml"
        good.write_text(
            _council_toml(f"{served.base}/mcp", endpoint.base_url, {"gpt": "model-a", "deepseek": "model-b"}), "utf-8"
        )
        bad = tmp_path / "bad.toml"
        bad.write_text(
            _council_toml(f"{served.base}/mcp", endpoint.base_url, {"gpt": "model-a", "deepseek": "gpt-9"}), "utf-8"
        )
        with anyio.fail_after(60):
            passed = await anyio.run_process([*command, str(good)], env=env, check=False)
            failed = await anyio.run_process([*command, str(bad)], env=env, check=False)
        after = await _log(served.service)

    out = passed.stdout.decode()
    assert passed.returncode == 0, (out, passed.stderr.decode())
    assert [line.split()[:3] for line in out.splitlines()[:4]] == [
        ["ok", "gpt", "endpoint"],
        ["ok", "gpt", "server"],
        ["ok", "deepseek", "endpoint"],
        ["ok", "deepseek", "server"],
    ]
    assert out.splitlines()[-1] == f"{good}: 2 member(s), all reachable"
    out = failed.stdout.decode()
    assert failed.returncode == 2, (out, failed.stderr.decode())
    assert "FAIL deepseek" in out and "model 'gpt-9' is not served there (it has: model-a, model-b)" in out
    assert out.splitlines()[-1] == f"{bad}: 2 member(s), 1 problem(s)"
    assert endpoint.count() == 0
    assert after == before
