"""The reference group backend: py_ecc's ``optimized_bls12_381`` and Python ints.

It is slow (pure Python) and shares no code with arkworks, so agreement between the two
backends, byte for byte, is evidence that both are right. Points are py_ecc's homogeneous
projective triples (X, Y, Z) of FQ, affine (X/Z, Y/Z); Z = 0 is the identity.

py_ecc supplies the field and curve arithmetic, point compression and RFC 9380 hashing.
What it lacks is written here: a bucket (Pippenger) MSM and strict decoding, including
the prime-order subgroup check that py_ecc 8's ``decompress_G1`` skips.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Sequence

import numpy as np
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import compress_G1
from py_ecc.optimized_bls12_381 import (
    FQ,
    Z1,
    add,
    curve_order,
    double,
    field_modulus,
    is_inf,
    multiply,
    neg,
)

from .. import field
from .base import POINT_BYTES, PointDecodeError

Point = tuple[FQ, FQ, FQ]

_P = field_modulus
_R = field.MODULUS
if curve_order != _R:
    raise ImportError("py_ecc's group order differs from field.MODULUS")
_B = 4  # E: y^2 = x^3 + 4
_MAX_DST = 255

# Flag bits of the ZCash compressed encoding (most significant bits of 48 bytes).
_COMPRESSED = 1 << 383
_INFINITY = 1 << 382
_SORT = 1 << 381  # y is the larger of y and p − y
_X_MASK = _SORT - 1

# Subgroup membership. φ(x, y) = (βx, y), with β a primitive cube root of unity in Fp, is
# an endomorphism of E. On G1 it acts as multiplication by −z², z = −0xd201000000010000
# the BLS parameter, and a point of E(Fp) lies in G1 iff φ(P) = −z²·P (Scott, "A note on
# group membership tests for G1, G2 and GT on BLS pairing-friendly curves", 2021, §6).
# |z| is 64 bits with six bits set, so this costs about 3 ms where r·P costs about 10 ms.
# The tests check it against r·P = O, and that this β (not β²) is the one matching −z².
_BETA = 0x5F19672FDF76CE51BA69C6076A0F77EADDB3A93BE6F89688DE17D813620A00022E01FFFFFFFEFFFE
_Z_ABS = 0xD201000000010000


def _eq(a: Point, b: Point) -> bool:
    if is_inf(a) or is_inf(b):
        return is_inf(a) and is_inf(b)
    return a[0] * b[2] == b[0] * a[2] and a[1] * b[2] == b[1] * a[2]


def in_subgroup(pt: Point) -> bool:
    """Whether a point of E(Fp) lies in the prime-order subgroup G1."""
    if is_inf(pt):
        return True
    z_sq_p = multiply(multiply(pt, _Z_ABS), _Z_ABS)
    phi = (pt[0] * _BETA, pt[1], pt[2])
    return _eq(phi, neg(z_sq_p))


def _check_dst(dst: bytes) -> None:
    # RFC 9380: tags are non-empty; py_ecc does not implement the rule for tags longer
    # than 255 bytes. The native backend refuses the same tags.
    if not 0 < len(dst) <= _MAX_DST:
        raise ValueError(f"hash-to-curve DST must be 1 to {_MAX_DST} bytes")


# ---------------------------------------------------------------- Pippenger MSM


def window_size(n: int, bits: int) -> int:
    """The bucket width c minimising the additions of an n-term, bits-wide MSM.

    Each of the ⌈bits/c⌉ windows costs n additions into buckets plus about 2·2^c to
    combine the buckets.
    """
    return min(range(1, 17), key=lambda c: -(-bits // c) * (n + (2 << c)))


def pippenger(points: Sequence[Point], scalars: Sequence[int], window: int | None = None) -> Point:
    """Σ kᵢ·Pᵢ for non-negative ints kᵢ by the bucket method.

    Scalars are cut into c-bit digits. Per window, bucket d collects the points whose
    digit is d, and Σ d·bucket[d] comes from running sums; windows are combined from the
    most significant down with c doublings in between. Empty buckets are None so they
    cost nothing.
    """
    terms = [(p, k) for p, k in zip(points, scalars, strict=True) if k and not is_inf(p)]
    if not terms:
        return Z1
    bits = max(k for _, k in terms).bit_length()
    c = window if window is not None else window_size(len(terms), bits)
    if c < 1:
        raise ValueError("the Pippenger window must be at least 1 bit")
    mask = (1 << c) - 1

    acc: Point | None = None
    for shift in range((bits - 1) // c * c, -1, -c):
        if acc is not None:
            for _ in range(c):
                acc = double(acc)
        buckets: list[Point | None] = [None] * (mask + 1)
        for p, k in terms:
            d = (k >> shift) & mask
            if d:
                bucket = buckets[d]
                buckets[d] = p if bucket is None else add(bucket, p)
        # After visiting digit d, running = Σ_{e ≥ d} bucket[e]; adding running into
        # window_sum at every d counts bucket[e] exactly e times.
        running: Point | None = None
        window_sum: Point | None = None
        for d in range(mask, 0, -1):
            bucket = buckets[d]
            if bucket is not None:
                running = bucket if running is None else add(running, bucket)
            if running is not None:
                window_sum = running if window_sum is None else add(window_sum, running)
        if window_sum is not None:
            acc = window_sum if acc is None else add(acc, window_sum)
    return Z1 if acc is None else acc


# ---------------------------------------------------------------- the backend


class ReferenceBackend:
    name = "reference"

    def identity(self) -> Point:
        return Z1

    def hash_to_curve(self, msg: bytes, dst: bytes) -> Point:
        dst = bytes(dst)
        _check_dst(dst)
        # py_ecc's order is (message, DST, hash); arkworks' is (msg, dst).
        return hash_to_G1(bytes(msg), dst, hashlib.sha256)

    def add(self, a: Point, b: Point) -> Point:
        return add(a, b)

    def sub(self, a: Point, b: Point) -> Point:
        return add(a, neg(b))

    def neg(self, a: Point) -> Point:
        return neg(a)

    def mul(self, a: Point, k: int) -> Point:
        k = operator.index(k) % _R
        if k > _R // 2:  # the shorter of k and r − k: fewer doublings
            return neg(multiply(a, _R - k))
        return multiply(a, k)

    def msm(self, points: Sequence[Point], scalars: Sequence[int] | np.ndarray) -> Point:
        n = len(points)
        if len(scalars) != n:
            raise ValueError(f"msm of {n} points with {len(scalars)} scalars")
        if isinstance(scalars, np.ndarray):
            ks = field.to_ints(field.vec(scalars))
        else:
            ks = [operator.index(k) for k in scalars]
            if any(not 0 <= k < _R for k in ks):
                raise ValueError("msm scalars must lie in [0, r)")
        # Signed digits at the scalar level: k > r/2 becomes (r − k)·(−P), so small
        # negative values stay short and no scalar exceeds 254 bits.
        half = _R // 2
        signed_pts = [neg(p) if k > half else p for p, k in zip(points, ks, strict=True)]
        signed_ks = [_R - k if k > half else k for k in ks]
        return pippenger(signed_pts, signed_ks)

    def eq(self, a: Point, b: Point) -> bool:
        return _eq(a, b)

    def is_identity(self, a: Point) -> bool:
        return is_inf(a)

    def encode(self, a: Point) -> bytes:
        return int(compress_G1(a)).to_bytes(POINT_BYTES, "big")

    def to_affine_bytes(self, a: Point) -> bytes:
        if is_inf(a):
            raise ValueError("the identity has no affine coordinates")
        zinv = FQ.one() / a[2]
        x, y = int(a[0] * zinv), int(a[1] * zinv)
        return x.to_bytes(48, "little") + y.to_bytes(48, "little")

    def from_affine_bytes_trusted(self, data: bytes) -> Point:
        data = bytes(data)
        return (FQ(int.from_bytes(data[:48], "little")), FQ(int.from_bytes(data[48:], "little")),
                FQ.one())

    def decode(self, data: bytes) -> Point:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("decode takes bytes")
        data = bytes(data)
        if len(data) != POINT_BYTES:
            raise PointDecodeError(f"a G1 point is {POINT_BYTES} bytes, got {len(data)}")
        z = int.from_bytes(data, "big")
        if not z & _COMPRESSED:
            raise PointDecodeError("compression flag is clear")
        x = z & _X_MASK
        if z & _INFINITY:
            if z & _SORT or x:
                raise PointDecodeError("identity encoding with other bits set")
            return Z1
        if x >= _P:
            raise PointDecodeError("x coordinate is not reduced mod p")
        rhs = (pow(x, 3, _P) + _B) % _P
        y = pow(rhs, (_P + 1) // 4, _P)  # p ≡ 3 (mod 4): the square root if there is one
        if y * y % _P != rhs:
            raise PointDecodeError("x is not the abscissa of a curve point")
        # E(Fp) has no 2-torsion, so y ≠ 0 and the sort flag always picks one of two roots.
        if bool(z & _SORT) != (y > (_P - 1) // 2):
            y = _P - y
        point = (FQ(x), FQ(y), FQ.one())
        if not in_subgroup(point):
            raise PointDecodeError("point is not in the prime-order subgroup")
        if self.encode(point) != data:  # cannot differ after the checks above; cheap to keep
            raise PointDecodeError("non-canonical G1 point encoding")
        return point
