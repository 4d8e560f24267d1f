"""Claims on committed vectors, and how a v2 proof discharges all of them at the end.

Every relation of the proof ends in claims of two sorts, each with a committed value:

- on an auxiliary vector v (feature-major, samples in the low bits): either an evaluation
  v~(x_f, x_s) at a point, or a prefix sum Σ_{s < L} v~(x_f, s) over the samples (the count);
- on the weights w (C_W): a linear form ⟨C, w⟩ with a public coefficient vector C the
  verifier computes itself (O(parameters)).

**Sample reduction.** With random λ_c, one sumcheck over the sample variables proves
Σ_c λ_c·Y_c = Σ_s Σ_c λ_c·E_c(s)·v_c~(x_f,c, s), where E_c is eq(x_s,c, ·) or the prefix
indicator. It binds the lowest sample variable first and ends at one sample point ζ for all
claims; the prover commits Z_c = com(v_c~(x_f,c, ζ)) and an equality proof ties the final
claim to Σ_c λ_c·E_c~(ζ)·Z_c. Vectors with fewer sample positions than N' are zero-padded,
which multiplies both factors by Π(1 − ζ_i) over the padding coordinates.

**Weight reduction.** With random λ_k, a sumcheck over w's index proves
Σ_k λ_k·Y_k = Σ_i C(i)·w(i) for C = Σ_k λ_k C_k, ending at ζ_w with Z_w = com(w~(ζ_w)) and
an equality proof that the final claim is C~(ζ_w)·Z_w (the verifier evaluates C~ itself).

**Openings.** All the Z_c share their column coordinates (the last w bits of ζ), so one
Hyrax proof of dot product opens all of them; C_W is opened at ζ_w by a second one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import field, mle, sigma, sumcheck
from ..batch import Lin
from ..commitments import hyrax
from ..commitments.pedersen import commit_scalar_fast
from ..lookup.logup_gkr.prover import Op
from ..proofstream import (
    read_dot,
    read_equality,
    read_sumcheck,
    write_dot,
    write_equality,
    write_sumcheck,
)

R = field.MODULUS


# ------------------------------------------------------------------ weights' coefficients


@dataclass(frozen=True)
class Block:
    """Coefficients for w[offset : offset + len(values)]."""

    offset: int
    values: np.ndarray  # field.FR


def dense_coefficients(blocks: list[Block], size: int) -> np.ndarray:
    out = field.zeros(size)
    for b in blocks:
        out[b.offset : b.offset + len(b.values)] += b.values
    return out


@dataclass(frozen=True)
class AuxClaim:
    """A claim on vector ``name``: Σ_f C(f)·v~(f, s_point) with C = eq(f_point, ·), or the
    public feature coefficients ``f_coeff`` when given; ``s_point`` None means the prefix
    sum over the first ``length`` samples instead of a sample point."""

    name: str
    f_point: list[int]
    s_point: list[int] | None
    length: int = 0
    f_coeff: np.ndarray | None = None

    def feature_weights(self) -> np.ndarray:
        return self.f_coeff if self.f_coeff is not None else mle.eq_table(self.f_point)


# ------------------------------------------------------------------ the prover's registry


class ProverClaims:
    def __init__(self, ctx):
        self.ctx = ctx
        self.aux: list[tuple[AuxClaim, Op]] = []
        self.weights: list[tuple[list[Block], Op]] = []
        self.separate: list[tuple[str, list[int], Op]] = []

    def value(self, name: str, f_point, s_point, f_coeff=None) -> int:
        """v~(f_point, s_point) (or Σ_f f_coeff(f)·v~(f, s_point)) for the committed int64
        vector ``name``."""
        matrix = self.ctx.values[name]  # (F', S)
        by_sample = field.contract(matrix.T, mle.eq_table(s_point))
        weights = mle.eq_table(f_point) if f_coeff is None else f_coeff
        return field.dot(by_sample, weights)

    def send(self, value: int, label: bytes = b"v2/claim") -> Op:
        op = Op(value % R, self.ctx.rng.scalar())
        point = commit_scalar_fast(self.ctx.params, op.value, op.blind)
        self.ctx.t.absorb_points(label, [self.ctx.params.backend.encode(point)])
        self.ctx.w.point(point)
        return op

    def evaluation(self, name: str, f_point, s_point) -> Op:
        """Commit to v~(f_point, s_point) and register the claim."""
        op = self.send(self.value(name, f_point, s_point))
        self.aux.append((AuxClaim(name, list(f_point), list(s_point)), op))
        return op

    def adopt(self, name: str, f_point, s_point, op: Op) -> None:
        """Register a claim whose commitment the transcript already holds."""
        if self.ctx.schedule.vector(name).own_opening:
            self.separate.append((name, list(f_point) + list(s_point), op))
            return
        self.aux.append((AuxClaim(name, list(f_point), list(s_point)), op))

    def prefix_sum(self, name: str, length: int, op: Op) -> None:
        self.aux.append((AuxClaim(name, [], None, length), op))

    def coefficient(self, name: str, f_coeff: np.ndarray, s_point, public: Op | None = None):
        """Commit to Σ_f f_coeff(f)·v~(f, s_point) (or take a public value) and register."""
        if public is None:
            public = self.send(self.value(name, None, s_point, f_coeff))
        self.aux.append((AuxClaim(name, [], list(s_point), 0, f_coeff), public))
        return public

    def weight_value(self, blocks: list[Block]) -> Op:
        """Commit to ⟨C, w⟩ for the coefficient blocks and register the claim."""
        w = self.ctx.weights_field
        value = sum(field.dot(b.values, w[b.offset : b.offset + len(b.values)]) for b in blocks)
        op = self.send(value, b"v2/weight-claim")
        self.weights.append((blocks, op))
        return op

    def weight_claim(self, blocks: list[Block], op: Op) -> None:
        self.weights.append((blocks, op))


class VerifierClaims:
    def __init__(self, ctx):
        self.ctx = ctx
        self.aux: list[tuple[AuxClaim, Lin]] = []
        self.weights: list[tuple[list[Block], Lin]] = []
        self.separate: list[tuple[str, list[int], Lin]] = []

    def receive(self, label: bytes = b"v2/claim") -> Lin:
        point = self.ctx.r.point()
        self.ctx.t.absorb_points(label, [self.ctx.params.backend.encode(point)])
        return Lin.of(point)

    def evaluation(self, name: str, f_point, s_point) -> Lin:
        y = self.receive()
        self.aux.append((AuxClaim(name, list(f_point), list(s_point)), y))
        return y

    def adopt(self, name: str, f_point, s_point, y: Lin) -> None:
        if self.ctx.schedule.vector(name).own_opening:
            self.separate.append((name, list(f_point) + list(s_point), y))
            return
        self.aux.append((AuxClaim(name, list(f_point), list(s_point)), y))

    def prefix_sum(self, name: str, length: int, y: Lin) -> None:
        self.aux.append((AuxClaim(name, [], None, length), y))

    def coefficient(self, name: str, f_coeff: np.ndarray, s_point, public: Lin | None = None):
        if public is None:
            public = self.receive()
        self.aux.append((AuxClaim(name, [], list(s_point), 0, f_coeff), public))
        return public

    def weight_value(self, blocks: list[Block]) -> Lin:
        y = self.receive(b"v2/weight-claim")
        self.weights.append((blocks, y))
        return y

    def weight_claim(self, blocks: list[Block], y: Lin) -> None:
        self.weights.append((blocks, y))


# ------------------------------------------------------------------ sample reduction


class _ProductOracle:
    """Σ_i Σ_j A_j(i)·B_j(i) over pairs of arrays, the lowest variable bound first."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]]):
        self.pairs = pairs

    def round_evaluations(self, claim: int) -> list[int]:
        s0 = s2 = 0
        for a, b in self.pairs:
            a0, a1, b0, b1 = a[0::2], a[1::2], b[0::2], b[1::2]
            s0 += field.dot(a0, b0)
            s2 += field.dot(a1 + a1 - a0, b1 + b1 - b0)
        s0 %= R
        return [s0, (claim - s0) % R, s2 % R]

    def bind(self, r: int) -> None:
        self.pairs = [(mle.fold_low(a, r), mle.fold_low(b, r)) for a, b in self.pairs]


