"""The interface every group backend implements.

Backends do group operations only; protocol code, field arithmetic and randomness are
shared, so two backends fed the same inputs produce byte-identical proofs. Points are
opaque backend objects: protocol code never looks inside them and compares them through
``eq`` or their encodings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..errors import FormatError

POINT_BYTES = 48

Point = Any


class PointDecodeError(FormatError):
    """Bytes that are not the canonical compressed encoding of a G1 subgroup point."""


class GroupBackend(Protocol):
    name: str

    def identity(self) -> Point: ...

    def hash_to_curve(self, msg: bytes, dst: bytes) -> Point:
        """RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_ with domain separation tag dst."""

    def add(self, a: Point, b: Point) -> Point: ...

    def sub(self, a: Point, b: Point) -> Point: ...

    def neg(self, a: Point) -> Point: ...

    def mul(self, a: Point, k: int) -> Point:
        """k·a for any Python int k (reduced mod r by the backend)."""

    def msm(self, points: Sequence[Point], scalars: Sequence[int] | np.ndarray) -> Point:
        """Σ scalars[i]·points[i]; scalars are ints in [0, r) or a field.FR vector.
        Lengths must match exactly (ValueError otherwise)."""

    def eq(self, a: Point, b: Point) -> bool: ...

    def is_identity(self, a: Point) -> bool: ...

    def encode(self, a: Point) -> bytes:
        """ZCash compressed encoding, 48 bytes."""

    def to_affine_bytes(self, a: Point) -> bytes:
        """96 bytes: the affine x and y, each 48 bytes little-endian (not the identity).
        Only the generator cache uses this layout."""

    def from_affine_bytes_trusted(self, data: bytes) -> Point:
        """The inverse of ``to_affine_bytes`` WITHOUT any check: only for bytes whose
        SHA-256 has been compared with a pinned value (the generator cache)."""

    def decode(self, data: bytes) -> Point:
        """Strict decoding: exactly 48 bytes, valid flag bits, x < p, on the curve, in
        the prime-order subgroup, and re-encoding equals the input. Raises
        PointDecodeError on any failure."""
