"""The SQL of the discussion: comments, the stored summary of each round, and moderation (both
engines). A comment is searchable from its insert (rowid = its id) until a moderator hides it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hivegov_mcp.domain.models import Comment, HiddenComment
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import COMMENT_COLUMNS, fits, ts
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import CommentRow, NewComment, StoredSummary


class DiscussionSQL(Executor):
    # comments -------------------------------------------------------------------------------
    async def insert_comment(self, comment: NewComment) -> int:
        """Store a comment and index it for search (rowid = comment id)."""
        d = self.dialect
        comment_id = await self._insert(
            "INSERT INTO comments (proposal_id, round, author, type, content, parent_id, refs, created_at) "
            f"VALUES ({d.marks(8)}){d.returning_id}",
            (
                comment.proposal_id,
                comment.round,
                comment.author,
                comment.type,
                comment.content,
                comment.parent_id,
                json.dumps(list(comment.references)),
                ts(comment.created_at),
            ),
        )
        await self._index(comment_id, comment.proposal_id, comment.content)
        return comment_id

    async def _index(self, comment_id: int, proposal_id: str, content: str) -> None:
        p = self.dialect.placeholder
        await self._run(
            "INSERT INTO search_index (rowid, proposal_id, kind, comment_id, title, body) "
            f"VALUES ({p}, {p}, 'comment', {p}, '', {p})",
            (comment_id, proposal_id, comment_id, content),
        )

    async def get_comment(self, comment_id: int) -> Comment | None:
        if not fits(comment_id):
            return None
        p = self.dialect.placeholder
        row = await self._one(f"SELECT {COMMENT_COLUMNS} FROM comments WHERE id = {p}", (comment_id,))
        return rows.comment(row) if row else None

    async def list_comments(self, proposal_id: str, *, after_id: int = 0, limit: int | None = None) -> list[Comment]:
        if not fits(after_id):
            return []
        p = self.dialect.placeholder
        sql = f"SELECT {COMMENT_COLUMNS} FROM comments WHERE proposal_id = {p} AND id > {p} AND hidden_at IS NULL"
        sql += " ORDER BY id"
        params: list[Any] = [proposal_id, after_id]
        if limit is not None:
            sql += f" LIMIT {p}"
            params.append(limit)
        return [rows.comment(r) for r in await self._all(sql, params)]

    async def comment_rows(self, proposal_id: str) -> list[CommentRow]:
        """Every comment of the proposal, hidden ones too, with its resolution and moderation."""
        return (await self.comment_rows_of([proposal_id]))[proposal_id]

    async def comment_rows_of(self, proposal_ids: Sequence[str]) -> dict[str, list[CommentRow]]:
        """`comment_rows` of many proposals in one statement (verify_audit reads a page)."""
        if not proposal_ids:
            return {}
        found = await self._all(
            "SELECT proposal_id, id, type, content, resolved_by, resolution_note, hidden_by, hidden_reason, "
            "CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END AS resolved, "
            "CASE WHEN hidden_at IS NULL THEN 0 ELSE 1 END AS hidden "
            f"FROM comments WHERE proposal_id IN ({self.dialect.marks(len(proposal_ids))}) ORDER BY id",
            list(proposal_ids),
        )
        each: dict[str, list[CommentRow]] = {pid: [] for pid in proposal_ids}
        for r in found:
            each[r["proposal_id"]].append(
                CommentRow(
                    int(r["id"]),
                    r["type"],
                    rows.text(r["content"]),
                    r["resolved_by"],
                    r["resolution_note"],
                    r["hidden_by"],
                    r["hidden_reason"],
                    bool(r["resolved"]),
                    bool(r["hidden"]),
                )
            )
        return each

    async def objection_ids(self, proposal_id: str) -> list[int]:
        """Every comment of the proposal whose type is objection, resolved or not."""
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT id FROM comments WHERE proposal_id = {p} AND type = 'objection' ORDER BY id", (proposal_id,)
        )
        return [int(r["id"]) for r in found]

    async def settled_objections(self, proposal_id: str) -> list[CommentRow]:
        """The objections the table says no longer block voting: resolved or hidden."""
        p = self.dialect.placeholder
        found = await self._all(
            "SELECT id, resolved_by, resolution_note, hidden_by, hidden_reason, "
            "CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END AS resolved, "
            "CASE WHEN hidden_at IS NULL THEN 0 ELSE 1 END AS hidden FROM comments "
            f"WHERE proposal_id = {p} AND type = 'objection' AND (resolved_by IS NOT NULL OR hidden_at IS NOT NULL "
            "OR resolved_at IS NOT NULL) ORDER BY id",
            (proposal_id,),
        )
        return [
            CommentRow(
                int(r["id"]),
                "objection",
                "",
                r["resolved_by"],
                r["resolution_note"],
                r["hidden_by"],
                r["hidden_reason"],
                bool(r["resolved"]),
                bool(r["hidden"]),
            )
            for r in found
        ]

    async def count_proposal_comments(self, proposal_id: str) -> int:
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT COUNT(*) AS n FROM comments WHERE proposal_id = {p} AND hidden_at IS NULL", (proposal_id,)
        )
        return int(row["n"]) if row else 0

    async def unresolved_objections(self, proposal_id: str) -> list[int]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT id FROM comments WHERE proposal_id = {p} AND type = 'objection' AND resolved_by IS NULL "
            "AND hidden_at IS NULL ORDER BY id",
            (proposal_id,),
        )
        return [r["id"] for r in found]

    async def count_comments(self, proposal_id: str, round_: int, author: str) -> int:
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT COUNT(*) AS n FROM comments WHERE proposal_id = {p} AND round = {p} AND author = {p}",
            (proposal_id, round_, author),
        )
        return int(row["n"]) if row else 0

    async def resolve_comment(self, comment_id: int, by: str, note: str, at: datetime) -> None:
        p = self.dialect.placeholder
        await self._run(
            f"UPDATE comments SET resolved_by = {p}, resolution_note = {p}, resolved_at = {p} WHERE id = {p}",
            (by, note, ts(at), comment_id),
        )

    # the summary of a round -----------------------------------------------------------------
    async def store_summary(self, proposal_id: str, round_: int, summary: StoredSummary) -> None:
        p = self.dialect.placeholder
        await self._run(
            f"UPDATE rounds SET summary = {p}, summary_seq = {p} WHERE proposal_id = {p} AND round = {p}",
            (summary.text, summary.seq, proposal_id, round_),
        )

    async def get_summary(self, proposal_id: str, round_: int) -> StoredSummary | None:
        p = self.dialect.placeholder
        row = await self._one(
            "SELECT r.summary AS text, r.summary_seq AS seq, a.hash AS hash FROM rounds r "
            f"JOIN audit_events a ON a.seq = r.summary_seq WHERE r.proposal_id = {p} AND r.round = {p}",
            (proposal_id, round_),
        )
        return StoredSummary(text=row["text"], seq=row["seq"], hash=row["hash"]) if row else None

    # moderation -----------------------------------------------------------------------------
    async def set_hidden(self, comment_id: int, by: str | None, reason: str | None, at: datetime | None) -> None:
        p = self.dialect.placeholder
        await self._run(
            f"UPDATE comments SET hidden_by = {p}, hidden_reason = {p}, hidden_at = {p} WHERE id = {p}",
            (by, reason, ts(at) if at else None, comment_id),
        )
        if by is not None:
            await self._run(f"DELETE FROM search_index WHERE rowid = {p}", (comment_id,))
        else:
            row = await self._one(f"SELECT proposal_id, content FROM comments WHERE id = {p}", (comment_id,))
            assert row is not None
            await self._index(comment_id, row["proposal_id"], row["content"])

    async def is_hidden(self, comment_id: int) -> bool:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT hidden_at FROM comments WHERE id = {p}", (comment_id,))
        return row is not None and row["hidden_at"] is not None

    async def hidden_comments(self, proposal_id: str, author: str) -> list[HiddenComment]:
        p = self.dialect.placeholder
        found = await self._all(
            "SELECT id, hidden_by, hidden_reason, hidden_at FROM comments "
            f"WHERE proposal_id = {p} AND author = {p} AND hidden_at IS NOT NULL ORDER BY id",
            (proposal_id, author),
        )
        return [rows.hidden_comment(r) for r in found]
