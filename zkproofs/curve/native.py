"""The native group backend: py-arkworks-bls12381 (arkworks, compiled Rust).

Points are ``G1Point`` objects. Almost all of the prover's time goes into ``msm``, so it
prepares scalars carefully before handing them to arkworks' multi-exponentiation:

- field vectors are converted to canonical bytes without zk-dtypes' slow dtype cast;
- zero scalars are dropped (arkworks spends about a microsecond per point just taking the
  list, and witness vectors are full of zeros);
- a small negative scalar r − k is sent as k·(−P): arkworks' MSM is several times faster
  on short scalars, and quantized ML values are small signed integers;
- when every scalar has at most 8 bits (bits of a decomposition, quantized values) the
  points are summed into buckets here: one Python-level addition per point is cheaper
  than arkworks' per-point overhead.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence

import numpy as np
from py_arkworks_bls12381 import G1Point, Scalar

from .. import field
from .base import POINT_BYTES, PointDecodeError

_R = field.MODULUS
_SCALAR_BYTES = field.SCALAR_BYTES
_MAX_DST = 255

# A scalar above this is −k for some k < 2^64 and is sent as k·(−P).
_SMALL_NEGATIVE = _R - 2**64

# Scalars this short are bucketed in Python (measured on 2^16 points: 0/1 scalars 61 ms
# against 172 ms in arkworks' MSM, 8-bit 74 against 104 ms).
_BUCKET_MAX_BITS = 8

_IDENTITY = G1Point.identity()


def _scalar(k: int) -> Scalar:
    # Scalar(int) takes ~6 µs for a 255-bit int; the byte route takes ~0.3 µs.
    return Scalar.from_le_bytes((k % _R).to_bytes(_SCALAR_BYTES, "little"))


# zk-dtypes stores an FR element x as x·2^256 mod r (Montgomery form). Multiplying by
# 2^-256 leaves x itself in storage, so tobytes() yields canonical little-endian scalars
# about 15 times faster than field.encode_vec's dtype cast. The probe below confirms the
# layout at import; if zk-dtypes ever changes it we fall back to encode_vec.
_MONT_INV = field.const(pow(2**256, -1, _R))


def _canonical_bytes_via_mont(v: np.ndarray) -> bytes:
    return np.ascontiguousarray(v * _MONT_INV).tobytes()


def _mont_layout_holds() -> bool:
    probe = field.vec([0, 1, 2, 2**64 - 1, 2**64, 2**200 + 12345, _R - 2, _R - 1])
    return _canonical_bytes_via_mont(probe) == field.encode_vec(probe)


_canonical_bytes = _canonical_bytes_via_mont if _mont_layout_holds() else field.encode_vec


def _limbs(raw: bytes) -> np.ndarray:
    """Canonical 32-byte scalars as rows of four little-endian 64-bit limbs."""
    return np.frombuffer(raw, dtype="<u8").reshape(-1, 4)


def _vector_magnitudes(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(limbs of each scalar or of its negation, which ones were negated) for an FR vector."""
    pos = _limbs(_canonical_bytes(v))
    wide = pos[:, 1:].any(axis=1)
    if not wide.any():
        return pos, wide
    # zk-dtypes' unary minus goes through Python objects (~0.7 µs each); 0 − v does not.
    neg = _limbs(_canonical_bytes(field.zeros(len(v)) - v))
    # r − k with k < 2^64: the negation fits in the lowest limb and the value does not.
    negate = wide & ~neg[:, 1:].any(axis=1)
    return np.where(negate[:, None], neg, pos), negate


