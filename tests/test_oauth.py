"""OAuth for remote MCP clients (DESIGN §21) on a real uvicorn: the SDK's own client auth
(`OAuthClientProvider`) discovers, registers, sends a headless Chromium through the consent page
(sign in, approve) and calls tools as the approved agent; and the refusals: a wrong redirect URI,
a missing or plain PKCE challenge, a token for another resource, a replayed code, a revoked or
replayed refresh token, expired codes and tokens (the injected clock, no sleeps); the stores' part
on SQLite and PostgreSQL. Client ID metadata documents: test_oauth_documents.py; the consent and
grants pages: test_oauth_pages.py."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import ConfigError
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.oauth import READ, WRITE
from hivegov_mcp.http.app import HttpOptions, build_http_app, transport_security
from hivegov_mcp.service import GovernanceService
from hivegov_mcp.settings import Settings
from tests.conftest import CAST, PROPOSAL, Cast
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import ok
from tests.oauth_helpers import (
    CALLBACK,
    HELLO,
    approved_code,
    authorize_query,
    challenge_of,
    client_of,
    connect,
    error_of,
    redeem,
    refresh,
    tools_status,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tokens(db_path: Path, clock: FakeClock) -> dict[str, str]:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}


async def test_a_client_signs_in_through_the_consent_page_and_calls_tools_as_the_approved_agent(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served:
        seen = await connect(served, tokens["alice"])
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=100)

    assert seen.results["whoami"]["id"] == "alice"
    assert seen.results["create_proposal"]["author"] == "alice"
    assert seen.problems == []
    assert seen.sent_to[-1].startswith(f"{served.base}/authorize?")
    assert "Test connector" in seen.consent_text[0] and "alice" in seen.consent_text[0]
    tokens_got = seen.storage.tokens
    assert tokens_got is not None and tokens_got.refresh_token is not None
    assert tokens_got.access_token.startswith("hga_") and tokens_got.expires_in == 3600
    assert set((tokens_got.scope or "").split()) == {READ, WRITE}
    granted = [e for e in log.events if e.action == "oauth_granted"]
    assert len(granted) == 1 and granted[0].actor == "alice"
    assert granted[0].payload["agent"] == "alice" and granted[0].payload["scopes"] == [READ, WRITE]
    logged = str([e.payload for e in log.events])
    assert tokens_got.access_token not in logged and tokens_got.refresh_token not in logged  # no token in the log


async def test_authorize_refuses_an_unregistered_redirect_uri_without_redirecting_to_it(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        wrong = await http.get("/authorize", params=authorize_query(client_id, redirect_uri="http://localhost:3030/x"))
        prefix = await http.get("/authorize", params=authorize_query(client_id, redirect_uri=CALLBACK + "/more"))
        good = await http.get("/authorize", params=authorize_query(client_id))
    for refused in (wrong, prefix):
        assert refused.status_code == 400 and "location" not in refused.headers
        assert refused.json()["error"] == "invalid_request" and "not registered" in refused.json()["error_description"]
    assert good.status_code == 302 and good.headers["location"].startswith(f"{served.base}/oauth/consent?request=")


async def test_authorize_refuses_a_missing_or_plain_pkce_challenge(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        missing = await http.get("/authorize", params=authorize_query(client_id, code_challenge=None))
        plain = await http.get("/authorize", params=authorize_query(client_id, code_challenge_method="plain"))
        not_s256 = await http.get("/authorize", params=authorize_query(client_id, code_challenge="short-and-plain"))
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    for refused in (missing, plain, not_s256):
        assert refused.status_code == 302 and refused.headers["location"].startswith(CALLBACK)
        assert error_of(refused.headers["location"]) == "invalid_request"
    assert metadata["code_challenge_methods_supported"] == ["S256"]


async def test_a_code_redeemed_without_its_verifier_is_refused(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        code = await approved_code(served.service, served, client_id, "v" * 50)
        wrong = await redeem(http, client_id, code, "w" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


async def test_tokens_for_another_resource_are_refused_when_asked_for_and_when_used(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with (
        serve(db_path, clock=clock) as served,
        serve(db_path, clock=clock) as other,  # another server (another URL) on the same database
        client_of(served) as (http, client_id),
    ):
        asked = await http.get(
            "/authorize", params=authorize_query(client_id, resource="https://elsewhere.example/mcp")
        )
        named = await http.get("/authorize", params=authorize_query(client_id, resource=f"{served.base}/mcp"))
        code = await approved_code(served.service, served, client_id, "v" * 50)
        issued = (await redeem(http, client_id, code, "v" * 50)).json()
        here = await tools_status(http, issued["access_token"])
        there = await tools_status(http, issued["access_token"], other.base)
        agent_token_there = await tools_status(http, tokens["bob"], other.base)
        at_rest = await http.get("/api/governance/proposals", headers=bearer(issued["access_token"]))
    assert asked.status_code == 302 and error_of(asked.headers["location"]) == "invalid_target"
    assert named.status_code == 302 and "/oauth/consent?request=" in named.headers["location"]
    assert (here, there, agent_token_there) == (200, 401, 200)
    assert at_rest.status_code == 401  # bound to /mcp: not a REST credential


async def test_a_replayed_code_is_refused_and_revokes_what_it_issued(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        code = await approved_code(served.service, served, client_id, "v" * 50)
        first = await redeem(http, client_id, code, "v" * 50)
        works = await tools_status(http, first.json()["access_token"])
        again = await redeem(http, client_id, code, "v" * 50)
        after = await tools_status(http, first.json()["access_token"])
        refreshed = await refresh(http, client_id, first.json()["refresh_token"])
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=100)
    assert (first.status_code, works) == (200, 200)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert after == 401 and refreshed.json()["error"] == "invalid_grant"
    revoked = [e for e in log.events if e.action == "oauth_revoked"]
    assert [e.payload["reason"] for e in revoked] == ["authorization code replayed"]


async def test_refresh_rotates_and_a_revoked_or_replayed_refresh_token_is_refused(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        first = (
            await redeem(http, client_id, await approved_code(served.service, served, client_id, "v" * 50), "v" * 50)
        ).json()
        second = (await refresh(http, client_id, first["refresh_token"])).json()
        old_access_still = await tools_status(http, first["access_token"])
        new_access = await tools_status(http, second["access_token"])
        revoked = await http.post("/revoke", data={"token": second["refresh_token"], "client_id": client_id})
        after_revoke = await refresh(http, client_id, second["refresh_token"])
        access_after_revoke = await tools_status(http, second["access_token"])

        # A refresh token spent twice is a stolen one: the grant goes, the thief's new tokens too.
        third = (
            await redeem(http, client_id, await approved_code(served.service, served, client_id, "x" * 50), "x" * 50)
        ).json()
        fourth = (await refresh(http, client_id, third["refresh_token"])).json()
        replayed = await refresh(http, client_id, third["refresh_token"])
        fourth_after = await tools_status(http, fourth["access_token"])
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=100)
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert (old_access_still, new_access) == (200, 200)
    assert revoked.status_code == 200
    assert after_revoke.status_code == 400 and after_revoke.json()["error"] == "invalid_grant"
    assert access_after_revoke == 401
    assert replayed.status_code == 400 and fourth_after == 401
    reasons = [e.payload["reason"] for e in log.events if e.action == "oauth_revoked"]
    assert reasons == ["revoked by the client", "refresh token replayed"]


async def test_codes_and_access_tokens_expire_on_the_service_clock(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        late = await approved_code(served.service, served, client_id, "v" * 50)
        clock.advance(minutes=6)
        too_late = await redeem(http, client_id, late, "v" * 50)
        issued = (
            await redeem(http, client_id, await approved_code(served.service, served, client_id, "w" * 50), "w" * 50)
        ).json()
        fresh = await tools_status(http, issued["access_token"])
        clock.advance(minutes=61)
        stale = await tools_status(http, issued["access_token"])
        renewed = (await refresh(http, client_id, issued["refresh_token"])).json()
        again = await tools_status(http, renewed["access_token"])
    assert too_late.status_code == 400 and too_late.json()["error"] == "invalid_grant"
    assert (fresh, stale, again) == (200, 401, 200)


async def test_a_read_only_grant_acts_as_the_agent_without_its_roles(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        alice = next(a for a in (await served.service.list_agents(LOCAL_ADMIN)).agents if a.id == "alice")
        code = await served.service.grant_oauth(
            alice,
            agent_id="alice",
            client_id=client_id,
            client_name=None,
            scopes=[READ],
            resource=f"{served.base}/mcp",
            redirect_uri=CALLBACK,
            redirect_uri_explicit=True,
            code_challenge=challenge_of("v" * 50),
        )
        issued = (await redeem(http, client_id, code, "v" * 50)).json()
        async with (
            httpx2.AsyncClient(headers=bearer(issued["access_token"]), timeout=30) as authed,
            Client(streamable_http_client(f"{served.base}/mcp", http_client=authed)) as client,
        ):
            me = await ok(client, "whoami")
            refused = await client.call_tool("create_proposal", PROPOSAL)
    assert issued["scope"] == READ
    assert me["id"] == "alice" and me["roles"] == []
    assert refused.is_error


async def test_only_an_admin_approves_for_another_agent(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (_, client_id):
        agents = {a.id: a for a in (await served.service.list_agents(LOCAL_ADMIN)).agents}
        common: dict[str, Any] = {
            "client_id": client_id,
            "client_name": None,
            "scopes": [READ],
            "resource": f"{served.base}/mcp",
            "redirect_uri": CALLBACK,
            "redirect_uri_explicit": True,
            "code_challenge": challenge_of(secrets.token_urlsafe(40)),
        }
        by_admin = await served.service.grant_oauth(agents["root"], agent_id="bob", **common)
        with pytest.raises(Exception, match="admin"):
            await served.service.grant_oauth(agents["alice"], agent_id="bob", **common)
    assert by_admin.startswith("hgc_")


async def test_behind_a_tls_proxy_the_public_url_names_the_issuer_and_the_resource(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        app = build_http_app(service, HttpOptions(public_url="https://gov.example.com/", tick_seconds=0))
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="https://gov.example.com") as http:
            resource = (await http.get("/.well-known/oauth-protected-resource/mcp")).json()
            server = (await http.get("/.well-known/oauth-authorization-server")).json()
            challenge = (await http.post("/mcp", json=HELLO)).headers["www-authenticate"]
    assert resource["resource"] == "https://gov.example.com/mcp"
    assert [s.rstrip("/") for s in resource["authorization_servers"]] == ["https://gov.example.com"]
    assert server["authorization_endpoint"] == "https://gov.example.com/authorize"
    assert 'resource_metadata="https://gov.example.com/.well-known/oauth-protected-resource/mcp"' in challenge


def test_a_public_url_with_a_path_is_refused() -> None:
    with pytest.raises(ConfigError, match="no path"):
        transport_security(HttpOptions(public_url="https://gov.example.com/hivegov"))


async def test_oauth_endpoints_answer_a_browser_client_on_another_origin_and_nothing_else_does(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    inspector = {"Origin": "http://inspector.example:6274"}
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        metadata = await http.get("/.well-known/oauth-authorization-server", headers=inspector)
        preflight = await http.options("/token", headers={**inspector, "Access-Control-Request-Method": "POST"})
        registered = await http.post(
            "/register", json={"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none"}, headers=inspector
        )
        rest = await http.get("/api/governance/proposals", headers={**inspector, **bearer(tokens["bob"])})
        consent = await http.post("/oauth/consent", data={"request": "x"}, headers=inspector)
    assert metadata.status_code == 200 and metadata.headers["access-control-allow-origin"] == "*"
    assert preflight.status_code == 200 and registered.status_code == 201
    assert (rest.status_code, consent.status_code) == (403, 403)


async def test_deactivating_the_agent_stops_its_oauth_tokens_at_the_next_request(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        issued = (
            await redeem(http, client_id, await approved_code(served.service, served, client_id, "v" * 50), "v" * 50)
        ).json()
        before = await tools_status(http, issued["access_token"])
        await served.service.deactivate_agent(LOCAL_ADMIN, "bob")
        after = await tools_status(http, issued["access_token"])
    assert (before, after) == (200, 401)


@pytest.mark.both_stores
async def test_grants_codes_and_tokens_keep_their_rules_on_both_stores(service: GovernanceService, cast: Cast) -> None:
    info = json.dumps({"client_id": "c1", "client_name": "one", "redirect_uris": [CALLBACK]})
    await service.register_oauth_client("c1", info)
    await service.register_oauth_client("c1", info.replace('"one"', '"uno"'))  # a document read again
    code = await service.grant_oauth(
        cast["carol"],
        agent_id="carol",
        client_id="c1",
        client_name="one",
        scopes=[READ, WRITE],
        resource="http://127.0.0.1:1/mcp",
        redirect_uri=CALLBACK,
        redirect_uri_explicit=True,
        code_challenge=challenge_of("v" * 50),
    )
    loaded = await service.oauth_code(code)
    issued = await service.redeem_oauth_code(code)
    assert loaded is not None and issued is not None and loaded.grant.agent_id == "carol"
    assert await service.redeem_oauth_code(code) is None  # a code once; the replay revoked the grant
    assert await service.oauth_access_token(issued.access_token) is None
    listed = await service.list_oauth_grants(cast["carol"])
    assert listed == []

    code = await service.grant_oauth(
        cast["carol"],
        agent_id="carol",
        client_id="c1",
        client_name="uno",
        scopes=[READ],
        resource="http://127.0.0.1:1/mcp",
        redirect_uri=CALLBACK,
        redirect_uri_explicit=True,
        code_challenge=challenge_of("v" * 50),
    )
    first = await service.redeem_oauth_code(code)
    assert first is not None
    second = await service.rotate_oauth_refresh(first.refresh_token)
    assert second is not None and second.scopes == (READ,)
    agent = await service.authenticate(second.access_token, resource="http://127.0.0.1:1/mcp")
    assert (agent.id, agent.roles) == ("carol", [])
    [shown] = await service.list_oauth_grants(cast["carol"])
    assert (shown.client_name, shown.granted_by, shown.grant.scopes) == ("uno", "carol", (READ,))
    assert await service.revoke_oauth(second.refresh_token) is True
    assert await service.rotate_oauth_refresh(second.refresh_token) is None
    assert (await service.verify_audit(LOCAL_ADMIN)).ok


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("https://claude.ai/api/mcp/auth_callback", True),
        ("http://127.0.0.1:33418/", True),
        ("http://localhost:6274/oauth/callback", True),
        ("cursor://anysphere.cursor-retrieval/oauth/callback", True),
        ("com.example.app:/oauth2redirect", True),
        ("http://attacker.example/callback", False),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("https://claude.ai/callback#fragment", False),
    ],
)
async def test_registration_takes_https_loopback_and_app_redirect_uris_only(
    db_path: Path, clock: FakeClock, uri: str, accepted: bool
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        answer = await http.post("/register", json={"redirect_uris": [uri], "token_endpoint_auth_method": "none"})
    assert answer.status_code == (201 if accepted else 400), answer.text
