"""The HTTP server as its own OAuth 2.1 authorization server for remote MCP clients (DESIGN §21),
beside the resource server at `/mcp`: the MCP SDK's routes and handlers (`mcp.server.auth`) over
`GovernanceAuthProvider`, which keeps everything in the database through the service.

    /.well-known/oauth-protected-resource/mcp  RFC 9728: the resource, this authorization server
    /.well-known/oauth-authorization-server    RFC 8414 metadata (PKCE S256 only)
    /register                                  RFC 7591 dynamic client registration; or a client
                                               ID metadata document: an https URL as client_id,
                                               its metadata read from that URL (`fetch_client_document`)
    /authorize                                 checks the client, its exact redirect URI, PKCE and
                                               the resource, then sends the browser to the consent
                                               page (hivegov_mcp.http.oauth_pages)
    /token                                     codes (once, PKCE-checked by the SDK) and refresh
                                               tokens (rotated) for tokens bound to the resource
    /revoke                                    RFC 7009: revokes the token's whole grant

The routes themselves are assembled in `oauth_routes.py`. Operator-issued agent tokens keep
working beside OAuth access tokens: the MCP endpoint's verifier
(hivegov_mcp.mcp.server.AgentTokenVerifier) accepts both.

The SDK's handlers compare expiry times with the wall clock; the service decides with its own
(an injected clock in tests), so the times handed to them are the service's, moved onto the
wall clock (`_wall`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import anyio
import httpx2
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.server.auth.routes import (
    validate_issuer_url,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl, AnyUrl, ValidationError

from hivegov_mcp.domain.oauth import MAX_NEW_CLIENTS_PER_HOUR, SCOPES, IssuedTokens, granted_scopes
from hivegov_mcp.service import GovernanceService

log = logging.getLogger(__name__)

CONSENT_PATH = "/oauth/consent"
METADATA_PATH = "/.well-known/oauth-authorization-server"
DOCUMENT_SECONDS = 5.0  # fetching a client ID metadata document
MAX_DOCUMENT_BYTES = 64 * 1024
DOCUMENT_KEPT = timedelta(minutes=10)  # a fetched document is used this long before it is read again
CONSENT_LIFETIME = timedelta(minutes=10)  # from /authorize to the person's answer
MAX_PENDING = 1_000  # requests waiting for an answer (each a few hundred bytes: ids, not documents)
MAX_STATE = 1_000  # characters of a client's `state`, kept while its request waits
MAX_REGISTRATION_BYTES = 16 * 1024  # a /register body (RFC 7591 metadata)
MAX_CLIENT_NAME = 200  # characters
MAX_REDIRECT_URIS = 10
MAX_URI = 2_000  # characters of a redirect URI (or another URI of the client's metadata)
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256, unpadded
LOOPBACK = ("localhost", "127.0.0.1", "::1")
TOO_MANY_CLIENTS = (
    f"this server has registered {MAX_NEW_CLIENTS_PER_HOUR} new clients in the last hour, its limit: try again later"
)


@dataclass
class ConsentRequest:
    """An authorization request waiting for a person's answer on the consent page: ids and the
    request's parameters only (the client's metadata is read again to show it)."""

    client_id: str
    params: AuthorizationParams
    resource: str
    scopes: list[str]  # offered: what the client asked for, of what this server knows
    opened: datetime


@dataclass
class ConsentRequests:
    """Authorization requests between /authorize and the consent page's answer, by a random id,
    in this process's memory; each is answered once, within CONSENT_LIFETIME. At most
    MAX_PENDING wait: the expired go first, then the oldest."""

    _by_id: dict[str, ConsentRequest] = field(default_factory=dict)

    def open(self, request: ConsentRequest) -> str:
        while self._by_id:  # opened in order: the expired are at the front
            rid, oldest = next(iter(self._by_id.items()))
            if request.opened - oldest.opened < CONSENT_LIFETIME and len(self._by_id) < MAX_PENDING:
                break
            del self._by_id[rid]
        rid = secrets.token_urlsafe(24)
        self._by_id[rid] = request
        return rid

    def get(self, rid: str, now: datetime) -> ConsentRequest | None:
        found = self._by_id.get(rid)
        if found is not None and now - found.opened >= CONSENT_LIFETIME:
            del self._by_id[rid]
            return None
        return found

    def take(self, rid: str) -> None:
        self._by_id.pop(rid, None)

    def __len__(self) -> int:
        return len(self._by_id)


# An app's own redirect scheme (RFC 8252 §7.1) is a reverse domain name it controls (it has a
# dot: `com.example.app:/cb`); these desktop clients' well-known schemes are taken besides. Any
# other scheme without a dot is refused: it may be one the system hands to another program
# (`ms-word:`, `search-ms:`, `mailto:`) or the browser itself (`javascript:`, `view-source:`).
APP_SCHEMES = frozenset({"cursor", "vscode", "vscode-insiders", "claude", "windsurf", "zed"})
APP_SCHEME = re.compile(r"[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+")


def _redirect_uri_allowed(uri: str) -> bool:
    """https anywhere; http only back to this machine (a desktop client's loopback listener); or
    an app's own scheme (RFC 8252 §7.1: `com.example.app:/cb`, or a known client's: `cursor://…`).
    No fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if parts.fragment or not scheme:
        return False
    if scheme == "http":
        return (parts.hostname or "") in LOOPBACK
    return scheme == "https" or scheme in APP_SCHEMES or APP_SCHEME.fullmatch(scheme) is not None


