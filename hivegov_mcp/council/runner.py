"""The council: every member's loop in parallel until Ctrl-C (`council run`), and `council
check`, which reaches every endpoint and the server as each member without acting."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from anyio.abc import TaskGroup

from hivegov_mcp.council.config import Council, Member
from hivegov_mcp.council.connection import token_refusal, toolset_for
from hivegov_mcp.council.endpoint import SystemTime, Time, describe
from hivegov_mcp.council.member import MemberLoop, Say, stderr_line
from hivegov_mcp.council.status import StatusBoard
from hivegov_mcp.council.wake import DatabaseEvents

GRACE_S = 30.0  # after a stop, for the items in hand


@asynccontextmanager
async def _events(council: Council, loops: list[MemberLoop]) -> AsyncIterator[None]:
    if council.db is None:
        yield
        return
    events = DatabaseEvents()
    events.members = [loop.changes for loop in loops]
    async with events.tail(council.db):
        yield


async def run_council(
    council: Council, *, time: Time | None = None, say: Say = stderr_line, stop: anyio.Event | None = None
) -> StatusBoard:
    """Run every member until cancelled, or until `stop` is set: then each finishes the item in
    hand (its tool calls, its line, its usage report) for at most GRACE_S; the board as they left it."""
    clock = time or SystemTime()
    board = StatusBoard.open(council)
    loops = [MemberLoop(m, council, board, clock, say) for m in council.members]
    door = council.server or f"{council.db} (stdio)"
    say(f"council: {len(loops)} member(s) on {door}; status in {council.status_file}; Ctrl-C stops")

    async def stop_when_told(tg: TaskGroup) -> None:
        assert stop is not None
        await stop.wait()
        for loop in loops:
            loop.changes.stop()
        await anyio.sleep(GRACE_S)
        say(f"council: a member still busy after {GRACE_S:g}s is stopped where it is")
        tg.cancel_scope.cancel()

    try:
        async with _events(council, loops), anyio.create_task_group() as tg:
            async with anyio.create_task_group() as members:
                for loop in loops:
                    members.start_soon(loop.run)
                if stop is not None:
                    tg.start_soon(stop_when_told, members)
            tg.cancel_scope.cancel()
    finally:
        board.running = False
        board.save(clock.now())
    return board


async def run_until_signal(council: Council) -> int:
    """`council run`: the council until SIGINT or SIGTERM; the items in hand are finished first,
    a second signal stops at once."""
    stop = anyio.Event()
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:

            async def council_then_stop() -> None:
                await run_council(council, stop=stop)
                tg.cancel_scope.cancel()

            tg.start_soon(council_then_stop)
            async for signum in signals:
                if stop.is_set():
                    stderr_line(f"council: {signal.Signals(signum).name} again: stopping now")
                    tg.cancel_scope.cancel()
                    break
                stderr_line(f"council: {signal.Signals(signum).name}: finishing the items in hand (again: stop now)")
                stop.set()
    stderr_line("council: stopped")
    return 0


# -- council check ------------------------------------------------------------------------------


@dataclass
class Finding:
    member: str
    what: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.member:<16} {self.what:<9} {self.detail}"


async def _check_endpoint(member: Member) -> Finding:
    """The endpoint's model list (no completion is asked for: nothing is spent)."""
    headers = {"Authorization": f"Bearer {member.api_key}"} if member.api_key else {}
    try:
        async with httpx2.AsyncClient(timeout=15.0, headers=headers) as http:
            answer = await http.get(f"{member.base_url}/models")
    except httpx2.HTTPError as exc:
        return Finding(member.agent, "endpoint", False, f"{member.base_url} can't be reached: {describe(exc)}")
    if answer.status_code in (401, 403):
        return Finding(
            member.agent, "endpoint", False, f"{member.base_url} refused the key (HTTP {answer.status_code})"
        )
    if answer.status_code != 200:
        return Finding(member.agent, "endpoint", False, f"{member.base_url}/models answered HTTP {answer.status_code}")
    try:
        listed = {str(m.get("id")) for m in answer.json().get("data", [])}
    except (ValueError, AttributeError):
        return Finding(member.agent, "endpoint", False, f"{member.base_url}/models did not answer a model list")
    if listed and member.model not in listed:
        some = ", ".join(sorted(listed)[:8])
        return Finding(member.agent, "endpoint", False, f"model {member.model!r} is not served there (it has: {some})")
    return Finding(member.agent, "endpoint", True, f"{member.base_url} serves {member.model}")


async def _check_server(council: Council, member: Member) -> Finding:
    """Connect as the member and read who it is and what it may do (nothing is written)."""
    try:
        with anyio.fail_after(30):
            async with toolset_for(council, member) as toolset:
                me: Any = await toolset.direct_call_tool("whoami", {})
                tools = await toolset.list_tools()
    except Exception as exc:
        refusal = await token_refusal(council, member)
        if refusal is None and council.server is not None and "connect" in describe(exc).lower():
            refusal = f"can't reach {council.server}: is `hivegov-mcp serve --transport streamable-http` running there?"
        return Finding(member.agent, "server", False, refusal or f"{council.server or council.db}: {describe(exc)}")
    if not isinstance(me, dict) or me.get("id") != member.agent:
        who = me.get("id") if isinstance(me, dict) else me
        return Finding(
            member.agent, "server", False, f"the token in {member.token_env} is agent {who}'s, not {member.agent}'s"
        )
    return Finding(
        member.agent, "server", True, f"token ok, roles {', '.join(me.get('roles', []))}; {len(tools)} tools"
    )


async def check_council(council: Council, say: Say = print) -> int:
    """Every endpoint and the server as every member; 0 when all answer, 2 otherwise."""
    findings: list[Finding] = []

    async def one(member: Member) -> None:
        findings.append(await _check_endpoint(member))
        findings.append(await _check_server(council, member))

    async with anyio.create_task_group() as tg:
        for m in council.members:
            tg.start_soon(one, m)
    order = {m.agent: i for i, m in enumerate(council.members)}
    findings.sort(key=lambda f: (order[f.member], f.what))
    for f in findings:
        say(f.line())
    bad = sum(not f.ok for f in findings)
    say(f"{council.path}: {len(council.members)} member(s), " + (f"{bad} problem(s)" if bad else "all reachable"))
    return 0 if bad == 0 else 2
