"""Dense layers for the whole batch at once (protocol v2).

For a layer y = ⌊(W·a + b)/2^s⌋ (then ReLU) the accumulator over the batch is the matrix
product acc(o, n) = Σ_i W(o, i)·a(i, n) + [n < N]·b(o). The relation
acc = 2^s·q + rem is checked at one random point (z_o, z_n) — the point the lookup argument
already opened q's and rem's vectors at — which by Schwartz–Zippel checks it everywhere:

    2^s·q~(z_o, z_n) + rem~(z_o, z_n) = Σ_i W~(z_o, i)·a~(i, z_n) + I~(z_n)·b~(z_o)

- Input = the public test set x: the verifier computes x~(i, z_n) for every i itself
  (O(N·inputs)), so the right side is a linear form on C_W: a weight claim, no sumcheck.
- Input = a committed activation: a sumcheck over i (Thaler's matrix-product sumcheck) with
  committed rounds ends at ρ with W~(z_o, ρ) (a weight claim) and a~(ρ, z_n) (claims on the
  input's vectors, at the same sample point), tied to the sumcheck's final claim by a
  product proof.

q's vectors: with ReLU q = a − d (a = max(q, 0), d = max(−q, 0), pair or signed-limb
lookups); without, q = u − 2^(k−1) on real entries (u in range limbs). The remainder is in
range limbs of exactly s bits, and with q bounded the field equation is the integer one:
floor semantics. The logit layer (shift 0) commits ℓ = acc itself, which needs no range
check: it is a sum of products of range-checked values.
"""

from __future__ import annotations

import numpy as np

from ... import field, mle, sigma, sumcheck
from ...batch import Lin
from ...lookup.logup_gkr.prover import Op
from ...lookup.tables import Kind
from ...ml.architecture import Dense
from ...proofstream import (
    EQUALITY,
    PRODUCT,
    Size,
    read_equality,
    read_product,
    read_sumcheck,
    sumcheck_size,
    write_equality,
    write_product,
    write_sumcheck,
)
from ..schedule import (
    DensePlan,
    Schedule,
    Segment,
    VecTerm,
    limb_shifts,
    limb_widths,
    max_limb_bits,
    pow2_bits,
    signed_width,
    split_limbs,
)

R = field.MODULUS


# ------------------------------------------------------------------ planning


def names(plan: DensePlan) -> dict[str, list[str]]:
    """The committed vectors of a layer's output, by role."""
    o = plan.out
    if plan.logits:
        return {"logits": [f"{o}.logits"]}
    out: dict[str, list[str]] = {}
    if plan.relu and plan.pair:
        out["a"], out["d"] = [f"{o}.a"], [f"{o}.d"]
    elif plan.relu:
        out["sign"] = [f"{o}.sign"]
        out["a"] = [f"{o}.a{j}" for j in range(len(plan.limbs))]
        out["d"] = [f"{o}.d{j}" for j in range(len(plan.limbs))]
    else:
        out["u"] = [f"{o}.u{j}" for j in range(len(plan.limbs))]
    out["rem"] = [f"{o}.rem{j}" for j in range(len(plan.rem_limbs))]
    return out


def plan_layers(sched: Schedule, ivs) -> None:
    arch = sched.arch
    last = len(arch.layers) - 1
    prev: DensePlan | None = None
    for i, layer in enumerate(arch.layers):
        if not isinstance(layer, Dense):
            continue  # Flatten, Reshape: relabelings of the flat C-order layout
        f_in_bits = pow2_bits(layer.in_features)
        f_out_bits = pow2_bits(layer.out_features)
        logits = i == last
        q = ivs.layers[i].quotient
        q_lo, q_hi = int(q.lo.min()), int(q.hi.max())
        k, limbs = 0, ()
        widest = max_limb_bits((1 << f_out_bits) * sched.n_pad)
        if not logits and layer.relu:
            k = max(q_hi, -q_lo, 1).bit_length()
            limbs = tuple(limb_widths(k, widest)) if k > widest else (k,)
        elif not logits:
            k = signed_width(q_lo, q_hi)
            limbs = tuple(limb_widths(k, widest))
        rem_limbs = (tuple(limb_widths(layer.shift, widest)) if layer.shift and not logits
                     else ())
        if prev is None:
            source, kind = "", "public"
        else:
            source, kind = prev.out, ("relu" if prev.relu else "signed")
        p = DensePlan(
            index=i, layer=layer, input=source, input_kind=kind, f_in_bits=f_in_bits,
            f_out_bits=f_out_bits, logits=logits, shift=layer.shift, relu=layer.relu, k=k,
            limbs=limbs, rem_limbs=rem_limbs,
            weight_offset=arch.slot(f"layers.{i}.weight").offset,
            bias_offset=arch.slot(f"layers.{i}.bias").offset,
        )
        sched.layers.append(p)
        _add_vectors_and_segments(sched, p)
        prev = p


