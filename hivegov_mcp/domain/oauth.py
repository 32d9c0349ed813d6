"""OAuth for remote MCP clients (DESIGN §21), the rules without I/O: the scopes a grant may
carry, how long codes and tokens live, how they are told apart and stored (SHA-256 only), and
what a grant leaves of the agent's roles.

A grant is one consent: a signed-in agent (or an admin on its behalf) let one client act as one
agent, with some scopes, at one resource (the `/mcp` URL the tokens are bound to). Its codes and
tokens belong to it; revoking any of them revokes the grant, and with it every one of them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hivegov_mcp.domain.models import Agent

READ = "hivegov:read"
WRITE = "hivegov:write"
# What the consent page says each scope lets the client do, as the agent.
SCOPES: dict[str, str] = {
    READ: "read proposals, discussions, votes, the agenda and the audit log",
    WRITE: "act within the agent's roles: propose, comment, vote and every other write its roles allow",
}

CODE_LIFETIME = timedelta(minutes=5)  # an authorization code, redeemed once
ACCESS_LIFETIME = timedelta(hours=1)  # an access token
REFRESH_LIFETIME = timedelta(days=30)  # a refresh token, replaced at each use

# New clients (registered, or first read from a metadata document) a server records per hour,
# all clients together: registration is open to anyone, so its rows are bounded.
MAX_NEW_CLIENTS_PER_HOUR = 100
CLIENT_WINDOW = timedelta(hours=1)

CODE_PREFIX = "hgc_"
ACCESS_PREFIX = "hga_"
REFRESH_PREFIX = "hgr_"


def new_secret(prefix: str) -> str:
    """A code or token: 256 random bits, with a prefix that says which it is."""
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """What the database keeps of a code or token (never the value itself)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_access_token(token: str) -> bool:
    return token.startswith(ACCESS_PREFIX)


def granted_scopes(requested: list[str] | None) -> list[str]:
    """The scopes a consent offers: those requested that this server knows (every one when none
    was requested), in a stable order."""
    wanted = set(SCOPES) if not requested else set(requested)
    return [s for s in SCOPES if s in wanted]


def acting_as(agent: Agent, scopes: tuple[str, ...]) -> Agent:
    """The agent as a grant lets a client act: with its roles when the grant may write; else with
    none (the reads every agent may do) and marked read only, so that no write passes, not even one
    every agent may make or one its author may (service.base.writes refuses them all)."""
    if WRITE in scopes:
        return agent
    reader = agent.model_copy(update={"roles": []})
    reader._may_write = False
    return reader


@dataclass(frozen=True)
class Grant:
    id: str
    client_id: str
    agent_id: str
    scopes: tuple[str, ...]
    resource: str
    revoked: bool


@dataclass(frozen=True)
class StoredCode:
    grant: Grant
    redirect_uri: str
    redirect_uri_explicit: bool
    code_challenge: str
    expires_at: datetime
    used: bool


@dataclass(frozen=True)
class StoredToken:
    grant: Grant
    kind: str  # "access" or "refresh"
    expires_at: datetime
    used: bool  # a refresh token already exchanged for new ones


@dataclass(frozen=True)
class ListedGrant:
    """A grant as the grants page shows it."""

    grant: Grant
    client_name: str | None
    granted_by: str
    granted_at: datetime


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...]
