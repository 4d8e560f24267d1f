"""Multilinear extensions of dense field vectors.

Variable order is big-endian throughout zkproofs: for a vector of length 2^m, index i has
bits (x_1, ..., x_m) with x_1 the most significant, so binding x_1 = r folds the two
halves of the vector: ``v = v[:n/2] + r * (v[n/2:] - v[:n/2])``.

Points are sequences of Python ints (reduced mod r here); vectors are ``field.FR`` arrays.
Everything is deterministic: nothing in this module draws randomness.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import field

P = field.MODULUS


def eq_table(point: Sequence[int]) -> np.ndarray:
    """The 2^m values eq(i, point) for i in [0, 2^m), m = len(point).

    Entry i is prod_k (x_k r_k + (1 - x_k)(1 - r_k)) with x_1 the top bit of i. Built by
    doubling in place: coordinates are taken last-first so that each new one becomes the
    top bit, which makes the two halves contiguous (low half times 1 - r, high half
    times r) and costs one multiplication and one subtraction per entry overall.
    """
    m = len(point)
    out = field.zeros(1 << m)
    out[:1] = field.const(1)
    size = 1
    for r in reversed(point):
        low, high = out[:size], out[size : 2 * size]
        np.multiply(low, field.const(r), out=high)
        np.subtract(low, high, out=low)
        size *= 2
    return out


def eq_eval(a: Sequence[int], b: Sequence[int]) -> int:
    """eq(a, b) = prod_k (a_k b_k + (1 - a_k)(1 - b_k)) for two points of equal length."""
    if len(a) != len(b):
        raise ValueError(f"eq of points of different lengths ({len(a)} and {len(b)})")
    acc = 1
    for x, y in zip(a, b, strict=True):
        acc = acc * (x * y + (1 - x) * (1 - y)) % P
    return acc


def fold(vec: np.ndarray, r: int) -> np.ndarray:
    """Bind the first (most significant) variable to r: length 2^k -> 2^(k-1)."""
    n = len(vec)
    if n < 2 or n & (n - 1):
        raise ValueError(f"fold needs a power-of-two length >= 2, got {n}")
    half = n // 2
    low, high = vec[:half], vec[half:]
    return low + (high - low) * field.const(r)


def fold_low(vec: np.ndarray, r: int) -> np.ndarray:
    """Bind the last (least significant) variable to r: pairs of neighbours fold together,
    ``v[0::2] + r·(v[1::2] − v[0::2])``. Binding the low variables first keeps a vector's
    non-zero prefix a prefix, and the bound point is the reverse of the challenges."""
    n = len(vec)
    if n < 2 or n & (n - 1):
        raise ValueError(f"fold needs a power-of-two length >= 2, got {n}")
    low = vec[0::2]
    return low + (vec[1::2] - low) * field.const(r)


def evaluate(vec: np.ndarray, point: Sequence[int]) -> int:
    """The multilinear extension of vec at point, as a canonical int.

    A vector shorter than 2^len(point) is treated as zero-padded to that length (the
    public half of z, (1, io, 0, ...), is evaluated this way without materialising
    the zeros); a longer one is an error. Folding x_1 first, each step halves the work.
    """
    n, m = len(vec), len(point)
    if n > 1 << m:
        raise ValueError(f"a vector of length {n} has no MLE over {m} variables")
    if n == 0:
        return 0
    v = vec
    for k, r in enumerate(point):
        half = 1 << (m - k - 1)
        if len(v) == 2 * half:
            v = fold(v, r)
        elif len(v) <= half:
            # The whole high half is padding: every entry is scaled by (1 - r).
            v = v * field.const(1 - r)
        else:
            # Partially padded high half: low*(1 - r) everywhere, plus high*r where it exists.
            low, high = v[:half], v[half:]
            v = low * field.const(1 - r)
            v[: len(high)] += high * field.const(r)
    return int(v[0])


class EqSplit:
    """eq(i, point) at arbitrary index arrays, without the 2^m-entry table.

    eq factors over the bits, so with i = (hi, lo) split at h low bits,
    eq(i, point) = eq(hi, point[:m-h]) * eq(lo, point[m-h:]): two tables of about
    2^(m/2) entries each, which stay in cache, and one multiplication per lookup.
    """

    def __init__(self, point: Sequence[int]):
        m = len(point)
        self.num_vars = m
        self.low_bits = m // 2
        self._mask = (1 << self.low_bits) - 1
        self._high = eq_table(point[: m - self.low_bits])
        self._low = eq_table(point[m - self.low_bits :])

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        return self._high.take(idx >> self.low_bits) * self._low.take(idx & self._mask)


def bits_of(value: int, n: int) -> list[int]:
    """The n-bit big-endian binary digits of value, as a point."""
    return [(value >> (n - 1 - i)) & 1 for i in range(n)]


def eq_int(point: Sequence[int], value: int) -> int:
    """eq(point, bits of value): the multilinear extension of the indicator of one index."""
    return eq_eval(point, bits_of(value, len(point)))


def prefix_sum(point: Sequence[int], length: int) -> int:
    """Σ_{i < length} eq(point, i): the MLE of the indicator of [0, length) at point.

    For each bit of ``length`` that is set, the indices that agree with ``length`` above it
    and have a 0 there form a sub-cube whose eq values sum to the eq of the fixed bits."""
    m = len(point)
    if length >= 1 << m:
        return 1 if length == 1 << m else 0
    if length <= 0:
        return 0
    total = 0
    prefix = 1  # eq of the bits above the current position with those of length
    for i, r in enumerate(point):
        bit = (length >> (m - 1 - i)) & 1
        if bit:
            total += prefix * (1 - r)
            prefix = prefix * r % P
        else:
            prefix = prefix * (1 - r) % P
    return total % P


def reverse(challenges: Sequence[int]) -> list[int]:
    """Challenges binding the lowest variable first, as a big-endian point."""
    return list(challenges)[::-1]
