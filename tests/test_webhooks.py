"""Webhooks (DESIGN §14): each audit event POSTed, signed with HMAC-SHA256, retried after a
failure, every attempt recorded; to a real local receiver on a loopback port."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket

import anyio
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hivegov_mcp.domain.errors import InvalidInput, PermissionDenied
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.runtime.feed import AuditFeed
from hivegov_mcp.runtime.webhooks import WebhookDispatcher
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL


class Receiver:
    """Answers 500 to the first request, then 200; keeps every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.enough = anyio.Event()
        self.wanted = 2

    async def hook(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        if len(self.requests) >= self.wanted:
            self.enough.set()
        return Response(status_code=500 if len(self.requests) == 1 else 200)


async def _never() -> None:
    await anyio.Event().wait()


async def _no_wait(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


async def test_an_event_is_posted_signed_retried_after_a_failure_and_every_attempt_recorded(
    service: GovernanceService, cast: Cast
) -> None:
    receiver = Receiver()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    app = Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    feed = AuditFeed(service, _never)
    feed.head = (await service.get_governance_status(LOCAL_ADMIN)).audit_events
    registered = await service.add_webhook(cast["root"], f"http://127.0.0.1:{port}/hook")
    attempts: list[tuple[int, str | None]] = []
    delivered = anyio.Event()

    def on_attempt(webhook: int, seq: int, attempt: int, error: str | None) -> None:
        attempts.append((attempt, error))
        if error is None:
            delivered.set()

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: server.serve(sockets=[sock]))
            dispatcher = WebhookDispatcher(service, retry_delays=(0.0, 0.0), wait=_no_wait, on_attempt=on_attempt)
            tg.start_soon(dispatcher.run, feed)
            created = await service.create_proposal(cast["alice"], **PROPOSAL)
            await feed.poll()  # hands out webhook_added (before the hook's start: not sent) and the create
            await delivered.wait()
            server.should_exit = True
            tg.cancel_scope.cancel()
    sock.close()

    (_first_headers, first_body), (second_headers, second_body) = receiver.requests
    event = json.loads(second_body)
    expected = "sha256=" + hmac.new(registered.secret.encode(), second_body, hashlib.sha256).hexdigest()
    assert first_body == second_body  # the retry sends the same event
    assert (event["seq"], event["action"], event["subject"]) == (created.receipt.seq, "create_proposal", created.id)
    assert second_headers["x-hivegov-signature"] == expected
    assert second_headers["x-hivegov-seq"] == str(created.receipt.seq)
    listed = (await service.list_webhooks(cast["root"])).webhooks
    assert [(h.id, h.delivered, h.failed_attempts) for h in listed] == [(registered.id, 1, 1)]
    assert attempts == [(1, "HTTP 500"), (2, None)]


async def test_webhooks_are_for_admins_and_need_an_http_url(service: GovernanceService, cast: Cast) -> None:
    with pytest.raises(PermissionDenied, match="admin"):
        await service.add_webhook(cast["alice"], "http://127.0.0.1:9/hook")
    with pytest.raises(InvalidInput, match="must be an http:// or https:// URL"):
        await service.add_webhook(cast["root"], "file:///etc/passwd")
    hook = await service.add_webhook(cast["root"], "https://example.org/hook")
    gone = await service.remove_webhook(cast["root"], hook.id)
    assert gone.id == hook.id and (await service.list_webhooks(cast["root"])).webhooks == []


async def test_a_dead_endpoint_slows_no_tool_call(service: GovernanceService, cast: Cast) -> None:
    """Deliveries run beside the calls: with an endpoint that never answers, writes go on."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts connections, never answers
        await service.add_webhook(cast["root"], f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        feed = AuditFeed(service, _never)
        feed.head = (await service.get_governance_status(LOCAL_ADMIN)).audit_events
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(WebhookDispatcher(service, retry_delays=(), wait=_no_wait).run, feed)
                ids = []
                for n in range(5):
                    ids.append((await service.create_proposal(cast["alice"], **{**PROPOSAL, "title": f"P{n}"})).id)
                    await feed.poll()
                tg.cancel_scope.cancel()
    assert ids == ["BIP-001", "BIP-002", "BIP-003", "BIP-004", "BIP-005"]
