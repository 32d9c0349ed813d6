"""The deterministic discussion summary (DESIGN §7)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.models import Comment, CommentType, DiscussionSummary, ObjectionNote, Resolution
from hivegov_mcp.domain.summary import DIGEST_MAX_WORDS, excerpt, recommend, summarize

T = CommentType
AT = datetime(2025, 1, 1, tzinfo=UTC)
NO_COUNTS = {"comment": 0, "suggestion": 0, "objection": 0, "support": 0}


def comment(
    id_: int, author: str, type_: CommentType, content: str = "A short remark.", *, resolved: bool = False
) -> Comment:
    return Comment(
        id=id_,
        proposal_id="BIP-001",
        round=1,
        author=author,
        type=type_,
        content=content,
        parent_id=None,
        references=[],
        created_at=AT,
        resolved=resolved,
        resolved_by="carol" if resolved else None,
        resolution_note="addressed" if resolved else None,
        resolved_at=AT if resolved else None,
    )


def words(n: int, stem: str = "word") -> str:
    return " ".join(f"{stem}{i}" for i in range(n))


def test_an_empty_discussion_is_approved_for_voting() -> None:
    assert summarize("BIP-001", "Adopt changelogs", 1, []) == DiscussionSummary(
        proposal_id="BIP-001",
        round=1,
        participants=[],
        counts=NO_COUNTS,
        unresolved_objections=[],
        resolved_objections=[],
        open_suggestions=[],
        support_ratio=None,
        recommendation=Resolution.APPROVED_FOR_VOTING,
        digest="BIP-001 (round 1), titled 'Adopt changelogs': 0 participant(s) wrote 0 comment(s). "
        "Recommendation: approved-for-voting.",
    )


def test_a_discussion_with_every_kind_of_comment_is_summarized_whole() -> None:
    comments = [
        comment(1, "bob", T.SUPPORT, "Good idea."),
        comment(2, "dave", T.OBJECTION, "The format is unspecified."),
        comment(3, "erin", T.OBJECTION, "Old objection.", resolved=True),
        comment(4, "bob", T.SUGGESTION, "Use keep-a-changelog."),
        comment(5, "alice", T.SUGGESTION, "Already done.", resolved=True),
        comment(6, "alice", T.COMMENT, "Thanks all."),
    ]
    assert summarize("BIP-001", "Adopt changelogs", 2, comments) == DiscussionSummary(
        proposal_id="BIP-001",
        round=2,
        participants=["alice", "bob", "dave", "erin"],
        counts={"comment": 1, "suggestion": 2, "objection": 2, "support": 1},
        unresolved_objections=[ObjectionNote(comment_id=2, author="dave", excerpt="The format is unspecified.")],
        resolved_objections=[ObjectionNote(comment_id=3, author="erin", excerpt="Old objection.")],
        open_suggestions=[ObjectionNote(comment_id=4, author="bob", excerpt="Use keep-a-changelog.")],
        support_ratio=1 / 3,
        recommendation=Resolution.REQUIRES_REVISION,
        digest="BIP-001 (round 2), titled 'Adopt changelogs': 4 participant(s) wrote 6 comment(s) "
        "(1 comment, 2 suggestion, 2 objection, 1 support). Support ratio 0.33. "
        "Unresolved objection #2 by dave: 'The format is unspecified.'. "
        "Resolved objection #3 by erin: 'Old objection.'. "
        "Open suggestion #4 by bob: 'Use keep-a-changelog.'. "
        "Recommendation: requires-revision.",
    )


def test_no_unresolved_objection_recommends_approved_for_voting() -> None:
    comments = [comment(1, "dave", T.OBJECTION, resolved=True), comment(2, "erin", T.OBJECTION, resolved=True)]
    assert summarize("BIP-001", "t", 1, comments).recommendation is Resolution.APPROVED_FOR_VOTING


def test_objections_from_two_agents_without_support_recommend_blocked() -> None:
    comments = [comment(1, "dave", T.OBJECTION), comment(2, "erin", T.OBJECTION), comment(3, "bob", T.COMMENT)]
    assert summarize("BIP-001", "t", 1, comments).recommendation is Resolution.BLOCKED


def test_objections_from_two_agents_with_some_support_recommend_revision() -> None:
    comments = [comment(1, "dave", T.OBJECTION), comment(2, "erin", T.OBJECTION), comment(3, "bob", T.SUPPORT)]
    assert summarize("BIP-001", "t", 1, comments).recommendation is Resolution.REQUIRES_REVISION


def test_several_objections_from_one_agent_recommend_revision_not_blocked() -> None:
    comments = [comment(1, "dave", T.OBJECTION), comment(2, "dave", T.OBJECTION), comment(3, "dave", T.OBJECTION)]
    assert summarize("BIP-001", "t", 1, comments).recommendation is Resolution.REQUIRES_REVISION


def test_a_resolved_objection_does_not_count_towards_blocking() -> None:
    comments = [comment(1, "dave", T.OBJECTION), comment(2, "erin", T.OBJECTION, resolved=True)]
    assert summarize("BIP-001", "t", 1, comments).recommendation is Resolution.REQUIRES_REVISION


def test_recommend_follows_the_rule() -> None:
    dave, erin = comment(1, "dave", T.OBJECTION), comment(2, "erin", T.OBJECTION)
    assert recommend([], 0) is Resolution.APPROVED_FOR_VOTING
    assert recommend([dave], 0) is Resolution.REQUIRES_REVISION
    assert recommend([dave, erin], 0) is Resolution.BLOCKED
    assert recommend([dave, erin], 1) is Resolution.REQUIRES_REVISION


def test_support_ratio_counts_resolved_objections_too() -> None:
    comments = [
        comment(1, "bob", T.SUPPORT),
        comment(2, "carol", T.SUPPORT),
        comment(3, "dave", T.SUPPORT),
        comment(4, "erin", T.OBJECTION, resolved=True),
    ]
    assert summarize("BIP-001", "t", 1, comments).support_ratio == 0.75


def test_an_excerpt_keeps_twenty_words_and_marks_the_cut() -> None:
    assert excerpt(words(20)) == words(20)
    assert excerpt(words(21)) == words(20) + " …"
    assert excerpt("  spread\n\tout   text ") == "spread out text"


def test_the_digest_never_exceeds_300_words_with_many_long_comments() -> None:
    kinds = [T.OBJECTION, T.SUGGESTION, T.OBJECTION, T.COMMENT]
    comments = [comment(i, f"agent{i % 7}", kinds[i % 4], words(400, f"w{i}x")) for i in range(1, 121)]
    summary = summarize("BIP-001", words(50, "title"), 3, comments)
    assert len(summary.digest.split()) <= DIGEST_MAX_WORDS == 300
    assert summary.digest.endswith("… Recommendation: blocked.")
    assert len(summary.unresolved_objections) == 60  # the structured fields keep everything


def test_the_same_comments_give_the_same_summary_in_any_order() -> None:
    comments = [
        comment(i, f"agent{i % 3}", [T.COMMENT, T.OBJECTION, T.SUPPORT, T.SUGGESTION][i % 4], words(i, "z"))
        for i in range(1, 30)
    ]
    first = summarize("BIP-009", "Same input", 1, comments)
    shuffled = list(comments)
    random.Random(7).shuffle(shuffled)
    assert summarize("BIP-009", "Same input", 1, comments) == first
    assert summarize("BIP-009", "Same input", 1, shuffled) == first
    assert summarize("BIP-009", "Same input", 1, list(reversed(comments))).digest == first.digest


author_ids = st.sampled_from(["alice", "bob", "carol", "dave", "erin"])


@st.composite
def discussions(draw: st.DrawFn) -> list[Comment]:
    n = draw(st.integers(min_value=0, max_value=40))
    return [
        comment(
            i,
            draw(author_ids),
            draw(st.sampled_from(CommentType)),
            draw(st.text(max_size=400)),
            resolved=draw(st.booleans()),
        )
        for i in range(1, n + 1)
    ]


@settings(max_examples=100, deadline=None)
@given(comments=discussions(), title=st.text(min_size=1, max_size=300))
def test_the_digest_is_at_most_300_words_and_ends_with_the_recommendation(comments: list[Comment], title: str) -> None:
    summary = summarize("BIP-001", title, 1, comments)
    assert len(summary.digest.split()) <= DIGEST_MAX_WORDS
    assert summary.digest.endswith(f"Recommendation: {summary.recommendation.value}.")
    assert summarize("BIP-001", title, 1, list(reversed(comments))) == summary


@settings(max_examples=100, deadline=None)
@given(comments=discussions())
def test_the_recommendation_follows_the_rule_on_any_discussion(comments: list[Comment]) -> None:
    unresolved = [c for c in comments if c.type is T.OBJECTION and not c.resolved]
    supports = [c for c in comments if c.type is T.SUPPORT]
    if not unresolved:
        expected = Resolution.APPROVED_FOR_VOTING
    elif len({c.author for c in unresolved}) >= 2 and not supports:
        expected = Resolution.BLOCKED
    else:
        expected = Resolution.REQUIRES_REVISION
    summary = summarize("BIP-001", "t", 1, comments)
    assert summary.recommendation is expected
    assert [n.comment_id for n in summary.unresolved_objections] == [c.id for c in unresolved]
    assert sum(summary.counts.values()) == len(comments)
