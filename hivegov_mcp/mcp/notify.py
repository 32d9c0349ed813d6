"""MCP change notifications, driven by the audit feed (DESIGN §14).

Every audit event about a proposal (from this process, another process or the deadline
engine) tells subscribers that the proposal's resources changed; a new proposal, or one
leaving the open ones, changes the resource list. 2026-07-28 clients hear it on their
`subscriptions/listen` streams (the server's subscription bus); 2025-era clients subscribe
with `resources/subscribe`, which MCPServer doesn't serve: the handlers here keep their
sessions, and a session that can't be reached any more is dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server import MCPServer, ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

from hivegov_mcp.domain.record_models import AuditEvent
from hivegov_mcp.runtime.feed import AuditFeed

log = logging.getLogger(__name__)

MAX_LEGACY_SUBSCRIPTIONS = 10_000  # (session, uri) pairs kept for 2025-era clients


def proposal_uris(proposal_id: str) -> list[str]:
    base = f"hivegov://proposals/{proposal_id}"
    return [base, f"{base}/discussion", f"{base}/results"]


def is_proposal(subject: str) -> bool:
    return subject != "rules" and not subject.startswith("agent:")


class ChangeNotifier:
    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()  # given to the server: its subscriptions/listen streams
        self._legacy: dict[str, set[Any]] = {}  # uri -> sessions of 2025-era subscribers

    def install(self, mcp: MCPServer[Any]) -> None:
        """Serve resources/subscribe and resources/unsubscribe for 2025-era clients."""

        async def subscribe(ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
            if sum(len(s) for s in self._legacy.values()) < MAX_LEGACY_SUBSCRIPTIONS:
                self._legacy.setdefault(str(params.uri), set()).add(ctx.session)
            return EmptyResult()

        async def unsubscribe(ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
            self._legacy.get(str(params.uri), set()).discard(ctx.session)
            return EmptyResult()

        mcp._lowlevel_server.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
        mcp._lowlevel_server.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)

    async def run(self, feed: AuditFeed) -> None:
        """Notify for every event of the feed, for ever (subscribing again if it fell behind)."""
        while True:
            with feed.subscribe() as events:
                async for event in events:
                    await self.publish(event)

    async def publish(self, event: AuditEvent) -> None:
        if not is_proposal(event.subject):
            return
        for uri in proposal_uris(event.subject):
            await self.bus.publish(ResourceUpdated(uri=uri))
            for session in list(self._legacy.get(uri, ())):
                await self._send(session, lambda s, uri=uri: s.send_resource_updated(uri))
        if event.action == "create_proposal" or "to" in event.payload:  # a new proposal, or a status move
            await self.bus.publish(ResourcesListChanged())
            sessions = {id(s): s for subscribed in self._legacy.values() for s in subscribed}
            for session in sessions.values():
                await self._send(session, lambda s: s.send_resource_list_changed())

    async def _send(self, session: Any, send: Any) -> None:
        try:
            await send(session)
        except Exception:  # the client went away: forget it
            log.info("dropping a resources/subscribe session that can't be reached")
            for subscribed in self._legacy.values():
                subscribed.discard(session)
