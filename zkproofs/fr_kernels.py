"""Fused field kernels for the provers' hot loops (the C extension ``zkproofs._frkernels``),
with the numpy expressions they replace as the fallback and the reference.

Each function takes zk-dtypes field arrays (1-D, any stride) and checks dtypes, lengths and
writability before handing their addresses to C; the results are bit-identical to numpy's
(tests/zkproofs/test_fr_kernels.py compares both on random data). ``ZKARENA_NO_KERNELS=1``
turns the extension off, e.g. to compare timings. The kernels release the GIL: long
vectors are split between ``ZKARENA_KERNEL_THREADS`` threads (default: up to two, the
cores this project targets), each summing or writing its own contiguous range; sums are
added in a fixed order, so the results do not depend on the split.
"""

from __future__ import annotations

import os

import numpy as np

from . import field

try:
    if os.environ.get("ZKARENA_NO_KERNELS"):
        raise ImportError("turned off by ZKARENA_NO_KERNELS")
    from . import _frkernels as _c
except ImportError:  # a source checkout that was not built, or turned off
    _c = None

FR = field.FR
THREADS = max(1, int(os.environ.get("ZKARENA_KERNEL_THREADS",
                                    str(min(2, os.cpu_count() or 1)))))
_SPLIT = 1 << 14  # pairs below this stay on one thread
_POOL = None


def _chunks(m: int) -> list[tuple[int, int]]:
    if THREADS < 2 or m < _SPLIT:
        return [(0, m)]
    step = -(-m // THREADS)
    return [(i, min(i + step, m)) for i in range(0, m, step)]


def _run(calls):
    """Run the kernel calls (callables) on the thread pool; results in order."""
    global _POOL
    if len(calls) == 1:
        return [calls[0]()]
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="zkarena-kernel")
    return [f.result() for f in [_POOL.submit(c) for c in calls]]
R = field.MODULUS
_TO_INT = pow(2, -256, R)  # Montgomery form → value
_FROM_INT = pow(2, 256, R)


def available() -> bool:
    return _c is not None and field.MONT_LAYOUT


def _addr(a: np.ndarray, length: int, *, writable: bool = False) -> tuple[int, int]:
    if a.dtype != FR or a.ndim != 1 or len(a) < length:
        raise ValueError("a kernel takes 1-D field arrays of the right length")
    if writable and not a.flags.writeable:
        raise ValueError("the output array is read-only")
    return a.__array_interface__["data"][0], a.strides[0]


def _mont(x: int) -> bytes:
    return (x % R * _FROM_INT % R).to_bytes(32, "little")


def _value(b: bytes) -> int:
    return int.from_bytes(b, "little") * _TO_INT % R


def step_sums(w, p0, p1, q0, q1, lam: int) -> tuple[int, int]:
    """(Σ w·(λ·Q0·Q1 + P0·Q1 + P1·Q0) at X = 0, Σ w·(its X² coefficient)) over the pairs
    (2i, 2i + 1) of the children, i < len(w); P None means all ones."""
    m = len(w)
    if not available():
        return _step_sums_numpy(w, p0, p1, q0, q1, lam)
    ws = _addr(w, m)
    a0, a1 = _addr(q0, 2 * m), _addr(q1, 2 * m)
    b0 = b1 = (0, 0)
    if p0 is not None:
        b0, b1 = _addr(p0, 2 * m), _addr(p1, 2 * m)
    lam_b = _mont(lam)

    def call(lo, hi):
        def at(a, k):  # the address of element k (0 stays 0: P = ones)
            return (a[0] + k * a[1] if a[0] else 0, a[1])

        return lambda: _c.step_sums(hi - lo, *at(ws, lo), *at(b0, 2 * lo), *at(b1, 2 * lo),
                                    *at(a0, 2 * lo), *at(a1, 2 * lo), lam_b)

    t0 = tinf = 0
    for x, y in _run([call(lo, hi) for lo, hi in _chunks(m)]):
        t0 += _value(x)
        tinf += _value(y)
    return t0 % R, tinf % R


