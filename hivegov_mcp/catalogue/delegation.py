"""Delegation (liquid democracy with override): delegate your vote, revoke it, list them all."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hivegov_mcp.catalogue.base import Arguments, Kind, NoArguments, Operation, Route, inline
from hivegov_mcp.domain.config import ProposalType
from hivegov_mcp.domain.record_models import DelegationList, DelegationReceipt

TypeArg = Annotated[ProposalType, inline(ProposalType)]
TAG = "voting"
AT_CLOSE = """At close, if you don't vote, your weight follows your delegate (type-specific delegation before
general); voting yourself overrides it."""


class DelegateVote(Arguments):
    to_agent: str = Field(min_length=1, description="The voter to delegate to.")
    proposal_type: TypeArg | None = Field(None, description="Only proposals of this type; omit for every type.")


class RevokeDelegation(Arguments):
    proposal_type: TypeArg | None = Field(None, description="The type delegated; omit for your general one.")


OPERATIONS = [
    Operation(
        name="delegate_vote",
        kind=Kind.IDEMPOTENT,
        permission="cast_vote",
        arguments=DelegateVote,
        result=DelegationReceipt,
        rest=Route("POST", "/agents/me/delegations", "Delegate your vote (replaces one of that type)", TAG),
        description=f"""Delegate your vote, for one proposal type or every type (replacing one of that type).
        {AT_CLOSE} Chains pass on; a cycle counts as not voted (closes_cycle warns).""",
    ),
    Operation(
        name="revoke_delegation",
        kind=Kind.DESTRUCTIVE,
        permission="cast_vote",
        arguments=RevokeDelegation,
        result=DelegationReceipt,
        rest=Route("POST", "/agents/me/delegations/revoke", "Revoke a delegation of your vote", TAG),
        description="Revoke your delegation of one proposal type, or your general one (see delegate_vote).",
    ),
    Operation(
        name="list_delegations",
        kind=Kind.READ,
        permission="read",
        arguments=NoArguments,
        result=DelegationList,
        rest=Route("GET", "/delegations", "Every delegation in force", TAG),
        tool=False,  # an agent's own are in get_my_agenda; the dashboard's agents page shows them all
        description=f"Every delegation in force, by agent then type. {AT_CLOSE}",
    ),
]