HOST_NAME = re.compile(r"[a-z0-9.:-]{1,253}")  # a name's letters (lowercased by urlsplit), or an address's
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address, translated


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address on the internet: global, and so is the IPv4 address inside it when it carries
    one (IPv4-mapped, 6to4, NAT64: `64:ff9b::7f00:1` is 127.0.0.1 through a translator)."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return inner.is_global
    return True


def metadata_problem(client: OAuthClientInformationFull) -> str | None:
    """What is wrong with a client's metadata (registered, or read from its document), or None:
    its redirect URIs (at least one, at most MAX_REDIRECT_URIS, each allowed) and its sizes."""
    uris = [str(u) for u in client.redirect_uris or []]
    if not uris:
        return "give at least one redirect URI"
    if len(uris) > MAX_REDIRECT_URIS:
        return f"{len(uris)} redirect URIs: the limit is {MAX_REDIRECT_URIS}"
    long = [u for u in (*uris, *map(str, filter(None, _other_uris(client)))) if len(u) > MAX_URI]
    if long:
        return f"a URI of {len(long[0]):,} characters: the limit is {MAX_URI:,}"
    if client.client_name is not None and len(client.client_name) > MAX_CLIENT_NAME:
        return f"client_name is {len(client.client_name):,} characters: the limit is {MAX_CLIENT_NAME}"
    refused = [u for u in uris if not _redirect_uri_allowed(u)]
    if refused:
        return (
            f"{', '.join(refused)}: a redirect URI is https://, http:// to this machine (localhost), "
            "or an app's own scheme (a reverse domain name, com.example.app:/callback)"
        )
    return None


def _other_uris(client: OAuthClientInformationFull) -> tuple[object, ...]:
    return (client.client_uri, client.logo_uri, client.tos_uri, client.policy_uri, client.jwks_uri)


class DocumentRefused(Exception):
    """A client ID metadata document that can't be used (why, for the log)."""


def is_metadata_url(client_id: str) -> bool:
    """A client ID that is a client ID metadata document's URL: https, a host that is a name or a
    public address, a path, no fragment, no credentials, no dot segments. Malformed: not one."""
    try:
        parts = urlsplit(client_id)
        _ = parts.port  # a port out of range, or not a number, raises too
    except ValueError:  # e.g. an unclosed IPv6 bracket: an unknown client, not an error
        return False
    if parts.scheme != "https" or not parts.hostname or parts.path in ("", "/") or parts.fragment:
        return False
    if parts.username or parts.password or any(seg in (".", "..") for seg in parts.path.split("/")):
        return False
    if not HOST_NAME.fullmatch(parts.hostname):
        return False
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return parts.hostname != "localhost"
    return is_public(address)


