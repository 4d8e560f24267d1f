"""Dense and Conv2d layers for the whole batch at once (protocol v2).

Both are linear maps of the input followed by requantization (and ReLU): for an output
feature f (a Dense output o, or a Conv2d output (o, position)) and sample n,

    acc(f, n) = Σ_{f'} K(f, f')·a(f', n) + [n < N]·b(o(f))

with K(f, f') = W(o, i) for Dense, and Σ_{c,dy,dx} W(o, c, dy, dx)·[f' = window(position,
c, dy, dx)] for Conv2d (the im2col wiring is public; zero padding reads nothing). The
relation acc = 2^s·q + rem is checked at one random point (z_f, z_n) — the point the lookup
argument already opened q's and rem's vectors at — which by Schwartz–Zippel checks it
everywhere:

    2^s·q~(z_f, z_n) + rem~(z_f, z_n) = Σ_{f'} K~(z_f, f')·a~(f', z_n) + I~(z_n)·B~(z_f)

- Input = the public test set x: the verifier computes x~(f', z_n) for every input feature
  itself (O(N·inputs)); the right side is then a linear form on C_W: a weight claim with
  coefficients C(o, ·) = Σ_position eq(z_f, (o, position))·x~(window(position, ·), z_n).
- Input = a committed activation: a sumcheck over f' (Thaler's matrix-product sumcheck)
  with committed rounds ends at ρ with K~(z_f, ρ) — a weight claim with coefficients
  Σ_position eq(z_f, (o, position))·eq(ρ, window(position, ·)) — and a~(ρ, z_n), claims on
  the input's vectors at the same sample point, tied by a product proof.

q's vectors: with ReLU q = a − d (a = max(q, 0), d = max(−q, 0)). When one relu(k) lookup
covers it, only a is committed: the lookup reads the pair (a, a − q) with q a *virtual*
vector whose value at the lookup point the prover sends as a claim and this relation
proves (2^s·q~ + rem~ = the linear map), so d costs no commitment. Wider values use signed
limbs (sign, a and d limbs, all committed). Without ReLU, q = u − 2^(k−1) on real entries
(u in range limbs). The remainder is in
range limbs of exactly s bits; with q bounded the field equation is the integer one (floor
semantics). The logit layer (Dense, shift 0) commits ℓ = acc itself, which needs no range
check: it is a sum of products of range-checked values.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ... import field, mle, sigma, sumcheck
from ...batch import Lin
from ...lookup.logup_gkr.prover import Op
from ...lookup.tables import Kind
from ...ml.architecture import Conv2d, Dense
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
    Activation,
    LinearPlan,
    Schedule,
    Segment,
    limb_shifts,
    limb_widths,
    max_limb_bits,
    signed_width,
    split_limbs,
)
from ..terms import QuotientTerm, VecTerm

R = field.MODULUS


# ------------------------------------------------------------------ planning


def names(plan: LinearPlan) -> dict[str, list[str]]:
    """The committed vectors of a layer's output, by role."""
    o = plan.out
    if plan.logits:
        return {"logits": [f"{o}.logits"]}
    out: dict[str, list[str]] = {}
    if plan.relu and plan.pair:
        out["a"] = [f"{o}.a"]  # d = a − q is virtual (see QuotientTerm)
    elif plan.relu:
        out["sign"] = [f"{o}.sign"]
        out["a"] = [f"{o}.a{j}" for j in range(len(plan.limbs))]
        out["d"] = [f"{o}.d{j}" for j in range(len(plan.limbs))]
    else:
        out["u"] = [f"{o}.u{j}" for j in range(len(plan.limbs))]
    out["rem"] = [f"{o}.rem{j}" for j in range(len(plan.rem_limbs))]
    return out


def output_activation(plan: LinearPlan) -> Activation:
    nm = names(plan)
    if plan.logits:
        return Activation(plan.out_shape, ((nm["logits"][0], 1),), 0, plan.out)
    shifts = limb_shifts(plan.limbs)
    if plan.relu:
        return Activation(plan.out_shape, tuple((a, 1 << s) for a, s in zip(nm["a"], shifts,
                                                                             strict=True)),
                          0, plan.out)
    return Activation(plan.out_shape, tuple((u, 1 << s) for u, s in zip(nm["u"], shifts,
                                                                         strict=True)),
                      1 << (plan.k - 1), plan.out)


