"""The store's SQL, one module per aggregate, the same statements for both engines, each
written against the engine's `Dialect` (hivegov_mcp.store.dialect):

    agents.py      agents, the rules, the write limit's count
    proposals.py   proposals, versions (and their search rows), discussion rounds
    discussion.py  comments (and their search rows), a round's stored summary, moderation
    voting.py      the electorate, ballots, the tally
    delegations.py delegations per agent and proposal type, the map the count follows
    aftervote.py   appeals, executions, validations, published summaries
    agenda.py      what may need an agent, across the others
    audit.py       the log, its Merkle tree, checkpoints, the append-only guards
    webhooks.py    webhooks and their deliveries
    oauth.py       OAuth clients, grants, codes and tokens (hashed)

`Queries` is all of them: an engine's transaction class adds its dialect, how it runs a
statement (`executor.Executor`) and its search.
"""

from __future__ import annotations

from hivegov_mcp.store.sql.aftervote import AfterVoteSQL
from hivegov_mcp.store.sql.agenda import AgendaSQL
from hivegov_mcp.store.sql.agents import AgentSQL, RulesSQL
from hivegov_mcp.store.sql.audit import AuditSQL
from hivegov_mcp.store.sql.delegations import DelegationSQL
from hivegov_mcp.store.sql.discussion import DiscussionSQL
from hivegov_mcp.store.sql.executor import Executor, Params
from hivegov_mcp.store.sql.oauth import OAuthSQL
from hivegov_mcp.store.sql.proposals import ProposalSQL
from hivegov_mcp.store.sql.voting import VotingSQL
from hivegov_mcp.store.sql.webhooks import WebhookSQL

__all__ = ["Executor", "Params", "Queries"]


class Queries(
    RulesSQL,
    AgentSQL,
    ProposalSQL,
    DiscussionSQL,
    VotingSQL,
    DelegationSQL,
    AfterVoteSQL,
    AgendaSQL,
    AuditSQL,
    WebhookSQL,
    OAuthSQL,
):
    """Every query but search, in the dialect of the engine that subclasses it."""
