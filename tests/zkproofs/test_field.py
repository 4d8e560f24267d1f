"""zk-dtypes' Fr arithmetic is trusted only as far as these tests check it against Python ints."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkproofs import field

R = field.MODULUS
ints = st.integers(min_value=-(2**300), max_value=2**300)
elements = st.integers(min_value=0, max_value=R - 1)
edge = st.sampled_from([0, 1, 2, R - 1, R - 2, R // 2, R // 2 + 1, 2**64 - 1, 2**64, 2**254])
scalars = st.one_of(elements, edge)


@settings(max_examples=60, deadline=None)
@given(st.lists(scalars, min_size=1, max_size=40), st.data())
def test_vector_arithmetic_matches_python_ints(xs, data):
    ys = data.draw(st.lists(scalars, min_size=len(xs), max_size=len(xs)))
    a, b = field.vec(xs), field.vec(ys)
    assert field.to_ints(a + b) == [(x + y) % R for x, y in zip(xs, ys, strict=True)]
    assert field.to_ints(a - b) == [(x - y) % R for x, y in zip(xs, ys, strict=True)]
    assert field.to_ints(a * b) == [(x * y) % R for x, y in zip(xs, ys, strict=True)]
    assert field.to_ints(-a) == [(-x) % R for x in xs]
    assert field.total(a) == sum(xs) % R
    assert field.dot(a, b) == sum(x * y for x, y in zip(xs, ys, strict=True)) % R


@settings(max_examples=60, deadline=None)
@given(st.lists(ints, max_size=30))
def test_vec_reduces_any_integer(xs):
    assert field.to_ints(field.vec(xs)) == [x % R for x in xs]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=30))
def test_int64_arrays_convert_with_sign(xs):
    import numpy as np

    assert field.to_ints(field.vec(np.array(xs, dtype=np.int64))) == [x % R for x in xs]


@settings(max_examples=40, deadline=None)
@given(scalars, scalars)
def test_broadcast_scale(x, c):
    assert field.to_ints(field.scale(field.vec([x, 1, 0]), c)) == [x * c % R, c % R, 0]


@settings(max_examples=30, deadline=None)
@given(st.lists(elements.filter(lambda v: v != 0), min_size=1, max_size=20))
def test_batch_inverse(xs):
    assert field.to_ints(field.batch_inverse(field.vec(xs))) == [pow(x, -1, R) for x in xs]


def test_batch_inverse_refuses_zero():
    with pytest.raises(ZeroDivisionError):
        field.batch_inverse(field.vec([1, 0]))


@settings(max_examples=40, deadline=None)
@given(scalars)
def test_scalar_encoding_round_trip(x):
    enc = field.encode_scalar(x)
    assert len(enc) == 32 and field.decode_scalar(enc) == x
    assert field.decode_vec(field.encode_vec(field.vec([x, 0])), 2).tolist() is not None
    assert field.to_ints(field.decode_vec(field.encode_vec(field.vec([x, 7])), 2)) == [x, 7]


@pytest.mark.parametrize("value", [R, R + 1, 2**256 - 1])
def test_decode_rejects_non_canonical(value):
    with pytest.raises(field.ScalarDecodeError):
        field.decode_scalar(value.to_bytes(32, "little"))
    with pytest.raises(field.ScalarDecodeError):
        field.decode_vec(b"\x00" * 32 + value.to_bytes(32, "little"), 2)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_decode_rejects_wrong_length(length):
    with pytest.raises(field.ScalarDecodeError):
        field.decode_scalar(b"\x01" * length)


def test_encoding_is_little_endian():
    assert field.encode_scalar(1) == b"\x01" + b"\x00" * 31
    assert field.encode_vec(field.vec([1])) == field.encode_scalar(1)


def test_signed_representative():
    assert field.signed(R - 5) == -5
    assert field.signed(5) == 5