def _int_magnitudes(scalars: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The same for Python ints, which must already lie in [0, r)."""
    negate = np.zeros(len(scalars), dtype=bool)
    chunks = []
    for i, s in enumerate(scalars):
        s = operator.index(s)
        if not 0 <= s < _R:
            raise ValueError("msm scalars must lie in [0, r)")
        if s > _SMALL_NEGATIVE:
            s = _R - s
            negate[i] = True
        chunks.append(s.to_bytes(_SCALAR_BYTES, "little"))
    return _limbs(b"".join(chunks)), negate


def _bucket_sum(pts: list[G1Point], digits: list[int], bits: int) -> G1Point:
    """Σ dᵢ·Pᵢ for 0 < dᵢ < 2^bits: one addition per point plus 2·2^bits to combine."""
    buckets: list[G1Point | None] = [None] * (1 << bits)
    for p, d in zip(pts, digits, strict=True):
        bucket = buckets[d]
        buckets[d] = p if bucket is None else bucket + p
    # Running sums from the top: bucket d ends up added into the total d times.
    running = total = _IDENTITY
    for bucket in reversed(buckets[1:]):
        if bucket is not None:
            running = running + bucket
        total = total + running
    return total


_H_TABLES: dict[bytes, object] = {}
# Row commitments of large batches run on this many forked processes (the machines this
# project targets have two cores; arkworks' MSM holds the GIL). ZKARENA_COMMIT_WORKERS
# overrides it; 1 keeps everything in this process.
COMMIT_WORKERS = int(os.environ.get("ZKARENA_COMMIT_WORKERS", "2"))
_PARALLEL_ENTRIES = 1 << 17
_JOB = None
_SCALAR_TABLE: np.ndarray | None = None
_BASES: dict[int, tuple] = {}


def _object_array(items) -> np.ndarray:
    items = list(items)
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def _bases(G) -> tuple[np.ndarray, np.ndarray]:
    found = _BASES.get(id(G))
    if found is None or found[0] is not G:
        found = _BASES[id(G)] = (G, _object_array(G), _object_array(-p for p in G))
    return found[1], found[2]


def _scalar_table() -> np.ndarray:
    global _SCALAR_TABLE
    if _SCALAR_TABLE is None:
        _SCALAR_TABLE = _object_array(_scalar(v) for v in range(1 << 16))
    return _SCALAR_TABLE


def _commit_row(G, pos, neg, table, row, blind) -> G1Point:
    idx = np.flatnonzero(row)
    acc = table.mul(blind)
    if not idx.size:
        return acc
    vals = row[idx]
    negative = vals < 0
    mags = np.abs(vals)
    pts = np.where(negative, neg[idx], pos[idx]).tolist()
    top = int(mags.max())
    bits = top.bit_length()
    if bits <= _BUCKET_MAX_BITS and 4 << bits <= len(pts):
        return acc + _bucket_sum(pts, mags.tolist(), bits)
    if top < 1 << 16:
        ks = _scalar_table()[mags].tolist()
    else:
        ks = [_scalar(int(m)) for m in mags.tolist()]
    return acc + G1Point.multiexp_unchecked(pts, ks)


def _commit_rows_local(m: int, start: int, stop: int) -> list[G1Point]:
    from ..commitments.pedersen import FixedBase

    G, H, mats, blinds = _JOB
    key = H.to_compressed_bytes()
    table = _H_TABLES.get(key)
    if table is None:
        table = _H_TABLES[key] = FixedBase(NativeBackend(), H)
    pos, neg = _bases(G)
    rows = mats[m]
    return [_commit_row(G, pos, neg, table, rows[i], blinds[m][i]) for i in range(start, stop)]


def _commit_task(task) -> list[bytes]:
    """In a forked worker: the points as affine coordinates (the identity as b"")."""
    return [b"" if p == _IDENTITY else p.to_xy_bytes_le() for p in _commit_rows_local(*task)]
_NEGATED: dict[int, tuple] = {}
def _check_dst(dst: bytes) -> None:
    # RFC 9380: tags are non-empty, and longer than 255 bytes needs a different rule
    # that py_ecc does not implement; refuse both so the backends cannot disagree.
    if not 0 < len(dst) <= _MAX_DST:
        raise ValueError(f"hash-to-curve DST must be 1 to {_MAX_DST} bytes")


class NativeBackend:
    name = "native"

    def identity(self) -> G1Point:
        return _IDENTITY

    def hash_to_curve(self, msg: bytes, dst: bytes) -> G1Point:
        dst = bytes(dst)
        _check_dst(dst)
        return G1Point.hash_to_curve(bytes(msg), dst)

    def add(self, a: G1Point, b: G1Point) -> G1Point:
        return a + b

    def sub(self, a: G1Point, b: G1Point) -> G1Point:
        return a - b

    def neg(self, a: G1Point) -> G1Point:
        return -a

    def mul(self, a: G1Point, k: int) -> G1Point:
        return a * _scalar(operator.index(k))

    def msm(self, points: Sequence[G1Point], scalars: Sequence[int] | np.ndarray) -> G1Point:
        n = len(points)
        if len(scalars) != n:
            raise ValueError(f"msm of {n} points with {len(scalars)} scalars")
        if n == 0:
            return _IDENTITY
        if isinstance(scalars, np.ndarray):
            limbs, negate = _vector_magnitudes(field.vec(scalars))
        else:
            limbs, negate = _int_magnitudes(scalars)

        live = np.flatnonzero(limbs.any(axis=1))
        if live.size == 0:
            return _IDENTITY
        limbs = limbs[live]
        flip = negate[live].tolist()
        pts = [-points[i] if f else points[i] for i, f in zip(live.tolist(), flip, strict=True)]

        if not limbs[:, 1:].any():
            low = limbs[:, 0]
            bits = int(low.max()).bit_length()
            # Worth it while the 2·2^bits additions that combine the buckets stay few.
            if bits <= _BUCKET_MAX_BITS and 4 << bits <= len(pts):
                return _bucket_sum(pts, low.tolist(), bits)
        raw = limbs.tobytes()
        from_le = Scalar.from_le_bytes
        ks = [from_le(raw[j : j + _SCALAR_BYTES]) for j in range(0, len(raw), _SCALAR_BYTES)]
        return G1Point.multiexp_unchecked(pts, ks)

    def commit_int_rows(self, G, H, rows: np.ndarray, blinds) -> list[G1Point]:
        """Σ_j rows[i, j]·G_j + blinds[i]·H for each row of an int64 matrix.

        The fast path of Hyrax commitments to small signed integers: zeros are skipped,
        negative values use negated bases, rows of ≤ 8-bit magnitudes are summed in Python
        buckets, other rows go to arkworks with cached Scalar objects, and the blind is
        added from a fixed-base table of H (32 additions instead of a scalar
        multiplication). Equal to ``msm(G + [H], row + [blind])`` for every row. Large
        batches are split across worker processes (see ``commit_int_rows_many``).
        """
        return self.commit_int_rows_many(G, H, [rows], [blinds])[0]

    def commit_int_rows_many(self, G, H, matrices, blind_lists) -> list[list[G1Point]]:
        """``commit_int_rows`` for several matrices at once, on up to ``COMMIT_WORKERS``
        forked processes when the work is large enough to pay for them."""
        global _JOB
        mats = []
        for rows, blinds in zip(matrices, blind_lists, strict=True):
            rows = np.asarray(rows, dtype=np.int64)
            if rows.ndim != 2 or rows.shape[1] > len(G) or len(rows) != len(blinds):
                raise ValueError("commit_int_rows: rows must be (n, ≤ len(G)), one blind each")
            if rows.size and int(np.abs(rows).max()) >= 1 << 62:
                raise ValueError("commit_int_rows: values must stay below 2^62 in magnitude")
            mats.append(rows)
        _JOB = (G, H, mats, [list(b) for b in blind_lists])
        tasks = []
        for m, rows in enumerate(mats):
            step = max(1, min(len(rows), 64))
            tasks += [(m, s, min(s + step, len(rows))) for s in range(0, len(rows), step)]
        work = sum(int(np.count_nonzero(rows)) for rows in mats)
        workers = min(COMMIT_WORKERS, os.cpu_count() or 1)
        try:
            if workers > 1 and work >= _PARALLEL_ENTRIES and len(tasks) > 1:
                import multiprocessing

                ctx = multiprocessing.get_context("fork")
                with ctx.Pool(workers) as pool:
                    chunks = pool.map(_commit_task, tasks, chunksize=1)
                results = [[_IDENTITY if len(b) != 96 else G1Point.from_xy_bytes_unchecked_le(b)
                            for b in chunk] for chunk in chunks]
            else:
                results = [_commit_rows_local(*task) for task in tasks]
        finally:
            _JOB = None
        out: list[list[G1Point]] = [[] for _ in mats]
        for (m, _, _), pts in zip(tasks, results, strict=True):
            out[m].extend(pts)
        return out

    def eq(self, a: G1Point, b: G1Point) -> bool:
        return a == b

    def is_identity(self, a: G1Point) -> bool:
        return a == _IDENTITY

    def encode(self, a: G1Point) -> bytes:
        return a.to_compressed_bytes()

    def to_affine_bytes(self, a: G1Point) -> bytes:
        return a.to_xy_bytes_le()

    def from_affine_bytes_trusted(self, data: bytes) -> G1Point:
        return G1Point.from_xy_bytes_unchecked_le(bytes(data))

    def decode(self, data: bytes) -> G1Point:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("decode takes bytes")
        data = bytes(data)
        if len(data) != POINT_BYTES:
            raise PointDecodeError(f"a G1 point is {POINT_BYTES} bytes, got {len(data)}")
        try:
            # Checked: on the curve and in the prime-order subgroup.
            point = G1Point.from_compressed_bytes(data)
        except Exception as exc:  # the binding raises bare ValueErrors with Rust messages
            raise PointDecodeError(f"invalid G1 point encoding: {exc}") from None
        # arkworks accepts aliases, e.g. any bytes with the infinity flag set decode to the
        # identity; only the canonical encoding of a point is accepted here.
        if point.to_compressed_bytes() != data:
            raise PointDecodeError("non-canonical G1 point encoding")
        return point
