"""`/api/governance/events`: the audit log as server-sent events (DESIGN §12, §14).

One event per audit event, `id:` its sequence number and `event:` its action. A client that
reconnects with `Last-Event-ID` (or `?after_seq=`) first gets every event it missed, read
from the log, then the live ones from the process's feed, with nothing lost or repeated in
between: the stream subscribes to the feed before it reads the log, and skips what it has
already sent. A client that falls too far behind is cut off and comes back the same way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from hivegov_mcp.domain.errors import HivegovError, InvalidInput, TooManyStreams
from hivegov_mcp.domain.limits import MAX_AUDIT_PAGE
from hivegov_mcp.domain.models import Agent, AuditEvent
from hivegov_mcp.http.envelope import ERROR_RESPONSES
from hivegov_mcp.http.rest import PREFIX, Me, Service
from hivegov_mcp.runtime.feed import AuditFeed
from hivegov_mcp.service import GovernanceService

log = logging.getLogger(__name__)

PING_SECONDS = 15  # a comment line this often keeps proxies from closing an idle stream
MAX_STREAMS_PER_AGENT = 4
MAX_STREAMS = 200  # in this process: each reads the log while it catches up

router = APIRouter(prefix=PREFIX, responses=ERROR_RESPONSES)


def _message(event: AuditEvent) -> dict[str, Any]:
    return {"id": str(event.seq), "event": event.action, "data": event.model_dump_json()}


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


async def stream(
    service: GovernanceService, feed: AuditFeed, token: str, me: Agent, proposal_id: str | None, after: int
) -> AsyncIterator[dict[str, Any]]:
    """Catch up from the log, then follow the feed. The token is checked again before each
    page and each live event: a deactivated or rotated token ends the stream."""
    with feed.subscribe() as live:
        while True:  # what was missed, from the log
            await service.authenticate(token)
            page = await service.get_audit_log(me, proposal_id=proposal_id, after_seq=after, limit=MAX_AUDIT_PAGE)
            for event in page.events:
                yield _message(event)
                after = event.seq
            if page.next_after_seq is None:
                break
        async for event in live:  # then live, skipping what the log already gave
            if event.seq <= after or (proposal_id is not None and event.subject != proposal_id):
                continue
            await service.authenticate(token)
            yield _message(event)
            after = event.seq


async def guarded(
    streams: Streams, agent_id: str, events: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[dict[str, Any]]:
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
    events = guarded(streams, me.id, stream(service, feed, token, me, proposal_id, after))
    return EventSourceResponse(events, ping=PING_SECONDS, headers={"Cache-Control": "no-store"})