def _add_vectors_and_segments(sched: Schedule, p: DensePlan) -> None:
    f_out = p.layer.out_features
    bits = p.f_out_bits + sched.s_bits
    nm = names(p)
    for group in nm.values():
        for name in group:
            sched.add_vector(name, p.f_out_bits, f_out)
    if p.logits:
        return

    def seg(label, kind, *comps):
        sched.segments.append(Segment(f"{p.out} {label}", kind, bits,
                                      tuple((VecTerm(c, 1),) for c in comps), True,
                                      p.f_out_bits))

    if p.relu and p.pair:
        seg("relu", Kind("relu", p.k), nm["a"][0], nm["d"][0])
    elif p.relu:
        for j, width in enumerate(p.limbs):
            seg(f"relu limb {j}", Kind("signed", width), nm["sign"][0], nm["a"][j], nm["d"][j])
    else:
        for j, width in enumerate(p.limbs):
            seg(f"quotient limb {j}", Kind("range", width), nm["u"][j])
    for j, width in enumerate(p.rem_limbs):
        seg(f"remainder limb {j}", Kind("range", width), nm["rem"][j])


def layer_input(sched: Schedule, plan: DensePlan, values: dict) -> np.ndarray:
    """The committed input of a layer as an int64 (F', N') matrix (the prover's side)."""
    prev = next(p for p in sched.layers if p.out == plan.input)
    if not prev.relu:
        return values[f"{prev.out}.q"]
    nm = names(prev)
    shifts = limb_shifts(prev.limbs)
    return sum(values[a] << s for a, s in zip(nm["a"], shifts, strict=True))


# ------------------------------------------------------------------ witness


def witness(sched: Schedule, plan: DensePlan, trace_step, values: dict) -> None:
    """Fill ``values`` with the layer's committed vectors (int64, (F', N'), feature-major)."""
    f_pad, n_pad = 1 << plan.f_out_bits, sched.n_pad
    n, f = sched.num_samples, plan.layer.out_features

    def mat(arr):
        out = np.zeros((f_pad, n_pad), dtype=np.int64)
        out[:f, :n] = np.asarray(arr, dtype=np.int64).T
        return out

    nm = names(plan)
    if plan.logits:
        values[nm["logits"][0]] = mat(trace_step.acc)
        return
    q = mat(trace_step.quotient)
    values[f"{plan.out}.q"] = q  # not committed: the next layer's input when there is no ReLU
    if plan.relu:
        a, d = np.maximum(q, 0), np.maximum(-q, 0)
        if plan.pair:
            values[nm["a"][0]], values[nm["d"][0]] = a, d
        else:
            values[nm["sign"][0]] = mat(trace_step.quotient >= 0) * 1
            for j, (al, dl) in enumerate(zip(split_limbs(a, plan.limbs),
                                             split_limbs(d, plan.limbs), strict=True)):
                values[nm["a"][j]], values[nm["d"][j]] = al, dl
    else:
        real = np.zeros((f_pad, n_pad), dtype=bool)
        real[:f, :n] = True
        u = np.where(real, q + (1 << (plan.k - 1)), 0)
        for j, ul in enumerate(split_limbs(u, plan.limbs)):
            values[nm["u"][j]] = ul
    if plan.rem_limbs:
        rem = mat(trace_step.acc) - (q << plan.shift)
        for j, rl in enumerate(split_limbs(rem, plan.rem_limbs)):
            values[nm["rem"][j]] = rl


# ------------------------------------------------------------------ sizes


def input_claims(plan: DensePlan, sched: Schedule) -> int:
    if plan.input_kind == "public":
        return 0
    prev = next(p for p in sched.layers if p.out == plan.input)
    return len(names(prev)["a"] if prev.relu else names(prev)["u"])


def proof_size(sched: Schedule, plan: DensePlan) -> Size:
    total = Size(1) if plan.logits else Size()  # ℓ~ at the relation point
    if plan.input_kind != "public":
        total += Size(1)  # b~(z_o)
        total += sumcheck_size(plan.f_in_bits, 2)
        total += Size(1 + input_claims(plan, sched) + 1) + PRODUCT + EQUALITY
    return total


def claim_count(sched: Schedule, plan: DensePlan) -> int:
    return (1 if plan.logits else 0) + input_claims(plan, sched)


# ------------------------------------------------------------------ the relation


