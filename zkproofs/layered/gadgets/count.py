"""The accuracy count over the logits (protocol v2).

For sample n with label y_n the model is right iff ℓ_{y_n} − ℓ_j − [j < y_n] ≥ 0 for every
class j ≠ y_n (argmax, the lowest index winning ties). The prover commits, per sample, a bit
b_n (range(1) lookup) and t_n = ℓ(y_n, n), and per (class, sample) the margin

    f(j, n) = [j < K]·(t_n + 2^B·([n < N] − b_n)) − ℓ(j, n) − [j < y_n]

in range limbs of B + 1 bits, where 2^B exceeds every |t_n − ℓ(j, n) − [j < y_n]| the
intervals allow. With b_n = 1 this says every margin is non-negative (the label wins);
with b_n = 0 it holds whatever the logits. Then Σ_{n<N} b_n = c. All three relations are
linear in committed vectors:

- the margins, at the point (z_j, z_n) of their lookup (one equality proof);
- t_n = Σ_j Y(j, n)·ℓ(j, n) with Y the public one-hot labels, at z_n: a sumcheck over ℓ's
  index of the public P(j, n) = eq(z_n, n)·Y(j, n) times ℓ, ending in a claim on ℓ;
- the count, as a prefix-sum claim on b with the public value c.
"""

from __future__ import annotations

import numpy as np

from ... import field, mle, sigma, sumcheck
from ...batch import Lin
from ...errors import InvalidInputError
from ...lookup.logup_gkr.prover import Op
from ...lookup.tables import Kind
from ...proofstream import (
    EQUALITY,
    Size,
    read_equality,
    read_sumcheck,
    sumcheck_size,
    write_equality,
    write_sumcheck,
)
from ..schedule import (
    CountPlan,
    Schedule,
    Segment,
    limb_shifts,
    limb_widths,
    max_limb_bits,
    pow2_bits,
    split_limbs,
)
from ..terms import VecTerm

R = field.MODULUS
B_NAME, T_NAME = "count.b", "count.t"


class CountError(InvalidInputError):
    """The model does not label as many samples correctly as claimed."""


def margin_names(plan: CountPlan) -> list[str]:
    return [f"count.f{j}" for j in range(len(plan.margin_limbs))]


def plan(sched: Schedule, ivs) -> None:
    logits = ivs.layers[-1].out
    k = sched.arch.num_classes
    lo = logits.lo.min(axis=1)
    hi = logits.hi.max(axis=1)
    spread = int((hi - lo).max()) + 1
    B = spread.bit_length()
    k_bits = pow2_bits(k)
    widest = max_limb_bits((1 << k_bits) * sched.n_pad)
    p = CountPlan(k, k_bits, B, tuple(limb_widths(B + 1, widest)),
                  sched.layers[-1].out + ".logits")
    sched.count = p
    sched.add_vector(B_NAME, 0, 1)
    sched.add_vector(T_NAME, 0, 1)
    sched.segments.append(Segment("count bits", Kind("range", 1), sched.s_bits,
                                  ((VecTerm(B_NAME, 1),),), True, 0))
    for j, (name, width) in enumerate(zip(margin_names(p), p.margin_limbs, strict=True)):
        sched.add_vector(name, k_bits, k)
        sched.segments.append(Segment(f"count margin limb {j}", Kind("range", width),
                                      k_bits + sched.s_bits, ((VecTerm(name, 1),),), True,
                                      k_bits))


def witness(sched: Schedule, values: dict, logits_int: np.ndarray, strict: bool = True) -> None:
    """b, t and the margin limbs from the (K', N') logits; b_n = 1 for every sample the
    model gets right (the honest prover claims all of them)."""
    p = sched.count
    n, n_pad, k = sched.num_samples, sched.n_pad, p.num_classes
    y = sched.y
    logits = logits_int[:k, :n]
    t = logits[y, np.arange(n)]
    pred = np.argmax(logits, axis=0)
    b = (pred == y).astype(np.int64)
    if strict and int(b.sum()) < sched.claimed:
        raise CountError(f"the model labels {int(b.sum())} samples correctly, not "
                         f"{sched.claimed}: the claim is false")
    # Claim exactly c: keep the first c correct samples.
    b[np.flatnonzero(b)[sched.claimed :]] = 0
    bvec = np.zeros((1, n_pad), dtype=np.int64)
    bvec[0, :n] = b
    tvec = np.zeros((1, n_pad), dtype=np.int64)
    tvec[0, :n] = t
    k_pad = 1 << p.k_bits
    below = (np.arange(k)[:, None] < y[None, :]).astype(np.int64)
    f = np.zeros((k_pad, n_pad), dtype=np.int64)
    f[:k, :n] = tvec[:, :n] + (1 << p.B) * (1 - bvec[:, :n]) - logits - below
    values[B_NAME], values[T_NAME] = bvec, tvec
    for name, limb in zip(margin_names(p), split_limbs(f, p.margin_limbs), strict=True):
        values[name] = limb


def proof_size(sched: Schedule) -> Size:
    p = sched.count
    return (Size(2) + EQUALITY + sumcheck_size(p.k_bits + sched.s_bits, 2) + Size(1)
            + EQUALITY)


def claim_count(sched: Schedule) -> int:
    return 2 + 1 + 1  # t and b at z_n, ℓ at the gather's point, the count on b


def _points(sched: Schedule, leaf_point: list[int]):
    p = sched.count
    bits = p.k_bits + sched.s_bits
    seg = leaf_point[len(leaf_point) - bits :]
    return seg[sched.s_bits :], seg[: sched.s_bits]


