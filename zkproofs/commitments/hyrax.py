"""The Hyrax polynomial commitment of protocol v2 (Wahby et al., S&P 2018, §3–4).

A committed vector has 2^(f + s) entries, viewed as a matrix of 2^f feature rows and 2^s
sample columns (index = feature·2^s + sample, so the sample index is the low s bits), and
is stored in rows of W = 2^w consecutive entries, w = min(11, f + s): row i holds entries
i·W … i·W + W − 1 (a row holds part of one feature's samples when w ≤ s, several whole
features when w > s). Each row is committed with its own fresh blind,
Com(row_i; ρ_i) = Σ_j row_i[j]·G_j + ρ_i·H. Rows that public data fixes to zero (beyond
the real features or the real samples) are not sent: both sides use the identity for them,
which is what a commitment to an all-zero row with blind 0 is.

The multilinear extension at a point x = (x_row, x_col), x_col the last w coordinates, is
Σ_i eq(x_row, i)·⟨row_i, eq(x_col)⟩. So a claim "Y commits to v~(x)" is checked by a proof
of dot product between the row combination Σ_i eq(x_row, i)·C_i and Y, with public vector
eq(x_col) (Hyrax's evaluation proof; the linear proof of dot product, no logarithmic
argument).

Many claims that share x_col — on one vector or on many, at any x_row — are proved
together: with random μ, Σ_c μ_c·v_c~(x_c) is the dot product of Σ_c μ_c Σ_i
eq(x_row,c, i)·row_{c,i} with eq(x_col). One proof of dot product (W + 2 scalars, 2 points)
covers them all. A vector narrower than the common column (a single row of 2^n < W
entries, its point the last n coordinates of x_col) joins as its row zero-extended to W,
which commits to the same point; its value at x_col is Π(1 − x_col,j) over the other
coordinates times its own claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import field, mle, sigma
from ..batch import Lin
from ..curve.base import Point
from ..errors import VerificationError
from ..params import Params
from ..rng import ProverRandomness
from ..transcript import Transcript
from .pedersen import commit_vector

R = field.MODULUS


@dataclass(frozen=True)
class Layout:
    """The public shape of a committed vector (see the module docstring)."""

    f_bits: int
    s_bits: int
    w_bits: int
    live_features: int  # features ≥ this are zero
    live_samples: int  # sample indices ≥ this are zero

    def __post_init__(self) -> None:
        if not 0 <= self.w_bits <= self.f_bits + self.s_bits or self.f_bits < 0:
            raise ValueError(f"bad Hyrax layout {self}")
        if not 0 <= self.live_features <= 1 << self.f_bits:
            raise ValueError(f"bad live feature count in {self}")
        if not 0 <= self.live_samples <= 1 << self.s_bits:
            raise ValueError(f"bad live sample count in {self}")

    @property
    def num_vars(self) -> int:
        return self.f_bits + self.s_bits

    @property
    def width(self) -> int:
        return 1 << self.w_bits

    @property
    def num_rows(self) -> int:
        return 1 << (self.num_vars - self.w_bits)

    def live_rows(self) -> np.ndarray:
        """Indices of the rows that may be non-zero, in increasing order."""
        if self.w_bits >= self.s_bits:  # a row holds 2^(w − s) whole features
            per_row = 1 << (self.w_bits - self.s_bits)
            live = -(-self.live_features // per_row) if self.live_samples else 0
            return np.arange(live, dtype=np.int64)
        blocks = 1 << (self.s_bits - self.w_bits)  # rows per feature
        live_blocks = -(-self.live_samples // self.width)
        feats = np.arange(self.live_features, dtype=np.int64)[:, None] * blocks
        return (feats + np.arange(live_blocks, dtype=np.int64)[None, :]).reshape(-1)

    @property
    def num_live_rows(self) -> int:
        return len(self.live_rows())

    def row_matrix(self, values: np.ndarray) -> np.ndarray:
        """The (num_rows, W) view of a flat or (2^f, 2^s) int64 array."""
        return np.asarray(values).reshape(self.num_rows, self.width)

    def split_point(self, point: Sequence[int]) -> tuple[list[int], list[int]]:
        """(row point, column point) of a big-endian point over f_bits + s_bits variables."""
        if len(point) != self.num_vars:
            raise ValueError(f"a point of {len(point)} coordinates for {self.num_vars} variables")
        cut = self.num_vars - self.w_bits
        return list(point[:cut]), list(point[cut:])


@dataclass(frozen=True)
class Opening:
    """The prover's secret side of a committed vector."""

    layout: Layout
    values: np.ndarray  # int64, (num_rows, W)
    blinds: tuple[int, ...]  # one per live row