def _relation_point(sched: Schedule, leaf_point: list[int], plan: DensePlan):
    """(z_o, z_n): the vector point of the layer's output segments (or, for the logits, of
    the margins' segments, which have the same shape)."""
    bits = plan.f_out_bits + sched.s_bits
    seg = leaf_point[len(leaf_point) - bits :]
    return seg[sched.s_bits :], seg[: sched.s_bits]


def _public_column(sched: Schedule, z_n: list[int], f_in: int) -> np.ndarray:
    """x~(i, z_n) for every input feature i (the verifier's O(N·inputs) step)."""
    eq_n = mle.eq_table(z_n)[: sched.num_samples]
    return field.contract(sched.x, eq_n)[:f_in]


def _weight_blocks(plan: DensePlan, row: np.ndarray, col: np.ndarray):
    """Coefficients eq(z_o)[o]·col[i] on the weight block (out, in), C order."""
    from ..claims import Block

    f_out, f_in = plan.layer.out_features, plan.layer.in_features
    outer = row[:f_out].reshape(f_out, 1) * col[:f_in].reshape(1, f_in)
    return Block(plan.weight_offset, outer.reshape(-1))


def _bias_block(plan: DensePlan, row: np.ndarray, scale: int):
    from ..claims import Block

    return Block(plan.bias_offset, row[: plan.layer.out_features] * field.const(scale))


def _input_terms(sched: Schedule, plan: DensePlan):
    """[(vector, coefficient)] of the committed input, and its public offset (u's)."""
    prev = next(p for p in sched.layers if p.out == plan.input)
    nm = names(prev)
    shifts = limb_shifts(prev.limbs)
    if prev.relu:
        return [(a, 1 << s) for a, s in zip(nm["a"], shifts, strict=True)], None
    return [(u, 1 << s) for u, s in zip(nm["u"], shifts, strict=True)], prev


def _u_offset(sched: Schedule, prev: DensePlan, f_point, s_point) -> int:
    """2^(k−1)·Ind~(f, s): u = q + 2^(k−1) on the real entries only."""
    ind = mle.prefix_sum(f_point, prev.layer.out_features) * mle.prefix_sum(
        s_point, sched.num_samples)
    return (1 << (prev.k - 1)) * ind % R


def output_terms(plan: DensePlan):
    """[(vector, coefficient)] with Σ coeff·v = 2^s·q + rem (or ℓ for the logits)."""
    nm = names(plan)
    if plan.logits:
        return [(nm["logits"][0], 1)], 0
    sh = 1 << plan.shift
    terms = []
    shifts = limb_shifts(plan.limbs)
    if plan.relu:
        for a, s in zip(nm["a"], shifts, strict=True):
            terms.append((a, sh << s))
        for d, s in zip(nm["d"], shifts, strict=True):
            terms.append((d, -(sh << s)))
    else:
        for u, s in zip(nm["u"], shifts, strict=True):
            terms.append((u, sh << s))
    for r, s in zip(nm["rem"], limb_shifts(plan.rem_limbs), strict=True):
        terms.append((r, 1 << s))
    offset = 0 if plan.relu else sh * (1 << (plan.k - 1))
    return terms, offset


class _MatrixOracle:
    """Σ_i row(i)·col(i), the lowest variable bound first."""

    def __init__(self, row, col):
        self.row, self.col = row, col

    def round_evaluations(self, claim: int) -> list[int]:
        r0, r1, c0, c1 = self.row[0::2], self.row[1::2], self.col[0::2], self.col[1::2]
        s0 = field.dot(r0, c0)
        s2 = field.dot(r1 + r1 - r0, c1 + c1 - c0)
        return [s0, (claim - s0) % R, s2]

    def bind(self, r: int) -> None:
        self.row = mle.fold_low(self.row, r)
        self.col = mle.fold_low(self.col, r)


