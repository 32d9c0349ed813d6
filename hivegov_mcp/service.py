"""One operation per use case: load, apply due deadlines, check the rules, write + audit in
one transaction, and return a public model with its receipt.

The acting agent is always an explicit argument. Reads first settle any deadline that has
passed (in a write transaction of their own), so correctness never depends on the ticker.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from fractions import Fraction

from hivegov_mcp import engine
from hivegov_mcp.agents import AgentDirectory
from hivegov_mcp.audit import canonical_json, content_hash, verify_chain
from hivegov_mcp.clock import Clock
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.config import GovernanceConfig, ProposalType, Visibility
from hivegov_mcp.domain.models import (
    Agent,
    AuditEvent,
    AuditPage,
    AuditVerification,
    Comment,
    CommentReceipt,
    CommentType,
    Deadline,
    Discussion,
    DiscussionSummary,
    GovernanceStatus,
    Proposal,
    ProposalContent,
    ProposalDiff,
    ProposalHistory,
    ProposalPage,
    ProposalReceipt,
    ProposalSummary,
    Receipt,
    Resolution,
    ResultsReceipt,
    SearchHit,
    SearchResults,
    SummaryReceipt,
    TallyCounts,
    ThreadNode,
    Transition,
    VersionInfo,
    VoteReceipt,
    VotingResults,
)
from hivegov_mcp.domain.permissions import require
from hivegov_mcp.domain.phases import Action, Status, check_action, phase_of
from hivegov_mcp.domain.render import content_markdown, search_body
from hivegov_mcp.domain.summary import summarize
from hivegov_mcp.domain.tally import Decision, Outcome
from hivegov_mcp.errors import (
    Conflict,
    InvalidInput,
    NotEligible,
    NotFound,
    ObjectionsUnresolved,
    StaleVersion,
    TransitionNotAllowed,
)
from hivegov_mcp.store.base import NewComment, ProposalState, Store, Transaction, Version

MAX_LIST = 100
MAX_AUDIT_PAGE = 500
MAX_SEARCH = 50
INITIAL_NOTE = "initial version"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_content(content: ProposalContent) -> str:
    return content_hash(content.model_dump())


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


class GovernanceService(AgentDirectory):
    """Every governance operation. Construct with a store, a config and a clock."""

    def __init__(self, store: Store, config: GovernanceConfig, clock: Clock) -> None:
        super().__init__(store, clock)
        self.config = config

    # -- plumbing -------------------------------------------------------------------------------
    @asynccontextmanager
    async def _write(self, proposal_id: str) -> AsyncIterator[tuple[Transaction, ProposalState, datetime]]:
        """A write transaction on one proposal, with its due deadline applied first."""
        # A passed deadline is applied and committed first, so a refused write can't undo it;
        # it is applied again inside the write in case it passed in between.
        await self.apply_due_deadlines(only=proposal_id)
        async with self.store.write() as tx:
            now = self.clock.now()
            state, _ = await engine.apply_deadline(tx, self.config, proposal_id, now)
            if state is None:
                raise self._unknown_proposal(proposal_id)
            yield tx, state, now

    @asynccontextmanager
    async def _read(self, proposal_id: str | None = None) -> AsyncIterator[tuple[Transaction, datetime]]:
        """A read snapshot, after settling due deadlines (of one proposal, or of all)."""
        now = self.clock.now()
        await self.apply_due_deadlines(now, only=proposal_id)
        async with self.store.read() as tx:
            yield tx, now

    async def _state(self, tx: Transaction, proposal_id: str) -> ProposalState:
        state = await tx.get_proposal(proposal_id)
        if state is None:
            raise self._unknown_proposal(proposal_id)
        return state

    @staticmethod
    def _unknown_proposal(proposal_id: str) -> NotFound:
        return NotFound("proposal", proposal_id, hint="Use list_proposals or search_proposals to find ids.")

    async def apply_due_deadlines(self, now: datetime | None = None, *, only: str | None = None) -> list[str]:
        """Process every passed deadline (or only one proposal's); return the ids processed."""
        now = now or self.clock.now()
        async with self.store.read() as tx:
            due = [p for p in await tx.due_proposals(now) if only is None or p == only]
        if not due:
            return []
        processed = []
        async with self.store.write() as tx:
            for proposal_id in due:
                _, moved = await engine.apply_deadline(tx, self.config, proposal_id, now)
                if moved:
                    processed.append(proposal_id)
        return processed

    async def _proposal(self, tx: Transaction, state: ProposalState, version: int | None = None) -> Proposal:
        number = state.version if version is None else version
        v = await tx.get_version(state.id, number)
        if v is None:
            raise NotFound(
                "version",
                number,
                hint=f"{state.id} has versions 1 to {state.version}; use get_proposal_history.",
            )
        return Proposal(
            **v.content.model_dump(),
            id=state.id,
            type=ProposalType(state.type),
            status=state.status,
            phase=phase_of(state.status),
            author=state.author,
            version=v.version,
            latest_version=state.version,
            change_note=v.change_note,
            content_hash=v.content_hash,
            round=state.round,
            revision_rounds=state.revision_rounds,
            deadline=state.deadline,
            outcome_reason=state.outcome_reason,
            created_at=state.created_at,
            updated_at=state.updated_at,
        )

    async def _proposal_receipt(self, tx: Transaction, state: ProposalState, receipt: Receipt) -> ProposalReceipt:
        proposal = await self._proposal(tx, state)
        return ProposalReceipt(**proposal.model_dump(), receipt=receipt)

    async def _check_dependencies(self, tx: Transaction, deps: Sequence[str], *, own_id: str | None) -> list[str]:
        if len(deps) > limits.MAX_DEPENDENCIES:
            raise InvalidInput("dependencies", f"has {len(deps)} entries; the limit is {limits.MAX_DEPENDENCIES}")
        unique = list(dict.fromkeys(deps))
        for dep in unique:
            if dep == own_id:
                raise InvalidInput("dependencies", f"{dep} can't depend on itself")
            if await tx.get_proposal(dep) is None:
                raise NotFound("proposal", dep, hint="Dependencies must name existing proposals (see list_proposals).")
        return unique

    @staticmethod
    def _check_content(content: ProposalContent) -> None:
        limits.check_title(content.title)
        for name in ("abstract", "motivation", "specification", "implementation"):
            limits.check_text(
                name,
                getattr(content, name),
                max_bytes=limits.MAX_FIELD_BYTES,
                required=name != "implementation",
            )

    @staticmethod
    def _reason(field: str, value: str) -> str:
        return limits.check_text(field, value, max_bytes=limits.MAX_REASON_BYTES)

    # -- proposals ------------------------------------------------------------------------------
    async def create_proposal(
        self,
        actor: Agent,
        *,
        title: str,
        type: str,
        abstract: str,
        motivation: str,
        specification: str,
        implementation: str = "",
        dependencies: Sequence[str] = (),
    ) -> ProposalReceipt:
        require(actor.id, "create_proposal", actor.roles)
        try:
            kind = ProposalType(type)
        except ValueError:
            raise InvalidInput("type", f"{type!r} must be standards, informational or process") from None
        content = ProposalContent(
            title=title,
            abstract=abstract,
            motivation=motivation,
            specification=specification,
            implementation=implementation,
            dependencies=list(dependencies),
        )
        self._check_content(content)
        async with self.store.write() as tx:
            now = self.clock.now()
            content = content.model_copy(
                update={"dependencies": await self._check_dependencies(tx, dependencies, own_id=None)}
            )
            number = await tx.next_proposal_number()
            proposal_id = f"{self.config.id_prefix}-{number:03d}"
            state = ProposalState(
                id=proposal_id,
                number=number,
                type=kind.value,
                status=Status.DRAFT,
                author=actor.id,
                version=1,
                round=0,
                revision_rounds=0,
                deadline=None,
                outcome=None,
                outcome_reason=None,
                voting_opened_at=None,
                voting_closed_at=None,
                created_at=now,
                updated_at=now,
            )
            await tx.insert_proposal(state)
            digest = _hash_content(content)
            await tx.insert_version(Version(proposal_id, 1, content, INITIAL_NOTE, digest, actor.id, now))
            await tx.index_proposal(proposal_id, content.title, search_body(content))
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="create_proposal",
                subject=proposal_id,
                payload={"type": kind.value, "version": 1, "content_hash": digest, "title": content.title},
            )
            return await self._proposal_receipt(tx, state, receipt)

    async def get_proposal(self, actor: Agent, proposal_id: str, version: int | None = None) -> Proposal:
        async with self._read(proposal_id) as (tx, _):
            return await self._proposal(tx, await self._state(tx, proposal_id), version)

    async def list_proposals(
        self,
        actor: Agent,
        *,
        status: str | None = None,
        type: str | None = None,
        author: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ProposalPage:
        if not 1 <= limit <= MAX_LIST:
            raise InvalidInput("limit", f"{limit} must be between 1 and {MAX_LIST}")
        if status is not None and status not in Status.__members__.values():
            raise InvalidInput("status", f"{status!r} is not a status; use one of {', '.join(Status)}")
        if type is not None and type not in ProposalType.__members__.values():
            raise InvalidInput("type", f"{type!r} is not a type; use one of {', '.join(ProposalType)}")
        before: int | None = None
        if cursor is not None:
            if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
                raise InvalidInput("cursor", f"{cursor!r} is not a cursor from a previous list_proposals page")
            before = int(cursor)
        async with self._read() as (tx, _):
            rows = await tx.list_proposals(
                status=status, type=type, author=author, before_number=before, limit=limit + 1
            )
        page = rows[:limit]
        summaries = [
            ProposalSummary(
                id=s.id,
                title=title,
                type=ProposalType(s.type),
                status=s.status,
                author=s.author,
                version=s.version,
                deadline=s.deadline,
                updated_at=s.updated_at,
            )
            for s, title in page
        ]
        next_cursor = str(page[-1][0].number) if len(rows) > limit else None
        return ProposalPage(proposals=summaries, next_cursor=next_cursor)

    async def revise_proposal(
        self,
        actor: Agent,
        proposal_id: str,
        *,
        expected_version: int,
        change_note: str,
        title: str | None = None,
        abstract: str | None = None,
        motivation: str | None = None,
        specification: str | None = None,
        implementation: str | None = None,
        dependencies: Sequence[str] | None = None,
    ) -> ProposalReceipt:
        limits.check_text("change_note", change_note, max_bytes=limits.MAX_REASON_BYTES)
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.REVISE)
            require(actor.id, "revise_proposal", actor.roles, is_author=actor.id == state.author)
            if expected_version != state.version:
                raise StaleVersion(state.id, expected_version, state.version)
            current = await tx.get_version(state.id, state.version)
            assert current is not None
            changes: dict[str, object] = {
                k: v
                for k, v in {
                    "title": title,
                    "abstract": abstract,
                    "motivation": motivation,
                    "specification": specification,
                    "implementation": implementation,
                }.items()
                if v is not None
            }
            if dependencies is not None:
                changes["dependencies"] = await self._check_dependencies(tx, dependencies, own_id=state.id)
            content = current.content.model_copy(update=changes)
            self._check_content(content)
            digest = _hash_content(content)
            if digest == current.content_hash:
                raise InvalidInput("revision", "changes nothing; pass at least one field with new text")
            number = state.version + 1
            await tx.insert_version(Version(state.id, number, content, change_note, digest, actor.id, now))
            await tx.index_proposal(state.id, content.title, search_body(content))
            state, receipt = await engine.move(
                tx,
                state,
                Action.REVISE,
                actor=actor.id,
                now=now,
                payload={"version": number, "content_hash": digest, "change_note": change_note},
                version=number,
            )
            return await self._proposal_receipt(tx, state, receipt)

    async def get_proposal_history(self, actor: Agent, proposal_id: str) -> ProposalHistory:
        async with self._read(proposal_id) as (tx, _):
            await self._state(tx, proposal_id)
            versions = [
                VersionInfo(
                    version=v.version,
                    title=v.content.title,
                    change_note=v.change_note,
                    content_hash=v.content_hash,
                    author=v.author,
                    created_at=v.created_at,
                )
                for v in await tx.list_versions(proposal_id)
            ]
            transitions = []
            for ev in await tx.audit_events(subject=proposal_id, after_seq=0, limit=None):
                payload = json.loads(ev.payload)
                if "from" in payload and payload["from"] != payload.get("to"):
                    transitions.append(
                        Transition(
                            seq=ev.seq,
                            from_status=Status(payload["from"]),
                            to_status=Status(payload["to"]),
                            actor=ev.actor,
                            action=ev.action,
                            at=datetime.fromisoformat(ev.at),
                        )
                    )
        return ProposalHistory(proposal_id=proposal_id, versions=versions, transitions=transitions)

    async def diff_proposal(self, actor: Agent, proposal_id: str, from_version: int, to_version: int) -> ProposalDiff:
        async with self._read(proposal_id) as (tx, _):
            state = await self._state(tx, proposal_id)
            texts = []
            for number in (from_version, to_version):
                v = await tx.get_version(proposal_id, number)
                if v is None:
                    raise NotFound("version", number, hint=f"{proposal_id} has versions 1 to {state.version}.")
                texts.append(content_markdown(v.content))
        diff = difflib.unified_diff(
            texts[0].splitlines(keepends=True),
            texts[1].splitlines(keepends=True),
            fromfile=f"{proposal_id} v{from_version}",
            tofile=f"{proposal_id} v{to_version}",
        )
        return ProposalDiff(
            proposal_id=proposal_id, from_version=from_version, to_version=to_version, diff="".join(diff)
        )

    async def withdraw_proposal(self, actor: Agent, proposal_id: str, reason: str) -> ProposalReceipt:
        self._reason("reason", reason)
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.WITHDRAW)
            require(actor.id, "withdraw_proposal", actor.roles, is_author=actor.id == state.author)
            if state.status is Status.DISCUSSION:
                await tx.conclude_round(state.id, state.round, now, "withdrawn")
            state, receipt = await engine.move(
                tx,
                state,
                Action.WITHDRAW,
                actor=actor.id,
                now=now,
                payload={"reason": reason},
                deadline=None,
                outcome=Status.WITHDRAWN.value,
                outcome_reason=reason,
            )
            return await self._proposal_receipt(tx, state, receipt)

    async def search_proposals(self, actor: Agent, query: str, limit: int = 10) -> SearchResults:
        if not 1 <= limit <= MAX_SEARCH:
            raise InvalidInput("limit", f"{limit} must be between 1 and {MAX_SEARCH}")
        limits.check_text("query", query, max_bytes=limits.MAX_QUERY_CHARS * 4)
        terms = re.findall(r"\w+", query)
        if not terms:
            raise InvalidInput("query", f"{query!r} has no words to search for")
        async with self._read() as (tx, _):
            raw = await tx.search(terms[:32], limit)
            hits = []
            for h in raw:
                state = await self._state(tx, h.proposal_id)
                v = await tx.get_version(state.id, state.version)
                assert v is not None
                hits.append(
                    SearchHit(
                        proposal_id=h.proposal_id,
                        kind="comment" if h.kind == "comment" else "proposal",
                        comment_id=h.comment_id,
                        title=v.content.title,
                        status=state.status,
                        snippet=h.snippet,
                        score=h.score,
                    )
                )
        return SearchResults(query=query, hits=hits)

    # -- discussion -----------------------------------------------------------------------------
    async def start_discussion(
        self, actor: Agent, proposal_id: str, duration_minutes: float | None = None
    ) -> ProposalReceipt:
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.START_DISCUSSION)
            require(actor.id, "start_discussion", actor.roles, is_author=actor.id == state.author)
            rules = self.config.rules_for(state.type)
            minutes = rules.discussion_minutes if duration_minutes is None else duration_minutes
            lo, hi = rules.discussion_range()
            if not (math.isfinite(minutes) and minutes > 0 and lo <= minutes <= hi):
                raise InvalidInput(
                    "duration_minutes",
                    f"{minutes} is outside the {lo}..{hi} minutes allowed for {state.type} proposals "
                    "(and must be above 0); leave it out for the default of "
                    f"{rules.discussion_minutes}",
                )
            deadline = now + timedelta(minutes=minutes)
            round_ = state.round + 1
            await tx.insert_round(state.id, round_, now, deadline)
            state, receipt = await engine.move(
                tx,
                state,
                Action.START_DISCUSSION,
                actor=actor.id,
                now=now,
                payload={"round": round_, "deadline": deadline.isoformat(), "minutes": minutes},
                round=round_,
                deadline=deadline,
            )
            return await self._proposal_receipt(tx, state, receipt)

    async def add_comment(
        self,
        actor: Agent,
        proposal_id: str,
        content: str,
        *,
        type: str = "comment",
        parent_id: int | None = None,
        references: Sequence[int] = (),
    ) -> CommentReceipt:
        limits.check_text("content", content, max_bytes=limits.MAX_COMMENT_BYTES)
        try:
            kind = CommentType(type)
        except ValueError:
            raise InvalidInput("type", f"{type!r} must be comment, suggestion, objection or support") from None
        if len(references) > limits.MAX_REFERENCES:
            raise InvalidInput("references", f"has {len(references)} entries; the limit is {limits.MAX_REFERENCES}")
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.ADD_COMMENT)
            require(actor.id, "add_comment", actor.roles, is_author=actor.id == state.author)
            refs = list(dict.fromkeys(references))
            for field, ids in (
                ("parent_id", [parent_id] if parent_id is not None else []),
                ("references", refs),
            ):
                for cid in ids:
                    other = await tx.get_comment(cid)
                    if other is None or other.proposal_id != state.id:
                        where = "" if other is None else f" (it belongs to {other.proposal_id})"
                        raise InvalidInput(
                            field, f"comment {cid} is not a comment of {state.id}{where}; see get_discussion"
                        )
            rules = self.config.rules_for(state.type)
            written = await tx.count_comments(state.id, state.round, actor.id)
            if written >= rules.max_comments_per_agent:
                raise InvalidInput(
                    "content",
                    f"{actor.id} has written {written} comments in round {state.round} of {state.id}; "
                    f"the limit is {rules.max_comments_per_agent} per round",
                )
            new = NewComment(state.id, state.round, actor.id, kind.value, content, parent_id, refs, now)
            comment_id = await tx.insert_comment(new)
            await tx.index_comment(state.id, comment_id, "", content)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="add_comment",
                subject=state.id,
                payload={
                    "comment_id": comment_id,
                    "type": kind.value,
                    "round": state.round,
                    "parent_id": parent_id,
                    "references": refs,
                    "content_sha256": _sha(content),
                },
            )
            comment = await tx.get_comment(comment_id)
            assert comment is not None
            return CommentReceipt(**comment.model_dump(), receipt=receipt)

    async def resolve_comment(self, actor: Agent, comment_id: int, note: str) -> CommentReceipt:
        self._reason("note", note)
        async with self.store.read() as tx:
            found = await tx.get_comment(comment_id)
        if found is None:
            raise NotFound("comment", comment_id, hint="Comment ids are in get_discussion.")
        async with self._write(found.proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.RESOLVE_COMMENT)
            comment = await tx.get_comment(comment_id)
            assert comment is not None
            if comment.type is CommentType.OBJECTION:
                require(actor.id, "resolve_objection", actor.roles, is_author=actor.id == comment.author)
            else:
                is_author = actor.id in (comment.author, state.author)
                require(actor.id, "resolve_comment", actor.roles, is_author=is_author)
            if comment.resolved:
                raise Conflict(
                    f"Comment {comment_id} on {state.id} is already resolved by {comment.resolved_by}; nothing to do."
                )
            await tx.resolve_comment(comment_id, actor.id, note, now)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="resolve_comment",
                subject=state.id,
                payload={"comment_id": comment_id, "type": comment.type.value, "note": note},
            )
            resolved = await tx.get_comment(comment_id)
            assert resolved is not None
            return CommentReceipt(**resolved.model_dump(), receipt=receipt)

    async def get_discussion(self, actor: Agent, proposal_id: str) -> Discussion:
        async with self._read(proposal_id) as (tx, _):
            state = await self._state(tx, proposal_id)
            comments = await tx.list_comments(proposal_id)
            rounds = await tx.list_rounds(proposal_id)
        return Discussion(
            proposal_id=proposal_id,
            status=state.status,
            round=state.round,
            deadline=state.deadline,
            rounds=rounds,
            comments=comments,
            thread=_thread(comments),
            unresolved_objections=[c.id for c in comments if c.type is CommentType.OBJECTION and not c.resolved],
        )

    async def summarize_discussion(self, actor: Agent, proposal_id: str) -> SummaryReceipt:
        require(actor.id, "summarize_discussion", actor.roles)
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.SUMMARIZE)
            if state.round == 0:
                raise InvalidInput("proposal_id", f"{state.id} has had no discussion round to summarize")
            current = await tx.get_version(state.id, state.version)
            assert current is not None
            summary = summarize(state.id, current.content.title, state.round, await tx.list_comments(state.id))
            text = canonical_json(summary.model_dump(mode="json"))
            await tx.store_summary(state.id, state.round, text)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="summarize_discussion",
                subject=state.id,
                payload={
                    "round": state.round,
                    "recommendation": summary.recommendation.value,
                    "summary_sha256": _sha(text),
                },
            )
            return SummaryReceipt(**summary.model_dump(), receipt=receipt)

    async def conclude_discussion(
        self, actor: Agent, proposal_id: str, resolution: str, reason: str, *, override: bool = False
    ) -> ProposalReceipt:
        self._reason("reason", reason)
        try:
            outcome = Resolution(resolution)
        except ValueError:
            raise InvalidInput(
                "resolution", f"{resolution!r} must be approved-for-voting, requires-revision or blocked"
            ) from None
        if override and outcome is not Resolution.APPROVED_FOR_VOTING:
            raise InvalidInput("override", "only applies to approved-for-voting (it overrides objections)")
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.CONCLUDE)
            require(actor.id, "override_objections" if override else "conclude_discussion", actor.roles)
            rules = self.config.rules_for(state.type)
            payload: dict[str, object] = {"resolution": outcome.value, "reason": reason}
            if outcome is Resolution.APPROVED_FOR_VOTING:
                objections = await engine.unresolved_objections(tx, state.id)
                if objections and not override:
                    raise ObjectionsUnresolved(state.id, objections)
                if objections:
                    payload["overridden_objections"] = objections
                state, receipt = await engine.open_voting(
                    tx, state, rules, Action.CONCLUDE, actor=actor.id, now=now, payload=payload
                )
            elif outcome is Resolution.REQUIRES_REVISION:
                state, receipt = await engine.enter_revision(
                    tx, state, rules, Action.CONCLUDE, actor=actor.id, now=now, payload=payload
                )
            else:
                await tx.conclude_round(state.id, state.round, now, outcome.value)
                state, receipt = await engine.move(
                    tx,
                    state,
                    Action.CONCLUDE,
                    actor=actor.id,
                    now=now,
                    target=Status.REJECTED,
                    payload=payload,
                    deadline=None,
                    outcome=Status.REJECTED.value,
                    outcome_reason=reason,
                )
            return await self._proposal_receipt(tx, state, receipt)

    # -- voting ---------------------------------------------------------------------------------
    async def cast_vote(self, actor: Agent, proposal_id: str, decision: str, justification: str) -> VoteReceipt:
        try:
            choice = Decision(decision)
        except ValueError:
            raise InvalidInput("decision", f"{decision!r} must be approve, reject or abstain") from None
        limits.check_text("justification", justification, max_bytes=limits.MAX_JUSTIFICATION_BYTES)
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.CAST_VOTE)
            rules = self.config.rules_for(state.type)
            if len(justification.strip()) < rules.min_justification_chars:
                raise InvalidInput(
                    "justification",
                    f"is {len(justification.strip())} characters; write at least "
                    f"{rules.min_justification_chars} explaining the vote",
                )
            eligible = await tx.eligible(state.id)
            if actor.id not in eligible:
                raise NotEligible(actor.id, state.id)
            before = {b.agent_id for b in await tx.last_ballots(state.id)}
            await tx.insert_vote(state.id, actor.id, choice.value, justification, now)
            ballot = canonical_json({"decision": choice.value, "justification": justification})
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="cast_vote",
                subject=state.id,
                payload={"ballot_sha256": _sha(ballot), "replaces_earlier": actor.id in before},
            )
            result: Outcome | None = None
            if rules.early_close and before | {actor.id} == set(eligible):
                state, _ = await engine.close_voting(
                    tx,
                    state,
                    rules,
                    Action.EARLY_CLOSE,
                    actor=engine.ENGINE,
                    now=now,
                    payload={"why": "all voted"},
                )
                result = Outcome(state.outcome) if state.outcome else None
            return VoteReceipt(
                proposal_id=state.id,
                agent_id=actor.id,
                decision=choice,
                replaced_earlier_vote=actor.id in before,
                status=state.status,
                result=result,
                receipt=receipt,
            )

    async def get_voting_results(self, actor: Agent, proposal_id: str) -> VotingResults:
        async with self._read(proposal_id) as (tx, _):
            return await self._results(tx, await self._state(tx, proposal_id))

    async def _results(self, tx: Transaction, state: ProposalState) -> VotingResults:
        if state.voting_opened_at is None:
            raise TransitionNotAllowed(
                state.id,
                state.status.value,
                "get_voting_results",
                allowed_from=["voting", "approved", "rejected"],
            )
        rules = self.config.rules_for(state.type)
        eligible = await tx.eligible(state.id)
        ballots = await tx.last_ballots(state.id)
        tally = engine.count(eligible, ballots, rules)
        is_open = state.status is Status.VOTING
        hidden = is_open and rules.results_visibility is Visibility.AFTER_CLOSE
        return VotingResults(
            proposal_id=state.id,
            status=state.status,
            result=None if is_open else Outcome(state.outcome) if state.outcome else None,
            reason=None if is_open else state.outcome_reason,
            quorum_met=tally.quorum_met,
            consensus=None if hidden else float(tally.consensus),
            tally=None if hidden else TallyCounts(approve=tally.approve, reject=tally.reject, abstain=tally.abstain),
            visibility=rules.results_visibility,
            quorum=_fraction_text(rules.quorum),
            approval_threshold=_fraction_text(rules.approval_threshold),
            eligible=eligible,
            voted=[b.agent_id for b in ballots],
            votes_cast=len(ballots),
            eligible_weight=tally.eligible_weight,
            voted_weight=tally.voted_weight,
            ballots=None if hidden else ballots,
            opened_at=state.voting_opened_at,
            deadline=state.deadline,
            closed_at=state.voting_closed_at,
        )

    async def close_voting(self, actor: Agent, proposal_id: str, reason: str) -> ResultsReceipt:
        self._reason("reason", reason)
        async with self._write(proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.CLOSE_VOTING)
            require(actor.id, "close_voting", actor.roles)
            rules = self.config.rules_for(state.type)
            state, receipt = await engine.close_voting(
                tx, state, rules, Action.CLOSE_VOTING, actor=actor.id, now=now, payload={"note": reason}
            )
            results = await self._results(tx, state)
            return ResultsReceipt(**results.model_dump(), receipt=receipt)

    # -- audit and status -----------------------------------------------------------------------
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
                payload=json.loads(r.payload),
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in rows[:limit]
        ]
        next_after = events[-1].seq if len(rows) > limit else None
        return AuditPage(events=events, next_after_seq=next_after)

    async def verify_audit(self, actor: Agent | None = None) -> AuditVerification:
        async with self.store.read() as tx:
            check = verify_chain(await tx.audit_events(subject=None, after_seq=0, limit=None))
        return AuditVerification(
            ok=check.ok,
            events=check.events,
            head=check.head,
            first_bad_seq=check.first_bad_seq,
            problem=check.problem,
        )

    async def get_governance_status(self, actor: Agent) -> GovernanceStatus:
        async with self._read() as (tx, now):
            counts = {s.value: 0 for s in Status}
            counts.update(await tx.count_by_status())
            upcoming = await tx.next_deadlines(10)
            agents = await tx.list_agents()
            seq, head = await tx.audit_head()
        return GovernanceStatus(
            now=now,
            counts=counts,
            next_deadlines=[
                Deadline(proposal_id=s.id, status=s.status, deadline=s.deadline) for s in upcoming if s.deadline
            ],
            active_agents=sum(a.active for a in agents),
            audit_events=seq,
            audit_head=head,
        )

    async def proposal_for_resource(self, actor: Agent, proposal_id: str) -> tuple[Proposal, DiscussionSummary]:
        """The proposal and a fresh (unstored) summary, for resources and prompts."""
        async with self._read(proposal_id) as (tx, _):
            state = await self._state(tx, proposal_id)
            proposal = await self._proposal(tx, state)
            comments = await tx.list_comments(proposal_id)
        return proposal, summarize(state.id, proposal.title, state.round, comments)


def _thread(comments: Sequence[Comment]) -> list[ThreadNode]:
    children: dict[int | None, list[Comment]] = {}
    for c in comments:
        children.setdefault(c.parent_id, []).append(c)

    def build(c: Comment) -> ThreadNode:
        return ThreadNode(comment=c, replies=[build(r) for r in children.get(c.id, [])])

    return [build(c) for c in children.get(None, [])]