def _weight_table(claim: AuxClaim, s_bits: int) -> np.ndarray:
    if claim.s_point is not None:
        return mle.eq_table(claim.s_point)
    table = field.zeros(1 << s_bits)
    table[: claim.length] = field.const(1)
    return table


def _pad(v: np.ndarray, n: int) -> np.ndarray:
    if len(v) == n:
        return v
    out = field.zeros(n)
    out[: len(v)] = v
    return out


def _weight_mle(claim: AuxClaim, point: list[int]) -> int:
    if claim.s_point is not None:
        return mle.eq_eval(claim.s_point, point)
    return mle.prefix_sum(point, claim.length)


def _pad_factor(zeta: list[int], s_bits: int) -> int:
    out = 1
    for z in zeta[: len(zeta) - s_bits]:
        out = out * (1 - z) % R
    return out


def _opening_claim(layout, c: AuxClaim, z_s: list[int], z, *, prover_opening=None,
                   rows=None):
    """The Hyrax claim for Z = Σ_f C(f)·v~(f, z_s): at a point when C is an eq, else with
    row weights C(f)·eq(z_s's high coordinates, block) and z_s's low ones as columns."""
    cut = len(z_s) - layout.w_bits
    if c.f_coeff is None:
        point, weights, cols = c.f_point + z_s, None, None
    else:
        blocks = mle.eq_table(z_s[:cut])
        coeff = c.f_coeff
        if len(coeff) < 1 << layout.f_bits:
            coeff = np.concatenate([coeff, field.zeros((1 << layout.f_bits) - len(coeff))])
        point, weights, cols = None, (coeff.reshape(-1, 1) * blocks.reshape(1, -1)).reshape(
            -1), z_s[cut:]
    if prover_opening is not None:
        return hyrax.ProverClaim(prover_opening, point, z.value, z.blind, weights, cols)
    return hyrax.VerifierClaim(layout, rows, point, z, weights, cols)


