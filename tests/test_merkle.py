"""The RFC 6962 Merkle tree: roots, inclusion and consistency proofs checked against each other
and against known-answer values, for every size up to 40."""

from __future__ import annotations

import hashlib

import pymerkle  # an independent RFC 6962 implementation, test-only (dev extras)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hivegov_mcp.domain.merkle import (
    EMPTY_ROOT,
    Frontier,
    combine,
    consistency_proof,
    consistency_ranges,
    cover,
    inclusion_proof,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(f"event {i}".encode()) for i in range(40)]


def test_the_hashes_are_those_of_rfc_6962() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert root([a, b, c]) == node_hash(node_hash(a, b), c)  # split at the largest power of two below 3
    assert root([a]) == a and root([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()


@pytest.mark.parametrize("size", range(1, 41))
def test_every_leaf_s_inclusion_proof_verifies_and_a_wrong_one_does_not(size: int) -> None:
    tree = LEAVES[:size]
    top = root(tree)
    for index in range(size):
        proof = inclusion_proof(index, tree)
        assert verify_inclusion(index, size, tree[index], proof, top)
        assert not verify_inclusion(index, size, leaf_hash(b"forged"), proof, top)
        if size > 1:
            assert not verify_inclusion((index + 1) % size, size, tree[index], proof, top)


@pytest.mark.parametrize("new_size", range(1, 41))
def test_every_older_size_is_proved_a_prefix_and_a_rewritten_history_is_not(new_size: int) -> None:
    for old_size in range(1, new_size + 1):
        proof = consistency_proof(old_size, LEAVES[:new_size])
        assert verify_consistency(old_size, new_size, root(LEAVES[:old_size]), root(LEAVES[:new_size]), proof)
        rewritten = [leaf_hash(b"rewritten"), *LEAVES[1:old_size]]
        if old_size < new_size:
            assert not verify_consistency(old_size, new_size, root(rewritten), root(LEAVES[:new_size]), proof)


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=40))
def test_the_frontier_gives_the_same_root_as_the_whole_tree(size: int) -> None:
    frontier = Frontier()
    for leaf in LEAVES[:size]:
        frontier.append(leaf)
    assert frontier.root() == root(LEAVES[:size]) and frontier.size == size
    assert len(frontier.nodes) == bin(size).count("1")  # O(log n) kept


def _stored(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every node a store keeps, grown one append at a time as the store grows it."""
    frontier, nodes = Frontier(), {}
    for leaf in leaves:
        for position, digest in frontier.append(leaf):
            nodes[position] = digest
    return nodes


def _range_root(nodes: dict[tuple[int, int], bytes], lo: int, hi: int) -> bytes:
    return combine([nodes[n] for n in cover(lo, hi)])


@pytest.mark.parametrize("size", range(1, 41))
def test_proofs_from_the_stored_nodes_equal_the_proofs_from_the_leaves(size: int) -> None:
    nodes = _stored(LEAVES)  # the tree grew on to 40: nodes past `size` are there and unused
    assert len(nodes) == 2 * 40 - bin(40).count("1")  # 2n - popcount(n) nodes in all
    assert _range_root(nodes, 0, size) == root(LEAVES[:size])
    for index in range(size):
        path = [_range_root(nodes, lo, hi) for lo, hi in inclusion_ranges(index, size)]
        assert path == inclusion_proof(index, LEAVES[:size])
    for old_size in range(1, size + 1):
        proof = [_range_root(nodes, lo, hi) for lo, hi in consistency_ranges(old_size, size)]
        assert proof == consistency_proof(old_size, LEAVES[:size])


def test_a_proof_reads_a_logarithmic_number_of_nodes() -> None:
    size = 2_000_000
    for index in (0, 1, 999_999, size - 2, size - 1):
        reads = sum(len(cover(lo, hi)) for lo, hi in inclusion_ranges(index, size))
        assert reads <= 2 * size.bit_length()
    reads = sum(len(cover(lo, hi)) for lo, hi in consistency_ranges(1_234_567, size))
    assert reads <= 2 * size.bit_length()


def test_the_roots_equal_those_of_an_independent_rfc_6962_implementation() -> None:
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    data = [f"event {i}".encode() for i in range(40)]
    for size, item in enumerate(data, start=1):
        tree.append_entry(item)
        assert tree.get_root() == root([leaf_hash(d) for d in data[:size]])
