"""Test-set files: loading, validation, canonical serialization and the salted digest.

A test set is a pair of integer arrays: ``x`` of shape ``(N, *input_shape)`` and labels ``y``
of shape ``(N,)`` in ``0..K−1``. Organizers upload it as an ``.npz`` (arrays ``x`` and ``y``,
loaded with ``allow_pickle=False``) or a CSV file (label in the first column, then the
flattened input). Every size is bounded before anything is allocated.

Canonical serialization (version 1)::

    b"zkarena/testset/v1"
    then for x, then y:  u8 len(dtype) ‖ dtype ("<i8") ‖ u8 rank ‖ rank × u64 dims ‖ data

with lengths and dims big-endian (as everywhere in the protocol) and the data as
little-endian int64 in C order. Converting every array to int64 first makes the encoding
independent of how the organizer happened to store the integers (uint8, int32, …).

The published digest is salted, ``SHA-256(salt ‖ canonical bytes)`` with a 32-byte salt
revealed together with the data: an unsalted hash would let anyone confirm a guessed test set
(DESIGN §1).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import secrets
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

from ..errors import InvalidInputError

CANONICAL_DOMAIN = b"zkarena/testset/v1"
CANONICAL_DTYPE = "<i8"
SALT_BYTES = 32
MAX_SAMPLES = 1 << 20
MAX_ELEMENTS = 1 << 26  # elements of x in total (512 MiB as int64)
MAX_SAMPLE_ELEMENTS = 1 << 22
MAX_RANK = 4  # of a sample
MAX_FILE_BYTES = 1 << 30
# The arrays once decompressed and converted to int64, as they are stored canonically: a
# compressed .npz (or a CSV of one-digit numbers) is much smaller than that.
MAX_DATA_BYTES = (MAX_ELEMENTS + MAX_SAMPLES) * 8
MAX_CLASSES = 1 << 16
_INT64_BYTES = 8


class DatasetError(InvalidInputError):
    """A test-set file or array pair that is malformed or out of bounds."""


class DatasetTooLarge(DatasetError):
    """A test set whose arrays, decompressed and stored as int64, exceed the size limit."""


def validate(
    x: Any,
    y: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
    input_range: tuple[int, int] | None = None,
    max_samples: int = MAX_SAMPLES,
) -> tuple[np.ndarray, np.ndarray]:
    """Check a test set and return it as C-ordered int64 arrays (copies)."""
    x = np.asarray(x)
    y = np.asarray(y)
    for name, arr in (("x", x), ("y", y)):
        # bool is excluded on purpose: a boolean array is almost surely a mistake.
        if arr.dtype.kind not in "iu":
            raise DatasetError(f"{name} must hold integers, got dtype {arr.dtype}")
    if y.ndim != 1:
        raise DatasetError(f"y must be 1-D, got shape {y.shape}")
    if x.ndim < 2 or x.ndim > 1 + MAX_RANK:
        raise DatasetError(f"x must have shape (N, *input_shape), got {x.shape}")
    n = x.shape[0]
    if n != y.shape[0]:
        raise DatasetError(f"x has {n} samples but y has {y.shape[0]} labels")
    if not 1 <= n <= max_samples:
        raise DatasetError(f"the test set must have 1 to {max_samples} samples, has {n}")
    if x.size > MAX_ELEMENTS or x.size // n > MAX_SAMPLE_ELEMENTS:
        raise DatasetError("the test set is too large")
    if input_shape is not None and x.shape[1:] != tuple(input_shape):
        raise DatasetError(f"samples have shape {x.shape[1:]}, expected {tuple(input_shape)}")
    # Compare as Python ints before casting: uint64 values above 2^63 would wrap.
    lo, hi = int(x.min()), int(x.max())
    if input_range is not None:
        if lo < input_range[0] or hi > input_range[1]:
            raise DatasetError(f"inputs span [{lo}, {hi}], outside the range {input_range}")
    elif lo < -(1 << 62) or hi > 1 << 62:
        raise DatasetError("inputs do not fit the integer range ±2^62")
    k = MAX_CLASSES if num_classes is None else num_classes
    if int(y.min()) < 0 or int(y.max()) >= k:
        raise DatasetError(f"labels must lie in 0..{k - 1}, found [{int(y.min())}, {int(y.max())}]")
    return (
        np.array(x, dtype=np.int64, order="C", copy=True),
        np.array(y, dtype=np.int64, order="C", copy=True),
    )


# --------------------------------------------------------------------- serialization


def _array_parts(arr: np.ndarray):
    data = np.ascontiguousarray(arr, dtype=np.dtype(CANONICAL_DTYPE))
    dtype = CANONICAL_DTYPE.encode()
    header = struct.pack(">B", len(dtype)) + dtype + struct.pack(">B", data.ndim)
    header += b"".join(struct.pack(">Q", d) for d in data.shape)
    return [header, memoryview(data).cast("B")]


def _canonical_parts(x: Any, y: Any) -> list:
    x, y = validate(x, y)
    return [CANONICAL_DOMAIN, *_array_parts(x), *_array_parts(y)]


def canonical_bytes(x: Any, y: Any) -> bytes:
    """The canonical serialization of a test set (see the module docstring)."""
    return b"".join(_canonical_parts(x, y))


def new_salt() -> bytes:
    """A fresh 32-byte salt from the operating system's generator."""
    return secrets.token_bytes(SALT_BYTES)


