"""What every service operation shares: transactions, deadlines first, loading proposals."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from fractions import Fraction

from hivegov_mcp import engine
from hivegov_mcp.agents import AgentDirectory
from hivegov_mcp.audit import content_hash
from hivegov_mcp.clock import Clock
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.config import GovernanceConfig, ProposalType
from hivegov_mcp.domain.models import (
    Proposal,
    ProposalContent,
    ProposalReceipt,
    Receipt,
)
from hivegov_mcp.domain.phases import phase_of
from hivegov_mcp.errors import (
    InvalidInput,
    NotFound,
)
from hivegov_mcp.store.base import ProposalState, Store, Transaction

MAX_LIST = 100
MAX_AUDIT_PAGE = 500
MAX_SEARCH = 50
INITIAL_NOTE = "initial version"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_content(content: ProposalContent) -> str:
    return content_hash(content.model_dump())


def fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


class ServiceBase(AgentDirectory):
    """The store, the rules and the clock, and the plumbing every operation shares."""

    def __init__(self, store: Store, config: GovernanceConfig, clock: Clock) -> None:
        super().__init__(store, clock)
        self.config = config

    # -- plumbing -------------------------------------------------------------------------------
    @asynccontextmanager
    async def _write(self, proposal_id: str) -> AsyncIterator[tuple[Transaction, ProposalState, datetime]]:
        """A write transaction on one proposal, after applying its passed deadline.

        A passed deadline is committed in a transaction of its own first, so that an operation
        refused afterwards can't undo the engine's move."""
        async with self.store.write() as tx:
            now = self.clock.now()
            state, moved = await engine.apply_deadline(tx, self.config, proposal_id, now)
            if state is None:
                raise self._unknown_proposal(proposal_id)
            if not moved:
                yield tx, state, now
                return
        async with self.store.write() as tx:
            now = self.clock.now()
            state, _ = await engine.apply_deadline(tx, self.config, proposal_id, now)
            assert state is not None
            yield tx, state, now

    @asynccontextmanager
    async def _read(self, proposal_id: str | None = None) -> AsyncIterator[tuple[Transaction, datetime]]:
        """A read snapshot in which no deadline (of this proposal, or of any) has passed unapplied."""
        now = self.clock.now()
        async with self.store.read() as tx:
            due = [p for p in await tx.due_proposals(now) if proposal_id is None or p == proposal_id]
            if not due:
                yield tx, now
                return
        await self._apply_deadlines(due, now)
        async with self.store.read() as tx:
            yield tx, now

    async def _state(self, tx: Transaction, proposal_id: str) -> ProposalState:
        state = await tx.get_proposal(proposal_id)
        if state is None:
            raise self._unknown_proposal(proposal_id)
        return state

    @staticmethod
    def _unknown_proposal(proposal_id: str) -> NotFound:
        return NotFound("proposal", proposal_id, hint="Use list_proposals or search_proposals to find ids.")

    async def apply_due_deadlines(self, now: datetime | None = None) -> list[str]:
        """Process every passed deadline; return the ids this call processed."""
        now = now or self.clock.now()
        async with self.store.read() as tx:
            due = await tx.due_proposals(now)
        return await self._apply_deadlines(due, now) if due else []

    async def _apply_deadlines(self, due: list[str], now: datetime) -> list[str]:
        processed = []
        async with self.store.write() as tx:
            for proposal_id in due:
                _, moved = await engine.apply_deadline(tx, self.config, proposal_id, now)
                if moved:
                    processed.append(proposal_id)
        return processed

    async def _proposal(self, tx: Transaction, state: ProposalState, version: int | None = None) -> Proposal:
        number = state.version if version is None else version
        v = await tx.get_version(state.id, number)
        if v is None:
            raise NotFound(
                "version",
                number,
                hint=f"{state.id} has versions 1 to {state.version}; use get_proposal_history.",
            )
        return Proposal(
            **v.content.model_dump(),
            id=state.id,
            type=ProposalType(state.type),
            status=state.status,
            phase=phase_of(state.status),
            author=state.author,
            version=v.version,
            latest_version=state.version,
            change_note=v.change_note,
            content_hash=v.content_hash,
            round=state.round,
            revision_rounds=state.revision_rounds,
            deadline=state.deadline,
            outcome_reason=state.outcome_reason,
            created_at=state.created_at,
            updated_at=state.updated_at,
        )

    async def _proposal_receipt(self, tx: Transaction, state: ProposalState, receipt: Receipt) -> ProposalReceipt:
        proposal = await self._proposal(tx, state)
        return ProposalReceipt(**proposal.model_dump(), receipt=receipt)

    async def _check_dependencies(self, tx: Transaction, deps: Sequence[str], *, own_id: str | None) -> list[str]:
        if len(deps) > limits.MAX_DEPENDENCIES:
            raise InvalidInput("dependencies", f"has {len(deps)} entries; the limit is {limits.MAX_DEPENDENCIES}")
        unique = list(dict.fromkeys(deps))
        for dep in unique:
            if dep == own_id:
                raise InvalidInput("dependencies", f"{dep} can't depend on itself")
            if await tx.get_proposal(dep) is None:
                raise NotFound("proposal", dep, hint="Dependencies must name existing proposals (see list_proposals).")
        return unique

    @staticmethod
    def _check_content(content: ProposalContent) -> None:
        limits.check_title(content.title)
        for name in ("abstract", "motivation", "specification", "implementation"):
            limits.check_text(
                name,
                getattr(content, name),
                max_bytes=limits.MAX_FIELD_BYTES,
                required=name != "implementation",
            )

    @staticmethod
    def _reason(field: str, value: str) -> str:
        return limits.check_text(field, value, max_bytes=limits.MAX_REASON_BYTES)
