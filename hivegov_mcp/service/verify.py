"""`verify_audit` (DESIGN §6, §16, §20): the hash chain, the Merkle leaves and the checkpoints
signed so far, the append-only guards, then the state tables against the log, every closed vote
recounted from its events by its method with the delegations then in force. Each step streams a
page at a time in its own short read: memory stays flat in the log's length (the state check
holds one proposal's events at a time, and the delegation events, read once: each closed vote is
recounted with the delegations in force when it closed) and other calls are served between
pages."""

from __future__ import annotations

import json
from dataclasses import dataclass

import anyio

from hivegov_mcp.domain import replay, replay_registry
from hivegov_mcp.domain.audit import ChainVerifier, StoredEvent, event_leaf
from hivegov_mcp.domain.config import ProposalType, parse_config
from hivegov_mcp.domain.delegation_log import (
    DELEGATION_EVENTS,
    EVERY_TYPE,
    DelegationHistory,
    DelegationRow,
    check_delegations,
)
from hivegov_mcp.domain.errors import ConfigError
from hivegov_mcp.domain.merkle import Frontier, cover
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.record_models import AuditVerification
from hivegov_mcp.domain.recount import FrozenRules
from hivegov_mcp.domain.replay_votes import CountRows, VoteRow
from hivegov_mcp.service.base import ServiceBase
from hivegov_mcp.store.base import StoredCheckpoint, StoredRules, Transaction

VERIFY_PAGE = 5_000
STATE_PAGE = 200  # proposals per read of the state check


@dataclass(frozen=True)
class Finding:
    seq: int | None
    problem: str
    row: str | None = None


class LeafCheck:
    """Every event against its stored Merkle leaf, and the checkpoint roots against the events."""

    def __init__(self, checkpoint: StoredCheckpoint | None) -> None:
        self.frontier = Frontier()
        self.checkpoint = checkpoint
        self.finding: Finding | None = None

    def feed(self, page: list[StoredEvent], leaves: dict[int, bytes]) -> None:
        for e in page:
            if self.finding is not None:
                return
            leaf = event_leaf(e)
            stored = leaves.get(e.seq - 1)
            if stored is None:
                self.finding = Finding(
                    e.seq, "the event has no leaf in the Merkle tree: it was written outside the server"
                )
            elif stored != leaf:
                self.finding = Finding(
                    e.seq, "the event differs from its Merkle leaf: it was changed after it was logged"
                )
            self.frontier.append(leaf)
            cp = self.checkpoint
            if (
                self.finding is None
                and cp is not None
                and self.frontier.size == cp.size
                and self.frontier.root() != cp.root
            ):
                self.finding = Finding(
                    e.seq, f"the first {cp.size} events do not have the root that checkpoint {cp.size} signed"
                )


