"""`hivegov-mcp serve --transport streamable-http|sse`: the HTTP app under uvicorn, behind a
connection guard.

Why uvicorn and a guard of ours (issue 17): uvicorn closes an idle keep-alive connection
(`timeout_keep_alive`) but arms no timer on a new connection, nor on one that has begun a request
head, so an idle or slowloris socket stays open for ever; its one bound, `limit_concurrency`,
counts those sockets and then answers 503 to everyone. What is missing is a head deadline and an
admission rule, about 100 lines on uvicorn's own h11 protocol (the class uvicorn's `http` option
takes); changing servers (hypercorn, granian) would still leave the per-address bound to write,
and would change the process every test and bench runs.

The guard (`GuardedH11Protocol`, one per connection; `Admission`, one per server):
- a connection must deliver a whole request head within `head_seconds` of opening, and of the end
  of its previous response (an idle keep-alive is also closed by uvicorn after KEEP_ALIVE_SECONDS),
  and a request's body within `body_seconds` of its head (a body sent a byte at a time);
- at most `per_peer` connections per peer address and `total` in all: past either, the oldest
  connection still waiting for a request head (of that address, or of any) is closed, so a new
  client always gets in while idle ones make room; only when every connection is busy with a
  request is the new one closed.
"""

from __future__ import annotations

import asyncio
import errno
import resource
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.errors import ConfigError
from hivegov_mcp.http.app import HttpOptions, build_http_app, public_base, transport_security
from hivegov_mcp.http.oauth import oauth_available
from hivegov_mcp.settings import Settings
from hivegov_mcp.store.urls import redacted

__all__ = ["Admission", "HttpOptions", "bind", "guarded_config", "serve_http"]

HEAD_SECONDS = 5.0  # from opening (or the last response) to a whole request head
BODY_SECONDS = 30.0  # from a request head to the end of its body (at most 1 MiB, the app's limit)
KEEP_ALIVE_SECONDS = 5.0  # an idle keep-alive connection, closed by uvicorn
MAX_CONNECTIONS = 1_000  # open connections in all, kept under the file-descriptor limit
PER_PEER = 256  # open connections from one peer address (behind a reverse proxy: the proxy's)
SPARE_DESCRIPTORS = 64  # the database, the listening socket, logs, webhooks' outgoing connections


class Admission:
    """Which connections to close: counts per peer address and in all, and the connections
    waiting for a request head, oldest first. No I/O: `opened` returns the connections to close."""

    def __init__(self, *, per_peer: int, total: int) -> None:
        self.per_peer = per_peer
        self.total = total
        self._peer: dict[object, str] = {}
        self._count: dict[str, int] = {}
        self._waiting: dict[object, None] = {}  # insertion order: when each began to wait
        self._waiting_by_peer: dict[str, dict[object, None]] = {}

    def __len__(self) -> int:
        return len(self._peer)

    def opened(self, conn: object, peer: str) -> list[object]:
        """Admit `conn` (waiting for its first head); the connections to close to stay in bounds
        (`conn` itself when every other connection of the bound exceeded is busy)."""
        self._peer[conn] = peer
        self._count[peer] = self._count.get(peer, 0) + 1
        self.waiting(conn)
        victims: list[object] = []
        while self._count.get(peer, 0) > self.per_peer:
            victims.append(self._evict(next(iter(self._waiting_by_peer[peer]))))
        while len(self._peer) > self.total:
            victims.append(self._evict(next(iter(self._waiting)) if self._waiting else conn))
        return victims

    def waiting(self, conn: object) -> None:
        """`conn` waits for a request head (again): it becomes the newest of those that wait."""
        peer = self._peer.get(conn)
        if peer is None:
            return
        self._waiting.pop(conn, None)
        self._waiting[conn] = None
        by_peer = self._waiting_by_peer.setdefault(peer, {})
        by_peer.pop(conn, None)
        by_peer[conn] = None

    def busy(self, conn: object) -> None:
        """`conn` delivered a request head: it is not closed to make room."""
        peer = self._peer.get(conn)
        self._waiting.pop(conn, None)
        if peer is not None:
            self._waiting_by_peer.get(peer, {}).pop(conn, None)

    def closed(self, conn: object) -> None:
        self.busy(conn)
        peer = self._peer.pop(conn, None)
        if peer is None:
            return
        self._count[peer] -= 1
        if not self._count[peer]:
            del self._count[peer]
            self._waiting_by_peer.pop(peer, None)

    def _evict(self, conn: object) -> object:
        self.closed(conn)
        return conn


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and admission (see the module)."""

    admission: Admission
    head_seconds: float
    body_seconds: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = self.client[0] if self.client else "?"
        for victim in self.admission.opened(self, peer):
            assert isinstance(victim, GuardedH11Protocol)
            victim.close()
        if not transport.is_closing():
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        self._stop_body_timer()
        self.admission.closed(self)
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # h11 parsed a whole request head
            self._stop_head_timer()
            self.admission.busy(self)
        if self.conn.their_state is h11.SEND_BODY:  # a body is on its way
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.body_seconds, self.close)
        else:
            self._stop_body_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head()

    def close(self) -> None:
        self._stop_head_timer()
        self._stop_body_timer()
        self.transport.close()

    def _await_head(self) -> None:
        self._stop_head_timer()
        self.admission.waiting(self)
        self._head_timer = self.loop.call_later(self.head_seconds, self.close)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _stop_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None


def descriptor_room() -> int:
    """Connections the process can hold: its file-descriptor limit less the spare ones."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else max(16, soft - SPARE_DESCRIPTORS)


