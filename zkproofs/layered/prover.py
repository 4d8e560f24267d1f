"""Protocol v2, the prover: a layered, data-parallel proof of accuracy.

The messages, in order (docs/protocol.md §v2; the verifier reads them in the same order):

1. The transcript absorbs the protocol domain, params_id, the statement (competition digest,
   architecture digest, submitter, claimed count), C_W and the schedule digest.
2. Row commitments of every auxiliary vector of the schedule (fresh blind per row).
3. β, α ← transcript. logUp-GKR over the encoded lookups (witness tree) and the table
   weighted by the committed multiplicities (table tree).
4. Leaf decomposition: commitments to every vector evaluation (and weight linear form) the
   witness leaves' multilinear extension at the GKR's point is made of; one equality proof
   ties them to the GKR's leaf claim. The table tree's leaf claim is the multiplicities'.
5. Each Dense layer's relation at the point of its output's lookup; the count.
6. The sample reduction, the weight reduction, the two evaluation proofs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np

from .. import field, fr_kernels, mle, sigma
from ..commitments import hyrax
from ..lookup import logup_gkr
from ..lookup.logup_gkr.prover import Op
from ..ml import evaluate
from ..ml.architecture import QuantizedModel
from ..params import Params
from ..proofstream import ProofWriter, write_equality
from ..rng import ProverRandomness
from ..transcript import Transcript
from ..weights import WeightCommitment, WeightOpening
from . import claims as claims_mod
from .gadgets import count, linear, pool, weights
from .schedule import LinearPlan, PoolPlan, Schedule, Segment
from .terms import (
    BroadcastTerm,
    ConstTerm,
    GatherTerm,
    QuotientTerm,
    SuffixTerm,
    VecTerm,
    WeightTerm,
    gather_coefficients,
    suffix_coefficients,
)

R = field.MODULUS
PROTOCOL_DOMAIN = b"zkarena/layered/v2"
M_NAME = "lookup.m"
Progress = Callable[[str, int, int], None]


class WitnessError(ValueError):
    """Raised inside the prover when its witness breaks a relation (a bug or a false
    claim); tests force the prover past it to show the verifier rejects."""


def start_transcript(params: Params, schedule: Schedule, statement: bytes,
                     weight_rows) -> Transcript:
    t = Transcript(PROTOCOL_DOMAIN)
    t.absorb(b"params", params.params_id)
    t.absorb(b"statement", statement)
    t.absorb_points(b"C_W", [params.backend.encode(p) for p in weight_rows])
    t.absorb(b"schedule", schedule.digest())
    return t


@dataclass
class ProverContext:
    t: Transcript
    params: Params
    rng: ProverRandomness
    w: ProofWriter
    schedule: Schedule
    values: dict
    weights_int: np.ndarray
    weights_field: np.ndarray
    weight_opening: hyrax.Opening
    openings: dict = dc_field(default_factory=dict)
    claims: claims_mod.ProverClaims | None = None


def no_progress(stage: str, done: int, total: int) -> None:
    return None


def _leaf_order(seg: Segment, matrix: np.ndarray) -> np.ndarray:
    return matrix.T.reshape(-1) if seg.by_sample else matrix.reshape(-1)


def segment_columns(ctx: ProverContext, seg: Segment) -> list[np.ndarray]:
    """The looked-up tuples of a segment, one int64 column per position, in leaf order."""
    n = 1 << seg.bits
    sched = ctx.schedule
    cols = []
    for comp in seg.components:
        col = np.zeros(n, dtype=np.int64)
        for term in comp:
            if isinstance(term, (VecTerm, QuotientTerm)):
                col += term.coeff * _leaf_order(seg, ctx.values[term.name])
            elif isinstance(term, BroadcastTerm):
                v = ctx.values[term.name]  # (F'_outer, N')
                inner = 1 << term.inner_bits
                wide = np.zeros((v.shape[0], inner, v.shape[1]), dtype=np.int64)
                wide[:, : term.length, :] = v[:, None, :]
                col += term.coeff * _leaf_order(seg, wide.reshape(-1, v.shape[1]))
            elif isinstance(term, GatherTerm):
                if term.sources:
                    src = ctx.values[term.sources[0][0]] * 0
                    for name, c in term.sources:
                        src = src + c * ctx.values[name]
                else:  # the public test inputs
                    src = np.zeros((term.source_features, sched.n_pad), dtype=np.int64)
                    src[:, : sched.num_samples] = sched.x.T
                if term.offset:
                    real = np.zeros_like(src, dtype=bool)
                    real[: term.source_features, : sched.num_samples] = True
                    src = src - term.offset * real
                gathered = np.where((term.index >= 0)[:, None], src[np.maximum(term.index, 0)],
                                    0)
                col += term.coeff * _leaf_order(seg, gathered)
            elif isinstance(term, SuffixTerm):
                v = ctx.values[term.name]  # (F'_outer·inner, N')
                inner = 1 << term.inner_bits
                blocks = v.reshape(-1, inner, v.shape[1])
                # Σ_{i > j} v(outer, i): reverse cumulative sums, shifted by one.
                rev = np.cumsum(blocks[:, ::-1, :], axis=1)[:, ::-1, :]
                suffix = np.zeros_like(blocks)
                suffix[:, :-1, :] = rev[:, 1:, :]
                suffix[:, term.length :, :] = 0
                col += term.coeff * _leaf_order(seg, suffix.reshape(-1, v.shape[1]))
            elif isinstance(term, WeightTerm):
                col[: term.size] += term.coeff * ctx.weights_int[
                    term.offset : term.offset + term.size]
            elif isinstance(term, ConstTerm):
                col[: term.length] += term.value
            else:  # pragma: no cover
                raise TypeError(term)
        cols.append(col)
    return cols


def _witness(schedule: Schedule, model: QuantizedModel, x_original, strict: bool = True) -> dict:
    values: dict = {}
    trace = evaluate.trace(model, x_original)
    for plan in schedule.layers:
        gadget = pool if isinstance(plan, PoolPlan) else linear
        gadget.witness(schedule, plan, trace[plan.index], values)
    count.witness(schedule, values, values[schedule.count.logits], strict)
    flat = model.flat_weights()
    for p in schedule.weight_ranges:
        for limb, hi in enumerate(weights.hi_values(p, flat)):
            spec = schedule.vector(weights.hi_name(p, limb))
            full = np.zeros(spec.size, dtype=np.int64)
            full[: p.size] = hi
            values[spec.name] = full.reshape(1 << spec.layout.f_bits, 1 << spec.layout.s_bits)
    return values


def _lookups(ctx: ProverContext, *, check: bool = True):
    """Multiplicities over the table and the encoded leaves' columns per segment."""
    sched = ctx.schedule
    table = sched.table
    counts = np.zeros(table.size, dtype=np.int64)
    columns = []
    for seg in sched.segments:
        cols = segment_columns(ctx, seg)
        idx = seg.kind.index_of(cols)
        bad = idx < 0
        if bad.any():
            if check:
                raise WitnessError(f"lookup {seg.name}: {int(bad.sum())} tuples are not in "
                                   f"{seg.kind.name}({seg.kind.bits})")
            idx = idx[~bad]
        counts += np.bincount(table.offset(seg.kind) + idx, minlength=table.size)
        columns.append(cols)
    uncovered = (1 << sched.leaf_bits) - sum(1 << s.bits for s in sched.segments)
    counts[0] += uncovered  # the filler repeats the table's first entry
    return counts, columns


