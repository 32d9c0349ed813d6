"""Delegation, liquid democracy with override (DESIGN §20): a voter delegates its vote, for one
proposal type or for every type, and revokes it. Each change is a row of `delegations` and an
audit event on `agent:ID`, in one transaction; the count at close follows the delegations then in
force (`Transaction.delegation_map`, resolved by `domain.delegation.resolve_delegations`).

A delegation to an agent that delegates in turn is a chain; one that comes back to its agent is a
cycle, allowed (it counts as not voted at close) and named in the receipt."""

from __future__ import annotations

from collections.abc import Mapping

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.errors import Conflict, InvalidInput, NotFound
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.permissions import Role, require
from hivegov_mcp.domain.record_models import Delegation, DelegationList, DelegationReceipt
from hivegov_mcp.service.base import ServiceBase, reads, writes
from hivegov_mcp.store.base import Transaction

DELEGATE = "delegate_vote"  # payload {"to", "proposal_type" (null: every type), "replaces" (null: none)}
REVOKE = "revoke_delegation"  # payload {"proposal_type", "was"}


def cycle_from(agent: str, delegations: Mapping[str, str]) -> list[str] | None:
    """The chain from `agent` back to itself when following `delegations` returns to it (a cycle
    through it), else None (the chain ends, or runs into a cycle that does not pass through it)."""
    chain, seen = [agent], {agent}
    step = delegations.get(agent)
    while step is not None:
        chain.append(step)
        if step == agent:
            return chain
        if step in seen:
            return None
        seen.add(step)
        step = delegations.get(step)
    return None


def _kind(proposal_type: str | None) -> ProposalType | None:
    if proposal_type is None:
        return None
    try:
        return ProposalType(proposal_type)
    except ValueError:
        allowed = ", ".join(t.value for t in ProposalType)
        raise InvalidInput(
            "proposal_type", f"{proposal_type!r} is not a proposal type: {allowed}, or omit it for every type"
        ) from None


def _label(kind: ProposalType | None) -> str:
    return "every type" if kind is None else kind.value


class DelegationOperations(ServiceBase):
    @writes
    async def delegate_vote(self, actor: Agent, to_agent: str, proposal_type: str | None = None) -> DelegationReceipt:
        """Delegate the caller's vote on proposals of `proposal_type` (None: every type) to
        `to_agent`, replacing its delegation of that type if it had one."""
        require(actor.id, "cast_vote", actor.roles)
        kind = _kind(proposal_type)
        limits.check_encodable("to_agent", to_agent)
        if to_agent == actor.id:
            raise InvalidInput("to_agent", f"{to_agent!r} is you: delegate to another voter, or just vote")
        async with self._begin_settled(actor) as (tx, now):
            delegate = await tx.get_agent(to_agent)
            if delegate is None:
                raise NotFound("agent", to_agent, hint="list_agents with role=voter shows whom you can delegate to.")
            if not delegate.active:
                raise InvalidInput("to_agent", f"{to_agent!r} has been deactivated; delegate to an active voter")
            if Role.VOTER not in delegate.roles:
                raise InvalidInput(
                    "to_agent",
                    f"{to_agent!r} does not hold the voter role, so it could neither vote nor pass your weight on; "
                    "delegate to a voter (list_agents with role=voter)",
                )
            held = {d.proposal_type: d.to_agent for d in await tx.delegations_of(actor.id)}
            if held.get(kind) == to_agent:
                raise Conflict(
                    f"You already delegate your votes on {_label(kind)} to {to_agent!r}; nothing to do.",
                    "get_my_agenda lists your delegations.",
                )
            replaced = await tx.set_delegation(actor.id, None if kind is None else kind.value, to_agent, now)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action=DELEGATE,
                subject=f"agent:{actor.id}",
                payload={"to": to_agent, "proposal_type": None if kind is None else kind.value, "replaces": replaced},
            )
            cycle = await self._cycle_closed(tx, actor.id, kind, to_agent)
        made = Delegation(agent_id=actor.id, to_agent=to_agent, proposal_type=kind, since=now)
        return DelegationReceipt(delegation=made, replaced=replaced, closes_cycle=cycle, receipt=receipt)

    @writes
    async def revoke_delegation(self, actor: Agent, proposal_type: str | None = None) -> DelegationReceipt:
        """Revoke the caller's delegation of `proposal_type` (None: its delegation of every type).
        An agent that lost the voter role may still revoke a delegation it holds."""
        kind = _kind(proposal_type)
        async with self._begin_settled(actor) as (tx, now):
            held = {d.proposal_type: d for d in await tx.delegations_of(actor.id)}
            revoked = held.get(kind)
            if revoked is None:
                require(actor.id, "cast_vote", actor.roles)
                yours = "; ".join(f"{_label(d.proposal_type)} to {d.to_agent}" for d in held.values())
                raise NotFound(
                    "delegation of your votes on",
                    _label(kind),
                    hint=f"Yours: {yours}." if yours else "You delegate no votes.",
                )
            await tx.remove_delegation(actor.id, None if kind is None else kind.value)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action=REVOKE,
                subject=f"agent:{actor.id}",
                payload={"proposal_type": None if kind is None else kind.value, "was": revoked.to_agent},
            )
        return DelegationReceipt(delegation=revoked, replaced=None, closes_cycle=None, receipt=receipt)

    @reads
    async def list_delegations(self, actor: Agent) -> DelegationList:
        """Every delegation in force, by agent then type (a general delegation first)."""
        async with self.store.read() as tx:
            return DelegationList(delegations=await tx.all_delegations())

    @staticmethod
    async def _cycle_closed(tx: Transaction, agent: str, kind: ProposalType | None, to_agent: str) -> list[str] | None:
        """The cycle the new delegation closes, for a type it now decides (a general delegation
        does not decide the types the agent delegates separately)."""
        for each in [kind] if kind is not None else list(ProposalType):
            delegations = await tx.delegation_map(each.value)
            if delegations.get(agent) != to_agent:
                continue
            cycle = cycle_from(agent, delegations)
            if cycle is not None:
                return cycle
        return None
