"""The audit log as this process's change feed (DESIGN §14).

One task tails the log: the sequence number is shared by every process on the database, so
writes from other processes and from the deadline engine arrive like this process's own.
Each new event goes to every subscriber (the `/api/governance/events` streams, MCP change
notifications). A subscriber that falls too far behind is closed, not waited for: it comes
back with the last sequence number it saw and reads the rest from the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from hivegov_mcp.domain.errors import HivegovError
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.limits import MAX_AUDIT_PAGE
from hivegov_mcp.domain.models import AuditEvent
from hivegov_mcp.service import GovernanceService

log = logging.getLogger(__name__)

SUBSCRIBER_BUFFER = 1_000  # events a subscriber may lag behind before it is closed


class AuditFeed:
    def __init__(self, service: GovernanceService, wait: Callable[[], Awaitable[object]]) -> None:
        self.service = service
        self._wait = wait
        self._subscribers: set[MemoryObjectSendStream[AuditEvent]] = set()
        self.head: int | None = None  # the last sequence number handed out; None until started
        self._started = anyio.Event()

    async def run(self) -> None:
        """Tail the log for ever: after each `wait()`, hand out the events past the head."""
        self.head = (await self.service.get_governance_status(LOCAL_ADMIN)).audit_events  # seq runs from 1
        self._started.set()
        while True:
            await self._wait()
            try:
                await self.poll()
            except HivegovError as exc:  # busy or unreadable for now: say so and keep tailing
                log.warning("audit feed: %s", exc)
            except Exception:  # top level of a background task: log and keep tailing
                log.exception("audit feed failed; retrying")

    async def poll(self) -> int:
        """Hand out every event past the head; how many."""
        assert self.head is not None, "run() sets the head first"
        handed = 0
        while True:
            page = await self.service.get_audit_log(LOCAL_ADMIN, after_seq=self.head, limit=MAX_AUDIT_PAGE)
            for event in page.events:
                self._publish(event)
                self.head = event.seq
                handed += 1
            if page.next_after_seq is None:
                return handed

    async def started(self) -> int:
        await self._started.wait()
        assert self.head is not None
        return self.head

    def _publish(self, event: AuditEvent) -> None:
        for send in list(self._subscribers):
            try:
                send.send_nowait(event)
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self._subscribers.discard(send)
                send.close()  # too far behind (or gone): it reads the rest from the log

    @contextmanager
    def subscribe(self) -> Iterator[MemoryObjectReceiveStream[AuditEvent]]:
        """The events from now on, until the block ends (or the subscriber falls behind)."""
        send, receive = anyio.create_memory_object_stream[AuditEvent](SUBSCRIBER_BUFFER)
        self._subscribers.add(send)
        try:
            yield receive
        finally:
            self._subscribers.discard(send)
            send.close()
            receive.close()
