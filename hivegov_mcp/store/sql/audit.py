"""The SQL of the audit log, its Merkle tree (DESIGN §16), the signed checkpoints and the log's
append-only guards (both engines).

Each append chains the event to the one before (hash of the previous event in this one) and
grows the tree in the same transaction: the new leaf and every subtree it completes, O(log n).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from hivegov_mcp.domain.audit import GENESIS, StoredEvent, canonical_json, event_bytes, event_hash, event_leaf
from hivegov_mcp.domain.errors import LogTampered
from hivegov_mcp.domain.merkle import Frontier, Node, completed, leaf_hash, node_hash
from hivegov_mcp.domain.models import Receipt
from hivegov_mcp.store import rows
from hivegov_mcp.store.rows import AUDIT_FIELDS, fits, ts
from hivegov_mcp.store.sql.executor import Executor
from hivegov_mcp.store.values import StoredCheckpoint

SUBJECTS_PER_READ = 500  # subjects named in one statement (well under either engine's parameter limit)


class AuditSQL(Executor):
    # the log --------------------------------------------------------------------------------
    async def append_audit(
        self, *, at: datetime, actor: str, action: str, subject: str, payload: Mapping[str, object]
    ) -> Receipt:
        seq, prev = await self.audit_head()
        seq += 1
        prev_hash = prev or GENESIS
        body = canonical_json(dict(payload))
        when = ts(at)
        digest = event_hash(prev_hash, seq=seq, at=when, actor=actor, action=action, subject=subject, payload=body)
        await self._run(
            "INSERT INTO audit_events (seq, at, actor, action, subject, payload, prev_hash, hash) "
            f"VALUES ({self.dialect.marks(8)})",
            (seq, when, actor, action, subject, body, prev_hash, digest),
        )
        leaf = leaf_hash(event_bytes(seq=seq, at=when, actor=actor, action=action, subject=subject, payload=body))
        await self._grow_tree(seq - 1, leaf)
        receipt = Receipt(seq=seq, hash=digest, leaf=leaf.hex())
        await self._appended(receipt)
        return receipt

    async def audit_head(self) -> tuple[int, str | None]:
        row = await self._one("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        return (row["seq"], row["hash"]) if row else (0, None)

    async def audit_events(self, *, subject: str | None, after_seq: int, limit: int | None) -> list[StoredEvent]:
        if not fits(after_seq):
            return []
        d = self.dialect
        p = d.placeholder
        columns = ", ".join(d.stored_text(f) for f in AUDIT_FIELDS)  # a tampered row is shown, not crashed on
        sql = f"SELECT seq, {columns} FROM audit_events WHERE seq > {p}"
        params: list[Any] = [after_seq]
        if subject is not None:
            sql += f" AND subject = {p}"
            params.append(subject)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {p}"
            params.append(limit)
        return [rows.event(r) for r in await self._all(sql, params)]

    async def audit_events_of(
        self, subject: str, actions: Sequence[str], *, exclude: bool = False
    ) -> list[StoredEvent]:
        """The events of `subject` whose action is one of `actions` (or, `exclude`, none of them),
        in order: the subject index, filtered (e.g. a proposal's moves without its comments)."""
        d = self.dialect
        p = d.placeholder
        columns = ", ".join(d.stored_text(f) for f in AUDIT_FIELDS)
        wanted = ", ".join(p for _ in actions)
        test = "NOT IN" if exclude else "IN"
        sql = f"SELECT seq, {columns} FROM audit_events WHERE subject = {p} AND action {test} ({wanted}) ORDER BY seq"
        return [rows.event(r) for r in await self._all(sql, [subject, *actions])]

    async def events_of_subjects(
        self, subjects: Sequence[str], actions: Sequence[str] | None = None
    ) -> list[StoredEvent]:
        """Every event of each of `subjects` (of one of `actions`, when given), by subject then in
        order: lookups of the subject index by equality (no range of text, whose order a
        PostgreSQL collation may change)."""
        d = self.dialect
        columns = ", ".join(d.stored_text(f) for f in AUDIT_FIELDS)
        only = "" if actions is None else f" AND action IN ({d.marks(len(actions))})"
        found: list[StoredEvent] = []
        for start in range(0, len(subjects), SUBJECTS_PER_READ):
            chunk = list(subjects[start : start + SUBJECTS_PER_READ])
            sql = (
                f"SELECT seq, {columns} FROM audit_events WHERE subject IN ({d.marks(len(chunk))}){only} "
                "ORDER BY subject, seq"
            )
            found += [rows.event(r) for r in await self._all(sql, [*chunk, *(actions or ())])]
        return found

    def location(self) -> str:
        """The database, for messages (a file's path, or PostgreSQL's URL without its password)."""
        return self._path()

    # The events that make a row, and the row's key in their subject.
    _MAKERS: ClassVar[dict[str, tuple[str, str]]] = {
        "create_proposal": ("proposals", "e.subject"),
        "register_agent": ("agents", "substr(e.subject, 7)"),  # agent:ID
    }

    async def first_subject_without_row(self, action: str) -> tuple[int, str] | None:
        """The first event of `action` whose row is gone (its seq and the row's key): one anti-join."""
        table, key = self._MAKERS[action]
        p = self.dialect.placeholder
        row = await self._one(
            f"SELECT e.seq AS seq, {key} AS id FROM audit_events e WHERE e.action = {p} "
            f"AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = {key}) ORDER BY e.seq LIMIT 1",
            (action,),
        )
        return None if row is None else (int(row["seq"]), rows.text(row["id"]))

    # the Merkle tree ------------------------------------------------------------------------
    async def _grow_tree(self, index: int, leaf: bytes) -> None:
        """Add leaf `index` and the subtrees it completes, in the append's transaction: O(log n)."""
        if index > 0 and await self._node((0, index - 1)) is None:
            raise LogTampered(self._path(), f"audit event {index} has no leaf in its Merkle tree")
        nodes = [(0, index, leaf)]
        digest = leaf
        for sibling, (level, idx) in completed(index):
            left = await self._node(sibling)
            if left is None:
                raise LogTampered(self._path(), f"the Merkle tree lacks its node {sibling}")
            digest = node_hash(left, digest)
            nodes.append((level, idx, digest))
        await self._many(f"INSERT INTO audit_tree (level, idx, hash) VALUES ({self.dialect.marks(3)})", nodes)

    async def plant_tree(self) -> None:
        """Grow the tree over an older database's whole log, once, when the tree's migration is
        applied. (Never afterwards: an event written outside the server must stay outside it.)"""
        frontier, after = Frontier(), 0
        while page := await self.audit_events(subject=None, after_seq=after, limit=5_000):
            nodes = []
            for e in page:
                nodes += [(level, idx, digest) for (level, idx), digest in frontier.append(event_leaf(e))]
            await self._many(f"INSERT INTO audit_tree (level, idx, hash) VALUES ({self.dialect.marks(3)})", nodes)
            after = page[-1].seq

    async def _node(self, node: Node) -> bytes | None:
        p = self.dialect.placeholder
        row = await self._one(f"SELECT hash FROM audit_tree WHERE level = {p} AND idx = {p}", node)
        return bytes(row["hash"]) if row else None

    async def tree_nodes(self, nodes: Sequence[Node]) -> list[bytes | None]:
        """The stored hashes of these subtrees (None where one is missing), in order: one
        statement of primary-key lookups, whatever the number of nodes (a proof needs ~2 log n)."""
        if not nodes:
            return []
        p = self.dialect.placeholder
        wanted = " OR ".join([f"(level = {p} AND idx = {p})"] * len(nodes))
        found = await self._all(
            f"SELECT level, idx, hash FROM audit_tree WHERE {wanted}", [v for n in nodes for v in n]
        )
        stored = {(int(r["level"]), int(r["idx"])): bytes(r["hash"]) for r in found}
        return [stored.get(n) for n in nodes]

    async def tree_size(self) -> int:
        """How many leaves the Merkle tree holds."""
        row = await self._one("SELECT MAX(idx) AS last FROM audit_tree WHERE level = 0")
        return 0 if row is None or row["last"] is None else int(row["last"]) + 1

    async def tree_leaves(self, first: int, limit: int) -> dict[int, bytes]:
        p = self.dialect.placeholder
        found = await self._all(
            f"SELECT idx, hash FROM audit_tree WHERE level = 0 AND idx >= {p} AND idx < {p}", (first, first + limit)
        )
        return {int(r["idx"]): bytes(r["hash"]) for r in found}

    # checkpoints ----------------------------------------------------------------------------
    async def checkpoint(self, size: int | None = None) -> StoredCheckpoint | None:
        """The checkpoint signed for `size`, or the latest one."""
        sql = "SELECT size, root, note, signed_at FROM audit_checkpoints"
        if size is None:
            row = await self._one(f"{sql} ORDER BY size DESC LIMIT 1")
        else:
            row = await self._one(f"{sql} WHERE size = {self.dialect.placeholder}", (size,))
        return rows.checkpoint(row) if row else None

    async def insert_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        await self._run(
            f"INSERT INTO audit_checkpoints (size, root, note, signed_at) VALUES ({self.dialect.marks(4)})",
            (checkpoint.size, checkpoint.root, checkpoint.note, ts(checkpoint.signed_at)),
        )

    # the guards -----------------------------------------------------------------------------
    async def missing_guards(self) -> list[str]:
        """The append-only guards of the log that are gone (dropped triggers)."""
        present = {r["name"] for r in await self._all(self.dialect.triggers)}
        return [g for g in self.dialect.log_guards if g not in present]
