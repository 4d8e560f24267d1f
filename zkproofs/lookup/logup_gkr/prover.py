"""logUp-GKR, the prover (see structs.py for the trees and the steps).

Every value that depends on the witness is sent only as a Pedersen commitment with a fresh
blind: the roots, the children's values at each step's random point and their products.
Sumchecks use committed rounds (``sumcheck.prove``) and every relation between
committed values is a Σ-protocol (product and equality proofs), so the proof reveals
nothing about the looked-up values beyond the fact that they are in the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ... import field, fr_kernels, mle, sigma, sumcheck
from ...commitments.pedersen import commit_scalar_fast
from ...params import Params
from ...proofstream import ProofWriter, write_equality, write_product, write_sumcheck
from ...rng import ProverRandomness
from ...transcript import Transcript
from .pieces import Piece, normalise, pair_up, to_dense
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

    __mul__ = scale


@dataclass(frozen=True)
class LeafClaims:
    """What the GKR leaves to the caller: q~ of the witness leaves at ``witness_point`` and
    p~ of the table leaves (the multiplicities) at ``table_point``, as openings."""

    witness_point: list[int]
    witness_q: Op
    table_point: list[int]
    table_p: Op


DENSE_LIMIT = 1 << 12  # layers this small are kept as one dense piece


def _layers(leaves: list[Piece], depth: int) -> list[list[Piece]]:
    """Every layer as pieces, index = layer (0 = the root)."""
    layers: list[list[Piece]] = [None] * (depth + 1)  # type: ignore[list-item]
    layers[depth] = leaves
    current = leaves
    for k in range(depth - 1, -1, -1):
        current = pair_up(current)
        if (1 << k) <= DENSE_LIMIT and len(current) > 1:
            p, q = to_dense(current, 1 << k, 2)
            current = [Piece(0, 1 << k, [p, q], [0, 0])]
        layers[k] = current
    return layers


def _value(pieces: list[Piece], component: int, index: int) -> int:
    for p in pieces:
        if p.offset <= index < p.offset + p.size:
            d = p.dense[component]
            if d is None:
                return p.tail[component]
            local = index - p.offset
            return int(d[local]) if local < len(d) else p.tail[component]
    raise IndexError(index)


def _children(layer: list[Piece]) -> list[Piece]:
    """Pieces over the parent index with components (P0, P1, Q0, Q1) from a child layer."""
    out = []
    for piece in normalise(layer):
        p, q = piece.dense
        tp, tq = piece.tail
        dense = [None if p is None else p[0::2], None if p is None else p[1::2],
                 q[0::2], q[1::2]]
        out.append(Piece(piece.offset // 2, piece.size // 2, dense, [tp, tp, tq, tq]))
    return out


class _StepOracle:
    """Σ_x eq(r, x)·Σ_trees μ·(P0·Q1 + P1·Q0 + λ·Q0·Q1)(x), the lowest variable first.

    eq is factored (Gruen): at round t, eq(r, x) = c·eq(r_cur, X)·eq(r_rest, y) with c the
    product over the bound variables and y the pair index; h(X) = Σ_y eq(r_rest, y)·G(y, X)
    is quadratic, so the prover computes h(0) and its leading coefficient, gets h(1) from
    the claim, and never multiplies by eq(r_cur, X) entry by entry. Pieces keep the work
    proportional to the stored entries: a run of tail pairs contributes its constant times
    the sum of eq over the run, which is closed-form.
    """

    def __init__(self, point: list[int], trees: list[tuple[int, list[Piece]]], lam: int):
        self.point = list(point)
        self.trees = trees  # [(mu, pieces with P0, P1, Q0, Q1)]
        self.lam = lam
        self.lam_c = field.const(lam)
        self.round = 0
        self.scale = 1  # Π eq(r_i, ρ_i) over the bound variables
        self._eq_cache: dict[int, np.ndarray] = {}  # eq tables of this round, by size

    def _pair_weights(self, piece: Piece, rest: list[int]):
        """eq(rest, y) over the piece's stored pairs, and the sum over its tail pairs."""
        pairs = piece.size // 2
        b = pairs.bit_length() - 1
        high, low = rest[: len(rest) - b], rest[len(rest) - b :]
        sel = mle.eq_int(high, (piece.offset // 2) >> b) if high else 1
        stored = piece.stored // 2
        if stored:
            full = self._eq_cache.get(b)
            if full is None:  # pieces of one size share it within a round
                full = self._eq_cache[b] = mle.eq_table(low)
            table = full[:stored]
        else:
            table = field.zeros(0)
        if sel != 1:
            table = table * field.const(sel)
        tail_weight = (sel - field.total(table)) % R if stored < pairs else 0
        return table, tail_weight

    def _g(self, p0, p1, q0, q1):
        prod = q0 * q1 * self.lam_c
        if p0 is None:
            return prod + q0 + q1
        return prod + p0 * q1 + p1 * q0

    def round_evaluations(self, claim: int) -> list[int]:
        k = len(self.point)
        cur = self.point[k - 1 - self.round]
        rest = self.point[: k - 1 - self.round]
        h0 = hinf = 0
        self._eq_cache = {}
        for mu, pieces in self.trees:
            pieces[:] = normalise(pieces)
            t0 = tinf = 0
            for piece in pieces:
                weights, tail_weight = self._pair_weights(piece, rest)
                d = piece.dense
                if piece.stored:
                    a, b = fr_kernels.step_sums(weights, *d, self.lam)
                    t0 += a
                    tinf += b
                if tail_weight:
                    tp0, tp1, tq0, tq1 = piece.tail
                    g_tail = (tq0 * tq1 * self.lam + tp0 * tq1 + tp1 * tq0) % R
                    t0 += tail_weight * g_tail
            h0 += mu * t0
            hinf += mu * tinf
        h0 %= R
        hinf %= R
        if self.scale and cur:
            h1 = (claim * field.inv(self.scale) - (1 - cur) * h0) * field.inv(cur) % R
        else:  # probability about 2^-254: evaluate h(1) directly
            h1 = self._direct(1, rest)
        def h(x):
            return (h0 + (h1 - h0 - hinf) * x + hinf * x * x) % R
        def s(x):
            return self.scale * ((1 - cur) * (1 - x) + cur * x) * h(x) % R
        return [s(0), s(1), s(2), s(3)]

    def _direct(self, x: int, rest: list[int]) -> int:
        total = 0
        xc = field.const(x)
        for mu, pieces in self.trees:
            for piece in pieces:
                weights, tail_weight = self._pair_weights(piece, rest)
                d = piece.dense
                if piece.stored:
                    at = [None if a is None else a[0::2] + (a[1::2] - a[0::2]) * xc for a in d]
                    total += mu * field.dot(weights, self._g(*at))
                if tail_weight:
                    tp0, tp1, tq0, tq1 = piece.tail
                    total += mu * tail_weight * (tq0 * tq1 * self.lam + tp0 * tq1 + tp1 * tq0)
        return total % R

    def bind(self, r: int) -> None:
        k = len(self.point)
        cur = self.point[k - 1 - self.round]
        self.scale = self.scale * (cur * r + (1 - cur) * (1 - r)) % R
        for _, pieces in self.trees:
            for piece in pieces:
                piece.dense = [None if a is None else fr_kernels.fold(a, r)
                               for a in piece.dense]
                piece.offset //= 2
                piece.size //= 2
        self.round += 1

    def final(self, tree: int) -> list[int]:
        """(P0, P1, Q0, Q1) at the bound point for a tree (None for an all-ones P)."""
        pieces = self.trees[tree][1]
        if len(pieces) != 1 or pieces[0].size != 1:
            pieces = normalise(pieces)
        piece = pieces[0]
        out = []
        for a, tail in zip(piece.dense, piece.tail, strict=True):
            if a is None:
                out.append(None)
            else:
                out.append(int(a[0]) if len(a) else tail)
        return out


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
    write_product(w, sigma.prove_product(t, params, rng, x.value, x.blind, y.value, y.blind,
                                            z.blind))
    return z


def prove(
    t: Transcript,
    params: Params,
    rng: ProverRandomness,
    w: ProofWriter,
    witness_leaves: list[Piece],
    witness_depth: int,
    table_p: np.ndarray,
    table_q: np.ndarray,
    progress: Progress | None = None,
) -> LeafClaims:
    """Prove that the witness leaves' fractions 1/q (p = 1; given as pieces, see
    pieces.py) sum to the table's p/q (dense arrays)."""
    depth_w = witness_depth
    depth_t = len(table_q).bit_length() - 1
    table_leaves = [Piece(0, len(table_q), [table_p, table_q], [0, 0])]
    layers = {WITNESS: _layers(witness_leaves, depth_w), TABLE: _layers(table_leaves, depth_t)}

    # The roots and logUp's identity P_W·Q_T = P_T·Q_W.
    root = [_value(layers[WITNESS][0], 0, 0), _value(layers[WITNESS][0], 1, 0),
            _value(layers[TABLE][0], 0, 0), _value(layers[TABLE][0], 1, 0)]
    w.section("lookup roots")
    PW, QW, PT, QT = _send(t, w, params, b"v2/gkr/roots", rng, root)
    Z1, Z2 = _send(t, w, params, b"v2/gkr/cross", rng,
                   [PW.value * QT.value, PT.value * QW.value])
    write_product(w, sigma.prove_product(t, params, rng, PW.value, PW.blind, QT.value,
                                            QT.blind, Z1.blind))
    write_product(w, sigma.prove_product(t, params, rng, PT.value, PT.blind, QW.value,
                                            QW.blind, Z2.blind))
    write_equality(w, sigma.prove_equality(t, params, rng, Z1.blind - Z2.blind))

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
        trees = []
        for step in active:
            P, Q = claims[step.tree]
            claim = claim + (P + Q.scale(lam)).scale(mus[step.tree])
            trees.append((mus[step.tree], _children(layers[step.tree][k + 1])))
            layers[step.tree][k + 1] = None  # consumed: free its memory
        oracle = _StepOracle(point, trees, lam)
        sc, challenges, final = sumcheck.prove(
            t, params, rng, oracle, num_rounds=k, degree=3,
            claim=sumcheck.ClaimOpening(claim.value, claim.blind),
        )
        write_sumcheck(w, sc)
        r_new = challenges[::-1]  # low variable bound first: big-endian is the reverse
        eq_val = mle.eq_eval(point, r_new)

        total = Op(0, 0)
        children = {}
        for i, step in enumerate(active):
            a0, a1, b0, b1 = oracle.final(i)
            vals = {"A0": 1 if a0 is None else a0, "A1": 1 if a1 is None else a1,
                    "B0": b0, "B1": b1}
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
        write_equality(w, sigma.prove_equality(t, params, rng, final.blind - expected.blind))

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
