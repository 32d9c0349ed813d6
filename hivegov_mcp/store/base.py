"""The store interface the service uses (DESIGN §8), so that another store can be added.

A store hands out transactions: `read()` for a consistent snapshot, `write()` for the one
write path (serialized across processes, committed whole or not at all). Every query lives
on the transaction object, whose contract is one Protocol per aggregate below; `Transaction`
is their union. Both stores implement them with the same SQL (`hivegov_mcp.store.sql`, one
module per aggregate, written against each engine's dialect).

Writing an operation (a method the service marks `@writes`, run by `Store.submit`, or
`@reads`, run by `Store.run_read`): it may await the statements of its own transaction and
nothing else — no sleep, lock, network call or other task. On SQLite the whole operation runs
on the database's thread, driven by one `send`, so anything else would suspend it where no
event loop can resume it; on PostgreSQL a write would hold every instance's write lock while
it waits. `hivegov_mcp.store.group_commit.GroupCommit` states the rule in full, with how
operations are batched, cancelled and failed.

    Store ─ read(), lookup(), run_read()   snapshots (a read operation: the read budget)
          ─ submit(op) → GroupCommit      queued, batched: one transaction, a savepoint each
          ─ write()                        inside an operation: a savepoint of its own
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar

from hivegov_mcp.domain.audit import StoredEvent
from hivegov_mcp.domain.merkle import Node
from hivegov_mcp.domain.models import (
    Agent,
    Appeal,
    Comment,
    ExecutionAttempt,
    HiddenComment,
    PublishedSummary,
    Receipt,
    RoundInfo,
    Validation,
)
from hivegov_mcp.domain.oauth import Grant, ListedGrant, StoredCode, StoredToken
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.record_models import Delegation, Webhook
from hivegov_mcp.domain.tally import Tally
from hivegov_mcp.domain.vote_models import Ballot
from hivegov_mcp.store.values import (
    AgendaRow,
    CommentRow,
    CountRecords,
    NewComment,
    ProposalState,
    RawHit,
    StoredCheckpoint,
    StoredRules,
    StoredSummary,
    StoredVote,
    Version,
    VoterStanding,
)

__all__ = [
    "BUSY_TIMEOUT_MS",
    "READ_BUDGET_S",
    "AfterVoteQueries",
    "AgendaQueries",
    "AgendaRow",
    "AgentQueries",
    "AuditQueries",
    "CommentRow",
    "DelegationQueries",
    "DiscussionQueries",
    "NewComment",
    "OAuthQueries",
    "ProposalQueries",
    "ProposalState",
    "RawHit",
    "RulesQueries",
    "SearchQueries",
    "Store",
    "StoredCheckpoint",
    "StoredRules",
    "StoredSummary",
    "StoredVote",
    "Transaction",
    "Version",
    "VoterStanding",
    "VotingQueries",
    "WebhookQueries",
]

T = TypeVar("T")
BUSY_TIMEOUT_MS = 30_000  # how long a write waits for another process's (or instance's) write lock: then StoreBusy
READ_BUDGET_S = 2.0  # a read operation's statements are stopped past this: ReadTooCostly


class RulesQueries(Protocol):
    """The rules, every version kept (hivegov_mcp.store.sql.agents)."""

    async def current_rules(self) -> StoredRules | None: ...
    async def rules_version(self, version: int) -> StoredRules | None: ...
    async def all_rules(self) -> list[StoredRules]: ...
    async def insert_rules(self, rules: StoredRules) -> None: ...


class AgentQueries(Protocol):
    """Agents, and how much each wrote lately (the write limit) (hivegov_mcp.store.sql.agents)."""

    async def insert_agent(self, agent: Agent, token_hash: str) -> None: ...
    async def get_agent(self, agent_id: str) -> Agent | None: ...
    async def agent_by_token_hash(self, token_hash: str) -> Agent | None: ...
    async def list_agents(self, role: str | None = None) -> list[Agent]: ...
    async def agent_identities(self) -> dict[str, tuple[str, str]]:
        """Every agent's (display_name, token_hash), by id."""
        ...

    async def count_agents(self) -> int: ...
    async def count_active_agents(self) -> int: ...
    async def update_agent(
        self,
        agent_id: str,
        *,
        roles: Sequence[str] | None = None,
        active: bool | None = None,
        token_hash: str | None = None,
    ) -> None: ...
    async def count_writes_since(self, actor: str, since: datetime) -> tuple[int, datetime | None]:
        """How many audit events `actor` appended after `since`, and when the oldest of them was."""
        ...


