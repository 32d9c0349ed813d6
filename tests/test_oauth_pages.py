"""The OAuth consent page and the grants page (DESIGN §21), by plain HTTP on a real uvicorn: deny,
CSRF, an admin choosing the agent, a request that expired; listing and revoking connected clients.
The page in a real browser: test_oauth.py's whole flow."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.errors import PermissionDenied
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.oauth import READ, WRITE
from hivegov_mcp.http.app import HttpOptions, build_http_app
from hivegov_mcp.settings import Settings
from tests.conftest import CAST
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import ok
from tests.oauth_helpers import (
    CALLBACK,
    approved_code,
    authorize_query,
    client_of,
    consent_request,
    error_of,
    hidden,
    redeem,
    sign_in_on_consent,
    tools_status,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tokens(db_path: Path, clock: FakeClock) -> dict[str, str]:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}


async def test_the_consent_page_denies_checks_csrf_lets_an_admin_choose_the_agent_and_expires(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        rid = await consent_request(http, client_id)
        csrf = await sign_in_on_consent(http, rid, tokens["root"])
        page = (await http.get("/oauth/consent", params={"request": rid})).text
        forged = await http.post("/oauth/consent", data={"request": rid, "csrf": "nope", "decision": "approve"})
        approved = await http.post(
            "/oauth/consent",
            data={"request": rid, "csrf": csrf, "decision": "approve", "agent": "carol", "scope": [READ, WRITE]},
        )
        answered_again = await http.get("/oauth/consent", params={"request": rid})

        denied_rid = await consent_request(http, client_id)
        denied = await http.post("/oauth/consent", data={"request": denied_rid, "csrf": csrf, "decision": "deny"})

        code = parse_qs(urlsplit(approved.headers["location"]).query)["code"][0]
        issued = (await redeem(http, client_id, code, "v" * 50)).json()

        late_rid = await consent_request(http, client_id)
        clock.advance(minutes=11)
        late = await http.get("/oauth/consent", params={"request": late_rid})
        async with (
            httpx2.AsyncClient(headers=bearer(issued["access_token"]), timeout=30) as authed,
            Client(streamable_http_client(f"{served.base}/mcp", http_client=authed)) as client,
        ):
            me = await ok(client, "whoami")
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=100)
    assert 'option value="carol"' in page and "hivegov:write" in page
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert approved.status_code == 303 and approved.headers["location"].startswith(CALLBACK + "?code=hgc_")
    assert parse_qs(urlsplit(approved.headers["location"]).query)["state"] == ["s1"]
    assert answered_again.status_code == 410
    assert denied.status_code == 303 and error_of(denied.headers["location"]) == "access_denied"
    assert late.status_code == 410
    assert me["id"] == "carol" and me["roles"] == CAST["carol"]
    granted = [e for e in log.events if e.action == "oauth_granted"]
    assert [(e.actor, e.payload["agent"]) for e in granted] == [("root", "carol")]


async def test_the_grants_page_lists_an_agents_clients_and_revokes_one(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        issued = (
            await redeem(http, client_id, await approved_code(served.service, served, client_id, "v" * 50), "v" * 50)
        ).json()
        rid = await consent_request(http, client_id)  # signs in as bob on the consent page: the session
        await sign_in_on_consent(http, rid, tokens["bob"])
        page = await http.get("/oauth/grants")
        grant_id = re.findall(r'data-id="([0-9a-f]+)"', page.text)
        forged = await http.post(f"/oauth/grants/{grant_id[0]}/revoke", data={"csrf": "nope"})
        revoked = await http.post(f"/oauth/grants/{grant_id[0]}/revoke", data={"csrf": hidden(page.text, "csrf")})
        after = await http.get("/oauth/grants")
        access = await tools_status(http, issued["access_token"])
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=100)
    assert page.status_code == 200 and "by hand" in page.text and len(grant_id) == 1
    assert forged.status_code == 403
    assert revoked.status_code == 303 and "No client is connected" in after.text
    assert access == 401
    revocations = [(e.actor, e.payload["reason"]) for e in log.events if e.action == "oauth_revoked"]
    assert revocations == [("bob", "revoked on the grants page")]


async def _dashboard_home(http: httpx2.AsyncClient, token: str) -> str:
    nonce = hidden((await http.get("/login")).text, "csrf")
    signed = await http.post("/login", data={"token": token, "csrf": nonce})
    assert signed.status_code == 303, signed.text
    return (await http.get("/")).text


async def test_the_dashboard_links_connected_clients_only_when_oauth_is_on(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        with_oauth = await _dashboard_home(http, tokens["bob"])
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        # Plain http on a name that isn't loopback: no OAuth (RFC 8414 wants https), agent tokens only.
        options = HttpOptions(host="0.0.0.0", allowed_hosts=["gov.example.org"], tick_seconds=0)
        transport = httpx2.ASGITransport(app=build_http_app(service, options))
        async with httpx2.AsyncClient(transport=transport, base_url="http://gov.example.org") as http:
            without = await _dashboard_home(http, tokens["bob"])
    assert '<a href="/oauth/grants">Clients</a>' in with_oauth
    assert 'href="/metrics"' in without and "/oauth/grants" not in without


async def test_the_consent_page_says_read_only_unless_write_is_offered_and_how_long_a_grant_lasts(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        both = await consent_request(http, client_id)
        await sign_in_on_consent(http, both, tokens["alice"])
        both_page = (await http.get("/oauth/consent", params={"request": both})).text
        started = await http.get("/authorize", params=authorize_query(client_id, scope=READ))
        read = parse_qs(urlsplit(started.headers["location"]).query)["request"][0]
        read_page = (await http.get("/oauth/consent", params={"request": read})).text
    acts = re.compile(r'<p id="acts">(.*?)</p>', re.S)
    both_acts, read_acts = acts.search(both_page), acts.search(read_page)
    assert both_acts is not None and read_acts is not None
    assert "with that agent's roles (discussant, proposer)" in both_acts.group(1)
    assert "read only if not" in both_acts.group(1)
    assert "roles" not in read_acts.group(1) and "read only" in read_acts.group(1)
    assert "lasts until it is revoked" in both_page and "renews itself while the client is used" in both_page


async def test_only_an_admin_may_approve_or_revoke_for_another_agent_and_the_page_says_so(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        await approved_code(served.service, served, client_id, "v" * 50, agent="bob")
        rid = await consent_request(http, client_id)
        csrf = await sign_in_on_consent(http, rid, tokens["alice"])
        approved = await http.post(
            "/oauth/consent",
            data={"request": rid, "csrf": csrf, "decision": "approve", "agent": "bob", "scope": [READ]},
        )
        alice = next(a for a in (await served.service.list_agents(LOCAL_ADMIN)).agents if a.id == "alice")
        [bobs] = await served.service.list_oauth_grants(
            next(a for a in (await served.service.list_agents(LOCAL_ADMIN)).agents if a.id == "bob")
        )
        with pytest.raises(PermissionDenied, match="only an admin may approve or revoke for another agent"):
            await served.service.revoke_oauth_grant(alice, bobs.grant.id)
    assert approved.status_code == 403
    assert "only an admin may approve or revoke for another agent" in approved.text


async def test_deactivating_an_agent_revokes_its_grants_so_reactivating_it_gives_none_back(
    db_path: Path, clock: FakeClock, tokens: dict[str, str]
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        issued = (
            await redeem(http, client_id, await approved_code(served.service, served, client_id, "v" * 50), "v" * 50)
        ).json()
        await served.service.deactivate_agent(LOCAL_ADMIN, "bob")
        await served.service.activate_agent(LOCAL_ADMIN, "bob")
        access = await tools_status(http, issued["access_token"])
        refreshed = await http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": issued["refresh_token"], "client_id": client_id},
        )
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=100)
        verified = await served.service.verify_audit(LOCAL_ADMIN)
    assert access == 401 and refreshed.status_code == 400
    revoked = [(e.actor, e.payload["agent"], e.payload["reason"]) for e in log.events if e.action == "oauth_revoked"]
    assert revoked == [(LOCAL_ADMIN.id, "bob", "agent deactivated")]
    assert verified.ok
