"""An OpenAI-compatible endpoint that answers from a script, on a loopback port: the demo's
models and the tests' (no network, no model weights). It serves `POST /v1/chat/completions`
(tool calls or text, with a usage count) and `GET /v1/models`, records every request, and can
fail on purpose (an HTTP error, a body that isn't JSON).

A script is a function of the request: the conversation so far, parsed (the agenda item the
member was given, the tools it was offered, the calls it made and what came back).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hivegov_mcp.council.prompts import parse_item, parse_vote


@dataclass(frozen=True)
class Fault:
    """Answer with this HTTP status, or with a body that is not JSON (`garbage`), or not at all
    until the endpoint stops (`hang`: the client's timeout has to end the request)."""

    status: int = 500
    garbage: bool = False
    hang: bool = False


@dataclass
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    tools: list[str]
    max_tokens: int | None = None  # the longest answer the member allows (its budget's share)

    @property
    def prompt(self) -> str:
        for m in self.messages:
            if m.get("role") == "user":
                content = m.get("content")
                return content if isinstance(content, str) else json.dumps(content)
        return ""

    @property
    def item(self) -> dict[str, Any]:
        try:
            return parse_item(self.prompt)
        except ValueError:
            return {}

    @property
    def vote(self) -> dict[str, Any]:
        """The vote the prompt asks for (its `VOTE` line: method, field, option ids), or {}."""
        try:
            return parse_vote(self.prompt) or {}
        except ValueError:
            return {}

    @property
    def calls(self) -> list[str]:
        """The tools called so far in this conversation, in order."""
        return [c["function"]["name"] for m in self.messages for c in (m.get("tool_calls") or [])]

    @property
    def last_result(self) -> str | None:
        last = self.messages[-1] if self.messages else {}
        return str(last.get("content")) if last.get("role") == "tool" else None

    def comments(self, round_: int | None = None) -> list[dict[str, Any]]:
        """The discussion's comments as the prompt lists them (`#id round R author type`)."""
        found = []
        for m in re.finditer(r"^#(\d+) round (\d+) (\S+) (\w+)( \(open\)| \(resolved\))?", self.prompt, re.M):
            if round_ is None or int(m.group(2)) == round_:
                found.append({"id": int(m.group(1)), "author": m.group(3), "type": m.group(4), "open": m.group(5)})
        return found

    @property
    def open_objections(self) -> list[int]:
        found = re.search(r"open objections: ([#\d, ]+)", self.prompt)
        return [int(n) for n in re.findall(r"\d+", found.group(1))] if found else []

    @property
    def summaries_this_round(self) -> int:
        found = re.search(r"summaries published this round: (\d+)", self.prompt)
        return int(found.group(1)) if found else 0


Reply = dict[str, Any] | Fault
Script = Callable[[ChatRequest], Reply]


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": tool, "arguments": arguments}


def call_raw(tool: str, arguments: str) -> dict[str, Any]:
    """A tool call whose arguments are exactly this text (malformed on purpose, say)."""
    return {"tool": tool, "raw": arguments}


def say(text: str) -> dict[str, Any]:
    return {"text": text}


def ballot(vote: dict[str, Any], prefer: list[int] | None = None) -> dict[str, Any]:
    """The cast_vote arguments of a ballot in the field the vote's method takes (see the `VOTE`
    line), favouring the options in `prefer` (most preferred first; by default the listed order):
    approve for majority; approve the first preferred; score it 5, the next 4 and so on down to 0;
    rank the preferred options in that order."""
    field = vote.get("field", "decision")
    options: list[int] = list(vote.get("options") or [])
    order = prefer if prefer is not None else options
    if field == "approvals":
        return {"approvals": order[:1]}
    if field == "scores":
        return {"scores": {str(o): max(0, 5 - order.index(o)) if o in order else 0 for o in options}}
    if field == "ranking":
        return {"ranking": order}
    return {"decision": "approve"}


@dataclass
class ScriptedEndpoint:
    script: Script
    models: tuple[str, ...] = ("scripted",)
    requests: list[ChatRequest] = field(default_factory=list)
    base_url: str = ""
    _stopping: anyio.Event = field(default_factory=anyio.Event)

    def count(self, model: str | None = None) -> int:
        return sum(1 for r in self.requests if model is None or r.model == model)

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        chat = ChatRequest(
            model=str(body.get("model")),
            messages=list(body.get("messages") or []),
            tools=tools,
            max_tokens=body.get("max_tokens") or body.get("max_completion_tokens"),
        )
        self.requests.append(chat)
        reply = self.script(chat)
        if isinstance(reply, Fault):
            if reply.hang:
                await self._stopping.wait()
            if reply.garbage:
                return Response("<html>upstream hiccup{", media_type="application/json")
            return JSONResponse({"error": {"message": "scripted failure", "type": "server_error"}}, reply.status)
        n = len(self.requests)
        if "tool" in reply:
            args = reply.get("raw", json.dumps(reply.get("arguments", {})))
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": f"call_{n}", "type": "function", "function": {"name": reply["tool"], "arguments": args}}
                ],
            }
            finish = "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": reply["text"]}, "stop"
        prompt_tokens = len(json.dumps(chat.messages)) // 4 + 1
        completion_tokens = len(json.dumps(message)) // 4 + 1
        return JSONResponse(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": 0,
                "model": chat.model,
                "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _models(self, request: Request) -> Response:
        return JSONResponse(
            {"object": "list", "data": [{"id": m, "object": "model", "owned_by": "scripted"} for m in self.models]}
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[ScriptedEndpoint]:
        """Serve on a free loopback port; `base_url` is set while the block runs."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        server = uvicorn.Server(uvicorn.Config(self.app(), log_level="warning", lifespan="off"))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: server.serve(sockets=[sock]))
                try:
                    yield self
                finally:
                    self._stopping.set()  # hanging answers end
                    server.should_exit = True
        finally:
            sock.close()


# The demo's council: four scripted members who take a proposal through discussion, an
# objection, a revision, a summary, a conclusion and a vote. Each makes one call per item.

NOTHING = "Nothing for me to do on this item."


def _member(ballot_why: str, act: Callable[[ChatRequest, dict[str, Any]], dict[str, Any] | None]) -> Script:
    """A demo member: after its one call it is done; a ballot to cast is an approval (of the first
    option, for a vote on options) with `ballot_why`; any other item is `act`'s (None: nothing to do)."""

    def script(req: ChatRequest) -> Reply:
        item = req.item
        if req.calls:
            return say("Done.")
        if item.get("tool") == "cast_vote":
            return call("cast_vote", proposal_id=item["proposal_id"], **ballot(req.vote), justification=ballot_why)
        return act(req, item) or say(NOTHING)

    return script


def _critic(req: ChatRequest, item: dict[str, Any]) -> dict[str, Any] | None:
    if item.get("tool") == "add_comment" and item.get("version") == 1:
        return call(
            "add_comment",
            proposal_id=item["proposal_id"],
            type="objection",
            content="The specification has no migration plan for existing entries; add one before we vote.",
        )
    if item.get("tool") == "add_comment":
        return call(
            "add_comment",
            proposal_id=item["proposal_id"],
            type="support",
            content="Version 2's migration plan answers my objection.",
        )
    if item.get("tool") == "resolve_comment":
        return call("resolve_comment", comment_id=item["ref_id"], note="The revision adds the migration plan.")
    return None


def _supporter(req: ChatRequest, item: dict[str, Any]) -> dict[str, Any] | None:
    if item.get("tool") != "add_comment":
        return None
    return call(
        "add_comment",
        proposal_id=item["proposal_id"],
        type="support",
        content="Structured entries let other agents check each change; I support this.",
    )


def _mediator(req: ChatRequest, item: dict[str, Any]) -> dict[str, Any] | None:
    if item.get("tool") != "conclude_discussion":
        return None
    if len(req.comments(item.get("round"))) < 2:
        return say("Waiting for more views before ending the round.")
    if req.open_objections:
        return call(
            "conclude_discussion",
            proposal_id=item["proposal_id"],
            resolution="requires-revision",
            reason=f"Objection #{req.open_objections[0]} is open: the author should revise.",
        )
    if not req.summaries_this_round:
        return say("Waiting for the round's summary before ending it.")
    return call(
        "conclude_discussion",
        proposal_id=item["proposal_id"],
        resolution="approved-for-voting",
        reason="The objection was resolved and the round supports the proposal.",
    )


def _summarizer(req: ChatRequest, item: dict[str, Any]) -> dict[str, Any] | None:
    if item.get("tool") != "publish_summary":
        return None
    comments = req.comments(item.get("round"))
    if len(comments) < 2:
        return say("Too few comments to summarise yet.")
    cited = "; ".join(f"{c['author']} {c['type']} (#{c['id']})" for c in comments)
    blocked = bool(req.open_objections)
    return call(
        "publish_summary",
        proposal_id=item["proposal_id"],
        text=f"Round {item.get('round')}: {cited}."
        + (" An objection is still open." if blocked else " No objection is open."),
        recommendation="requires-revision" if blocked else "approved-for-voting",
    )


critic = _member("With the migration plan the change is safe and the format is clear.", _critic)
supporter = _member("It makes the log checkable by every agent at little cost.", _supporter)
mediator = _member("The discussion resolved its one objection; the proposal is ready.", _mediator)
summarizer = _member("The round's summary shows support and no open objection.", _summarizer)


DEMO_MODELS: dict[str, Script] = {
    "scripted-critic": critic,
    "scripted-supporter": supporter,
    "scripted-mediator": mediator,
    "scripted-summarizer": summarizer,
}


def by_model(scripts: dict[str, Script]) -> Script:
    def dispatch(req: ChatRequest) -> Reply:
        return scripts[req.model](req)

    return dispatch
