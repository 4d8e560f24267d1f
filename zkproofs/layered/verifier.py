"""Protocol v2, the verifier (the prover's order, see prover.py).

It first derives the schedule from public data and compares the proof's length with the
exact length the schedule implies: a proof of another shape is refused before any point is
decoded. Then it reads the messages in order, keeps every committed value as a
``batch.Lin``, records every group equation, and checks them all with one multi-scalar
multiplication at the end (``batch.Checks``). Its own work is O(N·inputs) for the public
test set, O(parameters) for the weight claims and O(proof size) for the rest: never
proportional to the number of multiplications of the network.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import field, mle, sigma
from ..batch import Checks, Lin
from ..errors import FormatError
from ..lookup import logup_gkr
from ..params import Params
from ..proofstream import ProofReader, read_equality
from ..transcript import Transcript
from . import claims as claims_mod
from .gadgets import count, linear, pool
from .prover import M_NAME, start_transcript, term_claim
from .schedule import LinearPlan, Schedule

R = field.MODULUS


@dataclass
class VerifierContext:
    t: Transcript
    params: Params
    r: ProofReader
    checks: Checks
    schedule: Schedule
    commitments: dict
    weight_rows: list
    claims: claims_mod.VerifierClaims | None = None


def check_size(params: Params, schedule: Schedule, proof: bytes) -> None:
    expected = schedule.proof_size().bytes
    if len(proof) != expected:
        raise FormatError(
            f"the proof has {len(proof)} bytes where this architecture and test set give "
            f"{expected}"
        )


def _decompose(ctx: VerifierContext, z: list[int], beta: int) -> tuple[Lin, dict]:
    sched, claims, g = ctx.schedule, ctx.claims, ctx.params.g
    table = sched.table
    n = sched.leaf_bits
    out: dict = {}
    total = Lin()
    covered = 0
    bpow = [pow(beta, i + 1, R) for i in range(3)]

    def public(value: int) -> Lin:
        return Lin.of(g, value)

    for seg, off in zip(sched.segments, sched.segment_offsets(), strict=True):
        seg_point = z[n - seg.bits :]
        sel = mle.eq_int(z[: n - seg.bits], off >> seg.bits)
        covered += sel
        enc = Lin.of(g, table.tag(seg.kind))
        for i, comp in enumerate(seg.components):
            x = Lin()
            for term in comp:
                x.iadd(term_claim(sched, claims, seg, term, seg_point, out, public))
            enc.iadd(x, bpow[i])
        total.iadd(enc, sel)
    total.iadd(g, (1 - covered) * table.filler(beta))
    return total, out


def verify(
    params: Params,
    schedule: Schedule,
    proof: bytes,
    statement: bytes,
    weight_rows,
) -> None:
    """Accept by returning; reject by raising VerificationError or FormatError."""
    check_size(params, schedule, proof)
    grp = params.backend
    t = start_transcript(params, schedule, statement, weight_rows)
    r = ProofReader(proof, grp)
    ctx = VerifierContext(t, params, r, Checks(grp), schedule, {}, list(weight_rows))

    for name, spec in schedule.vectors.items():
        points = r.points(spec.layout.num_live_rows)
        t.absorb_points(b"v2/commit/" + name.encode(), [grp.encode(p) for p in points])
        ctx.commitments[name] = points

    beta = t.challenge_scalar(b"v2/beta")
    alpha = t.challenge_scalar(b"v2/alpha")
    table = schedule.table
    gkr = logup_gkr.verifier.verify(
        t, params, r, ctx.checks, depth_witness=schedule.leaf_bits,
        depth_table=table.num_vars, table_q=lambda pt: (alpha - table.mle(pt, beta)) % R,
    )
    ctx.claims = claims_mod.VerifierClaims(ctx)
    leaf_mle, out_claims = _decompose(ctx, gkr.witness_point, beta)
    expected = Lin.of(params.g, alpha) - leaf_mle
    sigma.defer_equality(t, params, gkr.witness_q, expected, read_equality(r), ctx.checks,
                         "lookup: the looked-up values are not the committed ones")
    m_layout = schedule.vector(M_NAME).layout
    ctx.claims.adopt(M_NAME, gkr.table_point[: m_layout.f_bits],
                     gkr.table_point[m_layout.f_bits :], gkr.table_p)

    logit_y = None
    for plan in schedule.layers:
        if isinstance(plan, LinearPlan):
            y = linear.verify(ctx, plan, gkr.witness_point, out_claims)
            if plan.logits:
                logit_y = y
        else:
            pool.verify(ctx, plan, gkr.witness_point, out_claims)
    count.verify(ctx, gkr.witness_point, out_claims, logit_y)
    claims_mod.verify_reductions(ctx, ctx.claims)
    r.end()
    ctx.checks.finish(t, proof)
