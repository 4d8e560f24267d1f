"""The zero-knowledge sumcheck on its own, with a plain product oracle."""

import pytest

from zkproofs import field, mle, sumcheck
from zkproofs.commitments import commit_scalar
from zkproofs.errors import VerificationError
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


def _run(params, f_vals, g_vals, claimed, m):
    f, g = field.vec(f_vals), field.vec(g_vals)
    rng = ProverRandomness.for_tests(b"sc")
    claim = commit_scalar(params, claimed, 99)
    proof, end = sumcheck.prove(
        Transcript(b"t"),
        params,
        rng,
        ProductOracle(f, g),
        num_rounds=m,
        degree=2,
        claim=claim,
        claim_value=claimed,
        claim_blind=99,
    )
    return f, g, claim, proof, end


def test_honest_sumcheck_verifies_and_ends_at_the_evaluation(native):
    m = 4
    f_vals, g_vals = list(range(1, 17)), [3 * i + 1 for i in range(16)]
    total = sum(a * b for a, b in zip(f_vals, g_vals, strict=True)) % R
    f, g, claim, proof, end = _run(native, f_vals, g_vals, total, m)
    res = sumcheck.verify(Transcript(b"t"), native, proof, num_rounds=m, degree=2, claim=claim)
    assert res.point == end.point
    assert end.value == mle.evaluate(f, end.point) * mle.evaluate(g, end.point) % R
    assert native.backend.eq(res.claim, commit_scalar(native, end.value, end.blind))


def test_false_claim_is_rejected(native):
    m = 3
    f_vals, g_vals = [1] * 8, [2] * 8
    _, _, claim, proof, _ = _run(native, f_vals, g_vals, 17, m)  # true sum is 16
    with pytest.raises(VerificationError):
        sumcheck.verify(Transcript(b"t"), native, proof, num_rounds=m, degree=2, claim=claim)


def test_round_count_and_degree_are_the_verifiers(native):
    m = 3
    f_vals, g_vals = [1] * 8, [2] * 8
    _, _, claim, proof, _ = _run(native, f_vals, g_vals, 16, m)
    for rounds in (m - 1, m + 1):
        with pytest.raises(VerificationError, match="rounds"):
            sumcheck.verify(
                Transcript(b"t"), native, proof, num_rounds=rounds, degree=2, claim=claim
            )
    with pytest.raises(VerificationError, match="degree"):
        sumcheck.verify(Transcript(b"t"), native, proof, num_rounds=m, degree=3, claim=claim)
