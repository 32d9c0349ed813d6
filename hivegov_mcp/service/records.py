"""The audit log, its verification, the governance status and reads for resources."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import anyio

from hivegov_mcp.audit import ChainVerifier, StoredEvent, event_bytes
from hivegov_mcp.domain.config import GovernanceConfig, rules_hash
from hivegov_mcp.domain.merkle import Frontier, leaf_hash
from hivegov_mcp.domain.metrics import TARGETS, Event, compute
from hivegov_mcp.domain.models import (
    Agenda,
    AgendaItem,
    Agent,
    AgentStats,
    AuditEvent,
    AuditPage,
    AuditVerification,
    Criterion,
    Deadline,
    DiscussionSummary,
    GovernanceMetrics,
    GovernanceStatus,
    PhaseTime,
    Proposal,
)
from hivegov_mcp.domain.permissions import Role, may_ever
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.summary import summarize
from hivegov_mcp.errors import (
    InvalidInput,
)
from hivegov_mcp.service.base import (
    MAX_AUDIT_PAGE,
    ServiceBase,
    is_system,
    reads,
)

VERIFY_PAGE = 5_000


class RecordOperations(ServiceBase):
    @reads
    async def get_audit_log(
        self, actor: Agent, *, proposal_id: str | None = None, after_seq: int = 0, limit: int = 50
    ) -> AuditPage:
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise InvalidInput("limit", f"{limit} must be between 1 and {MAX_AUDIT_PAGE}")
        if after_seq < 0:
            raise InvalidInput("after_seq", f"{after_seq} must be 0 or more")
        async with self._read(proposal_id) as (tx, _):
            if proposal_id is not None:
                await self._state(tx, proposal_id)
            rows = await tx.audit_events(subject=proposal_id, after_seq=after_seq, limit=limit + 1)
        events = [
            AuditEvent(
                seq=r.seq,
                at=datetime.fromisoformat(r.at),
                actor=r.actor,
                action=r.action,
                subject=r.subject,
                payload=_payload(r.payload),
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in rows[:limit]
        ]
        next_after = events[-1].seq if len(rows) > limit else None
        return AuditPage(events=events, next_after_seq=next_after)

    async def verify_audit(self, actor: Agent | None = None) -> AuditVerification:
        """Recompute the chain a page at a time, each page in its own short read: memory stays flat
        in the log's length and other calls are served between pages."""
        verifier = ChainVerifier()
        after = 0
        while True:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=VERIFY_PAGE)
            # Hashing a page takes a while: do it off the event loop, so other calls go on meanwhile.
            if not await anyio.to_thread.run_sync(verifier.feed, page) or len(page) < VERIFY_PAGE:
                break
            after = page[-1].seq
        check = verifier.result()
        return AuditVerification(
            ok=check.ok,
            events=check.events,
            head=check.head,
            first_bad_seq=check.first_bad_seq,
            problem=check.problem,
        )

    @reads
    async def get_governance_status(self, actor: Agent) -> GovernanceStatus:
        async with self._read() as (tx, now):
            counts = {s.value: 0 for s in Status}
            counts.update(await tx.count_by_status())
            upcoming = await tx.next_deadlines(10)
            active = await tx.count_active_agents()
            seq, head = await tx.audit_head()
            rules = await tx.current_rules()
        return GovernanceStatus(
            now=now,
            counts=counts,
            next_deadlines=[
                Deadline(proposal_id=s.id, status=s.status, deadline=s.deadline) for s in upcoming if s.deadline
            ],
            active_agents=active,
            rules_version=rules.version if rules else 0,
            rules_hash=rules.hash if rules else rules_hash(GovernanceConfig()),
            audit_events=seq,
            audit_head=head,
        )

    @reads
    async def proposal_for_resource(self, actor: Agent, proposal_id: str) -> tuple[Proposal, DiscussionSummary]:
        """The proposal and a fresh (unstored) summary, for resources and prompts."""
        async with self._read(proposal_id) as (tx, _):
            state = await self._state(tx, proposal_id)
            proposal = await self._proposal(tx, state)
            comments = await tx.list_comments(proposal_id)
        return proposal, summarize(state.id, proposal.title, state.round, comments)


def _payload(text: str) -> dict[str, object]:
    """The stored payload as JSON; a row that does not parse (tampered) is shown, not crashed on."""
    shown = str(text).encode("utf-8", "backslashreplace").decode()
    try:
        value = json.loads(text) if shown == text else None
    except (ValueError, RecursionError, TypeError):
        value = None
    if isinstance(value, dict):
        return value
    return {"unreadable_payload": shown[:200]}


