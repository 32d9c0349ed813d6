"""What the OAuth tests share: the SDK's OAuth client driven through the consent page in headless
Chromium (`connect`), and the flow by hand for the refusals (register, authorize, a code as the
consent page grants it, redeem, refresh, the consent page's own sign-in)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from playwright.async_api import Route, async_playwright
from pydantic import AnyUrl

from hivegov_mcp.domain.identity import LOCAL_ADMIN
from hivegov_mcp.domain.oauth import READ, WRITE
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL
from tests.http_helpers import Served, bearer
from tests.mcp_helpers import ok

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CALLBACK = "http://localhost:3030/callback"  # the client's loopback redirect URI (answered by the test's browser)
HELLO = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


class MemoryStorage:
    """The client's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def challenge_of(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@dataclass
class Connection:
    """What one run of the SDK's OAuth client through the consent page saw and did."""

    storage: MemoryStorage = field(default_factory=MemoryStorage)
    sent_to: list[str] = field(default_factory=list)  # where the client sent the browser
    landed: list[str] = field(default_factory=list)  # where the browser came back to (the redirect URI)
    consent_text: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the page's script errors
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


async def connect(served: Served, token: str, *, client_metadata_url: str | None = None) -> Connection:
    """The SDK's OAuthClientProvider against the server; the person's part scripted in headless
    Chromium (open the authorization URL, sign in with `token`, approve); then whoami and
    create_proposal over Streamable HTTP with the tokens it got."""
    seen = Connection()
    arrived = anyio.Event()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        page = await browser.new_page()
        page.on("pageerror", lambda e: seen.problems.append(str(e)))

        async def callback(route: Route) -> None:  # the client's redirect URI: note where the browser landed
            seen.landed.append(route.request.url)
            arrived.set()
            await route.fulfill(status=200, content_type="text/html", body="<p>You may close this window.</p>")

        await page.route(f"{CALLBACK}*", callback)

        async def redirect_handler(url: str) -> None:
            seen.sent_to.append(url)

        async def callback_handler() -> AuthorizationCodeResult:
            await page.goto(seen.sent_to[-1])
            await page.fill("input[name=token]", token)
            await page.click("button:has-text('Sign in')")
            await page.wait_for_selector("button:has-text('Approve')")
            seen.consent_text.append(await page.inner_text("main"))
            await page.click("button:has-text('Approve')")
            with anyio.fail_after(10):
                await arrived.wait()  # the browser's redirect, through the route above
            query = parse_qs(urlsplit(seen.landed[-1]).query)
            return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0], iss=query["iss"][0])

        auth = OAuthClientProvider(
            f"{served.base}/mcp",
            OAuthClientMetadata(client_name="Test connector", redirect_uris=[AnyUrl(CALLBACK)]),
            seen.storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
            client_metadata_url=client_metadata_url,
        )
        async with (
            httpx2.AsyncClient(auth=auth, timeout=30) as http,
            Client(streamable_http_client(f"{served.base}/mcp", http_client=http)) as client,
        ):
            seen.results["whoami"] = await ok(client, "whoami")
            seen.results["create_proposal"] = await ok(client, "create_proposal", **PROPOSAL)
        await browser.close()
    return seen


@asynccontextmanager
async def client_of(served: Served) -> AsyncIterator[tuple[httpx2.AsyncClient, str]]:
    """A plain HTTP client and a public client registered at the server (its client_id)."""
    async with httpx2.AsyncClient(base_url=served.base, timeout=30) as http:
        registered = await http.post(
            "/register",
            json={"client_name": "by hand", "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none"},
        )
        assert registered.status_code == 201, registered.text
        yield http, registered.json()["client_id"]


def authorize_query(client_id: str, **changes: str | None) -> dict[str, str]:
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "code_challenge": challenge_of("v" * 50),
        "code_challenge_method": "S256",
        "state": "s1",
        "resource": None,
    }
    query.update(changes)
    return {k: v for k, v in query.items() if v is not None}


async def approved_code(
    service: GovernanceService, served: Served, client_id: str, verifier: str, *, agent: str = "bob"
) -> str:
    """A code as the consent page grants it (the service's operation behind its Approve button)."""
    actor = next(a for a in (await service.list_agents(LOCAL_ADMIN)).agents if a.id == agent)
    return await service.grant_oauth(
        actor,
        agent_id=agent,
        client_id=client_id,
        client_name="by hand",
        scopes=[READ, WRITE],
        resource=f"{served.base}/mcp",
        redirect_uri=CALLBACK,
        redirect_uri_explicit=True,
        code_challenge=challenge_of(verifier),
    )


async def redeem(http: httpx2.AsyncClient, client_id: str, code: str, verifier: str) -> httpx2.Response:
    return await http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )


async def refresh(http: httpx2.AsyncClient, client_id: str, token: str) -> httpx2.Response:
    return await http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    )


async def tools_status(http: httpx2.AsyncClient, token: str, base: str | None = None) -> int:
    url = f"{base}/mcp" if base else "/mcp"
    answer = await http.post(
        url, json=HELLO, headers={**bearer(token), "Accept": "application/json, text/event-stream"}
    )
    return answer.status_code


def error_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["error"][0]


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, page
    return found.group(1)


async def consent_request(http: httpx2.AsyncClient, client_id: str) -> str:
    """Start an authorization: the consent page's request id."""
    started = await http.get("/authorize", params=authorize_query(client_id))
    return parse_qs(urlsplit(started.headers["location"]).query)["request"][0]


async def sign_in_on_consent(http: httpx2.AsyncClient, rid: str, token: str) -> str:
    """Sign in on the consent page's own form; the approval form's CSRF token."""
    page = (await http.get("/oauth/consent", params={"request": rid})).text
    signed = await http.post(
        "/oauth/consent/sign-in", data={"csrf": hidden(page, "csrf"), "request": rid, "token": token}
    )
    assert signed.status_code == 303
    return hidden((await http.get("/oauth/consent", params={"request": rid})).text, "csrf")
