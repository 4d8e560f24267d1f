"""The two group backends: RFC 9380 vectors, strict decoding, MSM, and byte-for-byte agreement.

Inputs are derived from SHA-512 so every run checks the same values. The reference backend
costs milliseconds per scalar multiplication, so large cross-checks compute their naive
sums with the native backend and compare encodings.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_arkworks_bls12381 import G1Point
from py_ecc.optimized_bls12_381 import FQ, G1, field_modulus, is_inf, multiply, normalize

from zkproofs import field
from zkproofs.curve import BACKENDS, POINT_BYTES, PointDecodeError, get_backend
from zkproofs.curve import native as native_module
from zkproofs.curve import reference as reference_module

R = field.MODULUS
P = field_modulus
TEST_DST = b"ZKARENA-TEST-CURVE-BLS12381G1_XMD:SHA-256_SSWU_RO_"
IDENTITY_BYTES = b"\xc0" + bytes(47)
COMPRESSED, INFINITY, SORT = 1 << 383, 1 << 382, 1 << 381

NATIVE = get_backend("native")
REFERENCE = get_backend("reference")


@pytest.fixture(params=BACKENDS)
def backend(request):
    return get_backend(request.param)


def derived(tag: bytes, i: int, bits: int | None = None) -> int:
    """A deterministic scalar in [0, r), or in [0, 2^bits) if bits is given."""
    x = int.from_bytes(hashlib.sha512(tag + i.to_bytes(8, "big")).digest(), "big")
    return x % R if bits is None else x % (1 << bits)


def encoding_of(x: int, y: int) -> bytes:
    """The compressed encoding of an affine point, written out from the ZCash format."""
    flags = COMPRESSED | (SORT if y > (P - 1) // 2 else 0)
    return (flags | x).to_bytes(POINT_BYTES, "big")


def sqrt_p(a: int) -> int | None:
    y = pow(a, (P + 1) // 4, P)
    return y if y * y % P == a % P else None


def curve_x(tag: bytes, *, on_curve: bool) -> int:
    """The first SHA-512-derived x in [0, p) that is (or is not) the abscissa of a point."""
    for i in range(1000):
        x = int.from_bytes(hashlib.sha512(tag + bytes([i])).digest(), "big") % P
        if (sqrt_p(x**3 + 4) is not None) == on_curve:
            return x
    raise AssertionError("unreachable: half of all x are abscissas")


def points(backend, n: int, tag: bytes = b"points"):
    """n distinct points: two hashed ones, then each the sum of the previous two.

    Sums are cheap on the reference backend where hashing costs milliseconds, and they
    leave the reference points in non-normalised projective form, which MSM must handle.
    """
    pts = [backend.hash_to_curve(tag + bytes([i]), TEST_DST) for i in range(min(n, 2))]
    while len(pts) < n:
        pts.append(backend.add(pts[-1], pts[-2]))
    return pts


def naive_msm(backend, pts, scalars):
    acc = backend.identity()
    for p, k in zip(pts, scalars, strict=True):
        acc = backend.add(acc, backend.mul(p, k))
    return acc


def xy(backend, point) -> tuple[int, int]:
    if backend is NATIVE:
        raw = point.to_xy_bytes_be()
        return int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big")
    x, y = normalize(point)
    return x.n, y.n


# Mixed kinds of scalar: zero, one, small, small negative, full width, and the boundaries
# where the native backend starts sending r − k as k·(−P).
def mixed_scalar(i: int) -> int:
    kind = i % 8
    if kind == 0:
        return 0
    if kind == 1:
        return 1
    if kind == 2:
        return derived(b"small", i, 8)
    if kind == 3:
        return R - derived(b"small", i, 8) - 1
    if kind == 4:
        return [R - 1, R - 2**64, R - 2**64 + 1, 2**64 - 1, 2**64][i // 8 % 5]
    return derived(b"full", i)


# ---------------------------------------------------------------- the registry


def test_get_backend_returns_cached_named_backends():
    assert BACKENDS == ("native", "reference")
    for name in BACKENDS:
        assert get_backend(name) is get_backend(name)
        assert get_backend(name).name == name
    with pytest.raises(ValueError, match="unknown group backend"):
        get_backend("blst")
    assert POINT_BYTES == 48
    assert issubclass(PointDecodeError, ValueError)


# ---------------------------------------------------------------- RFC 9380, Appendix J.9.1

RFC_DST = b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_"
RFC_VECTORS = [
    (
        b"",
        0x052926ADD2207B76CA4FA57A8734416C8DC95E24501772C814278700EED6D1E4E8CF62D9C09DB0FAC349612B759E79A1,
        0x08BA738453BFED09CB546DBB0783DBB3A5F1F566ED67BB6BE0E8C67E2E81A4CC68EE29813BB7994998F3EAE0C9C6A265,
    ),
    (
        b"abc",
        0x03567BC5EF9C690C2AB2ECDF6A96EF1C139CC0B2F284DCA0A9A7943388A49A3AEE664BA5379A7655D3C68900BE2F6903,
        0x0B9C15F3FE6E5CF4211F346271D7B01C8F3B28BE689C8429C85B67AF215533311F0B8DFAAA154FA6B88176C229F2885D,
    ),
    (
        b"abcdef0123456789",
        0x11E0B079DEA29A68F0383EE94FED1B940995272407E3BB916BBF268C263DDD57A6A27200A784CBC248E84F357CE82D98,
        0x03A87AE2CAF14E8EE52E51FA2ED8EEFE80F02457004BA4D486D6AA1F517C0889501DC7413753F9599B099EBCBBD2D709,
    ),
    (
        b"q128_" + b"q" * 128,
        0x15F68EAA693B95CCB85215DC65FA81038D69629F70AEEE0D0F677CF22285E7BF58D7CB86EEFE8F2E9BC3F8CB84FAC488,
        0x1807A1D50C29F430B8CAFC4F8638DFEEADF51211E1602A5F184443076715F91BB90A48BA1E370EDCE6AE1062F5E6DD38,
    ),
    (
        b"a512_" + b"a" * 512,
        0x082AABAE8B7DEDB0E78AEB619AD3BFD9277A2F77BA7FAD20EF6AABDC6C31D19BA5A6D12283553294C1825C4B3CA2DCFE,
        0x05B84AE5A942248EEA39E1D91030458C40153F3B654AB7872D779AD1E942856A20C438E8D99BC8ABFBF74729CE1F7AC8,
    ),
]


@pytest.mark.parametrize(("msg", "x", "y"), RFC_VECTORS, ids=lambda v: repr(v)[:12])
def test_hash_to_curve_matches_rfc9380(backend, msg, x, y):
    assert (y * y - x**3 - 4) % P == 0  # the pinned vector itself is a curve point
    point = backend.hash_to_curve(msg, RFC_DST)
    assert xy(backend, point) == (x, y)
    assert backend.encode(point) == encoding_of(x, y)


def test_hash_to_curve_argument_order_matters():
    # Swapped arguments silently give another valid point: the vectors above catch that.
    assert NATIVE.encode(NATIVE.hash_to_curve(b"abc", RFC_DST)) != NATIVE.encode(
        NATIVE.hash_to_curve(RFC_DST, b"abc")
    )


def test_hash_to_curve_dst_length_limits(backend):
    for dst in (b"", b"x" * 256):
        with pytest.raises(ValueError, match="DST"):
            backend.hash_to_curve(b"m", dst)


def test_hash_to_curve_long_dst_agrees():
    dst = b"d" * 255
    assert NATIVE.encode(NATIVE.hash_to_curve(b"m", dst)) == REFERENCE.encode(
        REFERENCE.hash_to_curve(b"m", dst)
    )


# ---------------------------------------------------------------- group operations agree


def test_group_operations_agree_byte_for_byte():
    a_n, b_n = points(NATIVE, 2, b"ops")
    a_r, b_r = points(REFERENCE, 2, b"ops")
    k = derived(b"k", 0)
    pairs = [
        (a_n, a_r),
        (NATIVE.add(a_n, b_n), REFERENCE.add(a_r, b_r)),
        (NATIVE.add(a_n, a_n), REFERENCE.add(a_r, a_r)),
        (NATIVE.sub(a_n, b_n), REFERENCE.sub(a_r, b_r)),
        (NATIVE.neg(a_n), REFERENCE.neg(a_r)),
        (NATIVE.mul(a_n, k), REFERENCE.mul(a_r, k)),
        (NATIVE.msm([a_n, b_n], [k, 7]), REFERENCE.msm([a_r, b_r], [k, 7])),
    ]
    for p_n, p_r in pairs:
        assert NATIVE.encode(p_n) == REFERENCE.encode(p_r)
        assert xy(NATIVE, p_n) == xy(REFERENCE, p_r)
    for p_n, p_r in pairs:  # each decodes the other's encoding to an equal point
        assert NATIVE.eq(NATIVE.decode(REFERENCE.encode(p_r)), p_n)
        assert REFERENCE.eq(REFERENCE.decode(NATIVE.encode(p_n)), p_r)


def test_identity_laws(backend):
    a, b = points(backend, 2, b"laws")
    o = backend.identity()
    assert backend.is_identity(o) and not backend.is_identity(a)
    assert backend.is_identity(backend.add(a, backend.neg(a)))
    assert backend.is_identity(backend.sub(a, a))
    assert backend.eq(backend.add(a, o), a) and backend.eq(backend.add(o, a), a)
    assert backend.eq(backend.sub(backend.add(a, b), b), a)
    assert not backend.eq(a, b) and not backend.eq(a, o) and backend.eq(o, backend.mul(a, 0))
    assert backend.encode(o) == IDENTITY_BYTES
    assert backend.is_identity(backend.decode(IDENTITY_BYTES))


def test_mul_reduces_k_mod_r(backend):
    a = points(backend, 1, b"mul")[0]
    k = derived(b"k", 1)
    ka = backend.encode(backend.mul(a, k))
    assert backend.encode(backend.mul(a, k + R)) == ka
    assert backend.encode(backend.mul(a, k + 5 * R)) == ka
    assert backend.encode(backend.mul(a, k - R)) == ka
    assert backend.encode(backend.mul(a, -k)) == backend.encode(backend.neg(backend.mul(a, k)))
    assert backend.encode(backend.mul(a, -1)) == backend.encode(backend.neg(a))
    assert backend.encode(backend.mul(a, R - 1)) == backend.encode(backend.neg(a))
    assert backend.encode(backend.mul(a, 1)) == backend.encode(a)
    assert backend.is_identity(backend.mul(a, R))
    assert backend.is_identity(backend.mul(a, 0))
    assert backend.encode(backend.mul(a, 2)) == backend.encode(backend.add(a, a))


def test_mul_agrees_across_backends():
    a_n, a_r = points(NATIVE, 1, b"mulx")[0], points(REFERENCE, 1, b"mulx")[0]
    for k in (0, 1, 2, -1, R - 1, R, R + 3, -(R + 3), 2**300 + 17, derived(b"k", 2)):
        assert NATIVE.encode(NATIVE.mul(a_n, k)) == REFERENCE.encode(REFERENCE.mul(a_r, k)), k


# ---------------------------------------------------------------- decoding


def test_decode_round_trip_and_negation_by_sort_bit(backend):
    a = points(backend, 1, b"dec")[0]
    enc = backend.encode(a)
    assert len(enc) == POINT_BYTES
    assert backend.eq(backend.decode(enc), a)
    assert backend.eq(backend.decode(bytearray(enc)), a)
    assert backend.eq(backend.decode(memoryview(enc)), a)
    flipped = bytes([enc[0] ^ 0x20]) + enc[1:]
    assert backend.eq(backend.decode(flipped), backend.neg(a))
    assert backend.encode(backend.neg(a)) == flipped


def _valid_encoding_with_small_x() -> bytes:
    # A subgroup point whose x + p still fits in 381 bits, so x + p is a real alias.
    g = NATIVE.hash_to_curve(b"g", TEST_DST)
    for k in range(1, 200):
        enc = NATIVE.encode(NATIVE.mul(g, k))
        if int.from_bytes(enc, "big") & (SORT - 1) < (1 << 381) - P:
            return enc
    raise AssertionError("unreachable: about one point in five qualifies")


def _not_in_subgroup() -> tuple[int, int]:
    """An affine point of E(Fp) outside G1: an abscissa and its root, no cofactor cleared."""
    x = curve_x(b"off-subgroup", on_curve=True)
    return x, sqrt_p(x**3 + 4)


def _bad_encodings() -> dict[str, bytes]:
    valid = NATIVE.encode(NATIVE.hash_to_curve(b"valid", TEST_DST))
    small_x = _valid_encoding_with_small_x()
    x_sub, y_sub = _not_in_subgroup()
    off_curve_x = curve_x(b"off-curve", on_curve=False)
    torsion = multiply((FQ(x_sub), FQ(y_sub), FQ.one()), R)  # order divides the cofactor
    tx, ty = normalize(torsion)
    return {
        "empty": b"",
        "47 bytes": valid[:47],
        "49 bytes": valid + b"\x00",
        "compression bit clear": bytes([valid[0] & 0x7F]) + valid[1:],
        "uncompressed-size": valid + valid,
        "infinity with nonzero x": b"\xc0" + bytes(46) + b"\x01",
        "infinity with high x bit": b"\xc1" + bytes(47),
        "infinity with sort bit": b"\xe0" + bytes(47),
        "all ones": b"\xff" * 48,
        "infinity flag on a point": bytes([valid[0] | 0x40]) + valid[1:],
        "identity without compression": bytes(48),
        "x = p": (COMPRESSED | P).to_bytes(48, "big"),
        "x = 2^381 - 1": (COMPRESSED | (SORT - 1)).to_bytes(48, "big"),
        "x + p alias": (int.from_bytes(small_x, "big") + P).to_bytes(48, "big"),
        "x not on curve": encoding_of(off_curve_x, 0),
        "order-3 point (0, 2)": encoding_of(0, 2),
        "order-3 point (0, -2)": encoding_of(0, P - 2),
        "on curve, outside subgroup": encoding_of(x_sub, y_sub),
        "on curve, outside subgroup, negated": encoding_of(x_sub, P - y_sub),
        "cofactor torsion point": encoding_of(tx.n, ty.n),
    }


BAD_ENCODINGS = _bad_encodings()


def test_bad_encoding_fixtures_are_what_they_claim():
    x, y = _not_in_subgroup()
    pt = (FQ(x), FQ(y), FQ.one())
    assert (y * y - x**3 - 4) % P == 0 and not is_inf(multiply(pt, R))
    assert not is_inf(multiply((FQ(0), FQ(2), FQ.one()), R))
    small_x = _valid_encoding_with_small_x()
    assert NATIVE.decode(small_x) is not None  # the aliased point itself is valid


@pytest.mark.parametrize("name", sorted(BAD_ENCODINGS))
def test_decode_rejects(backend, name):
    with pytest.raises(PointDecodeError):
        backend.decode(BAD_ENCODINGS[name])


def test_decode_refuses_non_bytes(backend):
    with pytest.raises(TypeError):
        backend.decode(48)  # bytes(48) would silently be 48 zero bytes


_VALID = [NATIVE.encode(NATIVE.hash_to_curve(bytes([i]), TEST_DST)) for i in range(4)]


def _mutated(draw_enc: bytes, bit: int) -> bytes:
    z = int.from_bytes(draw_enc, "big") ^ (1 << bit)
    return z.to_bytes(48, "big")


encodings = st.one_of(
    st.binary(min_size=48, max_size=48),
    st.builds(_mutated, st.sampled_from(_VALID), st.integers(0, 383)),
    st.sampled_from(_VALID + [IDENTITY_BYTES]),
)


@settings(max_examples=60, deadline=None)
@given(encodings)
def test_backends_agree_on_every_accept_and_reject(data):
    outcomes = []
    for b in (NATIVE, REFERENCE):
        try:
            outcomes.append(b.encode(b.decode(data)))
        except PointDecodeError:
            outcomes.append(None)
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] in (None, data)


# ---------------------------------------------------------------- the subgroup check


def test_subgroup_check_endomorphism_constants():
    beta, z = reference_module._BETA, reference_module._Z_ABS
    assert pow(beta, 3, P) == 1 and beta != 1
    # φ(G) = −z²·G for this β; the other cube root β² would give λ² instead.
    lam = -(z * z) % R
    g_lam = normalize(multiply(G1, lam))
    gx, gy = normalize(G1)
    assert (gx * beta, gy) == g_lam
    assert (gx * (beta * beta % P), gy) != g_lam


def test_subgroup_check_matches_multiplication_by_r():
    x, y = _not_in_subgroup()
    outside = (FQ(x), FQ(y), FQ.one())
    inside = REFERENCE.hash_to_curve(b"inside", TEST_DST)
    torsion = multiply(outside, R)
    cases = [
        inside,
        multiply(G1, 5),
        REFERENCE.identity(),
        outside,
        (FQ(0), FQ(2), FQ.one()),
        torsion,
        REFERENCE.add(inside, torsion),  # subgroup point plus a small-order component
    ]
    for i in range(3):
        xi = curve_x(b"more" + bytes([i]), on_curve=True)
        cases.append((FQ(xi), FQ(sqrt_p(xi**3 + 4)), FQ.one()))
    verdicts = [reference_module.in_subgroup(pt) for pt in cases]
    assert verdicts == [is_inf(multiply(pt, R)) for pt in cases]
    assert verdicts[:3] == [True] * 3 and not any(verdicts[3:])


# ---------------------------------------------------------------- MSM


def test_msm_length_mismatch(backend):
    pts = points(backend, 2, b"len")
    for scalars in ([1], [1, 2, 3], field.vec([1]), field.vec([1, 2, 3])):
        with pytest.raises(ValueError):
            backend.msm(pts, scalars)
    with pytest.raises(ValueError):
        backend.msm([], [1])


def test_msm_empty_is_identity(backend):
    assert backend.is_identity(backend.msm([], []))
    assert backend.is_identity(backend.msm([], field.zeros(0)))


def test_msm_rejects_unreduced_int_scalars(backend):
    pts = points(backend, 2, b"range")
    for bad in (-1, R, R + 1, 2**256):
        with pytest.raises(ValueError, match=r"\[0, r\)"):
            backend.msm(pts, [1, bad])


def test_msm_special_scalars(backend):
    pts = points(backend, 3, b"special")
    a = pts[0]
    assert backend.is_identity(backend.msm(pts, [0, 0, 0]))
    assert backend.eq(backend.msm(pts, [1, 0, 0]), a)
    assert backend.eq(backend.msm(pts, [R - 1, 0, 0]), backend.neg(a))
    assert backend.is_identity(backend.msm([a, a], [1, R - 1]))
    assert backend.is_identity(backend.msm([a, backend.neg(a)], [5, 5]))
    assert backend.eq(backend.msm([a, a, a], [1, 1, 1]), backend.mul(a, 3))
    big = derived(b"big", 0)
    assert backend.eq(backend.msm([a, backend.identity()], [big, big]), backend.mul(a, big))
    assert backend.eq(
        backend.msm(pts, [big, R - 1, 1]),
        backend.add(backend.mul(pts[0], big), backend.sub(pts[2], pts[1])),
    )


def test_msm_special_scalars_agree():
    scalars = [0, 1, R - 1, R - 2, 2**64 - 1, 2**64, R - 2**64, R - 2**64 + 1, R // 2,
               R // 2 + 1, derived(b"x", 0)]  # fmt: skip
    pts_n, pts_r = points(NATIVE, len(scalars), b"sp"), points(REFERENCE, len(scalars), b"sp")
    expected = NATIVE.encode(naive_msm(NATIVE, pts_n, scalars))
    assert NATIVE.encode(NATIVE.msm(pts_n, scalars)) == expected
    assert NATIVE.encode(NATIVE.msm(pts_n, field.vec(scalars))) == expected
    assert REFERENCE.encode(REFERENCE.msm(pts_r, scalars)) == expected
    assert REFERENCE.encode(REFERENCE.msm(pts_r, field.vec(scalars))) == expected


@pytest.mark.parametrize("n", [1, 2, 3, 17])
def test_msm_matches_naive_sum(backend, n):
    pts = points(backend, n, b"naive")
    scalars = [mixed_scalar(i + 5) for i in range(n)]  # starts at a full-width scalar
    expected = backend.encode(naive_msm(backend, pts, scalars))
    assert backend.encode(backend.msm(pts, scalars)) == expected
    assert backend.encode(backend.msm(pts, field.vec(scalars))) == expected


def test_msm_600_on_both_backends():
    n = 600
    scalars = [mixed_scalar(i) for i in range(n)]
    pts_n = points(NATIVE, n, b"600")
    expected = NATIVE.encode(naive_msm(NATIVE, pts_n, scalars))
    assert NATIVE.encode(NATIVE.msm(pts_n, scalars)) == expected
    assert NATIVE.encode(NATIVE.msm(pts_n, field.vec(scalars))) == expected
    pts_r = points(REFERENCE, n, b"600")
    assert REFERENCE.encode(REFERENCE.msm(pts_r, scalars)) == expected


SHAPES = {
    "bits": lambda i: derived(b"b", i, 1),
    "all ones": lambda i: 1,
    "all zero": lambda i: 0,
    "5-bit": lambda i: derived(b"b", i, 5),
    "8-bit": lambda i: derived(b"b", i, 8),
    "minus ones": lambda i: R - derived(b"b", i, 1),
    "small signed": lambda i: (derived(b"s", i, 16) - 2**15) % R,
    "full": lambda i: derived(b"f", i),
}


@pytest.mark.parametrize(
    ("kind", "n", "bucketed"),
    [
        ("bits", 300, True),
        ("bits", 5, False),  # too few points to be worth bucketing
        ("all ones", 300, True),
        ("all zero", 300, False),
        ("5-bit", 300, True),
        ("8-bit", 300, False),  # 2^9 bucket additions would outweigh 300 points
        ("8-bit", 1100, True),
        ("minus ones", 300, True),  # negated points, magnitude 1
        ("small signed", 300, False),
        ("full", 300, False),
    ],
)
def test_native_msm_scalar_shapes(monkeypatch, kind, n, bucketed):
    # Each shape takes a different path through the native MSM's scalar preparation.
    calls = []
    bucket_sum = native_module._bucket_sum
    monkeypatch.setattr(
        native_module, "_bucket_sum", lambda *args: calls.append(1) or bucket_sum(*args)
    )
    scalars = [SHAPES[kind](i) % R for i in range(n)]
    pts = points(NATIVE, n, b"shapes")
    expected = NATIVE.encode(naive_msm(NATIVE, pts, scalars))
    assert NATIVE.encode(NATIVE.msm(pts, scalars)) == expected
    assert NATIVE.encode(NATIVE.msm(pts, field.vec(scalars))) == expected
    assert NATIVE.encode(NATIVE.msm(tuple(pts), scalars)) == expected
    assert bool(calls) == bucketed


def test_msm_accepts_integer_arrays(backend):
    pts = points(backend, 3, b"arr")
    values = np.array([-1, 0, 7], dtype=np.int64)
    expected = backend.add(backend.neg(pts[0]), backend.mul(pts[2], 7))
    assert backend.eq(backend.msm(pts, values), expected)


def test_native_fast_scalar_bytes_match_field_encoding():
    # The Montgomery shortcut must stay in use (it is 15x faster) and stay exact.
    assert native_module._canonical_bytes is native_module._canonical_bytes_via_mont
    v = field.vec([0, 1, R - 1, 2**64, *(derived(b"e", i) for i in range(50))])
    assert native_module._canonical_bytes(v) == field.encode_vec(v)
    assert native_module._canonical_bytes(v[::3]) == field.encode_vec(v[::3])


def test_native_msm_leaves_input_points_alone():
    # msm negates some points itself; the inputs stay untouched.
    pts = points(NATIVE, 2, b"untouched")
    before = [NATIVE.encode(p) for p in pts]
    NATIVE.msm(pts, [R - 3, 2])
    assert [NATIVE.encode(p) for p in pts] == before
    assert all(isinstance(p, G1Point) for p in pts)


# ---------------------------------------------------------------- the reference Pippenger


@pytest.mark.parametrize("window", [1, 2, 3, 4, 5, 7, 8, 9])
def test_pippenger_windows_match_naive(window):
    base = points(REFERENCE, 3, b"pip")
    # Duplicates and a point with its negation make buckets double and cancel; the identity
    # and zero scalars must be skipped; 8- and 16-bit scalars sit exactly on window edges.
    pts = [*base, base[0], REFERENCE.neg(base[1]), REFERENCE.identity()]
    scalars = [0xFF, 0xFFFF, 0x8000, 0xFF, 0xFFFF, 12345]
    expected = naive_msm(REFERENCE, pts, scalars)
    assert REFERENCE.eq(reference_module.pippenger(pts, scalars, window), expected)
    assert REFERENCE.is_identity(reference_module.pippenger(pts, [0] * 6, window))


def test_pippenger_window_wider_than_scalars():
    pts = points(REFERENCE, 3, b"narrow")
    scalars = [3, 0, 17]
    expected = naive_msm(REFERENCE, pts, scalars)
    for window in (5, 6, 10):
        assert REFERENCE.eq(reference_module.pippenger(pts, scalars, window), expected)


def test_pippenger_full_width():
    pts = points(REFERENCE, 2, b"wide")
    scalars = [R - 1, derived(b"w", 0)]
    expected = naive_msm(REFERENCE, pts, scalars)
    for window in (1, 6):
        assert REFERENCE.eq(reference_module.pippenger(pts, scalars, window), expected)
    with pytest.raises(ValueError):
        reference_module.pippenger(pts, scalars, 0)


def test_window_size_grows_with_n():
    sizes = [reference_module.window_size(n, 255) for n in (1, 16, 512, 2**16)]
    assert sizes == sorted(sizes) and sizes[0] >= 1 and sizes[-1] <= 16
    assert reference_module.window_size(1000, 1) == 1
