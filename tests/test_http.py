"""The HTTP app over a real uvicorn on a loopback port (DESIGN §12): MCP over Streamable HTTP
(both eras) and SSE, per-request identity, Host/Origin checks, the REST API, its errors, the
event stream, and notifications of writes from another process."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock, SystemClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL
from tests.http_helpers import bearer, mcp_client, serve
from tests.mcp_helpers import ok

pytestmark = pytest.mark.anyio

JUSTIFICATION = "I weighed the specification against the motivation."
API = "/api/governance"


@pytest.fixture
async def tokens(db_path: Path, clock: FakeClock) -> dict[str, str]:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}


async def in_voting(base: str, tokens: dict[str, str]) -> str:
    """A proposal in voting, driven over REST."""
    async with httpx2.AsyncClient(base_url=base) as http:
        created = await http.post(f"{API}/proposals", json=PROPOSAL, headers=bearer(tokens["alice"]))
        pid = created.json()["id"]
        assert (await http.post(f"{API}/discussions/{pid}", headers=bearer(tokens["alice"]))).status_code == 200
        concluded = await http.post(
            f"{API}/discussions/{pid}/conclude",
            json={"resolution": "approved-for-voting", "reason": "Ready."},
            headers=bearer(tokens["carol"]),
        )
        assert concluded.status_code == 200, concluded.text
    return str(pid)


@pytest.mark.parametrize(
    ("transport", "mode"), [("streamable-http", "auto"), ("streamable-http", "legacy"), ("sse", "legacy")]
)
async def test_several_agents_at_once_each_act_as_themselves_over_mcp(
    db_path: Path, clock: FakeClock, tokens: dict[str, str], transport: str, mode: str
) -> None:
    async with (
        serve(db_path, clock=clock) as served,
        mcp_client(served.base, tokens["alice"], transport=transport, mode=mode) as alice,
        mcp_client(served.base, tokens["bob"], transport=transport, mode=mode) as bob,
    ):
        if mode == "auto":
            assert alice.protocol_version == "2026-07-28"
        me_alice, me_bob = await ok(alice, "whoami"), await ok(bob, "whoami")
        created = await ok(alice, "create_proposal", **PROPOSAL)
        refused = await bob.call_tool("create_proposal", PROPOSAL)
    assert (me_alice["id"], me_bob["id"]) == ("alice", "bob")
    assert created["author"] == "alice"
    assert refused.is_error and "proposer" in refused.content[0].text  # type: ignore[union-attr]


async def test_mcp_without_or_with_a_bad_token_is_401_saying_how_to_get_one_and_naming_the_oauth_metadata(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        missing = await http.post("/mcp", json=hello)
        wrong = await http.post("/mcp", json=hello, headers=bearer("hg_not-a-token"))
        sse = await http.get("/sse", headers=bearer("hg_not-a-token"))
        metadata = await http.get("/.well-known/oauth-protected-resource/mcp")
        server = await http.get("/.well-known/oauth-authorization-server")
        fine = await http.post("/mcp", json=hello, headers=bearer(tokens["alice"]))
    for response in (missing, wrong, sse):
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert f'resource_metadata="{served.base}/.well-known/oauth-protected-resource/mcp"' in challenge
        assert challenge.startswith('Bearer realm="hivegov"')
        assert response.json()["error"]["code"] == "not_authenticated"
        assert "hivegov-mcp agent add ID --role" in response.json()["error"]["hint"]
    assert response.json()["error"]["message"] == "No valid identity: the token matches no agent."
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert "rotate-token" in wrong.headers["www-authenticate"]
    assert missing.json()["error"]["message"] == "No valid identity: no agent token was given."
    assert (metadata.status_code, server.status_code) == (200, 200)
    assert metadata.json()["resource"] == f"{served.base}/mcp"
    assert [s.rstrip("/") for s in metadata.json()["authorization_servers"]] == [served.base]
    assert server.json()["code_challenge_methods_supported"] == ["S256"]
    assert fine.status_code != 401


async def test_a_deactivated_token_is_refused_at_the_next_request(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served:
        async with mcp_client(served.base, tokens["bob"]) as bob:
            await ok(bob, "whoami")
            await served.service.deactivate_agent(LOCAL_ADMIN, "bob")
            with pytest.raises(Exception):  # noqa: B017  (the transport's error for a 401)
                await bob.call_tool("whoami", {})
        async with httpx2.AsyncClient(base_url=served.base) as http:
            rest = await http.get(f"{API}/agents/me", headers=bearer(tokens["bob"]))
    assert rest.status_code == 401 and rest.json()["error"]["code"] == "not_authenticated"
    assert "deactivated" in rest.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/mcp", f"{API}/proposals", "/healthz"])
async def test_a_foreign_host_gets_421_and_a_foreign_origin_403(
    db_path: Path, clock: FakeClock, tokens: dict[str, str], path: str
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        host = await http.get(path, headers={**bearer(tokens["alice"]), "Host": "evil.example"})
        origin = await http.get(path, headers={**bearer(tokens["alice"]), "Origin": "http://evil.example"})
        fine = await http.get("/healthz", headers={"Origin": served.base})
    assert host.status_code == 421
    assert origin.status_code == 403
    assert fine.status_code == 200


async def test_a_vote_cast_over_rest_shows_over_mcp_and_one_cast_over_mcp_shows_over_rest(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served:
        pid = await in_voting(served.base, tokens)
        async with httpx2.AsyncClient(base_url=served.base) as http, mcp_client(served.base, tokens["carol"]) as carol:
            cast = await http.post(
                f"{API}/votes/{pid}",
                json={"decision": "approve", "justification": JUSTIFICATION},
                headers=bearer(tokens["bob"]),
            )
            seen_over_mcp = await ok(carol, "get_voting_results", proposal_id=pid)
            await ok(carol, "cast_vote", proposal_id=pid, decision="reject", justification=JUSTIFICATION)
            seen_over_rest = await http.get(f"{API}/votes/{pid}", headers=bearer(tokens["bob"]))
    assert cast.status_code == 200 and cast.json()["receipt"]["seq"] > 0
    assert seen_over_mcp["voted"] == ["bob"]
    assert sorted(seen_over_rest.json()["voted"]) == ["bob", "carol"]
    assert seen_over_rest.json()["tally"] is None  # hidden while open (after_close), over REST too


async def test_rest_errors_are_one_envelope_with_the_right_status(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        alice, bob = bearer(tokens["alice"]), bearer(tokens["bob"])
        pid = (await http.post(f"{API}/proposals", json=PROPOSAL, headers=alice)).json()["id"]
        answers = {
            400: await http.post(f"{API}/proposals", json={**PROPOSAL, "type": "nonsense"}, headers=alice),
            401: await http.get(f"{API}/proposals"),
            403: await http.post(f"{API}/proposals", json=PROPOSAL, headers=bob),
            404: await http.get(f"{API}/proposals/BIP-999", headers=alice),
            409: await http.post(
                f"{API}/votes/{pid}", json={"decision": "approve", "justification": "x" * 40}, headers=bob
            ),
            413: await http.post(f"{API}/proposals", content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=alice),
        }
        unknown_field = await http.post(f"{API}/proposals", json={**PROPOSAL, "titel": "typo"}, headers=alice)
        no_route = await http.get(f"{API}/nothing-here", headers=alice)
    for status, response in answers.items():
        assert response.status_code == status, (status, response.text)
        error = response.json()["error"]
        assert set(error) == {"code", "message", "hint"} and error["message"]
    assert "type" in answers[400].json()["error"]["message"]
    assert answers[401].headers["www-authenticate"].startswith("Bearer")
    assert answers[404].json()["error"]["code"] == "not_found" and "BIP-999" in answers[404].json()["error"]["message"]
    assert answers[409].json()["error"]["code"] == "wrong_status"
    assert unknown_field.status_code == 400 and "titel" in unknown_field.json()["error"]["message"]
    assert no_route.status_code == 404 and no_route.json()["error"]["code"] == "not_found"


async def _events(http: httpx2.AsyncClient, token: str, count: int, **headers: str) -> list[dict[str, Any]]:
    """Read `count` events from the stream; each with its id, event name and data."""
    got: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with anyio.fail_after(20):
        async with http.stream("GET", f"{API}/events", headers={**bearer(token), **headers}) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith(("id:", "event:", "data:")):
                    key, _, value = line.partition(":")
                    current[key] = value.strip()
                elif not line and current:
                    got.append({**current, "data": json.loads(current["data"])})
                    current = {}
                    if len(got) == count:
                        break
    return got


async def test_the_event_stream_resumes_with_last_event_id_missing_nothing(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base, timeout=30) as http:
        alice = bearer(tokens["alice"])
        first = await _events(http, tokens["bob"], 3)  # the three oldest events of the log
        for n in range(3):
            await http.post(f"{API}/proposals", json={**PROPOSAL, "title": f"P{n}"}, headers=alice)
        head = (await http.get(f"{API}/status", headers=alice)).json()["audit_events"]
        resumed: list[dict[str, Any]] = []

        async def listen() -> None:
            resumed.extend(await _events(http, tokens["bob"], head - 3 + 1, **{"Last-Event-ID": first[-1]["id"]}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            await http.post(f"{API}/proposals", json={**PROPOSAL, "title": "live"}, headers=alice)  # while listening
    seqs = [int(e["id"]) for e in first + resumed]
    assert seqs == list(range(1, head + 2))  # every event once, in order, the live one included
    assert resumed[-1]["event"] == "create_proposal" and resumed[-1]["data"]["actor"] == "alice"


VOTER_ELSEWHERE = """
import sys, anyio
from pathlib import Path
from hivegov_mcp.app import open_service
from hivegov_mcp.settings import Settings

