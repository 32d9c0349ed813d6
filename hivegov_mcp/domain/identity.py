"""Identities: tokens (stored as SHA-256 only), the local administrator, role names."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from hivegov_mcp.domain.errors import InvalidInput
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.permissions import Role

TOKEN_PREFIX = "hg_"
MAX_WEIGHT = 1_000_000

# The command line working directly on the database file is the local administrator.
LOCAL_ADMIN = Agent(
    id="@cli",
    display_name="local administrator (command line)",
    roles=[Role.ADMIN.value],
    weight=1,
    active=True,
    created_at=datetime(1970, 1, 1, tzinfo=UTC),
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def check_roles(roles: Sequence[str], *, allow_empty: bool) -> list[str]:
    known = {r.value for r in Role}
    bad = [r for r in roles if r not in known]
    if bad and len(bad) == 1 and "," in bad[0]:
        raise InvalidInput("roles", f"{bad[0]!r}: give each role as a separate value, not joined by commas")
    if bad:
        raise InvalidInput("roles", f"{', '.join(map(repr, bad))} unknown; roles are {', '.join(sorted(known))}")
    if not roles and not allow_empty:
        raise InvalidInput(
            "roles", "give at least one role (e.g. proposer, discussant, voter); to stop an agent acting, deactivate it"
        )
    return sorted(set(roles))
