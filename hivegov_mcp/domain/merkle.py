"""The Merkle tree of RFC 6962 (§2.1) over the audit events, pure: hashes, the root of the
first n leaves, inclusion and consistency proofs, and their verification (RFC 9162 §2.1.3
and §2.1.4 algorithms).

leaf = SHA-256(0x00 || canonical event bytes), node = SHA-256(0x01 || left || right); the
tree of n leaves splits at the largest power of two below n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

Hash = bytes
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> Hash:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: Hash, right: Hash) -> Hash:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: Sequence[Hash]) -> Hash:
    """MTH(D[n]) of RFC 6962 over leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[Hash]) -> list[Hash]:
    """PATH(m, D[n]): the audit path of leaf `index` (0-based) in the tree of `leaves`."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[Hash]) -> list[Hash]:
    """PROOF(m, D[n]): that the tree of the first `old_size` leaves is a prefix of this one."""
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"size {old_size} is not between 1 and {len(leaves)}")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[Hash], complete: bool) -> list[Hash]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: Hash, proof: Sequence[Hash], expected_root: Hash) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(old_size: int, new_size: int, old_root: Hash, new_root: Hash, proof: Sequence[Hash]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


class Frontier:
    """The tree's right edge (one root per set bit of the size): append in O(log n) and the
    root of the whole tree at any time, without keeping the leaves."""

    def __init__(self, size: int = 0, nodes: Sequence[Hash] = ()) -> None:
        self.size = size
        self.nodes = list(nodes)  # perfect subtree roots, largest first

    def append(self, leaf: Hash) -> None:
        self.nodes.append(leaf)
        self.size += 1
        n = self.size
        while n % 2 == 0:  # merge equal-sized subtrees
            right = self.nodes.pop()
            left = self.nodes.pop()
            self.nodes.append(node_hash(left, right))
            n //= 2

    def root(self) -> Hash:
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            acc = node_hash(node, acc)
        return acc
