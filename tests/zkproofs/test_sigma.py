"""Σ-protocols: honest proofs verify, tampering is rejected, simulators verify (HVZK)."""

import pytest

from zkproofs import field, sigma
from zkproofs.commitments import commit_scalar, commit_vector
from zkproofs.errors import VerificationError
from zkproofs.rng import ProverRandomness
from zkproofs.transcript import Transcript

R = field.MODULUS


def T():
    return Transcript(b"zkarena/test/sigma")


def rng(seed=b"sigma"):
    return ProverRandomness.for_tests(seed)


def test_opening(params):
    C = commit_scalar(params, 42, 7)
    proof = sigma.prove_opening(T(), params, rng(), C, 42, 7)
    sigma.verify_opening(T(), params, C, proof)
    with pytest.raises(VerificationError):
        sigma.verify_opening(T(), params, commit_scalar(params, 43, 7), proof)
    with pytest.raises(VerificationError):
        sigma.verify_opening(
            T(), params, C, sigma.OpeningProof(proof.alpha, proof.z1 + 1, proof.z2)
        )
    # a prover who does not know the opening it claims fails
    bad = sigma.prove_opening(T(), params, rng(), C, 41, 7)
    with pytest.raises(VerificationError):
        sigma.verify_opening(T(), params, C, bad)


def test_equality(params):
    C1, C2 = commit_scalar(params, 9, 11), commit_scalar(params, 9, 5)
    proof = sigma.prove_equality(T(), params, rng(), C1, C2, 11, 5)
    sigma.verify_equality(T(), params, C1, C2, proof)
    C3 = commit_scalar(params, 10, 5)
    forged = sigma.prove_equality(T(), params, rng(), C1, C3, 11, 5)
    with pytest.raises(VerificationError):
        sigma.verify_equality(T(), params, C1, C3, forged)


def test_product(params):
    x, y = 6, 7
    X, Y, Z = (commit_scalar(params, v, b) for v, b in ((x, 1), (y, 2), (x * y, 3)))
    proof = sigma.prove_product(T(), params, rng(), X, Y, Z, x, 1, y, 2, 3)
    sigma.verify_product(T(), params, X, Y, Z, proof)
    Zbad = commit_scalar(params, x * y + 1, 3)
    forged = sigma.prove_product(T(), params, rng(), X, Y, Zbad, x, 1, y, 2, 3)
    with pytest.raises(VerificationError):
        sigma.verify_product(T(), params, X, Y, Zbad, forged)
    for i in range(5):
        z = list(proof.z)
        z[i] = (z[i] + 1) % R
        with pytest.raises(VerificationError):
            sigma.verify_product(
                T(),
                params,
                X,
                Y,
                Z,
                sigma.ProductProof(proof.alpha, proof.beta, proof.delta, tuple(z)),
            )


def test_dot_product(params):
    a = field.vec([3, 1, 4, 1, 5])
    x = field.vec([9, 2, 6, 5, 3])
    y = field.dot(a, x)
    Cx, Cy = commit_vector(params, x, 17), commit_scalar(params, y, 19)
    proof = sigma.prove_dot_product(T(), params, rng(), Cx, Cy, a, x, 17, 19)
    sigma.verify_dot_product(T(), params, Cx, Cy, a, proof)
    # another public vector, a wrong inner product, a response of another length
    with pytest.raises(VerificationError):
        sigma.verify_dot_product(T(), params, Cx, Cy, field.vec([3, 1, 4, 1, 6]), proof)
    Cbad = commit_scalar(params, y + 1, 19)
    forged = sigma.prove_dot_product(T(), params, rng(), Cx, Cbad, a, x, 17, 19)
    with pytest.raises(VerificationError):
        sigma.verify_dot_product(T(), params, Cx, Cbad, a, forged)
    short = sigma.DotProductProof(proof.delta, proof.beta, proof.z[:4], proof.z_delta, proof.z_beta)
    with pytest.raises(VerificationError):
        sigma.verify_dot_product(T(), params, Cx, Cy, a, short)


def test_simulators_produce_accepting_transcripts(native):
    """Honest-verifier zero knowledge: for any challenge, a transcript that verifies can
    be produced without the witness (statements here are arbitrary commitments)."""
    p = native
    r = rng(b"sim")
    C1, C2, C3 = (commit_scalar(p, v, b) for v, b in ((5, 6), (7, 8), (9, 10)))
    Cv = commit_vector(p, field.vec([1, 2, 3]), 4)
    a = field.vec([5, 6, 7])
    for c in (1, 2, R - 1, 0x1234567890ABCDEF):
        assert sigma.check_opening(p, C1, sigma.simulate_opening(p, C1, c, r), c)
        assert sigma.check_equality(p, C1, C2, sigma.simulate_equality(p, C1, C2, c, r), c)
        assert sigma.check_product(p, C1, C2, C3, sigma.simulate_product(p, C1, C2, C3, c, r), c)
        assert sigma.check_dot_product(
            p, Cv, C3, a, sigma.simulate_dot_product(p, Cv, C3, a, c, r), c
        )
        # …and a simulated transcript is tied to its challenge
        assert not sigma.check_opening(p, C1, sigma.simulate_opening(p, C1, c, r), c + 1)


def test_proofs_differ_between_runs(native):
    C = commit_scalar(native, 1, 2)
    p1 = sigma.prove_opening(T(), native, ProverRandomness(), C, 1, 2)
    p2 = sigma.prove_opening(T(), native, ProverRandomness(), C, 1, 2)
    assert native.backend.encode(p1.alpha) != native.backend.encode(p2.alpha)
    assert {p1.z1, p1.z2}.isdisjoint({p2.z1, p2.z2})
