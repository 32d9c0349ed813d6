"""`hivegov-mcp demo --council`: a proposal's whole life with model members, offline.

A person (alice) writes a proposal over MCP; four members backed by scripted models at an
OpenAI-compatible endpoint on loopback discuss it, one objects, alice revises, a summarizer
publishes, a mediator concludes, they vote. Everything real but the models' weights: the real
`hivegov-mcp serve` over HTTP, the real `hivegov-mcp council run` in its own process, the
SDK's MCP client for alice. The transcript is the council's own lines.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from anyio.abc import Process
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hivegov_mcp.app import open_service
from hivegov_mcp.council.endpoint import SystemTime
from hivegov_mcp.council.scripted import DEMO_MODELS, ScriptedEndpoint, by_model
from hivegov_mcp.council.wake import Changes, follow_server
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings, resolve_db_path

MEMBERS: dict[str, tuple[str, list[str]]] = {
    "gpt": ("scripted-critic", ["discussant", "voter"]),
    "deepseek": ("scripted-supporter", ["discussant", "voter"]),
    "claude": ("scripted-mediator", ["mediator", "voter"]),
    "qwen": ("scripted-summarizer", ["summarizer", "voter"]),
}
PROPOSAL = {
    "title": "Structured entries for the shared changelog",
    "type": "process",
    "abstract": "Write every changelog entry as a JSON object with fixed fields.",
    "motivation": "Agents can check structured entries; free text has to be guessed at.",
    "specification": "Each entry has: id, date, author, kind (feature, fix, change) and a one-line text.",
}
REVISION = {
    "specification": PROPOSAL["specification"] + " Existing entries are converted by a script, checked by a test.",
    "change_note": "Adds the migration plan asked for in the objection.",
}
TIMEOUT_S = 120.0


def say(line: str = "") -> None:
    print(line, flush=True)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIVEGOV_")}
    return {**env, **extra}


@asynccontextmanager
async def _process(command: list[str], env: dict[str, str]) -> AsyncIterator[Process]:
    process = await anyio.open_process(command, env=env)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        with anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()


async def _first_line(process: Process) -> str:
    assert process.stderr is not None
    line = b""
    with anyio.fail_after(60):
        while not line.endswith(b"\n"):
            line += await process.stderr.receive(1)
    return line.decode()


async def _relay(process: Process, lines: list[str]) -> None:
    """The council's stderr, a line at a time, to the transcript."""
    assert process.stderr is not None
    pending = b""
    async for chunk in process.stderr:
        pending += chunk
        while b"\n" in pending:
            raw, pending = pending.split(b"\n", 1)
            text = raw.decode(errors="replace")
            lines.append(text)
            say(f"  {text}")


def _council_file(folder: Path, server: str, base_url: str) -> Path:
    body = [f'[council]\nserver = "{server}"\nmax_steps_per_item = 6\n']
    for agent, (model, _) in MEMBERS.items():
        body.append(
            f'[[member]]\nagent = "{agent}"\ntoken_env = "{agent.upper()}_HIVEGOV_TOKEN"\nmodel = "{model}"\n'
            f'base_url = "{base_url}"\nmax_requests_per_hour = 120\nmax_tokens_per_day = 2000000\n'
        )
    path = folder / "council.toml"
    path.write_text("\n".join(body), encoding="utf-8")
    return path


class Person:
    """alice, over the SDK's MCP client, waking on the server's event stream like a member."""

    def __init__(self, client: Client, changes: Changes) -> None:
        self.client = client
        self.changes = changes

    async def call(self, tool: str, **args: Any) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args)
        if result.is_error or result.structured_content is None:
            text = getattr(result.content[0], "text", "(no text)") if result.content else "(no text)"
            raise RuntimeError(f"alice: {tool} failed: {text}")
        content: dict[str, Any] = result.structured_content
        return content

    async def until(self, pid: str, statuses: set[str]) -> str:
        with anyio.fail_after(TIMEOUT_S):
            while True:
                status = str((await self.call("get_proposal", proposal_id=pid))["status"])
                if status in statuses:
                    return status
                await self.changes.wait(5.0)


async def run_council_demo(db_flag: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="hivegov-council-demo-") as tmp:
        folder = Path(tmp)
        db = resolve_db_path(db_flag) if db_flag else folder / "demo.db"
        target = anyio.Path(db)
        if await target.exists() and (await target.stat()).st_size > 0:
            say(f"hivegov-mcp demo --council: {db} already exists; give a new file (or none for a temporary one)")
            return 2
        try:
            return await _demo(folder, Path(db))
        except (RuntimeError, TimeoutError) as exc:  # a step refused, or the council too slow
            say(f"\n== demo FAILED: {exc or type(exc).__name__}")
            return 1


