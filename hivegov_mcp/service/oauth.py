"""OAuth grants (DESIGN §21): what the HTTP server's authorization server stores and checks, each
through the one write path. A consent (`grant_oauth`) and a revocation (`revoke_oauth`) change
state and append their audit event in one transaction; registering a client, redeeming a code and
rotating a refresh token change no governance and log nothing (no code or token is ever logged).

Times come from the service's clock: a code, an access token and a refresh token are refused
once their time has passed on it. A code redeemed twice, or a refresh token spent twice, is a
stolen one being replayed: the grant is revoked, and every token of it stops working.
"""

from __future__ import annotations

import secrets

from hivegov_mcp.domain.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.oauth import (
    ACCESS_LIFETIME,
    ACCESS_PREFIX,
    CLIENT_WINDOW,
    CODE_LIFETIME,
    CODE_PREFIX,
    MAX_NEW_CLIENTS_PER_HOUR,
    REFRESH_LIFETIME,
    REFRESH_PREFIX,
    SCOPES,
    Grant,
    IssuedTokens,
    ListedGrant,
    StoredCode,
    StoredToken,
    acting_as,
    new_secret,
    secret_hash,
)
from hivegov_mcp.domain.permissions import Role, may
from hivegov_mcp.service.base import ServiceBase, reads, writes
from hivegov_mcp.store.base import Transaction


def _for_another_agent(actor: Agent) -> None:
    """Approving or revoking a connection that acts as another agent: an admin's doing only."""
    if not may("set_agent_roles", actor.roles):
        raise PermissionDenied(
            actor.id,
            "act for another agent",
            [Role.ADMIN],
            detail="only an admin may approve or revoke for another agent",
        )


