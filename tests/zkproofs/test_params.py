"""The parameter set: pinned known answers on both backends, params_id recomputed from its
documented construction (docs/protocol.md §2), and distinct, non-trivial generators."""

from __future__ import annotations

import hashlib
import struct

import pytest

from zkproofs import params as params_module
from zkproofs.params import (
    BLINDING_BASE_MESSAGE,
    GENERATOR_DST,
    KAPPA,
    PARAMS_VERSION,
    ROW_WIDTH,
    SCALAR_BASE_MESSAGE,
    get_params,
    vector_generator_message,
)

# Computed once from the code and checked equal on both backends; any change to the
# hash-to-curve suite, the tags, the encoding or the construction of params_id shows here.
PARAMS_ID_HEX = "782d5fa1e298f6877c4c3c8856457ffa11d1f33dca5a8a820a1dda2a31ac56e3"
PINNED_HEX = {
    "G_0": "a88195303ef0f667a77f6232441897a1ddb5c1e60ca70bfc4d42623cd987e5a3"
    "faef1ae5fcfaaede80bb19c870598fa0",
    "G_1": "b692d8130690d257e3d1a39b2bcfb50a9303d4d704923ff985b1ee232d09c6f8"
    "19060b70f93e50781b661d2a55b73b3e",
    "G_511": "b2d11ced18ca568947fcd6258a0ef31bc2f238fe6b7232b98b63ae430bca3682"
    "53be258727bff4301497de66a188fd90",
    "g": "aad678de4423f76890a4472bcd21f3b20cb227d27dd4d9f62acc2ab5981cb923"
    "17a9c6d60df70378e9f1385fac37fa57",
    "H": "93012cc68e7a24fe13590eb21e1b5dba20234c66d9ed6c5150a63139382d325f"
    "7a44b8709ec1ca2ac6aeeb40acb7b0aa",
}


def _named(params):
    return {
        "G_0": params.G[0],
        "G_1": params.G[1],
        "G_511": params.G[511],
        "g": params.g,
        "H": params.H,
    }


def test_documented_constants():
    assert KAPPA == 9 and ROW_WIDTH == 512 and PARAMS_VERSION == 1
    assert GENERATOR_DST == b"ZKARENA-V1-GENERATORS-BLS12381G1_XMD:SHA-256_SSWU_RO_"
    assert vector_generator_message(0) == b"\x00\x00\x00\x00zkarena/v1/G"
    assert vector_generator_message(511) == b"\x00\x00\x01\xffzkarena/v1/G"
    assert SCALAR_BASE_MESSAGE == b"zkarena/v1/g"
    assert BLINDING_BASE_MESSAGE == b"zkarena/v1/H"


def test_params_id_is_pinned(params):
    assert params.params_id.hex() == PARAMS_ID_HEX
    assert len(params.params_id) == 32


@pytest.mark.parametrize("name", sorted(PINNED_HEX))
def test_generator_encodings_are_pinned(params, name):
    assert params.backend.encode(_named(params)[name]).hex() == PINNED_HEX[name]


def test_backends_agree_on_every_generator(native, reference):
    assert native.params_id == reference.params_id
    assert native.row_width == reference.row_width == ROW_WIDTH
    enc_n = [native.backend.encode(p) for p in (*native.G, native.g, native.H)]
    enc_r = [reference.backend.encode(p) for p in (*reference.G, reference.g, reference.H)]
    assert enc_n == enc_r


def test_generators_are_the_documented_hash_to_curve_outputs(params):
    """G_i = H2C(u32be(i) ‖ "zkarena/v1/G"), g and H likewise, under the documented DST."""
    grp = params.backend
    for i in (0, 1, 2, 255, 256, 510, 511):
        expected = grp.hash_to_curve(struct.pack(">I", i) + b"zkarena/v1/G", GENERATOR_DST)
        assert grp.eq(params.G[i], expected), i
    assert grp.eq(params.g, grp.hash_to_curve(b"zkarena/v1/g", GENERATOR_DST))
    assert grp.eq(params.H, grp.hash_to_curve(b"zkarena/v1/H", GENERATOR_DST))


def _documented_params_id(encodings: list[bytes]) -> bytes:
    """docs/protocol.md §2, written out independently of params.py."""
    dst = b"ZKARENA-V1-GENERATORS-BLS12381G1_XMD:SHA-256_SSWU_RO_"
    data = (
        b"zkarena/params"
        + (1).to_bytes(2, "big")  # version
        + (9).to_bytes(2, "big")  # κ
        + len(dst).to_bytes(2, "big")
        + dst
        + b"".join(encodings)
    )
    return hashlib.sha256(data).digest()


def test_params_id_matches_the_documented_construction(params):
    grp = params.backend
    encodings = [grp.encode(p) for p in (*params.G, params.g, params.H)]
    assert len(encodings) == 514 and all(len(e) == 48 for e in encodings)
    assert _documented_params_id(encodings) == params.params_id
    # and it commits to every generator and to their order
    swapped = [encodings[1], encodings[0], *encodings[2:]]
    assert _documented_params_id(swapped) != params.params_id
    gh_swapped = [*encodings[:-2], encodings[-1], encodings[-2]]
    assert _documented_params_id(gh_swapped) != params.params_id


def test_params_id_depends_on_the_version_and_kappa(native, monkeypatch):
    grp = native.backend
    G, g, H = native.G, native.g, native.H
    base = params_module._compute_params_id(grp, G, g, H)
    assert base == native.params_id
    monkeypatch.setattr(params_module, "PARAMS_VERSION", 2)
    assert params_module._compute_params_id(grp, G, g, H) != base
    monkeypatch.setattr(params_module, "PARAMS_VERSION", 1)
    monkeypatch.setattr(params_module, "KAPPA", 8)
    assert params_module._compute_params_id(grp, G, g, H) != base


def test_generators_are_pairwise_distinct_and_not_the_identity(params):
    grp = params.backend
    gens = (*params.G, params.g, params.H)
    assert len(gens) == ROW_WIDTH + 2
    encodings = [grp.encode(p) for p in gens]
    assert len(set(encodings)) == len(gens)
    identity = grp.encode(grp.identity())
    assert identity == b"\xc0" + bytes(47)
    assert identity not in encodings
    assert not any(grp.is_identity(p) for p in gens)
    # no generator is the negation of another (a sign slip in a table would show here)
    negations = {grp.encode(grp.neg(p)) for p in gens}
    assert negations.isdisjoint(encodings)


def test_generators_decode_back_strictly(params):
    """Each encoding is canonical: decode (with its subgroup check) and re-encode."""
    grp = params.backend
    for p in _named(params).values():
        enc = grp.encode(p)
        assert grp.encode(grp.decode(enc)) == enc


def test_get_params_is_cached():
    assert get_params("native") is get_params("native")
    with pytest.raises(ValueError):
        get_params("no-such-backend")
