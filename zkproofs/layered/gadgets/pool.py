"""AveragePool and MaxPool for the whole batch at once (protocol v2).

Windows are a public wiring: window w (channel c, output row and column) at position j
(dy, dx) reads input feature window(w, j) = c·H·W + (row·stride + dy)·W + (col·stride + dx)
(no padding). Neither pooling multiplies two secrets, so neither needs a sumcheck.

**AvgPool2d** (q = ⌊Σ_j x(window(w, j)) / k²⌋, exactly as v1 defines it): q is committed as
u = q + 2^(k−1) in range limbs, the remainder rem = Σ_j x − k²·q in [0, k²) exactly (one
range(b) lookup when k² = 2^b, otherwise rem and k² − 1 − rem both in range(b)); at the
point (z_w, z_n) of their lookup, k²·q~ + rem~ = Σ_f' P(z_w, f')·a~(f', z_n) with
P(z_w, f') = Σ_{(w, j): window(w, j) = f'} eq(z_w, w) public: a claim on the input's vectors
with public feature coefficients.

**MaxPool2d** with the first-maximum rule, in lookups of cost linear in the window size: the
output y and a selector s (one-hot per window) are committed, and every window position j
looks up the pair (s_j, D_j) in select(b) = {(0, t) : t < 2^b} ∪ {(1, 0)}, with

    D_j = y − x_j − Σ_{i > j} s_i.

So y = x_p at the selected position p, y − x_j − 1 ≥ 0 before it (strictly larger: p is
the first maximum) and y − x_j ≥ 0 after it: y is the window's maximum. Σ_j s_j = 1 per
real window is a claim on s with public coefficients and a public value. D_j is made of a
broadcast of y, a gather of the input and a suffix sum of s (see terms.py).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ... import field, mle, sigma
from ...batch import Lin
from ...lookup.logup_gkr.prover import Op
from ...lookup.tables import Kind
from ...ml.architecture import AvgPool2d, MaxPool2d
from ...proofstream import EQUALITY, Size, read_equality, write_equality
from ..schedule import (
    Activation,
    PoolPlan,
    Schedule,
    Segment,
    limb_shifts,
    limb_widths,
    max_limb_bits,
    pow2_bits,
    signed_width,
    split_limbs,
)
from ..terms import BroadcastTerm, ConstTerm, GatherTerm, SuffixTerm, VecTerm, scatter_add
from .linear import offset_value, relation_point

R = field.MODULUS


@lru_cache(maxsize=32)
def _windows(in_shape: tuple[int, ...], kernel: int, stride: int) -> np.ndarray:
    """(windows, k²) flat input indices, windows in (channel, row, col) C order."""
    c, h, w = in_shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    ch = np.arange(c)[:, None, None, None, None]
    ph = (np.arange(oh) * stride)[None, :, None, None, None]
    pw = (np.arange(ow) * stride)[None, None, :, None, None]
    dy = np.arange(kernel)[None, None, None, :, None]
    dx = np.arange(kernel)[None, None, None, None, :]
    out = (ch * h * w + (ph + dy) * w + (pw + dx)).reshape(c * oh * ow, kernel * kernel)
    out.flags.writeable = False
    return out


def windows(plan: PoolPlan) -> np.ndarray:
    return _windows(tuple(plan.input.shape), plan.layer.kernel, plan.layer.stride)


def _segment_index(plan: PoolPlan) -> np.ndarray:
    """The window table over the select segment's features (w·J' + j), −1 at padding."""
    out = np.full(((1 << plan.f_out_bits), 1 << plan.j_bits), -1, dtype=np.int64)
    out[: plan.windows, : plan.area] = windows(plan)
    return out.reshape(-1)


def names(plan: PoolPlan) -> dict[str, list[str]]:
    o = plan.out
    if plan.maxpool:
        return {"y": [f"{o}.y"], "s": [f"{o}.s"]}
    out = {"u": [f"{o}.u{j}" for j in range(len(plan.limbs))], "rem": [f"{o}.rem"]}
    return out


def output_activation(plan: PoolPlan) -> Activation:
    nm = names(plan)
    if plan.maxpool:
        return Activation(plan.out_shape, ((nm["y"][0], 1),), 0, plan.out)
    shifts = limb_shifts(plan.limbs)
    return Activation(plan.out_shape, tuple((u, 1 << s) for u, s in zip(nm["u"], shifts,
                                                                         strict=True)),
                      1 << (plan.k - 1), plan.out)


def plan(sched: Schedule, index: int, layer: AvgPool2d | MaxPool2d, inp: Activation,
         intervals, in_bounds: tuple[int, int]) -> Activation:
    out_shape = tuple(sched.arch.shapes[index])
    windows_n = int(np.prod(out_shape))
    f_out_bits = pow2_bits(windows_n)
    bits = f_out_bits + sched.s_bits
    area = layer.kernel * layer.kernel
    if isinstance(layer, MaxPool2d):
        lo, hi = in_bounds
        gap = max(hi - lo, 1).bit_length()
        p = PoolPlan(index, layer, inp, out_shape, gap, (), 0)
        sched.layers.append(p)
        nm = names(p)
        sched.add_vector(nm["y"][0], f_out_bits, windows_n)
        j_bits = p.j_bits
        sched.add_vector(nm["s"][0], f_out_bits + j_bits, (windows_n - 1) * (1 << j_bits)
                         + area)
        gather = GatherTerm(inp.terms, -1, _segment_index(p), inp.features, inp.offset)
        sched.segments.append(Segment(
            f"{p.out} maxpool", Kind("select", gap), bits + j_bits,
            ((VecTerm(nm["s"][0], 1),),
             (BroadcastTerm(nm["y"][0], 1, j_bits, area), gather,
              SuffixTerm(nm["s"][0], -1, j_bits, area))),
            True, f_out_bits + j_bits,
        ))
        return output_activation(p)
    q = intervals.quotient
    k = signed_width(int(q.lo.min()), int(q.hi.max()))
    widest = max_limb_bits((1 << f_out_bits) * sched.n_pad)
    rem_bits = max(area - 1, 1).bit_length()
    p = PoolPlan(index, layer, inp, out_shape, k, tuple(limb_widths(k, widest)), rem_bits)
    sched.layers.append(p)
    nm = names(p)
    for name in nm["u"] + nm["rem"]:
        sched.add_vector(name, f_out_bits, windows_n)

    def seg(label, kind, *components):
        sched.segments.append(Segment(f"{p.out} {label}", kind, bits, components, True,
                                      f_out_bits))

    for j, width in enumerate(p.limbs):
        seg(f"quotient limb {j}", Kind("range", width), (VecTerm(nm["u"][j], 1),))
    seg("remainder", Kind("range", rem_bits), (VecTerm(nm["rem"][0], 1),))
    if area != 1 << rem_bits:  # k² not a power of two: also k² − 1 − rem ≥ 0
        seg("remainder bound", Kind("range", rem_bits),
            (VecTerm(nm["rem"][0], -1),
             ConstTerm(area - 1, sched.num_samples << f_out_bits)))
    return output_activation(p)


# ------------------------------------------------------------------ witness


def witness(sched: Schedule, plan: PoolPlan, trace_step, values: dict) -> None:
    from .linear import _feature_matrix

    def mat(arr, features=plan.windows, f_bits=plan.f_out_bits):
        return _feature_matrix(sched, features, f_bits, arr)

    nm = names(plan)
    if plan.maxpool:
        y = mat(trace_step.out)
        values[nm["y"][0]] = values[f"{plan.out}.value"] = y
        if plan.input.public:
            inp = _feature_matrix(sched, plan.input.features, plan.input.f_bits, sched.x)
        else:
            inp = values[f"{plan.input.source}.value"]  # (F'_in, N')
        xw = inp[windows(plan)]  # (windows, k², N')
        first = np.argmax(xw, axis=1)  # the first maximum
        s = np.zeros(((1 << plan.f_out_bits), 1 << plan.j_bits, sched.n_pad), dtype=np.int64)
        w_idx, n_idx = np.meshgrid(np.arange(plan.windows), np.arange(sched.num_samples),
                                   indexing="ij")
        s[w_idx, first[:, : sched.num_samples], n_idx] = 1
        values[nm["s"][0]] = s.reshape(-1, sched.n_pad)
        return
    q = mat(trace_step.quotient)
    values[f"{plan.out}.value"] = q
    real = mat(np.ones_like(trace_step.quotient)) != 0
    u = np.where(real, q + (1 << (plan.k - 1)), 0)
    for j, ul in enumerate(split_limbs(u, plan.limbs)):
        values[nm["u"][j]] = ul
    values[nm["rem"][0]] = mat(trace_step.acc) - q * plan.area


# ------------------------------------------------------------------ sizes


def proof_size(sched: Schedule, plan: PoolPlan) -> Size:
    if plan.maxpool:
        return Size()
    return Size(len(plan.input.terms)) + EQUALITY


def claim_count(sched: Schedule, plan: PoolPlan) -> int:
    return 1 if plan.maxpool else len(plan.input.terms)


# ------------------------------------------------------------------ the relations


def _window_sums(plan: PoolPlan, z_w: list[int], features: int) -> np.ndarray:
    """P(z_w, f') = Σ_{(w, j): window(w, j) = f'} eq(z_w, w), over the input features."""
    eq = mle.eq_table(z_w)[: plan.windows]
    idx = windows(plan)
    return scatter_add(idx.reshape(-1), np.repeat(eq, plan.area), features)


def _selector_coefficients(plan: PoolPlan, z_w: list[int]) -> np.ndarray:
    """eq(z_w, w)·[j < k²] over the selector's features (w·J' + j)."""
    eq = mle.eq_table(z_w)
    inner = field.zeros(1 << plan.j_bits)
    inner[: plan.area] = field.const(1)
    return (eq.reshape(-1, 1) * inner.reshape(1, -1)).reshape(-1)


def _public_part(sched: Schedule, plan: PoolPlan, coeff: np.ndarray, z_n) -> int:
    """Σ_f' P(z_w, f')·x~(f', z_n) when the input is the public test set, else 0."""
    if not plan.input.public:
        return 0
    from .linear import public_column

    col = public_column(sched, z_n, plan.input.features)
    return field.dot(coeff[: plan.input.features], col)


def prove(ctx, plan: PoolPlan, leaf_point: list[int], out_claims: dict) -> None:
    sched, claims = ctx.schedule, ctx.claims
    nm = names(plan)
    if plan.maxpool:
        bits = plan.f_out_bits + plan.j_bits
        z_wj, z_n = relation_point(sched, leaf_point, bits)
        z_w = z_wj[: plan.f_out_bits]
        total = mle.prefix_sum(z_w, plan.windows) * mle.prefix_sum(z_n, sched.num_samples)
        claims.coefficient(nm["s"][0], _selector_coefficients(plan, z_w), z_n,
                           public=Op.public(total))
        return
    z_w, z_n = relation_point(sched, leaf_point, plan.f_out_bits)
    key = plan.f_out_bits + sched.s_bits
    lhs = out_claims[("eval", nm["rem"][0], key)]
    for name, s in zip(nm["u"], limb_shifts(plan.limbs), strict=True):
        lhs = lhs + out_claims[("eval", name, key)].scale(plan.area << s)
    lhs = lhs - Op.public(plan.area * offset_value(sched, output_activation(plan), z_w, z_n))
    coeff = _window_sums(plan, z_w, 1 << plan.input.f_bits)
    rhs = Op.public(_public_part(sched, plan, coeff, z_n))
    for name, c in plan.input.terms:
        rhs = rhs + claims.coefficient(name, coeff, z_n).scale(c)
    rhs = rhs - Op.public(offset_value(sched, plan.input, coeff, z_n))
    write_equality(ctx.w, sigma.prove_equality(ctx.t, ctx.params, ctx.rng,
                                                  lhs.blind - rhs.blind))


def verify(ctx, plan: PoolPlan, leaf_point: list[int], out_claims: dict) -> None:
    sched, claims = ctx.schedule, ctx.claims
    g = ctx.params.g
    nm = names(plan)
    if plan.maxpool:
        bits = plan.f_out_bits + plan.j_bits
        z_wj, z_n = relation_point(sched, leaf_point, bits)
        z_w = z_wj[: plan.f_out_bits]
        total = mle.prefix_sum(z_w, plan.windows) * mle.prefix_sum(z_n, sched.num_samples)
        claims.coefficient(nm["s"][0], _selector_coefficients(plan, z_w), z_n,
                           public=Lin.of(g, total))
        return
    z_w, z_n = relation_point(sched, leaf_point, plan.f_out_bits)
    key = plan.f_out_bits + sched.s_bits
    lhs = Lin().iadd(out_claims[("eval", nm["rem"][0], key)])
    for name, s in zip(nm["u"], limb_shifts(plan.limbs), strict=True):
        lhs.iadd(out_claims[("eval", name, key)], plan.area << s)
    lhs.iadd(g, -plan.area * offset_value(sched, output_activation(plan), z_w, z_n))
    coeff = _window_sums(plan, z_w, 1 << plan.input.f_bits)
    rhs = Lin.of(g, _public_part(sched, plan, coeff, z_n))
    for name, c in plan.input.terms:
        rhs.iadd(claims.coefficient(name, coeff, z_n), c)
    rhs.iadd(g, -offset_value(sched, plan.input, coeff, z_n))
    sigma.defer_equality(ctx.t, ctx.params, lhs, rhs, read_equality(ctx.r), ctx.checks,
                         f"layer {plan.index} (avgpool2d): window sums ≠ k²·q + rem")
