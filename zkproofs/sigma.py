"""Σ-protocols made non-interactive with the shared transcript (Hyrax §A, Spartan nizk).

Each protocol absorbs its statement, then its first message, then draws its challenge, so
a challenge depends on everything its verification equation uses. Each has three parts:

- ``prove_*``: the honest prover (randomness from the hedged DRBG only);
- ``check_*``: the verification equations for an explicit challenge, shared by the
  verifier and the honest-verifier simulators;
- ``simulate_*``: given the statement and a challenge, a transcript with the same
  distribution as an honest one, without the witness (the zero-knowledge argument).

Commitments: com(x; ρ) = x·g + ρ·H for scalars, Com(v; ρ) = Σ v_j·G_j + ρ·H for vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import field
from .batch import Lin
from .commitments import commit_scalar, commit_vector
from .commitments.pedersen import commit_scalar_fast, fixed_base
from .curve.base import Point
from .errors import VerificationError
from .params import Params
from .rng import ProverRandomness
from .transcript import Transcript

R = field.MODULUS


def _absorb_points(t: Transcript, params: Params, label: bytes, *points: Point) -> None:
    t.absorb_points(label, [params.backend.encode(p) for p in points])


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise VerificationError(what)


# ------------------------------------------------------------------ knowledge of an opening


@dataclass(frozen=True)
class OpeningProof:
    """Knowledge of (x, ρ) with C = com(x; ρ)."""

    alpha: Point
    z1: int
    z2: int


def prove_opening(t, params, rng: ProverRandomness, C, x: int, blind: int) -> OpeningProof:
    _absorb_points(t, params, b"opening/statement", C)
    t1, t2 = rng.scalar(), rng.scalar()
    alpha = commit_scalar(params, t1, t2)
    _absorb_points(t, params, b"opening/alpha", alpha)
    c = t.challenge_scalar(b"opening/c")
    return OpeningProof(alpha, (t1 + c * x) % R, (t2 + c * blind) % R)


def check_opening(params, C, proof: OpeningProof, c: int) -> bool:
    grp = params.backend
    lhs = commit_scalar(params, proof.z1, proof.z2)
    return grp.eq(lhs, grp.add(proof.alpha, grp.mul(C, c)))


def verify_opening(t, params, C, proof: OpeningProof) -> None:
    _absorb_points(t, params, b"opening/statement", C)
    _absorb_points(t, params, b"opening/alpha", proof.alpha)
    c = t.challenge_scalar(b"opening/c")
    _require(check_opening(params, C, proof, c), "opening proof failed")


def simulate_opening(params, C, c: int, rng: ProverRandomness) -> OpeningProof:
    z1, z2 = rng.scalar(), rng.scalar()
    grp = params.backend
    alpha = grp.sub(commit_scalar(params, z1, z2), grp.mul(C, c))
    return OpeningProof(alpha, z1, z2)


# ------------------------------------------------------------------ equality of two commitments


@dataclass(frozen=True)
class EqualityProof:
    """Knowledge of ρ with C1 − C2 = ρ·H: both commit to the same value."""

    alpha: Point
    z: int


def prove_equality(t, params, rng, C1, C2, blind1: int, blind2: int) -> EqualityProof:
    _absorb_points(t, params, b"equality/statement", C1, C2)
    r = rng.scalar()
    alpha = params.backend.mul(params.H, r)
    _absorb_points(t, params, b"equality/alpha", alpha)
    c = t.challenge_scalar(b"equality/c")
    return EqualityProof(alpha, (r + c * (blind1 - blind2)) % R)


def check_equality(params, C1, C2, proof: EqualityProof, c: int) -> bool:
    grp = params.backend
    lhs = grp.mul(params.H, proof.z)
    return grp.eq(lhs, grp.add(proof.alpha, grp.mul(grp.sub(C1, C2), c)))


def verify_equality(t, params, C1, C2, proof: EqualityProof) -> None:
    _absorb_points(t, params, b"equality/statement", C1, C2)
    _absorb_points(t, params, b"equality/alpha", proof.alpha)
    c = t.challenge_scalar(b"equality/c")
    _require(check_equality(params, C1, C2, proof, c), "equality proof failed")


def simulate_equality(params, C1, C2, c: int, rng) -> EqualityProof:
    grp = params.backend
    z = rng.scalar()
    alpha = grp.sub(grp.mul(params.H, z), grp.mul(grp.sub(C1, C2), c))
    return EqualityProof(alpha, z)


# ------------------------------------------------------------------ product of committed values


@dataclass(frozen=True)
class ProductProof:
    """Knowledge of openings of X, Y, Z with z = x·y (Spartan's ProductProof)."""

    alpha: Point
    beta: Point
    delta: Point
    z: tuple[int, int, int, int, int]


def prove_product(t, params, rng, X, Y, Z, x, rx, y, ry, rz) -> ProductProof:
    _absorb_points(t, params, b"product/statement", X, Y, Z)
    b1, b2, b3, b4, b5 = rng.scalars(5)
    alpha = commit_scalar(params, b1, b2)
    beta = commit_scalar(params, b3, b4)
    delta = params.backend.msm([X, params.H], [b3, b5])
    _absorb_points(t, params, b"product/first", alpha, beta, delta)
    c = t.challenge_scalar(b"product/c")
    z = (
        (b1 + c * x) % R,
        (b2 + c * rx) % R,
        (b3 + c * y) % R,
        (b4 + c * ry) % R,
        (b5 + c * (rz - rx * y)) % R,
    )
    return ProductProof(alpha, beta, delta, z)


def check_product(params, X, Y, Z, proof: ProductProof, c: int) -> bool:
    grp = params.backend
    z1, z2, z3, z4, z5 = proof.z
    ok1 = grp.eq(grp.add(proof.alpha, grp.mul(X, c)), commit_scalar(params, z1, z2))
    ok2 = grp.eq(grp.add(proof.beta, grp.mul(Y, c)), commit_scalar(params, z3, z4))
    ok3 = grp.eq(grp.add(proof.delta, grp.mul(Z, c)), grp.msm([X, params.H], [z3, z5]))
    return ok1 and ok2 and ok3


def verify_product(t, params, X, Y, Z, proof: ProductProof) -> None:
    _absorb_points(t, params, b"product/statement", X, Y, Z)
    _absorb_points(t, params, b"product/first", proof.alpha, proof.beta, proof.delta)
    c = t.challenge_scalar(b"product/c")
    _require(check_product(params, X, Y, Z, proof, c), "product proof failed")


def simulate_product(params, X, Y, Z, c: int, rng) -> ProductProof:
    grp = params.backend
    z = tuple(rng.scalars(5))
    z1, z2, z3, z4, z5 = z
    alpha = grp.sub(commit_scalar(params, z1, z2), grp.mul(X, c))
    beta = grp.sub(commit_scalar(params, z3, z4), grp.mul(Y, c))
    delta = grp.sub(grp.msm([X, params.H], [z3, z5]), grp.mul(Z, c))
    return ProductProof(alpha, beta, delta, z)


# ------------------------------------------------------------------ dot product (linear Hyrax)


@dataclass(frozen=True)
class DotProductProof:
    """Knowledge of x, ρx, ρy with Cx = Com(x; ρx) and Cy = com(⟨a, x⟩; ρy), public a.

    The linear proof: the response z has len(a) scalars. It is Hyrax's proof-of-dot-product
    (no logarithmic argument in protocol v1)."""

    delta: Point
    beta: Point
    z: np.ndarray  # field.FR vector, len(a)
    z_delta: int
    z_beta: int


def _absorb_dot_statement(t, params, Cx, Cy, a: np.ndarray) -> None:
    _absorb_points(t, params, b"dotprod/statement", Cx, Cy)
    t.absorb_u64(b"dotprod/n", len(a))
    t.absorb(b"dotprod/a", field.encode_vec(a))


def prove_dot_product(
    t, params, rng, Cx, Cy, a: np.ndarray, x: np.ndarray, rx: int, ry: int
) -> DotProductProof:
    n = len(a)
    if len(x) != n:
        raise ValueError("dot-product witness and public vector differ in length")
    _absorb_dot_statement(t, params, Cx, Cy, a)
    d = field.vec(rng.scalars(n))
    r_delta, r_beta = rng.scalar(), rng.scalar()
    delta = commit_vector(params, d, r_delta)
    beta = commit_scalar(params, field.dot(a, d), r_beta)
    _absorb_points(t, params, b"dotprod/first", delta, beta)
    c = t.challenge_scalar(b"dotprod/c")
    z = x * field.const(c) + d
    return DotProductProof(delta, beta, z, (c * rx + r_delta) % R, (c * ry + r_beta) % R)


def check_dot_product(params, Cx, Cy, a: np.ndarray, proof: DotProductProof, c: int) -> bool:
    grp = params.backend
    if len(proof.z) != len(a):
        return False
    ok1 = grp.eq(
        grp.add(grp.mul(Cx, c), proof.delta), commit_vector(params, proof.z, proof.z_delta)
    )
    ok2 = grp.eq(
        grp.add(grp.mul(Cy, c), proof.beta),
        commit_scalar(params, field.dot(proof.z, a), proof.z_beta),
    )
    return ok1 and ok2


def verify_dot_product(t, params, Cx, Cy, a: np.ndarray, proof: DotProductProof) -> None:
    _require(len(proof.z) == len(a), "dot-product response has the wrong length")
    _absorb_dot_statement(t, params, Cx, Cy, a)
    _absorb_points(t, params, b"dotprod/first", proof.delta, proof.beta)
    c = t.challenge_scalar(b"dotprod/c")
    _require(check_dot_product(params, Cx, Cy, a, proof, c), "dot-product proof failed")


def simulate_dot_product(params, Cx, Cy, a: np.ndarray, c: int, rng) -> DotProductProof:
    grp = params.backend
    z = field.vec(rng.scalars(len(a)))
    z_delta, z_beta = rng.scalar(), rng.scalar()
    delta = grp.sub(commit_vector(params, z, z_delta), grp.mul(Cx, c))
    beta = grp.sub(commit_scalar(params, field.dot(z, a), z_beta), grp.mul(Cy, c))
    return DotProductProof(delta, beta, z, z_delta, z_beta)


# ==================================================================== protocol v2
#
# The same four Σ-protocols with the same verification equations (so the simulators above
# apply unchanged), arranged for protocol v2's batched verifier:
#
# - the prover works from openings only (values and blinds); it never needs the
#   statement's points, which in v2 are mostly homomorphic combinations nobody computes;
# - the statement is not absorbed again: in v2 every statement is a public function of
#   values the transcript has already absorbed (prover commitments, challenges, public
#   data), so each challenge still depends on everything its equation uses; each protocol
#   absorbs its first message under its own label, then draws its challenge;
# - the verifier records its equations in a ``batch.Checks`` (deferred, one MSM at the
#   end) instead of computing them; statements may be points or ``batch.Lin`` combinations.


def _absorb(t: Transcript, params: Params, label: bytes, *points: Point) -> None:
    t.absorb_points(label, [params.backend.encode(p) for p in points])


def _com(params: Params, x: int, blind: int) -> Point:
    return commit_scalar_fast(params, x, blind)


def prove_equality_v2(t, params, rng: ProverRandomness, blind_difference: int) -> EqualityProof:
    """Knowledge of ρ with C1 − C2 = ρ·H (the two commit to the same value)."""
    r = rng.scalar()
    alpha = fixed_base(params, "H").mul(r)
    _absorb(t, params, b"v2/equality/alpha", alpha)
    c = t.challenge_scalar(b"v2/equality/c")
    return EqualityProof(alpha, (r + c * blind_difference) % R)


def defer_equality(t, params, C1, C2, proof: EqualityProof, checks, label: str) -> None:
    _absorb(t, params, b"v2/equality/alpha", proof.alpha)
    c = t.challenge_scalar(b"v2/equality/c")
    # z·H = α + c·(C1 − C2)
    eq = Lin.of(params.H, proof.z)
    eq.iadd(proof.alpha, -1).iadd(C1, -c).iadd(C2, c)
    checks.require_zero(f"{label}: equality proof failed", eq)


def prove_product_v2(t, params, rng, x, rx, y, ry, rz) -> ProductProof:
    """Knowledge of openings of X = com(x; rx), Y = com(y; ry), Z = com(x·y; rz)."""
    b1, b2, b3, b4, b5 = rng.scalars(5)
    alpha = _com(params, b1, b2)
    beta = _com(params, b3, b4)
    # δ = b3·X + b5·H = com(b3·x; b3·rx + b5), computed from the opening of X.
    delta = _com(params, b3 * x, b3 * rx + b5)
    _absorb(t, params, b"v2/product/first", alpha, beta, delta)
    c = t.challenge_scalar(b"v2/product/c")
    z = (
        (b1 + c * x) % R,
        (b2 + c * rx) % R,
        (b3 + c * y) % R,
        (b4 + c * ry) % R,
        (b5 + c * (rz - rx * y)) % R,
    )
    return ProductProof(alpha, beta, delta, z)


def defer_product(t, params, X, Y, Z, proof: ProductProof, checks, label: str) -> None:
    _absorb(t, params, b"v2/product/first", proof.alpha, proof.beta, proof.delta)
    c = t.challenge_scalar(b"v2/product/c")
    z1, z2, z3, z4, z5 = proof.z
    g, H = params.g, params.H
    # α + c·X = com(z1; z2); β + c·Y = com(z3; z4); δ + c·Z = z3·X + z5·H
    e1 = Lin.of(proof.alpha).iadd(X, c).iadd(g, -z1).iadd(H, -z2)
    e2 = Lin.of(proof.beta).iadd(Y, c).iadd(g, -z3).iadd(H, -z4)
    e3 = Lin.of(proof.delta).iadd(Z, c).iadd(X, -z3).iadd(H, -z5)
    checks.require_zero(f"{label}: product proof failed (first equation)", e1)
    checks.require_zero(f"{label}: product proof failed (second equation)", e2)
    checks.require_zero(f"{label}: product proof failed (third equation)", e3)


def prove_dot_product_v2(t, params, rng, a: np.ndarray, x: np.ndarray, rx: int,
                         ry: int) -> DotProductProof:
    """Knowledge of x, ρx, ρy with Cx = Com(x; ρx) and Cy = com(⟨a, x⟩; ρy), public a."""
    n = len(a)
    if len(x) != n:
        raise ValueError("dot-product witness and public vector differ in length")
    t.absorb_u64(b"v2/dotprod/n", n)
    d = field.vec(rng.scalars(n))
    r_delta, r_beta = rng.scalar(), rng.scalar()
    delta = commit_vector(params, d, r_delta)
    beta = _com(params, field.dot(a, d), r_beta)
    _absorb(t, params, b"v2/dotprod/first", delta, beta)
    c = t.challenge_scalar(b"v2/dotprod/c")
    z = x * field.const(c) + d
    return DotProductProof(delta, beta, z, (c * rx + r_delta) % R, (c * ry + r_beta) % R)


def defer_dot_product(t, params, Cx, Cy, a: np.ndarray, proof: DotProductProof, checks,
                      label: str) -> None:
    n = len(a)
    if len(proof.z) != n:
        raise VerificationError(f"{label}: dot-product response has the wrong length")
    t.absorb_u64(b"v2/dotprod/n", n)
    _absorb(t, params, b"v2/dotprod/first", proof.delta, proof.beta)
    c = t.challenge_scalar(b"v2/dotprod/c")
    # c·Cx + δ = Com(z; z_δ);  c·Cy + β = com(⟨z, a⟩; z_β)
    e1 = Lin.of(proof.delta).iadd(Cx, c).iadd(params.H, -proof.z_delta)
    for gen, zj in zip(params.G[:n], field.to_ints(proof.z), strict=True):
        e1.iadd(gen, -zj)
    e2 = Lin.of(proof.beta).iadd(Cy, c).iadd(params.g, -field.dot(proof.z, a))
    e2.iadd(params.H, -proof.z_beta)
    checks.require_zero(f"{label}: dot-product proof failed (vector equation)", e1)
    checks.require_zero(f"{label}: dot-product proof failed (inner-product equation)", e2)