async def main(db, token, pid):
    async with open_service(Settings(db=Path(db))) as svc:
        agent = await svc.authenticate(token)
        await svc.add_comment(agent, pid, "Written by another process.")

anyio.run(main, *sys.argv[1:])
"""


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_write_by_another_process_reaches_subscribers_as_a_resource_update(
    db_path: Path, tokens: dict[str, str], mode: str
) -> None:
    # The other process keeps real time, so this server does too (a fake one would be a year behind).
    async with serve(db_path, clock=SystemClock()) as served:
        async with httpx2.AsyncClient(base_url=served.base) as http:
            pid = (await http.post(f"{API}/proposals", json=PROPOSAL, headers=bearer(tokens["alice"]))).json()["id"]
            await http.post(f"{API}/discussions/{pid}", headers=bearer(tokens["alice"]))
        uri = f"hivegov://proposals/{pid}/discussion"
        command = [sys.executable, "-c", VOTER_ELSEWHERE, str(db_path), tokens["bob"], pid]
        updated: list[str] = []
        if mode == "auto":
            async with (
                mcp_client(served.base, tokens["dave"]) as dave,
                dave.listen(resource_subscriptions=[uri]) as sub,
            ):
                await anyio.run_process(command)
                with anyio.fail_after(20):
                    async for event in sub:
                        updated.append(str(getattr(event, "uri", "")))
                        if uri in updated:
                            break
        else:
            got = anyio.Event()

            async def on_message(message: Any) -> None:
                params = getattr(getattr(message, "root", message), "params", None)
                if params is not None and str(getattr(params, "uri", "")) == uri:
                    updated.append(uri)
                    got.set()

            async with (
                httpx2.AsyncClient(headers=bearer(tokens["dave"]), timeout=30) as raw,
                Client(
                    streamable_http_client(f"{served.base}/mcp", http_client=raw),
                    mode="legacy",
                    message_handler=on_message,
                ) as dave,
            ):
                with pytest.warns(MCPDeprecationWarning):  # the 2025 way, still served for those clients
                    await dave.subscribe_resource(uri)
                await anyio.run_process(command)
                with anyio.fail_after(20):
                    await got.wait()
    assert uri in updated


async def test_healthz_openapi_and_a_docs_page_that_loads_nothing_from_the_internet(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        health = await http.get("/healthz")
        openapi = (await http.get("/api/openapi.json")).json()
        docs = (await http.get("/api/docs")).text
    seed = {
        ("post", "/api/governance/proposals"),
        ("get", "/api/governance/proposals/{proposal_id}"),
        ("put", "/api/governance/proposals/{proposal_id}"),
        ("get", "/api/governance/proposals"),
        ("post", "/api/governance/discussions/{proposal_id}"),
        ("post", "/api/governance/discussions/{proposal_id}/comments"),
        ("get", "/api/governance/discussions/{proposal_id}"),
        ("post", "/api/governance/discussions/{proposal_id}/summary"),
        ("post", "/api/governance/votes/{proposal_id}"),
        ("get", "/api/governance/votes/{proposal_id}"),
        ("post", "/api/governance/votes/{proposal_id}/close"),
    }
    served_ops = {(m, p) for p, ops in openapi["paths"].items() for m in ops}
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert openapi["openapi"].startswith("3.1")
    assert seed <= served_ops
    assert "http://" not in docs.replace("http://127.0.0.1", "") and "https://" not in docs
    assert "/api/openapi.json" in docs


async def test_the_readme_s_curl_cycle_runs_a_proposal_to_approval_through_rest(tmp_path: Path) -> None:
    """examples/rest_cycle.sh, as a new user runs it: a real `serve` process, curl for every call."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(__file__).parent.parent / "examples" / "rest_cycle.sh"
    env = {
        **os.environ,
        "PORT": str(port),
        "DB": str(tmp_path / "gov.db"),
        "HIVEGOV_MCP": str(Path(sys.executable).parent / "hivegov-mcp"),
    }
    with anyio.fail_after(60):
        done = await anyio.run_process(["bash", str(script)], env=env, check=False)
    assert done.returncode == 0, done.stderr.decode()
    answers = [json.loads(line) for line in done.stdout.decode().splitlines() if line.startswith("{")]
    assert answers[-2]["result"] == "approved" and answers[-2]["tally"] == {"approve": 2, "reject": 0, "abstain": 0}
    assert answers[-1]["ok"] is True