def plan(sched: Schedule, index: int, layer: Dense | Conv2d, inp: Activation, intervals,
         logits: bool) -> Activation:
    q = intervals.quotient
    q_lo, q_hi = int(q.lo.min()), int(q.hi.max())
    out_shape = tuple(sched.arch.shapes[index])
    f_out_bits = max(0, (int(np.prod(out_shape)) - 1).bit_length())
    widest = max_limb_bits((1 << f_out_bits) * sched.n_pad)
    k, limbs = 0, ()
    if not logits and layer.relu:
        k = max(q_hi, -q_lo, 1).bit_length()
        limbs = tuple(limb_widths(k, widest)) if k > widest else (k,)
    elif not logits:
        k = signed_width(q_lo, q_hi)
        limbs = tuple(limb_widths(k, widest))
    rem_limbs = tuple(limb_widths(layer.shift, widest)) if layer.shift and not logits else ()
    p = LinearPlan(
        index=index, layer=layer, input=inp, out_shape=out_shape, logits=logits,
        shift=layer.shift, relu=layer.relu, k=k, limbs=limbs, rem_limbs=rem_limbs,
        weight_offset=sched.arch.slot(f"layers.{index}.weight").offset,
        bias_offset=sched.arch.slot(f"layers.{index}.bias").offset,
    )
    sched.layers.append(p)
    features = p.out_features
    bits = p.f_out_bits + sched.s_bits
    nm = names(p)
    for group in nm.values():
        for name in group:
            sched.add_vector(name, p.f_out_bits, features)
    if not logits:
        def seg(label, kind, *comps):
            sched.segments.append(Segment(f"{p.out} {label}", kind, bits,
                                          tuple((VecTerm(c, 1),) for c in comps), True,
                                          p.f_out_bits))

        if p.relu and p.pair:
            # (a, d) with d = a − q: q is the layer's quotient, never committed.
            sched.segments.append(Segment(
                f"{p.out} relu", Kind("relu", p.k), bits,
                ((VecTerm(nm["a"][0], 1),), (VecTerm(nm["a"][0], 1), QuotientTerm(p.out, -1))),
                True, p.f_out_bits))
        elif p.relu:
            for j, width in enumerate(p.limbs):
                seg(f"relu limb {j}", Kind("signed", width), nm["sign"][0], nm["a"][j],
                    nm["d"][j])
        else:
            for j, width in enumerate(p.limbs):
                seg(f"quotient limb {j}", Kind("range", width), nm["u"][j])
        for j, width in enumerate(p.rem_limbs):
            seg(f"remainder limb {j}", Kind("range", width), nm["rem"][j])
    return output_activation(p)


# ------------------------------------------------------------------ the wiring


@lru_cache(maxsize=32)
def _conv_windows(in_shape: tuple[int, ...], kernel: int, stride: int, padding: int):
    """(positions P, C·k·k) flat input indices of each output position's window (C, dy, dx
    in the weight's C order), −1 where the window reads zero padding."""
    c, h, w = in_shape
    oh = (h + 2 * padding - kernel) // stride + 1
    ow = (w + 2 * padding - kernel) // stride + 1
    ph = (np.arange(oh) * stride)[:, None, None, None, None]
    pw = (np.arange(ow) * stride)[None, :, None, None, None]
    ch = np.arange(c)[None, None, :, None, None]
    dy = np.arange(kernel)[None, None, None, :, None]
    dx = np.arange(kernel)[None, None, None, None, :]
    yy, xx = ph + dy - padding, pw + dx - padding
    valid = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    flat = ch * h * w + yy * w + xx
    out = np.where(valid, flat, -1).reshape(oh * ow, c * kernel * kernel)
    out.flags.writeable = False
    return out


def windows(plan: LinearPlan) -> np.ndarray:
    lay = plan.layer
    return _conv_windows(tuple(plan.input.shape), lay.kernel, lay.stride, lay.padding)


def _fan_in(plan: LinearPlan) -> int:
    lay = plan.layer
    if isinstance(lay, Dense):
        return lay.in_features
    return lay.in_channels * lay.kernel * lay.kernel


