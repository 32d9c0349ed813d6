"""The SQL of what follows a vote: appeals, execution attempts, validations of a version, and
the summaries summarizer agents publish (both engines)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from hivegov_mcp.domain.models import Appeal, ExecutionAttempt, PublishedSummary, Validation
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import APPEAL_COLUMNS, fits, ts
from hivegov_mcp.store.sql.executor import Executor


class AfterVoteSQL(Executor):
    # appeals --------------------------------------------------------------------------------
    async def insert_appeal(
        self, proposal_id: str, resolved_at: datetime, appellant: str, grounds: str, at: datetime
    ) -> int:
        d = self.dialect
        return await self._insert(
            f"INSERT INTO appeals (proposal_id, resolved_at, appellant, grounds, filed_at) "
            f"VALUES ({d.marks(5)}){d.returning_id}",
            (proposal_id, ts(resolved_at), appellant, grounds, ts(at)),
        )

    async def appeals(self, proposal_id: str) -> list[Appeal]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT {APPEAL_COLUMNS} FROM appeals WHERE proposal_id = {p} ORDER BY id", (proposal_id,)
        )
        return [rows.appeal(r) for r in found]

    async def get_appeal(self, appeal_id: int) -> Appeal | None:
        if not fits(appeal_id):
            return None
        p = self.dialect.placeholder
        row = await self._one(f"SELECT {APPEAL_COLUMNS} FROM appeals WHERE id = {p}", (appeal_id,))
        return rows.appeal(row) if row else None

    async def appeal_for(self, proposal_id: str, resolved_at: datetime) -> Appeal | None:
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT {APPEAL_COLUMNS} FROM appeals WHERE proposal_id = {p} AND resolved_at = {p}",
            (proposal_id, ts(resolved_at)),
        )
        return rows.appeal(row) if row else None

    async def decide_appeal(self, appeal_id: int, decision: str, by: str, reason: str, at: datetime) -> None:
        p = self.dialect.placeholder
        await self._run(
            f"UPDATE appeals SET decision = {p}, decided_by = {p}, reason = {p}, decided_at = {p} WHERE id = {p}",
            (decision, by, reason, ts(at), appeal_id),
        )

    # executions -----------------------------------------------------------------------------
    async def insert_execution(
        self, proposal_id: str, attempt: int, executor: str, at: datetime, lease_until: datetime
    ) -> None:
        await self._run(
            "INSERT INTO executions (proposal_id, attempt, executor, claimed_at, lease_until) "
            f"VALUES ({self.dialect.marks(5)})",
            (proposal_id, attempt, executor, ts(at), ts(lease_until)),
        )

    async def end_execution(
        self, proposal_id: str, attempt: int, outcome: str, details: str | None, artifacts: Sequence[str], at: datetime
    ) -> None:
        p = self.dialect.placeholder
        await self._run(
            f"UPDATE executions SET outcome = {p}, details = {p}, artifacts = {p}, reported_at = {p} "
            f"WHERE proposal_id = {p} AND attempt = {p}",
            (outcome, details, json.dumps(list(artifacts)), ts(at), proposal_id, attempt),
        )

    async def executions(self, proposal_id: str) -> list[ExecutionAttempt]:
        p = self.dialect.placeholder
        found = await self._all(
            "SELECT attempt, executor, claimed_at, lease_until, outcome, details, artifacts, reported_at "
            f"FROM executions WHERE proposal_id = {p} ORDER BY attempt",
            (proposal_id,),
        )
        return [rows.execution(r) for r in found]

    # validations ----------------------------------------------------------------------------
    async def insert_validation(
        self, proposal_id: str, version: int, validator: str, result: str, findings: str, at: datetime
    ) -> int:
        d = self.dialect
        return await self._insert(
            "INSERT INTO validations (proposal_id, version, validator, result, findings, at) "
            f"VALUES ({d.marks(6)}){d.returning_id}",
            (proposal_id, version, validator, result, findings, ts(at)),
        )

    async def validations_of(self, proposal_ids: Sequence[str]) -> dict[str, list[tuple[int, int, str, str]]]:
        """(id, version, validator, result) of many proposals' validations in one statement."""
        if not proposal_ids:
            return {}
        found = await self._all(
            "SELECT proposal_id, id, version, validator, result FROM validations "
            f"WHERE proposal_id IN ({self.dialect.marks(len(proposal_ids))}) ORDER BY id",
            list(proposal_ids),
        )
        each: dict[str, list[tuple[int, int, str, str]]] = {pid: [] for pid in proposal_ids}
        for r in found:
            each[r["proposal_id"]].append((int(r["id"]), int(r["version"]), r["validator"], r["result"]))
        return each

    async def validations(self, proposal_id: str) -> list[Validation]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT id, version, validator, result, findings, at FROM validations WHERE proposal_id = {p} ORDER BY id",
            (proposal_id,),
        )
        return [rows.validation(r) for r in found]

    # published summaries --------------------------------------------------------------------
    async def insert_published_summary(self, proposal_id: str, summary: PublishedSummary) -> None:
        await self._run(
            "INSERT INTO round_summaries (proposal_id, round, author, text, recommendation, at) "
            f"VALUES ({self.dialect.marks(6)})",
            (proposal_id, summary.round, summary.author, summary.text, summary.recommendation.value, ts(summary.at)),
        )

    async def published_summaries(self, proposal_id: str) -> list[PublishedSummary]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT round, author, text, recommendation, at FROM round_summaries WHERE proposal_id = {p} ORDER BY id",
            (proposal_id,),
        )
        return [rows.published_summary(r) for r in found]
