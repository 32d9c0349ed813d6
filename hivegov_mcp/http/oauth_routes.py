"""The authorization server's routes (DESIGN §21): the SDK's metadata, registration, authorize,
token and revocation handlers over `GovernanceAuthProvider` (oauth.py), with this server's
bounds on registration and a revocation that public clients (PKCE, no secret) can use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mcp.server.auth.errors import stringify_pydantic_error
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.provider import (
    AccessToken,
    RefreshToken,
)
from mcp.server.auth.routes import (
    REGISTRATION_PATH,
    REVOCATION_PATH,
    build_metadata,
    cors_middleware,
    create_auth_routes,
    create_protected_resource_routes,
)
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from pydantic import AnyHttpUrl, BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from hivegov_mcp.domain.oauth import SCOPES
from hivegov_mcp.http.oauth import MAX_REGISTRATION_BYTES, METADATA_PATH, GovernanceAuthProvider


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description}, status, headers={"Cache-Control": "no-store"}
    )


def _replayed(request: Request, body: bytes) -> Request:
    """The request again, its body (read already) given once more to whoever reads it."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


@dataclass
class Registration:
    """/register: the SDK's handler (RFC 7591), given only a JSON body (`Content-Type:
    application/json`: a page on another site can't send one without a CORS preflight) of at most
    MAX_REGISTRATION_BYTES."""

    handler: RegistrationHandler

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return await self.handler.handle(request)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return _oauth_error(415, "invalid_client_metadata", "send the client metadata as application/json")
        declared = request.headers.get("content-length", "")
        too_large = f"the client metadata is larger than {MAX_REGISTRATION_BYTES // 1024} KiB, the limit"
        if declared.isdigit() and int(declared) > MAX_REGISTRATION_BYTES:
            return _oauth_error(413, "invalid_client_metadata", too_large)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REGISTRATION_BYTES:
                return _oauth_error(413, "invalid_client_metadata", too_large)
        return await self.handler.handle(_replayed(request, bytes(body)))


class RevocationForm(BaseModel):
    """RFC 7009 §2.1; the secret only from a client that has one (the SDK's form requires it)."""

    token: str
    token_type_hint: Literal["access_token", "refresh_token"] | None = None
    client_id: str
    client_secret: str | None = None


@dataclass
class Revocation:
    """/revoke (RFC 7009) as the SDK's handler does it, for public clients too (registered with
    `token_endpoint_auth_method` none: no secret to send), as the metadata says."""

    provider: GovernanceAuthProvider
    authenticator: ClientAuthenticator

    async def handle(self, request: Request) -> Response:
        try:
            client = await self.authenticator.authenticate_request(request)
        except AuthenticationError as exc:
            return _oauth_error(401, "invalid_client", exc.message)
        try:
            form = RevocationForm.model_validate(dict(await request.form()))
        except ValidationError as exc:
            return _oauth_error(400, "invalid_request", stringify_pydantic_error(exc))
        token: AccessToken | RefreshToken | None = await self.provider.load_access_token(form.token)
        if token is None:
            token = await self.provider.load_refresh_token(client, form.token)
        if token is not None and token.client_id == client.client_id:  # another client's: as unknown
            await self.provider.revoke_token(token)
        return Response(status_code=200, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


AUTH_METHODS = ["client_secret_post", "client_secret_basic", "none"]  # none: a public client (PKCE)


def oauth_routes(provider: GovernanceAuthProvider) -> list[Route]:
    """The authorization server's routes and the resource's RFC 9728 metadata naming it. The
    SDK's metadata, saying also that client ID metadata documents and public clients (no secret,
    at /token and /revoke) are supported; the SDK's routes, /register and /revoke in front of or
    instead of its handlers."""
    scopes = list(SCOPES)
    issuer = AnyHttpUrl(provider.issuer)
    registration = ClientRegistrationOptions(enabled=True, valid_scopes=scopes, default_scopes=scopes)
    revocation = RevocationOptions(enabled=True)
    metadata = build_metadata(issuer, None, registration, revocation)
    metadata.client_id_metadata_document_supported = True
    metadata.token_endpoint_auth_methods_supported = AUTH_METHODS
    metadata.revocation_endpoint_auth_methods_supported = AUTH_METHODS
    mine = {
        METADATA_PATH: cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
        REGISTRATION_PATH: cors_middleware(
            Registration(RegistrationHandler(provider, registration)).handle, ["POST", "OPTIONS"]
        ),
        REVOCATION_PATH: cors_middleware(
            Revocation(provider, ClientAuthenticator(provider)).handle, ["POST", "OPTIONS"]
        ),
    }
    routes = create_auth_routes(
        provider, issuer, client_registration_options=registration, revocation_options=revocation
    )
    return [
        *(
            Route(route.path, endpoint=mine[route.path], methods=sorted(route.methods or ()))
            if route.path in mine
            else route
            for route in routes
        ),
        *create_protected_resource_routes(
            AnyHttpUrl(provider.resource),
            [AnyHttpUrl(provider.issuer)],
            scopes_supported=scopes,
            resource_name="hivegov",
        ),
    ]
