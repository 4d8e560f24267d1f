"""The commit phase (docs/protocol.md §5): row commitments to the weight segment and the
proof of knowledge of their opening, bound to competition, submitter and architecture."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid

import numpy as np
import pytest

from zkproofs import field
from zkproofs import weights as W
from zkproofs.commitments import commit_vector
from zkproofs.errors import VerificationError
from zkproofs.rng import ProverRandomness

R = field.MODULUS
# int8-like quantized weights of both signs, spilling into a second row.
def det_ints(label: str, n: int, bound: int) -> list[int]:
    """n deterministic integers in [0, bound), from SHA-256 of label/i."""
    return [int.from_bytes(hashlib.sha256(f"{label}/{i}".encode()).digest(), "big") % bound
            for i in range(n)]


WEIGHTS = [(v % 256) - 128 for v in det_ints("weights/int8", 600, 256)]


def commit(params, weights, binding, seed=b"commit"):
    rng = None if seed is None else ProverRandomness.for_tests(seed)
    return W.commit_weights(params, weights, binding, rng)


@pytest.fixture(scope="module")
def committed(binding):
    """(params, commitment, opening, proof) per backend, built once."""
    from zkproofs.params import get_params

    out = {}
    for name in ("native", "reference"):
        p = get_params(name)
        out[name] = (p, *commit(p, WEIGHTS, binding))
    return out


def _encode_all(params, commitment, proof):
    grp = params.backend
    return (
        [grp.encode(r) for r in commitment.rows],
        grp.encode(proof.A),
        field.to_ints(proof.z),
        proof.z_t,
    )


# ------------------------------------------------------------------ completeness


@pytest.mark.parametrize("backend", ["native", "reference"])
def test_round_trip(committed, binding, backend):
    params, commitment, opening, proof = committed[backend]
    assert len(commitment.rows) == 2
    assert opening.weight_count == len(WEIGHTS)
    W.verify_knowledge(params, commitment, proof, binding)


def test_backends_are_byte_identical_and_cross_verify(committed, binding):
    pn, cn, on, prn = committed["native"]
    pr, cr, or_, prr = committed["reference"]
    assert _encode_all(pn, cn, prn) == _encode_all(pr, cr, prr)
    assert on.blinds == or_.blinds
    assert field.to_ints(on.values) == field.to_ints(or_.values)

    # the reference prover's output under the native verifier (points moved over as
    # bytes); the reference verifier already accepted the byte-identical native output's
    # twin in test_round_trip
    def moved(grp_from, grp_to, points):
        return tuple(grp_to.decode(grp_from.encode(p)) for p in points)

    c_moved = W.WeightCommitment(moved(pr.backend, pn.backend, cr.rows))
    (a_moved,) = moved(pr.backend, pn.backend, [prr.A])
    W.verify_knowledge(pn, c_moved, dataclasses.replace(prr, A=a_moved), binding)
    # and a rejection on the reference verifier: the same proof under another submitter
    other = dataclasses.replace(binding, submitter_id=uuid.UUID(int=2).bytes)
    with pytest.raises(VerificationError):
        W.verify_knowledge(pr, cr, prr, other)


def test_same_seed_same_output_other_seed_other_output(native, binding):
    a = _encode_all(native, *commit(native, WEIGHTS, binding, b"s")[::2])
    b = _encode_all(native, *commit(native, WEIGHTS, binding, b"s")[::2])
    c = _encode_all(native, *commit(native, WEIGHTS, binding, b"t")[::2])
    assert a == b
    assert a != c


def test_commitment_is_the_documented_row_commitment(native, binding):
    """C_W[i] = Σ_j row_i[j]·G_j + ρ_i·H with the opening's values and blinds."""
    commitment, opening, _ = commit(native, WEIGHTS, binding)
    grp = native.backend
    values = field.to_ints(opening.values)
    for i, (row, blind) in enumerate(zip(commitment.rows, opening.blinds, strict=True)):
        expected = grp.msm([*native.G, native.H], values[i * 512 : (i + 1) * 512] + [blind])
        assert grp.eq(row, expected)
        # the same sum split differently: G_0 and H by single multiplications
        partial = grp.add(grp.mul(native.G[0], values[i * 512]), grp.mul(native.H, blind))
        rest = grp.msm(list(native.G[1:]), values[i * 512 + 1 : (i + 1) * 512])
        assert grp.eq(row, grp.add(partial, rest))


# ------------------------------------------------------------------ soundness / binding


@pytest.fixture(scope="module")
def two_rows(binding):
    from zkproofs.params import get_params

    p = get_params("native")
    return (p, *commit(p, WEIGHTS, binding))


