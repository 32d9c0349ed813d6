"""The audit log, the governance status and metrics, the agenda, and reads for resources.
(`merkle.py` proves the log; `verify.py` verifies it.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.audit import StoredEvent
from hivegov_mcp.domain.config import GovernanceConfig, rules_hash
from hivegov_mcp.domain.errors import InvalidInput
from hivegov_mcp.domain.metrics import TARGETS, Event, compute
from hivegov_mcp.domain.models import Agent, DiscussionSummary, Proposal
from hivegov_mcp.domain.permissions import may
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.record_models import (
    Agenda,
    AgendaItem,
    AgentStats,
    AuditEvent,
    AuditPage,
    Criterion,
    Deadline,
    GovernanceMetrics,
    GovernanceStatus,
    PhaseTime,
)
from hivegov_mcp.domain.summary import summarize
from hivegov_mcp.service.base import (
    ServiceBase,
    is_system,
    reads,
)

VERIFY_PAGE = 5_000


class RecordOperations(ServiceBase):
    @reads
    async def get_audit_log(
        self,
        actor: Agent,
        *,
        proposal_id: str | None = None,
        after_seq: int = 0,
        limit: int = limits.DEFAULT_AUDIT_PAGE,
    ) -> AuditPage:
        if not 1 <= limit <= limits.MAX_AUDIT_PAGE:
            raise InvalidInput("limit", f"{limit} must be between 1 and {limits.MAX_AUDIT_PAGE}")
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
        sees_agents = is_system(actor) or may("read_agent_figures", actor.roles)
        agents = [
            AgentStats(
                agent_id=agent_id,
                proposals=f.proposals,
                comments=f.comments,
                objections_raised=f.objections_raised,
                objections_resolved=f.objections_resolved,
                votes=f.votes,
                matched_outcome=f.matched_outcome / f.decisive_votes if f.decisive_votes else None,
                model_requests=f.model_requests,
                model_tokens=f.model_tokens,
            )
            for agent_id, f in measured.agents.items()
        ]
        return GovernanceMetrics(
            since=start, until=end, criteria=criteria, phases=phases, agents=agents if sees_agents else []
        )


AGENDA_SOON = timedelta(hours=1)  # a discussion closing within this is said to close soon
AGENDA = {  # kind -> (the permission acting on it needs, None: it concerns only the agent; why; the tool)
    "vote": (None, "voting is open and you have not voted", "cast_vote"),
    "objection": (None, "your objection is open on a proposal revised since", "resolve_comment"),
    "revise": (None, "your proposal is in revision: revise it, then start_discussion", "revise_proposal"),
    "discussion": ("add_comment", "the discussion is open and you have not commented in this round", "add_comment"),
    "summary": ("publish_summary", "the round has comments and no published summary", "publish_summary"),
    "conclude": (
        "conclude_discussion",
        "the round has comments and no open objection: conclude it, or wait",
        "conclude_discussion",
    ),
    "conclude_blocked": (
        "conclude_discussion",
        "the round has an open objection: conclude it requires-revision, or wait for the objection to be resolved",
        "conclude_discussion",
    ),
    "validate": ("record_validation", "its current version has no validation of yours", "record_validation"),
    "claim": ("claim_execution", "it is approved and can be executed", "claim_execution"),
    "appeal": ("decide_appeal", "an appeal waits for an arbiter", "decide_appeal"),
}
CLOSES_SOON = "its discussion closes soon"  # the why of a discussion item due within AGENDA_SOON


class AgendaOperations(ServiceBase):
    @reads
    async def get_my_agenda(self, actor: Agent) -> Agenda:
        """What needs the calling agent now, soonest deadline first, each with the tool to call.
        Only the kinds its roles let it act on are read (a discussion item is never its own
        proposal's, so being an author does not count there). Beside them, its delegations and
        those to it (whose weight its ballot may carry)."""
        kinds = [kind for kind, (action, _, _) in AGENDA.items() if action is None or may(action, actor.roles)]
        async with self._read() as (tx, now):
            rows = await tx.agenda(actor.id, kinds)
            delegations, delegated_to_you = await tx.delegations_of(actor.id), await tx.delegations_to(actor.id)
        items = []
        for row in rows:
            _, why, tool = AGENDA[row.kind]
            if row.kind == "discussion" and row.deadline is not None and row.deadline <= now + AGENDA_SOON:
                why = CLOSES_SOON
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
        return Agenda(agent_id=actor.id, items=items, delegations=delegations, delegated_to_you=delegated_to_you)
