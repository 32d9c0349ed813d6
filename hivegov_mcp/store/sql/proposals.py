"""The SQL of proposals, their versions and their discussion rounds (both engines).

A version is the proposal's searchable text: inserting one replaces the proposal's row in the
search index (rowid -number; comments have their id), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hivegov_mcp.domain.models import RoundInfo
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.render import search_body
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import PROPOSAL_COLUMNS, PROPOSAL_FIELDS, VERSION_COLUMNS, fits, ts
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import ProposalState, Version

_PREFIXED = ", ".join(f"p.{c}" for c in PROPOSAL_FIELDS)


class ProposalSQL(Executor):
    # proposals ------------------------------------------------------------------------------
    async def next_proposal_number(self) -> int:
        row = await self._one("SELECT COALESCE(MAX(number), 0) + 1 AS n FROM proposals")
        assert row is not None
        return int(row["n"])

    async def insert_proposal(self, state: ProposalState) -> None:
        named = ", ".join(self.dialect.named(n) for n in PROPOSAL_FIELDS)
        await self._run(f"INSERT INTO proposals ({PROPOSAL_COLUMNS}) VALUES ({named})", rows.proposal_values(state))

    async def get_proposal(self, proposal_id: str) -> ProposalState | None:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE id = {p}", (proposal_id,))
        return rows.proposal(row) if row else None

    async def proposals_after(self, number: int, limit: int) -> list[ProposalState]:
        """Every proposal in number order, a page at a time (for the state check)."""
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE number > {p} ORDER BY number LIMIT {p}", (number, limit)
        )
        return [rows.proposal(r) for r in found]

    async def save_proposal(self, state: ProposalState) -> None:
        named = self.dialect.named
        sets = ", ".join(f"{n} = {named(n)}" for n in PROPOSAL_FIELDS[1:])
        await self._run(f"UPDATE proposals SET {sets} WHERE id = {named('id')}", rows.proposal_values(state))

    async def list_proposals(
        self,
        *,
        status: str | None,
        type: str | None,
        author: str | None,
        before_number: int | None,
        limit: int,
    ) -> list[tuple[ProposalState, str]]:
        p = self.dialect.placeholder
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("status", status), ("type", type), ("author", author)):
            if value is not None:
                where.append(f"p.{column} = {p}")
                params.append(value)
        if before_number is not None:
            where.append(f"p.number < {p}")
            params.append(before_number)
        found = await self._all(
            f"SELECT {_PREFIXED}, v.title AS title FROM proposals p "
            "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + f" ORDER BY p.number DESC LIMIT {p}",
            (*params, limit),
        )
        return [(rows.proposal(r), r["title"]) for r in found]

    async def due_proposals(self, now: datetime, statuses: Sequence[Status]) -> list[str]:
        # The planner stays on the partial deadline index (few rows have a deadline), not the status one.
        d = self.dialect
        found = await self._all(
            f"SELECT id FROM proposals WHERE deadline IS NOT NULL AND deadline <= {d.placeholder} "
            f"AND {d.no_index}status IN ({d.marks(len(statuses))}) ORDER BY deadline",
            (ts(now), *(s.value for s in statuses)),
        )
        return [r["id"] for r in found]

    async def count_by_status(self) -> dict[str, int]:
        found = await self._all("SELECT status, COUNT(*) AS n FROM proposals GROUP BY status")
        return {r["status"]: r["n"] for r in found}

    async def next_deadlines(self, limit: int) -> list[ProposalState]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE deadline IS NOT NULL ORDER BY deadline LIMIT {p}",
            (limit,),
        )
        return [rows.proposal(r) for r in found]

    # versions -------------------------------------------------------------------------------
    async def insert_version(self, version: Version) -> None:
        """Store a version and make it the proposal's searchable text."""
        p = self.dialect.placeholder
        await self._run(
            f"INSERT INTO proposal_versions ({VERSION_COLUMNS}) VALUES ({self.dialect.marks(13)})",
            rows.version_values(version),
        )
        row = await self._one(f"SELECT number FROM proposals WHERE id = {p}", (version.proposal_id,))
        assert row is not None, "insert the proposal before its versions"
        rowid = -int(row["number"])
        await self._run(f"DELETE FROM search_index WHERE rowid = {p}", (rowid,))
        await self._run(
            "INSERT INTO search_index (rowid, proposal_id, kind, comment_id, title, body) "
            f"VALUES ({p}, {p}, 'proposal', NULL, {p}, {p})",
            (rowid, version.proposal_id, version.content.title, search_body(version.content)),
        )

    async def get_version(self, proposal_id: str, version: int) -> Version | None:
        if not fits(version):
            return None
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT {VERSION_COLUMNS} FROM proposal_versions WHERE proposal_id = {p} AND version = {p}",
            (proposal_id, version),
        )
        return rows.version(row) if row else None

    async def list_versions(self, proposal_id: str) -> list[Version]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT {VERSION_COLUMNS} FROM proposal_versions WHERE proposal_id = {p} ORDER BY version",
            (proposal_id,),
        )
        return [rows.version(r) for r in found]

    # rounds ---------------------------------------------------------------------------------
    async def insert_round(self, proposal_id: str, round_: int, started_at: datetime, deadline: datetime) -> None:
        await self._run(
            f"INSERT INTO rounds (proposal_id, round, started_at, deadline) VALUES ({self.dialect.marks(4)})",
            (proposal_id, round_, ts(started_at), ts(deadline)),
        )

    async def conclude_round(self, proposal_id: str, round_: int, at: datetime, outcome: str) -> None:
        p = self.dialect.placeholder
        await self._run(
            f"UPDATE rounds SET concluded_at = {p}, outcome = {p} WHERE proposal_id = {p} AND round = {p}",
            (ts(at), outcome, proposal_id, round_),
        )

    async def list_rounds(self, proposal_id: str) -> list[RoundInfo]:
        p = self.dialect.placeholder
        found = await self._all(
            "SELECT round, started_at, deadline, concluded_at, outcome FROM rounds "
            f"WHERE proposal_id = {p} ORDER BY round",
            (proposal_id,),
        )
        return [rows.round_info(r) for r in found]
