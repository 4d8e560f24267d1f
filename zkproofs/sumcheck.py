"""Zero-knowledge sumcheck with committed round polynomials (Hyrax §4), all rounds checked
by one proof of dot product (docs/protocol.md §v2.2). The protocol's steps are spelled out
above ``prove``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from . import field
from .curve.base import Point
from .errors import VerificationError
from .params import Params
from .rng import ProverRandomness
from .sigma import DotProductProof, prove_dot_product
from .transcript import Transcript

R = field.MODULUS


class RoundOracle(Protocol):
    """The prover's view of the polynomial being summed, one variable bound per round."""

    def round_evaluations(self, claim: int) -> list[int]:
        """p_j(0), p_j(1), …, p_j(degree) for the current round."""

    def bind(self, r: int) -> None:
        """Fix the current variable to r."""


@lru_cache(maxsize=8)
def _lagrange_basis(degree: int) -> tuple[tuple[int, ...], ...]:
    """Coefficient vectors of the Lagrange basis over the nodes 0, 1, …, degree."""
    nodes = list(range(degree + 1))
    basis = []
    for i in nodes:
        coeffs = [1]
        denom = 1
        for j in nodes:
            if j == i:
                continue
            # multiply by (X − j)
            coeffs = [(-j * coeffs[0]) % R] + [
                (coeffs[k - 1] - j * (coeffs[k] if k < len(coeffs) else 0)) % R
                for k in range(1, len(coeffs) + 1)
            ]
            denom = denom * (i - j) % R
        inv = field.inv(denom)
        basis.append(tuple(c * inv % R for c in coeffs))
    return tuple(basis)


def interpolate(evals: list[int]) -> list[int]:
    """Coefficients (low to high) of the polynomial taking evals[k] at k = 0 … d."""
    basis = _lagrange_basis(len(evals) - 1)
    out = [0] * len(evals)
    for e, b in zip(evals, basis, strict=True):
        for k, c in enumerate(b):
            out[k] = (out[k] + e * c) % R
    return out


