"""The authorization server's bounds and edges (review of issue 20): what /register takes (JSON
only, 16 KiB, field sizes, new clients per hour), what a pending consent keeps (ids, a bounded
number), /revoke for a public client (no secret), malformed client ids (the OAuth error, not a
500), redirect URI schemes (RFC 8252 §7.1), addresses that only look public (NAT64)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.server.auth.provider import AuthorizationParams
from pydantic import AnyUrl

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.http import oauth
from hivegov_mcp.http.oauth import ConsentRequest, ConsentRequests, is_metadata_url, is_public
from hivegov_mcp.service import oauth as service_oauth
from tests.http_helpers import serve
from tests.oauth_helpers import CALLBACK, approved_code, authorize_query, client_of, redeem, refresh

pytestmark = pytest.mark.anyio
PUBLIC = {"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none"}


async def _register(http: httpx2.AsyncClient, **metadata: Any) -> httpx2.Response:
    return await http.post("/register", json=PUBLIC | metadata)


async def test_registration_takes_json_only_within_16_kib_and_field_limits(db_path: Path, clock: FakeClock) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        as_text = await http.post(  # what any web page may send without a CORS preflight
            "/register", content=json.dumps(PUBLIC), headers={"Content-Type": "text/plain"}
        )
        huge = await http.post(
            "/register",
            content=json.dumps(PUBLIC | {"client_name": "x" * 900_000}),
            headers={"Content-Type": "application/json"},
        )
        body = json.dumps(PUBLIC | {"client_name": "y" * 20_000}).encode()

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 1000):
                yield body[start : start + 1000]

        chunked = await http.post(  # no Content-Length: counted as it arrives
            "/register", content=pieces(), headers={"Content-Type": "application/json"}
        )
        long_name = await _register(http, client_name="n" * 201)
        many_uris = await _register(http, redirect_uris=[f"http://localhost:{p}/cb" for p in range(3000, 3011)])
        long_uri = await _register(http, redirect_uris=["https://client.example/" + "p" * 2000])
        fine = await _register(http, client_name="n" * 200, redirect_uris=[CALLBACK] * 10)
    assert as_text.status_code == 415 and "application/json" in as_text.json()["error_description"]
    assert huge.status_code == 413 and "16 KiB" in huge.json()["error_description"]
    assert chunked.status_code == 413
    assert long_name.status_code == 400 and "client_name" in long_name.json()["error_description"]
    assert many_uris.status_code == 400 and "limit is 10" in many_uris.json()["error_description"]
    assert long_uri.status_code == 400 and "limit is 2,000" in long_uri.json()["error_description"]
    assert fine.status_code == 201, fine.text


async def test_new_clients_per_hour_are_capped_with_a_clear_error(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_oauth, "MAX_NEW_CLIENTS_PER_HOUR", 3)
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        first = [(await _register(http)).status_code for _ in range(3)]
        refused = await _register(http)
        clock.advance(minutes=61)
        later = await _register(http)
    assert first == [201, 201, 201]
    assert refused.status_code == 400 and "try again later" in refused.json()["error_description"]
    assert later.status_code == 201


def _request(opened: Any, state: str = "s") -> ConsentRequest:
    params = AuthorizationParams(
        state=state,
        scopes=None,
        code_challenge="c" * 43,
        redirect_uri=AnyUrl(CALLBACK),
        redirect_uri_provided_explicitly=True,
    )
    return ConsentRequest("client", params, "http://127.0.0.1:1/mcp", ["hivegov:read"], opened=opened)


def test_pending_consents_keep_ids_only_and_a_bounded_number(clock: FakeClock) -> None:
    assert "client" not in ConsentRequest.__dataclass_fields__  # the client's id, never its document
    pending = ConsentRequests()
    first = pending.open(_request(clock.now()))
    for _ in range(oauth.MAX_PENDING + 50):
        pending.open(_request(clock.now()))
    assert len(pending) == oauth.MAX_PENDING and pending.get(first, clock.now()) is None  # the oldest went
    clock.advance(minutes=11)
    pending.open(_request(clock.now()))
    assert len(pending) == 1  # the expired are dropped as new ones come


async def test_authorize_refuses_a_huge_state(db_path: Path, clock: FakeClock) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        answer = await http.get("/authorize", params=authorize_query(client_id, state="s" * (oauth.MAX_STATE + 1)))
    assert answer.status_code == 302 and "error=invalid_request" in answer.headers["location"]


async def test_a_public_client_revokes_without_a_secret_and_the_metadata_says_so(
    db_path: Path, clock: FakeClock
) -> None:
    async with serve(db_path, clock=clock) as served, client_of(served) as (http, client_id):
        await served.service.register_agent(LOCAL_ADMIN, "bob", ["voter"])
        issued = (
            await redeem(http, client_id, await approved_code(served.service, served, client_id, "v" * 50), "v" * 50)
        ).json()
        revoked = await http.post("/revoke", data={"token": issued["refresh_token"], "client_id": client_id})
        after = await refresh(http, client_id, issued["refresh_token"])
        unknown = await http.post("/revoke", data={"token": "hgr_nothing", "client_id": "no-such-client"})
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert revoked.status_code == 200, revoked.text
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    assert "none" in metadata["token_endpoint_auth_methods_supported"]
    assert "none" in metadata["revocation_endpoint_auth_methods_supported"]


@pytest.mark.parametrize(
    "malformed",
    ["https://[zz]/x", "https://example.com:99999/x", "https://example.com:abc/x", "https://exa mple.com/x"],
)
def test_a_malformed_url_is_no_metadata_url(malformed: str) -> None:
    assert is_metadata_url(malformed) is False
    assert is_metadata_url("https://client.example:8443/oauth/client.json") is True


async def test_a_malformed_client_id_gets_the_oauth_error_not_a_500(db_path: Path, clock: FakeClock) -> None:
    bad = "https://[::1/x"
    assert is_metadata_url(bad) is False
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        authorize = await http.get("/authorize", params=authorize_query(bad))
        token = await http.post(
            "/token", data={"grant_type": "authorization_code", "code": "x", "client_id": bad, "code_verifier": "v"}
        )
    assert authorize.status_code == 400 and authorize.json()["error"] == "invalid_request"
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", False),  # of 10.0.0.1
        ("64:ff9b::c0a8:101", False),  # of 192.168.1.1
        ("64:ff9b::808:808", True),  # of 8.8.8.8
        ("::ffff:127.0.0.1", False),
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2606:4700::1111", True),
        ("8.8.8.8", True),
        ("169.254.169.254", False),
    ],
)
def test_an_address_that_carries_a_private_ipv4_one_is_not_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
    assert (
        is_metadata_url(f"https://[{address}]/client.json" if ":" in address else f"https://{address}/c.json") is public
    )


@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("com.example.app:/oauth2redirect", True),
        ("cursor://anysphere.cursor-retrieval/oauth/callback", True),
        ("vscode://vscode.github-authentication/did-authenticate", True),
        ("claude://oauth/callback", True),
        ("ms-word:ofe|u|https://attacker.example/x.docx", False),
        ("search-ms:query=invoice&crumb=location:\\\\attacker.example\\share", False),
        ("mailto:someone@example.com", False),
        ("view-source:https://example.com", False),
        ("myapp://callback", False),  # not a reverse domain name, not a known client's
    ],
)
async def test_an_app_redirect_scheme_is_a_reverse_domain_name_or_a_known_clients(
    db_path: Path, clock: FakeClock, uri: str, accepted: bool
) -> None:
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        answer = await _register(http, redirect_uris=[uri])
    assert answer.status_code == (201 if accepted else 400), answer.text
