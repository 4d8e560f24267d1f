"""Merkle trees as RFC 9162 (Certificate Transparency 2.0, §2.1) defines them: the hashing,
inclusion and consistency proofs, and their verification. Pure functions, no I/O.

    MTH({})       = SHA-256()
    leaf hash     = SHA-256(0x00 ‖ data)
    node hash     = SHA-256(0x01 ‖ left ‖ right)
    MTH(D[n])     = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n

Every left child of an RFC 9162 tree is a perfect subtree (2^level leaves) starting at a
multiple of its size, so a log can keep the hashes of its perfect subtrees, addressed by
(level, index) (leaves are level 0), and compute any other subtree from O(log n) of them.
The proof generators here take that lookup as a function, so the same code serves a list
in memory (:class:`MemoryTree`) and a database table (the site's log); the right edge of
the tree (the "frontier": the perfect subtrees covering leaves [0, n), one per set bit of
n, largest first) is enough to append a leaf and to compute the root.

The verifiers are RFC 9162 §2.1.3.2 and §2.1.4.2 as written, with the two special cases a
log needs spelled out: a consistency proof from size 0, or between equal sizes, is empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from .errors import VerificationError

HASH_BYTES = 32
# A proof for a tree of fewer than 2^63 leaves has at most 63 (inclusion) or 64
# (consistency) hashes; anything longer is malformed, refused before any hashing.
MAX_PROOF_HASHES = 64
EMPTY_ROOT = hashlib.sha256(b"").digest()

Lookup = Callable[[int, int], bytes]  # (level, index) → hash of a perfect subtree


class MerkleError(VerificationError, ValueError):
    """A proof that does not verify, or arguments no tree of that size can have."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# ------------------------------------------------------------------ appending: the frontier


def frontier_append(
    frontier: Sequence[bytes], size: int, leaf: bytes
) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """Append the leaf hash ``leaf`` to a tree of ``size`` leaves whose frontier is given.

    Returns the new frontier and every perfect subtree the append completed, as
    (level, index, hash), the leaf itself (level 0) first."""
    if len(frontier) != bin(size).count("1"):
        raise MerkleError(f"a frontier of {len(frontier)} hashes cannot belong to size {size}")
    stack = list(frontier)
    completed = [(0, size, leaf)]
    h, level = leaf, 0
    while (size >> level) & 1:
        h = node_hash(stack.pop(), h)
        level += 1
        completed.append((level, size >> level, h))
    stack.append(h)
    return stack, completed


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """MTH of the tree the frontier covers (its perfect subtrees folded from the right)."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for h in reversed(frontier[:-1]):
        root = node_hash(h, root)
    return root


def frontier_of(lookup: Lookup, size: int) -> list[bytes]:
    """The frontier of the first ``size`` leaves, from the perfect subtrees."""
    out, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if (size >> level) & 1:
            out.append(lookup(level, start >> level))
            start += 1 << level
    return out


# ------------------------------------------------------------------ generating proofs


def subtree_hash(lookup: Lookup, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that is a subtree of an RFC 9162 tree (every range
    the proofs below ask for is)."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return lookup(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree_hash(lookup, start, start + k), subtree_hash(lookup, start + k, end))


def root(lookup: Lookup, size: int) -> bytes:
    return subtree_hash(lookup, 0, size)


def inclusion_proof(lookup: Lookup, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), deepest hash first."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []

    def walk(m: int, start: int, end: int) -> None:
        n = end - start
        if n == 1:
            return
        k = _split(n)
        if m < k:
            walk(m, start, start + k)
            path.append(subtree_hash(lookup, start + k, end))
        else:
            walk(m - k, start + k, end)
            path.append(subtree_hash(lookup, start, start + k))

    walk(index, 0, size)
    return path


def consistency_proof(lookup: Lookup, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) (RFC 9162 §2.1.4.1); empty when either tree is
    empty or they have the same size."""
    if not 0 <= old_size <= new_size:
        raise MerkleError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    proof: list[bytes] = []

    def sub(m: int, start: int, end: int, complete: bool) -> None:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree_hash(lookup, start, end))
            return
        k = _split(n)
        if m <= k:
            sub(m, start, start + k, complete)
            proof.append(subtree_hash(lookup, start + k, end))
        else:
            sub(m - k, start + k, end, False)
            proof.append(subtree_hash(lookup, start, start + k))

    sub(old_size, 0, new_size, True)
    return proof


# ------------------------------------------------------------------ verifying proofs


def _check_hashes(proof: Sequence[bytes], what: str) -> None:
    if len(proof) > MAX_PROOF_HASHES:
        raise MerkleError(f"the {what} proof has {len(proof)} hashes; at most "
                          f"{MAX_PROOF_HASHES}")
    for h in proof:
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_BYTES:
            raise MerkleError(f"the {what} proof holds a value that is not a SHA-256 hash")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` puts ``leaf`` under (RFC 9162 §2.1.3.2, steps 1–5)."""
    _check_hashes([leaf, *proof], "inclusion")
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is not in a tree of {size} leaves")
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in proof:
        if sn == 0:
            raise MerkleError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Raise MerkleError unless ``proof`` shows leaf hash ``leaf`` at ``index`` of the tree
    of ``size`` leaves whose root is ``expected_root``."""
    if root_from_inclusion(index, size, leaf, proof) != expected_root:
        raise MerkleError(f"leaf {index} is not in the tree of {size} leaves with that root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise MerkleError unless the tree of ``new_size`` leaves with root ``new_root``
    extends the tree of ``old_size`` leaves with root ``old_root`` (RFC 9162 §2.1.4.2):
    the first ``old_size`` leaves are the same, in the same order."""
    _check_hashes([old_root, new_root, *proof], "consistency")
    if not 0 <= old_size <= new_size:
        raise MerkleError(f"a tree of {new_size} leaves cannot extend one of {old_size}")
    if old_size == new_size:
        if proof:
            raise MerkleError("a consistency proof between equal sizes is empty")
        if old_root != new_root:
            raise MerkleError(f"two different roots for the same tree size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise MerkleError("a consistency proof from the empty tree is empty")
        if old_root != EMPTY_ROOT:
            raise MerkleError("the root of the empty tree is SHA-256 of nothing")
        return
    if not proof:
        raise MerkleError("the consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MerkleError("the consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleError("the consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise MerkleError(f"the first {old_size} leaves are not the ones the old root covers: "
                          "the history was rewritten")
    if sr != new_root:
        raise MerkleError(f"the proof does not lead to the root of the tree of {new_size} leaves")


# ------------------------------------------------------------------ a tree in memory


class MemoryTree:
    """An append-only tree in memory, keeping every perfect subtree (for tests, and for a
    client that rebuilds a log from its entries)."""

    def __init__(self, leaves: Sequence[bytes] = ()):
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._frontier: list[bytes] = []
        self.size = 0
        for data in leaves:
            self.append(data)

    def append_hash(self, leaf: bytes) -> int:
        self._frontier, completed = frontier_append(self._frontier, self.size, leaf)
        for level, index, h in completed:
            self._nodes[(level, index)] = h
        self.size += 1
        return self.size - 1

    def append(self, data: bytes) -> int:
        return self.append_hash(leaf_hash(data))

    def lookup(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise MerkleError(f"no perfect subtree at level {level}, index {index}") from None

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if size == self.size:
            return frontier_root(self._frontier)
        return root(self.lookup, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(self.lookup, index, self.size if size is None else size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(self.lookup, old_size, self.size if new_size is None else new_size)
