"""RFC 9162 Merkle trees (zkproofs.merkle) against a naive implementation written straight
from the RFC's recursive definitions, on random trees (hypothesis), and known roots."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs import merkle
from zkproofs.merkle import MemoryTree, MerkleError

# ------------------------------------------------------------------ the RFC, naively


def naive_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return naive_path(m, leaves[:k]) + [naive_mth(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return naive_subproof(m, leaves[:k], b) + [naive_mth(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [naive_mth(leaves[:k])]


# ------------------------------------------------------------------ known answers

# The eight leaves of Certificate Transparency's reference tests, and the root after each.
CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_known_roots():
    tree = MemoryTree()
    assert tree.root() == hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    for n, data in enumerate(CT_LEAVES, start=1):
        tree.append(data)
        assert tree.root().hex() == CT_ROOTS[n - 1]
        assert naive_mth(CT_LEAVES[:n]).hex() == CT_ROOTS[n - 1]
    # Roots of past sizes, from the stored perfect subtrees.
    assert [tree.root(n).hex() for n in range(1, 9)] == CT_ROOTS


def test_domain_separation():
    # A leaf can never pass for a node: the prefixes differ.
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


# ------------------------------------------------------------------ against the naive RFC

leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_inclusion_matches_the_rfc_and_verifies(leaves, data):
    tree = MemoryTree(leaves)
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    assert proof == naive_path(index, leaves[:size])
    root = tree.root(size)
    assert root == naive_mth(leaves[:size])
    leaf = merkle.leaf_hash(leaves[index])
    merkle.verify_inclusion(index, size, leaf, proof, root)

    # Any other index, size, leaf or root, and any changed or missing hash, is refused.
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        if merkle.leaf_hash(leaves[other]) != leaf or naive_path(other, leaves[:size]) != proof:
            with pytest.raises(MerkleError):
                merkle.verify_inclusion(other, size, leaf, proof, root)
    with pytest.raises(MerkleError):
        merkle.verify_inclusion(index, size, merkle.leaf_hash(leaves[index] + b"x"), proof, root)
    with pytest.raises(MerkleError):
        merkle.verify_inclusion(index, size, leaf, proof, merkle.leaf_hash(b"other root"))
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(MerkleError):
            merkle.verify_inclusion(index, size, leaf, bad, root)
    if proof:
        with pytest.raises(MerkleError):
            merkle.verify_inclusion(index, size, leaf, proof[:-1], root)
    with pytest.raises(MerkleError):
        merkle.verify_inclusion(index, size, leaf, [*proof, root], root)
    # (The size itself is bound by the signed tree head, not by the proof: index 0 of 3
    # and of 4 leaves take the same path.)


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_consistency_matches_the_rfc_and_verifies(leaves, data):
    tree = MemoryTree(leaves)
    new = data.draw(st.integers(1, len(leaves)), label="new")
    old = data.draw(st.integers(1, new), label="old")
    proof = tree.consistency_proof(old, new)
    assert proof == ([] if old == new else naive_subproof(old, leaves[:new], True))
    old_root, new_root = tree.root(old), tree.root(new)
    merkle.verify_consistency(old, new, old_root, new_root, proof)
    merkle.verify_consistency(0, new, merkle.EMPTY_ROOT, new_root, [])

    # A rewritten history: one of the first `old` leaves changed. The new tree's proof
    # cannot link the old root to it.
    changed = data.draw(st.integers(0, old - 1), label="changed")
    forged = list(leaves[:new])
    forged[changed] = forged[changed] + b"!"
    forged_tree = MemoryTree(forged)
    with pytest.raises(MerkleError):
        merkle.verify_consistency(old, new, old_root, forged_tree.root(new),
                                  forged_tree.consistency_proof(old, new))  # fmt: skip
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(MerkleError):
            merkle.verify_consistency(old, new, old_root, new_root, bad)
    if old < new:
        with pytest.raises(MerkleError):
            merkle.verify_consistency(old, new, old_root, new_root, proof[:-1])
        with pytest.raises(MerkleError):
            merkle.verify_consistency(old, new, old_root, new_root, [])
        with pytest.raises(MerkleError):  # a shrinking tree is never consistent
            merkle.verify_consistency(new, old, new_root, old_root, proof)


@settings(max_examples=40, deadline=None)
@given(leaves=leaf_lists)
def test_frontier_gives_every_root(leaves):
    frontier: list[bytes] = []
    nodes: dict[tuple[int, int], bytes] = {}
    for size, data in enumerate(leaves):
        frontier, completed = merkle.frontier_append(frontier, size, merkle.leaf_hash(data))
        nodes.update({(level, index): h for level, index, h in completed})
        assert merkle.frontier_root(frontier) == naive_mth(leaves[: size + 1])
        assert merkle.frontier_of(lambda lv, i: nodes[(lv, i)], size + 1) == frontier
    # Exactly the perfect subtrees exist: 2n − popcount(n) of them.
    n = len(leaves)
    assert len(nodes) == 2 * n - bin(n).count("1")


def test_malformed_proofs_are_refused_before_hashing():
    leaf = merkle.leaf_hash(b"x")
    with pytest.raises(MerkleError, match="at most 64"):
        merkle.verify_inclusion(0, 2**70, leaf, [leaf] * 65, leaf)
    with pytest.raises(MerkleError, match="not a SHA-256"):
        merkle.verify_inclusion(0, 2, leaf, [b"short"], leaf)
    with pytest.raises(MerkleError):
        merkle.verify_inclusion(3, 3, leaf, [], leaf)
    with pytest.raises(MerkleError):
        merkle.verify_consistency(1, 1, leaf, merkle.leaf_hash(b"y"), [])
    with pytest.raises(MerkleError):
        merkle.frontier_append([], 1, leaf)