def salted_digest(x: Any, y: Any, salt: bytes) -> bytes:
    """SHA-256(salt ‖ canonical_bytes(x, y)), the digest published before the reveal."""
    if not isinstance(salt, (bytes, bytearray)) or len(salt) != SALT_BYTES:
        raise DatasetError(f"the salt must be exactly {SALT_BYTES} bytes")
    h = hashlib.sha256(bytes(salt))
    for part in _canonical_parts(x, y):  # no joined copy of a large test set
        h.update(part)
    return h.digest()


# --------------------------------------------------------------------------- files


def _check_file_size(path: str | os.PathLike[str], max_bytes: int) -> None:
    size = os.stat(path).st_size
    if size > max_bytes:
        raise DatasetError(f"file of {size} bytes exceeds the limit of {max_bytes}")


def _too_large(what: str, size: int, max_data_bytes: int) -> DatasetTooLarge:
    return DatasetTooLarge(
        f"{what} takes {size} bytes as int64 once decompressed; the limit is {max_data_bytes}"
    )


def _read_npy_member(
    zf: zipfile.ZipFile, name: str, max_elements: int, budget: int, max_data_bytes: int
) -> np.ndarray:
    """One array of the archive. Its header alone is read first: the shape must be a tuple
    of non-negative integers of bounded rank and element count, and the data it promises
    (decompressed, and as int64) must fit ``budget`` bytes, before any data is read."""
    info = zf.getinfo(name)
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise DatasetError(f"{name}: unsupported .npy version {version}")
        except ValueError as exc:
            raise DatasetError(f"{name}: not a valid .npy array: {exc}") from None
        if dtype.kind not in "iu" or dtype.hasobject:
            raise DatasetError(f"{name} must hold integers, got dtype {dtype}")
        if (
            not isinstance(shape, tuple)
            or len(shape) > 1 + MAX_RANK
            or not all(isinstance(d, int) and d >= 0 for d in shape)
        ):
            raise DatasetError(f"{name}: invalid shape {shape!r} in the array header")
        count = math.prod(shape)
        if count > max_elements:
            raise DatasetError(f"{name} has {count} elements; the limit is {max_elements}")
        stored = count * _INT64_BYTES  # integer dtypes are at most 8 bytes
        if stored > budget:
            raise _too_large(f"{name} ({count} elements)", stored, max_data_bytes)
        expected = count * dtype.itemsize
        data = f.read(expected + 1)
    if len(data) != expected:
        raise DatasetError(f"{name}: {len(data)} data bytes, the header promises {expected}")
    arr = np.frombuffer(data, dtype=dtype)
    return arr.reshape(shape, order="F" if fortran else "C")


