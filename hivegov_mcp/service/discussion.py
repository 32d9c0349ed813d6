"""Discussion operations: rounds, comments, objections, summaries, conclusions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.audit import canonical_json, event_leaf
from hivegov_mcp.domain.config import DecisionMethod
from hivegov_mcp.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotNow,
    ObjectionsUnresolved,
)
from hivegov_mcp.domain.models import (
    Agent,
    CommentReceipt,
    CommentType,
    Discussion,
    DiscussionSummary,
    ProposalReceipt,
    Receipt,
    Resolution,
    SummaryReceipt,
)
from hivegov_mcp.domain.permissions import require
from hivegov_mcp.domain.phases import Action, Status, check_action
from hivegov_mcp.domain.summary import summarize
from hivegov_mcp.service import engine, guards
from hivegov_mcp.service.base import (
    ServiceBase,
    reads,
    sha256_text,
    writes,
)
from hivegov_mcp.store.base import NewComment, ProposalState, StoredSummary, Transaction


class DiscussionOperations(ServiceBase):
    @writes
    async def start_discussion(
        self, actor: Agent, proposal_id: str, duration_minutes: float | None = None
    ) -> ProposalReceipt:
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.START_DISCUSSION)
            require(actor.id, "start_discussion", actor.roles, is_author=actor.id == state.author)
            rules = (await self.rules.current(tx))[1].rules_for(state.type)
            minutes = rules.discussion_minutes if duration_minutes is None else duration_minutes
            lo, hi = rules.discussion_range()
            if not (math.isfinite(minutes) and minutes > 0 and lo <= minutes <= hi):
                raise InvalidInput(
                    "duration_minutes",
                    f"{minutes:g} is outside the {lo:g}..{hi:g} minutes allowed for {state.type} proposals "
                    "(and must be above 0); leave it out for the default of "
                    f"{rules.discussion_minutes:g}",
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

    @writes
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
        kind = limits.choice("type", CommentType, type)
        if len(references) > limits.MAX_REFERENCES:
            raise InvalidInput("references", f"has {len(references)} entries; the limit is {limits.MAX_REFERENCES}")
        async with self._write(actor, proposal_id) as (tx, state, now):
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
            rules = (await self.rules.current(tx))[1].rules_for(state.type)
            written = await tx.count_comments(state.id, state.round, actor.id)
            if written >= rules.max_comments_per_agent:
                raise InvalidInput(
                    "content",
                    f"{actor.id} has written {written} comments in round {state.round} of {state.id}; "
                    f"the limit is {rules.max_comments_per_agent} per round",
                )
            new = NewComment(state.id, state.round, actor.id, kind.value, content, parent_id, refs, now)
            comment_id = await tx.insert_comment(new)
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
                    "content_sha256": sha256_text(content),
                },
            )
            comment = await tx.get_comment(comment_id)
            assert comment is not None
            return CommentReceipt(**comment.model_dump(), receipt=receipt)

    @writes
    async def resolve_comment(self, actor: Agent, comment_id: int, note: str) -> CommentReceipt:
        self._reason("note", note)
        async with self.store.read() as tx:
            found = await tx.get_comment(comment_id)
        if found is None:
            raise NotFound("comment", comment_id, hint="Comment ids are in get_discussion.")
        async with self._write(actor, found.proposal_id) as (tx, state, now):
            if await tx.is_hidden(found.id):
                raise NotNow(state.id, "resolve_comment", f"comment {found.id} is hidden by a moderator")
            check_action(state.id, state.status, Action.RESOLVE_COMMENT)
            comment = await tx.get_comment(comment_id)
            assert comment is not None
            if comment.type is CommentType.OBJECTION:
                require(
                    actor.id,
                    "resolve_objection",
                    actor.roles,
                    is_author=actor.id == comment.author,
                    author="the objection's author",
                )
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

    @reads
    async def get_discussion(
        self, actor: Agent, proposal_id: str, *, after_id: int = 0, limit: int = limits.DEFAULT_COMMENT_PAGE
    ) -> Discussion:
        """One page of the discussion: flat comments oldest first, each naming its parent."""
        if not 1 <= limit <= limits.MAX_COMMENT_PAGE:
            raise InvalidInput("limit", f"{limit} must be between 1 and {limits.MAX_COMMENT_PAGE}")
        if after_id < 0:
            raise InvalidInput("after_id", f"{after_id} must be 0 or more")
        async with self._read(proposal_id) as (tx, _):
            state = await self._state(tx, proposal_id)
            comments = await tx.list_comments(proposal_id, after_id=after_id, limit=limit + 1)
            rounds = await tx.list_rounds(proposal_id)
            total = await tx.count_proposal_comments(proposal_id)
            objections = await tx.unresolved_objections(proposal_id)
            published = await tx.published_summaries(proposal_id)
            hidden = await tx.hidden_comments(proposal_id, actor.id)
        page = comments[:limit]
        return Discussion(
            proposal_id=proposal_id,
            status=state.status,
            round=state.round,
            deadline=state.deadline,
            rounds=rounds,
            comment_count=total,
            comments=page,
            next_after_id=page[-1].id if len(comments) > limit else None,
            unresolved_objections=objections,
            published_summaries=published,
            hidden_mine=hidden,
        )

    @staticmethod
    async def _receipt_of(tx: Transaction, seq: int) -> Receipt:
        """The receipt of an event written earlier: its sequence number, hash and Merkle leaf."""
        (event,) = await tx.audit_events(subject=None, after_seq=seq - 1, limit=1)
        return Receipt(seq=event.seq, hash=event.hash, leaf=event_leaf(event).hex())

    @writes
    async def summarize_discussion(self, actor: Agent, proposal_id: str) -> SummaryReceipt:
        """The deterministic summary of the current round, stored when it differs from the stored one.

        Calling it again on an unchanged discussion writes nothing and returns the receipt of the
        event that stored that summary (so the tool's idempotent hint is true)."""
        require(actor.id, "summarize_discussion", actor.roles)
        async with self._read(proposal_id) as (tx, _):
            summary, text, stored = await self._summary(tx, await self._state(tx, proposal_id))
            if stored is not None and stored.text == text:
                receipt = await self._receipt_of(tx, stored.seq)
                return SummaryReceipt(**summary.model_dump(), changed=False, receipt=receipt)
        async with self._write(actor, proposal_id) as (tx, state, now):
            summary, text, stored = await self._summary(tx, state)
            if stored is not None and stored.text == text:  # another process stored it meanwhile
                receipt = await self._receipt_of(tx, stored.seq)
                return SummaryReceipt(**summary.model_dump(), changed=False, receipt=receipt)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="summarize_discussion",
                subject=state.id,
                payload={
                    "round": state.round,
                    "recommendation": summary.recommendation.value,
                    "summary_sha256": sha256_text(text),
                },
            )
            await tx.store_summary(state.id, state.round, StoredSummary(text=text, seq=receipt.seq, hash=receipt.hash))
            return SummaryReceipt(**summary.model_dump(), changed=True, receipt=receipt)

    async def _summary(
        self, tx: Transaction, state: ProposalState
    ) -> tuple[DiscussionSummary, str, StoredSummary | None]:
        check_action(state.id, state.status, Action.SUMMARIZE)
        if state.round == 0:
            raise InvalidInput("proposal_id", f"{state.id} has had no discussion round to summarize")
        current = await tx.get_version(state.id, state.version)
        assert current is not None
        summary = summarize(state.id, current.content.title, state.round, await tx.list_comments(state.id))
        text = canonical_json(summary.model_dump(mode="json"))
        return summary, text, await tx.get_summary(state.id, state.round)

    @writes
    async def conclude_discussion(
        self, actor: Agent, proposal_id: str, resolution: str, reason: str, *, override: bool = False
    ) -> ProposalReceipt:
        self._reason("reason", reason)
        outcome = limits.choice("resolution", Resolution, resolution)
        if override and outcome is not Resolution.APPROVED_FOR_VOTING:
            raise InvalidInput("override", "only applies to approved-for-voting (it overrides objections)")
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.CONCLUDE)
            require(actor.id, "override_objections" if override else "conclude_discussion", actor.roles)
            rules = (await self.rules.current(tx))[1].rules_for(state.type)
            payload: dict[str, object] = {"resolution": outcome.value, "reason": reason}
            if outcome is Resolution.APPROVED_FOR_VOTING:
                await guards.check_settled_objections(tx, state)
                objections = await tx.unresolved_objections(state.id)
                if objections and not override:
                    raise ObjectionsUnresolved(state.id, objections)
                if objections:
                    payload["overridden_objections"] = objections
                blocked = await engine.validation_block(tx, rules, state)
                if blocked and not override:
                    raise NotNow(
                        state.id, "conclude_discussion", blocked, "A validator records a pass with record_validation."
                    )
                if blocked:
                    payload["overridden_validation"] = blocked
                decide = engine.approve_by_consent if rules.method is DecisionMethod.CONSENT else engine.open_voting
                state, receipt = await decide(
                    tx, state, self.rules, Action.CONCLUDE, actor=actor.id, now=now, payload=payload
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