class OAuthOperations(ServiceBase):
    # -- clients ---------------------------------------------------------------------------------
    @writes
    async def register_oauth_client(self, client_id: str, info: str) -> bool:
        """Record a client's metadata (RFC 7591 JSON): registered, or read from its client ID
        metadata document (again: its metadata replaced). False, and nothing recorded, for a new
        client once MAX_NEW_CLIENTS_PER_HOUR were recorded in the last hour."""
        async with self.store.write() as tx:
            now = self.clock.now()
            new = await tx.oauth_client(client_id) is None
            if new and await tx.count_oauth_clients_since(now - CLIENT_WINDOW) >= MAX_NEW_CLIENTS_PER_HOUR:
                return False
            await tx.insert_oauth_client(client_id, info, now)
            return True

    @reads
    async def oauth_client(self, client_id: str) -> str | None:
        async with self.store.read() as tx:
            return await tx.oauth_client(client_id)

    # -- consent ---------------------------------------------------------------------------------
    @writes
    async def grant_oauth(
        self,
        actor: Agent,
        *,
        agent_id: str,
        client_id: str,
        client_name: str | None,
        scopes: list[str],
        resource: str,
        redirect_uri: str,
        redirect_uri_explicit: bool,
        code_challenge: str,
    ) -> str:
        """`actor` lets the client act as `agent_id` (itself, or any agent for an admin): the grant,
        its audit event and a code for the client, in one transaction. The code (returned once)."""
        if agent_id != actor.id:
            _for_another_agent(actor)
        unknown = [s for s in scopes if s not in SCOPES]
        if unknown or not scopes:
            raise InvalidInput("scopes", f"choose among {', '.join(SCOPES)}")
        async with self._begin(actor) as (tx, now):
            agent = await tx.get_agent(agent_id)
            if agent is None or not agent.active:
                raise NotFound("agent", agent_id, hint="Approve for an active agent.")
            grant = Grant(secrets.token_hex(16), client_id, agent_id, tuple(scopes), resource, revoked=False)
            await tx.insert_oauth_grant(grant, actor.id, now)
            code = new_secret(CODE_PREFIX)
            await tx.insert_oauth_code(
                secret_hash(code),
                grant.id,
                redirect_uri=redirect_uri,
                redirect_uri_explicit=redirect_uri_explicit,
                code_challenge=code_challenge,
                expires_at=now + CODE_LIFETIME,
            )
            await tx.append_audit(
                at=now,
                actor=actor.id,
                action="oauth_granted",
                subject=f"oauth:{grant.id}",
                payload={
                    "agent": agent_id,
                    "client_id": client_id,
                    "client_name": client_name or "",
                    "scopes": list(scopes),
                    "resource": resource,
                    "redirect_uri": redirect_uri,
                },
            )
        return code

    # -- codes -----------------------------------------------------------------------------------
    @writes
    async def oauth_code(self, code: str) -> StoredCode | None:
        """A code that may still be redeemed, or None. One redeemed already is being replayed: its
        grant is revoked (every token issued from it stops working)."""
        async with self.store.write() as tx:
            found = await tx.oauth_code(secret_hash(code))
            if found is None or found.grant.revoked:
                return None
            now = self.clock.now()
            if found.used:
                await self._revoke(tx, found.grant, "authorization code replayed")
                return None
            return None if now >= found.expires_at else found

    @writes
    async def redeem_oauth_code(self, code: str) -> IssuedTokens | None:
        """Redeem a code (once) for an access token and a refresh token; None when it is unknown,
        expired or revoked, or was redeemed already (then its grant is revoked, committed)."""
        async with self.store.write() as tx:
            found = await tx.oauth_code(secret_hash(code))
            now = self.clock.now()
            if found is None or found.grant.revoked or now >= found.expires_at:
                return None
            if not await tx.use_oauth_code(secret_hash(code), now):
                await self._revoke(tx, found.grant, "authorization code replayed")
                return None
            return await self._issue(tx, found.grant)

    # -- tokens ----------------------------------------------------------------------------------
    @writes
    async def oauth_refresh_token(self, token: str) -> StoredToken | None:
        """A refresh token that may still be spent, or None. One spent already is being replayed:
        its grant is revoked."""
        async with self.store.write() as tx:
            found = await tx.oauth_token(secret_hash(token))
            if found is None or found.kind != "refresh" or found.grant.revoked:
                return None
            if found.used:
                await self._revoke(tx, found.grant, "refresh token replayed")
                return None
            return None if self.clock.now() >= found.expires_at else found

    @writes
    async def rotate_oauth_refresh(self, token: str) -> IssuedTokens | None:
        """Spend a refresh token for a new access token and a new refresh token (rotation), with
        the grant's scopes; None when it is unknown, expired or revoked, or was spent already
        (then its grant is revoked, committed)."""
        async with self.store.write() as tx:
            found = await tx.oauth_token(secret_hash(token))
            now = self.clock.now()
            if found is None or found.kind != "refresh" or found.grant.revoked or now >= found.expires_at:
                return None
            if not await tx.use_oauth_token(secret_hash(token), now):
                await self._revoke(tx, found.grant, "refresh token replayed")
                return None
            return await self._issue(tx, found.grant)

    @reads
    async def oauth_access_token(self, token: str) -> StoredToken | None:
        """An access token that works now (not expired, its grant not revoked, its agent active),
        or None."""
        async with self.store.read() as tx:
            found = await tx.oauth_token(secret_hash(token))
            if found is None or found.kind != "access" or found.grant.revoked or self.clock.now() >= found.expires_at:
                return None
            agent = await tx.get_agent(found.grant.agent_id)
        return found if agent is not None and agent.active else None

    async def authenticate_access(self, token: str, resource: str) -> Agent:
        """The agent an OAuth access token acts as, at `resource`, with what its grant leaves of the
        agent's roles; NotAuthenticated when it doesn't work (here, or at all)."""
        found = await self.oauth_access_token(token)
        if found is None:
            raise NotAuthenticated(
                "the OAuth access token is unknown, expired or revoked",
                "Your client refreshes it, or signs in again through the consent page.",
            )
        if found.grant.resource.rstrip("/") != resource.rstrip("/"):
            raise NotAuthenticated(f"the OAuth access token was issued for {found.grant.resource}, not {resource}")
        async with self.store.lookup() as tx:
            agent = await tx.get_agent(found.grant.agent_id)
        if agent is None or not agent.active:
            raise NotAuthenticated(f"agent {found.grant.agent_id!r} is not active")
        return acting_as(agent, found.grant.scopes)

    @writes
    async def revoke_oauth(self, token: str) -> bool:
        """Revoke the grant of an access or refresh token (RFC 7009): every token of it stops
        working. False when there was nothing to revoke."""
        async with self.store.write() as tx:
            found = await tx.oauth_token(secret_hash(token))
            if found is None or found.grant.revoked:
                return False
            await self._revoke(tx, found.grant, "revoked by the client")
            return True

    # -- the grants page -------------------------------------------------------------------------
    @reads
    async def list_oauth_grants(self, actor: Agent) -> list[ListedGrant]:
        """The grants that act as `actor` (an admin: every grant), not revoked."""
        admin = may("set_agent_roles", actor.roles)
        async with self.store.read() as tx:
            return await tx.live_oauth_grants(None if admin else actor.id)

    @writes
    async def revoke_oauth_grant(self, actor: Agent, grant_id: str) -> None:
        """`actor` revokes a grant that acts as it (an admin: any grant); audited as its act."""
        async with self._begin(actor) as (tx, _):
            grant = await tx.oauth_grant(grant_id)
            if grant is None or grant.revoked:
                raise NotFound("grant", grant_id, hint="The grants page lists the grants still in force.")
            if grant.agent_id != actor.id:
                _for_another_agent(actor)
            await self._revoke(tx, grant, "revoked on the grants page", actor=actor.id)

    # -- shared ----------------------------------------------------------------------------------
    async def _issue(self, tx: Transaction, grant: Grant) -> IssuedTokens:
        now = self.clock.now()
        access, refresh = new_secret(ACCESS_PREFIX), new_secret(REFRESH_PREFIX)
        await tx.insert_oauth_token(secret_hash(access), grant.id, "access", now + ACCESS_LIFETIME)
        await tx.insert_oauth_token(secret_hash(refresh), grant.id, "refresh", now + REFRESH_LIFETIME)
        return IssuedTokens(access, refresh, int(ACCESS_LIFETIME.total_seconds()), grant.scopes)

    async def _revoke(self, tx: Transaction, grant: Grant, reason: str, *, actor: str | None = None) -> None:
        """Revoke a grant and log it: by `actor`, else as the grant's agent (its client's doing)."""
        now = self.clock.now()
        if await tx.revoke_oauth_grant(grant.id, now):
            await tx.append_audit(
                at=now,
                actor=actor or grant.agent_id,
                action="oauth_revoked",
                subject=f"oauth:{grant.id}",
                payload={"agent": grant.agent_id, "client_id": grant.client_id, "reason": reason},
            )
