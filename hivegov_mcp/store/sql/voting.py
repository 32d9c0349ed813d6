"""The SQL of voting: the electorate frozen when a vote opens, the ballots (a replaced one
stays, the latest counts), and the tally computed once at close (both engines)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from hivegov_mcp.domain.audit import canonical_json
from hivegov_mcp.domain.tally import Tally, fraction_text
from hivegov_mcp.domain.vote_models import Ballot
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import ts
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import CountRecords, StoredVote, VoterStanding


class VotingSQL(Executor):
    async def freeze_eligible(self, proposal_id: str, eligible: Mapping[str, int]) -> None:
        await self._many(
            f"INSERT INTO eligible_voters (proposal_id, agent_id, weight) VALUES ({self.dialect.marks(3)})",
            [(proposal_id, agent, weight) for agent, weight in sorted(eligible.items())],
        )

    async def eligible(self, proposal_id: str) -> dict[str, int]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT agent_id, weight FROM eligible_voters WHERE proposal_id = {p} ORDER BY agent_id",
            (proposal_id,),
        )
        return {r["agent_id"]: r["weight"] for r in found}

    async def eligible_of(self, proposal_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """The frozen electorates of many proposals in one statement (verify_audit reads a page)."""
        if not proposal_ids:
            return {}
        found = await self._all(
            "SELECT proposal_id, agent_id, weight FROM eligible_voters "
            f"WHERE proposal_id IN ({self.dialect.marks(len(proposal_ids))})",
            list(proposal_ids),
        )
        electorates: dict[str, dict[str, int]] = {pid: {} for pid in proposal_ids}
        for r in found:
            electorates[r["proposal_id"]][r["agent_id"]] = int(r["weight"])
        return electorates

    async def insert_vote(
        self,
        proposal_id: str,
        agent_id: str,
        decision: str | None,
        justification: str,
        at: datetime,
        salt: str,
        ballot: str | None = None,
    ) -> None:
        """A decision (majority) or a ballot on options (its canonical JSON), never both."""
        await self._run(
            "INSERT INTO votes (proposal_id, agent_id, decision, justification, cast_at, salt, ballot) "
            f"VALUES ({self.dialect.marks(7)})",
            (proposal_id, agent_id, decision, justification, ts(at), salt, ballot),
        )

    async def vote_rows(self, proposal_id: str) -> list[StoredVote]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT agent_id, decision, justification, salt, ballot FROM votes WHERE proposal_id = {p} ORDER BY id",
            (proposal_id,),
        )
        return [rows.stored_vote(r) for r in found]

    async def vote_rows_of(self, proposal_ids: Sequence[str]) -> dict[str, list[StoredVote]]:
        """`vote_rows` of many proposals in one statement (verify_audit reads a page)."""
        if not proposal_ids:
            return {}
        found = await self._all(
            "SELECT proposal_id, agent_id, decision, justification, salt, ballot FROM votes "
            f"WHERE proposal_id IN ({self.dialect.marks(len(proposal_ids))}) ORDER BY id",
            list(proposal_ids),
        )
        each: dict[str, list[StoredVote]] = {pid: [] for pid in proposal_ids}
        for r in found:
            each[r["proposal_id"]].append(rows.stored_vote(r))
        return each

    async def last_ballots(self, proposal_id: str) -> list[Ballot]:
        p = self.dialect.placeholder
        found = await self._all(
            "SELECT v.agent_id, v.decision, v.ballot, v.justification, e.weight, v.cast_at FROM votes v "
            "JOIN eligible_voters e ON e.proposal_id = v.proposal_id AND e.agent_id = v.agent_id "
            f"WHERE v.proposal_id = {p} AND v.id = (SELECT MAX(id) FROM votes w "
            "WHERE w.proposal_id = v.proposal_id AND w.agent_id = v.agent_id) ORDER BY v.agent_id",
            (proposal_id,),
        )
        return [rows.ballot(r) for r in found]

    async def voter_standing(self, proposal_id: str, agent_id: str, *, count: bool) -> VoterStanding:
        """By index lookups only: the cost of a vote doesn't grow with the ballots already cast.
        The counts (one lookup per eligible voter) only when `count`; else 0."""
        p, a = self.dialect.named("p"), self.dialect.named("a")
        counts = (
            f"(SELECT COUNT(*) FROM eligible_voters WHERE proposal_id = {p}) AS eligible_count, "
            f"(SELECT COUNT(*) FROM eligible_voters e WHERE e.proposal_id = {p} AND EXISTS "
            f"(SELECT 1 FROM votes v WHERE v.proposal_id = {p} AND v.agent_id = e.agent_id)) AS voted_count"
            if count
            else "0 AS eligible_count, 0 AS voted_count"
        )
        row = await self._one(
            f"SELECT EXISTS (SELECT 1 FROM eligible_voters WHERE proposal_id = {p} AND agent_id = {a}) AS eligible, "
            f"EXISTS (SELECT 1 FROM votes WHERE proposal_id = {p} AND agent_id = {a}) AS voted, {counts}",
            {"p": proposal_id, "a": agent_id},
        )
        assert row is not None
        return VoterStanding(
            eligible=bool(row["eligible"]),
            voted_before=bool(row["voted"]),
            eligible_count=row["eligible_count"],
            voted_count=row["voted_count"],
        )

    async def clear_vote(self, proposal_id: str) -> None:
        p = self.dialect.placeholder
        for table in ("votes", "vote_tallies", "eligible_voters"):
            await self._run(f"DELETE FROM {table} WHERE proposal_id = {p}", (proposal_id,))

    async def store_tally(self, proposal_id: str, tally: Tally, rules_version: int, count: CountRecords) -> None:
        """The count at close: `tally` (for a vote on options, zero counts with its outcome,
        consensus and reason), and the records of how it was counted (JSON)."""
        await self._run(
            "INSERT INTO vote_tallies (proposal_id, approve, reject, abstain, eligible_weight, voted_weight, "
            "quorum_met, consensus, outcome, reason, rules_version, method, option_result, delegation) "
            f"VALUES ({self.dialect.marks(14)})",
            (
                proposal_id,
                tally.approve,
                tally.reject,
                tally.abstain,
                tally.eligible_weight,
                tally.voted_weight,
                int(tally.quorum_met),
                fraction_text(tally.consensus),
                tally.outcome.value,
                tally.reason.value if tally.reason else None,
                rules_version,
                count.method,
                canonical_json(count.result) if count.result is not None else None,
                canonical_json(count.delegation) if count.delegation is not None else None,
            ),
        )

    async def get_tally(self, proposal_id: str) -> Tally | None:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT * FROM vote_tallies WHERE proposal_id = {p}", (proposal_id,))
        return rows.tally(row) if row else None

    async def get_count_records(self, proposal_id: str) -> CountRecords | None:
        """How a closed vote was counted (None: still open)."""
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT method, option_result, delegation FROM vote_tallies WHERE proposal_id = {p}", (proposal_id,)
        )
        if row is None:
            return None
        return CountRecords(
            method=row["method"],
            result=json.loads(row["option_result"]) if row["option_result"] else None,
            delegation=json.loads(row["delegation"]) if row["delegation"] else None,
        )
