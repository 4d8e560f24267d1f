"""Rank-1 constraint systems: the builder a circuit compiler writes into, and the built,
immutable instance the Spartan prover and verifier read.

An instance is three sparse matrices A, B, C of 2^m_x rows and 2^m_y columns; z satisfies
it when (A z) * (B z) = C z entrywise. The layout of z is fixed by docs/architecture.md
("R1CS variable layout"):

    z = vars || (1, io, 0, ...)        |vars| = N_v = 2^(m_y - 1)
    vars = [weights | pad] [aux | pad] [0 ...]    in rows of row_width = 512 entries

Weight variable i is index i; auxiliary variable j is index R_W * row_width + j with
R_W = ceil(weight_count / row_width). In the builder the constant one and the public
inputs are negative sentinels (``ONE`` = -1, ``io(k)`` = -2 - k) because N_v is only
known once every auxiliary variable has been allocated; ``build()`` maps them to N_v and
N_v + 1 + k.

The builder is batch-oriented: ``constrain_batch`` appends n constraints described by
three ``SparseBlock``s (COO triples with rows local to the batch), so a compiler emits,
say, the bit decomposition of half a million values in a handful of numpy calls. The
scalar ``constrain`` is for tests and small gadgets.

Built matrices are canonical: entries sorted by (row, col), duplicates merged, zeros
dropped. So ``digest()`` depends only on the matrices and the layout, not on how the
constraints were emitted.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import field, mle
from .errors import ConstraintViolation, UnassignedVariable

FR = field.FR
P = field.MODULUS

ROW_WIDTH = 512  # 2^kappa entries per committed row
ONE = -1  # builder sentinel for the constant 1 (z[N_v] once built)
DIGEST_DOMAIN = b"zkarena/r1cs/digest/v1"

_INT64_MAX = np.iinfo(np.int64).max


def io(k: int) -> int:
    """Builder sentinel for public input k (z[N_v + 1 + k] once built)."""
    if k < 0:
        raise ValueError("public input index must be non-negative")
    return -2 - k


# ---------------------------------------------------------------- fast int64 <-> FR
#
# zk-dtypes converts int64 -> FR and FR -> canonical form element by element at a few
# hundred ns each, which dominates build() and digest() for millions of entries. Both
# conversions are one field multiplication once we use the Montgomery representation
# directly: FR stores a as the 4 little-endian limbs of a*R mod r (R = 2^256). Limbs
# holding a plain integer x < r therefore *read* as x*R^-1, and multiplying by R gives x;
# multiplying a value a by R^-1 leaves the limbs holding a itself, its canonical form.
# A self-check below falls back to the slow generic path should the representation
# ever differ.

_R_MONT = pow(2, 256, P)
_FROM_RAW = np.concatenate([field.const(_R_MONT), field.const(-_R_MONT)])
_TO_CANONICAL = field.const(pow(_R_MONT, -1, P))


def _fr_from_int64_fast(x: np.ndarray) -> np.ndarray:
    negative = x < 0
    limbs = np.zeros((len(x), 4), dtype=np.uint64)
    low = limbs[:, 0]
    low[:] = x.view(np.uint64)
    # Two's-complement negation in uint64 is |x|, also for -2^63.
    np.negative(low, out=low, where=negative)
    v = limbs.view(FR).reshape(-1)
    # In place and masked: fresh large arrays are what costs most here.
    if negative.any():
        np.multiply(v, _FROM_RAW[1:], out=v, where=negative)
        np.multiply(v, _FROM_RAW[:1], out=v, where=~negative)
    else:
        np.multiply(v, _FROM_RAW[:1], out=v)
    return v


def _canonical_bytes_fast(v: np.ndarray) -> np.ndarray:
    return (np.ascontiguousarray(v) * _TO_CANONICAL).view(np.uint8)


def _fast_paths_agree() -> bool:
    ints = np.array([0, 1, -1, 2, -2, 511, -(2**40), 2**63 - 1, -(2**63)], dtype=np.int64)
    expected = [int(x) % P for x in ints]
    if field.to_ints(_fr_from_int64_fast(ints)) != expected:
        return False
    probe = field.vec([0, 1, 2, P - 1, P - 2, 2**255 % P, 3**150 % P, 2**64 - 1])
    return _canonical_bytes_fast(probe).tobytes() == field.encode_vec(probe)


_FAST_CONVERSIONS = _fast_paths_agree()


def _fr_from_int64(x: np.ndarray) -> np.ndarray:
    if len(x) == 0:
        return field.zeros(0)
    if _FAST_CONVERSIONS:
        return _fr_from_int64_fast(x)
    return x.astype(FR)


def _canonical_bytes(v: np.ndarray) -> np.ndarray:
    """The bytes of ``field.encode_vec(v)`` as a uint8 array, an order of magnitude faster."""
    if _FAST_CONVERSIONS:
        return _canonical_bytes_fast(v)
    return np.frombuffer(field.encode_vec(v), dtype=np.uint8)


def as_fr(values) -> np.ndarray:
    """A 1-D FR vector from FR / integer / bool arrays or Python ints of any size or sign.

    Integer arrays take the fast path; Python ints that do not fit int64 go through
    ``field.vec``. Floats are refused rather than truncated.
    """
    if isinstance(values, np.ndarray) and values.dtype == FR:
        return values.reshape(-1)
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    arr = arr.reshape(-1)
    if arr.dtype.kind == "b":
        return _fr_from_int64(arr.astype(np.int64))
    if arr.dtype.kind == "i":
        return _fr_from_int64(arr.astype(np.int64, copy=False))
    if arr.dtype.kind == "u":
        if len(arr) and int(arr.max()) > _INT64_MAX:
            return field.vec(arr.tolist())
        return _fr_from_int64(arr.astype(np.int64))
    if arr.dtype == object:
        items = arr.tolist()
        for x in items:
            if not isinstance(x, (int, np.integer)):
                raise TypeError(f"field values must be integers, got {type(x).__name__}")
        return field.vec(items)
    raise TypeError(f"cannot make field elements from an array of dtype {arr.dtype}")


def _as_index_array(x, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        raise TypeError(f"{what} must be integers, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > _INT64_MAX:
        raise ValueError(f"{what} out of range")  # would wrap onto the negative sentinels
    return arr.astype(np.int64, copy=False).reshape(-1)


def _coeff_array(coeffs, n: int) -> np.ndarray:
    """int64 when every coefficient fits (the common case), otherwise FR."""
    if isinstance(coeffs, (int, np.integer)):
        c = int(coeffs)
        if -_INT64_MAX <= c <= _INT64_MAX:
            return np.full(n, c, dtype=np.int64)
        return np.repeat(field.const(c), n)
    if isinstance(coeffs, np.ndarray) and coeffs.dtype == FR:
        return coeffs.reshape(-1)
    arr = coeffs if isinstance(coeffs, np.ndarray) else np.asarray(coeffs)
    arr = arr.reshape(-1)
    if arr.dtype.kind in "ib" or (arr.dtype.kind == "u" and arr.dtype.itemsize < 8):
        return arr.astype(np.int64, copy=False)
    if arr.dtype == object:
        for x in arr.tolist():
            if not isinstance(x, (int, np.integer)):
                raise TypeError(f"coefficients must be integers, got {type(x).__name__}")
        try:
            return arr.astype(np.int64)
        except OverflowError:
            return field.vec(arr.tolist())
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    return as_fr(arr)


# ---------------------------------------------------------------- builder inputs


class LinearCombination(dict):
    """{variable index: integer coefficient}, with + - and integer scaling.

    Indices are builder indices (weights, auxiliaries, ``ONE``, ``io(k)``).
    """

    @classmethod
    def var(cls, index: int, coeff: int = 1) -> LinearCombination:
        return cls({int(index): coeff})

    @classmethod
    def const(cls, value: int) -> LinearCombination:
        return cls({ONE: value})

    def __add__(self, other: Mapping[int, int]) -> LinearCombination:
        out = LinearCombination(self)
        for k, v in other.items():
            out[k] = out.get(k, 0) + v
        return out

    def __neg__(self) -> LinearCombination:
        return LinearCombination({k: -v for k, v in self.items()})

    def __sub__(self, other: Mapping[int, int]) -> LinearCombination:
        return self + {k: -v for k, v in other.items()}

    def __mul__(self, scalar: int) -> LinearCombination:
        return LinearCombination({k: v * scalar for k, v in self.items()})

    __rmul__ = __mul__


@dataclass(frozen=True, eq=False)
class SparseBlock:
    """One matrix's entries for a batch of n constraints, as COO triples.

    rows are local to the batch ([0, n)); vars are builder indices; coeffs is an int64
    array, an FR vector, an object array of Python ints, or a single int for all.
    """

    rows: np.ndarray
    vars: np.ndarray
    coeffs: np.ndarray | int = 1

    @staticmethod
    def empty() -> SparseBlock:
        """No entries: the side is the zero linear combination in every row."""
        z = np.zeros(0, dtype=np.int64)
        return SparseBlock(z, z, z)

    @staticmethod
    def diag(vars, coeffs: np.ndarray | int = 1) -> SparseBlock:
        """Row i is coeffs[i] * vars[i] (one term per row)."""
        v = _as_index_array(vars, "vars")
        return SparseBlock(np.arange(len(v), dtype=np.int64), v, coeffs)

    @staticmethod
    def const(n: int, value: int = 1) -> SparseBlock:
        """Row i is the constant value (value * ONE) for i < n."""
        return SparseBlock(np.arange(n, dtype=np.int64), np.full(n, ONE, dtype=np.int64), value)

    @staticmethod
    def dense_rows(vars, coeffs) -> SparseBlock:
        """Row i is sum_j coeffs[i, j] * vars[i, j] for a 2-D vars array.

        coeffs broadcasts against vars, so a 1-D array of per-column coefficients
        (e.g. powers of two for a bit recomposition) needs no repetition.
        """
        v = np.asarray(vars)
        if v.ndim != 2:
            raise ValueError("dense_rows needs a 2-D array of variables")
        n, k = v.shape
        rows = np.repeat(np.arange(n, dtype=np.int64), k)
        if isinstance(coeffs, (int, np.integer)):
            return SparseBlock(rows, v.reshape(-1), coeffs)
        c = coeffs if isinstance(coeffs, np.ndarray) else np.asarray(coeffs)
        return SparseBlock(rows, v.reshape(-1), np.broadcast_to(c, v.shape).reshape(-1))

    @staticmethod
    def concat(*blocks: SparseBlock) -> SparseBlock:
        """Entries of several blocks over the same batch (the sides add up)."""
        if not blocks:
            return SparseBlock.empty()
        rows = [_as_index_array(b.rows, "rows") for b in blocks]
        vs = np.concatenate([_as_index_array(b.vars, "vars") for b in blocks])
        cs = [_coeff_array(b.coeffs, len(r)) for b, r in zip(blocks, rows, strict=True)]
        if any(c.dtype == FR for c in cs):
            cs = [c if c.dtype == FR else _fr_from_int64(c) for c in cs]
        return SparseBlock(np.concatenate(rows), vs, np.concatenate(cs))


class _MatrixParts:
    """Accumulated entries of one matrix: numpy chunks plus a buffer of scalar terms."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.int_coeffs: list[np.ndarray] = []
        self.fr_rows: list[np.ndarray] = []
        self.fr_cols: list[np.ndarray] = []
        self.fr_coeffs: list[np.ndarray] = []
        self.scalar_rows: list[int] = []
        self.scalar_cols: list[int] = []
        self.scalar_coeffs: list[int] = []

    def add(self, rows: np.ndarray, cols: np.ndarray, coeffs: np.ndarray) -> None:
        if coeffs.dtype == FR:
            self.fr_rows.append(rows)
            self.fr_cols.append(cols)
            self.fr_coeffs.append(coeffs)
        else:
            self.rows.append(rows)
            self.cols.append(cols)
            self.int_coeffs.append(coeffs)

    def collect(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All entries as (rows, cols, FR coeffs), in emission-group order."""
        rows = self.rows + self.fr_rows
        cols = self.cols + self.fr_cols
        coeffs = []
        if self.int_coeffs:
            coeffs.append(_fr_from_int64(np.concatenate(self.int_coeffs)))
        coeffs += self.fr_coeffs
        if self.scalar_rows:
            rows.append(np.array(self.scalar_rows, dtype=np.int64))
            cols.append(np.array(self.scalar_cols, dtype=np.int64))
            n = len(self.scalar_coeffs)
            coeffs.append(as_fr(_coeff_array(np.array(self.scalar_coeffs, dtype=object), n)))
        if not rows:
            z = np.zeros(0, dtype=np.int64)
            return z, z, field.zeros(0)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(coeffs)


class _Ranges:
    """Labels for contiguous index ranges: a new range starts whenever the label changes."""

    def __init__(self) -> None:
        self.starts: list[int] = [0]
        self.labels: list[str | None] = [None]

    def mark(self, start: int, label: str | None) -> None:
        if label == self.labels[-1]:
            return
        if self.starts[-1] == start:
            self.labels[-1] = label
        else:
            self.starts.append(start)
            self.labels.append(label)

    def lookup(self, index: int) -> str | None:
        return self.labels[bisect.bisect_right(self.starts, index) - 1]


def _layout(weight_count: int, aux_count: int, num_io: int, row_width: int):
    """(weight rows R_W, aux rows R_A, N_v) as fixed by the variable layout."""
    weight_rows = -(-weight_count // row_width)
    aux_rows = -(-aux_count // row_width)
    needed = max((weight_rows + aux_rows) * row_width, 1 + num_io, row_width)
    return weight_rows, aux_rows, 1 << (needed - 1).bit_length()


@dataclass(frozen=True, eq=False)
class Assignment:
    """The prover's witness: vars (length N_v, weights and aux in place) and io values."""

    vars: np.ndarray
    io: list[int]


class R1CSBuilder:
    """Allocate variables and emit constraints; ``build()`` freezes them into an R1CS.

    The prover passes values as it allocates (``alloc(n, values)``); the verifier runs
    the same compiler without values and gets the identical instance.
    """

    ONE = ONE

    def __init__(self, weight_count: int = 0, row_width: int = ROW_WIDTH):
        if weight_count < 0:
            raise ValueError("weight_count must be non-negative")
        if row_width < 1 or row_width & (row_width - 1):
            raise ValueError("row_width must be a power of two")
        self.weight_count = weight_count
        self.row_width = row_width
        self.weight_rows = -(-weight_count // row_width)
        self.aux_base = self.weight_rows * row_width
        self.aux_count = 0
        self.num_io = 0
        self.num_constraints = 0
        self._matrices = (_MatrixParts(), _MatrixParts(), _MatrixParts())
        self._constraint_labels = _Ranges()
        self._aux_labels = _Ranges()
        # Witness storage is created on the first value, so a verifier-side compile
        # (no values at all) never allocates it.
        self._weight_vals: np.ndarray | None = None
        self._weight_set: np.ndarray | None = None
        self._aux_vals: np.ndarray | None = None
        self._aux_set: np.ndarray | None = None
        self._io_vals: list[int | None] = []

    @staticmethod
    def io(k: int) -> int:
        return io(k)

    # ------------------------------------------------------------ allocation

    def weights(self) -> np.ndarray:
        return np.arange(self.weight_count, dtype=np.int64)

    def alloc(self, n: int, values=None, label: str | None = None) -> np.ndarray:
        """n fresh auxiliary variables (their z indices); values optional (prover only)."""
        if n < 0:
            raise ValueError("cannot allocate a negative number of variables")
        start = self.aux_count
        self._aux_labels.mark(start, label)
        self.aux_count += n
        idx = np.arange(self.aux_base + start, self.aux_base + start + n, dtype=np.int64)
        if values is not None:
            self.assign(idx, values)
        return idx

    def new_io(self, n: int, values=None) -> np.ndarray:
        """n fresh public inputs, as sentinels io(k)."""
        if n < 0:
            raise ValueError("cannot allocate a negative number of public inputs")
        first = self.num_io
        self.num_io += n
        self._io_vals.extend([None] * n)
        if values is not None:
            self.set_io_values(range(first, first + n), values)
        return np.array([io(k) for k in range(first, first + n)], dtype=np.int64)

    def set_io_values(self, ks: Iterable[int], values) -> None:
        ks = list(ks)
        vals = field.to_ints(as_fr(values))
        if len(vals) != len(ks):
            raise ValueError(f"{len(ks)} public inputs but {len(vals)} values")
        for k, v in zip(ks, vals, strict=True):
            if not 0 <= k < self.num_io:
                raise ValueError(f"public input {k} does not exist")
            self._io_vals[k] = v

    def set_weight_values(self, values) -> None:
        self.assign(self.weights(), values)

    def _ensure_aux_storage(self) -> None:
        if self._aux_vals is None:
            self._aux_vals = field.zeros(max(self.aux_count, 16))
            self._aux_set = np.zeros(len(self._aux_vals), dtype=bool)
        elif len(self._aux_vals) < self.aux_count:
            cap = max(self.aux_count, 2 * len(self._aux_vals))
            vals, seen = field.zeros(cap), np.zeros(cap, dtype=bool)
            vals[: len(self._aux_vals)] = self._aux_vals
            seen[: len(self._aux_set)] = self._aux_set
            self._aux_vals, self._aux_set = vals, seen

    def assign(self, indices, values) -> None:
        """Give values to weight or auxiliary variables (vectorised; reassignment allowed)."""
        idx = _as_index_array(indices, "indices")
        vals = as_fr(values)
        if len(vals) != len(idx):
            raise ValueError(f"{len(idx)} variables but {len(vals)} values")
        is_w = (idx >= 0) & (idx < self.weight_count)
        is_a = (idx >= self.aux_base) & (idx < self.aux_base + self.aux_count)
        if not np.all(is_w | is_a):
            bad = int(idx[~(is_w | is_a)][0])
            raise ValueError(f"variable {bad} is neither an allocated weight nor auxiliary")
        if is_w.any():
            if self._weight_vals is None:
                self._weight_vals = field.zeros(self.weight_count)
                self._weight_set = np.zeros(self.weight_count, dtype=bool)
            self._weight_vals[idx[is_w]] = vals[is_w]
            self._weight_set[idx[is_w]] = True
        if is_a.any():
            self._ensure_aux_storage()
            local = idx[is_a] - self.aux_base
            self._aux_vals[local] = vals[is_a]
            self._aux_set[local] = True

    def values(self, indices) -> np.ndarray:
        """Current values of weight/aux variables (for gadgets that derive witnesses)."""
        idx = _as_index_array(indices, "indices")
        out = field.zeros(len(idx))
        is_w = (idx >= 0) & (idx < self.weight_count)
        is_a = (idx >= self.aux_base) & (idx < self.aux_base + self.aux_count)
        if not np.all(is_w | is_a):
            bad = int(idx[~(is_w | is_a)][0])
            raise ValueError(f"variable {bad} is neither an allocated weight nor auxiliary")
        if is_w.any():
            out[is_w] = self._stored(idx[is_w], self._weight_vals, self._weight_set, 0)
        if is_a.any():
            if self._aux_vals is not None:
                self._ensure_aux_storage()
            out[is_a] = self._stored(idx[is_a], self._aux_vals, self._aux_set, self.aux_base)
        return out

    def _stored(self, idx, vals, seen, base) -> np.ndarray:
        local = idx - base
        missing = local if seen is None else local[~seen[local]]
        if len(missing):
            first = base + int(missing[0])
            raise UnassignedVariable(first, self._describe(first))
        return vals[local]

    def _describe(self, index: int) -> str:
        if 0 <= index < self.weight_count:
            return f"weight {index}"
        j = index - self.aux_base
        label = self._aux_labels.lookup(j)
        return f"auxiliary {j}" + (f", allocated as {label!r}" if label else "")

    # ------------------------------------------------------------ constraints

    def constrain(
        self,
        a: Mapping[int, int],
        b: Mapping[int, int],
        c: Mapping[int, int],
        label: str | None = None,
    ) -> int:
        """Append <a, z> * <b, z> = <c, z>; returns the constraint's index."""
        row = self.num_constraints
        for parts, lc in zip(self._matrices, (a, b, c), strict=True):
            for var, coeff in lc.items():
                parts.scalar_rows.append(row)
                parts.scalar_cols.append(int(var))
                parts.scalar_coeffs.append(int(coeff))
        self._constraint_labels.mark(row, label)
        self.num_constraints += 1
        return row

    def constrain_batch(
        self,
        n: int,
        a: SparseBlock,
        b: SparseBlock,
        c: SparseBlock,
        label: str | None = None,
    ) -> int:
        """Append n constraints at once; row i of each block is constraint first + i.

        Returns ``first``, the index of the batch's first constraint.
        """
        if n < 0:
            raise ValueError("negative batch size")
        first = self.num_constraints
        checked = []
        for name, block in zip("ABC", (a, b, c), strict=True):
            rows = _as_index_array(block.rows, f"{name}.rows")
            cols = _as_index_array(block.vars, f"{name}.vars")
            coeffs = _coeff_array(block.coeffs, len(rows))
            if not len(rows) == len(cols) == len(coeffs):
                raise ValueError(
                    f"block {name}: {len(rows)} rows, {len(cols)} vars, {len(coeffs)} coeffs"
                )
            if len(rows) and (rows.min() < 0 or rows.max() >= n):
                raise ValueError(f"block {name}: rows must lie in [0, {n})")
            checked.append((rows, cols, coeffs))
        for parts, (rows, cols, coeffs) in zip(self._matrices, checked, strict=True):
            if len(rows):
                # Copies: the caller may reuse its buffers for the next batch.
                parts.add(rows + first, cols.copy(), coeffs.copy())
        if n:
            self._constraint_labels.mark(first, label)
        self.num_constraints += n
        return first

    # ------------------------------------------------------------ freezing

    def build(self) -> R1CS:
        weight_rows, aux_rows, num_vars = _layout(
            self.weight_count, self.aux_count, self.num_io, self.row_width
        )
        m_x = max(1, (self.num_constraints - 1).bit_length())
        m_y = num_vars.bit_length()  # 2^(m_y - 1) = N_v
        if m_x + m_y > 62:
            raise ValueError("instance too large: (row, col) keys would overflow int64")
        mats = []
        for name, parts in zip("ABC", self._matrices, strict=True):
            rows, cols, vals = parts.collect()
            self._check_vars(name, rows, cols)
            # Sentinels: ONE = -1 -> N_v, io(k) = -2 - k -> N_v + 1 + k.
            cols = np.where(cols < 0, num_vars - 1 - cols, cols)
            mats.append(SparseMatrix.canonical(rows, cols, vals, m_y))
        return R1CS(
            row_width=self.row_width,
            num_constraints=self.num_constraints,
            m_x=m_x,
            m_y=m_y,
            num_vars=num_vars,
            weight_count=self.weight_count,
            weight_rows=weight_rows,
            aux_count=self.aux_count,
            aux_rows=aux_rows,
            num_io=self.num_io,
            A=mats[0],
            B=mats[1],
            C=mats[2],
            label_starts=tuple(self._constraint_labels.starts),
            labels=tuple(self._constraint_labels.labels),
        )

    def _check_vars(self, name: str, rows: np.ndarray, cols: np.ndarray) -> None:
        ok = ((cols >= 0) & (cols < self.weight_count)) | (
            (cols >= self.aux_base) & (cols < self.aux_base + self.aux_count)
        )
        ok |= (cols < 0) & (cols >= -1 - self.num_io)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            row = int(rows[i])
            label = self._constraint_labels.lookup(row)
            raise ValueError(
                f"matrix {name}, constraint {row} ({label}): variable {int(cols[i])} "
                "is not a weight, an allocated auxiliary, ONE or an allocated io"
            )

    def assignment(self) -> Assignment:
        """The full witness; raises UnassignedVariable naming the first hole."""
        _, _, num_vars = _layout(self.weight_count, self.aux_count, self.num_io, self.row_width)
        out = field.zeros(num_vars)
        if self.weight_count:
            if self._weight_set is None:
                raise UnassignedVariable(0, self._describe(0))
            if not self._weight_set.all():
                i = int(np.argmin(self._weight_set))
                raise UnassignedVariable(i, self._describe(i))
            out[: self.weight_count] = self._weight_vals
        if self.aux_count:
            if self._aux_set is None:
                raise UnassignedVariable(self.aux_base, self._describe(self.aux_base))
            self._ensure_aux_storage()  # covers variables allocated after the last value
            seen = self._aux_set[: self.aux_count]
            if not seen.all():
                j = int(np.argmin(seen))
                raise UnassignedVariable(self.aux_base + j, self._describe(self.aux_base + j))
            out[self.aux_base : self.aux_base + self.aux_count] = self._aux_vals[: self.aux_count]
        for k, v in enumerate(self._io_vals):
            if v is None:
                raise UnassignedVariable(num_vars + 1 + k, f"public input {k}")
        return Assignment(vars=out, io=list(self._io_vals))


# ---------------------------------------------------------------- built instance


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def _segments(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, start offsets) of the runs in a sorted key array."""
    if len(keys) == 0:
        return keys, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], starts


@dataclass(frozen=True, eq=False)
class SparseMatrix:
    """COO entries sorted by (row, col) with no duplicates and no zero values."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray

    @staticmethod
    def canonical(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, m_y: int):
        """Sort by (row, col), merge duplicates, drop zeros."""
        key = (rows << m_y) | cols
        if len(key) > 1 and not np.all(key[1:] > key[:-1]):
            # Stable timsort: compilers emit long already-sorted runs, which it exploits.
            order = np.argsort(key, kind="stable")
            key, vals = key[order], vals.take(order)
            uniq, starts = _segments(key)
            if len(uniq) != len(key):
                key, vals = uniq, np.add.reduceat(vals, starts)
        nonzero = vals != field.const(0)
        if not nonzero.all():
            key, vals = key[nonzero], vals[nonzero]
        rows = key >> m_y
        cols = key & ((1 << m_y) - 1)
        return SparseMatrix(_readonly(rows), _readonly(cols), _readonly(vals))

    @property
    def nnz(self) -> int:
        return len(self.rows)

    @cached_property
    def _unit(self) -> bool:
        """All values are 1 (typical of B and C): products with vals can be skipped."""
        return bool((self.vals == field.const(1)).all())

    def _weigh(self, x: np.ndarray, vals: np.ndarray) -> np.ndarray:
        return x if self._unit else x * vals

    @cached_property
    def _row_runs(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
        """(distinct rows, their start offsets, chunk plan) of the row-sorted entries."""
        row_ids, starts = _segments(self.rows)
        return row_ids, starts, _chunk_plan(starts, self.nnz)

    @cached_property
    def _col_major(self):
        """Entries re-sorted by column, with the column runs and their chunk plan."""
        order = np.argsort(self.cols, kind="stable")
        col_ids, starts = _segments(self.cols[order])
        plan = _chunk_plan(starts, self.nnz)
        return self.rows[order], self.vals.take(order), col_ids, starts, plan

    # The kernels below walk the entries in chunks of whole runs (about _CHUNK entries):
    # temporaries stay small and are recycled by the allocator instead of being fresh
    # pages every call, which is most of the cost at millions of entries.

    def mul_vec(self, z: np.ndarray, num_rows: int) -> np.ndarray:
        """M z as a dense FR vector of num_rows entries."""
        out = field.zeros(num_rows)
        row_ids, starts, plan = self._row_runs
        for j0, j1, e0, e1 in plan:
            terms = self._weigh(z.take(self.cols[e0:e1]), self.vals[e0:e1])
            # Rows are sorted, so one reduceat over contiguous runs (no np.add.at).
            out[row_ids[j0:j1]] = np.add.reduceat(terms, starts[j0:j1] - e0)
        return out

    def bind_rows_into(self, out: np.ndarray, eq_rows: np.ndarray, r: int) -> None:
        """out[col] += r * sum_row eq_rows[row] * M[row, col] for every column."""
        rows, vals, col_ids, starts, plan = self._col_major
        scale = field.const(r)
        for j0, j1, e0, e1 in plan:
            terms = self._weigh(eq_rows.take(rows[e0:e1]), vals[e0:e1])
            out[col_ids[j0:j1]] += np.add.reduceat(terms, starts[j0:j1] - e0) * scale

    def evaluate(self, eq_rows: mle.EqSplit, eq_cols: mle.EqSplit) -> int:
        """sum vals * eq(row, rx) * eq(col, ry): the matrix's MLE at (rx, ry)."""
        row_ids, starts, plan = self._row_runs
        acc = 0
        for j0, j1, e0, e1 in plan:
            terms = self._weigh(eq_cols(self.cols[e0:e1]), self.vals[e0:e1])
            per_row = np.add.reduceat(terms, starts[j0:j1] - e0)
            acc += field.dot(per_row, eq_rows(row_ids[j0:j1]))
        return acc % P


_CHUNK = 1 << 16


def _chunk_plan(starts: np.ndarray, nnz: int) -> list[tuple[int, int, int, int]]:
    """Group consecutive runs into chunks of about _CHUNK entries, never splitting a run.

    Returns (first run, end run, first entry, end entry) per chunk.
    """
    if nnz == 0:
        return []
    cut = np.unique(np.searchsorted(starts, np.arange(0, nnz, _CHUNK)))
    cut = np.unique(np.append(cut, len(starts))).tolist()
    edges = np.append(starts, nnz)[cut].tolist()
    return list(zip(cut[:-1], cut[1:], edges[:-1], edges[1:], strict=True))


@dataclass(frozen=True, eq=False)
class R1CS:
    """A built instance. Matrices are 2^m_x x 2^m_y; z = vars || (1, io, 0, ...)."""

    row_width: int
    num_constraints: int
    m_x: int
    m_y: int
    num_vars: int  # N_v = 2^(m_y - 1)
    weight_count: int
    weight_rows: int  # R_W
    aux_count: int
    aux_rows: int  # R_A
    num_io: int
    A: SparseMatrix
    B: SparseMatrix
    C: SparseMatrix
    label_starts: tuple[int, ...]
    labels: tuple[str | None, ...]

    # ------------------------------------------------------------ layout

    @property
    def aux_base(self) -> int:
        """Index of auxiliary variable 0 in vars (= R_W * row_width)."""
        return self.weight_rows * self.row_width

    @property
    def kappa(self) -> int:
        """log2(row_width): the number of column bits of a vars index."""
        return self.row_width.bit_length() - 1

    @property
    def total_rows(self) -> int:
        """R = N_v / row_width: rows of vars (weight, aux, then all-zero rows)."""
        return self.num_vars // self.row_width

    @property
    def num_rows(self) -> int:
        return 1 << self.m_x

    @property
    def num_cols(self) -> int:
        return 1 << self.m_y

    @property
    def matrices(self) -> tuple[SparseMatrix, SparseMatrix, SparseMatrix]:
        return self.A, self.B, self.C

    @property
    def nnz(self) -> int:
        return self.A.nnz + self.B.nnz + self.C.nnz

    def label(self, index: int) -> str | None:
        return self.labels[bisect.bisect_right(self.label_starts, index) - 1]

    # ------------------------------------------------------------ digest

    def digest(self) -> bytes:
        """SHA-256 of a canonical encoding of the layout and the three matrices.

        Encoding (all integers u64 little-endian): len(domain) || domain || the ten
        dimension/layout fields in the order below || for A, B, C: name byte, nnz,
        rows[nnz], cols[nnz], vals[nnz] (32-byte canonical little-endian scalars).
        Labels are not part of it: they name constraints, they do not change them.
        """
        h = hashlib.sha256()
        h.update(struct.pack("<Q", len(DIGEST_DOMAIN)) + DIGEST_DOMAIN)
        dims = (
            self.row_width,
            self.num_constraints,
            self.m_x,
            self.m_y,
            self.num_vars,
            self.weight_count,
            self.weight_rows,
            self.aux_count,
            self.aux_rows,
            self.num_io,
        )
        h.update(struct.pack("<10Q", *dims))
        for name, mat in zip(b"ABC", self.matrices, strict=True):
            h.update(bytes([name]) + struct.pack("<Q", mat.nnz))
            # Indices are non-negative, so their int64 and u64 encodings coincide.
            h.update(np.ascontiguousarray(mat.rows, dtype="<i8").view(np.uint8))
            h.update(np.ascontiguousarray(mat.cols, dtype="<i8").view(np.uint8))
            h.update(_canonical_bytes(mat.vals))
        return h.digest()

    # ------------------------------------------------------------ prover side

    def public_vector(self, io_values: Sequence[int]) -> np.ndarray:
        """The public half of z: (1, io, 0, ...), length N_v."""
        if len(io_values) != self.num_io:
            raise ValueError(f"expected {self.num_io} public inputs, got {len(io_values)}")
        out = field.zeros(self.num_vars)
        out[: 1 + self.num_io] = as_fr(np.array([1, *io_values], dtype=object))
        return out

    def z(self, assignment: Assignment) -> np.ndarray:
        """z = vars || (1, io, 0, ...), length 2^m_y."""
        if len(assignment.vars) != self.num_vars:
            raise ValueError(f"vars has {len(assignment.vars)} entries, expected {self.num_vars}")
        return np.concatenate([assignment.vars, self.public_vector(assignment.io)])

    def _check_z(self, z: np.ndarray) -> None:
        if len(z) != self.num_cols:
            raise ValueError(f"z has {len(z)} entries, expected 2^m_y = {self.num_cols}")

    def multiply(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A z, B z, C z), each of length 2^m_x (padding rows give zeros)."""
        self._check_z(z)
        return tuple(m.mul_vec(z, self.num_rows) for m in self.matrices)

    def first_unsatisfied(self, z: np.ndarray) -> int | None:
        """Index of the first constraint with (A z)(B z) != C z, or None."""
        return self._first_broken(*self.multiply(z))

    @staticmethod
    def _first_broken(az, bz, cz) -> int | None:
        broken = np.flatnonzero(az * bz != cz)
        return int(broken[0]) if len(broken) else None

    def check(self, z: np.ndarray, products: tuple | None = None) -> None:
        """Raise ConstraintViolation naming the first constraint z does not satisfy.

        ``products`` = multiply(z) when the caller already has it (the prover does).
        """
        if products is None:
            products = self.multiply(z)
        elif any(len(p) != self.num_rows for p in products):
            raise ValueError(f"products must have 2^m_x = {self.num_rows} entries each")
        index = self._first_broken(*products)
        if index is None:
            return
        az, bz, cz = (int(v[index]) for v in products)
        detail = ", ".join(
            f"{n}·z = {field.signed(v)}" for n, v in zip("ABC", (az, bz, cz), strict=True)
        )
        raise ConstraintViolation(index, self.label(index), detail)

    def bind_rows(self, eq_rx: np.ndarray, ra: int, rb: int, rc: int) -> np.ndarray:
        """M(y) = sum_row eq_rx[row] * (ra A + rb B + rc C)[row, y], length 2^m_y.

        The prover's column vector for the second sumcheck.
        """
        if len(eq_rx) != self.num_rows:
            raise ValueError(f"eq_rx has {len(eq_rx)} entries, expected {self.num_rows}")
        out = field.zeros(self.num_cols)
        for mat, r in zip(self.matrices, (ra, rb, rc), strict=True):
            if r % P:
                mat.bind_rows_into(out, eq_rx, r)
        return out

    # ------------------------------------------------------------ verifier side

    def evaluate(self, rx: Sequence[int], ry: Sequence[int]) -> tuple[int, int, int]:
        """(Ã(rx, ry), B̃(rx, ry), C̃(rx, ry)) from the sparse matrices, as the verifier does."""
        if len(rx) != self.m_x or len(ry) != self.m_y:
            raise ValueError(
                f"points of lengths ({len(rx)}, {len(ry)}), expected ({self.m_x}, {self.m_y})"
            )
        # Split eq tables: ~2^(m/2) entries each instead of 2^m_x and 2^m_y.
        eq_rx, eq_ry = mle.EqSplit(rx), mle.EqSplit(ry)
        return tuple(m.evaluate(eq_rx, eq_ry) for m in self.matrices)

    def public_eval(self, io_values: Sequence[int], point: Sequence[int]) -> int:
        """MLE of the public half (1, io, 0, ...) at ry[1:] (m_y - 1 coordinates)."""
        if len(point) != self.m_y - 1:
            raise ValueError(f"point has {len(point)} coordinates, expected {self.m_y - 1}")
        if len(io_values) != self.num_io:
            raise ValueError(f"expected {self.num_io} public inputs, got {len(io_values)}")
        head = as_fr(np.array([1, *io_values], dtype=object))
        return mle.evaluate(head, point)  # zero-padded: never materialises N_v entries