def _out_channels(plan: LinearPlan) -> int:
    lay = plan.layer
    return lay.out_features if isinstance(lay, Dense) else lay.out_channels


def _eq_by_channel(plan: LinearPlan, z_f: list[int]) -> np.ndarray:
    """E(o, position) = eq(z_f, o·P + position), an (O, P) field array (P = 1 for Dense)."""
    o = _out_channels(plan)
    positions = plan.out_features // o
    return mle.eq_table(z_f)[: o * positions].reshape(o, positions)


def weight_coefficients(plan: LinearPlan, z_f: list[int], column: np.ndarray) -> np.ndarray:
    """C(o, i) = Σ_position E(o, position)·column(window(position, i)) over the weight
    tensor (O, fan-in) in C order, for a field vector ``column`` over the input features."""
    e = _eq_by_channel(plan, z_f)
    if not plan.conv:
        f_in = plan.layer.in_features
        return (e[:, :1] * column[:f_in].reshape(1, f_in)).reshape(-1)
    idx = windows(plan)
    gathered = column[np.maximum(idx, 0)].reshape(idx.shape)
    gathered[idx < 0] = field.const(0)
    out = field.zeros(e.shape[0] * idx.shape[1]).reshape(e.shape[0], idx.shape[1])
    for o in range(e.shape[0]):
        out[o] = (gathered * e[o].reshape(-1, 1)).sum(axis=0)
    return out.reshape(-1)


def bias_coefficients(plan: LinearPlan, z_f: list[int]) -> np.ndarray:
    return _eq_by_channel(plan, z_f).sum(axis=1)


def row_coefficients(plan: LinearPlan, z_f: list[int], weights: np.ndarray) -> np.ndarray:
    """K~(z_f, f') for every input feature f' (the prover's side: it needs the weights)."""
    e = _eq_by_channel(plan, z_f)
    o, fan = _out_channels(plan), _fan_in(plan)
    w = weights.reshape(o, fan)
    out = field.zeros(1 << plan.f_in_bits)
    if not plan.conv:
        out[:fan] = field.contract(w, e[:, 0])
        return out
    idx = windows(plan)
    m = field.zeros(idx.size).reshape(idx.shape)
    for ch in range(o):
        m = m + e[ch].reshape(-1, 1) * field.from_int64(w[ch]).reshape(1, -1)
    from ..terms import scatter_add

    return scatter_add(idx.reshape(-1), m.reshape(-1), len(out))


# ------------------------------------------------------------------ witness


def _feature_matrix(sched: Schedule, features: int, f_bits: int, arr) -> np.ndarray:
    out = np.zeros((1 << f_bits, sched.n_pad), dtype=np.int64)
    out[:features, : sched.num_samples] = np.asarray(arr, dtype=np.int64).reshape(
        sched.num_samples, features).T
    return out


def witness(sched: Schedule, plan: LinearPlan, trace_step, values: dict) -> None:
    """Fill ``values`` with the layer's committed vectors (int64 (F', N'), feature-major)
    and its output value (``<out>.value``, not committed: the next layer's input)."""

    def mat(arr):
        return _feature_matrix(sched, plan.out_features, plan.f_out_bits, arr)

    nm = names(plan)
    if plan.logits:
        values[nm["logits"][0]] = values[f"{plan.out}.value"] = mat(trace_step.acc)
        return
    q = mat(trace_step.quotient)
    if plan.relu:
        a, d = np.maximum(q, 0), np.maximum(-q, 0)
        values[f"{plan.out}.value"] = a
        if plan.pair:
            values[nm["a"][0]] = a
            values[f"{plan.out}.q"] = q
        else:
            values[nm["sign"][0]] = mat(trace_step.quotient >= 0)
            for j, (al, dl) in enumerate(zip(split_limbs(a, plan.limbs),
                                             split_limbs(d, plan.limbs), strict=True)):
                values[nm["a"][j]], values[nm["d"][j]] = al, dl
    else:
        values[f"{plan.out}.value"] = q
        real = mat(np.ones_like(trace_step.quotient)) != 0
        u = np.where(real, q + (1 << (plan.k - 1)), 0)
        for j, ul in enumerate(split_limbs(u, plan.limbs)):
            values[nm["u"][j]] = ul
    if plan.rem_limbs:
        rem = mat(trace_step.acc) - (q << plan.shift)
        for j, rl in enumerate(split_limbs(rem, plan.rem_limbs)):
            values[nm["rem"][j]] = rl


