"""Client ID metadata documents (DESIGN §21): a client named by the https URL of its metadata,
read by the server (a stand-in for the client's web server in tests: no network), through the
whole flow with the SDK's client; the documents and URLs refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from hivegov_mcp.app import open_service
from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.http import oauth
from hivegov_mcp.settings import Settings
from tests.conftest import CAST
from tests.http_helpers import serve
from tests.oauth_helpers import CALLBACK, authorize_query, connect

pytestmark = pytest.mark.anyio


@pytest.fixture
async def tokens(db_path: Path, clock: FakeClock) -> dict[str, str]:
    async with open_service(Settings(db=db_path, clock=clock)) as service:
        return {name: (await service.register_agent(LOCAL_ADMIN, name, roles)).token for name, roles in CAST.items()}


DOCUMENT_URL = "https://client.example/oauth/hivegov-client.json"


def document(**changes: Any) -> dict[str, Any]:
    """A client ID metadata document served at DOCUMENT_URL."""
    return {
        "client_id": DOCUMENT_URL,
        "client_name": "Documented connector",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
    } | changes


async def test_a_client_known_by_its_metadata_document_connects_without_registering(
    db_path: Path, clock: FakeClock, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:  # the client's web server (no network in tests)
        fetched.append(url)
        return json.dumps(document()).encode()

    monkeypatch.setattr(oauth, "fetch_client_document", fetch)
    async with serve(db_path, clock=clock) as served:
        async with httpx2.AsyncClient(base_url=served.base) as http:
            metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
        seen = await connect(served, tokens["alice"], client_metadata_url=DOCUMENT_URL)
        log = await served.service.get_audit_log(LOCAL_ADMIN, limit=100)
    assert metadata["client_id_metadata_document_supported"] is True
    assert seen.results["whoami"]["id"] == "alice"
    assert seen.storage.client_info is not None and seen.storage.client_info.client_id == DOCUMENT_URL
    assert "Documented connector" in seen.consent_text[0] and DOCUMENT_URL in seen.consent_text[0]
    assert set(fetched) == {DOCUMENT_URL}
    assert [e.payload["client_id"] for e in log.events if e.action == "oauth_granted"] == [DOCUMENT_URL]


@pytest.mark.parametrize(
    "served_document",
    [
        document(client_id="https://client.example/someone-else.json"),
        document(redirect_uris=["http://attacker.example/callback"]),
        document(token_endpoint_auth_method="client_secret_post", client_secret="s"),
    ],
    ids=["another client_id", "http redirect elsewhere", "a secret"],
)
async def test_a_metadata_document_that_does_not_describe_a_public_client_at_its_own_url_is_refused(
    db_path: Path,
    clock: FakeClock,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    served_document: dict[str, Any],
) -> None:
    async def fetch(url: str) -> bytes:
        return json.dumps(served_document).encode()

    monkeypatch.setattr(oauth, "fetch_client_document", fetch)
    async with serve(db_path, clock=clock) as served, httpx2.AsyncClient(base_url=served.base) as http:
        refused = await http.get("/authorize", params=authorize_query(DOCUMENT_URL))
    assert refused.status_code == 400 and "not found" in refused.json()["error_description"]


def test_only_https_urls_with_a_path_on_a_public_host_are_metadata_document_ids() -> None:
    assert oauth.is_metadata_url(DOCUMENT_URL)
    for not_one in (
        "http://client.example/doc.json",
        "https://client.example/",
        "https://localhost/doc.json",
        "https://127.0.0.1/doc.json",
        "https://10.0.0.8/doc.json",
        "https://user:pw@client.example/doc.json",
        "https://client.example/a/../doc.json",
        "https://client.example/doc.json#x",
        "b6f5c1e2-uuid-like",
    ):
        assert not oauth.is_metadata_url(not_one), not_one


async def test_a_metadata_document_is_not_fetched_from_a_host_that_resolves_into_a_private_network() -> None:
    with pytest.raises(oauth.DocumentRefused, match="not public"):
        await oauth.fetch_client_document("https://localhost/oauth/client.json")