def evaluate_poly(coeffs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % R
    return acc


# The sumcheck commits each round polynomial and checks all rounds with ONE proof
# of dot product (Hyrax, §4: the round checks are linear in the committed coefficients):
#
# 1. Round j: P → Cp_j = Σ_k c_{j,k}·G_{j(d+1)+k} + β_j·H, the coefficients of p_j under
#    their own range of bases (absorbed); r_j ← transcript.
# 2. After m rounds: P → F = com(p_m(r_m); ρ_F) (absorbed): the committed final value.
# 3. w_1 … w_{m+1} ← transcript, for the m + 1 linear relations
#      p_1(0) + p_1(1) = claim,  p_j(0) + p_j(1) = p_{j−1}(r_{j−1}),  p_m(r_m) = F.
#    With c the concatenation of all coefficients, Σ_j w_j·(relation j) is one linear
#    equation ⟨a, c⟩ = w_1·claim + w_{m+1}·F with a public vector a.
# 4. DotProduct(Cx = Σ_j Cp_j, Cy = w_1·claim + w_{m+1}·F, a): Cx commits to c because the
#    rounds use disjoint bases.
#
# Soundness: a false initial claim survives the rounds with probability at most m·d/|F|
# (sumcheck), the random combination of the m + 1 relations hides a false one with
# probability at most 1/|F|, and the proof of dot product is special-sound. Zero knowledge:
# every Cp_j and F has a fresh blind, and the proof of dot product is honest-verifier ZK
# (its simulator is ``sigma.simulate_dot_product``). With no rounds there is nothing to
# prove: the final claim is the initial one. A round costs one point instead of four.


@dataclass(frozen=True)
class ClaimOpening:
    """The prover's opening of a committed claim: the value and its blind."""

    value: int
    blind: int


@dataclass(frozen=True)
class BatchedSumcheckProof:
    polys: tuple  # Cp_1 … Cp_m
    final: Point | None  # F (None when m = 0)
    dot: DotProductProof | None


def _relation_vector(degree: int, challenges: list[int], weights: list[int]):
    """a with ⟨a, c⟩ = w_1·claim + w_{m+1}·F for the relations of step 3 (0-indexed here:
    block j of a is w_j·s − w_{j+1}·powers(r_j), the last block w_{m−1}·s + w_m·powers(r_{m−1}),
    where s = (2, 1, …, 1) gives p(0) + p(1))."""
    m = len(challenges)
    sum_row = [2] + [1] * degree
    out = []
    for j, r in enumerate(challenges):
        pw = field.powers(r, degree + 1)
        nxt = weights[m] if j + 1 == m else -weights[j + 1]
        out += [(weights[j] * s + nxt * p) % R for s, p in zip(sum_row, pw, strict=True)]
    return field.vec(out)


def prove(
    t: Transcript,
    params: Params,
    rng: ProverRandomness,
    oracle: RoundOracle,
    *,
    num_rounds: int,
    degree: int,
    claim: ClaimOpening,
) -> tuple[BatchedSumcheckProof, list[int], ClaimOpening]:
    from .commitments.pedersen import commit_scalar_fast

    grp = params.backend
    width = degree + 1
    if num_rounds * width > len(params.G):
        raise ValueError("too many sumcheck rounds for the bases")
    value = claim.value % R
    polys, coeffs_all, blinds, point = [], [], [], []
    for j in range(num_rounds):
        evals = oracle.round_evaluations(value)
        if len(evals) != width:
            raise ValueError("round oracle returned the wrong number of evaluations")
        coeffs = interpolate(evals)
        blind = rng.scalar()
        cp = grp.msm([*params.G[j * width : (j + 1) * width], params.H], [*coeffs, blind])
        t.absorb_points(b"v2/sumcheck/poly", [grp.encode(cp)])
        r = t.challenge_scalar(b"v2/sumcheck/r")
        polys.append(cp)
        coeffs_all += coeffs
        blinds.append(blind)
        point.append(r)
        value = evaluate_poly(coeffs, r)
        oracle.bind(r)
    if num_rounds == 0:
        return BatchedSumcheckProof((), None, None), [], ClaimOpening(value, claim.blind)
    final_blind = rng.scalar()
    final = commit_scalar_fast(params, value, final_blind)
    t.absorb_points(b"v2/sumcheck/final", [grp.encode(final)])
    weights = t.challenge_scalars(b"v2/sumcheck/w", num_rounds + 1)
    a = _relation_vector(degree, point, weights)
    dot = prove_dot_product(
        t, params, rng, a, field.vec(coeffs_all), sum(blinds) % R,
        (weights[0] * claim.blind + weights[num_rounds] * final_blind) % R,
    )
    return (BatchedSumcheckProof(tuple(polys), final, dot), point,
            ClaimOpening(value, final_blind))


def verify(
    t: Transcript,
    params: Params,
    proof: BatchedSumcheckProof,
    *,
    num_rounds: int,
    degree: int,
    claim,
    checks,
    label: str,
):
    """Record the sumcheck's check; return (point, final claim as a point or Lin)."""
    from .batch import Lin
    from .sigma import defer_dot_product

    grp = params.backend
    if len(proof.polys) != num_rounds:
        raise VerificationError(
            f"{label}: the sumcheck has {len(proof.polys)} rounds, not {num_rounds}"
        )
    if num_rounds == 0:
        return [], claim
    point = []
    for cp in proof.polys:
        t.absorb_points(b"v2/sumcheck/poly", [grp.encode(cp)])
        point.append(t.challenge_scalar(b"v2/sumcheck/r"))
    t.absorb_points(b"v2/sumcheck/final", [grp.encode(proof.final)])
    weights = t.challenge_scalars(b"v2/sumcheck/w", num_rounds + 1)
    a = _relation_vector(degree, point, weights)
    cx = Lin()
    for cp in proof.polys:
        cx.iadd(cp)
    cy = Lin().iadd(claim, weights[0]).iadd(proof.final, weights[num_rounds])
    defer_dot_product(t, params, cx, cy, a, proof.dot, checks,
                      f"{label}: the round polynomials are not consistent")
    return point, proof.final
