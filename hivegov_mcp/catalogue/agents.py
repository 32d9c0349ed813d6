"""Identity: who you are, who is registered, the admin's moves on agents, and an agent's report
of the model usage it spent."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hivegov_mcp.catalogue.base import Arguments, Kind, NoArguments, Operation, Route, inline
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.permissions import Role
from hivegov_mcp.domain.record_models import AgentList, AgentReceipt, ModelUsageReceipt, RegisteredAgent

RoleArg = Annotated[Role, inline(Role)]
TAG = "agents"


class ListAgents(Arguments):
    role: RoleArg | None = Field(None, description="Only agents holding this role.")


class RegisterAgent(Arguments):
    agent_id: str = Field(min_length=1, description="New agent id: lowercase letters, digits, - and _.")
    roles: list[RoleArg] = Field(description="Roles to grant, e.g. [proposer, voter].")
    display_name: str | None = Field(None, description="Human-readable name; defaults to the id.")
    weight: int = Field(1, description="Voting weight (default 1).", ge=1)


class SetAgentRoles(Arguments):
    agent_id: str = Field(min_length=1, description="The agent to change.")
    roles: list[RoleArg] = Field(description="The complete new list of roles (replaces the old).")


class DeactivateAgent(Arguments):
    agent_id: str = Field(min_length=1, description="The agent to deactivate.")


class ActivateAgent(Arguments):
    agent_id: str = Field(min_length=1, description="The deactivated agent to activate again.")


class RotateToken(Arguments):
    agent_id: str = Field(min_length=1, description="The agent whose token to replace.")


class ReportModelUsage(Arguments):
    model: str = Field(min_length=1, max_length=limits.MAX_MODEL_NAME, description="The model's name.")
    requests: int = Field(0, description="Requests made.", ge=0, le=limits.MAX_MODEL_REQUESTS)
    input_tokens: int = Field(0, description="Input tokens.", ge=0, le=limits.MAX_MODEL_TOKENS)
    output_tokens: int = Field(0, description="Output tokens.", ge=0, le=limits.MAX_MODEL_TOKENS)


OPERATIONS = [
    Operation(
        name="whoami",
        kind=Kind.READ,
        permission="read",
        arguments=NoArguments,
        result=Agent,
        rest=Route("GET", "/agents/me", "The agent of the token", TAG),
        description="Show the agent you act as: its id, roles and voting weight.",
    ),
    Operation(
        name="list_agents",
        command="agent list",
        kind=Kind.READ,
        permission="read",
        arguments=ListAgents,
        result=AgentList,
        rest=Route("GET", "/agents", "List agents", TAG),
        description="List registered agents with their roles, weights and whether they are active.",
    ),
    Operation(
        name="register_agent",
        command="agent add",
        kind=Kind.WRITE,
        permission="register_agent",
        arguments=RegisterAgent,
        result=RegisteredAgent,
        rest=Route("POST", "/agents", "Register an agent (admin; the token once)", TAG, status=201),
        description="""Register an agent (admin only). The result holds its token ONCE: hand it to the agent's
        operator to put in HIVEGOV_TOKEN; it can't be shown again (rotate it with the CLI if lost).""",
    ),
    Operation(
        name="set_agent_roles",
        command="agent roles",
        kind=Kind.IDEMPOTENT,
        permission="set_agent_roles",
        arguments=SetAgentRoles,
        result=AgentReceipt,
        rest=Route("PUT", "/agents/{agent_id}/roles", "Replace an agent's roles (admin)", TAG),
        description="Replace an agent's roles (admin only). Voting eligibility already frozen is not affected.",
    ),
    Operation(
        name="deactivate_agent",
        command="agent deactivate",
        kind=Kind.DESTRUCTIVE,
        permission="deactivate_agent",
        arguments=DeactivateAgent,
        result=AgentReceipt,
        rest=Route("POST", "/agents/{agent_id}/deactivate", "Deactivate an agent (admin)", TAG),
        description="""Deactivate an agent (admin only): its token stops working at once; its history stays.
        activate_agent undoes it.""",
    ),
    Operation(
        name="activate_agent",
        command="agent activate",
        kind=Kind.IDEMPOTENT,
        permission="activate_agent",
        arguments=ActivateAgent,
        result=AgentReceipt,
        rest=Route("POST", "/agents/{agent_id}/activate", "Activate an agent again (admin)", TAG),
        description="Activate a deactivated agent again (admin only): its current token works again.",
    ),
    Operation(
        name="rotate_token",
        command="agent rotate-token",
        kind=Kind.WRITE,
        permission="rotate_token",
        arguments=RotateToken,
        result=RegisteredAgent,
        tool=False,  # the command line's `agent rotate-token`: a lost token is an operator's matter
        description="Give an agent a new token (admin only); the old one stops working at once.",
    ),
    Operation(
        name="report_model_usage",
        kind=Kind.WRITE,
        permission="report_model_usage",
        arguments=ReportModelUsage,
        result=ModelUsageReceipt,
        rest=Route("POST", "/agents/me/model-usage", "Report the model usage the agent spent", TAG, status=201),
        description="""Report the model usage you spent (a count above 0); reporters see it per agent in
        get_governance_metrics.""",
    ),
]
