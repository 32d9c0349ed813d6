"""The HTTP server as its own OAuth 2.1 authorization server for remote MCP clients (DESIGN §21),
beside the resource server at `/mcp`: the MCP SDK's routes and handlers (`mcp.server.auth`) over
`GovernanceAuthProvider`, which keeps everything in the database through the service.

    /.well-known/oauth-protected-resource/mcp  RFC 9728: the resource, this authorization server
    /.well-known/oauth-authorization-server    RFC 8414 metadata (PKCE S256 only)
    /register                                  RFC 7591 dynamic client registration
    /authorize                                 checks the client, its exact redirect URI, PKCE and
                                               the resource, then sends the browser to the consent
                                               page (hivegov_mcp.http.oauth_pages)
    /token                                     codes (once, PKCE-checked by the SDK) and refresh
                                               tokens (rotated) for tokens bound to the resource
    /revoke                                    RFC 7009: revokes the token's whole grant

Operator-issued agent tokens keep working beside OAuth access tokens: the MCP endpoint's
verifier (hivegov_mcp.mcp.server.AgentTokenVerifier) accepts both.

The SDK's handlers compare expiry times with the wall clock; the service decides with its own
(an injected clock in tests), so the times handed to them are the service's, moved onto the
wall clock (`_wall`).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

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
from mcp.server.auth.routes import create_auth_routes, create_protected_resource_routes, validate_issuer_url
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl, AnyUrl
from starlette.routing import Route

from hivegov_mcp.domain.oauth import SCOPES, IssuedTokens, granted_scopes
from hivegov_mcp.service import GovernanceService

CONSENT_PATH = "/oauth/consent"
CONSENT_LIFETIME = timedelta(minutes=10)  # from /authorize to the person's answer
MAX_PENDING = 10_000
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256, unpadded
LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass
class ConsentRequest:
    """An authorization request waiting for a person's answer on the consent page."""

    client: OAuthClientInformationFull
    params: AuthorizationParams
    resource: str
    scopes: list[str]  # offered: what the client asked for, of what this server knows
    opened: datetime


@dataclass
class ConsentRequests:
    """Authorization requests between /authorize and the consent page's answer, by a random id,
    in this process's memory; each is answered once, within CONSENT_LIFETIME."""

    _by_id: dict[str, ConsentRequest] = field(default_factory=dict)

    def open(self, request: ConsentRequest) -> str:
        if len(self._by_id) >= MAX_PENDING:
            self._by_id.pop(next(iter(self._by_id)))
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


def _redirect_uri_allowed(uri: str) -> bool:
    """https anywhere; http only back to this machine (a desktop client's loopback listener)."""
    parts = urlsplit(uri)
    if parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in LOOPBACK)


class GovernanceAuthProvider(OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]):
    def __init__(self, service: GovernanceService, *, issuer: str, resource: str, consents: ConsentRequests) -> None:
        self.service = service
        self.issuer = issuer
        self.resource = resource
        self.consents = consents

    def _wall(self, at: datetime) -> float:
        return time.time() + (at - self.service.clock.now()).total_seconds()

    # -- clients ---------------------------------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        info = await self.service.oauth_client(client_id)
        return None if info is None else OAuthClientInformationFull.model_validate_json(info)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        uris = [str(u) for u in client_info.redirect_uris or []]
        if not uris:
            raise RegistrationError("invalid_redirect_uri", "give at least one redirect URI")
        refused = [u for u in uris if not _redirect_uri_allowed(u)]
        if refused:
            raise RegistrationError(
                "invalid_redirect_uri",
                f"{', '.join(refused)}: a redirect URI is https://, or http:// to this machine (localhost)",
            )
        assert client_info.client_id is not None  # the SDK's handler assigns it
        await self.service.register_oauth_client(client_info.client_id, client_info.model_dump_json())

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
        rid = self.consents.open(
            ConsentRequest(client, params, self.resource, offered, opened=self.service.clock.now())
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


def oauth_routes(provider: GovernanceAuthProvider) -> list[Route]:
    """The authorization server's routes and the resource's RFC 9728 metadata naming it."""
    scopes = list(SCOPES)
    return [
        *create_auth_routes(
            provider,
            AnyHttpUrl(provider.issuer),
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=scopes, default_scopes=scopes
            ),
            revocation_options=RevocationOptions(enabled=True),
        ),
        *create_protected_resource_routes(
            AnyHttpUrl(provider.resource),
            [AnyHttpUrl(provider.issuer)],
            scopes_supported=scopes,
            resource_name="hivegov",
        ),
    ]
