"""logUp-GKR, the prover (see structs.py for the trees and the steps).

Every value that depends on the witness is sent only as a Pedersen commitment with a fresh
blind: the roots, the children's values at each step's random point and their products.
Sumchecks use committed rounds (``sumcheck.prove_v2``) and every relation between
committed values is a Σ-protocol (product and equality proofs), so the proof reveals
nothing about the looked-up values beyond the fact that they are in the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ... import field, mle, sigma, sumcheck
from ...commitments.pedersen import commit_scalar_fast
from ...params import Params
from ...proofstream import ProofWriter, write_equality, write_product, write_sumcheck
from ...rng import ProverRandomness
from ...transcript import Transcript
from .structs import TABLE, WITNESS, steps

R = field.MODULUS
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Op:
    """An opening (value, blind) of a Pedersen commitment; linear operations act on both."""

    value: int
    blind: int

    @classmethod
    def public(cls, x: int) -> Op:
        return cls(x % R, 0)

    def __add__(self, o: Op) -> Op:
        return Op((self.value + o.value) % R, (self.blind + o.blind) % R)

    def __sub__(self, o: Op) -> Op:
        return Op((self.value - o.value) % R, (self.blind - o.blind) % R)

    def scale(self, k: int) -> Op:
        return Op(self.value * k % R, self.blind * k % R)


@dataclass(frozen=True)
class LeafClaims:
    """What the GKR leaves to the caller: q~ of the witness leaves at ``witness_point`` and
    p~ of the table leaves (the multiplicities) at ``table_point``, as openings."""

    witness_point: list[int]
    witness_q: Op
    table_point: list[int]
    table_p: Op


def _layers(p_leaves: np.ndarray | None, q_leaves: np.ndarray) -> list[tuple]:
    """(p, q) of every layer, index = layer (0 = root). p is None where it is all ones."""
    depth = len(q_leaves).bit_length() - 1
    layers: list[tuple] = [None] * (depth + 1)  # type: ignore[list-item]
    layers[depth] = (p_leaves, q_leaves)
    p, q = p_leaves, q_leaves
    for k in range(depth - 1, -1, -1):
        q0, q1 = q[0::2], q[1::2]
        p = q0 + q1 if p is None else p[0::2] * q1 + p[1::2] * q0
        q = q0 * q1
        layers[k] = (p, q)
    return layers


class _StepOracle:
    """Σ_x eq(r, x)·Σ_trees μ·(P0·Q1 + P1·Q0 + λ·Q0·Q1), bound low variable first."""

    def __init__(self, eq: np.ndarray, parts: list, lam: int):
        self.eq = eq
        self.parts = parts  # [mu, P0, P1, Q0, Q1], P0 = P1 = None for constant one
        self.lam = field.const(lam)

    def round_evaluations(self, claim: int) -> list[int]:
        out = []
        for x in (0, 2, 3):
            xc = field.const(x)
            e = self.eq[0::2] + (self.eq[1::2] - self.eq[0::2]) * xc if x else self.eq[0::2]
            total = 0
            for mu, p0, p1, q0, q1 in self.parts:

                def at(a, xc=xc, x=x):
                    return a[0::2] + (a[1::2] - a[0::2]) * xc if x else a[0::2]

                a0, a1 = at(q0), at(q1)
                g = a0 * a1 * self.lam
                g = g + a0 + a1 if p0 is None else g + at(p0) * a1 + at(p1) * a0
                total += mu * field.dot(e, g)
            out.append(total % R)
        s0, s2, s3 = out
        return [s0, (claim - s0) % R, s2, s3]

    def bind(self, r: int) -> None:
        self.eq = mle.fold_low(self.eq, r)
        for part in self.parts:
            for i in range(1, 5):
                if part[i] is not None:
                    part[i] = mle.fold_low(part[i], r)


def _send(t: Transcript, w: ProofWriter, params: Params, label: bytes, rng, values):
    """Commit to values with fresh blinds; absorb and write the commitments."""
    ops, points = [], []
    for v in values:
        op = Op(v % R, rng.scalar())
        ops.append(op)
        points.append(commit_scalar_fast(params, op.value, op.blind))
    t.absorb_points(label, [params.backend.encode(p) for p in points])
    w.points(points)
    return ops


def _product(t, params, rng, w, x: Op, y: Op) -> Op:
    (z,) = _send(t, w, params, b"v2/gkr/product", rng, [x.value * y.value])
    write_product(w, sigma.prove_product_v2(t, params, rng, x.value, x.blind, y.value, y.blind,
                                            z.blind))
    return z


def prove(
    t: Transcript,
    params: Params,
    rng: ProverRandomness,
    w: ProofWriter,
    witness_q: np.ndarray,
    table_p: np.ndarray,
    table_q: np.ndarray,
    progress: Progress | None = None,
) -> LeafClaims:
    """Prove that the witness leaves' fractions 1/q sum to the table's p/q."""
    depth_w = len(witness_q).bit_length() - 1
    depth_t = len(table_q).bit_length() - 1
    layers = {WITNESS: _layers(None, witness_q), TABLE: _layers(table_p, table_q)}

    # The roots and logUp's identity P_W·Q_T = P_T·Q_W.
    pw, qw = layers[WITNESS][0]
    pt, qt = layers[TABLE][0]
    root = [int(pw[0]), int(qw[0]), int(pt[0]), int(qt[0])]
    w.section("lookup roots")
    PW, QW, PT, QT = _send(t, w, params, b"v2/gkr/roots", rng, root)
    Z1, Z2 = _send(t, w, params, b"v2/gkr/cross", rng,
                   [PW.value * QT.value, PT.value * QW.value])
    write_product(w, sigma.prove_product_v2(t, params, rng, PW.value, PW.blind, QT.value,
                                            QT.blind, Z1.blind))
    write_product(w, sigma.prove_product_v2(t, params, rng, PT.value, PT.blind, QW.value,
                                            QW.blind, Z2.blind))
    write_equality(w, sigma.prove_equality_v2(t, params, rng, Z1.blind - Z2.blind))

    claims = {WITNESS: (PW, QW), TABLE: (PT, QT)}
    point: list[int] = []
    out_w = out_t = None
    schedule = steps(depth_w, depth_t)
    for k, active in enumerate(schedule):
        if progress:
            progress("lookup", k, len(schedule))
        w.section(f"lookup step {k}")
        lam = t.challenge_scalar(b"v2/gkr/lambda")
        mus = {step.tree: 1 for step in active}
        if len(active) == 2:
            mus[TABLE] = t.challenge_scalar(b"v2/gkr/mu")
        claim = Op(0, 0)
        parts = []
        for step in active:
            P, Q = claims[step.tree]
            claim = claim + (P + Q.scale(lam)).scale(mus[step.tree])
            p, q = layers[step.tree][k + 1]
            p0 = None if p is None else p[0::2].copy()
            p1 = None if p is None else p[1::2].copy()
            parts.append([mus[step.tree], p0, p1, q[0::2].copy(), q[1::2].copy()])
        oracle = _StepOracle(mle.eq_table(point), parts, lam)
        sc, challenges, final = sumcheck.prove_v2(
            t, params, rng, oracle, num_rounds=k, degree=3,
            claim=sumcheck.ClaimOpening(claim.value, claim.blind),
        )
        write_sumcheck(w, sc)
        r_new = challenges[::-1]  # low variable bound first: big-endian is the reverse
        eq_val = mle.eq_eval(point, r_new)

        total = Op(0, 0)
        children = {}
        for step, part in zip(active, parts, strict=True):
            _, p0, p1, q0, q1 = part
            vals = {"A0": 1 if p0 is None else int(p0[0]), "A1": 1 if p1 is None else int(p1[0]),
                    "B0": int(q0[0]), "B1": int(q1[0])}
            names = step.committed_children
            sent = _send(t, w, params, b"v2/gkr/children", rng, [vals[n] for n in names])
            ops = {n: Op.public(vals[n]) for n in vals}
            ops.update(dict(zip(names, sent, strict=True)))
            prods = {}
            for name, (x, y) in (("T1", ("A0", "B1")), ("T2", ("A1", "B0")),
                                 ("T3", ("B0", "B1"))):
                if name in step.products:
                    prods[name] = _product(t, params, rng, w, ops[x], ops[y])
                elif x in names:
                    prods[name] = ops[x].scale(vals[y])
                elif y in names:
                    prods[name] = ops[y].scale(vals[x])
                else:
                    prods[name] = Op.public(vals[x] * vals[y])
            step_sum = prods["T1"] + prods["T2"] + prods["T3"].scale(lam)
            total = total + step_sum.scale(mus[step.tree])
            children[step.tree] = ops
        expected = total.scale(eq_val)
        write_equality(w, sigma.prove_equality_v2(t, params, rng, final.blind - expected.blind))

        rho = t.challenge_scalar(b"v2/gkr/rho")
        point = r_new + [rho]
        for step in active:
            ops = children[step.tree]
            P = ops["A0"].scale(1 - rho) + ops["A1"].scale(rho)
            Q = ops["B0"].scale(1 - rho) + ops["B1"].scale(rho)
            claims[step.tree] = (P, Q)
            if step.bottom and step.tree == WITNESS:
                out_w = (list(point), Q)
            elif step.bottom:
                out_t = (list(point), P)
    if progress:
        progress("lookup", len(schedule), len(schedule))
    return LeafClaims(out_w[0], out_w[1], out_t[0], out_t[1])
