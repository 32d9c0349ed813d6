"""`/api/governance/events`: the audit log as server-sent events (DESIGN §12, §14).

One event per audit event, `id:` its sequence number and `event:` its action. A client that
reconnects with `Last-Event-ID` (or `?after_seq=`) first gets every event it missed, read
from the log, then the live ones from the process's feed, with nothing lost or repeated in
between: the stream subscribes to the feed before it reads the log, and skips what it has
already sent. A client that falls too far behind is cut off and comes back the same way.

Catching up costs the server one read and one serialisation per page of the log, whatever
the number of streams at that position (runtime/feed.py `LogPages`), and each page goes out
as one chunk; the token is checked again when an agent changes, not per event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from hivegov_mcp.domain.errors import HivegovError, InvalidInput, TooManyStreams
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.http.envelope import ERROR_RESPONSES
from hivegov_mcp.http.rest import PREFIX, Me, Service
from hivegov_mcp.runtime.feed import AuditFeed, Message, Page
from hivegov_mcp.service import GovernanceService

log = logging.getLogger(__name__)
T = TypeVar("T")

PING_SECONDS = 15  # a comment line this often keeps proxies from closing an idle stream
MAX_STREAMS_PER_AGENT = 4
MAX_STREAMS = 200  # in this process

router = APIRouter(prefix=PREFIX, responses=ERROR_RESPONSES)


def _resume_point(last_event_id: str | None, after_seq: int | None) -> int:
    if after_seq is not None:
        return after_seq
    if last_event_id is None or not last_event_id.strip():
        return 0
    try:
        seq = int(last_event_id)
    except ValueError:
        raise InvalidInput("Last-Event-ID", f"{last_event_id!r} must be a sequence number (an event's id)") from None
    if seq < 0:
        raise InvalidInput("Last-Event-ID", f"{seq} must be 0 or more")
    return seq


class Streams:
    """The open streams of this process, per agent: bounded, so no agent (or crowd) can hold
    the reader with catch-up reads."""

    def __init__(self) -> None:
        self.open: dict[str, int] = {}

    def admit(self, agent_id: str) -> None:
        if self.open.get(agent_id, 0) >= MAX_STREAMS_PER_AGENT:
            raise TooManyStreams(f"agent {agent_id!r} has {MAX_STREAMS_PER_AGENT} event streams open, the limit")
        if sum(self.open.values()) >= MAX_STREAMS:
            raise TooManyStreams(f"this server has {MAX_STREAMS} event streams open, the limit")
        self.open[agent_id] = self.open.get(agent_id, 0) + 1

    def leave(self, agent_id: str) -> None:
        self.open[agent_id] -= 1
        if not self.open[agent_id]:
            del self.open[agent_id]


class _Identity:
    """The stream's token, checked again only when an agent may have changed: when the feed has
    handed out an event that changed an agent since the last check, or a page read from the log
    holds one newer than the stream's start (the feed may not have handed it out yet)."""

    def __init__(self, service: GovernanceService, feed: AuditFeed, token: str) -> None:
        self._service = service
        self._feed = feed
        self._token = token
        self._seen = -1  # the first check reads the agent
        self._start = 0  # the last seq that check covered

    async def begin(self) -> None:
        self._start = self._feed.head or 0
        await self.check()

    async def check(self, page: Page | None = None) -> None:
        """NotAuthenticated once the token no longer names an active agent."""
        newer = page is not None and page.agents_changed > self._start
        if self._feed.agent_changes != self._seen or newer:
            self._seen = self._feed.agent_changes
            if page is not None:
                self._start = max(self._start, page.messages[-1].seq)
            await self._service.authenticate(self._token)


async def follow(
    service: GovernanceService, feed: AuditFeed, token: str, proposal_id: str | None, after: int
) -> AsyncGenerator[Page | Message, None]:
    """Catch up from the log a page at a time, then follow the feed an event at a time. The
    pages are shared with the streams at the same position (runtime/feed.py `LogPages`); the
    token is checked again when an agent changed, and a deactivated or rotated token ends the
    stream."""
    identity = _Identity(service, feed, token)
    await identity.begin()
    with feed.subscribe() as live:
        ticket = feed.pages.ticket()
        with feed.pages.catching_up():
            while True:  # what was missed, from the log
                page = await feed.pages.page(proposal_id, after, ticket)
                if not page.messages:
                    break
                await identity.check(page)
                yield page
                after = page.messages[-1].seq
                if page.next_after is None:
                    break
        async for event in live:  # then live, skipping what the log already gave
            if event.seq <= after or (proposal_id is not None and event.subject != proposal_id):
                continue
            await identity.check()
            yield feed.message(event)
            after = event.seq


async def sent(
    service: GovernanceService, feed: AuditFeed, token: str, proposal_id: str | None, after: int
) -> AsyncGenerator[bytes, None]:
    """The stream as it goes out: a page of the log in a few chunks, each sent in its turn
    (a crowd of streams catching up leaves room for other requests), then each live event."""
    async for item in follow(service, feed, token, proposal_id, after):
        if isinstance(item, Message):
            yield item.wire
            continue
        for chunk in item.chunks:
            async with feed.pages.turn():
                yield chunk


async def stream(
    service: GovernanceService, feed: AuditFeed, token: str, me: Agent, proposal_id: str | None, after: int
) -> AsyncGenerator[dict[str, Any], None]:
    """The stream one message at a time (`id`, `event`, `data`), for the dashboard's pages.
    (`me` is the agent `token` was checked for.)"""
    async for item in follow(service, feed, token, proposal_id, after):
        for message in item.messages if isinstance(item, Page) else (item,):
            yield {"id": str(message.seq), "event": message.action, "data": message.data}


async def guarded(streams: Streams, agent_id: str, events: AsyncIterator[T]) -> AsyncIterator[T]:
    """The stream, counted while open; a refusal mid-stream ends it (the client reconnects)."""
    try:
        async for message in events:
            yield message
    except HivegovError as exc:
        log.info("event stream of %s ended: %s", agent_id, exc.code)
    finally:
        streams.leave(agent_id)


@router.get(
    "/events",
    tags=["events"],
    summary="Server-sent events, one per audit event (resumable)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An event stream."}},
)
async def events(
    request: Request,
    service: Service,
    me: Me,
    proposal_id: Annotated[str | None, Query(description="Only events of this proposal.")] = None,
    after_seq: Annotated[int | None, Query(ge=0, description="Start after this sequence number.")] = None,
    last_event_id: Annotated[str | None, Header(description="Resume after this event id.")] = None,
) -> EventSourceResponse:
    after = _resume_point(last_event_id, after_seq)
    if proposal_id is not None:
        await service.get_proposal(me, proposal_id)  # an unknown id: 404 now, not an empty stream
    feed: AuditFeed = request.app.state.feed
    streams: Streams = request.app.state.streams
    streams.admit(me.id)
    token = request.headers["authorization"].split(None, 1)[1]  # present: `me` was resolved from it
    events = guarded(streams, me.id, sent(service, feed, token, proposal_id, after))
    return EventSourceResponse(events, ping=PING_SECONDS, headers={"Cache-Control": "no-store"})
