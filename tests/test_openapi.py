"""The REST API checked against its own OpenAPI document by schemathesis: generated requests
(valid and not) to every operation of a real uvicorn; no answer is a 5xx, and every answer
matches the schema the document gives for it (status, content type, body)."""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.http.app import HttpOptions, build_http_app
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL


class LiveAPI:
    """The HTTP app on its own event loop in a thread, with the cast registered and a proposal
    in each of draft, discussion and voting (so generated ids sometimes hit real ones)."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="hivegov-openapi-")
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.tokens: dict[str, str] = {}
        self.ready = threading.Event()
        self.server: uvicorn.Server | None = None
        self.thread = threading.Thread(target=anyio.run, args=(self._serve,), daemon=True)

    async def _serve(self) -> None:
        db = Path(self.folder.name) / "api.db"
        async with open_service(Settings(db=db, clock=FakeClock())) as service:
            for name, roles in CAST.items():
                self.tokens[name] = (await service.register_agent(LOCAL_ADMIN, name, roles)).token
            alice = await service.authenticate(self.tokens["alice"])
            carol = await service.authenticate(self.tokens["carol"])
            await service.create_proposal(alice, **PROPOSAL)
            for n in range(2):
                pid = (await service.create_proposal(alice, **PROPOSAL)).id
                await service.start_discussion(alice, pid)
                if n:
                    await service.conclude_discussion(carol, pid, "approved-for-voting", "Ready.")
            app = build_http_app(service, HttpOptions(port=self.sock.getsockname()[1], tick_seconds=0))
            self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
            self.ready.set()
            await self.server.serve(sockets=[self.sock])

    def __enter__(self) -> LiveAPI:
        self.thread.start()
        assert self.ready.wait(30), "the API did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()
        self.folder.cleanup()


@pytest.fixture(scope="module")
def live_api() -> Iterator[LiveAPI]:
    with LiveAPI() as api:
        yield api


@pytest.fixture(scope="module")
def api_schema(live_api: LiveAPI) -> Any:
    loaded = schemathesis.openapi.from_url(f"{live_api.base}/api/openapi.json", wait_for_schema=30)
    # The event stream never ends: its answers are checked by tests/test_http.py instead.
    return loaded.exclude(path="/api/governance/events")


# Checks this API fails on purpose: it refuses some schema-valid input with 400 (a cursor
# from nowhere, text past a limit, a word-less search), which the message then names.
BEYOND_SCHEMA = [checks.positive_data_acceptance]


def test_every_operation_answers_within_its_schema_and_never_with_a_server_error(
    api_schema: Any, live_api: LiveAPI
) -> None:
    """Hypothesis drives each operation's generated cases (schemathesis's pytest plugin does
    not load under this pytest, so the loop is written out)."""
    # Carol (mediator, voter) rather than an admin: the answers mix successes, refusals and bad input.
    headers = {"Authorization": f"Bearer {live_api.tokens['carol']}"}
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(base_url=live_api.base, headers=headers, excluded_checks=BEYOND_SCHEMA)
            assert response.status_code < 500

        check()
        checked.append(operation.label)
    documented = sum(len(ops) for path, ops in api_schema.raw_schema["paths"].items() if not path.endswith("/events"))
    assert len(checked) == documented >= 28  # every operation of the API was exercised
    assert "POST /api/governance/votes/{proposal_id}" in checked