def prove_reductions(ctx, claims: ProverClaims) -> None:
    """The sample reduction, the weight reduction and both evaluation proofs."""
    t, params, rng, w = ctx.t, ctx.params, ctx.rng, ctx.w
    s_bits = ctx.schedule.s_bits
    n_pad = 1 << s_bits

    # Sample reduction.
    w.section("sample reduction")
    lams = t.challenge_scalars(b"v2/reduce/lambda", len(claims.aux))
    start = Op(0, 0)
    pairs = []
    for lam, (c, op) in zip(lams, claims.aux, strict=True):
        start = start + op.scale(lam)
        matrix = ctx.values[c.name]
        table = field.contract(matrix, c.feature_weights())  # over features → samples
        pairs.append((_pad(_weight_table(c, matrix.shape[1].bit_length() - 1), n_pad)
                      * field.const(lam), _pad(table, n_pad)))
    sc, challenges, final = sumcheck.prove_v2(
        t, params, rng, _ProductOracle(pairs), num_rounds=s_bits, degree=2,
        claim=sumcheck.ClaimOpening(start.value, start.blind),
    )
    write_sumcheck(w, sc)
    zeta = mle.reverse(challenges)
    expected = Op(0, 0)
    openings = []
    for lam, (c, _) in zip(lams, claims.aux, strict=True):
        spec = ctx.schedule.vector(c.name)
        sb = spec.layout.s_bits
        z_s = zeta[s_bits - sb :]
        z_op = claims.send(claims.value(c.name, c.f_point, z_s, c.f_coeff), b"v2/reduce/z")
        pad = _pad_factor(zeta, sb)
        expected = expected + z_op.scale(lam * pad * pad * _weight_mle(c, z_s))
        openings.append(_opening_claim(spec.layout, c, z_s, z_op, prover_opening=ctx.openings[
            c.name]))
    write_equality(w, sigma.prove_equality_v2(t, params, rng, final.blind - expected.blind))

    # Weight reduction.
    w.section("weight reduction")
    layout = ctx.schedule.weight_layout
    size = 1 << layout.num_vars
    lams = t.challenge_scalars(b"v2/weights/lambda", len(claims.weights))
    start = Op(0, 0)
    coeffs = field.zeros(size)
    for lam, (blocks, op) in zip(lams, claims.weights, strict=True):
        start = start + op.scale(lam)
        coeffs = coeffs + dense_coefficients(blocks, size) * field.const(lam)
    sc, challenges, final = sumcheck.prove_v2(
        t, params, rng, _ProductOracle([(coeffs, ctx.weights_field)]),
        num_rounds=layout.num_vars, degree=2,
        claim=sumcheck.ClaimOpening(start.value, start.blind),
    )
    write_sumcheck(w, sc)
    zeta_w = mle.reverse(challenges)
    zw = claims.send(mle.evaluate(ctx.weights_field, zeta_w), b"v2/weights/z")
    c_at = mle.evaluate(coeffs, zeta_w)
    write_equality(w, sigma.prove_equality_v2(t, params, rng, final.blind - zw.blind * c_at))

    # Evaluation proofs.
    w.section("opening of the committed vectors")
    write_dot(w, hyrax.prove_evaluations(t, params, rng, openings))
    weight_claim = hyrax.ProverClaim(ctx.weight_opening, zeta_w, zw.value, zw.blind)
    w.section("opening of C_W")
    write_dot(w, hyrax.prove_evaluations(t, params, rng, [weight_claim]))
    for name, point, op in claims.separate:
        w.section(f"opening of {name}")
        claim = hyrax.ProverClaim(ctx.openings[name], point, op.value, op.blind)
        write_dot(w, hyrax.prove_evaluations(t, params, rng, [claim]))