class ProposalQueries(Protocol):
    """Proposals, their versions (inserting one also indexes it for search) and their discussion
    rounds (hivegov_mcp.store.sql.proposals)."""

    async def next_proposal_number(self) -> int: ...
    async def insert_proposal(self, state: ProposalState) -> None: ...
    async def get_proposal(self, proposal_id: str) -> ProposalState | None: ...
    async def save_proposal(self, state: ProposalState) -> None: ...
    async def proposals_after(self, number: int, limit: int) -> list[ProposalState]: ...
    async def list_proposals(
        self,
        *,
        status: str | None,
        type: str | None,
        author: str | None,
        before_number: int | None,
        limit: int,
    ) -> list[tuple[ProposalState, str]]: ...
    async def due_proposals(self, now: datetime, statuses: Sequence[Status]) -> list[str]: ...
    async def count_by_status(self) -> dict[str, int]: ...
    async def next_deadlines(self, limit: int) -> list[ProposalState]: ...
    async def insert_version(self, version: Version) -> None: ...
    async def get_version(self, proposal_id: str, version: int) -> Version | None: ...
    async def list_versions(self, proposal_id: str) -> list[Version]: ...
    async def insert_round(self, proposal_id: str, round_: int, started_at: datetime, deadline: datetime) -> None: ...
    async def conclude_round(self, proposal_id: str, round_: int, at: datetime, outcome: str) -> None: ...
    async def list_rounds(self, proposal_id: str) -> list[RoundInfo]: ...


class DiscussionQueries(Protocol):
    """Comments (inserting one also indexes it for search), the stored summary of each round, and
    moderation (hivegov_mcp.store.sql.discussion)."""

    async def insert_comment(self, comment: NewComment) -> int: ...
    async def get_comment(self, comment_id: int) -> Comment | None: ...
    async def list_comments(
        self, proposal_id: str, *, after_id: int = 0, limit: int | None = None
    ) -> list[Comment]: ...
    async def count_proposal_comments(self, proposal_id: str) -> int: ...
    async def comment_rows(self, proposal_id: str) -> list[CommentRow]: ...
    async def comment_rows_of(self, proposal_ids: Sequence[str]) -> dict[str, list[CommentRow]]: ...
    async def objection_ids(self, proposal_id: str) -> list[int]: ...
    async def settled_objections(self, proposal_id: str) -> list[CommentRow]:
        """The objections the table says are resolved or hidden (their text left out)."""
        ...

    async def unresolved_objections(self, proposal_id: str) -> list[int]: ...
    async def count_comments(self, proposal_id: str, round_: int, author: str) -> int: ...
    async def resolve_comment(self, comment_id: int, by: str, note: str, at: datetime) -> None: ...
    async def store_summary(self, proposal_id: str, round_: int, summary: StoredSummary) -> None: ...
    async def get_summary(self, proposal_id: str, round_: int) -> StoredSummary | None: ...
    async def set_hidden(self, comment_id: int, by: str | None, reason: str | None, at: datetime | None) -> None:
        """Hide a comment (from views, summaries and search) or, with None, restore it."""
        ...

    async def hidden_comments(self, proposal_id: str, author: str) -> list[HiddenComment]: ...
    async def is_hidden(self, comment_id: int) -> bool: ...


class VotingQueries(Protocol):
    """The electorate frozen when a vote opens, the ballots, the tally (hivegov_mcp.store.sql.voting)."""

    async def freeze_eligible(self, proposal_id: str, eligible: Mapping[str, int]) -> None: ...
    async def eligible(self, proposal_id: str) -> dict[str, int]: ...
    async def eligible_of(self, proposal_ids: Sequence[str]) -> dict[str, dict[str, int]]: ...
    async def vote_rows_of(self, proposal_ids: Sequence[str]) -> dict[str, list[StoredVote]]: ...
    async def vote_rows(self, proposal_id: str) -> list[StoredVote]:
        """Every ballot cast on the proposal, replaced ones too, in the order cast."""
        ...

    async def insert_vote(
        self,
        proposal_id: str,
        agent_id: str,
        decision: str | None,
        justification: str,
        at: datetime,
        salt: str,
        ballot: str | None = None,
    ) -> None: ...
    async def last_ballots(self, proposal_id: str) -> list[Ballot]: ...
    async def voter_standing(self, proposal_id: str, agent_id: str, *, count: bool) -> VoterStanding: ...
    async def clear_vote(self, proposal_id: str) -> None:
        """Remove a vote's electorate, ballots and tally (its closing event keeps them), for a new vote."""
        ...

    async def store_tally(self, proposal_id: str, tally: Tally, rules_version: int, count: CountRecords) -> None: ...
    async def get_tally(self, proposal_id: str) -> Tally | None: ...
    async def get_count_records(self, proposal_id: str) -> CountRecords | None: ...


