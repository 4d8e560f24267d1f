"""Multilinear extensions: eq tables, folding and evaluation against brute-force sums."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs import field, mle

P = field.MODULUS


def scalars(tag: str, n: int) -> list[int]:
    """Deterministic pseudo-random field elements (no `random` anywhere)."""
    return [
        int.from_bytes(hashlib.sha256(f"{tag}/{i}".encode()).digest(), "little") % P
        for i in range(n)
    ]


def bits(i: int, m: int) -> list[int]:
    """Big-endian bits of i: x_1 is the most significant."""
    return [(i >> (m - 1 - k)) & 1 for k in range(m)]


def eq_direct(i: int, point: list[int]) -> int:
    acc = 1
    for x, r in zip(bits(i, len(point)), point, strict=True):
        acc = acc * (r if x else 1 - r) % P
    return acc


def mle_brute(values: list[int], point: list[int]) -> int:
    return sum(v * eq_direct(i, point) for i, v in enumerate(values)) % P


@pytest.mark.parametrize("m", range(0, 7))
def test_eq_table_matches_product_formula(m):
    point = scalars(f"eq{m}", m)
    table = field.to_ints(mle.eq_table(point))
    assert len(table) == 1 << m
    assert table == [eq_direct(i, point) for i in range(1 << m)]


def test_eq_table_is_big_endian():
    # With r = (1, 0, 0) only index 0b100 = 4 survives: x_1 is the top bit.
    assert field.to_ints(mle.eq_table([1, 0, 0])) == [0, 0, 0, 0, 1, 0, 0, 0]
    assert field.to_ints(mle.eq_table([0, 0, 1])) == [0, 1, 0, 0, 0, 0, 0, 0]


def test_eq_table_sums_to_one():
    assert field.total(mle.eq_table(scalars("sum", 8))) == 1


@pytest.mark.parametrize("m", [0, 1, 2, 5, 8])
def test_eq_split_matches_the_full_table(m):
    point = scalars(f"split{m}", m)
    split = mle.EqSplit(point)
    idx = np.arange(1 << m)[::-1]  # any order, repeats allowed
    idx = np.concatenate([idx, idx[:3]])
    table = field.to_ints(mle.eq_table(point))
    assert field.to_ints(split(idx)) == [table[i] for i in idx.tolist()]


def test_eq_eval():
    a, b = scalars("a", 5), scalars("b", 5)
    assert mle.eq_eval(a, b) == mle.eq_eval(b, a)
    # On a boolean first argument eq_eval is an entry of the eq table.
    table = field.to_ints(mle.eq_table(b))
    for i in (0, 7, 19, 31):
        assert mle.eq_eval(bits(i, 5), b) == table[i]
    # On two boolean points it is the indicator of equality.
    assert mle.eq_eval([1, 0, 1], [1, 0, 1]) == 1
    assert mle.eq_eval([1, 0, 1], [1, 1, 1]) == 0
    assert mle.eq_eval([], []) == 1
    with pytest.raises(ValueError):
        mle.eq_eval([1, 2], [1])


@pytest.mark.parametrize("m", range(0, 7))
def test_evaluate_matches_brute_force(m):
    values = scalars(f"v{m}", 1 << m)
    point = scalars(f"p{m}", m)
    assert mle.evaluate(field.vec(values), point) == mle_brute(values, point)


def test_evaluate_on_the_hypercube_reads_entries():
    values = scalars("cube", 16)
    v = field.vec(values)
    for i in range(16):
        assert mle.evaluate(v, bits(i, 4)) == values[i]


def test_evaluate_equals_dot_with_eq_table():
    values, point = scalars("dot-v", 64), scalars("dot-p", 6)
    assert mle.evaluate(field.vec(values), point) == field.dot(
        field.vec(values), mle.eq_table(point)
    )


def test_fold_binds_the_top_variable():
    values, point = scalars("fold-v", 32), scalars("fold-p", 5)
    v = field.vec(values)
    folded = mle.fold(v, point[0])
    assert len(folded) == 16
    expected = [
        (lo + point[0] * (hi - lo)) % P for lo, hi in zip(values[:16], values[16:], strict=True)
    ]
    assert field.to_ints(folded) == expected
    assert mle.evaluate(folded, point[1:]) == mle.evaluate(v, point)
    # Folding all the way down is evaluation.
    for r in point:
        v = mle.fold(v, r)
    assert field.to_ints(v) == [mle_brute(values, point)]


@pytest.mark.parametrize("n", [0, 1, 3, 5, 6, 7])
def test_fold_needs_power_of_two_length(n):
    with pytest.raises(ValueError):
        mle.fold(field.vec([1] * n), 3)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 13, 16, 31])
def test_evaluate_zero_pads_short_vectors(n):
    m = 5
    values = scalars(f"short{n}", n)
    point = scalars(f"short-p{n}", m)
    padded = values + [0] * ((1 << m) - n)
    assert mle.evaluate(field.vec(values), point) == mle_brute(padded, point)


def test_evaluate_rejects_long_vectors_and_handles_empty():
    with pytest.raises(ValueError):
        mle.evaluate(field.vec([1, 2, 3]), [5])
    assert mle.evaluate(field.zeros(0), [5, 6]) == 0
    assert mle.evaluate(field.vec([9]), []) == 9


def test_points_are_reduced_mod_r():
    values, point = scalars("red-v", 8), scalars("red-p", 3)
    shifted = [x + P for x in point[:2]] + [point[2] - P]
    v = field.vec(values)
    assert mle.evaluate(v, shifted) == mle.evaluate(v, point)
    assert field.to_ints(mle.eq_table(shifted)) == field.to_ints(mle.eq_table(point))
    assert mle.eq_eval(shifted, point) == mle.eq_eval(point, point)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(min_value=-(2**300), max_value=2**300), min_size=1, max_size=16),
    point=st.lists(st.integers(min_value=0, max_value=P - 1), min_size=4, max_size=4),
)
def test_evaluate_property(values, point):
    reduced = [v % P for v in values]
    padded = reduced + [0] * (16 - len(reduced))
    assert mle.evaluate(field.vec(values), point) == mle_brute(padded, point)