def _leaves(ctx: ProverContext, columns, alpha: int, beta: int) -> list:
    """The witness leaves q = α − enc(tuple) as pieces: each segment stores its entries up
    to the last non-zero tuple (the padded samples come last and all encode to the
    segment's tag), the rest is its constant tail; the uncovered end is the filler."""
    from ..lookup.logup_gkr.pieces import split_aligned

    sched = ctx.schedule
    table = sched.table
    bpow = [pow(beta, i + 1, R) for i in range(3)]
    blocks = []
    for seg, off, cols in zip(sched.segments, sched.segment_offsets(), columns, strict=True):
        nonzero = np.zeros(len(cols[0]), dtype=bool)
        for col in cols:
            nonzero |= col != 0
        idx = np.flatnonzero(nonzero)
        stored = int(idx[-1]) + 1 if len(idx) else 0
        tag = table.tag(seg.kind)
        q = fr_kernels.encode((alpha - tag) % R, [col[:stored] for col in cols],
                              bpow[: len(cols)]) if stored else field.zeros(0)
        blocks.append((off, 1 << seg.bits, q, alpha - tag))
    used = sum(1 << s.bits for s in sched.segments)
    for off, size in split_aligned(used, 1 << sched.leaf_bits):
        blocks.append((off, size, None, alpha - table.filler(beta)))
    return blocks


