"""After the vote (DESIGN §15): appeals against a resolution, and the execution of an approved
proposal (claim with a lease, report, retry, roll back). Every move is in the transition
table; the appeal window and the lease are deadlines the engine applies."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.errors import Conflict, InvalidInput, NotFound, NotNow, PermissionDenied
from hivegov_mcp.domain.models import (
    Agent,
    AppealDecision,
    AppealReceipt,
    ExecutionOutcome,
    ExecutionReceipt,
    ModerationAction,
    ModerationReceipt,
    PublishedSummary,
    PublishedSummaryReceipt,
    Receipt,
    Resolution,
    ValidationReceipt,
    ValidationResult,
)
from hivegov_mcp.domain.permissions import Role, require
from hivegov_mcp.domain.phases import Action, Status, check_action
from hivegov_mcp.service import engine
from hivegov_mcp.service.base import ServiceBase, sha256_text, writes
from hivegov_mcp.store.base import ProposalState, Transaction

MAX_ARTIFACTS = 20


class AfterVoteOperations(ServiceBase):
    # -- appeals -------------------------------------------------------------------------------
    @writes
    async def file_appeal(self, actor: Agent, proposal_id: str, grounds: str) -> AppealReceipt:
        """One appeal per resolution, within its window, by an eligible voter of that vote or the author."""
        self._reason("grounds", grounds)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.FILE_APPEAL)
            if state.voting_closed_at is None:
                raise NotNow(state.id, "file_appeal", "it was not resolved by a vote (a mediator blocked it)")
            if state.deadline is None:
                raise NotNow(state.id, "file_appeal", "its appeal window has closed")
            eligible = await tx.eligible(state.id)
            if actor.id not in eligible and actor.id != state.author:
                raise PermissionDenied(
                    actor.id, "file_appeal", ["to be an eligible voter of the vote", "to be the author"]
                )
            if await tx.appeal_for(state.id, state.voting_closed_at) is not None:
                raise NotNow(state.id, "file_appeal", "this resolution has been appealed already")
            appeal_id = await tx.insert_appeal(state.id, state.voting_closed_at, actor.id, grounds, now)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="file_appeal",
                subject=state.id,
                payload={"appeal": appeal_id, "grounds": grounds},
            )
            appeal = await tx.get_appeal(appeal_id)
            assert appeal is not None
            return AppealReceipt(**appeal.model_dump(), status=state.status, receipt=receipt)

    @writes
    async def decide_appeal(self, actor: Agent, appeal_id: int, decision: str, reason: str) -> AppealReceipt:
        """An arbiter decides: uphold (the result stands) or reopen (a new discussion round)."""
        choice = limits.choice("decision", AppealDecision, decision)
        self._reason("reason", reason)
        async with self.store.read() as tx:
            found = await tx.get_appeal(appeal_id)
        if found is None:
            raise NotFound("appeal", appeal_id, hint="A proposal's history lists its appeals.")
        async with self._write(actor, found.proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.DECIDE_APPEAL)
            require(actor.id, "decide_appeal", actor.roles)
            found = await tx.get_appeal(appeal_id) or found  # again, inside the write: another process may have decided
            if found.decision is not None:
                raise NotNow(state.id, "decide_appeal", f"appeal {appeal_id} was decided already ({found.decision})")
            await tx.decide_appeal(appeal_id, choice.value, actor.id, reason, now)
            payload = {"appeal": appeal_id, "decision": choice.value, "reason": reason}
            if choice is AppealDecision.UPHOLD:
                receipt = await tx.append_audit(
                    at=now, actor=actor.id, action="decide_appeal", subject=state.id, payload=payload
                )
            else:
                state, receipt = await self._reopen(tx, state, actor, now, payload)
            appeal = await tx.get_appeal(appeal_id)
            assert appeal is not None
            return AppealReceipt(**appeal.model_dump(), status=state.status, receipt=receipt)

    async def _reopen(
        self, tx: Transaction, state: ProposalState, actor: Agent, now: datetime, payload: dict[str, Any]
    ) -> tuple[ProposalState, Receipt]:
        """A new discussion round; the vote's electorate, ballots and tally are cleared for the next
        vote (the closing event of the vote keeps every counted ballot)."""
        rules = (await self.rules.current(tx))[1].rules_for(state.type)
        deadline = now + timedelta(minutes=rules.discussion_minutes)
        round_ = state.round + 1
        await tx.clear_vote(state.id)
        await tx.insert_round(state.id, round_, now, deadline)
        return await engine.move(
            tx,
            state,
            Action.DECIDE_APPEAL,
            actor=actor.id,
            now=now,
            target=Status.DISCUSSION,
            payload={**payload, "round": round_, "deadline": deadline.isoformat()},
            round=round_,
            deadline=deadline,
            outcome=None,
            outcome_reason=None,
            voting_opened_at=None,
            voting_closed_at=None,
            rules_version=None,
        )

    # -- execution -----------------------------------------------------------------------------
    @writes
    async def claim_execution(self, actor: Agent, proposal_id: str) -> ExecutionReceipt:
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.CLAIM_EXECUTION)
            require(actor.id, "claim_execution", actor.roles)
            if state.status is Status.APPROVED and state.deadline is not None:
                until = state.deadline.isoformat(timespec="seconds")
                raise NotNow(state.id, "claim_execution", f"its appeal window is open until {until}")
            appeals = await tx.appeals(state.id)
            if any(a.decision is None for a in appeals):
                raise NotNow(state.id, "claim_execution", "an appeal is pending", "An arbiter decides it first.")
            version = await tx.get_version(state.id, state.version)
            assert version is not None
            for dep in version.content.dependencies:
                dep_state = await tx.get_proposal(dep)
                if dep_state is not None and dep_state.status is not Status.EXECUTED:
                    status = dep_state.status.value
                    raise NotNow(state.id, "claim_execution", f"its dependency {dep} is {status}, not executed")
            rules = (await self.rules.current(tx))[1].rules_for(state.type)
            attempts = await tx.executions(state.id)
            if len(attempts) >= rules.max_execution_attempts:
                raise NotNow(
                    state.id,
                    "claim_execution",
                    f"its {len(attempts)} attempts are used up "
                    f"(max_execution_attempts = {rules.max_execution_attempts})",
                    "An executor or arbiter may roll it back.",
                )
            attempt = len(attempts) + 1
            lease_until = now + timedelta(minutes=rules.execution_lease_minutes)
            await tx.insert_execution(state.id, attempt, actor.id, now, lease_until)
            state, receipt = await engine.move(
                tx,
                state,
                Action.CLAIM_EXECUTION,
                actor=actor.id,
                now=now,
                payload={"attempt": attempt, "lease_until": lease_until.isoformat()},
                deadline=lease_until,
            )
            current = (await tx.executions(state.id))[-1]
            return ExecutionReceipt(proposal_id=state.id, status=state.status, attempt=current, receipt=receipt)

    @writes
    async def report_execution(
        self, actor: Agent, proposal_id: str, outcome: str, details: str, artifacts: Sequence[str] = ()
    ) -> ExecutionReceipt:
        result = limits.choice("outcome", ExecutionOutcome, outcome)
        limits.check_text("details", details, max_bytes=limits.MAX_COMMENT_BYTES)
        if len(artifacts) > MAX_ARTIFACTS:
            raise InvalidInput("artifacts", f"has {len(artifacts)} links; the limit is {MAX_ARTIFACTS}")
        for link in artifacts:
            limits.check_text("artifacts", link, max_bytes=limits.MAX_REASON_BYTES)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.REPORT_EXECUTION)
            current = (await tx.executions(state.id))[-1]
            if current.executor != actor.id:
                raise PermissionDenied(actor.id, "report_execution", [f"to be {current.executor}, who claimed it"])
            await tx.end_execution(state.id, current.attempt, result.value, details, artifacts, now)
            target = Status.EXECUTED if result is ExecutionOutcome.SUCCEEDED else Status.EXECUTION_FAILED
            state, receipt = await engine.move(
                tx,
                state,
                Action.REPORT_EXECUTION,
                actor=actor.id,
                now=now,
                target=target,
                payload={"attempt": current.attempt, "outcome": result.value, "artifacts": list(artifacts)},
                deadline=None,
            )
            ended = (await tx.executions(state.id))[-1]
            return ExecutionReceipt(proposal_id=state.id, status=state.status, attempt=ended, receipt=receipt)

    @writes
    async def rollback_execution(self, actor: Agent, proposal_id: str, reason: str) -> ExecutionReceipt:
        self._reason("reason", reason)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.ROLLBACK_EXECUTION)
            require(actor.id, "rollback_execution", actor.roles)
            state, receipt = await engine.move(
                tx, state, Action.ROLLBACK_EXECUTION, actor=actor.id, now=now, payload={"reason": reason}
            )
            last = (await tx.executions(state.id))[-1]
            return ExecutionReceipt(proposal_id=state.id, status=state.status, attempt=last, receipt=receipt)


class ReviewOperations(ServiceBase):
    """Before the vote, by the roles of DESIGN §15: validation, agent summaries, moderation."""

    @writes
    async def record_validation(self, actor: Agent, proposal_id: str, result: str, findings: str) -> ValidationReceipt:
        outcome = limits.choice("result", ValidationResult, result)
        limits.check_text("findings", findings, max_bytes=limits.MAX_COMMENT_BYTES)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.RECORD_VALIDATION)
            require(actor.id, "record_validation", actor.roles)
            validation_id = await tx.insert_validation(state.id, state.version, actor.id, outcome.value, findings, now)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="record_validation",
                subject=state.id,
                payload={"version": state.version, "result": outcome.value, "validation": validation_id},
            )
            recorded = next(v for v in await tx.validations(state.id) if v.id == validation_id)
            return ValidationReceipt(**recorded.model_dump(), proposal_id=state.id, receipt=receipt)

    @writes
    async def publish_summary(
        self, actor: Agent, proposal_id: str, text: str, recommendation: str, round: int | None = None
    ) -> PublishedSummaryReceipt:
        """Publish a summary of the current round; with `round`, only if that round is still the
        current one (a summary written while the round ended is not filed under the next)."""
        advice = limits.choice("recommendation", Resolution, recommendation)
        limits.check_text("text", text, max_bytes=limits.MAX_COMMENT_BYTES)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.PUBLISH_SUMMARY)
            require(actor.id, "publish_summary", actor.roles)
            if round is not None and round != state.round:
                when = "has ended" if round < state.round else "has not started"
                raise Conflict(
                    f"{state.id} is in discussion round {state.round}, not {round}: round {round} {when}.",
                    f"Read the discussion of round {state.round}, then summarize it with round={state.round}.",
                )
            summary = PublishedSummary(round=state.round, author=actor.id, text=text, recommendation=advice, at=now)
            await tx.insert_published_summary(state.id, summary)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="publish_summary",
                subject=state.id,
                payload={"round": state.round, "recommendation": advice.value, "text_sha256": sha256_text(text)},
            )
            return PublishedSummaryReceipt(**summary.model_dump(), proposal_id=state.id, receipt=receipt)

    @writes
    async def moderate_comment(self, actor: Agent, comment_id: int, action: str, reason: str) -> ModerationReceipt:
        """Hide a comment (or restore it) with a reason (mediator; an unresolved objection: arbiter)."""
        move = limits.choice("action", ModerationAction, action)
        self._reason("reason", reason)
        async with self.store.read() as tx:
            found = await tx.get_comment(comment_id)
        if found is None:
            raise NotFound("comment", comment_id, hint="get_discussion lists a proposal's comments.")
        async with self._write(actor, found.proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.MODERATE)
            blocking = found.type.value == "objection" and not found.resolved
            if blocking and move is ModerationAction.HIDE:
                if Role.ARBITER not in actor.roles:
                    raise PermissionDenied(
                        actor.id,
                        "moderate_comment",
                        ["the arbiter role"],
                        detail="an unresolved objection blocks voting",
                    )
            else:
                require(actor.id, "moderate_comment", actor.roles)
            hidden = await tx.is_hidden(comment_id)
            if hidden is (move is ModerationAction.HIDE):
                already = "hidden already" if hidden else "not hidden"
                raise NotNow(state.id, "moderate_comment", f"comment {comment_id} is {already}")
            if move is ModerationAction.HIDE:
                await tx.set_hidden(comment_id, actor.id, reason, now)
            else:
                await tx.set_hidden(comment_id, None, None, None)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="moderate_comment",
                subject=state.id,
                payload={"comment": comment_id, "action": move.value, "reason": reason},
            )
            return ModerationReceipt(
                comment_id=comment_id, proposal_id=state.id, hidden=move is ModerationAction.HIDE, receipt=receipt
            )
