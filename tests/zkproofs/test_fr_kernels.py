"""The C field kernels give exactly what the numpy expressions they replace give, on
random vectors, strided views and edge values (0, 1, r − 1)."""

from __future__ import annotations

import numpy as np
import pytest

from zkproofs import field, fr_kernels

R = field.MODULUS


def test_the_extension_is_built():
    """`make venv` builds it (pip install -e .); without it the provers fall back to numpy
    and every comparison below would compare numpy with itself."""
    assert fr_kernels.available()


def _random(rng, n):
    v = [int(x) for x in rng.integers(0, 2**62, n)]
    v = [(x * 0x9E3779B97F4A7C15 ** 3 + i) % R for i, x in enumerate(v)]
    if n >= 3:
        v[:3] = [0, 1, R - 1]
    return field.vec(v)


def _numpy():
    saved = fr_kernels._c
    fr_kernels._c = None
    return saved


@pytest.mark.parametrize("ones", [True, False])
@pytest.mark.parametrize("m", [1, 2, 7, 64])
def test_step_sums(ones, m):
    rng = np.random.default_rng(m)
    w = _random(rng, m)
    big = [_random(rng, 4 * m) for _ in range(4)]
    arrays = [a[0::2] for a in big]  # strided, as the GKR's children are
    p0, p1, q0, q1 = arrays
    if ones:
        p0 = p1 = None
    lam = 0x1234567890ABCDEF
    fast = fr_kernels.step_sums(w, p0, p1, q0, q1, lam)
    saved = _numpy()
    try:
        slow = fr_kernels.step_sums(w, p0, p1, q0, q1, lam)
    finally:
        fr_kernels._c = saved
    assert fast == slow


@pytest.mark.parametrize("m", [1, 5, 33])
def test_fold_and_pair_up(m):
    rng = np.random.default_rng(100 + m)
    a = _random(rng, 4 * m)[1::2]  # strided
    p = _random(rng, 2 * m)
    r = R - 12345
    fast = [fr_kernels.fold(a, r), *fr_kernels.pair_up(p, a), *fr_kernels.pair_up(None, a)]
    saved = _numpy()
    try:
        slow = [fr_kernels.fold(a, r), *fr_kernels.pair_up(p, a), *fr_kernels.pair_up(None, a)]
    finally:
        fr_kernels._c = saved
    for x, y in zip(fast, slow, strict=True):
        assert field.to_ints(x) == field.to_ints(y)


def test_a_read_only_output_or_a_short_input_is_refused():
    a = field.vec([1, 2, 3, 4])
    with pytest.raises(ValueError):
        fr_kernels.step_sums(field.vec([1, 2, 3]), None, None, a, a, 1)
    ro = field.vec([1, 2])
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fr_kernels._addr(ro, 2, writable=True)


_PROVE = """
import hashlib, sys
sys.path.insert(0, {root!r})
from tests.zkproofs.layered_helpers import make_case, mlp
writer, _ = make_case(5, mlp(6, [5], 3), 40).prove()
print(hashlib.sha256(writer.bytes()).hexdigest())
"""


def test_a_proof_is_the_same_bytes_with_and_without_the_kernels():
    import hashlib
    import os
    import subprocess
    import sys
    from pathlib import Path

    from .layered_helpers import make_case, mlp

    root = str(Path(__file__).resolve().parents[2])
    writer, _ = make_case(5, mlp(6, [5], 3), 40).prove()
    out = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-c", _PROVE.format(root=root)], capture_output=True, text=True,
        env={**os.environ, "ZKARENA_NO_KERNELS": "1"}, check=True, cwd=root,
    )
    assert out.stdout.strip() == hashlib.sha256(writer.bytes()).hexdigest()


def test_long_vectors_split_across_threads_give_the_same_results(monkeypatch):
    rng = np.random.default_rng(9)
    m = 3 * fr_kernels._SPLIT + 5
    w = _random(rng, m)
    q0, q1, p0, p1 = (_random(rng, 2 * m) for _ in range(4))
    monkeypatch.setattr(fr_kernels, "THREADS", 1)
    one = (fr_kernels.step_sums(w, p0, p1, q0, q1, 7), field.to_ints(fr_kernels.fold(q0, 11)),
           [field.to_ints(a) for a in fr_kernels.pair_up(p0, q1)])
    monkeypatch.setattr(fr_kernels, "THREADS", 3)
    assert len(fr_kernels._chunks(m)) == 3
    three = (fr_kernels.step_sums(w, p0, p1, q0, q1, 7), field.to_ints(fr_kernels.fold(q0, 11)),
             [field.to_ints(a) for a in fr_kernels.pair_up(p0, q1)])
    assert one == three


@pytest.mark.parametrize("k", [1, 2, 3])
def test_encode(k):
    rng = np.random.default_rng(k)
    cols = [rng.integers(-(2**62), 2**62, 3000), rng.integers(0, 3, 3000),
            rng.integers(-5, 5, 3000)][:k]
    cols[0][:2] = [0, -(2**62)]
    coeffs = [3, R - 1, 2**200 + 1][:k]
    fast = fr_kernels.encode(R - 7, cols, coeffs)
    saved = _numpy()
    try:
        slow = fr_kernels.encode(R - 7, cols, coeffs)
    finally:
        fr_kernels._c = saved
    assert field.to_ints(fast) == field.to_ints(slow)