def _decompose(ctx: ProverContext, z: list[int], beta: int) -> tuple[Op, dict]:
    """Commit to the evaluations the witness leaves' MLE at z is made of; return the MLE's
    opening and the claims by key (see terms.py)."""
    sched, claims = ctx.schedule, ctx.claims
    table = sched.table
    n = sched.leaf_bits
    out: dict = {}
    total = Op(0, 0)
    covered = 0
    bpow = [pow(beta, i + 1, R) for i in range(3)]
    for seg, off in zip(sched.segments, sched.segment_offsets(), strict=True):
        seg_point = z[n - seg.bits :]
        sel = mle.eq_int(z[: n - seg.bits], off >> seg.bits)
        covered += sel
        enc = Op.public(table.tag(seg.kind))
        for i, comp in enumerate(seg.components):
            x = Op(0, 0)
            for term in comp:
                x = x + term_claim(sched, claims, seg, term, seg_point, out, Op.public)
            enc = enc + x.scale(bpow[i])
        total = total + enc.scale(sel)
    total = total + Op.public((1 - covered) * table.filler(beta))
    return total, out


def term_claim(sched: Schedule, claims, seg: Segment, term, seg_point, out: dict, public):
    """A term's multilinear extension at a segment point, as an opening (prover) or a Lin
    (verifier): ``claims`` and ``public`` are that side's registry and constant maker."""
    if isinstance(term, VecTerm):
        key = term.key(seg)
        if key not in out:
            f_pt, s_pt = split_point(sched, seg, term.name, seg_point)
            out[key] = claims.evaluation(term.name, f_pt, s_pt)
        return out[key] * term.coeff
    if isinstance(term, QuotientTerm):
        key = term.key(seg)
        if key not in out:
            f_pt, s_pt = seg_point[sched.s_bits :], seg_point[: sched.s_bits]
            out[key] = claims.virtual(term.name, f_pt, s_pt)
        return out[key] * term.coeff
    if isinstance(term, BroadcastTerm):
        key = term.key(seg)
        f_pt, s_pt = split_point(sched, seg, term.name, seg_point, inner=term.inner_bits)
        if key not in out:
            out[key] = claims.evaluation(term.name, f_pt, s_pt)
        z_inner = seg_point[len(seg_point) - term.inner_bits :]
        return out[key] * (term.coeff * mle.prefix_sum(z_inner, term.length))
    if isinstance(term, GatherTerm):
        z_n, z_f = seg_point[: sched.s_bits], seg_point[sched.s_bits :]
        source_size = 1 << max(0, (term.source_features - 1).bit_length())
        coeff = gather_coefficients(term.index, z_f, source_size)
        if not term.sources:  # the public test inputs: the verifier computes the value
            col = linear.public_column(sched, z_n, term.source_features)
            return public(term.coeff * field.dot(coeff[: term.source_features], col))
        acc = None
        for name, c in term.sources:
            y = claims.coefficient(name, coeff, z_n) * (term.coeff * c)
            acc = y if acc is None else acc + y
        if term.offset:
            ind = field.total(coeff[: term.source_features]) * mle.prefix_sum(
                z_n, sched.num_samples)
            acc = acc + public(-term.coeff * term.offset * ind)
        return acc
    if isinstance(term, SuffixTerm):
        z_n, z_f = seg_point[: sched.s_bits], seg_point[sched.s_bits :]
        z_outer, z_inner = z_f[: len(z_f) - term.inner_bits], z_f[len(z_f) - term.inner_bits :]
        features = 1 << sched.vector(term.name).layout.f_bits
        coeff = suffix_coefficients(z_outer, z_inner, term.length, features)
        return claims.coefficient(term.name, coeff, z_n) * term.coeff
    if isinstance(term, WeightTerm):
        block = claims_mod.Block(term.offset, mle.eq_table(seg_point)[: term.size]
                                 * field.const(term.coeff))
        return claims.weight_value([block])
    return public(term.value * mle.prefix_sum(seg_point, term.length))


def split_point(sched: Schedule, seg: Segment, name: str, seg_point: list[int], inner: int = 0):
    """(feature point, sample point) of vector ``name`` at a segment point; ``inner`` low
    feature bits of the segment that the vector does not have (a broadcast)."""
    if seg.by_sample:
        f_pt = seg_point[sched.s_bits :]
        return f_pt[: len(f_pt) - inner], seg_point[: sched.s_bits]
    layout = sched.vector(name).layout
    return seg_point[: layout.f_bits], seg_point[layout.f_bits :]