class VerifyOperations(ServiceBase):
    async def verify_audit(self, actor: Agent | None = None) -> AuditVerification:
        chain = ChainVerifier()
        async with self.store.read() as tx:
            checkpoint = await tx.checkpoint()
            missing = await tx.missing_guards()
        leaves = LeafCheck(checkpoint)
        after = 0
        while True:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=VERIFY_PAGE)
                stored = await tx.tree_leaves(after, VERIFY_PAGE)
            # Hashing a page takes a while: do it off the event loop, so other calls go on meanwhile.
            intact = await anyio.to_thread.run_sync(chain.feed, page)
            await anyio.to_thread.run_sync(leaves.feed, page, stored)
            if not intact or leaves.finding is not None or len(page) < VERIFY_PAGE:
                break
            after = page[-1].seq
        check = chain.result()
        findings = [Finding(check.first_bad_seq, check.problem or "")] if not check.ok else []
        if leaves.finding is not None:
            findings.append(leaves.finding)
        if not findings:
            findings += await self._after_the_last(check.events, checkpoint)
        if not findings:
            async with self.store.read() as tx:
                edge = await tx.tree_nodes(cover(0, leaves.frontier.size))
            if edge != leaves.frontier.nodes:
                findings.append(
                    Finding(None, "the stored Merkle tree's subtree roots don't match its leaves", "table audit_tree")
                )
        if not findings and missing:
            findings.append(
                Finding(None, "the log's append-only guard is gone (dropped)", f"trigger {', '.join(missing)}")
            )
        if not findings:
            state = await self._check_state()
            findings += [state] if state else []
        first = min(findings, key=lambda f: (f.seq is None, f.seq or 0), default=None)
        return AuditVerification(
            ok=first is None,
            events=check.events,
            head=check.head,
            first_bad_seq=None if first is None else first.seq,
            problem=None if first is None else first.problem,
            row=None if first is None else first.row,
        )

    async def _after_the_last(self, events: int, checkpoint: StoredCheckpoint | None) -> list[Finding]:
        """Events deleted from the end leave their leaves, and a checkpoint, behind."""
        async with self.store.read() as tx:
            size = await tx.tree_size()
        if size > events:
            return [
                Finding(
                    events + 1,
                    f"the Merkle tree holds {size} events, the log {events}: events {events + 1} to {size} "
                    "were deleted",
                )
            ]
        if checkpoint is not None and checkpoint.size > events:
            return [
                Finding(
                    events + 1,
                    f"checkpoint {checkpoint.size} was signed, the log has {events} events: "
                    f"events {events + 1} to {checkpoint.size} were deleted",
                )
            ]
        return []

    async def _check_state(self) -> Finding | None:
        """Every proposal's and agent's rows against the log's events about it."""
        number = 0
        async with self.store.read() as tx:
            counting = _counting(await tx.all_rules())
            delegations = await _delegation_history(tx)
        while True:
            async with self.store.read() as tx:
                page = await tx.proposals_after(number, STATE_PAGE)
                ids = [state.id for state in page]
                electorates = await tx.eligible_of(ids)
                validations = await tx.validations_of(ids)
                comments_of = await tx.comment_rows_of(ids)
                votes_of = await tx.vote_rows_of(ids)
                events_of = _by_subject(await tx.events_of_subjects(ids))
                for state in page:
                    versions = await tx.list_versions(state.id)
                    comments = comments_of[state.id]
                    rows = replay.ProposalRows(
                        id=state.id,
                        status=state.status.value,
                        version=state.version,
                        versions=[(v.version, v.content.hashed_fields(), v.content_hash) for v in versions],
                        comments=[(c.id, c.type, c.content) for c in comments],
                        votes=[
                            VoteRow(v.agent_id, v.decision, v.ballot, v.justification, v.salt)
                            for v in votes_of[state.id]
                        ],
                        count=await _count(tx, state.id),
                        appeals=[(a.id, a.appellant, a.grounds, a.decision) for a in await tx.appeals(state.id)],
                        executions=[(x.attempt, x.executor, x.outcome) for x in await tx.executions(state.id)],
                        eligible=electorates[state.id],
                        deadline=state.deadline,
                        rules_version=state.rules_version,
                        marks=[
                            replay.CommentMarks(
                                c.id,
                                c.resolved_by,
                                c.resolution_note,
                                c.hidden_by,
                                c.hidden_reason,
                                c.resolved_at,
                                c.hidden_at,
                            )
                            for c in comments
                        ],
                        validations=validations[state.id],
                        counting=counting[ProposalType(state.type)],
                        type=state.type,
                        delegations=delegations,
                    )
                    found = replay.check_proposal(rows, [_logged(e) for e in events_of.get(state.id, [])])
                    if found is not None:
                        return Finding(found.seq, found.problem, found.row)
            if len(page) < STATE_PAGE:
                break
            number = page[-1].number
        async with self.store.read() as tx:
            for kind, table in (("create_proposal", "proposals"), (replay_registry.REGISTER, "agents")):
                gone = await tx.first_subject_without_row(kind)
                if gone is not None:
                    seq, subject = gone
                    return Finding(seq, "the log made it; its row was deleted", f"{table}: {subject}")
            agents = await tx.list_agents()
            identities = await tx.agent_identities()
        async with self.store.read() as tx:
            subjects = [f"agent:{a.id}" for a in agents]  # the events that change their rows, not usage reports
            agent_events = _by_subject(await tx.events_of_subjects(subjects, replay_registry.AGENT_EVENTS))
            for agent in agents:
                events = agent_events.get(f"agent:{agent.id}", [])
                name, token_hash = identities[agent.id]
                row = replay_registry.AgentRow(agent.id, agent.roles, agent.weight, agent.active, name, token_hash)
                found = replay_registry.check_agent(row, [_logged(e) for e in events])
                if found is not None:
                    return Finding(found.seq, found.problem, found.row)
            delegation_rows = [
                DelegationRow(d.agent_id, d.proposal_type.value if d.proposal_type else EVERY_TYPE, d.to_agent)
                for d in await tx.all_delegations()
            ]
        found = check_delegations(delegation_rows, delegations)
        if found is not None:
            return Finding(found.seq, found.problem, found.row)
        async with self.store.read() as tx:
            rules = await tx.all_rules()
            rules_events = await tx.audit_events(subject="rules", after_seq=0, limit=None)
            hooks = await tx.webhook_rows()
            hook_events = [await tx.audit_events(subject=f"webhook:{h[0]}", after_seq=0, limit=None) for h in hooks]
        found = replay_registry.check_rules(
            [(r.version, r.toml, r.hash) for r in rules], [_logged(e) for e in rules_events]
        )
        for (hook_id, url, removed, secret), events in zip(hooks, hook_events, strict=True):
            logged = [_logged(e) for e in events]
            found = found or replay_registry.check_webhook(hook_id, url, removed, logged, secret=secret)
        return None if found is None else Finding(found.seq, found.problem, found.row)


