"""Test-set files: loading and validation, canonical bytes, the salted digest."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from zkproofs.ml.datasets import (
    CANONICAL_DOMAIN,
    DatasetError,
    DatasetTooLarge,
    canonical_bytes,
    load_csv,
    load_npz,
    new_salt,
    salted_digest,
    save_npz,
    validate,
)

X = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[0, 0], [0, 16]]], dtype=np.uint8)
Y = np.array([0, 2, 1], dtype=np.int32)


def test_canonical_bytes_known_answer():
    x = np.array([[1, -2]], dtype=np.int16)
    y = np.array([1], dtype=np.uint8)
    expected = (
        b"zkarena/testset/v1"
        + b"\x03<i8" + b"\x02" + struct.pack(">QQ", 1, 2) + struct.pack("<qq", 1, -2)
        + b"\x03<i8" + b"\x01" + struct.pack(">Q", 1) + struct.pack("<q", 1)
    )  # fmt: skip
    assert canonical_bytes(x, y) == expected
    assert expected.startswith(CANONICAL_DOMAIN)


def test_canonical_bytes_ignore_storage_dtype_and_order():
    reference = canonical_bytes(X, Y)
    assert canonical_bytes(X.astype(np.int64), Y.astype(np.int64)) == reference
    assert canonical_bytes(np.asfortranarray(X), Y) == reference
    assert canonical_bytes(X.astype(">i4"), Y.astype(">u2")) == reference  # big-endian source
    # The shape is part of the encoding: the same numbers flattened are a different set.
    assert canonical_bytes(X.reshape(3, 4), Y) != reference


def test_salted_digest():
    salt = bytes(range(32))
    digest = salted_digest(X, Y, salt)
    assert digest == hashlib.sha256(salt + canonical_bytes(X, Y)).digest()
    assert salted_digest(X, Y, bytes(32)) != digest
    x2 = X.copy()
    x2[0, 0, 0] += 1
    assert salted_digest(x2, Y, salt) != digest
    assert salted_digest(X, np.array([0, 2, 0]), salt) != digest
    for bad in (b"", bytes(31), bytes(33), "x" * 32):
        with pytest.raises(DatasetError, match="salt"):
            salted_digest(X, Y, bad)  # type: ignore[arg-type]
    a, b = new_salt(), new_salt()
    assert len(a) == 32 and a != b


def test_validation():
    x, y = validate(X, Y, input_shape=(2, 2), num_classes=3, input_range=(0, 16))
    assert x.dtype == y.dtype == np.int64 and x.flags.c_contiguous
    cases = [
        (X.astype(float), Y, {}, "integers"),
        (X.astype(bool), Y, {}, "integers"),
        (X, Y.astype(float), {}, "integers"),
        (X, Y[:2], {}, "labels"),
        (X, Y.reshape(3, 1), {}, "1-D"),
        (X[0, 0], Y[:2], {}, "shape (N"),
        (X, Y, {"input_shape": (4,)}, "shape"),
        (X, Y, {"num_classes": 2}, "labels must lie in 0..1"),
        (X, np.array([0, -1, 1]), {}, "labels"),
        (X, Y, {"input_range": (0, 15)}, "outside the range"),
        (X, Y, {"max_samples": 2}, "1 to 2 samples"),
        (X[:0], Y[:0], {}, "1 to"),
        (np.array([[2**63]], dtype=np.uint64), np.array([0]), {}, "±2^62"),
    ]
    for x_bad, y_bad, kwargs, match in cases:
        with pytest.raises(DatasetError, match=re.escape(match)):
            validate(x_bad, y_bad, **kwargs)


def test_npz_round_trip(tmp_path: Path):
    path = tmp_path / "test.npz"
    save_npz(path, X, Y)
    x, y = load_npz(path, input_shape=(2, 2), num_classes=3, input_range=(0, 16))
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y)
    assert canonical_bytes(x, y) == canonical_bytes(X, Y)
    # An organizer's own np.savez (compressed, small dtypes) loads the same.
    other = tmp_path / "compressed.npz"
    np.savez_compressed(other, x=X, y=Y)
    assert canonical_bytes(*load_npz(other)) == canonical_bytes(X, Y)


def test_npz_refusals(tmp_path: Path):
    def write(name: str, **arrays) -> Path:
        path = tmp_path / name
        np.savez(path, **arrays)
        return path

    with pytest.raises(DatasetError, match="exactly arrays x and y"):
        load_npz(write("extra.npz", x=X, y=Y, z=Y))
    with pytest.raises(DatasetError, match="exactly arrays x and y"):
        load_npz(write("missing.npz", x=X))
    with pytest.raises(DatasetError, match="integers"):
        load_npz(write("float.npz", x=X.astype(np.float32), y=Y))
    objects = np.empty(3, dtype=object)
    objects[:] = [0, 1, 2]
    with pytest.raises(DatasetError, match="integers"):
        load_npz(write("pickle.npz", x=X, y=objects))  # never unpickled
    with pytest.raises(DatasetError, match="labels"):
        load_npz(write("labels.npz", x=X, y=Y), num_classes=2)
    with pytest.raises(DatasetError, match="exceeds"):
        load_npz(write("big.npz", x=X, y=Y), max_file_bytes=100)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(DatasetError, match="not an .npz"):
        load_npz(bad)


def test_npz_header_is_checked_before_the_data_is_read(tmp_path: Path):
    # A header promising 2^40 elements with almost no data behind it: refused by its shape.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<i8", "fortran_order": False, "shape": (1 << 20, 1 << 20)}
    )
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\x00" * 64)
        zf.writestr("y.npy", b"")
    with pytest.raises(DatasetError, match="elements"):
        load_npz(path)
    # A truncated data section is refused too.
    buf = io.BytesIO()
    np.save(buf, X.astype(np.int64))
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", buf.getvalue()[:-8])
        buf = io.BytesIO()
        np.save(buf, Y)
        zf.writestr("y.npy", buf.getvalue())
    with pytest.raises(DatasetError, match="data bytes"):
        load_npz(path)


def test_csv(tmp_path: Path):
    path = tmp_path / "test.csv"
    path.write_text("0,1,2,3,4\n2, 5,6,7,8\n1,0,0,0,+16\n\n")
    x, y = load_csv(path, input_shape=(2, 2), num_classes=3)
    assert canonical_bytes(x, y) == canonical_bytes(X, Y)
    flat, _ = load_csv(path)
    assert flat.shape == (3, 4)
    with_header = tmp_path / "header.csv"
    with_header.write_text("label,a,b,c,d\n" + path.read_text())
    assert canonical_bytes(*load_csv(with_header, header=True, input_shape=(2, 2))) == (
        canonical_bytes(X, Y)
    )
    for text, match in [
        ("0,1.0,2\n", "not an integer"),
        ("0,1,2\n1,2\n", "columns"),
        ("0,a,2\n", "not an integer"),
        ("0\n", "at least one feature"),
        ("", "no samples"),
        ("0,99999999999999999999,1\n", "64 bits"),
    ]:
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        with pytest.raises(DatasetError, match=match):
            load_csv(bad)
    with pytest.raises(DatasetError, match="input shape"):
        load_csv(path, input_shape=(3,))
    with pytest.raises(DatasetError, match="labels"):
        load_csv(path, num_classes=2)


def test_ml_package_never_uses_insecure_randomness():
    root = Path(__file__).resolve().parents[3] / "zkproofs" / "ml"
    pattern = re.compile(r"^\s*(import random|from random |.*numpy\.random|.*np\.random)", re.M)
    for source in root.glob("*.py"):
        assert not pattern.search(source.read_text()), source


# ------------------------------------------------------------------ size bounds


def _npy_header(shape, descr="<i8") -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return b"\x93NUMPY\x01\x00" + header.getvalue()[8:]


def _y_member() -> bytes:
    buf = io.BytesIO()
    np.save(buf, Y.astype(np.int64))
    return buf.getvalue()


def test_negative_dimension_is_refused_before_reading(tmp_path: Path):
    """A header with a negative dimension used to pass the element check (the product is
    negative) and make the reader take the whole decompressed stream: 1 MB of upload held
    2.2 GB. Here 2 MB of zeros compress to almost nothing; nothing of them may be read."""
    import tracemalloc

    path = tmp_path / "negative.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("x.npy", "w") as member:
            member.write(_npy_header((-1, 4)))
            for _ in range(32):
                member.write(bytes(1 << 16))
        zf.writestr("y.npy", _y_member())
    assert path.stat().st_size < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="invalid shape"):
            load_npz(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # the 2 MB stream was never read


def test_decompressed_size_is_bounded_before_reading(tmp_path: Path):
    """A legal compressed .npz far larger once decompressed (and stored as int64) is refused
    by the shape in its header, against max_data_bytes."""
    x = np.zeros((4096, 64), dtype=np.uint8)  # 256 KiB as uint8, 2 MiB as int64
    y = np.zeros(4096, dtype=np.uint8)
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, x=x, y=y)
    assert path.stat().st_size < 10_000
    with pytest.raises(DatasetTooLarge, match="once decompressed"):
        load_npz(path, max_data_bytes=1 << 20)
    # x fits alone; x and y together do not.
    with pytest.raises(DatasetTooLarge, match="y.npy"):
        load_npz(path, max_data_bytes=4096 * 64 * 8 + 4096 * 8 - 1)
    loaded, _ = load_npz(path, max_data_bytes=4096 * 65 * 8)
    assert loaded.shape == (4096, 64)


def test_csv_size_is_bounded_as_int64(tmp_path: Path):
    path = tmp_path / "small-digits.csv"
    path.write_text("0,1,2,3,4\n" * 100)  # 1 KB of text, 4 KB as int64
    with pytest.raises(DatasetTooLarge, match="once decompressed"):
        load_csv(path, max_data_bytes=2000)
    assert load_csv(path, max_data_bytes=4000)[0].shape == (100, 4)


def test_csv_field_over_the_csv_modules_limit_is_a_dataset_error(tmp_path: Path):
    path = tmp_path / "long-field.csv"
    path.write_text("0,1,2\n1," + "9" * 140_000 + ",3\n")
    with pytest.raises(DatasetError, match="line 2: not a valid CSV row"):
        load_csv(path)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(b"0,1,2\n1,\x00,3\n")
    with pytest.raises(DatasetError, match="line 2"):
        load_csv(nul)
