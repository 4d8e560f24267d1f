"""Pedersen commitments, and row commitments of the Hyrax matrix layout.

    com(x; ρ) = x·g + ρ·H                    a scalar
    Com(v; ρ) = Σ_j v_j·G_j + ρ·H             a vector of length ≤ 2^κ

A multilinear polynomial with 2^m evaluations is committed as a matrix of rows of width
2^κ, one Com per row with its own fresh blind (Hyrax §3). A row commitment never has a
zero blind: the prover draws every blind from its DRBG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import field
from ..curve.base import Point
from ..params import Params


def commit_scalar(params: Params, x: int, blind: int) -> Point:
    return params.backend.msm([params.g, params.H], [x % field.MODULUS, blind % field.MODULUS])


def commit_vector(params: Params, v: Sequence[int] | np.ndarray, blind: int) -> Point:
    n = len(v)
    if n > params.row_width:
        raise ValueError(f"vector of length {n} exceeds the row width {params.row_width}")
    if n <= SHORT_VECTOR:
        # Sumcheck round polynomials and Σ-protocol masks: a few full-size scalars, where
        # fixed-base tables beat a multi-scalar multiplication several times over.
        values = field.to_ints(v) if isinstance(v, np.ndarray) else [x % field.MODULUS for x in v]
        grp = params.backend
        acc = fixed_base(params, "H").mul(blind)
        for i, x in enumerate(values):
            if x:
                acc = grp.add(acc, fixed_base(params, i).mul(x))
        return acc
    if isinstance(v, np.ndarray):
        scalars = np.concatenate([v, field.const(blind)])
    else:
        scalars = [x % field.MODULUS for x in v] + [blind % field.MODULUS]
    return params.backend.msm([*params.G[:n], params.H], scalars)


def commit_rows(params: Params, values: np.ndarray, blinds: Sequence[int]) -> list[Point]:
    """One commitment per row of width 2^κ; len(values) must be len(blinds)·2^κ."""
    width = params.row_width
    if len(values) != len(blinds) * width:
        raise ValueError("values must fill exactly one row per blind")
    fast = getattr(params.backend, "commit_int_rows", None)
    if fast is not None and isinstance(values, np.ndarray) and values.dtype == field.FR:
        small = field.to_small_int64(values)
        if small is not None:  # model weights: small signed integers, the fast path
            return fast(params.G, params.H, small.reshape(len(blinds), width), list(blinds))
    return [
        commit_vector(params, values[i * width : (i + 1) * width], blind)
        for i, blind in enumerate(blinds)
    ]


def combine(params: Params, points: Sequence[Point], scalars: Sequence[int]) -> Point:
    """Σ scalars_i·points_i (a homomorphic combination of commitments)."""
    if len(points) != len(scalars):
        raise ValueError("combination of commitments with a mismatched number of scalars")
    return params.backend.msm(list(points), [s % field.MODULUS for s in scalars])


class FixedBase:
    """k·B for a fixed base B by a table of j·2^(8i)·B (i < 32, j < 256): 32 additions
    instead of a 255-bit scalar multiplication (about six times faster natively, fifteen
    times on the reference backend). The table costs 8,192 additions, once per base."""

    WINDOWS = 32

    def __init__(self, grp, base: Point):
        self.grp = grp
        self.base = base
        rows = []
        start = base
        for _ in range(self.WINDOWS):
            row = [grp.identity(), start]
            for _ in range(254):
                row.append(grp.add(row[-1], start))
            rows.append(row)
            start = grp.add(row[-1], start)  # 256·start
        self.rows = rows

    def mul(self, k: int) -> Point:
        k %= field.MODULUS
        grp = self.grp
        acc = None
        for row in self.rows:
            digit = k & 0xFF
            k >>= 8
            if digit:
                acc = row[digit] if acc is None else grp.add(acc, row[digit])
            if not k:
                break
        return grp.identity() if acc is None else acc


_FIXED: dict[tuple[int, object], FixedBase] = {}
SHORT_VECTOR = 8


def fixed_base(params: Params, which: str | int) -> FixedBase:
    """The table of params.g ("g"), params.H ("H") or the vector base G_i (an int i),
    built on first use and kept for the process (keyed by the parameter set)."""
    base = params.g if which == "g" else params.H if which == "H" else params.G[which]
    key = (params.params_id, which)
    table = _FIXED.get(key)
    if table is None or table.base is not base:
        table = _FIXED[key] = FixedBase(params.backend, base)
    return table


def commit_scalar_fast(params: Params, x: int, blind: int) -> Point:
    """com(x; ρ) = x·g + ρ·H with the fixed-base tables (equal to commit_scalar)."""
    grp = params.backend
    return grp.add(fixed_base(params, "g").mul(x), fixed_base(params, "H").mul(blind))
