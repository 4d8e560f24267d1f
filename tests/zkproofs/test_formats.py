"""Binary encodings (docs/protocol.md §3, zkproofs/formats.py): round trips, and strict
rejection of every malformed header, length, point and scalar, on both backends' decoders
(the decoder is shared; points are decoded by the backend)."""

from __future__ import annotations

import dataclasses
import hashlib
import struct

import pytest
from py_ecc.optimized_bls12_381 import FQ, field_modulus, is_inf, multiply

from zkproofs import field, formats
from zkproofs import weights as W
from zkproofs.formats import FormatError
from zkproofs.rng import ProverRandomness

from .test_curve import curve_x, encoding_of, sqrt_p

R = field.MODULUS
P_MOD = field_modulus
COMPRESSED, INFINITY, SORT = 1 << 383, 1 << 382, 1 << 381
HEADER = 4 + 2 + 32
STATEMENT = b"zkarena/test formats"
WEIGHTS = [(v % 256) - 128 for v in range(600)]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def objects(binding):
    """Everything encoded once with the native backend; encodings are backend-independent
    (checked below), so both backends' decoders read these same bytes."""
    from zkproofs.params import get_params

    native = get_params("native")
    wc, wo, pok = W.commit_weights(native, WEIGHTS, binding, ProverRandomness.for_tests(b"w"))
    return {
        "native": native,
        "wc": wc,
        "wo": wo,
        "pok": pok,
        "enc_wc": formats.encode_weight_commitment(native, wc),
        "enc_pok": formats.encode_knowledge_proof(native, pok),
        "enc_wo": formats.encode_opening(native, wo),
    }


def decoders(params, objs):
    """name → (encoding, decode function) for the three object kinds."""
    return {
        "weight commitment": (
            objs["enc_wc"],
            lambda data: formats.decode_weight_commitment(params, data),
        ),
        "knowledge proof": (
            objs["enc_pok"],
            lambda data: formats.decode_knowledge_proof(params, data),
        ),
        "opening": (objs["enc_wo"], lambda data: formats.decode_opening(params, data)),
    }


KINDS = ["weight commitment", "knowledge proof", "opening"]
MAGICS = {
    "weight commitment": b"ZKCW",
    "knowledge proof": b"ZKPK",
    "opening": b"ZKWO",
}


def replaced(data: bytes, offset: int, new: bytes) -> bytes:
    assert offset + len(new) <= len(data)
    return data[:offset] + new + data[offset + len(new) :]


# ------------------------------------------------------------------ round trips


def test_weight_commitment_round_trip(params, objects, binding):
    enc = objects["enc_wc"]
    assert enc[:4] == b"ZKCW" and enc[4:6] == b"\x00\x01"
    assert enc[6:HEADER] == params.params_id
    assert len(enc) == HEADER + 4 + 2 * 48
    assert struct.unpack(">I", enc[HEADER : HEADER + 4]) == (2,)
    wc = formats.decode_weight_commitment(params, enc)
    assert formats.encode_weight_commitment(params, wc) == enc
    assert [params.backend.encode(r) for r in wc.rows] == [
        objects["native"].backend.encode(r) for r in objects["wc"].rows
    ]


def test_knowledge_proof_round_trip(params, objects, binding):
    enc = objects["enc_pok"]
    assert enc[:4] == b"ZKPK" and len(enc) == HEADER + 48 + 513 * 32
    pok = formats.decode_knowledge_proof(params, enc)
    assert formats.encode_knowledge_proof(params, pok) == enc
    assert field.to_ints(pok.z) == field.to_ints(objects["pok"].z)
    assert pok.z_t == objects["pok"].z_t
    if params.backend.name == "native":  # the decoded pair still verifies
        wc = formats.decode_weight_commitment(params, objects["enc_wc"])
        W.verify_knowledge(params, wc, pok, binding)


def test_opening_round_trip(params, objects):
    enc = objects["enc_wo"]
    assert enc[:4] == b"ZKWO" and len(enc) == HEADER + 8 + 2 * 512 * 32 + 2 * 32
    wo = formats.decode_opening(params, enc)
    assert formats.encode_opening(params, wo) == enc
    assert wo.weight_count == len(WEIGHTS)
    assert wo.blinds == objects["wo"].blinds
    assert field.to_ints(wo.values)[: len(WEIGHTS)] == [w % R for w in WEIGHTS]


# ------------------------------------------------------------------ headers and lengths