def _other(binding, **changes):
    return dataclasses.replace(binding, **changes)


@pytest.mark.parametrize(
    "change",
    [
        {"submitter_id": uuid.UUID("00000000-0000-4000-8000-000000000002").bytes},
        {"competition_digest": hashlib.sha256(b"another competition").digest()},
        {"architecture_digest": hashlib.sha256(b"another architecture").digest()},
    ],
    ids=["submitter", "competition", "architecture"],
)
def test_proof_is_bound_to_its_context(two_rows, binding, change):
    params, commitment, _, proof = two_rows
    W.verify_knowledge(params, commitment, proof, binding)
    with pytest.raises(VerificationError):
        W.verify_knowledge(params, commitment, proof, _other(binding, **change))


def test_proof_is_bound_to_the_params(two_rows, binding):
    params, commitment, _, proof = two_rows
    other = dataclasses.replace(params, params_id=hashlib.sha256(b"other params").digest())
    with pytest.raises(VerificationError):
        W.verify_knowledge(other, commitment, proof, binding)
    flipped = bytes([params.params_id[0] ^ 1]) + params.params_id[1:]
    with pytest.raises(VerificationError):
        W.verify_knowledge(dataclasses.replace(params, params_id=flipped), commitment, proof,
                           binding)


def test_changed_added_or_removed_rows_are_rejected(two_rows, binding):
    params, commitment, _, proof = two_rows
    grp = params.backend
    rows = commitment.rows
    variants = {
        "row 0 changed": (grp.add(rows[0], params.g),) + rows[1:],
        "row 1 changed": rows[:1] + (grp.add(rows[1], params.H),),
        "rows swapped": (rows[1], rows[0]),
        "row added": rows + (rows[0],),
        "identity row added": rows + (grp.identity(),),
        "last row removed": rows[:1],
        "first row removed": rows[1:],
    }
    for name, bad in variants.items():
        with pytest.raises(VerificationError):
            W.verify_knowledge(params, W.WeightCommitment(bad), proof, binding)
            pytest.fail(f"{name} was accepted")
    with pytest.raises(VerificationError, match="at least one row"):
        W.verify_knowledge(params, W.WeightCommitment(()), proof, binding)


def test_mutated_A_is_rejected(two_rows, binding):
    params, commitment, _, proof = two_rows
    grp = params.backend
    for bad_a in (grp.add(proof.A, params.g), grp.neg(proof.A), grp.identity(), params.H):
        with pytest.raises(VerificationError):
            W.verify_knowledge(params, commitment, dataclasses.replace(proof, A=bad_a), binding)


@pytest.mark.parametrize("position", [0, 1, 2, 100, 255, 256, 510, 511])
def test_any_mutated_z_entry_is_rejected(two_rows, binding, position):
    params, commitment, _, proof = two_rows
    for delta in (1, R - 1):
        z = proof.z.copy()
        z[position : position + 1] = z[position : position + 1] + field.const(delta)
        assert field.to_ints(z) != field.to_ints(proof.z)
        with pytest.raises(VerificationError):
            W.verify_knowledge(params, commitment, dataclasses.replace(proof, z=z), binding)


def test_mutated_z_t_is_rejected(two_rows, binding):
    params, commitment, _, proof = two_rows
    for z_t in ((proof.z_t + 1) % R, (proof.z_t - 1) % R, 0):
        with pytest.raises(VerificationError):
            W.verify_knowledge(params, commitment, dataclasses.replace(proof, z_t=z_t), binding)


def test_z_of_the_wrong_length_is_rejected(two_rows, binding):
    params, commitment, _, proof = two_rows
    for z in (proof.z[:-1], np.concatenate([proof.z, field.vec([0])]), field.zeros(0)):
        with pytest.raises(VerificationError, match="length"):
            W.verify_knowledge(params, commitment, dataclasses.replace(proof, z=z), binding)


def test_proof_for_other_weights_is_rejected(native, binding):
    c1, _, p1 = commit(native, WEIGHTS, binding, b"a")
    c2, _, p2 = commit(native, [w + 1 for w in WEIGHTS], binding, b"a")
    W.verify_knowledge(native, c2, p2, binding)
    with pytest.raises(VerificationError):
        W.verify_knowledge(native, c1, p2, binding)
    with pytest.raises(VerificationError):
        W.verify_knowledge(native, c2, p1, binding)


# ------------------------------------------------------------------ embedding and layout


