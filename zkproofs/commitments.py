"""Pedersen commitments and Hyrax-style row commitments.

    com(x; ρ) = x·g + ρ·H                    a scalar
    Com(v; ρ) = Σ_j v_j·G_j + ρ·H             a vector of length ≤ 2^κ

A multilinear polynomial with 2^m evaluations is committed as a matrix of rows of width
2^κ, one Com per row with its own fresh blind (Hyrax §3). A row commitment never has a
zero blind: the prover draws every blind from its DRBG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import field
from .curve.base import Point
from .params import Params


def commit_scalar(params: Params, x: int, blind: int) -> Point:
    return params.backend.msm([params.g, params.H], [x % field.MODULUS, blind % field.MODULUS])


def commit_vector(params: Params, v: Sequence[int] | np.ndarray, blind: int) -> Point:
    n = len(v)
    if n > params.row_width:
        raise ValueError(f"vector of length {n} exceeds the row width {params.row_width}")
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
    return [
        commit_vector(params, values[i * width : (i + 1) * width], blind)
        for i, blind in enumerate(blinds)
    ]


def combine(params: Params, points: Sequence[Point], scalars: Sequence[int]) -> Point:
    """Σ scalars_i·points_i (a homomorphic combination of commitments)."""
    if len(points) != len(scalars):
        raise ValueError("combination of commitments with a mismatched number of scalars")
    return params.backend.msm(list(points), [s % field.MODULUS for s in scalars])
