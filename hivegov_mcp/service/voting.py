"""Voting operations: casting, results (hidden while open unless live), closing."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from hivegov_mcp.domain import limits
from hivegov_mcp.domain.audit import ballot_commitment, canonical_json, option_ballot_commitment
from hivegov_mcp.domain.ballots import checked_ballot
from hivegov_mcp.domain.config import Visibility
from hivegov_mcp.domain.counting import count, counted_options
from hivegov_mcp.domain.errors import (
    InvalidInput,
    NotEligible,
    NotFound,
    TransitionNotAllowed,
)
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.permissions import require
from hivegov_mcp.domain.phases import RESULTS_READABLE, Action, Status, check_action
from hivegov_mcp.domain.results import carried_ballots, option_tally, uncounted_voters
from hivegov_mcp.domain.tally import Decision, Outcome, Tally, fraction_text
from hivegov_mcp.domain.vote_models import ResultsReceipt, TallyCounts, VoteReceipt, VotingResults
from hivegov_mcp.service import engine
from hivegov_mcp.service.base import (
    ServiceBase,
    reads,
    writes,
)
from hivegov_mcp.store.base import ProposalState, Transaction


class VotingOperations(ServiceBase):
    @writes
    async def cast_vote(
        self,
        actor: Agent,
        proposal_id: str,
        decision: str | None = None,
        justification: str = "",
        *,
        approvals: Sequence[int] | None = None,
        scores: Mapping[int, int] | Mapping[str, int] | None = None,
        ranking: Sequence[int] | None = None,
    ) -> VoteReceipt:
        limits.check_text("justification", justification, max_bytes=limits.MAX_JUSTIFICATION_BYTES)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.CAST_VOTE)
            rules = await engine.vote_rules(tx, self.rules, state)
            labels = await self._options(tx, state) if rules.method.votes_on_options else []
            ballot = checked_ballot(
                state.id,
                rules.method,
                labels,
                decision=decision,
                approvals=approvals,
                scores=scores,
                ranking=ranking,
            )
            if len(justification.strip()) < rules.min_justification_chars:
                raise InvalidInput(
                    "justification",
                    f"is {len(justification.strip())} characters; write at least "
                    f"{rules.min_justification_chars} explaining the vote",
                )
            standing = await tx.voter_standing(state.id, actor.id, count=rules.early_close)
            if not standing.eligible:
                raise NotEligible(actor.id, state.id)
            replaced = standing.voted_before
            # The event commits to the ballot without revealing it: a random salt (kept with the vote)
            # makes the possible ballots unguessable from the hash while voting is open.
            salt = secrets.token_hex(16)
            if isinstance(ballot, Decision):
                await tx.insert_vote(state.id, actor.id, ballot.value, justification, now, salt)
                commitment = ballot_commitment(ballot.value, justification, salt)
            else:
                await tx.insert_vote(state.id, actor.id, None, justification, now, salt, canonical_json(ballot))
                commitment = option_ballot_commitment(ballot, justification, salt)
            receipt = await tx.append_audit(
                at=now,
                actor=actor.id,
                action="cast_vote",
                subject=state.id,
                payload={"ballot_sha256": commitment, "replaces_earlier": replaced},
            )
            result: Outcome | None = None
            everyone_voted = standing.voted_count + (0 if replaced else 1) == standing.eligible_count
            if rules.early_close and everyone_voted:
                state, _ = await engine.close_voting(
                    tx,
                    state,
                    self.rules,
                    Action.EARLY_CLOSE,
                    actor=engine.ENGINE,
                    now=now,
                    payload={"why": "all voted"},
                )
                result = Outcome(state.outcome) if state.outcome else None
            on_options = {} if isinstance(ballot, Decision) else ballot
            return VoteReceipt(
                proposal_id=state.id,
                agent_id=actor.id,
                decision=ballot if isinstance(ballot, Decision) else None,
                approvals=on_options.get("approvals"),
                scores={int(k): v for k, v in on_options["scores"].items()} if "scores" in on_options else None,
                ranking=on_options.get("ranking"),
                replaced_earlier_vote=replaced,
                status=state.status,
                result=result,
                receipt=receipt,
            )

    @staticmethod
    async def _options(tx: Transaction, state: ProposalState) -> list[str]:
        """The option labels of the version being voted on (voting freezes the text)."""
        version = await tx.get_version(state.id, state.version)
        return list(version.content.options) if version else []

    @reads
    async def get_voting_results(self, actor: Agent, proposal_id: str) -> VotingResults:
        async with self._read(proposal_id) as (tx, _):
            return await self._results(tx, await self._state(tx, proposal_id))

    async def _results(self, tx: Transaction, state: ProposalState) -> VotingResults:
        consent = state.voting_opened_at is None and state.rules_version is not None and state.outcome == "approved"
        if consent and state.status in RESULTS_READABLE:
            raise NotFound(
                "vote on",
                state.id,
                hint=f"{state.id} was decided by consent, its type's method: it was approved when its discussion "
                "ended with no unresolved objection, without a vote (get_proposal_history shows the round).",
            )
        if state.voting_opened_at is None or state.status not in RESULTS_READABLE:
            raise TransitionNotAllowed(
                state.id,
                state.status.value,
                "get_voting_results",
                allowed_from=[s.value for s in Status if s in RESULTS_READABLE],
            )
        rules = await engine.vote_rules(tx, self.rules, state)
        eligible = await tx.eligible(state.id)
        ballots = await tx.last_ballots(state.id)
        labels = await self._options(tx, state) if rules.method.votes_on_options else []
        is_open = state.status is Status.VOTING
        # A closed vote is read as it was counted, never recounted (a later rules change can't alter it).
        stored = None if is_open else await tx.get_tally(state.id)
        records = None if is_open else await tx.get_count_records(state.id)
        record = records.result if records else None
        if stored is not None:
            tally = stored
        elif rules.method.votes_on_options:  # open and live: counted as it stands, before delegation
            tally, record = counted_options(eligible, ballots, rules, labels, None)
        else:
            tally = count(eligible, ballots, rules)
        hidden = is_open and rules.results_visibility is Visibility.AFTER_CLOSE
        delegation = records.delegation if records else None
        return VotingResults(
            proposal_id=state.id,
            status=state.status,
            method=rules.method.value if rules.method.votes_on_options else "majority",
            options=labels,
            result=None if is_open else tally.outcome,
            reason=None if is_open else state.outcome_reason,
            quorum_met=tally.quorum_met,
            consensus=None if hidden else float(tally.consensus),
            tally=None
            if hidden or record
            else TallyCounts(approve=tally.approve, reject=tally.reject, abstain=tally.abstain),
            visibility=rules.results_visibility,
            rules_version=engine.frozen_version(state),
            quorum=fraction_text(rules.quorum),
            approval_threshold=None if rules.method.votes_on_options else fraction_text(rules.approval_threshold),
            eligible=eligible,
            voted=[b.agent_id for b in ballots],
            votes_cast=len(ballots),
            eligible_weight=tally.eligible_weight,
            voted_weight=tally.voted_weight,
            ballots=None if hidden else carried_ballots(ballots, delegation, closed=not is_open),
            option_tally=None if hidden or record is None else option_tally(record, labels),
            uncounted=uncounted_voters(delegation) if delegation else None,
            opened_at=state.voting_opened_at,
            deadline=state.deadline,
            closed_at=state.voting_closed_at,
        )

    @writes
    async def close_voting(self, actor: Agent, proposal_id: str, reason: str) -> ResultsReceipt:
        self._reason("reason", reason)
        async with self._write(actor, proposal_id) as (tx, state, now):
            check_action(state.id, state.status, Action.CLOSE_VOTING)
            require(actor.id, "close_voting", actor.roles)
            state, receipt = await engine.close_voting(
                tx, state, self.rules, Action.CLOSE_VOTING, actor=actor.id, now=now, payload={"note": reason}
            )
            results = await self._results(tx, state)
            return ResultsReceipt(**results.model_dump(), receipt=receipt)


def counts(tally: Tally) -> TallyCounts:
    return TallyCounts(approve=tally.approve, reject=tally.reject, abstain=tally.abstain)