def verify_reductions(ctx, claims: VerifierClaims) -> None:
    t, params, r, checks = ctx.t, ctx.params, ctx.r, ctx.checks
    s_bits = ctx.schedule.s_bits

    lams = t.challenge_scalars(b"v2/reduce/lambda", len(claims.aux))
    start = Lin()
    for lam, (_, y) in zip(lams, claims.aux, strict=True):
        start.iadd(y, lam)
    zeta_ch, final = sumcheck.verify_v2(
        t, params, read_sumcheck(r, s_bits, 2), num_rounds=s_bits, degree=2, claim=start,
        checks=checks, label="sample reduction",
    )
    zeta = mle.reverse(zeta_ch)
    expected = Lin()
    openings = []
    for lam, (c, _) in zip(lams, claims.aux, strict=True):
        spec = ctx.schedule.vector(c.name)
        sb = spec.layout.s_bits
        z_s = zeta[s_bits - sb :]
        z = claims.receive(b"v2/reduce/z")
        pad = _pad_factor(zeta, sb)
        expected.iadd(z, lam * pad * pad * _weight_mle(c, z_s))
        openings.append(_opening_claim(spec.layout, c, z_s, z,
                                       rows=ctx.commitments[c.name]))
    sigma.defer_equality(t, params, final, expected, read_equality(r), checks,
                         "sample reduction: the claims on the committed vectors are false")

    layout = ctx.schedule.weight_layout
    size = 1 << layout.num_vars
    lams = t.challenge_scalars(b"v2/weights/lambda", len(claims.weights))
    start = Lin()
    coeffs = field.zeros(size)
    for lam, (blocks, y) in zip(lams, claims.weights, strict=True):
        start.iadd(y, lam)
        coeffs = coeffs + dense_coefficients(blocks, size) * field.const(lam)
    zw_ch, final = sumcheck.verify_v2(
        t, params, read_sumcheck(r, layout.num_vars, 2), num_rounds=layout.num_vars, degree=2,
        claim=start, checks=checks, label="weight reduction",
    )
    zeta_w = mle.reverse(zw_ch)
    zw = claims.receive(b"v2/weights/z")
    c_at = mle.evaluate(coeffs, zeta_w)
    sigma.defer_equality(t, params, final, zw * c_at, read_equality(r), checks,
                         "weight reduction: the claims on the committed weights are false")

    hyrax.defer_evaluations(t, params, openings, read_dot(r, 1 << ctx.schedule.w_bits), checks,
                            "opening of the committed vectors")
    hyrax.defer_evaluations(
        t, params, [hyrax.VerifierClaim(layout, ctx.weight_rows, zeta_w, zw)],
        read_dot(r, layout.width), checks, "opening of the weight commitment C_W",
    )
    for name, point, y in claims.separate:
        spec = ctx.schedule.vector(name)
        hyrax.defer_evaluations(
            t, params, [hyrax.VerifierClaim(spec.layout, ctx.commitments[name], point, y)],
            read_dot(r, spec.layout.width), checks, f"opening of {name}",
        )