def test_weights_of_any_sign_and_size_embed_mod_r(native, binding):
    ws = [-128, -1, 0, 1, 127, 2**40, -(2**40), 2**300 + 7, -(2**300), R, R + 5, -R]
    commitment, opening, proof = commit(native, ws, binding)
    assert field.to_ints(opening.values)[: len(ws)] == [w % R for w in ws]
    W.verify_knowledge(native, commitment, proof, binding)
    # the commitment opens to the reduced values with its blind
    assert native.backend.eq(
        commitment.rows[0], commit_vector(native, [w % R for w in ws], opening.blinds[0])
    )
    assert field.signed(field.to_ints(opening.values)[0]) == -128


def test_numpy_int8_weights_embed_like_python_ints(native, binding):
    arr = np.array(WEIGHTS, dtype=np.int8)
    assert arr.min() < 0
    c_np, o_np, p_np = commit(native, arr, binding, b"same")
    c_py, o_py, p_py = commit(native, WEIGHTS, binding, b"same")
    assert field.to_ints(o_np.values) == field.to_ints(o_py.values)
    assert field.to_ints(o_np.values)[: len(WEIGHTS)] == [w % R for w in WEIGHTS]
    assert _encode_all(native, c_np, p_np) == _encode_all(native, c_py, p_py)


@pytest.mark.parametrize(
    "count, rows", [(1, 1), (511, 1), (512, 1), (513, 2), (1024, 2), (1025, 3)]
)
def test_row_count_and_zero_padding(native, binding, count, rows):
    ws = [(i % 255) + 1 for i in range(count)]  # no weight is zero, so padding is visible
    commitment, opening, proof = commit(native, ws, binding)
    assert W.weight_rows(count, 512) == rows == -(-count // 512)
    assert len(commitment.rows) == rows == len(opening.blinds)
    values = field.to_ints(opening.values)
    assert len(values) == rows * 512
    assert values[:count] == ws
    assert all(v == 0 for v in values[count:])
    assert opening.weight_count == count
    assert len(proof.z) == 512
    W.verify_knowledge(native, commitment, proof, binding)


def test_no_weights_is_refused(native, binding):
    with pytest.raises(ValueError):
        commit(native, [], binding)


def test_row_blinds_are_nonzero_and_distinct(native, binding):
    _, opening, _ = commit(native, list(range(5 * 512)), binding, seed=None)
    assert len(opening.blinds) == 5
    assert all(0 < b < R for b in opening.blinds)
    assert len(set(opening.blinds)) == 5


# ------------------------------------------------------------------ hiding


def test_two_commitments_to_the_same_weights_differ_in_every_row(native, binding):
    ws = [0] * 1025  # the most guessable weights there are
    c1, o1, p1 = commit(native, ws, binding, seed=None)  # OS randomness
    c2, o2, p2 = commit(native, ws, binding, seed=None)
    grp = native.backend
    for r1, r2 in zip(c1.rows, c2.rows, strict=True):
        assert grp.encode(r1) != grp.encode(r2)
    assert set(o1.blinds).isdisjoint(o2.blinds)
    assert grp.encode(p1.A) != grp.encode(p2.A)
    assert set(field.to_ints(p1.z)).isdisjoint(field.to_ints(p2.z))
    # an all-zero row without its blind would be the identity
    assert not any(grp.is_identity(r) for r in c1.rows)


def test_z_is_the_combined_row_masked_by_the_nonce(native, binding):
    """Simulator-style: z = d + e·Σα_i·row_i where A = Com(d; t) commits to the mask; z is
    not the weights, and with small weights every entry of z is still a large field
    element (a uniform one is below 2^64 with probability 2^-190)."""
    commitment, opening, proof = commit(native, WEIGHTS, binding)
    t = W._pok_transcript(native, binding, commitment)
    alphas = t.challenge_scalars(b"alpha", len(commitment.rows))
    t.absorb_points(b"A", [native.backend.encode(proof.A)])
    e = t.challenge_scalar(b"e")
    values = field.to_ints(opening.values)
    combined = [
        sum(a * values[i * 512 + j] for i, a in enumerate(alphas)) % R for j in range(512)
    ]
    d = [(zj - e * cj) % R for zj, cj in zip(field.to_ints(proof.z), combined, strict=True)]
    t_blind = (proof.z_t - e * sum(a * b for a, b in zip(alphas, opening.blinds, strict=True))) % R
    assert native.backend.eq(proof.A, commit_vector(native, d, t_blind))

    z = field.to_ints(proof.z)
    assert z != values[:512] and z != values[512:] and z != combined
    assert set(z).isdisjoint(w % R for w in WEIGHTS)
    assert all(1 << 64 < v < R - (1 << 64) for v in z)
    assert proof.z_t not in opening.blinds
