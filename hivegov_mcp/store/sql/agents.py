"""The SQL of agents, the rules, and the write limit's count (both engines)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from hivegov_mcp.domain.models import Agent
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import AGENT_COLUMNS, RULES_COLUMNS, dt, ts
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import StoredRules


class RulesSQL(Executor):
    async def current_rules(self) -> StoredRules | None:
        row = await self._one(f"SELECT {RULES_COLUMNS} FROM rules_versions ORDER BY version DESC LIMIT 1")
        return rows.rules(row) if row else None

    async def rules_version(self, version: int) -> StoredRules | None:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT {RULES_COLUMNS} FROM rules_versions WHERE version = {p}", (version,))
        return rows.rules(row) if row else None

    async def all_rules(self) -> list[StoredRules]:
        found = await self._all(f"SELECT {RULES_COLUMNS} FROM rules_versions ORDER BY version")
        return [rows.rules(r) for r in found]

    async def insert_rules(self, rules: StoredRules) -> None:
        await self._run(
            f"INSERT INTO rules_versions ({RULES_COLUMNS}) VALUES ({self.dialect.marks(5)})",
            (rules.version, rules.toml, rules.hash, ts(rules.created_at), rules.actor),
        )


class AgentSQL(Executor):
    async def insert_agent(self, agent: Agent, token_hash: str) -> None:
        await self._run(
            "INSERT INTO agents (id, display_name, roles, weight, active, token_hash, created_at) "
            f"VALUES ({self.dialect.marks(7)})",
            (
                agent.id,
                agent.display_name,
                json.dumps(agent.roles),
                agent.weight,
                int(agent.active),
                token_hash,
                ts(agent.created_at),
            ),
        )

    async def get_agent(self, agent_id: str) -> Agent | None:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT {AGENT_COLUMNS} FROM agents WHERE id = {p}", (agent_id,))
        return rows.agent(row) if row else None

    async def agent_by_token_hash(self, token_hash: str) -> Agent | None:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT {AGENT_COLUMNS} FROM agents WHERE token_hash = {p}", (token_hash,))
        return rows.agent(row) if row else None

    async def agent_identities(self) -> dict[str, tuple[str, str]]:
        """Every agent's display name and token hash, by id (for verify_audit)."""
        found = await self._all("SELECT id, display_name, token_hash FROM agents")
        return {r["id"]: (rows.text(r["display_name"]), rows.text(r["token_hash"])) for r in found}

    async def count_agents(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM agents")
        return int(row["n"]) if row else 0

    async def list_agents(self, role: str | None = None) -> list[Agent]:
        if role is None:
            found = await self._all(f"SELECT {AGENT_COLUMNS} FROM agents ORDER BY id")
        else:
            has_role = self.dialect.json_has("agents.roles")
            found = await self._all(f"SELECT {AGENT_COLUMNS} FROM agents WHERE {has_role} ORDER BY id", (role,))
        return [rows.agent(r) for r in found]

    async def count_active_agents(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM agents WHERE active = 1")
        return int(row["n"]) if row else 0

    async def update_agent(
        self,
        agent_id: str,
        *,
        roles: Sequence[str] | None = None,
        active: bool | None = None,
        token_hash: str | None = None,
    ) -> None:
        p = self.dialect.placeholder
        if roles is not None:
            await self._run(f"UPDATE agents SET roles = {p} WHERE id = {p}", (json.dumps(list(roles)), agent_id))
        if active is not None:
            await self._run(f"UPDATE agents SET active = {p} WHERE id = {p}", (int(active), agent_id))
        if token_hash is not None:
            await self._run(f"UPDATE agents SET token_hash = {p} WHERE id = {p}", (token_hash, agent_id))

    async def count_writes_since(self, actor: str, since: datetime) -> tuple[int, datetime | None]:
        """The write limit's count, from the log (so the limit holds across processes)."""
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT COUNT(*) AS n, MIN(at) AS oldest FROM audit_events WHERE actor = {p} AND at > {p}",
            (actor, ts(since)),
        )
        assert row is not None
        return int(row["n"]), dt(row["oldest"])