async def test_an_open_event_stream_ends_when_its_agent_is_deactivated_and_streams_are_bounded(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base, timeout=30) as http:
        eve, alice = bearer(tokens["erin"]), bearer(tokens["alice"])
        head = (await http.get(f"{API}/status", headers=alice)).json()["audit_events"]
        seen: list[str] = []
        with anyio.fail_after(20):
            async with http.stream("GET", f"{API}/events", headers={**eve, "Last-Event-ID": str(head)}) as response:
                await served.service.deactivate_agent(LOCAL_ADMIN, "erin")
                await http.post(f"{API}/proposals", json=PROPOSAL, headers=alice)  # erin must not see it
                async for line in response.aiter_lines():  # the stream ends instead
                    seen.append(line)
        unknown = await http.get(f"{API}/events?proposal_id=BIP-999", headers=alice)
        async with (
            http.stream("GET", f"{API}/events", headers=alice),
            http.stream("GET", f"{API}/events", headers=alice),
            http.stream("GET", f"{API}/events", headers=alice),
            http.stream("GET", f"{API}/events", headers=alice),
        ):
            fifth = await http.get(f"{API}/events", headers=alice)
    assert not any(line.startswith("data:") for line in seen)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert fifth.status_code == 429 and fifth.json()["error"]["code"] == "too_many_streams"


