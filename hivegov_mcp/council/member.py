"""One member's loop: connect with its own token, read its agenda, take one item at a time to
its model with exactly the tools its roles list, and wait for the next event.

The model acts only through tool calls to the server (pydantic-ai's MCP toolset); every call
is printed as one line (member, item, tool, result), a refused call goes back to the model as
the server's message, and `max_steps_per_item` bounds the calls for one item. Faults stay
inside the member: a failing endpoint is retried with backoff (`endpoint.py`), a lost server
is reconnected, a refused token stops this member alone.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelRetry, UnexpectedModelBehavior, UsageLimitExceeded
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.tools import RunContext, ToolDefinition
from pydantic_ai.usage import UsageLimits

from hivegov_mcp.council.budget import Budget
from hivegov_mcp.council.config import Council, Member
from hivegov_mcp.council.connection import read_discussion, refused_token, token_refusal, toolset_for
from hivegov_mcp.council.endpoint import BudgetedEndpoint, BudgetSpent, EndpointFailed, ItemUsage, Time, describe
from hivegov_mcp.council.prompts import instructions, item_prompt
from hivegov_mcp.council.scope import USAGE_TOOL, printable, refusal, tools_for_item
from hivegov_mcp.council.status import StatusBoard
from hivegov_mcp.council.wake import Changes, follow_server

IDLE_S = 60.0  # with no event, the agenda is read again this often (deadlines that pass unseen)
RECONNECT_S = (1.0, 2.0, 5.0, 10.0, 30.0)
ITEM_RETRY_S = (30.0, 120.0, 600.0)  # an item whose endpoint failed is taken up again after this
# An item the model left alone is put to it again when someone else touches its proposal (a new
# comment may change its mind: a mediator waiting for more views), at most this many times; a
# new round or version is a new item.
MAX_REASKS = 4
REASK_AFTER_CAP_S = 600.0  # past the cap, a touched item is put to the model again at most this often

Say = Callable[[str], None]


def stderr_line(text: str) -> None:
    print(printable(text), file=sys.stderr, flush=True)


def _brief(result: Any) -> str:
    """What a tool returned, in a few words: a receipt's sequence number, a status."""
    if not isinstance(result, dict):
        return ""
    bits = []
    if isinstance(result.get("status"), str):
        bits.append(result["status"])
    if isinstance(result.get("id"), int | str) and "receipt" in result:
        bits.append(f"id {result['id']}")
    receipt = result.get("receipt")
    if isinstance(receipt, dict) and "seq" in receipt:
        bits.append(f"audit #{receipt['seq']}")
    return f" ({', '.join(bits)})" if bits else ""


def _args_text(args: dict[str, Any], pid: str) -> str:
    shown = []
    for k, v in args.items():
        if k == "proposal_id" and v == pid:
            continue
        text = v if isinstance(v, str) else repr(v)
        shown.append(f"{k}={text[:40] + '…' if len(text) > 40 else text}")
    return ", ".join(shown)


@dataclass
class Item:
    """The agenda item being handled, as the tool hook sees it."""

    data: dict[str, Any]
    comment_ids: frozenset[int]
    round: int | None = None  # the discussion round the item was read in
    calls: int = 0  # tool calls the model made
    refused: int = 0  # of which refused (by the council or the server)


