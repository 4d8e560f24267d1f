"""The terms a looked-up value is made of (protocol v2).

Every position of a lookup tuple is a sum of terms, evaluated at each leaf of the
segment. The prover computes a term's values for all leaves (``column``); at the GKR's
leaf point, the multilinear extension of a term is a claim on a committed vector (or on
C_W, or public), which ``claim`` obtains from the claim registry — the prover's side
commits to the values, the verifier's side reads the commitments, in the same order.

Segments over sample-indexed vectors run over the leaves in sample-major order (leaf
n·F' + f reads entry f·N' + n of the feature-major vector), so the segment point splits as
(z_n, z_f) and a vector of the segment's shape is claimed at (z_f, z_n). A segment's
feature index may itself split as (outer, inner) (a pooling window and the position in
it): the inner bits are the low ones.

- ``VecTerm``: coeff·v at the same index (a point claim on v).
- ``BroadcastTerm``: coeff·v(outer) for inner < length (zero beyond): a point claim on v at
  (z_outer, z_n), times Σ_{i < length} eq(z_inner, i).
- ``GatherTerm``: coeff·a(index[f]) — a public wiring into a vector with another feature
  space (convolution windows, pooling windows): a claim on a with the public feature
  coefficients Σ_{f: index[f] = f'} eq(z_f, f), at z_n.
- ``SuffixTerm``: coeff·Σ_{inner < i < length} v(outer, i): a claim on v with coefficients
  eq(z_outer, outer)·Σ_{j < i} eq(z_inner, j).
- ``WeightTerm``: coeff·w[offset + i] for leaf i < size: a linear form on C_W.
- ``ConstTerm``: a public value on the leaves i < length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import field, mle

R = field.MODULUS


@dataclass(frozen=True)
class VecTerm:
    name: str
    coeff: int

    def key(self, seg):
        return ("eval", self.name, seg.bits)


@dataclass(frozen=True)
class BroadcastTerm:
    name: str
    coeff: int
    inner_bits: int
    length: int

    def key(self, seg):
        return ("broadcast", self.name, seg.bits, self.inner_bits)


@dataclass(frozen=True)
class GatherTerm:
    """coeff·(Σ_t c_t·v_t − offset·[real])(index[f]) for a source given as vector terms
    [(name, c_t)] and an optional public offset on its real entries (u = q + 2^(k−1))."""

    sources: tuple  # ((name, coefficient), ...)
    coeff: int
    index: np.ndarray  # int64 (F'_segment,), −1 where nothing is read
    source_features: int  # real features of the source (for the offset's indicator)
    offset: int = 0

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other


@dataclass(frozen=True)
class SuffixTerm:
    name: str
    coeff: int
    inner_bits: int
    length: int


@dataclass(frozen=True)
class WeightTerm:
    offset: int
    size: int
    coeff: int


@dataclass(frozen=True)
class ConstTerm:
    value: int
    length: int


@dataclass(frozen=True)
class QuotientTerm:
    """coeff·q for the quotient q = (acc − rem)/2^s of layer ``layer`` (its output name),
    which is never committed: its value at the segment point is sent as a claim that the
    layer's own relation proves (2^s·q~ + rem~ = the linear map, gadgets/linear.py)."""

    layer: str
    coeff: int

    @property
    def name(self) -> str:
        return f"{self.layer}.q"

    def key(self, seg):
        return ("quotient", self.layer, seg.bits)


Term = (VecTerm | BroadcastTerm | GatherTerm | SuffixTerm | WeightTerm | ConstTerm
        | QuotientTerm)


def messages(term) -> int:
    """Commitments the leaf decomposition sends for this term when first met."""
    if isinstance(term, (VecTerm, BroadcastTerm, SuffixTerm, WeightTerm, QuotientTerm)):
        return 1
    if isinstance(term, GatherTerm):
        return len(term.sources)
    return 0


def deduplicated(term) -> bool:
    return isinstance(term, (VecTerm, BroadcastTerm, QuotientTerm))


# ------------------------------------------------------------------ public coefficients


def gather_coefficients(index: np.ndarray, z_f: list[int], source_size: int) -> np.ndarray:
    """Σ_{f: index[f] = f'} eq(z_f, f) for every source feature f' (a field vector)."""
    return scatter_add(index, mle.eq_table(z_f)[: len(index)], source_size)


def scatter_add(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """out[f'] = Σ_{i: index[i] = f'} values[i] (index −1 is skipped), a field vector."""
    out = field.zeros(size)
    valid = index >= 0
    if not valid.any():
        return out
    idx = index[valid]
    vals = values[np.flatnonzero(valid)]
    # Scatter-add in passes where the targets are distinct (fancy assignment is not an add).
    order = np.argsort(idx, kind="stable")
    idx, vals = idx[order], vals[order]
    first = np.ones(len(idx), dtype=bool)
    first[1:] = idx[1:] != idx[:-1]
    rank = np.arange(len(idx)) - np.maximum.accumulate(np.where(first, np.arange(len(idx)), 0))
    for r in range(int(rank.max()) + 1):
        sel = rank == r
        out[idx[sel]] = out[idx[sel]] + vals[sel]
    return out


def suffix_coefficients(z_outer: list[int], z_inner: list[int], length: int,
                        features: int) -> np.ndarray:
    """eq(z_outer, outer)·Σ_{j < i} eq(z_inner, j) at feature (outer, i), i < length."""
    inner = 1 << len(z_inner)
    pre = field.vec([mle.prefix_sum(z_inner, i) for i in range(length)] + [0] * (inner - length))
    outer = mle.eq_table(z_outer)
    full = (outer.reshape(-1, 1) * pre.reshape(1, -1)).reshape(-1)
    return full[:features] if len(full) >= features else np.concatenate(
        [full, field.zeros(features - len(full))])