class DelegationQueries(Protocol):
    """Delegations, one per agent and proposal type (None: every type), and the map the count at
    close follows (hivegov_mcp.store.sql.delegations)."""

    async def set_delegation(self, agent_id: str, proposal_type: str | None, delegate: str, at: datetime) -> str | None:
        """Make or replace a delegation: the delegate it replaced, if any."""
        ...

    async def remove_delegation(self, agent_id: str, proposal_type: str | None) -> str | None:
        """Remove a delegation: the delegate it had, None when there was none."""
        ...

    async def delegations_of(self, agent_id: str) -> list[Delegation]: ...
    async def delegations_to(self, agent_id: str) -> list[Delegation]: ...
    async def all_delegations(self) -> list[Delegation]: ...
    async def delegation_map(self, proposal_type: str) -> dict[str, str]:
        """Agent -> delegate for a proposal of this type: the type's delegation over the general one."""
        ...


class AfterVoteQueries(Protocol):
    """Appeals, executions, validations and published summaries (hivegov_mcp.store.sql.aftervote)."""

    async def insert_appeal(
        self, proposal_id: str, resolved_at: datetime, appellant: str, grounds: str, at: datetime
    ) -> int: ...
    async def appeals(self, proposal_id: str) -> list[Appeal]: ...
    async def get_appeal(self, appeal_id: int) -> Appeal | None: ...
    async def appeal_for(self, proposal_id: str, resolved_at: datetime) -> Appeal | None: ...
    async def decide_appeal(self, appeal_id: int, decision: str, by: str, reason: str, at: datetime) -> None: ...
    async def insert_execution(
        self, proposal_id: str, attempt: int, executor: str, at: datetime, lease_until: datetime
    ) -> None: ...
    async def end_execution(
        self, proposal_id: str, attempt: int, outcome: str, details: str | None, artifacts: Sequence[str], at: datetime
    ) -> None: ...
    async def executions(self, proposal_id: str) -> list[ExecutionAttempt]: ...
    async def insert_validation(
        self, proposal_id: str, version: int, validator: str, result: str, findings: str, at: datetime
    ) -> int: ...
    async def validations_of(self, proposal_ids: Sequence[str]) -> dict[str, list[tuple[int, int, str, str]]]: ...
    async def validations(self, proposal_id: str) -> list[Validation]: ...
    async def insert_published_summary(self, proposal_id: str, summary: PublishedSummary) -> None: ...
    async def published_summaries(self, proposal_id: str) -> list[PublishedSummary]: ...


class AgendaQueries(Protocol):
    """What may need an agent, across the aggregates (hivegov_mcp.store.sql.agenda)."""

    async def agenda(self, agent_id: str, kinds: Collection[str]) -> list[AgendaRow]:
        """What may need the agent, of the `kinds` asked for: unvoted ballots, its objections on
        revised proposals, its proposals in revision, others' discussions it has not commented on
        in this round, rounds to summarize and to conclude, versions to validate, claimable
        executions, pending appeals."""
        ...