class MemberLoop:
    def __init__(
        self, member: Member, council: Council, board: StatusBoard, time: Time, say: Say = stderr_line
    ) -> None:
        self.member = member
        self.council = council
        self.board = board
        self.time = time
        self.say: Say = lambda line: say(printable(line))  # agents' text never drives the terminal
        self.budget: Budget = board.budgets[member.agent]
        self.endpoint = BudgetedEndpoint(member, self.budget, time)
        self.changes = Changes(member.agent)
        self.handled: dict[tuple[Any, ...], int] = {}  # item key -> the log position it was handled at
        self.asked: dict[tuple[Any, ...], tuple[int, datetime]] = {}  # item key -> (times asked, last asked)
        self.read_only: set[str] = set()  # the server's tools that only read (their annotations)
        self.retry_at: dict[tuple[Any, ...], datetime] = {}  # item key -> when to try again (endpoint failures)
        self.failures: dict[tuple[Any, ...], int] = {}
        self.current: Item | None = None

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """For ever (until cancelled or the token is refused): connect, serve, reconnect."""
        try:
            await self._run()
        finally:
            with anyio.CancelScope(shield=True):
                await self.endpoint.close()

    async def _run(self) -> None:
        failures = 0
        while not self.changes.stopping:
            try:
                async with self._connected() as toolset:
                    failures = 0
                    await self._serve(toolset)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:
                refusal = await token_refusal(self.council, self.member)
                if isinstance(exc, WrongAgent) or refusal is not None or refused_token(exc):
                    why = str(exc) if isinstance(exc, WrongAgent) else refusal or describe(exc)
                    self._note(state="stopped: the server refused this member's token", last_error=why)
                    self.say(
                        f"{self.member.agent}: stopped: the server refused the token in {self.member.token_env} "
                        f"({why}); activate the agent or give it a new token (hivegov-mcp agent rotate-token "
                        f"{self.member.agent}), then restart the council"
                    )
                    return
                wait = RECONNECT_S[min(failures, len(RECONNECT_S) - 1)]
                failures += 1
                where = self.council.server or f"{self.council.db} (stdio)"
                self._note(state="reconnecting", last_error=f"lost the server: {describe(exc)}", error=True)
                self.say(
                    f"{self.member.agent}: lost the server at {where} ({describe(exc)}); reconnecting in {wait:g}s"
                    + (" (is `hivegov-mcp serve --transport streamable-http` running there?)" if failures == 1 else "")
                )
                await self._pause(wait)

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[MCPToolset[Any]]:
        async with toolset_for(self.council, self.member, self._on_tool_call) as toolset:
            yield toolset

    async def _serve(self, toolset: MCPToolset[Any]) -> None:
        me = await toolset.direct_call_tool("whoami", {})
        if not isinstance(me, dict) or me.get("id") != self.member.agent:
            who = me.get("id") if isinstance(me, dict) else me
            raise WrongAgent(f"it is agent {who}'s token, not {self.member.agent}'s")
        roles = list(me.get("roles", []))
        tools = await toolset.list_tools()
        offered = {t.name for t in tools}
        self.read_only = {t.name for t in tools if t.annotations is not None and t.annotations.read_only_hint}
        agent: Agent[None, str] = Agent(
            self.endpoint,
            instructions=instructions(self.member.agent, roles, self.council.max_steps_per_item, self.member.persona),
            retries=3,
        )
        self._note(state="idle")
        self.say(f"{self.member.agent}: connected as {me.get('id')} ({', '.join(roles)}), model {self.member.model}")
        async with anyio.create_task_group() as tg:
            if self.council.events_url is not None:
                status = await toolset.direct_call_tool("get_governance_status", {})
                self.changes.seq = max(self.changes.seq, int(status.get("audit_events", 0)))
                tg.start_soon(follow_server, self.council.events_url, self.member.token, self.changes, self.time)
            while not self.changes.stopping:  # a stop ends the loop between items, never inside one
                agenda = await toolset.direct_call_tool("get_my_agenda", {})
                item = self._next(agenda.get("items", []))
                if item is None:
                    self._note(state="idle")
                    await self.changes.wait(IDLE_S)
                    continue
                refusal = self.budget.refusal(self.time.now())
                if refusal is not None:
                    await self._wait_for_budget(refusal)
                    continue
                await self._handle(toolset, agent, offered, item)
            tg.cancel_scope.cancel()  # the event stream
        self._note(state="stopped")

    def _key(self, item: dict[str, Any]) -> tuple[Any, ...]:
        return (item["proposal_id"], item["tool"], item.get("ref_id"), item.get("status"), item.get("deadline"))

    def _next(self, items: list[dict[str, Any]]) -> dict[str, Any] | None:
        now = self.time.now()
        for item in items:
            key = self._key(item)
            if key in self.retry_at and now < self.retry_at[key]:
                continue
            done_at = self.handled.get(key)
            if done_at is None:
                return item
            if self.changes.touched.get(item["proposal_id"], 0) <= done_at:
                continue
            times, last = self.asked.get(key, (0, now))
            if times <= MAX_REASKS or (now - last).total_seconds() >= REASK_AFTER_CAP_S:
                return item
        return None

    async def _wait_for_budget(self, refusal: str) -> None:
        now = self.time.now()
        resumes = self.budget.resumes_at(now)
        self._note(state=f"waiting: {refusal}", last_error=refusal)
        self.say(f"{self.member.agent}: {refusal}")
        await self._pause(max(1.0, (resumes - now).total_seconds()))

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds` on the council's clock, or until the council stops."""
        async with anyio.create_task_group() as tg:

            async def end_on_stop() -> None:
                await self.changes.stopped.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(end_on_stop)
            await self.time.sleep(seconds)  # started now, so the wait counts from now
            tg.cancel_scope.cancel()

    # -- one item ---------------------------------------------------------------------------

    async def _handle(
        self, toolset: MCPToolset[Any], agent: Agent[None, str], offered: set[str], item: dict[str, Any]
    ) -> None:
        key = self._key(item)
        pid, tool = item["proposal_id"], item["tool"]
        seen_at = self.changes.seq
        self.asked[key] = (self.asked.get(key, (0, self.time.now()))[0] + 1, self.time.now())
        proposal = await toolset.direct_call_tool("get_proposal", {"proposal_id": pid})
        blind = (
            self.member.blind_first_round
            and tool == "add_comment"
            and isinstance(proposal, dict)
            and proposal.get("round") == 1
        )
        discussion = None if blind else await read_discussion(toolset, pid)
        comment_ids = frozenset(int(c["id"]) for c in (discussion or {}).get("comments", []))
        allowed = tools_for_item(item, offered, self.read_only, blind=blind)

        def only_allowed(ctx: RunContext[None], tool_def: ToolDefinition) -> bool:
            return tool_def.name in allowed

        vote = await self._vote(toolset, pid) if tool == "cast_vote" else None
        prompt = item_prompt(item, proposal if isinstance(proposal, dict) else None, discussion, blind=blind, vote=vote)
        self.current = Item(item, comment_ids, proposal.get("round") if isinstance(proposal, dict) else None)
        self.endpoint.item = ItemUsage()  # what this item costs
        self._note(state=f"acting on {pid} ({tool})")
        outcome = "handled"
        try:
            result = await agent.run(
                prompt,
                toolsets=[toolset.filtered(only_allowed)],
                usage_limits=UsageLimits(
                    tool_calls_limit=self.council.max_steps_per_item,
                    request_limit=self.council.max_steps_per_item + 4,
                ),
            )
            used = self.endpoint.item
            cost = f"{used.requests} model request(s), {used.input_tokens + used.output_tokens} tokens"
            if self.current.calls == 0:
                why = " ".join(str(result.output).split())[:160]
                self.say(f"{self.member.agent} {pid} {tool}: no action ({cost}): {why}")
                self._note(last_action=f"{pid} {tool}: no action: {why}")
            else:
                refused = f" ({self.current.refused} refused)" if self.current.refused else ""
                self.say(f"{self.member.agent} {pid} {tool}: done: {self.current.calls} tool call(s){refused}, {cost}")
        except BudgetSpent as exc:
            outcome = "budget"
            self.say(f"{self.member.agent} {pid} {tool}: {exc}")
            self._note(state=f"waiting: {exc}", last_error=str(exc))
        except EndpointFailed as exc:
            outcome = "endpoint"
            n = self.failures.get(key, 0)
            self.failures[key] = n + 1
            wait = ITEM_RETRY_S[min(n, len(ITEM_RETRY_S) - 1)]
            self.retry_at[key] = self.time.now() + timedelta(seconds=wait)
            self.say(f"{self.member.agent} {pid} {tool}: the model failed: {exc}; trying this item again in {wait:g}s")
            self._note(last_error=f"{pid} {tool}: {exc}", error=True)
        except UsageLimitExceeded as exc:
            self.say(f"{self.member.agent} {pid} {tool}: stopped at max_steps_per_item ({exc})")
            self._note(last_error=f"{pid} {tool}: stopped at max_steps_per_item", error=True)
        except UnexpectedModelBehavior as exc:
            self.say(f"{self.member.agent} {pid} {tool}: the model gave up: {describe(exc)}")
            self._note(last_error=f"{pid} {tool}: {describe(exc)}", error=True)
        finally:
            self.current = None
            await self._report_usage(toolset, offered)
        if outcome == "handled":
            self.handled[key] = seen_at
            self.failures.pop(key, None)
            self.retry_at.pop(key, None)
            self._note(items=self.board.members[self.member.agent].items + 1)

    async def _vote(self, toolset: MCPToolset[Any], pid: str) -> dict[str, Any] | None:
        """The vote as get_voting_results shows it while open (its method and options), or None
        when it can't be read (it closed meanwhile: the server will say so to the model)."""
        try:
            found = await toolset.direct_call_tool("get_voting_results", {"proposal_id": pid})
        except ModelRetry:
            return None
        return found if isinstance(found, dict) else None

    async def _report_usage(self, toolset: MCPToolset[Any], offered: set[str]) -> None:
        used = self.endpoint.item
        if USAGE_TOOL not in offered or not (used.requests or used.input_tokens or used.output_tokens):
            self._note()
            return
        try:
            await toolset.direct_call_tool(
                USAGE_TOOL,
                {
                    "model": self.member.model,
                    "requests": used.requests,
                    "input_tokens": used.input_tokens,
                    "output_tokens": used.output_tokens,
                },
            )
        except ModelRetry as exc:
            self.say(f"{self.member.agent}: usage not recorded: {exc.message}")
        self._note()

    async def _on_tool_call(self, ctx: RunContext[Any], call_tool: Any, name: str, args: dict[str, Any]) -> Any:
        """Every tool call the model makes: checked, made, and printed as one line."""
        current = self.current
        pid = (current.data["proposal_id"] if current else None) or "-"
        if current is not None:
            current.calls += 1
        if current is not None:
            if name == "publish_summary" and current.round is not None and "round" not in args:
                args = {**args, "round": current.round}  # the round it read: refused if it ended meanwhile
            problem = refusal(current.data, name, args, current.comment_ids, self.read_only)
            if problem:
                current.refused += 1
                self.say(
                    f"{self.member.agent} {pid} {name}({_args_text(args, pid)}): refused by the council: {problem}"
                )
                raise ModelRetry(problem)
        try:
            result = await call_tool(name, args)
        except ModelRetry as exc:
            if current is not None:
                current.refused += 1
            self.say(f"{self.member.agent} {pid} {name}({_args_text(args, pid)}): refused: {exc.message}")
            self._note(last_action=f"{pid} {name}: refused: {exc.message}")
            raise
        self.say(f"{self.member.agent} {pid} {name}({_args_text(args, pid)}): ok{_brief(result)}")
        if name not in self.read_only:
            self._note(last_action=f"{pid} {name}: ok{_brief(result)}", actions_plus=True)
        return result

    def _note(self, *, error: bool = False, actions_plus: bool = False, **changes: Any) -> None:
        status = self.board.members[self.member.agent]
        if error:
            changes["errors"] = status.errors + 1
        if actions_plus:
            changes["actions"] = status.actions + 1
        self.board.update(self.member.agent, self.time.now(), **changes)


class WrongAgent(Exception):
    """The token is another agent's: the member would act under a name that isn't its own."""