def input_value(plan, values: dict) -> np.ndarray:
    """The committed input of a layer as an int64 (F'_in, N') matrix (the prover's side)."""
    return values[f"{plan.input.source}.value"]


# ------------------------------------------------------------------ sizes


def proof_size(sched: Schedule, plan: LinearPlan) -> Size:
    total = Size(1) if plan.logits else Size()  # ℓ~ at the relation point
    if not plan.input.public:
        total += Size(1)  # B~(z_f)
        total += sumcheck_size(plan.f_in_bits, 2)
        total += Size(1 + len(plan.input.terms) + 1) + PRODUCT + EQUALITY
    return total


def claim_count(sched: Schedule, plan: LinearPlan) -> int:
    return (1 if plan.logits else 0) + len(plan.input.terms)


# ------------------------------------------------------------------ the relation


def relation_point(sched: Schedule, leaf_point: list[int], f_bits: int):
    """(z_f, z_n): the vector point of an output segment of f_bits features."""
    bits = f_bits + sched.s_bits
    seg = leaf_point[len(leaf_point) - bits :]
    return seg[sched.s_bits :], seg[: sched.s_bits]


def public_column(sched: Schedule, z_n: list[int], features: int) -> np.ndarray:
    """x~(f', z_n) for every input feature f' (the verifier's O(N·inputs) step)."""
    eq_n = mle.eq_table(z_n)[: sched.num_samples]
    return field.contract(sched.x, eq_n)[:features]


def _blocks(plan: LinearPlan, weight_coeffs: np.ndarray, bias_coeffs: np.ndarray | None):
    from ..claims import Block

    out = [Block(plan.weight_offset, weight_coeffs)]
    if bias_coeffs is not None:
        out.append(Block(plan.bias_offset, bias_coeffs))
    return out


def bias_block(plan: LinearPlan, coeffs: np.ndarray):
    from ..claims import Block

    return Block(plan.bias_offset, coeffs)


def offset_value(sched: Schedule, act: Activation, f_coeff_or_point, z_n) -> int:
    """The public part −offset·Ind of an activation, at feature coefficients or a point."""
    if not act.offset:
        return 0
    if isinstance(f_coeff_or_point, np.ndarray):
        ind_f = field.total(f_coeff_or_point[: act.features])
    else:
        ind_f = mle.prefix_sum(f_coeff_or_point, act.features)
    return act.offset * ind_f * mle.prefix_sum(z_n, sched.num_samples) % R


def output_terms(plan: LinearPlan):
    """[(vector, coefficient)] with Σ coeff·v = 2^s·q + rem + public part (or ℓ)."""
    nm = names(plan)
    if plan.logits:
        return [(nm["logits"][0], 1)], 0
    sh = 1 << plan.shift
    terms = []
    shifts = limb_shifts(plan.limbs)
    if plan.relu and plan.pair:
        terms.append((f"{plan.out}.q", sh))
    elif plan.relu:
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


def _claim_key(plan: LinearPlan, sched: Schedule, name: str):
    """Where the leaf decomposition left the claim on an output term at the lookup point."""
    bits = plan.f_out_bits + sched.s_bits
    if name == f"{plan.out}.q":
        return ("quotient", plan.out, bits)
    return ("eval", name, bits)


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


