"""Webhook delivery: each audit event from the feed is POSTed as JSON to every registered
endpoint, with `X-Hivegov-Signature: sha256=<HMAC-SHA256 of the body with its secret>`,
retried with backoff; every attempt is recorded. It runs in the background: a dead endpoint
slows no tool call. Several processes on one database deliver each event once: an attempt is
claimed in the database before it is sent."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence

import anyio
import httpx2

from hivegov_mcp.domain.record_models import AuditEvent, Webhook
from hivegov_mcp.runtime.feed import AuditFeed
from hivegov_mcp.service import GovernanceService

log = logging.getLogger(__name__)

RETRY_DELAYS = (1.0, 4.0, 16.0, 60.0)  # seconds before attempts 2, 3, 4, 5
TIMEOUT_SECONDS = 5.0
PER_ENDPOINT = 8  # deliveries in flight to one endpoint at once
SIGNATURE_HEADER = "X-Hivegov-Signature"
WEBHOOK_CHANGES = frozenset({"webhook_added", "webhook_removed"})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    def __init__(
        self,
        service: GovernanceService,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        wait: Callable[[float], Awaitable[object]] = anyio.sleep,
        on_attempt: Callable[[int, int, int, str | None], None] | None = None,
    ) -> None:
        self.service = service
        self._on_attempt = on_attempt  # (webhook, seq, attempt, error): told after each recorded attempt
        self.retry_delays = tuple(retry_delays)
        self._wait = wait
        self._limits: dict[int, anyio.CapacityLimiter] = {}

    async def run(self, feed: AuditFeed) -> None:
        """Deliver every event of the feed. The endpoints are read once, then again only when the
        feed carries a webhook change (from any process: the feed is the shared log)."""
        hooks: list[tuple[Webhook, str]] | None = None
        async with httpx2.AsyncClient(timeout=TIMEOUT_SECONDS) as http, anyio.create_task_group() as tg:
            while True:
                with feed.subscribe() as events:
                    async for event in events:
                        if hooks is None or event.action in WEBHOOK_CHANGES:
                            try:
                                hooks = await self.service.active_webhooks()
                            except Exception:
                                log.exception("webhooks: can't read the endpoints; event %s not sent", event.seq)
                                continue
                        for hook, secret in hooks:
                            if event.seq > hook.from_seq:
                                tg.start_soon(self.deliver, http, hook, secret, event)

    async def deliver(self, http: httpx2.AsyncClient, hook: Webhook, secret: str, event: AuditEvent) -> None:
        body = event.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(secret, body),
            "X-Hivegov-Event": event.action,
            "X-Hivegov-Seq": str(event.seq),
        }
        limiter = self._limits.setdefault(hook.id, anyio.CapacityLimiter(PER_ENDPOINT))
        async with limiter:
            for attempt in range(1, len(self.retry_delays) + 2):
                if not await self.service.claim_delivery(hook.id, event.seq, attempt):
                    return  # another process delivers this one
                status: int | None = None
                error: str | None = None
                try:
                    response = await http.post(hook.url, content=body, headers=headers)
                    status = response.status_code
                    if not 200 <= status < 300:
                        error = f"HTTP {status}"
                except httpx2.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"[:500]
                await self.service.finish_delivery(hook.id, event.seq, attempt, status, error)
                if self._on_attempt is not None:
                    self._on_attempt(hook.id, event.seq, attempt, error)
                if error is None:
                    return
                if attempt > len(self.retry_delays):
                    log.warning(
                        "webhook %s: event %s not delivered after %s attempts (%s)", hook.id, event.seq, attempt, error
                    )
                    return
                await self._wait(self.retry_delays[attempt - 1])