def _counting(stored: list[StoredRules]) -> dict[ProposalType, dict[int, FrozenRules]]:
    """Per proposal type, each rules version's method, quorum and threshold: a closed vote is
    recounted under the version it froze. A text that no longer parses is left out here (the rules
    check names it)."""
    counting: dict[ProposalType, dict[int, FrozenRules]] = {t: {} for t in ProposalType}
    for r in stored:
        try:
            config = parse_config(r.toml)
        except ConfigError:
            continue
        for t in ProposalType:
            rules = config.rules_for(t)
            counting[t][r.version] = FrozenRules(rules.method, rules.quorum, rules.approval_threshold)
    return counting


async def _delegation_history(tx: Transaction) -> DelegationHistory:
    """Every agent's delegation events (subject agent:ID), replayed: what each closed vote followed."""
    subjects = [f"agent:{a.id}" for a in await tx.list_agents()]
    by_subject = _by_subject(await tx.events_of_subjects(subjects, DELEGATION_EVENTS))
    return DelegationHistory({s.removeprefix("agent:"): [_logged(e) for e in es] for s, es in by_subject.items()})


async def _count(tx: Transaction, proposal_id: str) -> CountRows | None:
    """The stored count of a closed vote (None: no vote closed)."""
    tally = await tx.get_tally(proposal_id)
    if tally is None:
        return None
    records = await tx.get_count_records(proposal_id)
    return CountRows(
        tally=tally,
        method=records.method if records else None,
        result=records.result if records else None,
        delegation=records.delegation if records else None,
    )


def _logged(e: StoredEvent) -> replay.LoggedEvent:
    return replay.LoggedEvent(seq=e.seq, action=e.action, actor=e.actor, payload=json.loads(e.payload))


def _by_subject(events: list[StoredEvent]) -> dict[str, list[StoredEvent]]:
    grouped: dict[str, list[StoredEvent]] = {}
    for e in events:
        grouped.setdefault(e.subject, []).append(e)
    return grouped
