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
    ints = [decode_scalar(data[i : i + SCALAR_BYTES]) for i in range(0, len(data), SCALAR_BYTES)]
    return vec(ints)


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
