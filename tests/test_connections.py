"""Idle and slowloris connections (issue 17): real sockets against a real uvicorn behind `serve`'s
connection guard on loopback. The head deadline is short here, so closes come within the test's
bounded waits; a legitimate client is answered while hundreds of such sockets are open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path

import anyio
import httpx2
import pytest
from anyio.abc import SocketStream

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.http.serve import Admission
from tests.http_helpers import serve

pytestmark = pytest.mark.anyio

HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # a head without its blank line: never complete


async def closed_by_server(stream: SocketStream) -> bool:
    """Whether the server closed the connection (reading until it does, or something arrives)."""
    try:
        while True:
            data = await stream.receive()
            if data.startswith(b"HTTP/1.1 2"):  # a response to a whole request: not a close
                return False
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
        return True


@asynccontextmanager
async def sockets(port: int, count: int, *, sources: int = 1, send: bytes = b"") -> AsyncIterator[list[SocketStream]]:
    """`count` connections, spread over `sources` loopback addresses (127.0.0.2, .3, …), each
    having sent `send`."""
    async with AsyncExitStack() as stack:
        opened = []
        for i in range(count):
            stream = await anyio.connect_tcp("127.0.0.1", port, local_host=f"127.0.0.{2 + i % sources}")
            stack.push_async_callback(stream.aclose)
            if send:
                await stream.send(send)
            opened.append(stream)
        yield opened


async def healthz(base: str) -> int:
    async with httpx2.AsyncClient(base_url=base) as http:
        return (await http.get("/healthz")).status_code


async def test_idle_sockets_past_the_per_address_bound_make_room_and_a_client_is_served(
    db_path: Path, clock: FakeClock
) -> None:
    async with serve(db_path, clock=clock, head_seconds=60, per_peer=50) as served:
        port = int(served.base.rsplit(":", 1)[1])
        async with sockets(port, 300) as idle:
            with anyio.fail_after(10):
                assert await healthz(served.base) == 200
                # the oldest 250 were closed to keep one address within 50, before any deadline
                closed = [await closed_by_server(s) for s in idle[:250]]
        assert closed == [True] * 250


async def test_idle_and_slowloris_sockets_are_closed_after_the_head_deadline(db_path: Path, clock: FakeClock) -> None:
    async with serve(db_path, clock=clock, head_seconds=0.5) as served:
        port = int(served.base.rsplit(":", 1)[1])
        async with (
            sockets(port, 150, sources=10) as idle,
            sockets(port, 150, sources=10, send=HEAD) as slow,
        ):
            with anyio.fail_after(10):
                assert await healthz(served.base) == 200
                for stream in slow[:50]:  # a byte more: the head is still not whole
                    with suppress(anyio.BrokenResourceError, ConnectionResetError):  # if already closed
                        await stream.send(b"X")
                closed = [await closed_by_server(s) for s in idle + slow]
        assert closed == [True] * 300


async def test_a_keep_alive_connection_that_starts_a_second_head_and_stalls_is_closed(
    db_path: Path, clock: FakeClock
) -> None:
    async with serve(db_path, clock=clock, head_seconds=0.5) as served:
        port = int(served.base.rsplit(":", 1)[1])
        async with sockets(port, 1) as (stream,):
            with anyio.fail_after(10):
                await stream.send(HEAD + b"\r\n")
                answer = await stream.receive()
                await stream.send(HEAD)
                assert answer.startswith(b"HTTP/1.1 200")
                assert await closed_by_server(stream)


async def test_past_a_bound_the_oldest_connection_waiting_for_a_head_is_closed_never_a_busy_one() -> None:
    admission = Admission(per_peer=2, total=3)
    assert admission.opened("a1", "A") == []
    assert admission.opened("a2", "A") == []
    admission.busy("a1")
    assert admission.opened("a3", "A") == ["a2"]  # a1 is busy with a request
    assert admission.opened("b1", "B") == []
    assert admission.opened("c1", "C") == ["a3"]  # in all: the oldest waiting, of any address
    admission.busy("b1")
    admission.busy("c1")
    assert admission.opened("d1", "D") == ["d1"]  # every other one busy: the newcomer is refused
    admission.waiting("a1")  # a1's response ended: it waits for its next head
    assert admission.opened("d2", "D") == ["a1"]
    admission.closed("b1")
    assert len(admission) == 2


async def test_a_body_sent_a_byte_at_a_time_is_cut_at_the_body_deadline(db_path: Path, clock: FakeClock) -> None:
    head = b"POST /api/governance/proposals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
    async with serve(db_path, clock=clock, head_seconds=60, body_seconds=0.5) as served:
        port = int(served.base.rsplit(":", 1)[1])
        async with sockets(port, 20, send=head + b"{") as slow:
            with anyio.fail_after(10):
                assert await healthz(served.base) == 200
                closed = [await closed_by_server(s) for s in slow]
    assert closed == [True] * 20
