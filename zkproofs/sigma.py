"""Σ-protocols made non-interactive with the shared transcript (Hyrax §A), arranged for the
batched verifier (docs/protocol.md §v2.4).

Each protocol has four parts:

- ``prove_*``: the honest prover, from openings only (values and blinds; randomness from
  the hedged DRBG). It never needs the statement's points, which are mostly homomorphic
  combinations nobody computes;
- ``*_equations``: the verification equations for an explicit challenge, each a
  ``batch.Lin`` that must be the identity: shared by the verifier and the tests of the
  simulators;
- ``defer_*``: the verifier: absorbs the first message, draws the challenge and records
  the equations in a ``batch.Checks`` (one MSM at the end);
- ``simulate_*``: given the statement and a challenge, a transcript with the same
  distribution as an honest one, without the witness (the zero-knowledge argument).

The statement is not absorbed again: every statement is a public function of values the
transcript has already absorbed (prover commitments, challenges, public data), so each
challenge still depends on everything its equation uses; each protocol absorbs its first
message under its own label, then draws its challenge.

Commitments: com(x; ρ) = x·g + ρ·H for scalars, Com(v; ρ) = Σ v_j·G_j + ρ·H for vectors.
Statements may be points or ``batch.Lin`` combinations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import field
from .batch import Lin, lin
from .commitments import commit_scalar, commit_vector
from .commitments.pedersen import commit_scalar_fast, fixed_base
from .curve.base import Point
from .errors import VerificationError
from .params import Params
from .rng import ProverRandomness
from .transcript import Transcript

R = field.MODULUS


@dataclass(frozen=True)
class EqualityProof:
    """Knowledge of ρ with C1 − C2 = ρ·H: both commit to the same value."""

    alpha: Point
    z: int


@dataclass(frozen=True)
class ProductProof:
    """Knowledge of openings of X, Y, Z with z = x·y (Hyrax's proof of product)."""

    alpha: Point
    beta: Point
    delta: Point
    z: tuple[int, int, int, int, int]


@dataclass(frozen=True)
class DotProductProof:
    """Knowledge of x, ρx, ρy with Cx = Com(x; ρx) and Cy = com(⟨a, x⟩; ρy), public a.

    The linear proof: the response z has len(a) scalars (Hyrax's proof of dot product)."""

    delta: Point
    beta: Point
    z: np.ndarray  # field.FR vector, len(a)
    z_delta: int
    z_beta: int


def _absorb(t: Transcript, params: Params, label: bytes, *points: Point) -> None:
    t.absorb_points(label, [params.backend.encode(p) for p in points])


def _com(params: Params, x: int, blind: int) -> Point:
    return commit_scalar_fast(params, x, blind)


def _record(checks, label: str, equations: list[tuple[str, Lin]]) -> None:
    for what, eq in equations:
        checks.require_zero(f"{label}: {what}", eq)


def prove_equality(t, params, rng: ProverRandomness, blind_difference: int) -> EqualityProof:
    """Knowledge of ρ with C1 − C2 = ρ·H (the two commit to the same value)."""
    r = rng.scalar()
    alpha = fixed_base(params, "H").mul(r)
    _absorb(t, params, b"v2/equality/alpha", alpha)
    c = t.challenge_scalar(b"v2/equality/c")
    return EqualityProof(alpha, (r + c * blind_difference) % R)


def equality_equations(params, C1, C2, proof: EqualityProof, c: int) -> list[tuple[str, Lin]]:
    # z·H = α + c·(C1 − C2)
    eq = Lin.of(params.H, proof.z)
    eq.iadd(proof.alpha, -1).iadd(C1, -c).iadd(C2, c)
    return [("equality proof failed", eq)]


def defer_equality(t, params, C1, C2, proof: EqualityProof, checks, label: str) -> None:
    _absorb(t, params, b"v2/equality/alpha", proof.alpha)
    c = t.challenge_scalar(b"v2/equality/c")
    _record(checks, label, equality_equations(params, C1, C2, proof, c))


def simulate_equality(params, C1, C2, c: int, rng: ProverRandomness) -> EqualityProof:
    grp = params.backend
    z = rng.scalar()
    diff = (lin(C1) - lin(C2)).point(grp)
    return EqualityProof(grp.sub(grp.mul(params.H, z), grp.mul(diff, c)), z)


def prove_product(t, params, rng, x, rx, y, ry, rz) -> ProductProof:
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


def product_equations(params, X, Y, Z, proof: ProductProof, c: int) -> list[tuple[str, Lin]]:
    z1, z2, z3, z4, z5 = proof.z
    g, H = params.g, params.H
    # α + c·X = com(z1; z2); β + c·Y = com(z3; z4); δ + c·Z = z3·X + z5·H
    e1 = Lin.of(proof.alpha).iadd(X, c).iadd(g, -z1).iadd(H, -z2)
    e2 = Lin.of(proof.beta).iadd(Y, c).iadd(g, -z3).iadd(H, -z4)
    e3 = Lin.of(proof.delta).iadd(Z, c).iadd(X, -z3).iadd(H, -z5)
    return [("product proof failed (first equation)", e1),
            ("product proof failed (second equation)", e2),
            ("product proof failed (third equation)", e3)]


def defer_product(t, params, X, Y, Z, proof: ProductProof, checks, label: str) -> None:
    _absorb(t, params, b"v2/product/first", proof.alpha, proof.beta, proof.delta)
    c = t.challenge_scalar(b"v2/product/c")
    _record(checks, label, product_equations(params, X, Y, Z, proof, c))


def simulate_product(params, X, Y, Z, c: int, rng: ProverRandomness) -> ProductProof:
    grp = params.backend
    X, Y, Z = (lin(p).point(grp) for p in (X, Y, Z))
    z = tuple(rng.scalars(5))
    z1, z2, z3, z4, z5 = z
    alpha = grp.sub(commit_scalar(params, z1, z2), grp.mul(X, c))
    beta = grp.sub(commit_scalar(params, z3, z4), grp.mul(Y, c))
    delta = grp.sub(grp.msm([X, params.H], [z3, z5]), grp.mul(Z, c))
    return ProductProof(alpha, beta, delta, z)


def prove_dot_product(t, params, rng, a: np.ndarray, x: np.ndarray, rx: int,
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


def dot_product_equations(params, Cx, Cy, a: np.ndarray, proof: DotProductProof,
                          c: int) -> list[tuple[str, Lin]]:
    n = len(a)
    if len(proof.z) != n:
        raise VerificationError("dot-product response has the wrong length")
    # c·Cx + δ = Com(z; z_δ);  c·Cy + β = com(⟨z, a⟩; z_β)
    e1 = Lin.of(proof.delta).iadd(Cx, c).iadd(params.H, -proof.z_delta)
    for gen, zj in zip(params.G[:n], field.to_ints(proof.z), strict=True):
        e1.iadd(gen, -zj)
    e2 = Lin.of(proof.beta).iadd(Cy, c).iadd(params.g, -field.dot(proof.z, a))
    e2.iadd(params.H, -proof.z_beta)
    return [("dot-product proof failed (vector equation)", e1),
            ("dot-product proof failed (inner-product equation)", e2)]


def defer_dot_product(t, params, Cx, Cy, a: np.ndarray, proof: DotProductProof, checks,
                      label: str) -> None:
    n = len(a)
    if len(proof.z) != n:
        raise VerificationError(f"{label}: dot-product response has the wrong length")
    t.absorb_u64(b"v2/dotprod/n", n)
    _absorb(t, params, b"v2/dotprod/first", proof.delta, proof.beta)
    c = t.challenge_scalar(b"v2/dotprod/c")
    _record(checks, label, dot_product_equations(params, Cx, Cy, a, proof, c))


def simulate_dot_product(params, Cx, Cy, a: np.ndarray, c: int,
                         rng: ProverRandomness) -> DotProductProof:
    grp = params.backend
    Cx, Cy = lin(Cx).point(grp), lin(Cy).point(grp)
    z = field.vec(rng.scalars(len(a)))
    z_delta, z_beta = rng.scalar(), rng.scalar()
    delta = grp.sub(commit_vector(params, z, z_delta), grp.mul(Cx, c))
    beta = grp.sub(commit_scalar(params, field.dot(z, a), z_beta), grp.mul(Cy, c))
    return DotProductProof(delta, beta, z, z_delta, z_beta)
