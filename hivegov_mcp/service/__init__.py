"""One operation per use case: load, apply due deadlines, check the rules, write + audit in
one transaction, and return a public model with its receipt.

The acting agent is always an explicit argument. Reads first settle any deadline that has
passed (in a write transaction of their own), so correctness never depends on the ticker.
Build the service with `hivegov_mcp.app.open_service`, the one factory every front door uses.
"""

from __future__ import annotations

from hivegov_mcp.service.aftervote import AfterVoteOperations, ReviewOperations
from hivegov_mcp.service.agents import AgentOperations
from hivegov_mcp.service.delegation import DelegationOperations
from hivegov_mcp.service.discussion import DiscussionOperations
from hivegov_mcp.service.merkle import MerkleOperations
from hivegov_mcp.service.proposals import ProposalOperations
from hivegov_mcp.service.records import AgendaOperations, MetricsOperations, RecordOperations
from hivegov_mcp.service.rules import RulesOperations
from hivegov_mcp.service.verify import VerifyOperations
from hivegov_mcp.service.voting import VotingOperations
from hivegov_mcp.service.webhooks import WebhookOperations

__all__ = ["GovernanceService"]


class GovernanceService(
    AgentOperations,
    RulesOperations,
    ProposalOperations,
    DiscussionOperations,
    VotingOperations,
    DelegationOperations,
    ReviewOperations,
    AfterVoteOperations,
    RecordOperations,
    MetricsOperations,
    AgendaOperations,
    WebhookOperations,
    MerkleOperations,
    VerifyOperations,
):
    """Every governance operation. Build it with `open_service` (store, rules and clock)."""
