"""Helpers for the accuracy-circuit tests: an exact solver for tiny R1CS instances and
readers for the count gadget's variables.

The solver enumerates EVERY assignment of the unknown variables over the whole field Fr
that satisfies an instance, given fixed values for the others (the constant one, and
usually the weights). It does not assume that anything is a bit: it propagates
constraints with a single unknown (a polynomial of degree ≤ 2 in it, solved exactly over
Fr, square roots included) and branches over the roots of such a constraint when no
variable is forced. Only if no constraint pins a variable down does it fall back to a
window of candidate values; it then reports ``exhaustive = False``, so a test can insist
that the enumeration covered the whole field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from zkproofs import field
from zkproofs.r1cs import R1CS, as_fr

R = field.MODULUS
ANY = None  # a constraint that holds whatever the value of its one unknown

# Values tried for a variable no constraint determines (then the count is only a lower
# bound and the enumeration is not exhaustive).
FALLBACK_WINDOW = [*range(-4, 5), R - 5, (R + 1) // 2, 1 << 64]


# ------------------------------------------------------------------ field helpers


def _two_adic() -> tuple[int, int, int]:
    q, s = R - 1, 0
    while q % 2 == 0:
        q //= 2
        s += 1
    z = 2
    while pow(z, (R - 1) // 2, R) != R - 1:
        z += 1
    return q, s, z


_Q, _S, _NONRESIDUE = _two_adic()


def sqrt_mod(a: int) -> int | None:
    """A square root of a in Fr (Tonelli–Shanks), or None if a is not a square."""
    a %= R
    if a == 0:
        return 0
    if pow(a, (R - 1) // 2, R) != 1:
        return None
    m, c = _S, pow(_NONRESIDUE, _Q, R)
    t, root = pow(a, _Q, R), pow(a, (_Q + 1) // 2, R)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2 = t2 * t2 % R
            i += 1
        b = pow(c, 1 << (m - i - 1), R)
        m, c = i, b * b % R
        t, root = t * c % R, root * b % R
    return root


def roots(a2: int, a1: int, a0: int):
    """Every root in Fr of a2·v² + a1·v + a0 (ANY if the polynomial is zero)."""
    a2, a1, a0 = a2 % R, a1 % R, a0 % R
    if a2 == 0:
        if a1 == 0:
            return ANY if a0 == 0 else []
        return [(-a0) * pow(a1, -1, R) % R]
    disc = (a1 * a1 - 4 * a2 * a0) % R
    s = sqrt_mod(disc)
    if s is None:
        return []
    inv2a = pow(2 * a2, -1, R)
    return sorted({(-a1 + s) * inv2a % R, (-a1 - s) * inv2a % R})


def signed(x: int) -> int:
    return field.signed(x % R)


# ------------------------------------------------------------------ the solver


class SearchBudgetExceeded(RuntimeError):
    pass


@dataclass
class Enumeration:
    solutions: list[dict[int, int]]  # unknown column -> value in [0, r)
    exhaustive: bool  # False if some variable had to be guessed from FALLBACK_WINDOW
    nodes: int


class Solver:
    """All satisfying assignments of ``unknown`` columns of a built R1CS.

    ``fixed`` maps z columns to values (the constant one is added automatically). Every
    column that appears in a constraint must be fixed or unknown.
    """

    def __init__(self, r1cs: R1CS, fixed: Mapping[int, int], unknown: Iterable[int]):
        one = r1cs.num_vars
        self.fixed = {int(k): int(v) % R for k, v in fixed.items()}
        self.fixed[one] = 1
        self.unknown = sorted({int(u) for u in unknown})
        unknown_set = set(self.unknown)
        if unknown_set & set(self.fixed):
            raise ValueError("a column is both fixed and unknown")
        forms: dict[int, list[dict[int, int]]] = {}
        for m_index, mat in enumerate(r1cs.matrices):
            vals = field.to_ints(mat.vals)
            for row, col, val in zip(mat.rows.tolist(), mat.cols.tolist(), vals, strict=True):
                forms.setdefault(row, [{}, {}, {}])[m_index][col] = val
        self.rows = sorted(forms)
        # Per constraint: each side split into (constant from fixed columns, {unknown: coeff}).
        self.sides: list[tuple[tuple[int, dict[int, int]], ...]] = []
        # Linear constraints (one side constant): Σ k_u·u + k0 = 0, else None.
        self.linear: list[tuple[int, dict[int, int]] | None] = []
        self.cons_vars: list[tuple[int, ...]] = []
        self.of_var: dict[int, list[int]] = {u: [] for u in self.unknown}
        for ci, row in enumerate(self.rows):
            sides = []
            for form in forms[row]:
                const, var = 0, {}
                for col, coeff in form.items():
                    if col in self.fixed:
                        const += coeff * self.fixed[col]
                    elif col in unknown_set:
                        var[col] = coeff
                    else:
                        raise ValueError(f"constraint row {row} uses the unlisted column {col}")
                sides.append((const % R, var))
            (a0, au), (b0, bu), (c0, cu) = sides
            if bu and not au:
                (a0, au), (b0, bu) = (b0, bu), (a0, au)
            lin = None
            if not bu:
                ks = {u: (au.get(u, 0) * b0 - cu.get(u, 0)) % R for u in set(au) | set(cu)}
                lin = ((a0 * b0 - c0) % R, {u: k for u, k in ks.items() if k})
            self.sides.append(tuple(sides))
            self.linear.append(lin)
            vs = tuple(sorted(set(au) | set(bu) | set(cu)))
            self.cons_vars.append(vs)
            for v in vs:
                self.of_var[v].append(ci)
        self.static_roots = {
            ci: self._roots(ci, vs[0], self.fixed)
            for ci, vs in enumerate(self.cons_vars) if len(vs) == 1
        }
        # Variables some constraint proves boolean on its own (roots exactly {0, 1} whatever
        # the other unknowns): their domain is {0, 1} in every solution, which lets the
        # search refute a linear constraint over them by an interval argument.
        self.boolean = {self.cons_vars[ci][0] for ci, rs in self.static_roots.items()
                        if rs == [0, 1]}

    # -- evaluation

    def _value(self, side, val, v=None):
        const, var = side
        c1 = 0
        for col, coeff in var.items():
            if col == v:
                c1 += coeff
            else:
                const += coeff * val[col]
        return const % R, c1 % R

    def _holds(self, ci: int, val: Mapping[int, int]) -> bool:
        if ci in self.static_roots:  # one unknown, roots known in advance
            rs = self.static_roots[ci]
            return rs is ANY or val[self.cons_vars[ci][0]] in rs
        lin = self.linear[ci]
        if lin is not None:
            return (lin[0] + sum(k * val[u] for u, k in lin[1].items())) % R == 0
        a, b, c = (self._value(side, val)[0] for side in self.sides[ci])
        return (a * b - c) % R == 0

    def _roots(self, ci: int, v: int, val: Mapping[int, int]):
        lin = self.linear[ci]
        if lin is not None:
            k0, ks = lin
            rest = (k0 + sum(k * val[u] for u, k in ks.items() if u != v)) % R
            return roots(0, ks.get(v, 0), rest)
        (a0, a1), (b0, b1), (c0, c1) = (self._value(side, val, v) for side in self.sides[ci])
        return roots(a1 * b1, a0 * b1 + a1 * b0 - c1, a0 * b0 - c0)

    def _refuted(self, ci: int, val: Mapping[int, int]) -> bool:
        """True if a linear constraint whose unknowns are all boolean cannot hold.

        Σ k_u·u + k0 over u ∈ {0, 1} is an integer in [lo, hi] and ≡ k0 modulo
        g = gcd(k_u); when [lo, hi] lies inside (−r, r) it can be ≡ 0 mod r only by being 0.
        """
        lin = self.linear[ci]
        if lin is None:
            return False
        k0, ks = lin
        lo = hi = g = 0
        for u, k in ks.items():
            if u in val:
                k0 += k * val[u]
            elif u in self.boolean:
                k = signed(k)
                g = math.gcd(g, k)
                if k < 0:
                    lo += k
                else:
                    hi += k
            else:
                return False
        k0 = signed(k0)
        lo, hi = lo + k0, hi + k0
        if lo <= -R or hi >= R:
            return False
        return not (lo <= 0 <= hi) or (g != 0 and k0 % g != 0)

    # -- search

    def run(self, max_solutions: int = 10_000, max_nodes: int = 2_000_000) -> Enumeration:
        self.val: dict[int, int] = dict(self.fixed)
        self.unk = [len(vs) for vs in self.cons_vars]
        self.trail: list[int] = []
        self.solutions: list[dict[int, int]] = []
        self.exhaustive = True
        self.nodes = 0
        self.max_solutions, self.max_nodes = max_solutions, max_nodes
        self._search(list(range(len(self.rows))))
        return Enumeration(self.solutions, self.exhaustive, self.nodes)

    def _assign(self, v: int, value: int, pending: list[int]) -> None:
        self.val[v] = value
        self.trail.append(v)
        for ci in self.of_var[v]:
            self.unk[ci] -= 1
            pending.append(ci)

    def _undo(self, mark: int) -> None:
        while len(self.trail) > mark:
            v = self.trail.pop()
            del self.val[v]
            for ci in self.of_var[v]:
                self.unk[ci] += 1

    def _the_unknown(self, ci: int) -> int:
        for v in self.cons_vars[ci]:
            if v not in self.val:
                return v
        raise AssertionError("no unknown left")

    def _current_roots(self, ci: int):
        if ci in self.static_roots:
            return self.static_roots[ci]
        return self._roots(ci, self._the_unknown(ci), self.val)

    def _propagate(self, pending: list[int]) -> bool:
        while pending:
            ci = pending.pop()
            u = self.unk[ci]
            if u == 0:
                if not self._holds(ci, self.val):
                    return False
            elif u == 1:
                rs = self._current_roots(ci)
                if rs is ANY:
                    continue
                if not rs:
                    return False
                if len(rs) == 1:
                    self._assign(self._the_unknown(ci), rs[0], pending)
            elif self._refuted(ci, self.val):
                return False
        return True

    def _choose(self):
        """(variable, candidate values, exact?) to branch on, or None when all are known.

        Branches on the lowest-index variable that a one-unknown constraint restricts to
        finitely many roots: the compiler allocates in dependency order, so layer by layer.
        """
        candidates = sorted(
            (self._the_unknown(ci), ci) for ci, u in enumerate(self.unk) if u == 1
        )
        for v, ci in candidates:
            rs = self._current_roots(ci)
            if rs is not ANY:
                return v, rs, True
        for v in self.unknown:
            if v not in self.val:
                return v, [x % R for x in FALLBACK_WINDOW], False
        return None

    def _search(self, pending: list[int]) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise SearchBudgetExceeded(f"more than {self.max_nodes} search nodes")
        mark = len(self.trail)
        if self._propagate(pending):
            choice = self._choose()
            if choice is None:
                self.solutions.append({v: self.val[v] for v in self.unknown})
                if len(self.solutions) > self.max_solutions:
                    raise SearchBudgetExceeded(f"more than {self.max_solutions} solutions")
            else:
                v, candidates, exact = choice
                self.exhaustive &= exact
                for x in candidates:
                    sub: list[int] = []
                    inner = len(self.trail)
                    self._assign(v, x, sub)
                    self._search(sub)
                    self._undo(inner)
        self._undo(mark)


def enumerate_witnesses(r1cs: R1CS, weights=None, only_used: bool = False, **kw) -> Enumeration:
    """Every assignment satisfying r1cs of the auxiliary variables and of the weights not
    fixed. ``weights``: all weights (a sequence of signed ints), some of them (a mapping
    {index: value}), or None (every weight is enumerated too). ``only_used``: leave out
    auxiliary variables no constraint mentions (for instances with constraints removed)."""
    if weights is None:
        weights = {}
    elif not isinstance(weights, Mapping):
        weights = dict(enumerate(weights))
    fixed = {int(i): int(w) for i, w in weights.items()}
    aux = range(r1cs.aux_base, r1cs.aux_base + r1cs.aux_count)
    if only_used:
        used = set(np.concatenate([m.cols for m in r1cs.matrices]).tolist())
        aux = [v for v in aux if v in used]
    unknown = [i for i in range(r1cs.weight_count) if i not in fixed] + list(aux)
    return Solver(r1cs, fixed, unknown).run(**kw)


def honest_solution(r1cs: R1CS, z: np.ndarray, with_weights: bool = False) -> dict[int, int]:
    """The honest witness restricted to the columns enumerate_witnesses solves for."""
    cols = list(range(r1cs.weight_count)) if with_weights else []
    cols += list(range(r1cs.aux_base, r1cs.aux_base + r1cs.aux_count))
    values = field.to_ints(z[np.array(cols, dtype=np.int64)])
    return dict(zip(cols, values, strict=True))


# ------------------------------------------------------------------ reading a circuit


def label_rows(r1cs: R1CS, label: str) -> range:
    """The constraint rows emitted under ``label`` (one contiguous run)."""
    starts = [*r1cs.label_starts, r1cs.num_constraints]
    runs = [range(starts[i], starts[i + 1]) for i, lab in enumerate(r1cs.labels) if lab == label]
    if len(runs) != 1:
        raise KeyError(f"{len(runs)} runs labelled {label!r}")
    return runs[0]


def row_entries(r1cs: R1CS, which: str, rows: range) -> dict[int, dict[int, int]]:
    """{row: {col: coeff (signed)}} of one matrix over a range of rows."""
    mat = {"A": r1cs.A, "B": r1cs.B, "C": r1cs.C}[which]
    sel = (mat.rows >= rows.start) & (mat.rows < rows.stop)
    out: dict[int, dict[int, int]] = {r: {} for r in rows}
    vals = field.to_ints(mat.vals[sel])
    for row, col, v in zip(mat.rows[sel].tolist(), mat.cols[sel].tolist(), vals, strict=True):
        out[row][col] = signed(v)
    return out


@dataclass
class CountLayout:
    flags: list[int]  # z column of b_i
    margin_rows: list[list[int]]  # per sample, the K − 1 "count margins" rows
    margin_bits: dict[int, list[int]]  # margin row -> its bit columns, low bit first
    logits: list[list[int]]  # per sample, the z column of each logit
    total_row: int


def count_layout(r1cs: R1CS, labels, num_classes: int) -> CountLayout:
    """Locate the count gadget's variables from the public constraint structure."""
    labels = [int(v) for v in labels]
    one = r1cs.num_vars
    flag_rows = label_rows(r1cs, "count flags")
    a_flags = row_entries(r1cs, "A", flag_rows)
    flags = [next(iter(a_flags[r])) for r in flag_rows]
    assert len(flags) == len(labels)
    rows = label_rows(r1cs, "count margins")
    assert len(rows) == len(labels) * (num_classes - 1)
    a, b, c = (row_entries(r1cs, m, rows) for m in "ABC")
    margin_rows, margin_bits, logits = [], {}, []
    for i, y in enumerate(labels):
        mine = list(rows[i * (num_classes - 1) : (i + 1) * (num_classes - 1)])
        margin_rows.append(mine)
        cols: list[int | None] = [None] * num_classes
        for r, j in zip(mine, [j for j in range(num_classes) if j != y], strict=True):
            assert a[r] == {flags[i]: 1}
            bits = sorted(c[r], key=lambda col, r=r: c[r][col])  # C = Σ 2^t·e_t
            assert [c[r][col] for col in bits] == [1 << t for t in range(len(bits))]
            margin_bits[r] = bits
            # B = ℓ_y − ℓ_j − [j < y]
            plus = [col for col, k in b[r].items() if k == 1 and col != one]
            minus = [col for col, k in b[r].items() if k == -1 and col != one]
            assert len(plus) == len(minus) == 1
            assert b[r].get(one, 0) == -int(j < y)
            assert cols[y] in (None, plus[0])
            cols[y], cols[j] = plus[0], minus[0]
        logits.append(cols)
    (total,) = label_rows(r1cs, "count total")
    return CountLayout(flags, margin_rows, margin_bits, logits, total)


def broken_rows(r1cs: R1CS, z: np.ndarray) -> list[int]:
    az, bz, cz = r1cs.multiply(z)
    return np.flatnonzero(az * bz != cz).tolist()


def read(z: np.ndarray, cols) -> list[int]:
    """Signed values of z at the given columns."""
    return [signed(v) for v in field.to_ints(z[np.asarray(cols, dtype=np.int64)])]


def write(z: np.ndarray, cols, values) -> None:
    z[np.asarray(cols, dtype=np.int64)] = as_fr(np.array([int(v) for v in values], dtype=object))