async def fetch_client_document(url: str) -> bytes:
    """GET a client ID metadata document: from a host whose addresses are all public (no request
    into the server's own network on a stranger's say-so), no redirects, at most DOCUMENT_SECONDS
    and MAX_DOCUMENT_BYTES."""
    host = urlsplit(url).hostname or ""
    with anyio.fail_after(DOCUMENT_SECONDS):
        found = await anyio.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    if not found or any(not is_public(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in found):
        raise DocumentRefused(f"{host} resolves to an address that is not public")
    async with (
        httpx2.AsyncClient(timeout=DOCUMENT_SECONDS, follow_redirects=False) as http,
        http.stream("GET", url, headers={"Accept": "application/json"}) as response,
    ):
        if response.status_code != 200:
            raise DocumentRefused(f"it answered {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise DocumentRefused(f"it is larger than {MAX_DOCUMENT_BYTES // 1024} KiB")
        return bytes(body)


class GovernanceAuthProvider(OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]):
    def __init__(self, service: GovernanceService, *, issuer: str, resource: str, consents: ConsentRequests) -> None:
        self.service = service
        self.issuer = issuer
        self.resource = resource
        self.consents = consents
        self._documents: dict[str, tuple[OAuthClientInformationFull, datetime]] = {}

    def _wall(self, at: datetime) -> float:
        return time.time() + (at - self.service.clock.now()).total_seconds()

    # -- clients ---------------------------------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if is_metadata_url(client_id):
            return await self._client_document(client_id)
        info = await self.service.oauth_client(client_id)
        return None if info is None else OAuthClientInformationFull.model_validate_json(info)

    async def _client_document(self, url: str) -> OAuthClientInformationFull | None:
        """The client whose id is this URL, from the metadata document there (kept DOCUMENT_KEPT,
        and recorded, so that its grants name a known client); None when it can't be used."""
        now = self.service.clock.now()
        kept = self._documents.get(url)
        if kept is not None and now - kept[1] < DOCUMENT_KEPT:
            return kept[0]
        try:
            raw = await fetch_client_document(url)
            client = OAuthClientInformationFull.model_validate(json.loads(raw))
            if client.client_id != url:
                raise DocumentRefused(f"its client_id is {client.client_id!r}, not its own URL")
            problem = metadata_problem(client)
            if problem is not None:
                raise DocumentRefused(problem)
            if client.client_secret is not None or client.token_endpoint_auth_method not in (None, "none"):
                raise DocumentRefused("a client known by its metadata document is public: no secret")
        except (
            DocumentRefused,
            httpx2.HTTPError,
            httpx2.InvalidURL,
            OSError,
            TimeoutError,
            ValueError,
            ValidationError,
        ) as exc:
            log.warning("client ID metadata document %r refused: %r", url, str(exc))  # %r: no line forged
            return None
        scope = client.scope or " ".join(SCOPES)  # none named: those a registration gets by default
        client = client.model_copy(update={"token_endpoint_auth_method": "none", "scope": scope})
        if not await self.service.register_oauth_client(url, client.model_dump_json()):
            log.warning("client ID metadata document %r refused: %s", url, TOO_MANY_CLIENTS)
            return None
        if len(self._documents) >= MAX_PENDING:
            self._documents.pop(next(iter(self._documents)))
        self._documents[url] = (client, now)
        return client

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        problem = metadata_problem(client_info)
        if problem is not None:
            uri_problem = not client_info.redirect_uris or "redirect URI" in problem
            raise RegistrationError("invalid_redirect_uri" if uri_problem else "invalid_client_metadata", problem)
        assert client_info.client_id is not None  # the SDK's handler assigns it
        if not await self.service.register_oauth_client(client_info.client_id, client_info.model_dump_json()):
            raise RegistrationError("invalid_client_metadata", TOO_MANY_CLIENTS)

    # -- authorization ---------------------------------------------------------------------------
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        """The SDK checked the client, the redirect URI (exactly one it registered) and the
        scopes; this checks PKCE and the resource, then sends the browser to the consent page."""
        if not S256_CHALLENGE.fullmatch(params.code_challenge):
            raise AuthorizeError(
                "invalid_request", "code_challenge must be an S256 challenge (43 base64url characters)"
            )
        resource = params.resource or self.resource
        if resource.rstrip("/") != self.resource.rstrip("/"):
            raise AuthorizeError("invalid_target", f"this server issues tokens for {self.resource} only")
        offered = granted_scopes(params.scopes)
        if not offered:
            raise AuthorizeError("invalid_scope", f"the scopes are {', '.join(SCOPES)}")
        if params.state is not None and len(params.state) > MAX_STATE:
            raise AuthorizeError("invalid_request", f"state is longer than {MAX_STATE:,} characters")
        assert client.client_id is not None  # the SDK found the client by it
        rid = self.consents.open(
            ConsentRequest(client.client_id, params, self.resource, offered, opened=self.service.clock.now())
        )
        return f"{self.issuer}{CONSENT_PATH}?request={rid}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        found = await self.service.oauth_code(authorization_code)
        if found is None or found.grant.client_id != client.client_id:
            return None
        return AuthorizationCode(
            code=authorization_code,
            scopes=list(found.grant.scopes),
            expires_at=self._wall(found.expires_at),
            client_id=found.grant.client_id,
            code_challenge=found.code_challenge,
            redirect_uri=AnyUrl(found.redirect_uri),
            redirect_uri_provided_explicitly=found.redirect_uri_explicit,
            resource=found.grant.resource,
            subject=found.grant.agent_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        return _token(await self.service.redeem_oauth_code(authorization_code.code), "authorization code")

    # -- tokens ----------------------------------------------------------------------------------
    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        found = await self.service.oauth_refresh_token(refresh_token)
        if found is None or found.grant.client_id != client.client_id:
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=found.grant.client_id,
            scopes=list(found.grant.scopes),
            expires_at=int(self._wall(found.expires_at)),
            resource=found.grant.resource,
            subject=found.grant.agent_id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        return _token(await self.service.rotate_oauth_refresh(refresh_token.token), "refresh token")

    async def load_access_token(self, token: str) -> AccessToken | None:
        found = await self.service.oauth_access_token(token)
        if found is None:
            return None
        return AccessToken(
            token=token,
            client_id=found.grant.client_id,
            scopes=list(found.grant.scopes),
            expires_at=int(self._wall(found.expires_at)),
            resource=found.grant.resource,
            subject=found.grant.agent_id,
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        await self.service.revoke_oauth(token.token)


def _token(issued: IssuedTokens | None, what: str) -> OAuthToken:
    if issued is None:
        raise TokenError("invalid_grant", f"the {what} is unknown, expired, revoked or used already")
    return OAuthToken(
        access_token=issued.access_token,
        token_type="Bearer",
        expires_in=issued.expires_in,
        scope=" ".join(issued.scopes),
        refresh_token=issued.refresh_token,
    )


def oauth_available(issuer: str) -> bool:
    """OAuth needs an https issuer, or a loopback one (RFC 8414; the SDK's rule)."""
    try:
        validate_issuer_url(AnyHttpUrl(issuer))
    except ValueError:
        return False
    return True