def commit_many(
    params: Params, items: Sequence[tuple[Layout, np.ndarray]], rng: ProverRandomness
) -> list[tuple[list[Point], Opening]]:
    """Row commitments of each vector's live rows, each with a fresh blind (drawn vector by
    vector, row by row), and the openings; the commitments of all vectors are computed
    together (in parallel where the backend can)."""
    prepared = []
    for layout, values in items:
        rows = layout.row_matrix(np.asarray(values, dtype=np.int64))
        live = layout.live_rows()
        mask = np.ones(layout.num_rows, dtype=bool)
        mask[live] = False
        if rows[mask].any():
            raise ValueError("a committed vector has values where its layout says zero")
        prepared.append((layout, rows, live, tuple(rng.scalars(len(live)))))
    grp = params.backend
    many = getattr(grp, "commit_int_rows_many", None)
    if many is not None:
        points = many(params.G, params.H, [rows[live] for _, rows, live, _ in prepared],
                      [blinds for *_, blinds in prepared])
    else:
        points = [commit_int_rows(params, rows[live], blinds)
                  for _, rows, live, blinds in prepared]
    return [(pts, Opening(layout, rows, blinds))
            for pts, (layout, rows, _, blinds) in zip(points, prepared, strict=True)]


def commit_int_rows(params: Params, rows: np.ndarray, blinds: Sequence[int]) -> list[Point]:
    """Com(row; ρ) for each row of an int64 matrix (width ≤ the number of bases)."""
    grp = params.backend
    fast = getattr(grp, "commit_int_rows", None)
    if fast is not None:
        return fast(params.G, params.H, rows, blinds)
    width = rows.shape[1] if rows.ndim == 2 else 0
    return [
        commit_vector(params, [int(v) % R for v in row], blind)
        for row, blind in zip(rows, blinds, strict=True)
    ] if width else []


# ------------------------------------------------------------------ evaluation proofs


@dataclass(frozen=True)
class ProverClaim:
    """Y = com(value; blind) claimed to be v~(point) for the vector of ``opening``."""

    opening: Opening
    point: list[int]
    value: int
    blind: int


@dataclass(frozen=True)
class VerifierClaim:
    layout: Layout
    rows: Sequence[Point]  # the live row commitments
    point: list[int]
    Y: Point | Lin


def _layout(c) -> Layout:
    return c.layout if isinstance(c, VerifierClaim) else c.opening.layout


def _column_point(claims) -> list[int]:
    """The common column point: the longest claim's; every other claim's column point must
    be a suffix of it, and only a single-row vector may be narrower."""
    cols: list[int] = []
    for c in claims:
        _, col = _layout(c).split_point(c.point)
        if len(col) > len(cols):
            cols = col
    for c in claims:
        layout = _layout(c)
        _, col = layout.split_point(c.point)
        if col != cols[len(cols) - len(col):] or (len(col) < len(cols) and layout.num_rows > 1):
            raise ValueError("batched Hyrax claims must share their column point")
    return cols


def _weights(c, cols: list[int]) -> tuple[np.ndarray, int]:
    """(row weights over the live rows, the factor of a narrower vector's value)."""
    layout = _layout(c)
    row, col = layout.split_point(c.point)
    pad = 1
    for x in cols[: len(cols) - len(col)]:
        pad = pad * (1 - x) % R
    return mle.eq_table(row)[layout.live_rows()], pad


def prove_evaluations(
    t: Transcript, params: Params, rng: ProverRandomness, claims: Sequence[ProverClaim]
) -> sigma.DotProductProof:
    """One proof of dot product for all claims (they share the column point)."""
    cols = _column_point(claims)
    mu = t.challenge_scalars(b"v2/hyrax/mu", len(claims))
    combined = field.zeros(1 << len(cols))
    combined_blind = 0
    y_value = y_blind = 0
    for m, c in zip(mu, claims, strict=True):
        weights, pad = _weights(c, cols)
        weights = weights * field.const(m)
        row = field.contract(c.opening.values[c.opening.layout.live_rows()], weights)
        combined[: len(row)] = combined[: len(row)] + row
        combined_blind += sum(
            w * b for w, b in zip(field.to_ints(weights), c.opening.blinds, strict=True)
        )
        y_value += m * pad * c.value
        y_blind += m * pad * c.blind
    return sigma.prove_dot_product(
        t, params, rng, mle.eq_table(cols), combined, combined_blind % R, y_blind % R
    )


def defer_evaluations(
    t: Transcript,
    params: Params,
    claims: Sequence[VerifierClaim],
    proof: sigma.DotProductProof,
    checks,
    label: str,
) -> None:
    cols = _column_point(claims)
    mu = t.challenge_scalars(b"v2/hyrax/mu", len(claims))
    cx = Lin()
    cy = Lin()
    for m, c in zip(mu, claims, strict=True):
        if len(c.rows) != c.layout.num_live_rows:
            raise VerificationError(f"{label}: a commitment has the wrong number of rows")
        weights, pad = _weights(c, cols)
        for w, row in zip(field.to_ints(weights * field.const(m)), c.rows, strict=True):
            cx.iadd(row, w)
        cy.iadd(c.Y, m * pad % R)
    sigma.defer_dot_product(t, params, cx, cy, mle.eq_table(cols), proof, checks, label)
