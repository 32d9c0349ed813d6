"""SQLite's full-text search: an FTS5 table (`search_index`, porter stemming), ranked by bm25
within the bounds of hivegov_mcp.store.search."""

from __future__ import annotations

from collections.abc import Sequence

from hivegov_mcp.store import search as bounds
from hivegov_mcp.store.search import HIT_COLUMNS, HIT_JOINS, hit
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import RawHit


def fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


class FullTextSearch(Executor):
    async def _rows_with(self, quoted_term: str) -> int:
        """How many rows hold the word, counted up to COMMON_ROWS (a bounded walk)."""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM search_index WHERE search_index MATCH ? LIMIT ?)",
            (quoted_term, bounds.COMMON_ROWS),
        )
        return int(row["n"]) if row else 0

    async def search(self, terms: Sequence[str], limit: int) -> list[RawHit]:
        """Up to AND_TERMS terms: all of them first, and when nothing has them all, any of them;
        a longer query: any of them. Best (lowest bm25) first.

        The work is bounded whatever the words: each kind of row (proposals, comments) takes its
        RANK_WINDOW newest matches, unranked (a walk of the index in rowid order that stops
        there); those are then ranked by bm25 over the query's informative words only, those
        found in fewer than COMMON_ROWS rows. bm25 reads the whole row list of every word it
        weighs, which costs tens of milliseconds for a word in a million rows, whose weight is
        small anyway. A query of common words only is ranked newest first."""
        quoted = [fts_quote(t) for t in terms]
        informative = [q for q in quoted if await self._rows_with(q) < bounds.COMMON_ROWS]
        candidates: list[int] = []
        # Intersecting many common words walks their whole row lists (130 ms for 16 at a million
        # rows): a longer query is matched by any of its words, ranked by the informative ones.
        joiners = (" AND ", " OR ") if len(quoted) <= bounds.AND_TERMS else (" OR ",)
        for joiner in joiners:
            query = joiner.join(quoted)
            candidates = [
                r["rowid"]
                for r in [
                    *await self._all(
                        "SELECT rowid FROM search_index WHERE search_index MATCH ? AND rowid < 0 "
                        "ORDER BY rowid LIMIT ?",  # newest proposals (rowid = -number)
                        (query, bounds.RANK_WINDOW),
                    ),
                    *await self._all(
                        "SELECT rowid FROM search_index WHERE search_index MATCH ? AND rowid > 0 "
                        "ORDER BY rowid DESC LIMIT ?",  # newest comments
                        (query, bounds.RANK_WINDOW),
                    ),
                ]
            ]
            if candidates or len(quoted) == 1:
                break
        if not candidates:
            return []
        scores: dict[int, float] = {}
        if informative:
            scored = await self._all(
                "SELECT rowid, bm25(search_index) AS score FROM search_index "
                f"WHERE search_index MATCH ? AND rowid IN ({self.dialect.marks(len(candidates))})",
                [" OR ".join(informative), *candidates],
            )
            scores = {r["rowid"]: r["score"] for r in scored}
        # Lower bm25 is better (it is negative); unscored rows after scored ones, newest first.
        newest = {rowid: -rowid if rowid < 0 else rowid for rowid in candidates}
        best = sorted(candidates, key=lambda rowid: (scores.get(rowid, 0.0), -newest[rowid]))[:limit]
        found = {
            r["rowid"]: r
            for r in await self._all(
                f"SELECT {HIT_COLUMNS} FROM search_index s {HIT_JOINS} "
                f"WHERE s.rowid IN ({self.dialect.marks(len(best))})",
                best,
            )
        }
        return [hit(found[rowid], -float(scores.get(rowid, 0.0))) for rowid in best if rowid in found]