class AuditQueries(Protocol):
    """The audit log, its Merkle tree (DESIGN §16), the signed checkpoints and the log's
    append-only guards (hivegov_mcp.store.sql.audit)."""

    async def append_audit(
        self, *, at: datetime, actor: str, action: str, subject: str, payload: Mapping[str, object]
    ) -> Receipt: ...
    async def audit_events(self, *, subject: str | None, after_seq: int, limit: int | None) -> list[StoredEvent]: ...
    async def audit_head(self) -> tuple[int, str | None]: ...
    async def audit_events_of(
        self, subject: str, actions: Sequence[str], *, exclude: bool = False
    ) -> list[StoredEvent]:
        """The events of `subject` with one of `actions` (`exclude`: with none of them), in order."""
        ...

    async def events_of_subjects(
        self, subjects: Sequence[str], actions: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        """Every event of each of `subjects` (of one of `actions`, when given), by subject, in order."""
        ...

    def location(self) -> str:
        """The database, for messages (a file's path, or PostgreSQL's URL without its password)."""
        ...

    async def first_subject_without_row(self, action: str) -> tuple[int, str] | None:
        """The first create_proposal or register_agent event whose row is gone: (seq, the row's id)."""
        ...

    async def tree_nodes(self, nodes: Sequence[Node]) -> list[bytes | None]: ...
    async def tree_size(self) -> int: ...
    async def tree_leaves(self, first: int, limit: int) -> dict[int, bytes]: ...
    async def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None: ...
    async def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> None: ...
    async def missing_guards(self) -> list[str]: ...


class WebhookQueries(Protocol):
    """Webhooks and their deliveries (hivegov_mcp.store.sql.webhooks)."""

    async def insert_webhook(self, url: str, secret: str, at: datetime, by: str, from_seq: int) -> int: ...
    async def webhooks(self) -> list[tuple[Webhook, str]]:
        """Active webhooks with their secrets."""
        ...

    async def webhook_rows(self) -> list[tuple[int, str, bool, str]]:
        """(id, url, removed, secret) of every webhook."""
        ...

    async def remove_webhook(self, webhook_id: int, at: datetime) -> bool: ...
    async def record_delivery(
        self, webhook_id: int, seq: int, attempt: int, at: datetime, status_code: int | None, error: str | None
    ) -> bool:
        """Record one attempt; False when that attempt was recorded already (another process has it)."""
        ...

    async def finish_delivery(
        self, webhook_id: int, seq: int, attempt: int, status_code: int | None, error: str | None
    ) -> None: ...


class OAuthQueries(Protocol):
    """OAuth clients, grants, codes and tokens; codes and tokens by their SHA-256 only
    (hivegov_mcp.store.sql.oauth)."""

    async def insert_oauth_client(self, client_id: str, info: str, at: datetime) -> None: ...
    async def oauth_client(self, client_id: str) -> str | None: ...
    async def count_oauth_clients_since(self, at: datetime) -> int:
        """How many clients were first recorded at or after `at`."""
        ...

    async def insert_oauth_grant(self, grant: Grant, by: str, at: datetime) -> None: ...
    async def oauth_grant(self, grant_id: str) -> Grant | None: ...
    async def live_oauth_grants(self, agent_id: str | None) -> list[ListedGrant]:
        """The grants not revoked, of one agent (None: of all), newest first."""
        ...

    async def revoke_oauth_grant(self, grant_id: str, at: datetime) -> bool:
        """False when it was revoked already."""
        ...

    async def insert_oauth_code(
        self,
        code_hash: str,
        grant_id: str,
        *,
        redirect_uri: str,
        redirect_uri_explicit: bool,
        code_challenge: str,
        expires_at: datetime,
    ) -> None: ...
    async def oauth_code(self, code_hash: str) -> StoredCode | None: ...
    async def use_oauth_code(self, code_hash: str, at: datetime) -> bool:
        """False when it was redeemed already."""
        ...

    async def insert_oauth_token(self, token_hash: str, grant_id: str, kind: str, expires_at: datetime) -> None: ...
    async def oauth_token(self, token_hash: str) -> StoredToken | None: ...
    async def use_oauth_token(self, token_hash: str, at: datetime) -> bool:
        """False when it was spent already."""
        ...


class SearchQueries(Protocol):
    """Full-text search, each engine its own (store/sqlite/search.py, store/postgres/search.py)."""

    async def search(self, terms: Sequence[str], limit: int) -> list[RawHit]: ...


class Transaction(
    RulesQueries,
    AgentQueries,
    ProposalQueries,
    DiscussionQueries,
    VotingQueries,
    DelegationQueries,
    AfterVoteQueries,
    AgendaQueries,
    AuditQueries,
    WebhookQueries,
    OAuthQueries,
    SearchQueries,
    Protocol,
):
    """Every query of the store, on one transaction."""


class Store(Protocol):
    path: str  # where the data lives, for messages (a file path, or a URL without its password)

    def read(self) -> AbstractAsyncContextManager[Transaction]: ...
    def lookup(self) -> AbstractAsyncContextManager[Transaction]:
        """For a read of a single statement (it needs no snapshot): fewer round trips."""
        ...

    def write(self) -> AbstractAsyncContextManager[Transaction]:
        """Only inside a write operation run by `submit`: a savepoint of its own."""
        ...

    async def run_read(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a read operation whole (in one snapshot): its result."""
        ...

    @property
    def in_read_operation(self) -> bool:
        """Inside an operation run by `run_read`, which can't write."""
        ...

    async def submit(self, op: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a write operation (group commit): its result once it is committed. What `op` may
        await: its own transaction's statements only (see GroupCommit)."""
        ...

    async def wait_for_change(self, seconds: float) -> None:
        """Until the log may have grown (another process or instance appended), at most `seconds`."""
        ...

    async def close(self) -> None: ...
