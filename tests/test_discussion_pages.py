"""A discussion is returned flat and paged: any reply depth, each comment sent once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hivegov_mcp.domain.clock import FakeClock
from hivegov_mcp.domain.config import parse_config
from hivegov_mcp.domain.errors import InvalidInput
from hivegov_mcp.service import GovernanceService
from tests.conftest import PROPOSAL, Cast
from tests.mcp_helpers import connect, ok, refused, text_of

pytestmark = [pytest.mark.anyio, pytest.mark.both_stores]  # the store contract: SQLite and PostgreSQL

ROOMY = parse_config("[governance]\nmax_comments_per_agent = 2000\nwrites_per_agent_per_minute = 5000\n")
DEPTH = 1000


async def _deep_chain(service: GovernanceService, cast: Cast) -> tuple[str, list[int]]:
    """A proposal whose comments are one reply chain DEPTH deep (each answers the one before)."""
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    ids: list[int] = []
    for n in range(DEPTH):
        parent = ids[-1] if ids else None
        ids.append((await service.add_comment(cast["bob"], pid, f"Reply {n}.", parent_id=parent)).id)
    return pid, ids


@pytest.mark.parametrize("config", [ROOMY])
async def test_a_reply_chain_a_thousand_deep_comes_back_flat_in_pages_with_parent_ids(
    service: GovernanceService, cast: Cast, db: Path | str, clock: FakeClock
) -> None:
    pid, ids = await _deep_chain(service, cast)

    seen: list[tuple[int, int | None]] = []
    after = 0
    async with connect(db, cast.tokens["dave"], clock=clock, config=ROOMY) as dave:
        while True:
            page = await ok(dave, "get_discussion", proposal_id=pid, after_id=after, limit=300)
            seen += [(c["id"], c["parent_id"]) for c in page["comments"]]
            assert page["comment_count"] == DEPTH
            if page["next_after_id"] is None:
                break
            after = page["next_after_id"]
        raw = await dave.call_tool("get_discussion", {"proposal_id": pid, "limit": 10})

    assert seen == [(cid, ids[n - 1] if n else None) for n, cid in enumerate(ids)]
    assert text_of(raw.content).count('"Reply 3."') == 1  # each comment once: no second copy in a tree
    assert "thread" not in json.loads(text_of(raw.content))


async def test_a_page_of_comments_has_a_bounded_size(service: GovernanceService, cast: Cast) -> None:
    pid = (await service.create_proposal(cast["alice"], **PROPOSAL)).id
    await service.start_discussion(cast["alice"], pid)
    for n in range(5):
        await service.add_comment(cast["bob"], pid, f"Comment {n}.")

    first = await service.get_discussion(cast["bob"], pid, limit=2)
    last = await service.get_discussion(cast["bob"], pid, after_id=first.comments[-1].id, limit=3)

    assert [c.content for c in first.comments] == ["Comment 0.", "Comment 1."]
    assert first.next_after_id == first.comments[-1].id
    assert [c.content for c in last.comments] == ["Comment 2.", "Comment 3.", "Comment 4."]
    assert last.next_after_id is None
    with pytest.raises(InvalidInput, match="limit: 501 must be between 1 and 500"):
        await service.get_discussion(cast["bob"], pid, limit=501)


async def test_a_page_size_out_of_range_is_refused_over_mcp(db: Path | str, cast: Cast, clock: FakeClock) -> None:
    async with connect(db, cast.tokens["bob"], clock=clock) as bob:
        text = await refused(bob, "get_discussion", proposal_id="BIP-001", limit=0)
    assert text == (
        "Error executing tool get_discussion: Invalid arguments: limit must be greater than or equal to 1 (got 0)."
    )