def prove(ctx, plan: LinearPlan, leaf_point: list[int], out_claims: dict) -> Op | None:
    """Prove the layer's relation at its point; returns ℓ's claim for the logit layer."""
    sched, claims = ctx.schedule, ctx.claims
    z_f, z_n = relation_point(sched, leaf_point, plan.f_out_bits)
    terms, offset = output_terms(plan)
    ind_n = mle.prefix_sum(z_n, sched.num_samples)
    lhs = Op(0, 0)
    logit_op = None
    for name, coeff in terms:
        if plan.logits:
            op = claims.evaluation(name, z_f, z_n)
            logit_op = op
        else:
            op = out_claims[_claim_key(plan, sched, name)]
        lhs = lhs + op.scale(coeff)
    if offset:
        lhs = lhs - Op.public(offset * mle.prefix_sum(z_f, plan.out_features) * ind_n)
    bias = bias_coefficients(plan, z_f)
    if plan.input.public:
        col = public_column(sched, z_n, plan.input.features)
        claims.weight_claim(_blocks(plan, weight_coefficients(plan, z_f, col),
                                    bias * field.const(ind_n)), lhs)
        return logit_op
    t, params, rng, w = ctx.t, ctx.params, ctx.rng, ctx.w
    yb = claims.weight_value([bias_block(plan, bias)])
    start = lhs - yb.scale(ind_n)
    fan = _out_channels(plan) * _fan_in(plan)
    row = row_coefficients(plan, z_f, ctx.weights_int[plan.weight_offset :
                                                      plan.weight_offset + fan])
    inp = input_value(plan, ctx.values)  # (F'_in, N') int64
    col = field.contract(inp.T, mle.eq_table(z_n))
    sc, ch, final = sumcheck.prove(
        t, params, rng, _MatrixOracle(row, col), num_rounds=plan.f_in_bits, degree=2,
        claim=sumcheck.ClaimOpening(start.value, start.blind),
    )
    write_sumcheck(w, sc)
    rho = mle.reverse(ch)
    yw = claims.weight_value(_blocks(plan, weight_coefficients(plan, z_f, mle.eq_table(rho)),
                                     None))
    ya = Op(0, 0)
    for name, coeff in plan.input.terms:
        ya = ya + claims.evaluation(name, rho, z_n).scale(coeff)
    ya = ya - Op.public(offset_value(sched, plan.input, rho, z_n))
    yp = claims.send(yw.value * ya.value, b"v2/linear/product")
    write_product(w, sigma.prove_product(t, params, rng, yw.value, yw.blind, ya.value,
                                            ya.blind, yp.blind))
    write_equality(w, sigma.prove_equality(t, params, rng, final.blind - yp.blind))
    return logit_op


def verify(ctx, plan: LinearPlan, leaf_point: list[int], out_claims: dict) -> Lin | None:
    sched, claims = ctx.schedule, ctx.claims
    z_f, z_n = relation_point(sched, leaf_point, plan.f_out_bits)
    terms, offset = output_terms(plan)
    ind_n = mle.prefix_sum(z_n, sched.num_samples)
    lhs = Lin()
    logit_y = None
    for name, coeff in terms:
        if plan.logits:
            y = claims.evaluation(name, z_f, z_n)
            logit_y = y
        else:
            y = out_claims[_claim_key(plan, sched, name)]
        lhs.iadd(y, coeff)
    g = ctx.params.g
    if offset:
        lhs.iadd(g, -offset * mle.prefix_sum(z_f, plan.out_features) * ind_n)
    bias = bias_coefficients(plan, z_f)
    if plan.input.public:
        col = public_column(sched, z_n, plan.input.features)
        claims.weight_claim(_blocks(plan, weight_coefficients(plan, z_f, col),
                                    bias * field.const(ind_n)), lhs)
        return logit_y
    t, params, r, checks = ctx.t, ctx.params, ctx.r, ctx.checks
    label = f"layer {plan.index} ({plan.layer.KIND})"
    yb = claims.weight_value([bias_block(plan, bias)])
    start = lhs - yb * ind_n
    ch, final = sumcheck.verify(
        t, params, read_sumcheck(r, plan.f_in_bits, 2), num_rounds=plan.f_in_bits, degree=2,
        claim=start, checks=checks, label=f"{label}: linear map",
    )
    rho = mle.reverse(ch)
    yw = claims.weight_value(_blocks(plan, weight_coefficients(plan, z_f, mle.eq_table(rho)),
                                     None))
    ya = Lin()
    for name, coeff in plan.input.terms:
        ya.iadd(claims.evaluation(name, rho, z_n), coeff)
    ya.iadd(g, -offset_value(sched, plan.input, rho, z_n))
    yp = claims.receive(b"v2/linear/product")
    sigma.defer_product(t, params, yw, ya, yp, read_product(r), checks, f"{label}: product")
    sigma.defer_equality(t, params, final, yp, read_equality(r), checks,
                         f"{label}: W·a + b ≠ 2^s·q + rem")
    return logit_y