class MetricsOperations(ServiceBase):
    @staticmethod
    def _event(stored: StoredEvent) -> Event:
        return Event(
            seq=stored.seq,
            at=datetime.fromisoformat(stored.at),
            actor=stored.actor,
            action=stored.action,
            subject=stored.subject,
            payload=_payload(stored.payload),
        )

    async def get_governance_metrics(
        self, actor: Agent, since: datetime | None = None, until: datetime | None = None
    ) -> GovernanceMetrics:
        """The seed's success criteria and the time in each phase over [since, until), from the
        audit log (read a page at a time); per-agent figures for reporters."""
        end = until or self.clock.now()
        start = since or datetime(1970, 1, 1, tzinfo=UTC)
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidInput("since/until", "must carry a time zone (e.g. 2026-12-01T00:00:00Z)")
        if start >= end:
            raise InvalidInput("since", f"{start.isoformat()} must be before until ({end.isoformat()})")
        events: list[Event] = []
        after = 0
        while True:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=VERIFY_PAGE)
            events.extend(self._event(e) for e in page if datetime.fromisoformat(e.at) < end)
            if len(page) < VERIFY_PAGE:
                break
            after = page[-1].seq
        measured = compute(events, start, end)
        criteria = [
            Criterion(
                name=name,
                value=value,
                target=TARGETS[name],
                met=None if value is None else value >= TARGETS[name],
                numerator=numerator,
                denominator=denominator,
            )
            for name, (value, numerator, denominator) in measured.criteria.items()
        ]
        phases = [
            PhaseTime(status=Status(status), median_minutes=median, p90_minutes=p90, stays=n)
            for status, (median, p90, n) in measured.phase_minutes.items()
        ]
        sees_agents = is_system(actor) or Role.REPORTER in actor.roles
        agents = [
            AgentStats(
                agent_id=agent_id,
                proposals=f.proposals,
                comments=f.comments,
                objections_raised=f.objections_raised,
                objections_resolved=f.objections_resolved,
                votes=f.votes,
                matched_outcome=f.matched_outcome / f.decisive_votes if f.decisive_votes else None,
            )
            for agent_id, f in measured.agents.items()
        ]
        return GovernanceMetrics(
            since=start, until=end, criteria=criteria, phases=phases, agents=agents if sees_agents else []
        )


AGENDA_SOON = timedelta(hours=1)  # a discussion closing within this is on the agenda
AGENDA = {  # kind -> (who it concerns, why, the tool to call next)
    "vote": (None, "voting is open and you have not voted", "cast_vote"),
    "objection": (None, "your objection is open on a proposal revised since", "resolve_comment"),
    "revise": (None, "your proposal is in revision: revise it, then start_discussion", "revise_proposal"),
    "discussion": ("add_comment", "its discussion closes soon", "add_comment"),
    "claim": ("claim_execution", "it is approved and can be executed", "claim_execution"),
    "appeal": ("decide_appeal", "an appeal waits for an arbiter", "decide_appeal"),
}


class AgendaOperations(ServiceBase):
    @reads
    async def get_my_agenda(self, actor: Agent) -> Agenda:
        """What needs the calling agent now, soonest deadline first, each with the tool to call."""
        async with self._read() as (tx, now):
            rows = await tx.agenda(actor.id, now, now + AGENDA_SOON)
        items = []
        for row in rows:
            action, why, tool = AGENDA[row.kind]
            if action is not None and not may_ever(action, actor.roles):
                continue
            items.append(
                AgendaItem(
                    proposal_id=row.proposal_id,
                    title=row.title,
                    status=row.status,
                    deadline=row.deadline,
                    why=why,
                    tool=tool,
                    ref_id=row.ref_id,
                )
            )
        far = datetime.max.replace(tzinfo=UTC)
        items.sort(key=lambda i: (i.deadline or far, i.proposal_id))
        return Agenda(agent_id=actor.id, items=items)


class MerkleOperations(ServiceBase):
    async def audit_tree(self, size: int | None = None) -> tuple[int, bytes]:
        """The size and RFC 6962 root of the log's first `size` events (all of them by default),
        read a page at a time into the tree's right edge: memory O(log n)."""
        frontier = Frontier()
        after = 0
        while size is None or frontier.size < size:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=VERIFY_PAGE)
            for e in page:
                if size is not None and frontier.size >= size:
                    break
                frontier.append(_leaf(e))
            if len(page) < VERIFY_PAGE:
                break
            after = page[-1].seq
        return frontier.size, frontier.root()


def _leaf(e: StoredEvent) -> bytes:
    """The event's RFC 6962 leaf hash, over its canonical bytes as stored."""
    return leaf_hash(
        event_bytes(seq=e.seq, at=e.at, actor=e.actor, action=e.action, subject=e.subject, payload=e.payload)
    )
