"""PostgreSQL's full-text search: a tsvector column (title weighted above body) with a GIN
index, ranked by ts_rank, within the bounds of hivegov_mcp.store.search."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hivegov_mcp.store import search as bounds
from hivegov_mcp.store.search import HIT_COLUMNS, HIT_JOINS, hit
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import RawHit


class TextSearch(Executor):
    async def search(self, terms: Sequence[str], limit: int) -> list[RawHit]:
        """As on SQLite: up to AND_TERMS terms must all match (else any), a longer query any;
        each kind of row takes its RANK_WINDOW newest matches, ranked by ts_rank (title above body)."""
        words = [re.sub(r"[^\w]", "", t) for t in terms]
        words = [w for w in words if w]
        if not words:
            return []
        joiners = (" & ", " | ") if len(words) <= bounds.AND_TERMS else (" | ",)
        found = []
        for joiner in joiners:
            query = joiner.join(words)
            # The tsquery is written out in each branch (not taken from a CTE), so the planner sees
            # how common the words are: a common word walks the newest rows, a rare one the index.
            match = "doc @@ to_tsquery('english', %s)"
            found = await self._all(
                f"WITH c AS MATERIALIZED ((SELECT rowid FROM search_index WHERE {match} AND rowid < 0 "
                f"ORDER BY rowid LIMIT %s) UNION ALL (SELECT rowid FROM search_index WHERE {match} AND rowid > 0 "
                "ORDER BY rowid DESC LIMIT %s)), "
                "r AS (SELECT s.rowid AS rowid, ts_rank(s.doc, to_tsquery('english', %s)) AS score "
                "FROM c JOIN search_index s ON s.rowid = c.rowid ORDER BY score DESC, abs(s.rowid) DESC LIMIT %s) "
                f"SELECT {HIT_COLUMNS}, r.score AS score FROM r JOIN search_index s ON s.rowid = r.rowid {HIT_JOINS} "
                "ORDER BY r.score DESC, abs(s.rowid) DESC",
                (query, bounds.RANK_WINDOW, query, bounds.RANK_WINDOW, query, limit),
            )
            if found or len(words) == 1:
                break
        return [hit(r, float(r["score"])) for r in found]