async def _demo(folder: Path, db: Path) -> int:
    say("hivegov-mcp demo --council: four model members (scripted, offline) and one person, over real HTTP MCP")
    tokens: dict[str, str] = {}
    async with open_service(Settings(db=db)) as service:
        for agent, roles in [("alice", ["proposer"])] + [(a, r) for a, (_, r) in MEMBERS.items()]:
            tokens[agent] = (await service.register_agent(LOCAL_ADMIN, agent, roles)).token
            model = MEMBERS[agent][0] if agent in MEMBERS else "a person"
            say(f"  registered {agent:<8} {', '.join(roles):<22} {model}")
    endpoint = ScriptedEndpoint(by_model(DEMO_MODELS), models=tuple(DEMO_MODELS))
    serve = [sys.executable, "-m", "hivegov_mcp", "--db", str(db), "serve", "--transport", "streamable-http"]
    transcript: list[str] = []
    async with (
        endpoint.serving(),
        _process([*serve, "--port", "0"], _env(HIVEGOV_LOG_LEVEL="WARNING")) as server,
    ):
        started = await _first_line(server)
        base = started.split("MCP at ", 1)[1].split("/mcp", 1)[0]
        say(f"  server: {base}/mcp (hivegov-mcp serve); models: {endpoint.base_url} (scripted, loopback)")
        config = _council_file(folder, f"{base}/mcp", endpoint.base_url)
        secrets = {f"{a.upper()}_HIVEGOV_TOKEN": tokens[a] for a in MEMBERS}
        council_cmd = [sys.executable, "-m", "hivegov_mcp", "council", "run", "--config", str(config)]
        say(f"  council: hivegov-mcp council run --config {config.name}\n")
        async with (
            _process(council_cmd, _env(**secrets)) as council,
            anyio.create_task_group() as tg,
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {tokens['alice']}"}, timeout=30) as http,
            Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
        ):
            tg.start_soon(_relay, council, transcript)
            changes = Changes("alice")
            tg.start_soon(follow_server, f"{base}/api/governance/events", tokens["alice"], changes, SystemTime())
            alice = Person(client, changes)
            p = await alice.call("create_proposal", **PROPOSAL)
            pid = p["id"]
            say(f"  alice    {pid} create_proposal: {PROPOSAL['title']!r}")
            await alice.call("start_discussion", proposal_id=pid)
            say(f"  alice    {pid} start_discussion")
            if await alice.until(pid, {"revision", "voting", "approved", "rejected"}) == "revision":
                await alice.call("revise_proposal", proposal_id=pid, expected_version=1, **REVISION)
                say(f"  alice    {pid} revise_proposal: {REVISION['change_note']}")
                await alice.call("start_discussion", proposal_id=pid)
                say(f"  alice    {pid} start_discussion (round 2)")
            final = await alice.until(pid, {"approved", "rejected"})
            council.send_signal(signal.SIGINT)
            with anyio.fail_after(30):
                code = await council.wait()
            tg.cancel_scope.cancel()
        check = await _summary(db, config, pid, final)
    ok = final == "approved" and code == 0 and check
    say(f"\n== {pid}: {final}; council exit {code}; " + ("demo ok" if ok else "demo FAILED"))
    return 0 if ok else 1


async def _summary(db: Path, config: Path, pid: str, final: str) -> bool:
    async with open_service(Settings(db=db), check_rules=False, store_rules=False, create=False) as service:
        log = await service.get_audit_log(LOCAL_ADMIN, proposal_id=pid, limit=500)
        verified = await service.verify_audit()
        metrics = await service.get_governance_metrics(LOCAL_ADMIN)
    say(f"\n== The audit log of {pid}: who did what")
    for e in log.events:
        detail = next((str(e.payload[k]) for k in ("type", "resolution", "recommendation", "to") if k in e.payload), "")
        say(f"  #{e.seq:<3} {e.actor:<9} {e.action:<22} {detail}")
    usage = {a.agent_id: a for a in metrics.agents if getattr(a, "model_requests", 0)}
    if usage:
        say("\n== Model usage recorded per member (get_governance_metrics)")
        for agent, stats in usage.items():
            say(f"  {agent:<9} {stats.model_requests} requests, {stats.model_tokens} tokens")
    say("\n== hivegov-mcp council status")
    done = await anyio.run_process(
        [sys.executable, "-m", "hivegov_mcp", "council", "status", "--config", str(config)], check=False
    )
    for line in done.stdout.decode().splitlines():
        say(f"  {line}")
    say(f"\n== Audit chain: {'intact' if verified.ok else 'BROKEN'}: {verified.events} events, head {verified.head}")
    return verified.ok and final == "approved"
