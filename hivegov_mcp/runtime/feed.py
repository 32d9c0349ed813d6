"""The audit log as this process's change feed (DESIGN §14).

One task tails the log: the sequence number is shared by every process on the database, so
writes from other processes and from the deadline engine arrive like this process's own.
Each new event goes to every subscriber (the `/api/governance/events` streams, MCP change
notifications). A subscriber that falls too far behind is closed, not waited for: it comes
back with the last sequence number it saw and reads the rest from the log.

Those catch-up reads are shared (`LogPages`): a page of the log is read and serialised once
for every stream at the same position, one page read at a time (a crowd of streams catching
up leaves the reader free for other requests between pages), and the pages are dropped when
no stream is catching up.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from sse_starlette import ServerSentEvent

from hivegov_mcp.domain.errors import HivegovError
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.limits import MAX_AUDIT_PAGE
from hivegov_mcp.domain.record_models import AuditEvent
from hivegov_mcp.domain.replay_registry import MODEL_USAGE
from hivegov_mcp.service import GovernanceService

log = logging.getLogger(__name__)
UNCHANGED_BY = frozenset({MODEL_USAGE, "delegate_vote", "revoke_delegation"})  # agent:ID events

SUBSCRIBER_BUFFER = 1_000  # events a subscriber may lag behind before it is closed
CHUNK = 64 * 1024  # bytes a stream catching up sends in one turn
TURNS = 2  # streams catching up that send at once: the rest wait, and other requests run between
TURN_WAIT_S = 0.25  # a turn held longer is stuck on a slow client: the next stream goes anyway
PAGE = 100  # events per catch-up read: ~1.5 ms on the reader and 0.5 ms to serialise, so no request waits long
KEPT_PAGES = 64  # complete pages kept while streams catch up (~0.1 MB each)
AGENTS = "agent:"  # the subject of every event that changes an agent (its token, roles, activity)


def changes_agent(subject: str, action: str) -> bool:
    """Whether the event may change an agent (a stream then checks its token again): an agent's
    report of its model usage and its delegations, on the same subject, change nothing a token
    grants."""
    return subject.startswith(AGENTS) and action not in UNCHANGED_BY


class Message(NamedTuple):
    """One audit event as every stream sends it, serialised once. (A tuple of strings: the
    garbage collector does not scan it, however many pages are kept.)"""

    seq: int
    action: str
    subject: str
    data: str  # the event as JSON, as get_audit_log returns it
    wire: bytes  # the server-sent event: `id:` the seq, `event:` the action, `data:` the JSON

    @classmethod
    def of(cls, event: AuditEvent) -> Message:
        data = event.model_dump_json()
        wire = ServerSentEvent(data=data, id=str(event.seq), event=event.action).encode()
        return cls(event.seq, event.action, event.subject, data, wire)

    def touches_agents(self) -> bool:
        return changes_agent(self.subject, self.action)


@dataclass(frozen=True, slots=True)
class Page:
    """Events of the log after a position, as read once for every stream there."""

    messages: tuple[Message, ...]
    next_after: int | None  # the last seq when more follow (the page is complete, it never changes); else None
    chunks: tuple[bytes, ...]  # the messages' server-sent events, in pieces of about CHUNK bytes
    agents_changed: int  # the seq of the last event that changed an agent, 0 if none did


@dataclass(eq=False, slots=True)
class _Read:
    ticket: int
    done: anyio.Event
    page: Page | None = None
    error: BaseException | None = None


class LogPages:
    """Catch-up reads of the log, shared by the streams at the same position.

    A complete page (more events follow it) never changes: it is kept, the last KEPT_PAGES of
    them, until no stream is catching up. The end of the log changes, so a stream takes a short
    page only from a read that began after the stream subscribed to the feed (`ticket()`):
    anything older might miss an event the feed handed out before the subscription. One page
    is read at a time, so a crowd of streams queues here, not on the store's reader.
    """

    def __init__(self, service: GovernanceService, size: int = PAGE, kept: int = KEPT_PAGES) -> None:
        self._service = service
        self._size = size
        self._kept = kept
        self._pages: OrderedDict[tuple[str | None, int], Page] = OrderedDict()
        self._reading: dict[tuple[str | None, int], _Read] = {}
        self._one_at_a_time = anyio.Lock()
        self._tickets = 0
        self._catching_up = 0
        self._turns = anyio.CapacityLimiter(TURNS)
        self._held: dict[object, float] = {}  # who holds a turn, since when

    def ticket(self) -> int:
        """Take after subscribing to the feed: which reads of the log's end may serve you."""
        self._tickets += 1
        return self._tickets

    @property
    def kept(self) -> int:
        return len(self._pages)

    @contextmanager
    def catching_up(self) -> Iterator[None]:
        """While a stream catches up; the pages go when the last one is done."""
        self._catching_up += 1
        try:
            yield
        finally:
            self._catching_up -= 1
            if not self._catching_up:
                self._pages.clear()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """While a stream catching up sends a chunk: a few at a time, in turn, so that other
        requests are not queued behind a crowd of sends. A stream waits for its turn at most
        TURN_WAIT_S: a turn held longer is a send stalled by a slow client, and lapses."""
        me = object()
        with anyio.move_on_after(TURN_WAIT_S) as waited:
            await self._turns.acquire_on_behalf_of(me)
        if waited.cancelled_caught:  # the turns are held by stalled sends: theirs lapse, this one goes
            now = anyio.current_time()
            for held, since in list(self._held.items()):
                if now - since >= TURN_WAIT_S:
                    del self._held[held]
                    self._turns.release_on_behalf_of(held)
        else:
            self._held[me] = anyio.current_time()
        try:
            yield
        finally:
            if self._held.pop(me, None) is not None:
                self._turns.release_on_behalf_of(me)

    async def page(self, proposal_id: str | None, after: int, ticket: int) -> Page:
        """The events after `after` (of `proposal_id`, or all), at most a page of them."""
        key = (proposal_id, after)
        while True:
            kept = self._pages.get(key)
            if kept is not None:
                self._pages.move_to_end(key)
                return kept
            reading = self._reading.get(key)
            if reading is None:
                return await self._read(key)
            await reading.done.wait()
            if reading.error is not None:
                raise reading.error
            if reading.page is not None and (reading.page.next_after is not None or reading.ticket > ticket):
                return reading.page
            # (a short page read before this stream subscribed, or a read cut off: read again)

    async def _read(self, key: tuple[str | None, int]) -> Page:
        reading = _Read(self.ticket(), anyio.Event())  # later than every stream's ticket so far
        self._reading[key] = reading
        try:
            async with self._one_at_a_time:
                page = await self._service.get_audit_log(
                    LOCAL_ADMIN, proposal_id=key[0], after_seq=key[1], limit=self._size
                )
                reading.page = _serialise(page.events, page.next_after_seq)
        except HivegovError as exc:  # the same answer for every stream waiting on it
            reading.error = exc
            raise
        finally:
            del self._reading[key]
            reading.done.set()
        assert reading.page is not None
        if reading.page.next_after is not None and self._catching_up:
            self._pages[key] = reading.page
            while len(self._pages) > self._kept:
                self._pages.popitem(last=False)
        return reading.page


