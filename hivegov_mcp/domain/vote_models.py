"""The public models of a vote: ballots, results (of a yes/no vote and of a vote on options, with
delegation), and receipts."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from hivegov_mcp.domain.config import Visibility
from hivegov_mcp.domain.models import PublicModel, Receipt
from hivegov_mcp.domain.phases import Status
from hivegov_mcp.domain.tally import Decision, Outcome


class TallyCounts(PublicModel):
    approve: int = Field(description="Weight of approve votes.")
    reject: int = Field(description="Weight of reject votes.")
    abstain: int = Field(description="Weight of abstentions.")


class Ballot(PublicModel):
    agent_id: str = Field(description="Voter.")
    decision: Decision | None = Field(description="approve, reject or abstain (majority); null for a vote on options.")
    approvals: list[int] | None = Field(None, description="The option ids approved (approval).")
    scores: dict[int, int] | None = Field(None, description="Option id -> score 0-5 (score).")
    ranking: list[int] | None = Field(None, description="Option ids, most preferred first (ranked, ranked_irv).")
    justification: str = Field(description="The voter's reason (its data).")
    weight: int = Field(description="The voter's frozen weight.")
    carried_weight: int | None = Field(
        None, description="The weight the ballot counted with, its own plus what was delegated to it (after close)."
    )
    delegated_by: list[str] = Field(
        default_factory=list, description="Eligible agents who did not vote and whose weight this ballot carried."
    )
    cast_at: datetime = Field(description="When (UTC).")


class OptionFigure(PublicModel):
    option: int = Field(description="Option id.")
    label: str = Field(description="Its label (the author's data).")
    figure: str = Field(
        description="Exact figure: weight approving (approval), mean score as n/d (score), options "
        "it beats (ranked), weight in the last round (ranked_irv)."
    )
    value: float = Field(description="The figure as a number.")


class RunoffRound(PublicModel):
    number: int = Field(description="Round number, from 1.")
    totals: dict[int, int] = Field(description="Option id -> first-preference weight among continuing options.")
    exhausted: int = Field(description="Weight of ballots with no continuing option ranked.")
    eliminated: int | None = Field(description="The option eliminated after this round; null in the winning round.")
    tied_for_last: list[int] = Field(description="Options tied for least when the tie rule chose whom to eliminate.")


class OptionTally(PublicModel):
    """The count of a vote on options, as stored at close (never recounted)."""

    winner: int | None = Field(description="The winning option id; null when there is none (see reason).")
    winner_label: str | None = Field(description="The winning option's label.")
    figures: list[OptionFigure] = Field(description="Every option's figure, in listed order.")
    order: list[list[int]] = Field(description="Options from first to last; options in one list are tied.")
    tied: list[int] = Field(description="Options tied for first before the tie rule chose (empty: no tie).")
    tie_rule: str = Field(description="How a tie for first is broken.")
    pairwise: list[list[int]] | None = Field(
        None, description="ranked: pairwise[i][j] = weight ranking option i+1 above option j+1."
    )
    strongest_paths: list[list[int]] | None = Field(None, description="ranked: Schulze's strongest-path strengths.")
    schulze_winners: list[int] | None = Field(None, description="ranked: options no other beats by a stronger path.")
    rounds: list[RunoffRound] | None = Field(None, description="ranked_irv: every round, in order.")


class UncountedVoter(PublicModel):
    agent_id: str = Field(description="An eligible agent who did not vote and whose weight counted for no ballot.")
    weight: int = Field(description="Its weight.")
    reason: str = Field(description="no_delegation, dead_end (the chain reached no voter) or cycle.")
    chain: list[str] = Field(description="The first 10 agents of the delegation chain it followed, from itself.")


class VotingResults(PublicModel):
    """Results of a proposal's vote. While voting is open and visibility is after_close, the tally
    and the ballots are hidden (null) so that voters don't herd; who has voted is shown."""

    proposal_id: str = Field(description="Proposal id.")
    status: Status = Field(description="Proposal status.")
    method: str = Field("majority", description="majority, approval, score, ranked or ranked_irv (frozen at open).")
    options: list[str] = Field(default_factory=list, description="The option labels voted on (id = position from 1).")
    result: Outcome | None = Field(
        description="approved or rejected (a vote on options: approved when an option won); null while open."
    )
    reason: str | None = Field(description="quorum_not_met, threshold_not_met or no_support when rejected.")
    quorum_met: bool = Field(description="Whether enough eligible weight has voted (abstentions count).")
    consensus: float | None = Field(description="approve/(approve+reject), or the winner's share; hidden while open.")
    tally: TallyCounts | None = Field(description="Weights per decision; hidden while open.")
    visibility: Visibility = Field(description="after_close or live.")
    rules_version: int = Field(description="The rules version the vote runs under (frozen when it opened).")
    quorum: str = Field(description="The quorum as a fraction of eligible weight.")
    approval_threshold: str | None = Field(description="The threshold consensus must reach; null on options.")
    eligible: dict[str, int] = Field(description="The frozen eligible voters and their weights.")
    voted: list[str] = Field(description="Who has voted so far.")
    votes_cast: int = Field(description="How many eligible agents have voted.")
    eligible_weight: int = Field(description="Total eligible weight.")
    voted_weight: int = Field(description="Weight of those who voted.")
    ballots: list[Ballot] | None = Field(description="The counted ballots; hidden while open.")
    option_tally: OptionTally | None = Field(None, description="A vote on options: its count (hidden while open).")
    uncounted: list[UncountedVoter] | None = Field(
        None, description="After close: eligible non-voters whose weight no ballot carried, and why."
    )
    opened_at: datetime | None = Field(description="When voting opened (UTC).")
    deadline: datetime | None = Field(description="When voting closes (UTC).")
    closed_at: datetime | None = Field(description="When voting closed (UTC).")


class ResultsReceipt(VotingResults):
    receipt: Receipt = Field(description="The audit event this write produced.")


class VoteReceipt(PublicModel):
    proposal_id: str = Field(description="Proposal id.")
    agent_id: str = Field(description="The voter.")
    decision: Decision | None = Field(description="The vote as recorded (majority); null for a ballot on options.")
    approvals: list[int] | None = Field(None, description="The option ids approved, as recorded.")
    scores: dict[int, int] | None = Field(None, description="The scores, as recorded.")
    ranking: list[int] | None = Field(None, description="The ranking, as recorded.")
    replaced_earlier_vote: bool = Field(description="True when this vote replaced the agent's earlier one.")
    status: Status = Field(description="Proposal status after the vote (voting closes early once all voted).")
    result: Outcome | None = Field(description="The outcome if this vote closed voting.")
    receipt: Receipt = Field(description="The audit event this write produced.")
