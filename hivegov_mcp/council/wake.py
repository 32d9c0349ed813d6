"""What wakes a member: every audit event another agent (or the deadline engine) causes.

Over HTTP, each member reads the server's event stream (`/api/governance/events`) with its
own token, resuming after the last event it saw when the connection drops. Over stdio (a
database file) the council tails the database's log itself, as every server process on that
file does (`runtime/feed.py`), and hands each event to every member.

A member is told which proposals changed since it last looked (`Changes`), so an item it
decided to leave alone comes back only when someone else has touched that proposal since.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx2

from hivegov_mcp.council.endpoint import Time

log = logging.getLogger(__name__)

RECONNECT_S = (1.0, 2.0, 5.0, 10.0, 30.0)


class TokenRefused(Exception):
    """The server refused the member's token (deactivated, rotated or unknown)."""


@dataclass
class Changes:
    """What happened since a member last looked: the latest event per proposal, by others."""

    agent: str
    seq: int = 0  # the last event seen
    touched: dict[str, int] = field(default_factory=dict)  # proposal id -> seq of its latest event by another
    stopping: bool = False  # the council is stopping: finish the item in hand, take no other
    stopped: anyio.Event = field(default_factory=anyio.Event)  # set with `stopping`, for waits
    _event: anyio.Event = field(default_factory=anyio.Event)

    def stop(self) -> None:
        self.stopping = True
        self.stopped.set()
        self._event.set()

    def saw(self, seq: int, actor: str, subject: str) -> None:
        if seq <= self.seq:
            return
        self.seq = seq
        if actor == self.agent:
            return  # a member's own acts don't wake it: it reads its agenda after each item anyway
        if not subject.startswith("agent:") and subject != "rules":
            self.touched[subject] = seq
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Until something happens, or `seconds` pass (the member then reads its agenda anyway)."""
        with anyio.move_on_after(seconds):
            await self._event.wait()
        if not self.stopping:
            self._event = anyio.Event()


async def follow_server(url: str, token: str, changes: Changes, time: Time) -> None:
    """Read the server's event stream for ever, resuming after the last event seen."""
    failures = 0
    async with httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(10.0, read=60.0)
    ) as http:
        while True:
            try:
                async with http.sse(url, params={"after_seq": changes.seq}) as source:
                    if source.response.status_code == 401:
                        raise TokenRefused(f"the server refused the token at {url} (401)")
                    source.response.raise_for_status()
                    failures = 0
                    async for event in source:
                        if event.event and event.data:
                            data: Any = event.json()
                            changes.saw(int(data["seq"]), str(data["actor"]), str(data["subject"]))
            except TokenRefused:
                raise
            except (httpx2.HTTPError, ValueError, KeyError) as exc:
                wait = RECONNECT_S[min(failures, len(RECONNECT_S) - 1)]
                failures += 1
                log.info("event stream %s: %s; reconnecting in %gs", url, exc, wait)
                await time.sleep(wait)


class DatabaseEvents:
    """The log of a database file, tailed once for the whole council (stdio mode)."""

    def __init__(self) -> None:
        self.members: list[Changes] = []

    @asynccontextmanager
    async def tail(self, db: Path | str, *, every_s: float = 0.25) -> AsyncIterator[DatabaseEvents]:
        from hivegov_mcp.app import open_service
        from hivegov_mcp.runtime.feed import AuditFeed
        from hivegov_mcp.settings import Settings

        async with open_service(Settings(db=db), check_rules=False, store_rules=False, create=False) as service:
            feed = AuditFeed(service, partial(service.store.wait_for_change, every_s))
            async with anyio.create_task_group() as tg:
                tg.start_soon(feed.run)
                head = await feed.started()
                for changes in self.members:
                    changes.seq = max(changes.seq, head)
                tg.start_soon(self._hand_out, feed)
                yield self
                tg.cancel_scope.cancel()

    async def _hand_out(self, feed: Any) -> None:
        with feed.subscribe() as events:
            async for e in events:
                for changes in self.members:
                    changes.saw(e.seq, e.actor, e.subject)
