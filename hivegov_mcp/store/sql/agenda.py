"""The SQL of an agent's agenda: what may need it, read across proposals, ballots, comments and
appeals (both engines). Each kind is one statement, at most 200 rows, oldest proposal first."""

from __future__ import annotations

from datetime import datetime

from hivegov_mcp.domain.phases import Status
from hivegov_mcp.store.rows import dt, ts
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import AgendaRow

_HEAD = "p.id AS pid, v.title AS title, p.status AS status, p.deadline AS deadline"
_LATEST = "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version"


class AgendaSQL(Executor):
    async def agenda(self, agent_id: str, now: datetime, soon: datetime) -> list[AgendaRow]:
        d = self.dialect
        a, by = d.named("a"), d.named("soon")
        queries = {
            "vote": (
                f"SELECT {_HEAD}, NULL AS ref FROM eligible_voters e JOIN proposals p ON p.id = e.proposal_id "
                f"{_LATEST} WHERE e.agent_id = {a} AND p.status = 'voting' AND NOT EXISTS "
                f"(SELECT 1 FROM votes x WHERE x.proposal_id = p.id AND x.agent_id = {a})"
            ),
            "objection": (
                f"SELECT {_HEAD}, c.id AS ref FROM comments c JOIN proposals p ON p.id = c.proposal_id {_LATEST} "
                f"WHERE c.author = {a} AND c.type = 'objection' AND c.resolved_by IS NULL AND c.hidden_at IS NULL "
                "AND v.version > 1 AND v.created_at >= c.created_at"
            ),
            "revise": (
                f"SELECT {_HEAD}, NULL AS ref FROM proposals p {_LATEST} WHERE p.author = {a} AND p.status = 'revision'"
            ),
            "discussion": (
                f"SELECT {_HEAD}, NULL AS ref FROM proposals p {_LATEST} "
                f"WHERE p.deadline IS NOT NULL AND p.deadline <= {by} AND {d.no_index}p.status = 'discussion'"
            ),
            "claim": (
                f"SELECT {_HEAD}, NULL AS ref FROM proposals p {_LATEST} "
                "WHERE p.status IN ('approved', 'execution_failed') AND p.deadline IS NULL AND NOT EXISTS "
                "(SELECT 1 FROM appeals x WHERE x.proposal_id = p.id AND x.decision IS NULL)"
            ),
            "appeal": (
                f"SELECT {_HEAD}, x.id AS ref FROM appeals x JOIN proposals p ON p.id = x.proposal_id {_LATEST} "
                "WHERE x.decision IS NULL"
            ),
        }
        found: list[AgendaRow] = []
        for kind, sql in queries.items():
            for r in await self._all(sql + " ORDER BY p.number LIMIT 200", {"a": agent_id, "soon": ts(soon)}):
                found.append(AgendaRow(kind, r["pid"], r["title"], Status(r["status"]), dt(r["deadline"]), r["ref"]))
        return found
