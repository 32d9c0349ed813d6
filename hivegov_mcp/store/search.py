"""Search, as both engines do it (each in its own module: store/sqlite/search.py over FTS5,
store/postgres/search.py over tsvector): the bounds that keep a search's cost flat whatever
the words, and the hit a row becomes.

Up to AND_TERMS words must all match (and when no row has them all, any of them); a longer
query matches any of its words. Each kind of row (proposals, comments) takes its RANK_WINDOW
newest matches, which are then ranked. The engines read these at each search.
"""

from __future__ import annotations

from hivegov_mcp.domain.phases import Status
from hivegov_mcp.store.rows import Row
from hivegov_mcp.store.values import RawHit

RANK_WINDOW = 500  # matches ranked per kind of row in a search
AND_TERMS = 3  # a search of more words matches rows with any of them (ranked), not all
COMMON_ROWS = 2_000  # SQLite: a search word in this many rows filters but does not rank

# The columns a hit is read from, with the search index as `s`, the proposal as `p` and its
# latest version as `v`.
HIT_COLUMNS = (
    "s.rowid AS rowid, s.proposal_id AS proposal_id, s.kind AS kind, s.comment_id AS comment_id, "
    "s.title AS indexed_title, s.body AS body, v.title AS title, p.status AS status"
)
HIT_JOINS = (
    "JOIN proposals p ON p.id = s.proposal_id "
    "JOIN proposal_versions v ON v.proposal_id = p.id AND v.version = p.version"
)


def hit(row: Row, score: float) -> RawHit:
    return RawHit(
        proposal_id=row["proposal_id"],
        kind=row["kind"],
        comment_id=row["comment_id"],
        texts=(row["indexed_title"], row["body"]),
        score=score,
        title=row["title"],
        status=Status(row["status"]),
    )