def prove(ctx, plan: DensePlan, leaf_point: list[int], out_claims: dict) -> Op | None:
    """Prove the layer's relation at its point; returns ℓ's claim for the logit layer."""
    sched, claims = ctx.schedule, ctx.claims
    z_o, z_n = _relation_point(sched, leaf_point, plan)
    terms, offset = output_terms(plan)
    ind_n = mle.prefix_sum(z_n, sched.num_samples)
    lhs = Op(0, 0)
    logit_op = None
    for name, coeff in terms:
        if plan.logits:
            op = claims.evaluation(name, z_o, z_n)
            logit_op = op
        else:
            op = out_claims[(name, plan.f_out_bits + sched.s_bits)]
        lhs = lhs + op.scale(coeff)
    if offset:
        lhs = lhs - Op.public(offset * mle.prefix_sum(z_o, plan.layer.out_features) * ind_n)
    row = mle.eq_table(z_o)
    if plan.input_kind == "public":
        col = _public_column(sched, z_n, plan.layer.in_features)
        claims.weight_claim([_weight_blocks(plan, row, col), _bias_block(plan, row, ind_n)], lhs)
        return logit_op
    t, params, rng, w = ctx.t, ctx.params, ctx.rng, ctx.w
    yb = claims.weight_value([_bias_block(plan, row, 1)])
    start = lhs - yb.scale(ind_n)
    weights = ctx.weights_int[plan.weight_offset : plan.weight_offset
                              + plan.layer.out_features * plan.layer.in_features]
    wmat = weights.reshape(plan.layer.out_features, plan.layer.in_features)
    f_in_pad = 1 << plan.f_in_bits
    wrow = field.zeros(f_in_pad)
    wrow[: plan.layer.in_features] = field.contract(wmat, row[: plan.layer.out_features])
    inp = layer_input(sched, plan, ctx.values)  # (F'_in, N') int64
    acol = field.contract(inp.T, mle.eq_table(z_n))
    sc, ch, final = sumcheck.prove_v2(
        t, params, rng, _MatrixOracle(wrow, acol), num_rounds=plan.f_in_bits, degree=2,
        claim=sumcheck.ClaimOpening(start.value, start.blind),
    )
    write_sumcheck(w, sc)
    rho = mle.reverse(ch)
    eq_rho = mle.eq_table(rho)
    yw = claims.weight_value([_weight_blocks(plan, row, eq_rho)])
    in_terms, u_prev = _input_terms(sched, plan)
    ya = Op(0, 0)
    for name, coeff in in_terms:
        ya = ya + claims.evaluation(name, rho, z_n).scale(coeff)
    if u_prev is not None:
        ya = ya - Op.public(_u_offset(sched, u_prev, rho, z_n))
    yp = claims.send(yw.value * ya.value, b"v2/dense/product")
    write_product(w, sigma.prove_product_v2(t, params, rng, yw.value, yw.blind, ya.value,
                                            ya.blind, yp.blind))
    write_equality(w, sigma.prove_equality_v2(t, params, rng, final.blind - yp.blind))
    return logit_op


def verify(ctx, plan: DensePlan, leaf_point: list[int], out_claims: dict) -> Lin | None:
    sched, claims = ctx.schedule, ctx.claims
    z_o, z_n = _relation_point(sched, leaf_point, plan)
    terms, offset = output_terms(plan)
    ind_n = mle.prefix_sum(z_n, sched.num_samples)
    lhs = Lin()
    logit_y = None
    for name, coeff in terms:
        if plan.logits:
            y = claims.evaluation(name, z_o, z_n)
            logit_y = y
        else:
            y = out_claims[(name, plan.f_out_bits + sched.s_bits)]
        lhs.iadd(y, coeff)
    g = ctx.params.g
    if offset:
        lhs.iadd(g, -offset * mle.prefix_sum(z_o, plan.layer.out_features) * ind_n)
    row = mle.eq_table(z_o)
    if plan.input_kind == "public":
        col = _public_column(sched, z_n, plan.layer.in_features)
        claims.weight_claim([_weight_blocks(plan, row, col), _bias_block(plan, row, ind_n)], lhs)
        return logit_y
    t, params, r, checks = ctx.t, ctx.params, ctx.r, ctx.checks
    label = f"layer {plan.index} (dense)"
    yb = claims.weight_value([_bias_block(plan, row, 1)])
    start = lhs - yb * ind_n
    ch, final = sumcheck.verify_v2(
        t, params, read_sumcheck(r, plan.f_in_bits, 2), num_rounds=plan.f_in_bits, degree=2,
        claim=start, checks=checks, label=f"{label}: matrix product",
    )
    rho = mle.reverse(ch)
    yw = claims.weight_value([_weight_blocks(plan, row, mle.eq_table(rho))])
    in_terms, u_prev = _input_terms(sched, plan)
    ya = Lin()
    for name, coeff in in_terms:
        ya.iadd(claims.evaluation(name, rho, z_n), coeff)
    if u_prev is not None:
        ya.iadd(g, -_u_offset(sched, u_prev, rho, z_n))
    yp = claims.receive(b"v2/dense/product")
    sigma.defer_product(t, params, yw, ya, yp, read_product(r), checks, f"{label}: product")
    sigma.defer_equality(t, params, final, yp, read_equality(r), checks,
                         f"{label}: W·a + b ≠ 2^s·q + rem")
    return logit_y