def guarded_config(
    app: Callable[..., Any],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    head_seconds: float = HEAD_SECONDS,
    body_seconds: float = BODY_SECONDS,
    per_peer: int = PER_PEER,
    total: int = MAX_CONNECTIONS,
) -> uvicorn.Config:
    """uvicorn's configuration with the guard; the tests shorten its deadlines and bounds."""
    protocol = type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {
            "admission": Admission(per_peer=per_peer, total=min(total, descriptor_room())),
            "head_seconds": head_seconds,
            "body_seconds": body_seconds,
        },
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        log_level="warning",
        lifespan="on",
        timeout_keep_alive=int(KEEP_ALIVE_SECONDS),
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is printed or opened, so a port in use (or
    one that needs privileges, or a host that is not this machine's) is one clear line."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}", "that is not a port: use 1-65535, or 0 for any free one")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            problem = (
                f"{where} is already in use (another server?): choose another --port, or --port 0 for any free one"
            )
        elif exc.errno == errno.EACCES:
            problem = f"binding {where} needs privileges: use a --port above 1023"
        elif exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            problem = f"{host} is not an address of this machine: use one it has (127.0.0.1, or 0.0.0.0 for all)"
        else:
            problem = f"{where} cannot be bound ({exc.strerror or exc})"
        raise ConfigError(
            f"--port {port}" if exc.errno in (errno.EADDRINUSE, errno.EACCES) else f"--host {host}", problem
        ) from None
    sock.listen(2048)
    return sock


async def serve_http(settings: Settings, options: HttpOptions, transport: str = "streamable-http") -> None:
    transport_security(options)  # a non-loopback bind without --allowed-host is refused before anything opens
    sock = bind(options.host, options.port)
    options = replace(options, port=sock.getsockname()[1])  # --port 0: the port the system chose
    try:
        async with open_service(settings, create=False) as service:  # serve never makes a database
            app = build_http_app(service, options)
            base = public_base(options)
            endpoint = f"{base}/sse" if transport == "sse" else f"{base}/mcp"
            print(
                f"hivegov-mcp: serving {redacted(str(settings.db))} over HTTP: MCP at {endpoint}, "
                f"REST at {base}/api/governance/ (docs {base}/api/docs), each request with "
                f"Authorization: Bearer <agent token>; the dashboard at {base}/ (sign in with an agent token); "
                + (
                    f"OAuth for remote connectors at {base}/.well-known/oauth-authorization-server"
                    if oauth_available(base)
                    else "no OAuth (it needs https: give --public-url https://…)"
                ),
                file=sys.stderr,
                flush=True,
            )
            await uvicorn.Server(guarded_config(app)).serve(sockets=[sock])
    finally:
        sock.close()
