"""Σ-protocols (docs/protocol.md §v2.4): honest proofs pass the batched check, tampered
proofs and wrong statements are rejected, simulators produce accepting transcripts for any
challenge without the witness (honest-verifier zero knowledge)."""

import pytest

from zkproofs import field, sigma
from zkproofs.batch import Checks, Lin
from zkproofs.commitments import commit_scalar, commit_vector
from zkproofs.errors import VerificationError
from zkproofs.proofstream import ProofWriter, write_dot, write_equality, write_product
from zkproofs.rng import ProverRandomness
from zkproofs.transcript import Transcript

R = field.MODULUS


def T():
    return Transcript(b"zkarena/test/sigma")


def rng(seed=b"sigma"):
    return ProverRandomness.for_tests(seed)


def sent(params, proof) -> bytes:
    """The proof's bytes, as the layered prover writes them (the batch weights hash them)."""
    w = ProofWriter(params.backend)
    {sigma.EqualityProof: write_equality, sigma.ProductProof: write_product,
     sigma.DotProductProof: write_dot}[type(proof)](w, proof)
    return w.bytes()


def check(params, defer, *statement_and_proof):
    """Run a verifier step as the layered verifier does: defer, then one batched check."""
    t = T()
    checks = Checks(params.backend)
    defer(t, params, *statement_and_proof, checks, "test")
    checks.finish(t, sent(params, statement_and_proof[-1]))


def holds(params, equations) -> bool:
    grp = params.backend
    return all(grp.is_identity(eq.point(grp)) for _, eq in equations)


def test_equality(params):
    C1, C2 = commit_scalar(params, 9, 11), commit_scalar(params, 9, 5)
    proof = sigma.prove_equality(T(), params, rng(), 11 - 5)
    check(params, sigma.defer_equality, C1, C2, proof)
    # a Lin statement works as a point does
    check(params, sigma.defer_equality, Lin.of(C1), C2, proof)
    with pytest.raises(VerificationError, match="test: equality proof failed"):
        check(params, sigma.defer_equality, C1, commit_scalar(params, 10, 5), proof)
    with pytest.raises(VerificationError, match="equality"):
        check(params, sigma.defer_equality, C1, C2, sigma.EqualityProof(proof.alpha, proof.z + 1))
    # two commitments to different values: no blind difference makes a proof
    C3 = commit_scalar(params, 8, 5)
    with pytest.raises(VerificationError):
        check(params, sigma.defer_equality, C1, C3, sigma.prove_equality(T(), params, rng(), 6))


def test_product(params):
    x, rx, y, ry, rz = 6, 1, 7, 2, 3
    X, Y = commit_scalar(params, x, rx), commit_scalar(params, y, ry)
    Z = commit_scalar(params, x * y, rz)
    proof = sigma.prove_product(T(), params, rng(), x, rx, y, ry, rz)
    check(params, sigma.defer_product, X, Y, Z, proof)
    with pytest.raises(VerificationError, match="third equation"):
        check(params, sigma.defer_product, X, Y, commit_scalar(params, x * y + 1, rz), proof)
    with pytest.raises(VerificationError, match="first equation"):
        check(params, sigma.defer_product, commit_scalar(params, x + 1, rx), Y, Z, proof)
    for k in range(5):
        z = list(proof.z)
        z[k] = (z[k] + 1) % R
        bad = sigma.ProductProof(proof.alpha, proof.beta, proof.delta, tuple(z))
        with pytest.raises(VerificationError, match="product proof failed"):
            check(params, sigma.defer_product, X, Y, Z, bad)
    # a witness breaking the relation (z ≠ x·y) cannot be proven
    lie = sigma.prove_product(T(), params, rng(), x, rx, y, ry, rz)
    Z_lie = commit_scalar(params, x * y + 5, rz)
    with pytest.raises(VerificationError):
        check(params, sigma.defer_product, X, Y, Z_lie, lie)


def test_dot_product(params):
    a = field.vec([3, 1, 4, 1, 5, 9, 2, 6])
    x = field.vec([2, 7, 1, 8, 2, 8, 1, 8])
    rx, ry = 11, 13
    Cx = commit_vector(params, x, rx)
    Cy = commit_scalar(params, field.dot(a, x), ry)
    proof = sigma.prove_dot_product(T(), params, rng(), a, x, rx, ry)
    check(params, sigma.defer_dot_product, Cx, Cy, a, proof)
    with pytest.raises(VerificationError, match="inner-product equation"):
        check(params, sigma.defer_dot_product, Cx, commit_scalar(params, 1, ry), a, proof)
    other = field.vec([3, 1, 4, 1, 5, 9, 2, 7])
    with pytest.raises(VerificationError, match="dot-product proof failed"):
        check(params, sigma.defer_dot_product, Cx, Cy, other, proof)
    bad_z = proof.z.copy()
    bad_z[3] = (int(bad_z[3]) + 1) % R
    bad = sigma.DotProductProof(proof.delta, proof.beta, bad_z, proof.z_delta, proof.z_beta)
    with pytest.raises(VerificationError, match="vector equation"):
        check(params, sigma.defer_dot_product, Cx, Cy, a, bad)
    short = sigma.DotProductProof(proof.delta, proof.beta, proof.z[:4], proof.z_delta,
                                  proof.z_beta)
    with pytest.raises(VerificationError, match="wrong length"):
        check(params, sigma.defer_dot_product, Cx, Cy, a, short)


def test_simulators_produce_accepting_transcripts(native):
    """Honest-verifier zero knowledge: for any challenge, a transcript that satisfies the
    verifier's equations is produced without the witness (statements here are arbitrary
    commitments, one of them a homomorphic combination)."""
    p = native
    r = rng(b"sim")
    C1, C2, C3 = (commit_scalar(p, v, b) for v, b in ((5, 6), (7, 8), (9, 10)))
    C12 = Lin.of(C1, 3).iadd(C2, 2)
    Cv = commit_vector(p, field.vec([1, 2, 3]), 4)
    a = field.vec([5, 6, 7])
    for c in (1, 2, R - 1, 0x1234567890ABCDEF):
        eq = sigma.simulate_equality(p, C1, C2, c, r)
        assert holds(p, sigma.equality_equations(p, C1, C2, eq, c))
        pr = sigma.simulate_product(p, C12, C2, C3, c, r)
        assert holds(p, sigma.product_equations(p, C12, C2, C3, pr, c))
        dp = sigma.simulate_dot_product(p, Cv, C3, a, c, r)
        assert holds(p, sigma.dot_product_equations(p, Cv, C3, a, dp, c))
        # …and a simulated transcript is tied to its challenge
        assert not holds(p, sigma.equality_equations(p, C1, C2, eq, c + 1))
        assert not holds(p, sigma.product_equations(p, C12, C2, C3, pr, c + 1))
        assert not holds(p, sigma.dot_product_equations(p, Cv, C3, a, dp, c + 1))


def test_proofs_differ_between_runs(native):
    p1 = sigma.prove_product(T(), native, ProverRandomness(), 1, 2, 3, 4, 5)
    p2 = sigma.prove_product(T(), native, ProverRandomness(), 1, 2, 3, 4, 5)
    assert native.backend.encode(p1.alpha) != native.backend.encode(p2.alpha)
    assert set(p1.z).isdisjoint(p2.z)
