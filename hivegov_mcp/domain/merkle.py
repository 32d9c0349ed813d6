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
Node = tuple[int, int]  # (level, index): the root of leaves [index * 2**level, (index + 1) * 2**level)
Range = tuple[int, int]  # leaves [lo, hi)
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


# -- the tree as stored: perfect subtrees only -------------------------------------------------
# A store keeps the root of every perfect subtree once its last leaf is in (about 2n nodes).
# Any proof, for any tree size up to the current one, is a few of those combined: O(log n)
# reads, whatever the size.


def completed(index: int) -> list[tuple[Node, Node]]:
    """Appending leaf `index` completes these subtrees: (left sibling to read, parent to store),
    lowest first; each parent is node_hash(sibling, the parent before it or the leaf)."""
    out = []
    level, i = 0, index
    while i & 1:
        out.append(((level, i - 1), (level + 1, i >> 1)))
        level += 1
        i >>= 1
    return out


def cover(lo: int, hi: int) -> list[Node]:
    """The perfect subtrees that make up leaves [lo, hi), largest first (for ranges that occur
    in the tree: `lo` is aligned to the largest power of two not above hi - lo)."""
    out = []
    while lo < hi:
        level = 0
        while lo % (2 << level) == 0 and lo + (2 << level) <= hi:
            level += 1
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def combine(hashes: Sequence[Hash]) -> Hash:
    """The root of a range from the roots of its cover (largest first)."""
    acc = hashes[-1]
    for node in reversed(hashes[:-1]):
        acc = node_hash(node, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose roots are PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    out = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    return out[::-1]


def consistency_ranges(old_size: int, size: int) -> list[Range]:
    """The ranges whose roots are PROOF(old_size, D[size]), in proof order."""
    if not 0 < old_size <= size:
        raise ValueError(f"size {old_size} is not between 1 and {size}")
    out = []
    lo, hi, m, complete = 0, size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
            m -= k
            complete = False
    if not complete:
        out.append((lo, hi))
    return out[::-1]


class Frontier:
    """The tree's right edge (one root per set bit of the size): append in O(log n) and the
    root of the whole tree at any time, without keeping the leaves."""

    def __init__(self, size: int = 0, nodes: Sequence[Hash] = ()) -> None:
        self.size = size
        self.nodes = list(nodes)  # perfect subtree roots, largest first

    def append(self, leaf: Hash) -> list[tuple[Node, Hash]]:
        """Add a leaf; the nodes it completes (itself first), for a store that keeps them."""
        made = [((0, self.size), leaf)]
        self.nodes.append(leaf)
        for _, parent in completed(self.size):
            right = self.nodes.pop()
            left = self.nodes.pop()
            self.nodes.append(node_hash(left, right))
            made.append((parent, self.nodes[-1]))
        self.size += 1
        return made

    def root(self) -> Hash:
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            acc = node_hash(node, acc)
        return acc