@pytest.mark.parametrize("kind", KINDS)
def test_header_and_length_rejections(params, objects, kind):
    enc, decode = decoders(params, objects)[kind]
    decode(enc)  # the unmodified bytes decode
    other_magic = next(m for k, m in MAGICS.items() if k != kind)
    other_id = hashlib.sha256(b"another params set").digest()
    bad = {
        "zero-length": b"",
        "magic only": enc[:4],
        "header only": enc[:HEADER],
        "truncated by one byte": enc[:-1],
        "one trailing byte": enc + b"\x00",
        "trailing point": enc + enc[-48:],
        "wrong magic": replaced(enc, 0, b"XXXX"),
        "another object's magic": replaced(enc, 0, other_magic),
        "lowercase magic": replaced(enc, 0, enc[:4].lower()),
        "version 0": replaced(enc, 4, b"\x00\x00"),
        "version 2": replaced(enc, 4, b"\x00\x02"),
        "version 256": replaced(enc, 4, b"\x01\x00"),
        "another params_id": replaced(enc, 6, other_id),
        "params_id with one bit flipped": replaced(enc, 37, bytes([enc[37] ^ 1])),
    }
    for name, data in bad.items():
        with pytest.raises(FormatError):
            decode(data)
            pytest.fail(f"{kind}: {name} was accepted")


@pytest.mark.parametrize("kind", KINDS)
def test_decoding_under_other_params_is_rejected(native, objects, kind):
    other = dataclasses.replace(native, params_id=hashlib.sha256(b"other").digest())
    enc, decode = decoders(other, objects)[kind]
    with pytest.raises(FormatError, match="params_id"):
        decode(enc)


class _NoPointDecoding:
    """Proves 'fails fast': the decoder must refuse from the header alone."""

    def __init__(self, monkeypatch):
        self.calls = 0

        def point(reader):
            self.calls += 1
            raise AssertionError("a point was decoded before the header was checked")

        monkeypatch.setattr(formats._Reader, "point", point)
        monkeypatch.setattr(formats._Reader, "vector", point)


@pytest.mark.parametrize("rows", [0, formats.MAX_ROWS + 1, 1 << 30, 2**32 - 1])
def test_weight_commitment_row_count_out_of_range(native, objects, monkeypatch, rows):
    enc = objects["enc_wc"]
    guard = _NoPointDecoding(monkeypatch)
    for data in (
        replaced(enc, HEADER, struct.pack(">I", rows)),
        enc[:HEADER] + struct.pack(">I", rows),  # a bare header, nothing behind it
    ):
        with pytest.raises(FormatError, match="row count"):
            formats.decode_weight_commitment(native, data)
    assert guard.calls == 0


@pytest.mark.parametrize("rows", [1, 3, formats.MAX_ROWS])
def test_weight_commitment_row_count_disagreeing_with_the_length(
    native, objects, monkeypatch, rows
):
    enc = objects["enc_wc"]
    guard = _NoPointDecoding(monkeypatch)
    with pytest.raises(FormatError, match="expected"):
        formats.decode_weight_commitment(native, replaced(enc, HEADER, struct.pack(">I", rows)))
    assert guard.calls == 0


@pytest.mark.parametrize(
    "count, rows",
    [
        (0, 2),  # no weights
        (512, 2),  # fits in one row: the second row would be all padding
        (1025, 2),  # more weights than rows hold
        (600, 0),
        (600, formats.MAX_ROWS + 1),
        (600, 1 << 30),
        (1 << 31, 1 << 30),
    ],
)
def test_opening_dimensions_out_of_range(native, objects, monkeypatch, count, rows):
    enc = objects["enc_wo"]
    guard = _NoPointDecoding(monkeypatch)
    with pytest.raises(FormatError):
        formats.decode_opening(native, replaced(enc, HEADER, struct.pack(">II", count, rows)))
    assert guard.calls == 0


def test_opening_dimensions_disagreeing_with_the_length(native, objects, monkeypatch):
    enc = objects["enc_wo"]
    guard = _NoPointDecoding(monkeypatch)
    for count, rows in ((1100, 3), (100, 1)):
        with pytest.raises(FormatError, match="expected"):
            formats.decode_opening(native, replaced(enc, HEADER, struct.pack(">II", count, rows)))
    assert guard.calls == 0


