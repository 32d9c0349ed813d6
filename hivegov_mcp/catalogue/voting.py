"""Voting: casting a ballot, reading the results, closing early."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from hivegov_mcp.catalogue.base import KIB, Arguments, Kind, OneProposal, Operation, ProposalId, Route, inline
from hivegov_mcp.domain import limits
from hivegov_mcp.domain.tally import Decision
from hivegov_mcp.domain.vote_models import ResultsReceipt, VoteReceipt, VotingResults

DecisionArg = Annotated[Decision, inline(Decision)]
OptionId = StrictInt  # a whole number as given: true, "2" or 2.0 is not an option id
TAG = "voting"


class CastVote(Arguments):
    proposal_id: ProposalId
    decision: DecisionArg | None = Field(None, description="Your vote, when the proposal's method is majority.")
    approvals: list[OptionId] | None = Field(None, description="approval: the option ids you approve (any number).")
    scores: dict[str, StrictInt] | None = Field(None, description="score: every option id -> a whole score 0 to 5.")
    ranking: list[OptionId] | None = Field(None, description="ranked, ranked_irv: option ids, most preferred first.")
    justification: str = Field(
        min_length=1,
        description="Your reasoning: at least the rules' min_justification_chars, at most "
        f"{limits.MAX_JUSTIFICATION_BYTES // KIB} KiB.",
    )


class CloseVoting(Arguments):
    proposal_id: ProposalId
    reason: str = Field(min_length=1, description="Why voting is closed now (required).")


OPERATIONS = [
    Operation(
        name="cast_vote",
        kind=Kind.WRITE,
        permission="cast_vote",
        arguments=CastVote,
        result=VoteReceipt,
        rest=Route("POST", "/votes/{proposal_id}", "Cast (or change) a vote", TAG),
        description="""Vote on a proposal in voting, if you were an eligible voter when voting opened. Give the
        one ballot field its method takes (get_voting_results shows method and options): majority -> decision;
        approval -> approvals; score -> scores; ranked or ranked_irv -> ranking. Option ids are positions in the
        proposal's options, from 1. You may vote again while voting is open; the last ballot counts.""",
    ),
    Operation(
        name="get_voting_results",
        kind=Kind.READ,
        permission="read",
        arguments=OneProposal,
        result=VotingResults,
        rest=Route("GET", "/votes/{proposal_id}", "Voting results (hidden while open by default)", TAG),
        description="""Results: method, result, reason, quorum, consensus, tally (on options: figures, winner, tie
        rule, Schulze matrix or runoff rounds), delegated weight. While open, by default, only who voted.""",
        agent_text=True,
    ),
    Operation(
        name="close_voting",
        kind=Kind.DESTRUCTIVE,
        permission="close_voting",
        arguments=CloseVoting,
        result=ResultsReceipt,
        rest=Route("POST", "/votes/{proposal_id}/close", "Close voting now and count (mediator)", TAG),
        description="Close voting before its deadline and count the votes (mediator). This is final.",
    ),
]
