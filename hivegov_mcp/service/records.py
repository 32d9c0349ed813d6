"""The audit log and its proofs and checkpoints, the governance status and metrics, the agenda,
and reads for resources. (`verify.py` verifies the log.)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import anyio

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.audit import StoredEvent, event_bytes, event_leaf
from hivegov_mcp.domain.config import GovernanceConfig, rules_hash
from hivegov_mcp.domain.errors import InvalidInput, LogTampered, NotFound
from hivegov_mcp.domain.merkle import (
    EMPTY_ROOT,
    Frontier,
    Node,
    combine,
    consistency_ranges,
    cover,
    inclusion_ranges,
    leaf_hash,
)
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
    AuditProof,
    ConsistencyProof,
    Criterion,
    Deadline,
    GovernanceMetrics,
    GovernanceStatus,
    PhaseTime,
    SignedCheckpoint,
)
from hivegov_mcp.domain.summary import summarize
from hivegov_mcp.service.base import (
    ServiceBase,
    is_system,
    reads,
    writes,
)
from hivegov_mcp.store.base import StoredCheckpoint, Transaction

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


class MerkleOperations(ServiceBase):
    """The log's Merkle tree as stored (DESIGN §16): roots and proofs from O(log n) stored
    subtrees, and checkpoints signed by the server's key, one root per size ever."""

    async def audit_tree(self, size: int | None = None) -> tuple[int, bytes]:
        """The size and RFC 6962 root of the log's first `size` events (all of them by default),
        recomputed from the events a page at a time (not from the stored tree): memory O(log n)."""
        frontier = Frontier()
        after = 0
        while size is None or frontier.size < size:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=VERIFY_PAGE)
            for e in page:
                if size is not None and frontier.size >= size:
                    break
                frontier.append(event_leaf(e))
            if len(page) < VERIFY_PAGE:
                break
            after = page[-1].seq
        return frontier.size, frontier.root()

    async def adopt_log_name(self) -> None:
        """Sign under the name the log's checkpoints already carry, if any: a copied log (`migrate`)
        or an instance that reaches the database by another address signs as the log always did."""
        async with self.store.read() as tx:
            stored = await tx.checkpoint()
        if stored is not None:
            self.signer.origin = stored.note.split("\n", 1)[0]

    async def latest_checkpoint(self, actor: Agent | None = None) -> SignedCheckpoint:
        """A checkpoint of the whole log as it is now: the one signed for this size, or a new one."""
        latest = await self._latest_checkpoint()
        return latest if latest is not None else await self.sign_checkpoint()

    @reads
    async def _latest_checkpoint(self) -> SignedCheckpoint | None:
        async with self.store.read() as tx:
            stored = await tx.checkpoint()
            if stored is None or stored.size != await tx.tree_size():
                return None
        return self._checkpoint(stored)

    async def sign_checkpoint(self) -> SignedCheckpoint:
        """Sign the log as it is now, once per size, over a root recomputed from the events (the
        stored tree must agree): from the latest checkpoint's edge, so only the events appended
        since are hashed (the whole log for the first checkpoint)."""
        async with self.store.read() as tx:
            earlier = await tx.checkpoint()
            size = await tx.tree_size()
            edge = await self._nodes(tx, cover(0, earlier.size)) if earlier else []
        frontier = Frontier(earlier.size, edge) if earlier else Frontier()
        if earlier is not None and frontier.root() != earlier.root:
            raise LogTampered(
                self.store.path,
                f"checkpoint {earlier.size} signed root {earlier.root.hex()}, the stored tree's first {earlier.size} "
                f"events now have root {frontier.root().hex()}; no checkpoint is signed over it",
            )
        after = frontier.size
        while frontier.size < size:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=VERIFY_PAGE)
            leaves = await anyio.to_thread.run_sync(_leaves, page)
            for leaf in leaves[: size - frontier.size]:
                frontier.append(leaf)
            if len(page) < VERIFY_PAGE:
                break
            after = page[-1].seq
        if frontier.size < size:
            raise LogTampered(self.store.path, f"its Merkle tree holds {size} events, the log only {frontier.size}")
        return await self._sign(size, frontier.root())

    @writes
    async def _sign(self, size: int, root: bytes) -> SignedCheckpoint:
        async with self.store.write() as tx:
            stored_root = await self._tree_root(tx, size)
            if stored_root != root:
                raise LogTampered(
                    self.store.path,
                    f"its stored Merkle tree gives the first {size} events root {stored_root.hex()}, the events "
                    f"themselves {root.hex()}; no checkpoint is signed over it",
                )
            existing = await tx.checkpoint(size)
            if existing is not None:
                if existing.root != root:  # can't be reached unless the table was edited
                    raise LogTampered(self.store.path, f"size {size} was signed before with another root")
                return self._checkpoint(existing)
            stored = StoredCheckpoint(size, root, self.signer.sign(size, root), self.clock.now())
            await tx.insert_checkpoint(stored)
        return self._checkpoint(stored)

    async def _nodes(self, tx: Transaction, nodes: Sequence[Node]) -> list[bytes]:
        hashes = await tx.tree_nodes(nodes)
        missing = [n for n, h in zip(nodes, hashes, strict=True) if h is None]
        if missing:
            raise LogTampered(self.store.path, f"its Merkle tree lacks the node (level, index) {missing[0]}")
        return [h for h in hashes if h is not None]

    async def _tree_root(self, tx: Transaction, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else combine(await self._nodes(tx, cover(0, size)))

    async def _proof(self, tx: Transaction, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The root of each range, from the stored subtrees that cover it (read in one go)."""
        covers = [cover(lo, hi) for lo, hi in ranges]
        hashes = await self._nodes(tx, [n for c in covers for n in c])
        out, at = [], 0
        for c in covers:
            out.append(combine(hashes[at : at + len(c)]))
            at += len(c)
        return out

    def _checkpoint(self, stored: StoredCheckpoint) -> SignedCheckpoint:
        return SignedCheckpoint(
            origin=self.signer.origin,
            size=stored.size,
            root=stored.root.hex(),
            note=stored.note,
            verifier_key=self.signer.verifier_key(),
            signed_at=stored.signed_at,
        )

    async def get_audit_proof(self, actor: Agent, seq: int, since_size: int | None = None) -> AuditProof:
        """The inclusion proof of event `seq` against the latest checkpoint (signed now if none
        covers it yet) and, given the size of a checkpoint kept earlier, the consistency proof."""
        checkpoint = await self.latest_checkpoint(actor)
        if seq > checkpoint.size:  # appended since: sign the tree that holds it
            checkpoint = await self.sign_checkpoint()
        return await self._prove(seq, since_size, checkpoint)

    @reads
    async def consistency_proof(self, old_size: int) -> tuple[int, bytes, list[bytes]]:
        """The stored tree's size and root now, and PROOF(old_size, D[size]) from it: O(log n)
        reads. (`verify_audit` checks that the stored tree is the events'.)"""
        async with self.store.read() as tx:
            size = await tx.tree_size()
            if old_size > size:
                raise LogTampered(self.store.path, f"its Merkle tree holds fewer than {old_size} events")
            root = await self._tree_root(tx, size)
            return size, root, await self._proof(tx, consistency_ranges(old_size, size))

    @reads
    async def _prove(self, seq: int, since_size: int | None, checkpoint: SignedCheckpoint) -> AuditProof:
        size = checkpoint.size
        if not 1 <= seq <= size:
            raise NotFound("audit event", seq, hint=f"The log has events 1 to {size}; pass one of those.")
        if since_size is not None and not 1 <= since_size <= size:
            raise InvalidInput("since_size", f"{since_size} must be between 1 and the log's size {size}")
        async with self.store.read() as tx:
            (event,) = await tx.audit_events(subject=None, after_seq=seq - 1, limit=1)
            inclusion = await self._proof(tx, inclusion_ranges(seq - 1, size))
            consistency = None
            if since_size is not None:
                hashes = await self._proof(tx, consistency_ranges(since_size, size))
                consistency = ConsistencyProof(from_size=since_size, to_size=size, proof=[h.hex() for h in hashes])
        data = event_bytes(seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                           subject=event.subject, payload=event.payload)  # fmt: skip
        return AuditProof(
            seq=seq,
            canonical_event=data.decode("utf-8", "backslashreplace"),
            leaf_hash=leaf_hash(data).hex(),
            tree_size=size,
            inclusion=[h.hex() for h in inclusion],
            root=checkpoint.root,
            checkpoint=checkpoint,
            consistency=consistency,
        )


def _leaves(events: list[StoredEvent]) -> list[bytes]:
    return [event_leaf(e) for e in events]
