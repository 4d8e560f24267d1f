"""The scalar field Fr of BLS12-381.

Scalars are Python ints in [0, r). Vectors are numpy arrays of the zk-dtypes
Montgomery-form dtype ``FR``, which gives vectorised ``+ - *`` and ``.sum()``.
zk-dtypes is property-tested against Python ints in ``tests/zkproofs/test_field.py``;
nothing here trusts it without those tests.

Encoding of a scalar: 32 bytes, little-endian, canonical (< r). Little-endian is the
order arkworks and zk-dtypes' canonical storage use, so vectors convert without
byte swapping.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import zk_dtypes

from .errors import FormatError

MODULUS = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
SCALAR_BYTES = 32

# Montgomery form for arithmetic; canonical ("std") form only to move bytes in and out.
FR = zk_dtypes.prime_field(MODULUS, "mont")
_FR_STD = zk_dtypes.prime_field(MODULUS, "std")


class ScalarDecodeError(FormatError):
    """Bytes that are not the canonical encoding of a field element."""


# ---------------------------------------------------------------- scalars (Python ints)


def reduce(x: int) -> int:
    return x % MODULUS


def inv(x: int) -> int:
    x %= MODULUS
    if x == 0:
        raise ZeroDivisionError("inverse of zero in Fr")
    return pow(x, MODULUS - 2, MODULUS)


def encode_scalar(x: int) -> bytes:
    if not 0 <= x < MODULUS:
        raise ValueError("scalar out of range; reduce it first")
    return x.to_bytes(SCALAR_BYTES, "little")


def decode_scalar(data: bytes) -> int:
    if len(data) != SCALAR_BYTES:
        raise ScalarDecodeError(f"a scalar is {SCALAR_BYTES} bytes, got {len(data)}")
    x = int.from_bytes(data, "little")
    if x >= MODULUS:
        raise ScalarDecodeError("non-canonical scalar (>= r)")
    return x


def encode_scalars(xs: Iterable[int]) -> bytes:
    return b"".join(encode_scalar(x) for x in xs)


def powers(x: int, n: int) -> list[int]:
    out = [1] * n
    for i in range(1, n):
        out[i] = out[i - 1] * x % MODULUS
    return out


def inner_ints(a: Sequence[int], b: Sequence[int]) -> int:
    if len(a) != len(b):
        raise ValueError("inner product of vectors of different lengths")
    return sum(x * y for x, y in zip(a, b, strict=True)) % MODULUS


def signed(x: int) -> int:
    """The representative of x in (-r/2, r/2]: how small signed values read back."""
    x %= MODULUS
    return x - MODULUS if x > MODULUS // 2 else x


# ---------------------------------------------------------------- vectors (numpy FR)


def vec(values: Iterable[int] | np.ndarray) -> np.ndarray:
    """A field vector from integers of any size or sign (reduced mod r)."""
    if isinstance(values, np.ndarray):
        if values.dtype == FR:
            return values
        if values.dtype.kind in "iub":
            return values.astype(np.int64).astype(FR)
    values = [int(v) % MODULUS for v in values]
    if not values:
        return np.zeros(0, dtype=FR)
    return np.array(values, dtype=object).astype(FR)


def zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=FR)


def const(x: int) -> np.ndarray:
    """A one-element vector; zk-dtypes broadcasts it (it has no free-standing scalars)."""
    return np.array([x % MODULUS], dtype=object).astype(FR)


def scale(v: np.ndarray, x: int) -> np.ndarray:
    return v * const(x)


def to_ints(v: np.ndarray) -> list[int]:
    """Canonical Python ints of a field vector."""
    raw = np.ascontiguousarray(v).astype(_FR_STD).tobytes()
    return [
        int.from_bytes(raw[i : i + SCALAR_BYTES], "little")
        for i in range(0, len(raw), SCALAR_BYTES)
    ]


def to_int(x) -> int:
    return int(x)


def total(v: np.ndarray) -> int:
    """Sum of a field vector as a canonical int."""
    if len(v) == 0:
        return 0
    return int(v.sum())


def dot(a: np.ndarray, b: np.ndarray) -> int:
    if a.shape != b.shape:
        raise ValueError("dot product of vectors of different shapes")
    return total(a * b)


def encode_vec(v: np.ndarray) -> bytes:
    """Concatenated canonical 32-byte little-endian encodings."""
    return np.ascontiguousarray(v).astype(_FR_STD).tobytes()


def decode_vec(data: bytes, n: int) -> np.ndarray:
    """Strictly decode n canonical scalars (rejects any element >= r)."""
    if len(data) != n * SCALAR_BYTES:
        raise ScalarDecodeError(f"expected {n} scalars ({n * SCALAR_BYTES} bytes), got {len(data)}")
    if n == 0:
        return zeros(0)
    limbs = np.frombuffer(bytes(data), dtype="<u8").reshape(n, 4)
    less = np.zeros(n, dtype=bool)
    equal = np.ones(n, dtype=bool)
    for i in (3, 2, 1, 0):  # lexicographic comparison with r, most significant limb first
        bound = np.uint64((MODULUS >> (64 * i)) & ((1 << 64) - 1))
        less |= equal & (limbs[:, i] < bound)
        equal &= limbs[:, i] == bound
    if not less.all():
        raise ScalarDecodeError(f"non-canonical scalar (>= r) at index {int(np.argmin(less))}")
    if not MONT_LAYOUT:
        step = SCALAR_BYTES
        raw = bytes(data)
        return vec([int.from_bytes(raw[i : i + step], "little") for i in range(0, len(raw), step)])
    out = np.array(limbs).view(FR).reshape(n)
    np.multiply(out, _MONT_R, out=out)
    return out


# ---------------------------------------------------------------- fast conversions

# zk-dtypes stores an FR element x as x·2^256 mod r (Montgomery form, four little-endian
# 64-bit limbs). So storage holding a canonical value s represents s·2^-256, and
# multiplying it by the element 2^256 gives s itself; multiplying an element by 2^-256
# leaves its canonical value in storage. These two facts make int64 → FR and FR →
# canonical limbs one field multiplication each instead of a per-element dtype cast
# (~250 ns). A probe at import checks the layout; if zk-dtypes ever changes it, the slow
# casts are used instead.
_MONT_R = const(pow(2, 256, MODULUS))
_MONT_R_INV = const(pow(2**256, -1, MODULUS))
_TWO_63 = const(2**63)


def _layout_probe() -> bool:
    probe = vec([0, 1, 2, 2**64 - 1, 2**64, 2**200 + 12345, MODULUS - 2, MODULUS - 1])
    raw = np.ascontiguousarray(probe * _MONT_R_INV).tobytes()
    return raw == encode_vec(probe)


MONT_LAYOUT = _layout_probe()


def from_int64(values) -> np.ndarray:
    """A field vector from an int64 array (any sign), about 40 ns per element."""
    x = np.ascontiguousarray(values, dtype=np.int64).reshape(-1)
    if not MONT_LAYOUT:
        return x.astype(FR)
    limbs = np.zeros((len(x), 4), dtype=np.uint64)
    limbs[:, 0] = x.view(np.uint64) ^ np.uint64(1 << 63)  # x + 2^63, in [0, 2^64)
    out = limbs.view(FR).reshape(len(x))
    np.multiply(out, _MONT_R, out=out)
    np.subtract(out, _TWO_63, out=out)
    return out


def canonical_limbs(v: np.ndarray) -> np.ndarray:
    """The canonical values of a field vector as an (n, 4) array of little-endian u64 limbs."""
    v = np.ascontiguousarray(v)
    raw = v * _MONT_R_INV if MONT_LAYOUT else v.astype(_FR_STD)
    return np.ascontiguousarray(raw).view(np.uint64).reshape(len(v), 4)


def to_small_int64(v: np.ndarray, bits: int = 62) -> np.ndarray | None:
    """The centred integers (−r/2, r/2) of a field vector as int64 when every one is below
    2^bits in magnitude, else None."""
    v = np.ascontiguousarray(v)
    pos = canonical_limbs(v)
    neg = canonical_limbs(zeros(len(v)) - v)
    limit = np.uint64(1 << bits)
    pos_ok = ~pos[:, 1:].any(axis=1) & (pos[:, 0] < limit)
    neg_ok = ~neg[:, 1:].any(axis=1) & (neg[:, 0] < limit)
    if not (pos_ok | neg_ok).all():
        return None
    return np.where(pos_ok, pos[:, 0].astype(np.int64), -neg[:, 0].astype(np.int64))


# Float64 sums of products stay exact below 2^53.
_EXACT = 1 << 53


def contract(matrix: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Σ_r matrix[r, c]·v[r] for an int64 matrix (R, C) and a field vector of length R.

    The field vector is split into sixteen 16-bit limbs and contracted with the integer
    matrix by float64 matrix products (BLAS), which are exact while every partial sum stays
    below 2^53; the limb results are recombined in the field. Rows are processed in chunks
    small enough for exactness, and a matrix with large entries is split into 16-bit limbs
    first. About 100 times faster than the same contraction in zk-dtypes arithmetic.
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or len(v) != m.shape[0]:
        raise ValueError(f"contract: matrix {m.shape} and vector of length {len(v)}")
    rows, cols = m.shape
    if rows == 0 or cols == 0:
        return zeros(cols)
    if m.dtype.kind not in "iub":
        raise TypeError(f"contract: an integer matrix is needed, got {m.dtype}")
    peak = max(abs(int(m.min())), abs(int(m.max())))
    if peak >= 1 << 62:
        raise ValueError("contract: matrix entries must stay below 2^62 in magnitude")
    if peak >= 1 << 20:
        # Split signed entries into a base-2^16 expansion with non-negative low limbs.
        out = zeros(cols)
        rest = m.astype(np.int64)
        shift = 0
        while True:
            low = rest & 0xFFFF
            rest = rest >> 16
            out = out + contract(low, v) * const(1 << shift)
            shift += 16
            if not rest.any():
                return out
            if int(np.abs(rest).max()) < 1 << 20:
                return out + contract(rest, v) * const(1 << shift)
    # 16 limbs of 16 bits: entries of the limb matrix are < 2^16. Rows go through a
    # reused float64 buffer of bounded size (fresh memory is slow to touch), in chunks
    # that also keep every float64 partial sum below 2^53.
    limbs16 = canonical_limbs(v).view(np.uint16).reshape(rows, 16).astype(np.float64)
    chunk = int(min(max(1, _EXACT // ((peak + 1) << 16)), max(1, _BUFFER_ENTRIES // cols)))
    buffer = np.empty((min(chunk, rows), cols), dtype=np.float64)
    acc = np.zeros((cols, 16), dtype=np.int64)
    exact_rows = max(1, _EXACT // ((peak + 1) << 16))
    done_since_reduce = 0
    result = zeros(cols)
    for start in range(0, rows, chunk):
        part = m[start : start + chunk]
        buf = buffer[: len(part)]
        np.copyto(buf, part, casting="unsafe")
        acc += (buf.T @ limbs16[start : start + chunk]).astype(np.int64)
        done_since_reduce += len(part)
        # int64 accumulators hold 2^63 > 2^10 exact chunks; fold into the field before that.
        if done_since_reduce + chunk > exact_rows * 512:
            result = result + _recombine(acc)
            acc[:] = 0
            done_since_reduce = 0
    return result + _recombine(acc)


_BUFFER_ENTRIES = 1 << 20


def _recombine(acc: np.ndarray) -> np.ndarray:
    """Σ_l acc[:, l]·2^(16 l) in the field, for int64 limb sums."""
    out = zeros(acc.shape[0])
    for limb in range(16):
        column = acc[:, limb]
        if column.any():
            out = out + from_int64(column) * const(1 << (16 * limb))
    return out


def batch_inverse(v: np.ndarray) -> np.ndarray:
    """Montgomery's trick: n inverses for one exponentiation (zero has no inverse)."""
    n = len(v)
    if n == 0:
        return zeros(0)
    ints = to_ints(v)
    prefix = [1] * n
    acc = 1
    for i, x in enumerate(ints):
        if x == 0:
            raise ZeroDivisionError("inverse of zero in Fr")
        prefix[i] = acc
        acc = acc * x % MODULUS
    acc = inv(acc)
    out = [0] * n
    for i in range(n - 1, -1, -1):
        out[i] = acc * prefix[i] % MODULUS
        acc = acc * ints[i] % MODULUS
    return vec(out)