def _labels_below(sched: Schedule, z_j, z_n) -> int:
    """L~(z_j, z_n) for L(j, n) = [j < y_n] on real samples."""
    eq_n = field.to_ints(mle.eq_table(z_n)[: sched.num_samples])
    below = [mle.prefix_sum(z_j, c) for c in range(sched.count.num_classes)]
    return sum(e * below[int(c)] for e, c in zip(eq_n, sched.y, strict=True)) % R


def _gather_coefficients(sched: Schedule, z_n) -> np.ndarray:
    """P(j, n) = eq(z_n, n)·[y_n = j] over ℓ's (K', N') index, as a field vector."""
    p = sched.count
    n = sched.num_samples
    out = field.zeros((1 << p.k_bits) * sched.n_pad)
    eq_n = mle.eq_table(z_n)
    idx = sched.y * sched.n_pad + np.arange(n)
    out[idx] = eq_n[:n]
    return out


def _gather_mle(sched: Schedule, z_n, rho) -> int:
    """P~(ρ_j, ρ_n) = Σ_n eq(z_n, n)·eq(ρ_n, n)·eq(ρ_j, y_n), in O(N)."""
    p = sched.count
    rho_j, rho_n = rho[: p.k_bits], rho[p.k_bits :]
    eq = (mle.eq_table(z_n) * mle.eq_table(rho_n))[: sched.num_samples]
    by_class = [mle.eq_int(rho_j, c) for c in range(p.num_classes)]
    return sum(e * by_class[int(c)] for e, c in zip(field.to_ints(eq), sched.y, strict=True)) % R


class _GatherOracle:
    def __init__(self, coeffs, logits):
        self.a, self.b = coeffs, logits

    def round_evaluations(self, claim: int) -> list[int]:
        a0, a1, b0, b1 = self.a[0::2], self.a[1::2], self.b[0::2], self.b[1::2]
        s0 = field.dot(a0, b0)
        return [s0, (claim - s0) % R, field.dot(a1 + a1 - a0, b1 + b1 - b0)]

    def bind(self, r: int) -> None:
        self.a, self.b = mle.fold_low(self.a, r), mle.fold_low(self.b, r)


def prove(ctx, leaf_point: list[int], out_claims: dict, logit_op: Op) -> None:
    sched, claims, p = ctx.schedule, ctx.claims, ctx.schedule.count
    t, params, rng, w = ctx.t, ctx.params, ctx.rng, ctx.w
    z_j, z_n = _points(sched, leaf_point)
    yt = claims.evaluation(T_NAME, [], z_n)
    yb = claims.evaluation(B_NAME, [], z_n)
    bits = p.k_bits + sched.s_bits
    fsum = Op(0, 0)
    for name, s in zip(margin_names(p), limb_shifts(p.margin_limbs), strict=True):
        fsum = fsum + out_claims[("eval", name, bits)].scale(1 << s)
    J = mle.prefix_sum(z_j, p.num_classes)
    ind_n = mle.prefix_sum(z_n, sched.num_samples)
    rhs = (yt + (Op.public(ind_n) - yb).scale(1 << p.B)).scale(J) - logit_op - Op.public(
        _labels_below(sched, z_j, z_n))
    write_equality(w, sigma.prove_equality(t, params, rng, fsum.blind - rhs.blind))
    # t~(z_n) = Σ P·ℓ
    logits = field.from_int64(ctx.values[p.logits].reshape(-1))
    sc, ch, final = sumcheck.prove(
        t, params, rng, _GatherOracle(_gather_coefficients(sched, z_n), logits),
        num_rounds=bits, degree=2, claim=sumcheck.ClaimOpening(yt.value, yt.blind),
    )
    write_sumcheck(w, sc)
    rho = mle.reverse(ch)
    yl = claims.evaluation(p.logits, rho[: p.k_bits], rho[p.k_bits :])
    coeff = _gather_mle(sched, z_n, rho)
    write_equality(w, sigma.prove_equality(t, params, rng, final.blind - yl.blind * coeff))
    claims.prefix_sum(B_NAME, sched.num_samples, Op.public(sched.claimed))


def verify(ctx, leaf_point: list[int], out_claims: dict, logit_y: Lin) -> None:
    sched, claims, p = ctx.schedule, ctx.claims, ctx.schedule.count
    t, params, r, checks = ctx.t, ctx.params, ctx.r, ctx.checks
    g = params.g
    z_j, z_n = _points(sched, leaf_point)
    yt = claims.evaluation(T_NAME, [], z_n)
    yb = claims.evaluation(B_NAME, [], z_n)
    bits = p.k_bits + sched.s_bits
    fsum = Lin()
    for name, s in zip(margin_names(p), limb_shifts(p.margin_limbs), strict=True):
        fsum.iadd(out_claims[("eval", name, bits)], 1 << s)
    J = mle.prefix_sum(z_j, p.num_classes)
    ind_n = mle.prefix_sum(z_n, sched.num_samples)
    rhs = Lin().iadd(yt, J).iadd(g, J * ind_n << p.B).iadd(yb, -(J << p.B)).iadd(logit_y, -1)
    rhs.iadd(g, -_labels_below(sched, z_j, z_n))
    sigma.defer_equality(t, params, fsum, rhs, read_equality(r), checks,
                         "count: a margin does not match the logits and labels")
    ch, final = sumcheck.verify(
        t, params, read_sumcheck(r, bits, 2), num_rounds=bits, degree=2, claim=yt,
        checks=checks, label="count: the label's logit",
    )
    rho = mle.reverse(ch)
    yl = claims.evaluation(p.logits, rho[: p.k_bits], rho[p.k_bits :])
    coeff = _gather_mle(sched, z_n, rho)
    sigma.defer_equality(t, params, final, yl * coeff, read_equality(r), checks,
                         "count: t is not the label's logit")
    claims.prefix_sum(B_NAME, sched.num_samples, Lin.of(g, sched.claimed))
