"""Identities: tokens (stored as SHA-256 only), registration, roles, deactivation."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from hivegov_mcp.clock import Clock
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.models import Agent, AgentList, AgentReceipt, RegisteredAgent
from hivegov_mcp.domain.permissions import Role, require
from hivegov_mcp.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from hivegov_mcp.store.base import Store, Transaction

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
    if bad:
        raise InvalidInput("roles", f"{', '.join(map(repr, bad))} unknown; roles are {', '.join(sorted(known))}")
    if not roles and not allow_empty:
        raise InvalidInput("roles", "give at least one role (e.g. proposer, discussant, voter)")
    return sorted(set(roles))


class AgentDirectory:
    """Agent operations; the base of the governance service."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def authenticate(self, token: str | None) -> Agent:
        """The agent a token belongs to; NotAuthenticated when there is none or it is inactive."""
        if not token:
            raise NotAuthenticated("this server was started without HIVEGOV_TOKEN")
        async with self.store.read() as tx:
            agent = await tx.agent_by_token_hash(hash_token(token))
        if agent is None:
            raise NotAuthenticated("the token in HIVEGOV_TOKEN matches no agent (was it rotated?)")
        if not agent.active:
            raise NotAuthenticated(f"agent {agent.id!r} has been deactivated")
        return agent

    async def whoami(self, actor: Agent) -> Agent:
        return actor

    async def _agent(self, tx: Transaction, agent_id: str) -> Agent:
        agent = await tx.get_agent(agent_id)
        if agent is None:
            raise NotFound("agent", agent_id, hint="list_agents shows the registered agents.")
        return agent

    async def register_agent(
        self,
        actor: Agent,
        agent_id: str,
        roles: Sequence[str],
        *,
        display_name: str | None = None,
        weight: int = 1,
    ) -> RegisteredAgent:
        require(actor.id, "register_agent", actor.roles)
        limits.check_agent_id(agent_id)
        clean_roles = check_roles(roles, allow_empty=False)
        name = display_name if display_name is not None else agent_id
        limits.check_text("display_name", name, max_bytes=limits.MAX_TITLE)
        if not 1 <= weight <= MAX_WEIGHT:
            raise InvalidInput("weight", f"{weight} must be between 1 and {MAX_WEIGHT}")
        token = new_token()
        async with self.store.write() as tx:
            now = self.clock.now()
            if await tx.get_agent(agent_id) is not None:
                raise Conflict(f"Agent {agent_id!r} already exists; pick another id or rotate its token.")
            agent = Agent(id=agent_id, display_name=name, roles=clean_roles, weight=weight, active=True, created_at=now)
            await tx.insert_agent(agent, hash_token(token))
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="register_agent",
                subject=f"agent:{agent_id}",
                payload={"roles": clean_roles, "weight": weight, "display_name": name},
            )
        return RegisteredAgent(**agent.model_dump(), receipt=receipt, token=token)

    async def _update_agent(
        self,
        actor: Agent,
        agent_id: str,
        action: str,
        *,
        roles: Sequence[str] | None = None,
        active: bool | None = None,
        token_hash: str | None = None,
    ) -> AgentReceipt:
        """Change one agent and append its audit event, in one transaction."""
        async with self.store.write() as tx:
            before = await self._agent(tx, agent_id)
            if active is False and not before.active:
                raise Conflict(f"Agent {agent_id!r} is already deactivated.")
            await tx.update_agent(agent_id, roles=roles, active=active, token_hash=token_hash)
            payload: dict[str, object] = {} if roles is None else {"from": before.roles, "to": list(roles)}
            receipt = await tx.append_audit(
                at=self.clock.now(), actor=actor.id, action=action, subject=f"agent:{agent_id}", payload=payload
            )
            after = await self._agent(tx, agent_id)
        return AgentReceipt(**after.model_dump(), receipt=receipt)

    async def set_agent_roles(self, actor: Agent, agent_id: str, roles: Sequence[str]) -> AgentReceipt:
        require(actor.id, "set_agent_roles", actor.roles)
        clean_roles = check_roles(roles, allow_empty=True)
        return await self._update_agent(actor, agent_id, "set_agent_roles", roles=clean_roles)

    async def deactivate_agent(self, actor: Agent, agent_id: str) -> AgentReceipt:
        require(actor.id, "deactivate_agent", actor.roles)
        return await self._update_agent(actor, agent_id, "deactivate_agent", active=False)

    async def rotate_token(self, actor: Agent, agent_id: str) -> RegisteredAgent:
        """A new token for the agent; the old one stops working at once."""
        require(actor.id, "register_agent", actor.roles)
        token = new_token()
        changed = await self._update_agent(actor, agent_id, "rotate_token", token_hash=hash_token(token))
        return RegisteredAgent(**changed.model_dump(), token=token)

    async def list_agents(self, actor: Agent, role: str | None = None) -> AgentList:
        if role is not None:
            check_roles([role], allow_empty=False)
        async with self.store.read() as tx:
            return AgentList(agents=await tx.list_agents(role))
