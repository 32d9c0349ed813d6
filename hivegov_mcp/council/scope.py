"""What a member may do for one agenda item (no I/O): the tools it is offered, and the calls the
council refuses before they reach the server.

The server's rules already bound a member to its roles. The item bounds it further, because the
text it reads is other agents' data: a comment on one proposal must not steer a member into
acting on another (concluding it, voting on it), whatever the model makes of the comment. So for
an item the model gets the tools that only read, the item's own tool and its natural follow-up,
and `add_comment` while the proposal is in discussion; and every call that names a proposal or a
comment must name the item's.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

USAGE_TOOL = "report_model_usage"  # the council's own bookkeeping, not offered to the model
# In a blind first round: write your view before reading the others'.
BLIND_TOOLS = frozenset({"add_comment", "get_proposal", "diff_proposal", "get_proposal_history", "whoami"})
FOLLOW_UPS = {  # an item's tool -> the writes that complete it
    "revise_proposal": frozenset({"start_discussion"}),
    "claim_execution": frozenset({"report_execution"}),
}
CITATION = re.compile(r"#(\d+)")
COMMENT_ARGS = ("comment_id", "parent_id", "references")


def tools_for_item(
    item: dict[str, Any], offered: Collection[str], read_only: Collection[str], *, blind: bool
) -> set[str]:
    """The tools a member's model is offered for this item."""
    writes = {item["tool"], *FOLLOW_UPS.get(item["tool"], ())}
    if item.get("status") == "discussion":
        writes.add("add_comment")
    allowed = {name for name in offered if name in read_only or name in writes} - {USAGE_TOOL}
    return allowed & BLIND_TOOLS if blind else allowed


def refusal(
    item: dict[str, Any], name: str, args: dict[str, Any], comment_ids: frozenset[int], read_only: Collection[str]
) -> str | None:
    """Why the council refuses this call for this item (the model is told), or None."""
    if name in read_only:
        return None
    pid = item["proposal_id"]
    target = args.get("proposal_id")
    if target is not None and target != pid:
        return f"this item is about {pid}: act on {pid} only (other proposals come as items of their own)"
    for key in COMMENT_ARGS:
        values = args.get(key)
        for value in values if isinstance(values, list) else [values]:
            if value is not None and (not isinstance(value, int) or value not in comment_ids):
                return f"{key}={value!r} is not a comment of {pid}'s discussion: use an id the discussion lists"
    if name == "publish_summary":
        return uncited(str(args.get("text", "")), comment_ids)
    return None


def uncited(text: str, known: frozenset[int]) -> str | None:
    cited = {int(n) for n in CITATION.findall(text)}
    if not cited:
        return "cite the comments your summary rests on by id, like #12 (the discussion lists them)"
    unknown = sorted(cited - known)
    if unknown:
        listed = ", ".join(f"#{n}" for n in unknown)
        return f"{listed} is not a comment of this discussion: cite only the ids the discussion lists"
    return None


def printable(text: str) -> str:
    """A line for a terminal: control characters (escape sequences, carriage returns) shown, not run."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