def _serialise(events: list[AuditEvent], next_after: int | None) -> Page:
    messages = tuple(Message.of(e) for e in events)
    chunks, piece, size = [], [], 0
    for m in messages:
        piece.append(m.wire)
        size += len(m.wire)
        if size >= CHUNK:
            chunks.append(b"".join(piece))
            piece, size = [], 0
    if piece:
        chunks.append(b"".join(piece))
    changed = max((m.seq for m in messages if m.touches_agents()), default=0)
    return Page(messages, next_after, tuple(chunks), changed)


class AuditFeed:
    def __init__(self, service: GovernanceService, wait: Callable[[], Awaitable[object]]) -> None:
        self.service = service
        self._wait = wait
        self._subscribers: set[MemoryObjectSendStream[AuditEvent]] = set()
        self.head: int | None = None  # the last sequence number handed out; None until started
        self.agent_changes = 0  # events handed out that changed an agent: a stream checks its token again
        self.pages = LogPages(service)
        self._messages: OrderedDict[int, Message] = OrderedDict()
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

    def message(self, event: AuditEvent) -> Message:
        """A live event as the streams send it, serialised once for all of them."""
        message = self._messages.get(event.seq)
        if message is None:
            message = self._messages[event.seq] = Message.of(event)
            while len(self._messages) > SUBSCRIBER_BUFFER:
                self._messages.popitem(last=False)
        return message

    def _publish(self, event: AuditEvent) -> None:
        if changes_agent(event.subject, event.action):
            self.agent_changes += 1  # before any subscriber sees the event
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
