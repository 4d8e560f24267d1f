"""Binary encodings (docs/protocol.md §3, zkproofs/formats.py): round trips, and strict
rejection of every malformed header, length, point and scalar, on both backends' decoders
(the decoder is shared; points are decoded by the backend)."""

from __future__ import annotations

import dataclasses
import hashlib
import struct

import pytest
from py_ecc.optimized_bls12_381 import FQ, field_modulus, is_inf, multiply

from zkproofs import field, formats, spartan
from zkproofs import weights as W
from zkproofs.formats import FormatError
from zkproofs.rng import ProverRandomness

from .circuits import chain_circuit
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
    inst = chain_circuit(5, 3, 1)
    iwc, iwo, _ = W.commit_weights(
        native, inst.weights, binding, ProverRandomness.for_tests(b"iw")
    )
    proof = spartan.prove(
        native,
        inst.r1cs,
        inst.assignment,
        statement=STATEMENT,
        weight_commitment=iwc,
        weight_opening=iwo,
        rng=ProverRandomness.for_tests(b"p"),
    )
    shape = formats.ProofShape(inst.r1cs.m_x, inst.r1cs.m_y, inst.r1cs.aux_rows)
    return {
        "native": native,
        "wc": wc,
        "wo": wo,
        "pok": pok,
        "inst": inst,
        "iwc": iwc,
        "proof": proof,
        "shape": shape,
        "enc_wc": formats.encode_weight_commitment(native, wc),
        "enc_pok": formats.encode_knowledge_proof(native, pok),
        "enc_wo": formats.encode_opening(native, wo),
        "enc_proof": formats.encode_proof(native, proof),
    }


def decoders(params, objs):
    """name → (encoding, decode function) for the four object kinds."""
    shape = objs["shape"]
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
        "proof": (objs["enc_proof"], lambda data: formats.decode_proof(params, data, shape)),
    }


