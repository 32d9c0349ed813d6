"""The SQL of delegations (both engines): one row per agent and proposal type, the type '' for a
delegation of every type (DESIGN §20). The service writes them with their audit events; the count
at close reads `delegation_map`."""

from __future__ import annotations

from datetime import datetime

from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.record_models import Delegation
from hivegov_mcp.store.rows import Row, text, ts
from hivegov_mcp.store.sql.executor import Executor

EVERY_TYPE = ""  # the stored proposal_type of a delegation that covers every type
COLUMNS = "agent_id, proposal_type, delegate, since"
ORDER = "ORDER BY agent_id, proposal_type"  # '' first: a general delegation before the type-specific ones


def _delegation(row: Row) -> Delegation:
    kind = text(row["proposal_type"])
    return Delegation(
        agent_id=text(row["agent_id"]),
        to_agent=text(row["delegate"]),
        proposal_type=ProposalType(kind) if kind else None,
        since=datetime.fromisoformat(text(row["since"])),
    )


class DelegationSQL(Executor):
    async def set_delegation(self, agent_id: str, proposal_type: str | None, delegate: str, at: datetime) -> str | None:
        """Make or replace the agent's delegation of `proposal_type` (None: every type); the
        delegate it replaced, if any."""
        p, kind = self.dialect.placeholder, proposal_type or EVERY_TYPE
        before = await self._one(
            f"SELECT delegate FROM delegations WHERE agent_id = {p} AND proposal_type = {p}", (agent_id, kind)
        )
        if before is None:
            await self._run(
                f"INSERT INTO delegations ({COLUMNS}) VALUES ({self.dialect.marks(4)})",
                (agent_id, kind, delegate, ts(at)),
            )
            return None
        await self._run(
            f"UPDATE delegations SET delegate = {p}, since = {p} WHERE agent_id = {p} AND proposal_type = {p}",
            (delegate, ts(at), agent_id, kind),
        )
        return text(before["delegate"])

    async def remove_delegation(self, agent_id: str, proposal_type: str | None) -> str | None:
        """Remove the agent's delegation of `proposal_type` (None: every type); the delegate it
        had, or None when there was none."""
        p, kind = self.dialect.placeholder, proposal_type or EVERY_TYPE
        before = await self._one(
            f"SELECT delegate FROM delegations WHERE agent_id = {p} AND proposal_type = {p}", (agent_id, kind)
        )
        if before is None:
            return None
        await self._run(f"DELETE FROM delegations WHERE agent_id = {p} AND proposal_type = {p}", (agent_id, kind))
        return text(before["delegate"])

    async def delegations_of(self, agent_id: str) -> list[Delegation]:
        p = self.dialect.placeholder
        found = await self._all(f"SELECT {COLUMNS} FROM delegations WHERE agent_id = {p} {ORDER}", (agent_id,))
        return [_delegation(r) for r in found]

    async def delegations_to(self, agent_id: str) -> list[Delegation]:
        p = self.dialect.placeholder
        found = await self._all(f"SELECT {COLUMNS} FROM delegations WHERE delegate = {p} {ORDER}", (agent_id,))
        return [_delegation(r) for r in found]

    async def all_delegations(self) -> list[Delegation]:
        return [_delegation(r) for r in await self._all(f"SELECT {COLUMNS} FROM delegations {ORDER}")]

    async def delegation_map(self, proposal_type: str) -> dict[str, str]:
        """Each agent's delegate for a proposal of this type: its delegation of the type, else its
        delegation of every type."""
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT agent_id, delegate FROM delegations WHERE proposal_type = '' OR proposal_type = {p} {ORDER}",
            (proposal_type,),
        )
        return {text(r["agent_id"]): text(r["delegate"]) for r in found}  # the type-specific row comes last