def test_opening_with_nonzero_padding_is_rejected(native, objects):
    """v is zero-padded to R_W·512 (docs/protocol.md §5): an opening whose padding is not
    zero is not an opening commit_weights can produce, so a strict decoder refuses it."""
    enc = objects["enc_wo"]
    last_padding = HEADER + 8 + 1023 * 32
    bad = {
        "padding value 1": replaced(enc, last_padding, field.encode_scalar(1)),
        # 600 values present but only 513 claimed: 87 non-zero values sit in the padding
        "count lowered to 513": replaced(enc, HEADER, struct.pack(">I", 513)),
    }
    for name, data in bad.items():
        with pytest.raises(FormatError):
            formats.decode_opening(native, data)
            pytest.fail(f"{name} was accepted")


# ------------------------------------------------------------------ points and scalars


def _subgroup_point_not_in_g1() -> bytes:
    """An affine point of E(Fp) whose cofactor was not cleared (so not in G1)."""
    x = curve_x(b"formats/off-subgroup", on_curve=True)
    return encoding_of(x, sqrt_p(x**3 + 4))


def bad_points(original: bytes) -> dict[str, bytes]:
    x = int.from_bytes(original, "big") & (SORT - 1)
    out = {
        "off-curve x": encoding_of(curve_x(b"formats/off-curve", on_curve=False), 0),
        "outside the prime-order subgroup": _subgroup_point_not_in_g1(),
        "identity alias 0xc0..01": b"\xc0" + bytes(46) + b"\x01",
        "identity alias 0xc1": b"\xc1" + bytes(47),
        "identity alias 0xe0": b"\xe0" + bytes(47),
        "infinity flag on the point": bytes([original[0] | 0x40]) + original[1:],
        "compression flag clear": bytes([original[0] & 0x7F]) + original[1:],
        "x = p": (COMPRESSED | P_MOD).to_bytes(48, "big"),
        "x = 2^381 - 1": (COMPRESSED | (SORT - 1)).to_bytes(48, "big"),
    }
    if x + P_MOD < SORT:
        alias = int.from_bytes(original, "big") + P_MOD
        out["x + p alias of the original"] = alias.to_bytes(48, "big")
    return out


BAD_SCALARS = {
    "r": R.to_bytes(32, "little"),
    "r + 1": (R + 1).to_bytes(32, "little"),
    "2^256 - 1": b"\xff" * 32,
}


def test_bad_point_fixtures_are_what_they_claim(native):
    x = curve_x(b"formats/off-subgroup", on_curve=True)
    y = sqrt_p(x**3 + 4)
    assert (y * y - x**3 - 4) % P_MOD == 0  # on the curve
    assert not is_inf(multiply((FQ(x), FQ(y), FQ.one()), R))  # but of order ≠ r
    assert sqrt_p(curve_x(b"formats/off-curve", on_curve=False) ** 3 + 4) is None
    assert P_MOD < SORT


def _offset(enc: bytes, needle: bytes) -> int:
    assert enc.count(needle) == 1
    return enc.index(needle)


def _cases(params, objects, kind):
    enc = objects[{"knowledge proof": "enc_pok", "weight commitment": "enc_wc",
                   "opening": "enc_wo"}[kind]]
    if kind == "knowledge proof":
        positions = {
            "A": ("point", HEADER),
            "z[0]": ("scalar", HEADER + 48),
            "z[511]": ("scalar", HEADER + 48 + 511 * 32),
            "z_t": ("scalar", len(enc) - 32),
        }
    elif kind == "weight commitment":
        positions = {"row 0": ("point", HEADER + 4), "row 1": ("point", HEADER + 4 + 48)}
    else:
        positions = {
            "value 0": ("scalar", HEADER + 8),
            "padding value": ("scalar", HEADER + 8 + 1023 * 32),
            "last blind": ("scalar", len(enc) - 32),
        }
    for where, (what, offset) in positions.items():
        if what == "point":
            for name, bad in bad_points(enc[offset : offset + 48]).items():
                yield f"{where}: {name}", replaced(enc, offset, bad)
        else:
            for name, bad in BAD_SCALARS.items():
                yield f"{where}: scalar {name}", replaced(enc, offset, bad)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_points_and_scalars_are_rejected(params, objects, kind):
    _, decode = decoders(params, objects)[kind]
    count = 0
    for name, data in _cases(params, objects, kind):
        with pytest.raises(FormatError, match="invalid (point|scalar)"):
            decode(data)
            pytest.fail(f"{kind}: {name} was accepted")
        count += 1
    # 9 or 10 bad encodings per point position (the x + p alias only where it fits)
    assert count >= {"weight commitment": 18, "knowledge proof": 18, "opening": 9}[kind]

