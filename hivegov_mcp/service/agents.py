"""Agent operations: authenticate a token, register, change roles, deactivate, activate, rotate;
and an agent's report of the model usage it spent."""

from __future__ import annotations

import json
from collections.abc import Sequence

from hivegov_mcp.domain import limits, replay_registry
from hivegov_mcp.domain.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from hivegov_mcp.domain.identity import MAX_WEIGHT, check_roles, hash_token, new_token
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.oauth import is_access_token
from hivegov_mcp.domain.permissions import require
from hivegov_mcp.domain.record_models import AgentList, AgentReceipt, ModelUsageReceipt, RegisteredAgent
from hivegov_mcp.service import guards
from hivegov_mcp.service.base import is_system, reads, writes
from hivegov_mcp.service.oauth import OAuthOperations
from hivegov_mcp.store.base import Transaction

MAX_CHECKED_TOKENS = 100_000  # (agent, token hash) pairs checked against the log, kept per process


class AgentOperations(OAuthOperations):
    """Agents, and the credentials that act as one: its token, and OAuth grants (OAuthOperations)."""

    async def authenticate(self, token: str | None, *, resource: str | None = None) -> Agent:
        """The agent a token belongs to; NotAuthenticated when there is none or it is inactive.
        An OAuth access token works only at the `resource` (MCP endpoint URL) it was issued for."""
        if not token:
            raise NotAuthenticated("no agent token was given")
        if is_access_token(token):
            if resource is None:
                raise NotAuthenticated(
                    "an OAuth access token works only at the MCP endpoint it was issued for",
                    "Use an agent token (from `hivegov-mcp agent add`) here.",
                )
            return await self.authenticate_access(token, resource)
        token_hash = hash_token(token)
        async with self.store.lookup() as tx:
            agent = await tx.agent_by_token_hash(token_hash)
        if agent is not None and (agent.id, token_hash) not in self._tokens_checked:
            agent = await self._check_token(token_hash)
        if agent is None:
            async with self.store.lookup() as tx:
                held = await tx.count_agents()
            raise NotAuthenticated(
                "the token matches no agent",
                "The token may have been rotated: ask an operator for the agent's current token "
                "(`hivegov-mcp agent rotate-token ID` issues a new one), or to register an agent "
                "(`hivegov-mcp agent add ID --role …`).",
                database=f"The database is {self.store.path}, which holds {held} agent{'' if held == 1 else 's'}: "
                "if that is not the one you meant, give the right --db (or HIVEGOV_DB).",
            )
        if not agent.active:
            raise NotAuthenticated(
                f"agent {agent.id!r} has been deactivated",
                f"An admin can activate it again (`hivegov-mcp agent activate {agent.id}`).",
            )
        return agent

    async def _check_token(self, token_hash: str) -> Agent | None:
        """The agent a token hash belongs to, once its token is checked against the one the log
        last issued to it (`token_sha256`): a token hash copied onto another agent's row is
        refused (LogTampered). One snapshot, so a rotation meanwhile is not mistaken for an edit;
        each (agent, token) is checked once per process."""
        async with self.store.read() as tx:
            agent = await tx.agent_by_token_hash(token_hash)
            if agent is None:
                return None
            events = await tx.audit_events_of(f"agent:{agent.id}", replay_registry.TOKEN_EVENTS)
            issued = json.loads(events[-1].payload).get("token_sha256") if events else None
            if isinstance(issued, str) and issued != replay_registry.token_digest(token_hash):
                raise guards.tampered(
                    tx,
                    "agents",
                    f"{agent.id}'s token_hash is not the token the log last issued to it",
                    events[-1].seq,
                )
        if len(self._tokens_checked) > MAX_CHECKED_TOKENS:
            self._tokens_checked.clear()
        self._tokens_checked.add((agent.id, token_hash))
        return agent

    async def whoami(self, actor: Agent) -> Agent:
        return actor

    @staticmethod
    async def _agent(tx: Transaction, agent_id: str) -> Agent:
        agent = await tx.get_agent(agent_id)
        if agent is None:
            raise NotFound("agent", agent_id, hint="The list of agents shows the registered ids.")
        return agent

    @writes
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
        limits.check_encodable("agent_id", agent_id)
        limits.check_agent_id(agent_id)
        clean_roles = check_roles(roles, allow_empty=False)
        name = display_name if display_name is not None else agent_id
        limits.check_text("display_name", name, max_bytes=limits.MAX_TITLE)
        if not 1 <= weight <= MAX_WEIGHT:
            raise InvalidInput("weight", f"{weight} must be between 1 and {MAX_WEIGHT}")
        token = new_token()
        async with self._begin(actor) as (tx, now):
            if await tx.get_agent(agent_id) is not None:
                raise Conflict(
                    f"Agent {agent_id!r} already exists.",
                    "Pick another id, or rotate its token to get a new one (`hivegov-mcp agent rotate-token ID`).",
                )
            agent = Agent(id=agent_id, display_name=name, roles=clean_roles, weight=weight, active=True, created_at=now)
            await tx.insert_agent(agent, hash_token(token))
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="register_agent",
                subject=f"agent:{agent_id}",
                payload={
                    "roles": clean_roles,
                    "weight": weight,
                    "display_name": name,
                    "token_sha256": replay_registry.token_digest(hash_token(token)),
                },
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
        limits.check_encodable("agent_id", agent_id)
        async with self._begin(actor) as (tx, now):
            before = await self._agent(tx, agent_id)
            if active is not None and before.active is active:
                state = "active" if active else "deactivated"
                raise Conflict(f"Agent {agent_id!r} is already {state}; nothing to do.")
            await tx.update_agent(agent_id, roles=roles, active=active, token_hash=token_hash)
            payload: dict[str, object] = {} if roles is None else {"from": before.roles, "to": list(roles)}
            if token_hash is not None:
                payload["token_sha256"] = replay_registry.token_digest(token_hash)
            receipt = await tx.append_audit(
                at=now, actor=actor.id, action=action, subject=f"agent:{agent_id}", payload=payload
            )
            if active is False:  # its OAuth grants end with it: reactivated, it is asked again
                for listed in await tx.live_oauth_grants(agent_id):
                    await self._revoke(tx, listed.grant, "agent deactivated", actor=actor.id)
            after = await self._agent(tx, agent_id)
        return AgentReceipt(**after.model_dump(), receipt=receipt)

    @writes
    async def set_agent_roles(self, actor: Agent, agent_id: str, roles: Sequence[str]) -> AgentReceipt:
        require(actor.id, "set_agent_roles", actor.roles)
        clean_roles = check_roles(roles, allow_empty=True)
        return await self._update_agent(actor, agent_id, "set_agent_roles", roles=clean_roles)

    @writes
    async def deactivate_agent(self, actor: Agent, agent_id: str) -> AgentReceipt:
        require(actor.id, "deactivate_agent", actor.roles)
        if agent_id == actor.id:
            raise Conflict(
                f"Agent {agent_id!r} can't deactivate itself.",
                "Another admin can, or the local administrator (`hivegov-mcp agent deactivate ID`).",
            )
        return await self._update_agent(actor, agent_id, "deactivate_agent", active=False)

    @writes
    async def activate_agent(self, actor: Agent, agent_id: str) -> AgentReceipt:
        """Undo a deactivation: the agent's current token works again."""
        require(actor.id, "activate_agent", actor.roles)
        return await self._update_agent(actor, agent_id, "activate_agent", active=True)

    @writes
    async def rotate_token(self, actor: Agent, agent_id: str) -> RegisteredAgent:
        """A new token for the agent; the old one stops working at once."""
        require(actor.id, "rotate_token", actor.roles)
        token = new_token()
        changed = await self._update_agent(actor, agent_id, "rotate_token", token_hash=hash_token(token))
        return RegisteredAgent(**changed.model_dump(), token=token)

    @reads
    async def list_agents(self, actor: Agent, role: str | None = None) -> AgentList:
        if role is not None:
            check_roles([role], allow_empty=False)
        async with self.store.read() as tx:
            return AgentList(agents=await tx.list_agents(role))

    @writes
    async def report_model_usage(
        self,
        actor: Agent,
        model: str,
        *,
        requests: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
    ) -> ModelUsageReceipt:
        """Log the model usage the calling agent spent acting (a council member reports it after
        each agenda item): one model_usage_reported event on agent:ID, through the one write path
        (the write limit counts it), and no row: the metrics sum it from the log."""
        require(actor.id, "report_model_usage", actor.roles)
        if is_system(actor):
            raise PermissionDenied(
                actor.id,
                "report_model_usage",
                ["to be a registered agent"],
                detail="usage is reported with the token of the agent that spent it",
            )
        if len(model) > limits.MAX_MODEL_NAME:
            raise InvalidInput(
                "model", f"is {len(model)} characters; the limit is {limits.MAX_MODEL_NAME} (a model's name)"
            )
        limits.check_text("model", model, max_bytes=4 * limits.MAX_MODEL_NAME)
        if not model.isprintable():
            raise InvalidInput("model", f"{model[:40]!r} must be one line of printable characters (a model's name)")
        counts = {"requests": requests, "input_tokens": input_tokens, "output_tokens": output_tokens}
        for name, value in counts.items():
            top = limits.MAX_MODEL_REQUESTS if name == "requests" else limits.MAX_MODEL_TOKENS
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise InvalidInput(name, f"{value!r} must be a whole number from 0 to {top:,}")
        if not any(counts.values()):
            raise InvalidInput(
                "requests/input_tokens/output_tokens",
                "are all 0; report at least one request or token spent (nothing was recorded)",
            )
        async with self._begin(actor) as (tx, now):
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action=replay_registry.MODEL_USAGE,
                subject=f"agent:{actor.id}",
                payload={"model": model, **counts},
            )
        return ModelUsageReceipt(receipt=receipt)
