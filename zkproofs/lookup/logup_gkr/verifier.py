"""logUp-GKR, the verifier (see structs.py).

It reads the proof in the prover's order, keeps every committed value as a ``batch.Lin``
(homomorphic combinations are free) and records the Σ-protocols' equations in the shared
``batch.Checks``. What it returns are the two leaf claims the caller must discharge:
q~(witness leaves) at the witness point (the caller relates it to the looked-up values)
and p~(table leaves) = m~ at the table point (an evaluation of the committed
multiplicities). The table's q at its leaves is public: α − T~, computed in closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ... import field, mle, sigma, sumcheck
from ...batch import Lin
from ...params import Params
from ...proofstream import ProofReader, read_equality, read_product, read_sumcheck
from ...transcript import Transcript
from .structs import TABLE, WITNESS, steps

R = field.MODULUS


@dataclass(frozen=True)
class LeafClaims:
    witness_point: list[int]
    witness_q: Lin
    table_point: list[int]
    table_p: Lin


def _receive(t: Transcript, r: ProofReader, params: Params, label: bytes, n: int) -> list:
    points = r.points(n)
    t.absorb_points(label, [params.backend.encode(p) for p in points])
    return points


def verify(
    t: Transcript,
    params: Params,
    r: ProofReader,
    checks,
    *,
    depth_witness: int,
    depth_table: int,
    table_q: Callable[[list[int]], int],
) -> LeafClaims:
    """``table_q(point)`` is α − T~(point) over the table's variables."""
    g = params.g
    PW, QW, PT, QT = _receive(t, r, params, b"v2/gkr/roots", 4)
    Z1, Z2 = _receive(t, r, params, b"v2/gkr/cross", 2)
    sigma.defer_product(t, params, PW, QT, Z1, read_product(r), checks, "lookup: root P_W·Q_T")
    sigma.defer_product(t, params, PT, QW, Z2, read_product(r), checks, "lookup: root P_T·Q_W")
    sigma.defer_equality(t, params, Z1, Z2, read_equality(r), checks,
                         "lookup: the looked-up values are not all in the table (logUp roots)")

    claims = {WITNESS: (Lin.of(PW), Lin.of(QW)), TABLE: (Lin.of(PT), Lin.of(QT))}
    point: list[int] = []
    out_w = out_t = None
    for k, active in enumerate(steps(depth_witness, depth_table)):
        lam = t.challenge_scalar(b"v2/gkr/lambda")
        mus = {step.tree: 1 for step in active}
        if len(active) == 2:
            mus[TABLE] = t.challenge_scalar(b"v2/gkr/mu")
        claim = Lin()
        for step in active:
            P, Q = claims[step.tree]
            claim.iadd(P, mus[step.tree]).iadd(Q, mus[step.tree] * lam)
        sc = read_sumcheck(r, k, 3)
        challenges, final = sumcheck.verify(
            t, params, sc, num_rounds=k, degree=3, claim=claim, checks=checks,
            label=f"lookup step {k}",
        )
        r_new = challenges[::-1]
        eq_val = mle.eq_eval(point, r_new)

        total = Lin()
        children = {}
        for step in active:
            names = step.committed_children
            sent = _receive(t, r, params, b"v2/gkr/children", len(names))
            public: dict[str, int] = {}
            if step.bottom and step.tree == WITNESS:
                public = {"A0": 1, "A1": 1}
            elif step.bottom:
                public = {"B0": table_q(r_new + [0]), "B1": table_q(r_new + [1])}
            ops: dict[str, Lin] = {n: Lin.of(p) for n, p in zip(names, sent, strict=True)}
            ops.update({n: Lin.of(g, v) for n, v in public.items()})
            prods = {}
            for name, (x, y) in (("T1", ("A0", "B1")), ("T2", ("A1", "B0")),
                                 ("T3", ("B0", "B1"))):
                if name in step.products:
                    (z,) = _receive(t, r, params, b"v2/gkr/product", 1)
                    sigma.defer_product(t, params, ops[x], ops[y], z, read_product(r), checks,
                                        f"lookup step {k}: {step.tree} {name}")
                    prods[name] = Lin.of(z)
                elif x in names:
                    prods[name] = ops[x] * public[y]
                elif y in names:
                    prods[name] = ops[y] * public[x]
                else:
                    prods[name] = Lin.of(g, public[x] * public[y])
            step_sum = prods["T1"] + prods["T2"] + prods["T3"] * lam
            total.iadd(step_sum, mus[step.tree])
            children[step.tree] = ops
        sigma.defer_equality(t, params, final, total * eq_val, read_equality(r), checks,
                             f"lookup step {k}: the layer relation does not hold")

        rho = t.challenge_scalar(b"v2/gkr/rho")
        point = r_new + [rho]
        for step in active:
            ops = children[step.tree]
            P = ops["A0"] * (1 - rho) + ops["A1"] * rho
            Q = ops["B0"] * (1 - rho) + ops["B1"] * rho
            claims[step.tree] = (P, Q)
            if step.bottom and step.tree == WITNESS:
                out_w = (list(point), Q)
            elif step.bottom:
                out_t = (list(point), P)
    return LeafClaims(out_w[0], out_w[1], out_t[0], out_t[1])
