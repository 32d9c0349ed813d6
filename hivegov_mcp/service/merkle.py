"""The verifiable log's Merkle tree (DESIGN §16): its root, signed checkpoints, and inclusion and
consistency proofs. (`verify.py` verifies the log; `records.py` reads it.)"""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from hivegov_mcp.domain.audit import StoredEvent, event_bytes, event_leaf
from hivegov_mcp.domain.errors import InvalidInput, LogTampered, NotFound
from hivegov_mcp.domain.merkle import (
    EMPTY_ROOT,
    Frontier,
    Node,
    combine,
    consistency_ranges,
    cover,
    inclusion_ranges,
    leaf_hash,
)
from hivegov_mcp.domain.models import Agent
from hivegov_mcp.domain.record_models import AuditProof, ConsistencyProof, SignedCheckpoint
from hivegov_mcp.service.base import ServiceBase, reads, writes
from hivegov_mcp.store.base import StoredCheckpoint, Transaction

TREE_PAGE = 5_000  # events read per page when the tree is rebuilt from the log


class MerkleOperations(ServiceBase):
    """The log's Merkle tree as stored (DESIGN §16): roots and proofs from O(log n) stored
    subtrees, and checkpoints signed by the server's key, one root per size ever."""

    async def audit_tree(self, size: int | None = None) -> tuple[int, bytes]:
        """The size and RFC 6962 root of the log's first `size` events (all of them by default),
        recomputed from the events a page at a time (not from the stored tree): memory O(log n)."""
        frontier = Frontier()
        after = 0
        while size is None or frontier.size < size:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=TREE_PAGE)
            for e in page:
                if size is not None and frontier.size >= size:
                    break
                frontier.append(event_leaf(e))
            if len(page) < TREE_PAGE:
                break
            after = page[-1].seq
        return frontier.size, frontier.root()

    async def adopt_log_name(self) -> None:
        """Sign under the name the log's checkpoints already carry, if any: a copied log (`migrate`)
        or an instance that reaches the database by another address signs as the log always did."""
        async with self.store.read() as tx:
            stored = await tx.checkpoint()
        if stored is not None:
            self.signer.origin = stored.note.split("\n", 1)[0]

    async def latest_checkpoint(self, actor: Agent | None = None) -> SignedCheckpoint:
        """A checkpoint of the whole log as it is now: the one signed for this size, or a new one."""
        latest = await self._latest_checkpoint()
        return latest if latest is not None else await self.sign_checkpoint()

    @reads
    async def _latest_checkpoint(self) -> SignedCheckpoint | None:
        async with self.store.read() as tx:
            stored = await tx.checkpoint()
            if stored is None or stored.size != await tx.tree_size():
                return None
        return self._checkpoint(stored)

    async def sign_checkpoint(self) -> SignedCheckpoint:
        """Sign the log as it is now, once per size, over a root recomputed from the events (the
        stored tree must agree): from the latest checkpoint's edge, so only the events appended
        since are hashed (the whole log for the first checkpoint)."""
        async with self.store.read() as tx:
            earlier = await tx.checkpoint()
            size = await tx.tree_size()
            edge = await self._nodes(tx, cover(0, earlier.size)) if earlier else []
        frontier = Frontier(earlier.size, edge) if earlier else Frontier()
        if earlier is not None and frontier.root() != earlier.root:
            raise LogTampered(
                self.store.path,
                f"checkpoint {earlier.size} signed root {earlier.root.hex()}, the stored tree's first {earlier.size} "
                f"events now have root {frontier.root().hex()}; no checkpoint is signed over it",
            )
        after = frontier.size
        while frontier.size < size:
            async with self.store.read() as tx:
                page = await tx.audit_events(subject=None, after_seq=after, limit=TREE_PAGE)
            leaves = await anyio.to_thread.run_sync(_leaves, page)
            for leaf in leaves[: size - frontier.size]:
                frontier.append(leaf)
            if len(page) < TREE_PAGE:
                break
            after = page[-1].seq
        if frontier.size < size:
            raise LogTampered(self.store.path, f"its Merkle tree holds {size} events, the log only {frontier.size}")
        return await self._sign(size, frontier.root())

    @writes
    async def _sign(self, size: int, root: bytes) -> SignedCheckpoint:
        async with self.store.write() as tx:
            stored_root = await self._tree_root(tx, size)
            if stored_root != root:
                raise LogTampered(
                    self.store.path,
                    f"its stored Merkle tree gives the first {size} events root {stored_root.hex()}, the events "
                    f"themselves {root.hex()}; no checkpoint is signed over it",
                )
            existing = await tx.checkpoint(size)
            if existing is not None:
                if existing.root != root:  # can't be reached unless the table was edited
                    raise LogTampered(self.store.path, f"size {size} was signed before with another root")
                return self._checkpoint(existing)
            stored = StoredCheckpoint(size, root, self.signer.sign(size, root), self.clock.now())
            await tx.insert_checkpoint(stored)
        return self._checkpoint(stored)

    async def _nodes(self, tx: Transaction, nodes: Sequence[Node]) -> list[bytes]:
        hashes = await tx.tree_nodes(nodes)
        missing = [n for n, h in zip(nodes, hashes, strict=True) if h is None]
        if missing:
            raise LogTampered(self.store.path, f"its Merkle tree lacks the node (level, index) {missing[0]}")
        return [h for h in hashes if h is not None]

    async def _tree_root(self, tx: Transaction, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else combine(await self._nodes(tx, cover(0, size)))

    async def _proof(self, tx: Transaction, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """The root of each range, from the stored subtrees that cover it (read in one go)."""
        covers = [cover(lo, hi) for lo, hi in ranges]
        hashes = await self._nodes(tx, [n for c in covers for n in c])
        out, at = [], 0
        for c in covers:
            out.append(combine(hashes[at : at + len(c)]))
            at += len(c)
        return out

    def _checkpoint(self, stored: StoredCheckpoint) -> SignedCheckpoint:
        return SignedCheckpoint(
            origin=self.signer.origin,
            size=stored.size,
            root=stored.root.hex(),
            note=stored.note,
            verifier_key=self.signer.verifier_key(),
            signed_at=stored.signed_at,
        )

    async def get_audit_proof(self, actor: Agent, seq: int, since_size: int | None = None) -> AuditProof:
        """The inclusion proof of event `seq` against the latest checkpoint (signed now if none
        covers it yet) and, given the size of a checkpoint kept earlier, the consistency proof."""
        checkpoint = await self.latest_checkpoint(actor)
        if seq > checkpoint.size:  # appended since: sign the tree that holds it
            checkpoint = await self.sign_checkpoint()
        return await self._prove(seq, since_size, checkpoint)

    @reads
    async def consistency_proof(self, old_size: int) -> tuple[int, bytes, list[bytes]]:
        """The stored tree's size and root now, and PROOF(old_size, D[size]) from it: O(log n)
        reads. (`verify_audit` checks that the stored tree is the events'.)"""
        async with self.store.read() as tx:
            size = await tx.tree_size()
            if old_size > size:
                raise LogTampered(self.store.path, f"its Merkle tree holds fewer than {old_size} events")
            root = await self._tree_root(tx, size)
            return size, root, await self._proof(tx, consistency_ranges(old_size, size))

    @reads
    async def _prove(self, seq: int, since_size: int | None, checkpoint: SignedCheckpoint) -> AuditProof:
        size = checkpoint.size
        if not 1 <= seq <= size:
            raise NotFound("audit event", seq, hint=f"The log has events 1 to {size}; pass one of those.")
        if since_size is not None and not 1 <= since_size <= size:
            raise InvalidInput("since_size", f"{since_size} must be between 1 and the log's size {size}")
        async with self.store.read() as tx:
            (event,) = await tx.audit_events(subject=None, after_seq=seq - 1, limit=1)
            inclusion = await self._proof(tx, inclusion_ranges(seq - 1, size))
            consistency = None
            if since_size is not None:
                hashes = await self._proof(tx, consistency_ranges(since_size, size))
                consistency = ConsistencyProof(from_size=since_size, to_size=size, proof=[h.hex() for h in hashes])
        data = event_bytes(seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                           subject=event.subject, payload=event.payload)  # fmt: skip
        return AuditProof(
            seq=seq,
            canonical_event=data.decode("utf-8", "backslashreplace"),
            leaf_hash=leaf_hash(data).hex(),
            tree_size=size,
            inclusion=[h.hex() for h in inclusion],
            root=checkpoint.root,
            checkpoint=checkpoint,
            consistency=consistency,
        )


def _leaves(events: list[StoredEvent]) -> list[bytes]:
    return [event_leaf(e) for e in events]
