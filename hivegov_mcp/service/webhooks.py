"""Webhooks (DESIGN §14): an admin registers endpoint URLs; each audit event after that is
POSTed to each (see `hivegov_mcp.runtime.webhooks` for the delivery), every attempt recorded."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from hivegov_mcp.domain import limits, replay_registry
from hivegov_mcp.domain.errors import InvalidInput, NotFound
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.permissions import require
from hivegov_mcp.domain.record_models import RegisteredWebhook, Webhook, WebhookList
from hivegov_mcp.service import guards
from hivegov_mcp.service.base import ServiceBase, reads, writes

log = logging.getLogger(__name__)


def check_url(url: str) -> str:
    limits.check_text("url", url, max_bytes=2048)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url", f"{url!r} must be an http:// or https:// URL with a host")
    return url.strip()


class WebhookOperations(ServiceBase):
    @writes
    async def add_webhook(self, actor: Agent, url: str) -> RegisteredWebhook:
        require(actor.id, "manage_webhooks", actor.roles)
        target = check_url(url)
        secret = secrets.token_urlsafe(32)
        async with self._begin(actor) as (tx, now):
            head, _ = await tx.audit_head()
            # Deliveries start after its own webhook_added event (head + 1, appended next).
            webhook_id = await tx.insert_webhook(target, secret, now, actor.id, head + 1)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="webhook_added",
                subject=f"webhook:{webhook_id}",
                # The host in clear; the whole URL only as a MAC keyed by the webhook's secret: a URL's path
                # or user part is often a credential, and every agent reads the log.
                payload={
                    "host": urlsplit(target).hostname or "",
                    "url_mac": replay_registry.webhook_mac(secret, target),
                },
            )
            hook = next(h for h, _ in await tx.webhooks() if h.id == webhook_id)
        return RegisteredWebhook(**hook.model_dump(), secret=secret, receipt=receipt)

    @reads
    async def list_webhooks(self, actor: Agent) -> WebhookList:
        require(actor.id, "manage_webhooks", actor.roles)
        async with self.store.read() as tx:
            return WebhookList(webhooks=[h for h, _ in await tx.webhooks()])

    @writes
    async def remove_webhook(self, actor: Agent, webhook_id: int) -> Webhook:
        require(actor.id, "manage_webhooks", actor.roles)
        async with self._begin(actor) as (tx, now):
            found = [h for h, _ in await tx.webhooks() if h.id == webhook_id]
            if not found or not await tx.remove_webhook(webhook_id, now):
                raise NotFound("webhook", webhook_id, hint="The list of webhooks shows their ids.")
            await tx.append_audit(
                at=now, actor=actor.id, action="webhook_removed", subject=f"webhook:{webhook_id}", payload={}
            )
        return found[0]

    # -- for the dispatcher ----------------------------------------------------------------------
    @reads
    async def active_webhooks(self) -> list[tuple[Webhook, str]]:
        """The endpoints to deliver to: each checked against its webhook_added event first, so a
        row pointed at another host behind the server's back is not sent the log (it is left
        out, with an error naming it; `audit verify` names it too)."""
        async with self.store.read() as tx:
            hooks = await tx.webhooks()
            events = [await tx.audit_events(subject=f"webhook:{h.id}", after_seq=0, limit=None) for h, _ in hooks]
            where = tx.location()
        kept = []
        for (hook, secret), logged in zip(hooks, events, strict=True):
            found = replay_registry.check_webhook(
                hook.id, hook.url, False, [guards.logged(e) for e in logged], secret=secret
            )
            if found is None:
                kept.append((hook, secret))
            else:
                log.error(
                    "webhooks: %s: table %s disagrees with the log: %s; not delivered", where, found.row, found.problem
                )
        return kept

    @writes
    async def claim_delivery(self, webhook_id: int, seq: int, attempt: int) -> bool:
        """Take one delivery attempt; False when another process took it."""
        async with self.store.write() as tx:
            return await tx.record_delivery(webhook_id, seq, attempt, self.clock.now(), None, "pending")

    @writes
    async def finish_delivery(
        self, webhook_id: int, seq: int, attempt: int, status_code: int | None, error: str | None
    ) -> None:
        async with self.store.write() as tx:
            await tx.finish_delivery(webhook_id, seq, attempt, status_code, error)