def prove(*args, **kwargs) -> bytes:
    """The proof bytes (see ``prove_traced`` for the arguments)."""
    return prove_traced(*args, **kwargs).bytes()


def prove_traced(
    params: Params,
    schedule: Schedule,
    model: QuantizedModel,
    x_original,
    statement: bytes,
    weight_commitment: WeightCommitment,
    weight_opening: WeightOpening,
    *,
    rng: ProverRandomness | None = None,
    progress: Progress = no_progress,
    _tamper: Callable | None = None,
) -> ProofWriter:
    """The proof as its writer (``bytes()``, and the sections for tests and people).
    ``_tamper`` exists for tests only: it may alter the witness values and weights before
    anything is committed, and then the prover skips its own lookup check."""
    grp = params.backend
    t = start_transcript(params, schedule, statement, weight_commitment.rows)
    progress("witness", 0, 1)
    values = _witness(schedule, model, x_original, strict=_tamper is None)
    flat = model.flat_weights()
    if _tamper is not None:
        flat = flat.copy()
        _tamper(values, flat)
    wl = schedule.weight_layout
    weights_int = np.zeros(1 << wl.num_vars, dtype=np.int64)
    weights_int[: len(flat)] = flat
    rng = rng or ProverRandomness()
    rng.hedge(b"transcript", t.state_digest())
    rng.hedge(b"witness", hashlib.sha512(weights_int.tobytes()).digest())
    ctx = ProverContext(
        t, params, rng, ProofWriter(grp), schedule, values, weights_int,
        field.from_int64(weights_int),
        hyrax.Opening(wl, wl.row_matrix(weights_int), tuple(weight_opening.blinds)),
    )
    counts, columns = _lookups(ctx, check=_tamper is None)
    m_spec = schedule.vector(M_NAME)
    values[M_NAME] = counts.reshape(1 << m_spec.layout.f_bits, 1 << m_spec.layout.s_bits)
    progress("witness", 1, 1)

    names = list(schedule.vectors)
    progress("commit", 0, 1)
    committed = hyrax.commit_many(
        params, [(schedule.vector(n).layout, values[n]) for n in names], rng)
    for name, (points, opening) in zip(names, committed, strict=True):
        ctx.w.section(f"commitment {name}")
        ctx.openings[name] = opening
        t.absorb_points(b"v2/commit/" + name.encode(), [grp.encode(p) for p in points])
        ctx.w.points(points)
    progress("commit", 1, 1)

    beta = t.challenge_scalar(b"v2/beta")
    alpha = t.challenge_scalar(b"v2/alpha")
    from ..lookup.logup_gkr.pieces import leaf_layer

    leaves = leaf_layer(_leaves(ctx, columns, alpha, beta), 1 << schedule.leaf_bits, True)
    del columns
    table = schedule.table
    gkr = logup_gkr.prover.prove(
        t, params, rng, ctx.w, leaves, schedule.leaf_bits, field.from_int64(counts),
        field.const(alpha) - table.values(beta), progress=progress,
    )
    ctx.claims = claims_mod.ProverClaims(ctx)
    ctx.w.section("leaf decomposition")
    leaf_mle, out_claims = _decompose(ctx, gkr.witness_point, beta)
    expected = Op.public(alpha) - leaf_mle
    write_equality(ctx.w, sigma.prove_equality(t, params, rng,
                                                  gkr.witness_q.blind - expected.blind))
    f_pt = gkr.table_point[: m_spec.layout.f_bits]
    s_pt = gkr.table_point[m_spec.layout.f_bits :]
    ctx.claims.adopt(M_NAME, f_pt, s_pt, gkr.table_p)

    logit_op = None
    for i, plan in enumerate(schedule.layers):
        progress("relations", i, len(schedule.layers) + 1)
        ctx.w.section(f"layer {plan.index}")
        if isinstance(plan, LinearPlan):
            op = linear.prove(ctx, plan, gkr.witness_point, out_claims)
            if plan.logits:
                logit_op = op
        else:
            pool.prove(ctx, plan, gkr.witness_point, out_claims)
    ctx.w.section("count")
    count.prove(ctx, gkr.witness_point, out_claims, logit_op)
    progress("relations", 1, 1)

    progress("openings", 0, 1)
    claims_mod.prove_reductions(ctx, ctx.claims)
    progress("openings", 1, 1)
    return ctx.w


__all__ = [
    "PROTOCOL_DOMAIN", "ProverContext", "WitnessError", "prove", "prove_traced",
    "start_transcript",
]
