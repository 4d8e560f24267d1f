"""The prover's representation of the GKR layers: aligned pieces with constant tails.

Most of the witness leaves are padding: the lookups of padded samples (the test set's N
rounded up to a power of two) and the filler after the last segment all hold one constant
per segment. A layer is therefore stored as a list of *pieces* tiling its index space:
each piece is an aligned power-of-two block whose first ``n`` entries are stored (``dense``,
one field array per component) and whose other entries all equal ``tail`` (one int per
component). Pairing neighbours (the next layer up, or a sumcheck round binding the lowest
variable) maps a piece to a piece of half the size, so the work is proportional to the
stored entries, not to the padded size; two neighbouring pieces of size one merge.

Dense parts always have even length (a pair is either fully stored or fully tail): after
any halving an odd length is completed with one tail entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import field, fr_kernels

R = field.MODULUS


@dataclass
class Piece:
    offset: int
    size: int
    dense: list  # field arrays, one per component (None where the component is all ones)
    tail: list  # ints, one per component

    @property
    def stored(self) -> int:
        for d in self.dense:
            if d is not None:
                return len(d)
        return 0


def _even(piece: Piece) -> Piece:
    """Complete an odd stored length with one tail entry (never beyond the piece)."""
    n = piece.stored
    if n % 2 and n < piece.size:
        piece.dense = [
            None if d is None else np.concatenate([d, field.const(t)])
            for d, t in zip(piece.dense, piece.tail, strict=True)
        ]
    return piece


def normalise(pieces: list[Piece]) -> list[Piece]:
    """Even stored lengths, and neighbouring pieces of size one merged into pairs."""
    out: list[Piece] = []
    i = 0
    while i < len(pieces):
        p = pieces[i]
        if p.size == 1:
            q = pieces[i + 1]
            if q.size != 1 or q.offset != p.offset + 1 or p.offset % 2:
                raise ValueError("misaligned pieces")
            dense = []
            for a, b, ta, tb in zip(p.dense, q.dense, p.tail, q.tail, strict=True):
                if a is None and b is None:
                    dense.append(None)
                    continue
                va = field.const(ta) if a is None or len(a) == 0 else a[:1]
                vb = field.const(tb) if b is None or len(b) == 0 else b[:1]
                dense.append(np.concatenate([va, vb]))
            tails = [ta for ta in p.tail]
            out.append(Piece(p.offset, 2, dense, tails))
            i += 2
            continue
        out.append(_even(p))
        i += 1
    return out


def to_dense(pieces: list[Piece], total: int, components: int) -> list:
    """One field array per component over the whole index space (small layers only)."""
    out = []
    for c in range(components):
        if all(p.dense[c] is None for p in pieces) and all(p.tail[c] == 1 for p in pieces):
            out.append(None)
            continue
        arr = field.zeros(total)
        for p in pieces:
            arr[p.offset : p.offset + p.size] = field.const(p.tail[c])
            d = p.dense[c]
            if d is None:
                continue
            arr[p.offset : p.offset + len(d)] = d
        out.append(arr)
    return out


def split_aligned(start: int, stop: int) -> list[tuple[int, int]]:
    """[start, stop) as aligned power-of-two blocks (offset, size), in order."""
    out = []
    while start < stop:
        size = start & -start if start else 1 << (stop.bit_length() - 1)
        while start + size > stop:
            size //= 2
        out.append((start, size))
        start += size
    return out


def pair_up(pieces: list[Piece]) -> list[Piece]:
    """The next layer up: p' = p₀·q₁ + p₁·q₀, q' = q₀·q₁ for neighbours (p None = ones)."""
    out = []
    for piece in normalise(pieces):
        p, q = piece.dense
        tp, tq = piece.tail
        if q is not None and len(q):
            np_, nq = fr_kernels.pair_up(p, q)
        else:
            np_ = None if p is None else field.zeros(0)
            nq = field.zeros(0)
        if p is None and (q is None or not len(q)):
            np_ = field.zeros(0)
        new_tp = 2 * tp * tq % R
        new_tq = tq * tq % R
        out.append(Piece(piece.offset // 2, piece.size // 2, [np_, nq], [new_tp, new_tq]))
    return out


def leaf_layer(blocks: list[tuple[int, int, np.ndarray | None, int]], total: int,
               ones: bool) -> list[Piece]:
    """Pieces of a leaf layer from (offset, size, stored q values, tail q) blocks; p is all
    ones (witness) when ``ones``."""
    out = []
    for offset, size, dense, tail in blocks:
        d = field.zeros(0) if dense is None else dense
        out.append(Piece(offset, size, [None if ones else field.zeros(0), d],
                         [1 if ones else 0, tail % R]))
    covered = sum(size for _, size, _, _ in blocks)
    if covered != total:
        raise ValueError("leaf blocks do not tile the leaf vector")
    return out


def from_dense(q: np.ndarray) -> list[Piece]:
    """Witness leaves (p = 1) from a dense field array of q values."""
    return [Piece(0, len(q), [None, q], [1, 0])]
