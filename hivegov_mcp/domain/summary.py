"""The deterministic discussion summary (DESIGN §7): same comments, same summary.

Recommendation rule:
- no unresolved objection                                    -> approved-for-voting
- unresolved objections from two or more agents, no support  -> blocked
- otherwise                                                  -> requires-revision
"""

from __future__ import annotations

from collections.abc import Sequence

from hivegov_mcp.domain.models import Comment, CommentType, DiscussionSummary, ObjectionNote, Resolution

DIGEST_MAX_WORDS = 300
EXCERPT_WORDS = 20


def excerpt(text: str, words: int = EXCERPT_WORDS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def open_objections(comments: Sequence[Comment]) -> list[Comment]:
    """The objections that still block voting, oldest first."""
    return [c for c in comments if c.type is CommentType.OBJECTION and not c.resolved]


def _note(comment: Comment) -> ObjectionNote:
    return ObjectionNote(comment_id=comment.id, author=comment.author, excerpt=excerpt(comment.content))


def recommend(unresolved: Sequence[Comment], support: int) -> Resolution:
    if not unresolved:
        return Resolution.APPROVED_FOR_VOTING
    if len({c.author for c in unresolved}) >= 2 and support == 0:
        return Resolution.BLOCKED
    return Resolution.REQUIRES_REVISION


def summarize(proposal_id: str, title: str, round_: int, comments: Sequence[Comment]) -> DiscussionSummary:
    """Summarize every comment of a proposal (all rounds: an objection blocks until resolved)."""
    ordered = sorted(comments, key=lambda c: c.id)
    counts = {t.value: 0 for t in CommentType}
    for c in ordered:
        counts[c.type.value] += 1
    unresolved = open_objections(ordered)
    resolved = [c for c in ordered if c.type is CommentType.OBJECTION and c.resolved]
    suggestions = [c for c in ordered if c.type is CommentType.SUGGESTION and not c.resolved]
    support, objecting = counts[CommentType.SUPPORT], counts[CommentType.OBJECTION]
    ratio = support / (support + objecting) if support + objecting else None
    recommendation = recommend(unresolved, support)
    participants = sorted({c.author for c in ordered})
    summary = DiscussionSummary(
        proposal_id=proposal_id,
        round=round_,
        participants=participants,
        counts=counts,
        unresolved_objections=[_note(c) for c in unresolved],
        resolved_objections=[_note(c) for c in resolved],
        open_suggestions=[_note(c) for c in suggestions],
        support_ratio=ratio,
        recommendation=recommendation,
        digest="",
    )
    return summary.model_copy(update={"digest": digest(summary, title)})


def digest(s: DiscussionSummary, title: str) -> str:
    total = sum(s.counts.values())
    kinds = ", ".join(f"{n} {k}" for k, n in s.counts.items() if n)
    lines = [
        f"{s.proposal_id} (round {s.round}), titled {excerpt(title, 12)!r}: "
        f"{len(s.participants)} participant(s) wrote {total} comment(s)" + (f" ({kinds})." if kinds else "."),
    ]
    if s.support_ratio is not None:
        lines.append(f"Support ratio {s.support_ratio:.2f}.")
    for label, notes in (
        ("Unresolved objection", s.unresolved_objections),
        ("Resolved objection", s.resolved_objections),
        ("Open suggestion", s.open_suggestions),
    ):
        lines.extend(f"{label} #{n.comment_id} by {n.author}: {n.excerpt!r}." for n in notes)
    lines.append(f"Recommendation: {s.recommendation.value}.")
    words = " ".join(lines).split(" ")
    if len(words) > DIGEST_MAX_WORDS:
        tail = f"Recommendation: {s.recommendation.value}."
        keep = DIGEST_MAX_WORDS - len(tail.split(" ")) - 1
        return " ".join([*words[:keep], "…", tail])
    return " ".join(words)