KINDS = ["weight commitment", "knowledge proof", "opening", "proof"]
MAGICS = {
    "weight commitment": b"ZKCW",
    "knowledge proof": b"ZKPK",
    "opening": b"ZKWO",
    "proof": b"ZKAP",
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


def test_spartan_proof_round_trip(params, objects):
    enc, shape = objects["enc_proof"], objects["shape"]
    assert enc[:4] == b"ZKAP"
    assert len(enc) == formats.proof_length(params, shape)
    assert formats.read_proof_shape(enc) == shape
    proof = formats.decode_proof(params, enc, shape)
    assert formats.encode_proof(params, proof) == enc
    if params.backend.name == "native":
        inst = objects["inst"]
        spartan.verify(
            params,
            inst.r1cs,
            inst.assignment.io,
            proof,
            statement=STATEMENT,
            weight_commitment=objects["iwc"],
        )


def test_proof_length_formula_matches_the_documented_layout(native, objects):
    """Recount §6's elements by hand: per sumcheck round 4 points and d+3 scalars."""
    m_x, m_y, aux = 3, 11, 1
    shape = formats.ProofShape(m_x, m_y, aux)
    assert objects["shape"] == shape
    points = aux + 4 * m_x + 4 + 1 + 3 + 1 + 4 * m_y + 1 + 2 + 1
    scalars = 6 * m_x + 2 + 5 + 1 + 5 * m_y + (512 + 2) + 1
    assert formats.proof_length(native, shape) == HEADER + 12 + 48 * points + 32 * scalars


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


@pytest.mark.parametrize("field_index, name", [(0, "m_x"), (1, "m_y"), (2, "aux_rows")])
@pytest.mark.parametrize("delta", [-1, 1])
def test_proof_dimensions_other_than_expected(params, objects, field_index, name, delta):
    enc, shape = objects["enc_proof"], objects["shape"]
    dims = [shape.m_x, shape.m_y, shape.aux_rows]
    dims[field_index] += delta
    other = formats.ProofShape(*dims)
    # the header claims other dimensions than the verifier's circuit
    tampered = replaced(enc, HEADER, struct.pack(">III", *dims))
    with pytest.raises(FormatError, match="dimensions"):
        formats.decode_proof(params, tampered, shape)
    # the same bytes against a verifier expecting another shape
    with pytest.raises(FormatError, match="dimensions"):
        formats.decode_proof(params, enc, other)
    # header and expectation agree, but the bytes do not have that length
    with pytest.raises(FormatError):
        formats.decode_proof(params, tampered, other)


@pytest.mark.parametrize(
    "dims",
    [(formats.MAX_ROUNDS + 1, 11, 1), (3, 1 << 30, 1), (3, 11, formats.MAX_ROWS + 1),
     (2**32 - 1, 2**32 - 1, 2**32 - 1)],
)
def test_huge_proof_dimensions_fail_fast(native, objects, monkeypatch, dims):
    enc = objects["enc_proof"]
    guard = _NoPointDecoding(monkeypatch)
    tampered = replaced(enc, HEADER, struct.pack(">III", *dims))
    with pytest.raises(FormatError):
        formats.decode_proof(native, tampered, formats.ProofShape(*dims))
    assert guard.calls == 0


def test_read_proof_shape_on_garbage(objects):
    enc = objects["enc_proof"]
    assert formats.read_proof_shape(enc) == objects["shape"]
    for data in (
        b"",
        b"ZKAP",
        enc[: HEADER + 11],
        b"\x00" * 100,
        hashlib.sha512(b"garbage").digest() * 4,
        objects["enc_wc"],
        objects["enc_pok"],
        replaced(enc, 0, b"ZKCW"),
    ):
        with pytest.raises(FormatError):
            formats.read_proof_shape(data)


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


REFERENCE_LAST_POINT_CASES = (
    "off-curve x",
    "outside the prime-order subgroup",
    "identity alias 0xe0",
)

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


def proof_positions(params, objects) -> dict[str, tuple[str, int]]:
    """Named positions in the proof encoding: (kind, byte offset)."""
    grp, proof, enc = objects["native"].backend, objects["proof"], objects["enc_proof"]
    scalar = field.encode_scalar
    first_z = field.to_ints(proof.phase1.rounds[0].proof.z)[0]
    pos = {
        "first point (C_A[0])": ("point", _offset(enc, grp.encode(proof.aux_commitments[0]))),
        "middle point (CA)": ("point", _offset(enc, grp.encode(proof.claim_commitments[0]))),
        "last point": ("point", _offset(enc, grp.encode(proof.phase2_equality.alpha))),
        "first scalar": ("scalar", _offset(enc, scalar(first_z))),
        "middle scalar (opening z1)": ("scalar", _offset(enc, scalar(proof.cz_opening.z1))),
        "last scalar": ("scalar", _offset(enc, scalar(proof.phase2_equality.z))),
    }
    # the layout the search found is the documented one
    assert pos["first point (C_A[0])"][1] == HEADER + 12
    assert pos["first scalar"][1] == HEADER + 12 + 48 + 4 * 48
    assert pos["last scalar"][1] == len(enc) - 32
    assert pos["last point"][1] == len(enc) - 32 - 48
    return pos


def _cases(params, objects, kind):
    enc = objects[{"proof": "enc_proof", "knowledge proof": "enc_pok",
                   "weight commitment": "enc_wc", "opening": "enc_wo"}[kind]]
    if kind == "proof":
        positions = proof_positions(params, objects)
    elif kind == "knowledge proof":
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
            cases = bad_points(enc[offset : offset + 48])
            if params.backend.name == "reference" and where == "last point":
                # the pure-Python decoder spends ~0.35 s on the ~100 points before it;
                # one bad encoding of each kind of check is enough there
                cases = {k: cases[k] for k in REFERENCE_LAST_POINT_CASES}
            for name, bad in cases.items():
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
    assert count >= {"weight commitment": 18, "knowledge proof": 18, "opening": 9,
                     "proof": 30}[kind]


def test_positions_are_real_points_and_scalars(native, objects):
    """Positive control for the position table: a valid point or a canonical scalar put
    at each position decodes, and lands in the field it was meant for."""
    enc, shape = objects["enc_proof"], objects["shape"]
    grp = native.backend
    new_point = grp.encode(grp.mul(native.g, 12345))
    for where, (what, offset) in proof_positions(native, objects).items():
        new = new_point if what == "point" else field.encode_scalar(R - 1)
        proof = formats.decode_proof(native, replaced(enc, offset, new), shape)
        again = formats.encode_proof(native, proof)
        assert again[offset : offset + len(new)] == new, where
    # a zero scalar (canonical, if suspicious) and the identity point are valid encodings
    proof = formats.decode_proof(native, replaced(enc, len(enc) - 32, bytes(32)), shape)
    assert proof.phase2_equality.z == 0
    identity = b"\xc0" + bytes(47)
    proof = formats.decode_proof(native, replaced(enc, HEADER + 12, identity), shape)
    assert grp.is_identity(proof.aux_commitments[0])