def _step_sums_numpy(w, p0, p1, q0, q1, lam: int) -> tuple[int, int]:
    m = len(w)
    lam_c = field.const(lam)
    e = [None if a is None else a[0 : 2 * m : 2] for a in (p0, p1, q0, q1)]
    o = [None if a is None else a[1 : 2 * m : 2] for a in (p0, p1, q0, q1)]
    g0 = e[2] * e[3] * lam_c
    g0 = g0 + e[2] + e[3] if p0 is None else g0 + e[0] * e[3] + e[1] * e[2]
    dq0, dq1 = o[2] - e[2], o[3] - e[3]
    ginf = dq0 * dq1 * lam_c
    if p0 is not None:
        ginf = ginf + (o[0] - e[0]) * dq1 + (o[1] - e[1]) * dq0
    return field.dot(w, g0), field.dot(w, ginf)


def fold(a: np.ndarray, r: int) -> np.ndarray:
    """a[2i] + r·(a[2i+1] − a[2i]): bind the lowest variable (len(a) even)."""
    m = len(a) // 2
    if not available():
        return a[0::2] + (a[1::2] - a[0::2]) * field.const(r)
    out = np.empty(m, dtype=FR)
    (pa, sa), (po, so) = _addr(a, 2 * m), _addr(out, m, writable=True)
    rb = _mont(r)
    _run([(lambda lo=lo, hi=hi: _c.fold(hi - lo, pa + 2 * lo * sa, sa, po + lo * so, so, rb))
          for lo, hi in _chunks(m)])
    return out


def pair_up(p: np.ndarray | None, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The next layer of fractions: (p0·q1 + p1·q0, q0·q1) over neighbours, p None = ones."""
    m = len(q) // 2
    if not available():
        q0, q1 = q[0::2], q[1::2]
        return (q0 + q1 if p is None else p[0::2] * q1 + p[1::2] * q0), q0 * q1
    out_p, out_q = np.empty(m, dtype=FR), np.empty(m, dtype=FR)
    pa = (0, 0) if p is None else _addr(p, 2 * m)
    qa = _addr(q, 2 * m)
    opa, oqa = _addr(out_p, m, writable=True), _addr(out_q, m, writable=True)

    def call(lo, hi):
        pp = (pa[0] + 2 * lo * pa[1] if pa[0] else 0, pa[1])
        return lambda: _c.pair_up(hi - lo, *pp, qa[0] + 2 * lo * qa[1], qa[1],
                                  opa[0] + lo * opa[1], opa[1], oqa[0] + lo * oqa[1], oqa[1])

    _run([call(lo, hi) for lo, hi in _chunks(m)])
    return out_p, out_q


def encode(constant: int, columns: list[np.ndarray], coeffs: list[int]) -> np.ndarray:
    """constant − Σ_t coeffs_t·columns_t as a field vector, from int64 columns (|v| < 2^63)
    of one length: the GKR's witness leaves α − (tag + Σ β^t·x_t) in one pass."""
    n = len(columns[0]) if columns else 0
    if not available() or not 1 <= len(columns) <= 3:
        out = field.zeros(n) + field.const(constant)
        for col, c in zip(columns, coeffs, strict=True):
            out = out - field.from_int64(col) * field.const(c)
        return out
    cols = [np.ascontiguousarray(c, dtype=np.int64) for c in columns]
    if any(len(c) != n for c in cols):
        raise ValueError("columns of different lengths")
    out = np.empty(n, dtype=FR)
    po, so = _addr(out, n, writable=True)
    scaled = [(c % R * pow(2, 512, R) % R).to_bytes(32, "little") for c in coeffs]
    cb = _mont(constant)
    k = len(cols)

    def call(lo, hi):
        args = []
        for t in range(3):
            if t < k:
                args += [cols[t].__array_interface__["data"][0] + 8 * lo, scaled[t]]
            else:
                args += [0, bytes(32)]
        return lambda: _c.encode(hi - lo, cb, k, *args, po + lo * so, so)

    _run([call(lo, hi) for lo, hi in _chunks(n)])
    return out
