"""The lookup tables of protocol v2: small structured tables whose multilinear extensions
the verifier evaluates in closed form.

A table is a list of *kinds*, each a set of tuples of small integers:

- ``range(k)``: (t) for 0 ≤ t < 2^k — a range check;
- ``relu(k)``: (t, 0) and (0, t) for 0 ≤ t < 2^k — a pair (a, d) with a·d = 0, both in
  range: ReLU's output a and a − q, in one lookup;
- ``signed(k)``: (1, t, 0) and (0, 0, t) — a limb pair of a ReLU wider than 16 bits with
  the sign σ shared by all limbs of the value;
- ``select(k)``: (0, t) and (1, 0) — MaxPool's (selected, gap): the selected input equals
  the maximum, every other input is at most it.

Tuples are encoded into one field element with the challenge β drawn after every
commitment: enc = tag + β·x₁ + β²·x₂ + β³·x₃, tag the kind's number. The kinds used by a
proof are laid out in one vector, largest first, each at an offset aligned to its
power-of-two size; the rest of the padded vector repeats the first entry of the first
kind. Each kind's segment has a closed-form multilinear extension (``mle``), so the verifier
evaluates the whole table's at any point in O(kinds · log size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import field, mle

R = field.MODULUS
MAX_BITS = 16
KIND_NAMES = ("range", "relu", "signed", "select")
ARITY = {"range": 1, "relu": 2, "signed": 3, "select": 2}


@dataclass(frozen=True, order=True)
class Kind:
    name: str
    bits: int

    def __post_init__(self) -> None:
        if self.name not in KIND_NAMES:
            raise ValueError(f"unknown lookup kind {self.name!r}")
        if not (0 <= self.bits <= MAX_BITS) or (self.name != "range" and self.bits < 1):
            raise ValueError(f"lookup kind {self.name}({self.bits}) out of range")

    @property
    def arity(self) -> int:
        return ARITY[self.name]

    @property
    def size_bits(self) -> int:
        return self.bits if self.name == "range" else self.bits + 1

    @property
    def size(self) -> int:
        return 1 << self.size_bits

    def columns(self) -> list[np.ndarray]:
        """The entries, one int64 array per tuple position."""
        t = np.arange(1 << self.bits, dtype=np.int64)
        z = np.zeros_like(t)
        one = np.ones_like(t)
        if self.name == "range":
            return [t]
        if self.name == "relu":
            return [np.concatenate([t, z]), np.concatenate([z, t])]
        if self.name == "signed":
            return [np.concatenate([one, z]), np.concatenate([t, z]), np.concatenate([z, t])]
        return [np.concatenate([z, one]), np.concatenate([t, z])]  # select

    def index_of(self, cols: Sequence[np.ndarray]) -> np.ndarray:
        """The position in this kind's segment of each tuple (−1 where none matches)."""
        if len(cols) != self.arity:
            raise ValueError(f"{self.name} takes {self.arity}-tuples")
        top = 1 << self.bits
        c = [np.asarray(x, dtype=np.int64) for x in cols]

        def inside(x):
            return (x >= 0) & (x < top)

        if self.name == "range":
            return np.where(inside(c[0]), c[0], -1)
        if self.name == "relu":
            a, d = c
            return np.where(inside(a) & (d == 0), a, np.where((a == 0) & inside(d), top + d, -1))
        if self.name == "signed":
            s, a, d = c
            ok1 = (s == 1) & inside(a) & (d == 0)
            ok0 = (s == 0) & (a == 0) & inside(d)
            return np.where(ok1, a, np.where(ok0, top + d, -1))
        s, gap = c  # select
        return np.where((s == 0) & inside(gap), gap, np.where((s == 1) & (gap == 0), top, -1))

    def mle(self, point: Sequence[int]) -> list[int]:
        """The multilinear extensions of the tuple positions at a point (big-endian over
        size_bits coordinates)."""
        if len(point) != self.size_bits:
            raise ValueError("kind MLE evaluated at a point of the wrong size")
        low = point[len(point) - self.bits :]
        value = sum(pow(2, self.bits - 1 - i, R) * x for i, x in enumerate(low)) % R
        if self.name == "range":
            return [value]
        h = point[0] % R  # the half: 0 for the first 2^k entries
        if self.name == "relu":
            return [(1 - h) * value % R, h * value % R]
        if self.name == "signed":
            return [(1 - h) % R, (1 - h) * value % R, h * value % R]
        return [h, (1 - h) * value % R]  # select


def encode(tag: int, cols: Sequence, beta: int) -> int:
    """tag + Σ_i β^(i+1)·cols[i] for Python ints (a single tuple or MLE values)."""
    acc = tag % R
    b = 1
    for x in cols:
        b = b * beta % R
        acc = (acc + b * x) % R
    return acc


@dataclass(frozen=True)
class Table:
    """The kinds a proof uses, laid out in one power-of-two vector (see the module doc)."""

    kinds: tuple[Kind, ...]

    def __post_init__(self) -> None:
        kinds = tuple(sorted(set(self.kinds), key=lambda k: (-k.size, k.name, k.bits)))
        if not kinds:
            raise ValueError("a lookup table needs at least one kind")
        object.__setattr__(self, "kinds", kinds)

    def tag(self, kind: Kind) -> int:
        return 1 + self.kinds.index(kind)

    def offset(self, kind: Kind) -> int:
        off = 0
        for k in self.kinds:
            if k == kind:
                return off
            off += k.size
        raise KeyError(kind)

    @property
    def used(self) -> int:
        return sum(k.size for k in self.kinds)

    @property
    def num_vars(self) -> int:
        return max(1, (self.used - 1).bit_length())

    @property
    def size(self) -> int:
        return 1 << self.num_vars

    def filler(self, beta: int) -> int:
        first = self.kinds[0]
        return encode(self.tag(first), [int(c[0]) for c in first.columns()], beta)

    def values(self, beta: int) -> np.ndarray:
        """The encoded table as a field vector of length ``size`` (the prover's side)."""
        out = field.zeros(self.size)
        out[:] = field.const(self.filler(beta))
        bpow = [pow(beta, i + 1, R) for i in range(3)]
        for kind in self.kinds:
            off = self.offset(kind)
            enc = field.zeros(kind.size) + field.const(self.tag(kind))
            for i, col in enumerate(kind.columns()):
                enc = enc + field.from_int64(col) * field.const(bpow[i])
            out[off : off + kind.size] = enc
        return out

    def mle(self, point: Sequence[int], beta: int) -> int:
        """The encoded table's multilinear extension at a point (big-endian, num_vars)."""
        n = self.num_vars
        if len(point) != n:
            raise ValueError("table MLE evaluated at a point of the wrong size")
        total = 0
        covered = 0
        for kind in self.kinds:
            off = self.offset(kind)
            high = point[: n - kind.size_bits]
            sel = mle.eq_eval(high, _bits(off >> kind.size_bits, len(high)))
            total += sel * encode(self.tag(kind), kind.mle(point[n - kind.size_bits :]), beta)
            covered += sel
        # The filler fills every position no kind covers: 1 − Σ selectors of the kinds.
        total += (1 - covered) * self.filler(beta)
        return total % R


def _bits(value: int, n: int) -> list[int]:
    """The n-bit big-endian binary digits of value, as a point."""
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]