async def test_wrong_methods_chunked_bodies_and_headers_of_the_api(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async def chunks() -> Any:
        for _ in range(3):
            yield b"x" * (512 * 1024)

    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        alice = bearer(tokens["alice"])
        wrong = await http.delete(f"{API}/agents/me", headers=alice)
        chunked = await http.post(f"{API}/proposals", content=chunks(), headers=alice)
        answer = await http.get(f"{API}/agents/me", headers=alice)
        docs = await http.get("/api/docs")
        metadata = await http.get("/.well-known/oauth-protected-resource/mcp", headers={"Host": "evil.example"})
        allowed = {
            path: (await http.put(path, headers=alice)).headers.get("allow")
            for path in (f"{API}/proposals", "/healthz", "/mcp", "/login", "/static/dashboard.css")
        }
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET"
    assert allowed == {
        f"{API}/proposals": "GET, POST",
        "/healthz": "GET",
        "/mcp": "GET, HEAD, POST, DELETE",
        "/login": "GET, POST",
        "/static/dashboard.css": "GET, HEAD",
    }
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "too_large"
    assert answer.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert metadata.status_code == 421


async def test_the_checkpoint_and_proofs_are_served_over_rest_and_as_an_mcp_resource(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with (
        serve(db_path, clock=clock) as served,
        httpx2.AsyncClient(base_url=served.base) as http,
        mcp_client(served.base, tokens["dave"]) as dave,
    ):
        created = await http.post(f"{API}/proposals", json=PROPOSAL, headers=bearer(tokens["alice"]))
        seq = created.json()["receipt"]["seq"]
        checkpoint = await http.get(f"{API}/audit/checkpoint", headers=bearer(tokens["bob"]))
        proof = await http.get(f"{API}/audit/{seq}/proof", params={"since_size": 1}, headers=bearer(tokens["bob"]))
        unknown = await http.get(f"{API}/audit/{seq + 50}/proof", headers=bearer(tokens["bob"]))
        anonymous = await http.get(f"{API}/audit/checkpoint")
        note = (await dave.read_resource("hivegov://audit/checkpoint")).contents[0]
        rules = (await dave.read_resource("hivegov://rules")).contents[0]

    assert checkpoint.status_code == 200 and checkpoint.json()["size"] == seq
    assert proof.status_code == 200 and proof.json()["checkpoint"] == checkpoint.json()
    assert proof.json()["consistency"]["from_size"] == 1
    assert unknown.status_code == 404 and "events 1 to" in unknown.json()["error"]["hint"]
    assert anonymous.status_code == 401
    assert getattr(note, "text", "") == checkpoint.json()["note"]
    assert getattr(rules, "text", "").startswith("# rules version 1, sha256 ")


async def test_metrics_take_since_and_until_as_iso_8601_with_a_zone_never_as_a_number(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        alice = bearer(tokens["alice"])
        asked = {
            query: await http.get(f"{API}/metrics?{query}", headers=alice)
            for query in ("until=0.5", "since=1700000000", "until=2026-11-01T00:00", "until=2026-11-01T00:00:00Z")
        }
        async with mcp_client(served.base, tokens["alice"]) as client:
            over_mcp = await client.call_tool("get_governance_metrics", {"until": 0.5})
    expected = "must be an ISO 8601 date-time with its zone, e.g. 2026-11-01T00:00:00Z"
    for query, answer in list(asked.items())[:3]:
        name = query.split("=")[0]
        assert answer.status_code == 400, query
        assert answer.json()["error"]["message"].startswith(f"query.{name}: {expected}"), answer.text
    assert asked["until=2026-11-01T00:00:00Z"].status_code == 200
    assert over_mcp.is_error
    assert f"until {expected}; a number is not read as a time (got 0.5)" in over_mcp.content[0].text  # type: ignore[union-attr]
