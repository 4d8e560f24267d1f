"""The zero-knowledge sumcheck on its own (docs/protocol.md §v2.2), with a plain product
oracle."""

import pytest

from zkproofs import field, mle, sumcheck
from zkproofs.batch import Checks
from zkproofs.commitments import commit_scalar
from zkproofs.errors import VerificationError
from zkproofs.proofstream import ProofWriter, write_sumcheck
from zkproofs.rng import ProverRandomness
from zkproofs.transcript import Transcript

R = field.MODULUS


class ProductOracle:
    """Σ_x f(x)·g(x): degree 2 per variable."""

    def __init__(self, f, g):
        self.f, self.g = f, g

    def round_evaluations(self, claim):
        n = len(self.f) // 2
        out = []
        for t in range(3):
            ft = self.f[:n] + (self.f[n:] - self.f[:n]) * field.const(t)
            gt = self.g[:n] + (self.g[n:] - self.g[:n]) * field.const(t)
            out.append(field.dot(ft, gt))
        return out

    def bind(self, r):
        self.f, self.g = mle.fold(self.f, r), mle.fold(self.g, r)


def test_interpolate_and_evaluate():
    coeffs = [5, R - 3, 7, 11]
    evals = [sumcheck.evaluate_poly(coeffs, x) for x in range(4)]
    assert sumcheck.interpolate(evals) == coeffs
    assert sumcheck.interpolate([4, 4, 4]) == [4, 0, 0]


def _run(params, f_vals, g_vals, claimed, m, degree=2):
    f, g = field.vec(f_vals), field.vec(g_vals)
    rng = ProverRandomness.for_tests(b"sc")
    claim = commit_scalar(params, claimed, 99)
    proof, point, end = sumcheck.prove(
        Transcript(b"t"), params, rng, ProductOracle(f, g), num_rounds=m, degree=degree,
        claim=sumcheck.ClaimOpening(claimed, 99),
    )
    return f, g, claim, proof, point, end


def _verify(params, proof, claim, *, num_rounds, degree=2):
    t = Transcript(b"t")
    checks = Checks(params.backend)
    point, final = sumcheck.verify(t, params, proof, num_rounds=num_rounds, degree=degree,
                                   claim=claim, checks=checks, label="test sumcheck")
    w = ProofWriter(params.backend)
    write_sumcheck(w, proof)
    checks.finish(t, w.bytes())
    return point, final


def test_honest_sumcheck_verifies_and_ends_at_the_evaluation(native):
    m = 4
    f_vals, g_vals = list(range(1, 17)), [3 * i + 1 for i in range(16)]
    total = sum(a * b for a, b in zip(f_vals, g_vals, strict=True)) % R
    f, g, claim, proof, point, end = _run(native, f_vals, g_vals, total, m)
    v_point, final = _verify(native, proof, claim, num_rounds=m)
    assert v_point == point
    assert end.value == mle.evaluate(f, point) * mle.evaluate(g, point) % R
    assert native.backend.eq(final, commit_scalar(native, end.value, end.blind))


def test_no_rounds_leaves_the_claim(native):
    claim = commit_scalar(native, 5, 6)
    proof, point, end = sumcheck.prove(
        Transcript(b"t"), native, ProverRandomness.for_tests(b"sc"), ProductOracle([], []),
        num_rounds=0, degree=2, claim=sumcheck.ClaimOpening(5, 6),
    )
    assert (point, end) == ([], sumcheck.ClaimOpening(5, 6))
    assert _verify(native, proof, claim, num_rounds=0) == ([], claim)


def test_false_claim_is_rejected(native):
    m = 3
    f_vals, g_vals = [1] * 8, [2] * 8
    _, _, claim, proof, _, _ = _run(native, f_vals, g_vals, 17, m)  # true sum is 16
    with pytest.raises(VerificationError, match="round polynomials are not consistent"):
        _verify(native, proof, claim, num_rounds=m)
    # the honest proof of the true sum, checked against a claim of another value
    _, _, _, honest, _, _ = _run(native, f_vals, g_vals, 16, m)
    with pytest.raises(VerificationError, match="round polynomials"):
        _verify(native, honest, commit_scalar(native, 17, 99), num_rounds=m)


def test_tampered_round_polynomial_is_rejected(native):
    m = 3
    _, _, claim, proof, _, _ = _run(native, [1] * 8, [2] * 8, 16, m)
    grp = native.backend
    polys = list(proof.polys)
    polys[1] = grp.add(polys[1], native.G[0])
    bad = sumcheck.BatchedSumcheckProof(tuple(polys), proof.final, proof.dot)
    with pytest.raises(VerificationError):
        _verify(native, bad, claim, num_rounds=m)
    bad = sumcheck.BatchedSumcheckProof(proof.polys, grp.add(proof.final, native.g), proof.dot)
    with pytest.raises(VerificationError):
        _verify(native, bad, claim, num_rounds=m)


def test_round_count_and_degree_are_the_verifiers(native):
    m = 3
    f_vals, g_vals = [1] * 8, [2] * 8
    _, _, claim, proof, _, _ = _run(native, f_vals, g_vals, 16, m)
    for rounds in (m - 1, m + 1):
        with pytest.raises(VerificationError, match="rounds"):
            _verify(native, proof, claim, num_rounds=rounds)
    with pytest.raises(VerificationError, match="wrong length"):
        _verify(native, proof, claim, num_rounds=m, degree=3)
