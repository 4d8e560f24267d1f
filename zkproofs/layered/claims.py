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

**Feature reduction.** With fresh random λ_c, one more sumcheck over the feature variables
(as many as the widest vector has) proves Σ_c λ_c·Z_c = Σ_f Σ_v Ĉ_v(f)·v~(f, ζ) with
Ĉ_v = Σ_{c on v} λ_c·C_c (the verifier computes every Ĉ_v: O(features)). It ends at one
feature point ζ_f; the prover commits U_v = com(v~(ζ_f, ζ)) once per vector and an equality
proof ties the final claim to Σ_v Ĉ_v~(ζ_f)·U_v. Vectors with fewer features are
zero-padded in the high coordinates, as in the sample reduction.

**Openings.** Every vector is now claimed at a suffix of the one point (ζ_f, ζ), so all of
them share their column coordinates whatever their row width (rows of up to 2^11 entries
span several features when N' is small), and one Hyrax proof of dot product opens them all;
C_W is opened at ζ_w by a second one.
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

    def virtual(self, name: str, f_point, s_point) -> Op:
        """Commit to w~(f_point, s_point) for an uncommitted vector w (a layer's quotient):
        not registered, the caller's relation proves it."""
        return self.send(self.value(name, f_point, s_point))

    def evaluation(self, name: str, f_point, s_point) -> Op:
        """Commit to v~(f_point, s_point) and register the claim."""
        op = self.send(self.value(name, f_point, s_point))
        self.aux.append((AuxClaim(name, list(f_point), list(s_point)), op))
        return op

    def adopt(self, name: str, f_point, s_point, op: Op) -> None:
        """Register a claim whose commitment the transcript already holds."""
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

    def receive(self, label: bytes = b"v2/claim") -> Lin:
        point = self.ctx.r.point()
        self.ctx.t.absorb_points(label, [self.ctx.params.backend.encode(point)])
        return Lin.of(point)

    def virtual(self, name: str, f_point, s_point) -> Lin:
        return self.receive()

    def evaluation(self, name: str, f_point, s_point) -> Lin:
        y = self.receive()
        self.aux.append((AuxClaim(name, list(f_point), list(s_point)), y))
        return y

    def adopt(self, name: str, f_point, s_point, y: Lin) -> None:
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


def _pad_factor(zeta: list[int], bits: int) -> int:
    """Π(1 − ζ_i) over the coordinates a vector of ``bits`` variables is zero-padded in."""
    out = 1
    for z in zeta[: len(zeta) - bits]:
        out = out * (1 - z) % R
    return out


def _padded(v: np.ndarray, bits: int) -> np.ndarray:
    return _pad(v, 1 << bits)


def _feature_coefficients(claims_on: dict, name: str, lams: dict, f_bits: int) -> np.ndarray:
    """Ĉ_v = Σ_{c on v} λ_c·C_c over the vector's 2^f features."""
    out = field.zeros(1 << f_bits)
    for index, c in claims_on.get(name, []):
        out = out + _pad(c.feature_weights(), 1 << f_bits) * field.const(lams[index])
    return out


def _group(aux) -> dict[str, list[tuple[int, AuxClaim]]]:
    out: dict[str, list[tuple[int, AuxClaim]]] = {}
    for i, (c, _) in enumerate(aux):
        out.setdefault(c.name, []).append((i, c))
    return out


def prove_reductions(ctx, claims: ProverClaims) -> None:
    """The sample, feature and weight reductions and the two evaluation proofs."""
    t, params, rng, w = ctx.t, ctx.params, ctx.rng, ctx.w
    sched = ctx.schedule
    s_bits = sched.s_bits
    n_pad = 1 << s_bits

    # Sample reduction: every claim c to Z_c = Σ_f C_c(f)·v_c~(f, ζ).
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
    sc, challenges, final = sumcheck.prove(
        t, params, rng, _ProductOracle(pairs), num_rounds=s_bits, degree=2,
        claim=sumcheck.ClaimOpening(start.value, start.blind),
    )
    write_sumcheck(w, sc)
    zeta = mle.reverse(challenges)
    expected = Op(0, 0)
    z_ops = []
    for lam, (c, _) in zip(lams, claims.aux, strict=True):
        sb = sched.vector(c.name).layout.s_bits
        z_s = zeta[s_bits - sb :]
        z_op = claims.send(claims.value(c.name, c.f_point, z_s, c.f_coeff), b"v2/reduce/z")
        pad = _pad_factor(zeta, sb)
        expected = expected + z_op.scale(lam * pad * pad * _weight_mle(c, z_s))
        z_ops.append(z_op)
    write_equality(w, sigma.prove_equality(t, params, rng, final.blind - expected.blind))

    # Feature reduction: Σ_c λ_c·Z_c = Σ_f Σ_v Ĉ_v(f)·v~(f, ζ) to one point per vector.
    w.section("feature reduction")
    f_bits = sched.f_bits
    lams = t.challenge_scalars(b"v2/features/lambda", len(claims.aux))
    start = Op(0, 0)
    for lam, op in zip(lams, z_ops, strict=True):
        start = start + op.scale(lam)
    on = _group(claims.aux)
    pairs, tables = [], {}
    for name, spec in sched.vectors.items():
        lay = spec.layout
        tables[name] = field.contract(ctx.values[name].T,
                                      mle.eq_table(zeta[s_bits - lay.s_bits :]))
        coeff = _feature_coefficients(on, name, lams, lay.f_bits)
        pairs.append((_padded(coeff, f_bits), _padded(tables[name], f_bits)))
    sc, challenges, final = sumcheck.prove(
        t, params, rng, _ProductOracle(pairs), num_rounds=f_bits, degree=2,
        claim=sumcheck.ClaimOpening(start.value, start.blind),
    )
    write_sumcheck(w, sc)
    zeta_f = mle.reverse(challenges)
    expected = Op(0, 0)
    openings = []
    for name, spec in sched.vectors.items():
        lay = spec.layout
        x_f = zeta_f[f_bits - lay.f_bits :]
        u = claims.send(mle.evaluate(tables[name], x_f), b"v2/features/u")
        pad = _pad_factor(zeta_f, lay.f_bits)
        coeff = _feature_coefficients(on, name, lams, lay.f_bits)
        expected = expected + u.scale(pad * pad * mle.evaluate(coeff, x_f))
        point = x_f + zeta[s_bits - lay.s_bits :]
        openings.append(hyrax.ProverClaim(ctx.openings[name], point, u.value, u.blind))
    write_equality(w, sigma.prove_equality(t, params, rng, final.blind - expected.blind))

    # Weight reduction.
    w.section("weight reduction")
    layout = sched.weight_layout
    size = 1 << layout.num_vars
    lams = t.challenge_scalars(b"v2/weights/lambda", len(claims.weights))
    start = Op(0, 0)
    coeffs = field.zeros(size)
    for lam, (blocks, op) in zip(lams, claims.weights, strict=True):
        start = start + op.scale(lam)
        coeffs = coeffs + dense_coefficients(blocks, size) * field.const(lam)
    sc, challenges, final = sumcheck.prove(
        t, params, rng, _ProductOracle([(coeffs, ctx.weights_field)]),
        num_rounds=layout.num_vars, degree=2,
        claim=sumcheck.ClaimOpening(start.value, start.blind),
    )
    write_sumcheck(w, sc)
    zeta_w = mle.reverse(challenges)
    zw = claims.send(mle.evaluate(ctx.weights_field, zeta_w), b"v2/weights/z")
    c_at = mle.evaluate(coeffs, zeta_w)
    write_equality(w, sigma.prove_equality(t, params, rng, final.blind - zw.blind * c_at))

    # Evaluation proofs: every vector at its suffix of (ζ_f, ζ); C_W at ζ_w.
    w.section("opening of the committed vectors")
    write_dot(w, hyrax.prove_evaluations(t, params, rng, openings))
    weight_claim = hyrax.ProverClaim(ctx.weight_opening, zeta_w, zw.value, zw.blind)
    w.section("opening of C_W")
    write_dot(w, hyrax.prove_evaluations(t, params, rng, [weight_claim]))


def verify_reductions(ctx, claims: VerifierClaims) -> None:
    t, params, r, checks = ctx.t, ctx.params, ctx.r, ctx.checks
    sched = ctx.schedule
    s_bits = sched.s_bits

    lams = t.challenge_scalars(b"v2/reduce/lambda", len(claims.aux))
    start = Lin()
    for lam, (_, y) in zip(lams, claims.aux, strict=True):
        start.iadd(y, lam)
    zeta_ch, final = sumcheck.verify(
        t, params, read_sumcheck(r, s_bits, 2), num_rounds=s_bits, degree=2, claim=start,
        checks=checks, label="sample reduction",
    )
    zeta = mle.reverse(zeta_ch)
    expected = Lin()
    zs = []
    for lam, (c, _) in zip(lams, claims.aux, strict=True):
        sb = sched.vector(c.name).layout.s_bits
        z_s = zeta[s_bits - sb :]
        z = claims.receive(b"v2/reduce/z")
        pad = _pad_factor(zeta, sb)
        expected.iadd(z, lam * pad * pad * _weight_mle(c, z_s))
        zs.append(z)
    sigma.defer_equality(t, params, final, expected, read_equality(r), checks,
                         "sample reduction: the claims on the committed vectors are false")

    f_bits = sched.f_bits
    lams = t.challenge_scalars(b"v2/features/lambda", len(claims.aux))
    start = Lin()
    for lam, z in zip(lams, zs, strict=True):
        start.iadd(z, lam)
    zf_ch, final = sumcheck.verify(
        t, params, read_sumcheck(r, f_bits, 2), num_rounds=f_bits, degree=2, claim=start,
        checks=checks, label="feature reduction",
    )
    zeta_f = mle.reverse(zf_ch)
    on = _group(claims.aux)
    expected = Lin()
    openings = []
    for name, spec in sched.vectors.items():
        lay = spec.layout
        x_f = zeta_f[f_bits - lay.f_bits :]
        u = claims.receive(b"v2/features/u")
        pad = _pad_factor(zeta_f, lay.f_bits)
        coeff = _feature_coefficients(on, name, lams, lay.f_bits)
        expected.iadd(u, pad * pad * mle.evaluate(coeff, x_f))
        point = x_f + zeta[s_bits - lay.s_bits :]
        openings.append(hyrax.VerifierClaim(lay, ctx.commitments[name], point, u))
    sigma.defer_equality(t, params, final, expected, read_equality(r), checks,
                         "feature reduction: the claims on the committed vectors are false")

    layout = sched.weight_layout
    size = 1 << layout.num_vars
    lams = t.challenge_scalars(b"v2/weights/lambda", len(claims.weights))
    start = Lin()
    coeffs = field.zeros(size)
    for lam, (blocks, y) in zip(lams, claims.weights, strict=True):
        start.iadd(y, lam)
        coeffs = coeffs + dense_coefficients(blocks, size) * field.const(lam)
    zw_ch, final = sumcheck.verify(
        t, params, read_sumcheck(r, layout.num_vars, 2), num_rounds=layout.num_vars, degree=2,
        claim=start, checks=checks, label="weight reduction",
    )
    zeta_w = mle.reverse(zw_ch)
    zw = claims.receive(b"v2/weights/z")
    c_at = mle.evaluate(coeffs, zeta_w)
    sigma.defer_equality(t, params, final, zw * c_at, read_equality(r), checks,
                         "weight reduction: the claims on the committed weights are false")

    hyrax.defer_evaluations(t, params, openings, read_dot(r, 1 << sched.column_bits), checks,
                            "opening of the committed vectors")
    hyrax.defer_evaluations(
        t, params, [hyrax.VerifierClaim(layout, ctx.weight_rows, zeta_w, zw)],
        read_dot(r, layout.width), checks, "opening of the weight commitment C_W",
    )
