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
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.oauth import READ, WRITE
from hivegov_mcp.settings import Settings
from tests.conftest import CAST
from tests.http_helpers import bearer, serve
from tests.mcp_helpers import ok
from tests.oauth_helpers import (
    CALLBACK,
    approved_code,
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
