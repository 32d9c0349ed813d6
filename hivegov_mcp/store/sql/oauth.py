"""The SQL of OAuth (both engines): registered clients, grants (one consent each), authorization
codes and tokens. Codes and tokens are stored as their SHA-256 only; taking one (a code redeemed,
a refresh token rotated) is one conditional UPDATE, so two processes can't both take it."""

from __future__ import annotations

import json
from datetime import datetime

from hivegov_mcp.domain.oauth import Grant, ListedGrant, StoredCode, StoredToken
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import Row, ts
from hivegov_mcp.store.sql.executor import Executor

GRANT_COLUMNS = "g.id, g.client_id, g.agent_id, g.scopes, g.resource, g.revoked_at"


def _grant(row: Row) -> Grant:
    return Grant(
        id=rows.text(row["id"]),
        client_id=rows.text(row["client_id"]),
        agent_id=rows.text(row["agent_id"]),
        scopes=tuple(rows.text(row["scopes"]).split()),
        resource=rows.text(row["resource"]),
        revoked=row["revoked_at"] is not None,
    )


class OAuthSQL(Executor):
    async def insert_oauth_client(self, client_id: str, info: str, at: datetime) -> None:
        """Record a client; one known already (a client ID metadata document fetched again) is
        given its new metadata."""
        await self._run(
            f"INSERT INTO oauth_clients (client_id, info, registered_at) VALUES ({self.dialect.marks(3)}) "
            "ON CONFLICT (client_id) DO UPDATE SET info = excluded.info",
            (client_id, info, ts(at)),
        )

    async def count_oauth_clients_since(self, at: datetime) -> int:
        """How many clients were first recorded at or after `at`."""
        p = self.dialect.placeholder
        row = await self._one(f"SELECT COUNT(*) AS n FROM oauth_clients WHERE registered_at >= {p}", (ts(at),))
        return 0 if row is None else int(row["n"])

    async def oauth_client(self, client_id: str) -> str | None:
        """A registered client's metadata (RFC 7591 JSON), or None."""
        p = self.dialect.placeholder
        row = await self._one(f"SELECT info FROM oauth_clients WHERE client_id = {p}", (client_id,))
        return None if row is None else rows.text(row["info"])

    async def insert_oauth_grant(self, grant: Grant, by: str, at: datetime) -> None:
        await self._run(
            "INSERT INTO oauth_grants (id, client_id, agent_id, scopes, resource, granted_by, granted_at) "
            f"VALUES ({self.dialect.marks(7)})",
            (grant.id, grant.client_id, grant.agent_id, " ".join(grant.scopes), grant.resource, by, ts(at)),
        )

    async def oauth_grant(self, grant_id: str) -> Grant | None:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT {GRANT_COLUMNS} FROM oauth_grants g WHERE g.id = {p}", (grant_id,))
        return None if row is None else _grant(row)

    async def live_oauth_grants(self, agent_id: str | None) -> list[ListedGrant]:
        """The grants not revoked (of one agent, or of all), newest first, with their client's name."""
        p = self.dialect.placeholder
        where, params = ("AND g.agent_id = " + p, (agent_id,)) if agent_id is not None else ("", ())
        found = await self._all(
            f"SELECT {GRANT_COLUMNS}, g.granted_by, g.granted_at, c.info FROM oauth_grants g "
            f"JOIN oauth_clients c ON c.client_id = g.client_id WHERE g.revoked_at IS NULL {where} "
            "ORDER BY g.granted_at DESC, g.id",
            params,
        )
        return [
            ListedGrant(
                grant=_grant(r),
                client_name=json.loads(rows.text(r["info"])).get("client_name"),
                granted_by=rows.text(r["granted_by"]),
                granted_at=datetime.fromisoformat(rows.text(r["granted_at"])),
            )
            for r in found
        ]

    async def revoke_oauth_grant(self, grant_id: str, at: datetime) -> bool:
        """Revoke a grant (every code and token of it); False when it was revoked already."""
        p = self.dialect.placeholder
        taken = await self._all(
            f"UPDATE oauth_grants SET revoked_at = {p} WHERE id = {p} AND revoked_at IS NULL RETURNING id",
            (ts(at), grant_id),
        )
        return bool(taken)

    async def insert_oauth_code(
        self,
        code_hash: str,
        grant_id: str,
        *,
        redirect_uri: str,
        redirect_uri_explicit: bool,
        code_challenge: str,
        expires_at: datetime,
    ) -> None:
        await self._run(
            "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, redirect_uri_explicit, code_challenge, "
            f"expires_at) VALUES ({self.dialect.marks(6)})",
            (code_hash, grant_id, redirect_uri, int(redirect_uri_explicit), code_challenge, ts(expires_at)),
        )

    async def oauth_code(self, code_hash: str) -> StoredCode | None:
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT {GRANT_COLUMNS}, c.redirect_uri, c.redirect_uri_explicit, c.code_challenge, c.expires_at, "
            f"c.used_at FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.code_hash = {p}",
            (code_hash,),
        )
        if row is None:
            return None
        return StoredCode(
            grant=_grant(row),
            redirect_uri=rows.text(row["redirect_uri"]),
            redirect_uri_explicit=bool(row["redirect_uri_explicit"]),
            code_challenge=rows.text(row["code_challenge"]),
            expires_at=datetime.fromisoformat(rows.text(row["expires_at"])),
            used=row["used_at"] is not None,
        )

    async def use_oauth_code(self, code_hash: str, at: datetime) -> bool:
        """Redeem a code; False when it was redeemed already."""
        p = self.dialect.placeholder
        taken = await self._all(
            f"UPDATE oauth_codes SET used_at = {p} WHERE code_hash = {p} AND used_at IS NULL RETURNING code_hash",
            (ts(at), code_hash),
        )
        return bool(taken)

    async def insert_oauth_token(self, token_hash: str, grant_id: str, kind: str, expires_at: datetime) -> None:
        await self._run(
            f"INSERT INTO oauth_tokens (token_hash, grant_id, kind, expires_at) VALUES ({self.dialect.marks(4)})",
            (token_hash, grant_id, kind, ts(expires_at)),
        )

    async def oauth_token(self, token_hash: str) -> StoredToken | None:
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT {GRANT_COLUMNS}, t.kind, t.expires_at, t.used_at "
            f"FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = {p}",
            (token_hash,),
        )
        if row is None:
            return None
        return StoredToken(
            grant=_grant(row),
            kind=rows.text(row["kind"]),
            expires_at=datetime.fromisoformat(rows.text(row["expires_at"])),
            used=row["used_at"] is not None,
        )

    async def use_oauth_token(self, token_hash: str, at: datetime) -> bool:
        """Spend a refresh token (rotation); False when it was spent already."""
        p = self.dialect.placeholder
        taken = await self._all(
            f"UPDATE oauth_tokens SET used_at = {p} WHERE token_hash = {p} AND used_at IS NULL RETURNING token_hash",
            (ts(at), token_hash),
        )
        return bool(taken)