def load_npz(
    path: str | os.PathLike[str],
    *,
    input_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
    input_range: tuple[int, int] | None = None,
    max_samples: int = MAX_SAMPLES,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_data_bytes: int = MAX_DATA_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """Load ``x`` and ``y`` from an .npz holding exactly those two integer arrays.

    ``max_file_bytes`` bounds the file, ``max_data_bytes`` the arrays decompressed and
    converted to int64 (what the canonical serialization and a stored copy take): both are
    checked before the data is read (DatasetTooLarge)."""
    _check_file_size(path, max_file_bytes)
    try:
        with zipfile.ZipFile(path) as zf:
            names = sorted(zf.namelist())
            if names != ["x.npy", "y.npy"]:
                raise DatasetError(f"the .npz must hold exactly arrays x and y, found {names}")
            x = _read_npy_member(zf, "x.npy", MAX_ELEMENTS, max_data_bytes, max_data_bytes)
            y = _read_npy_member(
                zf, "y.npy", max_samples, max_data_bytes - x.size * _INT64_BYTES, max_data_bytes
            )
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DatasetError(f"not an .npz file: {exc}") from None
    return validate(
        x, y, input_shape=input_shape, num_classes=num_classes, input_range=input_range,
        max_samples=max_samples,
    )  # fmt: skip


def save_npz(path: str | os.PathLike[str], x: Any, y: Any) -> None:
    """Write a test set in the form :func:`load_npz` reads (int64, uncompressed)."""
    x, y = validate(x, y)
    np.savez(path, x=x, y=y)


def csv_has_header(path: str) -> bool:
    """A first row whose label cell is not an integer is a header ("label,x0,x1,…")."""
    with open(path, "rb") as f:
        first = f.readline(65536)
    try:
        cells = next(csv.reader([first.decode("utf-8-sig")]), [])
    except (UnicodeDecodeError, csv.Error):
        return False  # the loader reports what is wrong with the file
    label = cells[0].strip() if cells else ""
    return bool(label) and not re.fullmatch(r"[+-]?\d+", label)


def load_csv(
    source: str | os.PathLike[str],
    *,
    input_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
    input_range: tuple[int, int] | None = None,
    header: bool = False,
    max_samples: int = MAX_SAMPLES,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_data_bytes: int = MAX_DATA_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """Load a CSV test set: one sample per row, the label first, then the flattened input.

    Every field must be a plain integer (``"3"``, ``"-12"``; ``"3.0"`` is refused). With
    ``input_shape`` each row is reshaped to it; otherwise samples stay flat. The values, as
    int64, must fit ``max_data_bytes`` (counted while reading).
    """
    _check_file_size(source, max_file_bytes)
    with open(source, newline="", encoding="utf-8") as f:
        text = f.read(max_file_bytes + 1)
    rows = csv.reader(io.StringIO(text))
    labels: list[int] = []
    samples: list[list[int]] = []
    width = None
    stored = 0
    try:
        for line, row in enumerate(rows, start=1):
            if header and line == 1:
                continue
            if not row or all(not cell.strip() for cell in row):
                continue  # blank lines (a trailing newline) carry nothing
            if len(labels) >= max_samples:
                raise DatasetError(f"more than {max_samples} samples")
            stored += len(row) * _INT64_BYTES
            if stored > max_data_bytes:
                raise _too_large(f"the values up to line {line}", stored, max_data_bytes)
            try:
                values = [_parse_int(cell) for cell in row]
            except ValueError as exc:
                raise DatasetError(f"line {line}: {exc}") from None
            width = _check_row(values, width, line)
            labels.append(values[0])
            samples.append(values[1:])
    except csv.Error as exc:
        # e.g. a field longer than the csv module's limit, or a NUL byte
        raise DatasetError(f"line {rows.line_num}: not a valid CSV row: {exc}") from None
    if not labels:
        raise DatasetError("the CSV file holds no samples")
    try:
        x = np.array(samples, dtype=np.int64)
        y = np.array(labels, dtype=np.int64)
    except OverflowError:
        raise DatasetError("a value does not fit in 64 bits") from None
    if input_shape is not None:
        if int(np.prod(input_shape)) != x.shape[1]:
            raise DatasetError(
                f"rows have {x.shape[1]} features, the input shape {tuple(input_shape)} "
                f"needs {int(np.prod(input_shape))}"
            )
        x = x.reshape((x.shape[0], *input_shape))
    return validate(
        x, y, input_shape=input_shape, num_classes=num_classes, input_range=input_range,
        max_samples=max_samples,
    )  # fmt: skip


def _check_row(values: list[int], width: int | None, line: int) -> int:
    if len(values) < 2:
        raise DatasetError(f"line {line}: a label and at least one feature are needed")
    if width is not None and len(values) != width:
        raise DatasetError(f"line {line}: {len(values)} columns, expected {width}")
    return len(values)


def _parse_int(cell: str) -> int:
    text = cell.strip()
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit() or len(body) > 20:
        raise ValueError(f"{cell!r} is not an integer")
    return int(text)
