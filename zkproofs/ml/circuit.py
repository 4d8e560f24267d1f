"""The accuracy circuit: an R1CS whose satisfying assignments are exactly "the committed
integer model labels at least c of the N public test samples correctly".

The same compiler runs on both sides. The verifier compiles from public data only (the
architecture stored with the commitment, the test set, the claimed count c); the prover
passes the quantized model as well and gets the witness alongside. Nothing the compiler
emits depends on a witness value: range-check widths come from the intervals of
``evaluate.intervals`` (declared widths and the actual public inputs).

Variables: the committed vector (weights and biases in the architecture's layout order) is
the builder's weight segment, so weight w of slot s is variable ``s.offset + i``; the
circuit refers to weights only through those indices. Every other value is auxiliary.

Gadgets (docs/protocol.md §12):

- range check of v into [0, 2^k): k boolean bits b_t (b_t·(b_t − 1) = 0) and the linear
  constraint v = Σ 2^t·b_t; a signed value uses the offset v + 2^(k−1);
- weight / bias of width b: w + 2^(b−1) ∈ [0, 2^b);
- Dense / Conv2d on the public input: the accumulator Σ x·w + b is a linear form in the
  weights with public coefficients (no multiplication constraint); on private activations
  one product constraint t = w·a per term;
- requantization acc = q·2^s + rem, rem ∈ [0, 2^s), q ∈ [−2^(k−1), 2^(k−1)) (both
  range-checked, so the field equation is an integer equation: floor semantics);
- ReLU y = σ·q with σ the top bit of q + 2^(k−1) (σ = 1 ⟺ q ≥ 0);
- AvgPool: sum = q·K + rem with rem ∈ [0, K) (for K not a power of two, K − 1 − rem is
  range-checked too) and q range-checked;
- MaxPool: a one-hot selector s, m = Σ s_j·x_j, and m − x_j − Σ_{i>j} s_i ∈ [0, 2^k) for
  every j (m is at least every input, strictly above those before the selected one, so the
  selector is the first maximum and the whole witness is unique);
- count: b_i boolean; for each class j ≠ y_i, b_i·(ℓ_{y_i} − ℓ_j − [j < y_i]) ∈ [0, 2^k);
  Σ b_i = c. With b_i = 1 this says the lowest-index argmax of the logits is y_i.

Flatten and Reshape are relabelings: the next layer reads the same variables (or public
values) under new indices, C order; they add no variable and no constraint.

Every interval is checked to stay below 2^60, so no coefficient or value leaves int64 and
every field equation between range-checked quantities is an equation over the integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import InvalidInputError
from ..r1cs import ONE, R1CS, Assignment, R1CSBuilder, SparseBlock
from . import evaluate
from .architecture import (
    Architecture,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    QuantizedModel,
    Reshape,
)

COMPILER_BOUND = 1 << 60
_PAD = -(1 << 62)  # marks zero padding in arrays of variable indices


class CircuitError(InvalidInputError):
    """An architecture, test set or claim the accuracy circuit cannot express."""


@dataclass(frozen=True)
class AccuracyCircuit:
    r1cs: R1CS
    assignment: Assignment | None  # prover only
    num_samples: int
    claimed: int
    correct: int | None  # prover only: how many the model actually gets right


@dataclass
class _Public:
    """A tensor of public values (the input, and anything computed from it alone)."""

    val: np.ndarray  # int64 (N, *shape)


@dataclass
class _Vars:
    """A tensor of variables, one per value, with its public interval."""

    idx: np.ndarray  # int64 (N, *shape)
    val: np.ndarray | None  # int64 (N, *shape), prover only
    lo: np.ndarray
    hi: np.ndarray


@dataclass
class _Form:
    """One affine form per output wire: Σ coeff·z[var] over (row, var, coeff) triples."""

    n: int
    rows: np.ndarray
    vars: np.ndarray
    coeffs: np.ndarray

    def block(self) -> SparseBlock:
        return SparseBlock(self.rows, self.vars, self.coeffs)


def _bit_width(bound: int) -> int:
    """Bits needed for every value in [0, bound]."""
    return max(int(bound), 0).bit_length()


def _signed_width(lo: int, hi: int) -> int:
    """k with [lo, hi] ⊆ [−2^(k−1), 2^(k−1))."""
    m = max(-lo, hi + 1, 1)
    return (m - 1).bit_length() + 1


def _check_bound(name: str, *arrays) -> None:
    for a in arrays:
        if a.size and int(np.abs(a).max()) >= COMPILER_BOUND:
            raise CircuitError(f"{name}: an interval reaches 2^60; the circuit refuses it")


class _Compiler:
    def __init__(self, arch: Architecture, x, y, claimed: int, model: QuantizedModel | None):
        self.arch = arch
        self.x = evaluate.check_inputs(arch, x)
        self.n = self.x.shape[0]
        self.y = evaluate.check_labels(arch, y, self.n)
        if not 0 <= claimed <= self.n:
            raise CircuitError(f"the claimed count {claimed} is not in [0, {self.n}]")
        self.claimed = claimed
        self.model = model
        self.prover = model is not None
        self.intervals = evaluate.intervals(arch, self.x)
        self.trace = evaluate.trace(model, self.x) if self.prover else None
        self.b = R1CSBuilder(weight_count=arch.weight_count)
        if self.prover:
            if model.architecture != arch:
                raise CircuitError("the model's architecture is not the committed one")
            self.b.set_weight_values(model.flat_weights())

    # ------------------------------------------------------------ primitives

    def alloc(self, values, shape, label):
        count = int(np.prod(shape))
        vals = None
        if self.prover:
            vals = np.ascontiguousarray(values, dtype=np.int64).reshape(-1)
        return self.b.alloc(count, vals, label=label).reshape(shape)

    def booleans(self, idx: np.ndarray, label: str) -> None:
        """b·(b − 1) = 0 for every variable in idx."""
        flat = idx.reshape(-1)
        m = len(flat)
        rows = np.arange(m, dtype=np.int64)
        self.b.constrain_batch(
            m,
            SparseBlock(rows, flat, 1),
            SparseBlock(np.concatenate([rows, rows]),
                        np.concatenate([flat, np.full(m, ONE, dtype=np.int64)]),
                        np.concatenate([np.ones(m, np.int64), -np.ones(m, np.int64)])),
            SparseBlock.empty(),
            label=label,
        )

    def bits(self, values, count: int, k: int, label: str) -> np.ndarray:
        """count × k fresh boolean variables holding the k low bits of each value."""
        vals = None
        if self.prover:
            v = np.asarray(values, dtype=np.int64).reshape(count, 1)
            if (v < 0).any() or (k < 63 and (v >> k).any()):
                raise CircuitError(f"{label}: a witness value is outside its range check")
            vals = (v >> np.arange(k, dtype=np.int64)) & 1
        idx = self.alloc(vals, (count, k), label)
        self.booleans(idx, label + " (bits)")
        return idx

    def zero(self, form: _Form, label: str) -> None:
        """form = 0 for every row: (form)·1 = 0."""
        self.b.constrain_batch(
            form.n, form.block(), SparseBlock.const(form.n), SparseBlock.empty(), label=label
        )

    @staticmethod
    def concat(n: int, *parts) -> _Form:
        rows = np.concatenate([np.asarray(p[0], np.int64).reshape(-1) for p in parts])
        vs = np.concatenate([np.asarray(p[1], np.int64).reshape(-1) for p in parts])
        cs = np.concatenate(
            [np.broadcast_to(np.asarray(p[2], np.int64), np.shape(p[0])).reshape(-1)
             for p in parts]
        )
        return _Form(n, rows, vs, cs)

    @staticmethod
    def bit_terms(bit_idx: np.ndarray, scale: int = 1, shift: int = 0):
        """(rows, vars, coeffs) of Σ_t scale·2^(t+shift)·b_t per row of a (n, k) array."""
        n, k = bit_idx.shape
        rows = np.repeat(np.arange(n, dtype=np.int64), k)
        coeffs = np.tile(scale * (np.int64(1) << np.arange(shift, shift + k, dtype=np.int64)), n)
        return rows, bit_idx.reshape(-1), coeffs

    @staticmethod
    def const_terms(n: int, value):
        return (np.arange(n, dtype=np.int64), np.full(n, ONE, np.int64),
                np.broadcast_to(np.asarray(value, np.int64), (n,)))

    def materialize(self, form: _Form, values, shape, lo, hi, label: str) -> _Vars:
        """A fresh variable per wire, equal to the form."""
        idx = self.alloc(values, shape, label)
        self.zero(self.concat(form.n, (form.rows, form.vars, form.coeffs),
                              (np.arange(form.n), idx.reshape(-1), -1)), label)
        return _Vars(idx, None if values is None else np.asarray(values).reshape(shape),
                     np.broadcast_to(lo, shape), np.broadcast_to(hi, shape))

    # ------------------------------------------------------------ weights

    def weight_range_checks(self) -> None:
        for slot in self.arch.layout:
            size = slot.size
            vars_ = slot.offset + np.arange(size, dtype=np.int64)
            offset = 1 << (slot.bits - 1)
            vals = None
            if self.prover:
                vals = self.model.flat_weights()[slot.offset : slot.stop] + offset
            label = f"{slot.name} range"
            bits = self.bits(vals, size, slot.bits, label)
            self.zero(self.concat(size, (np.arange(size), vars_, 1),
                                  self.const_terms(size, offset),
                                  self.bit_terms(bits, -1)), label)

    # ------------------------------------------------------------ layers

    def linear_form(self, index: int, layer, act) -> tuple[_Form, tuple[int, ...]]:
        """The accumulator W·a + b of a Dense or Conv2d layer as one form per output."""
        w_slot = self.arch.slot(f"layers.{index}.weight")
        b_slot = self.arch.slot(f"layers.{index}.bias")
        if isinstance(layer, Dense):
            o, fan_in = layer.out_features, layer.in_features
            src = act.val if isinstance(act, _Public) else act.idx  # (N, in)
            out_shape = (self.n, o)
            # patches[n, p, j]: input j of output position p (one position for Dense)
            patches = src.reshape(self.n, 1, fan_in)
        else:
            o, k = layer.out_channels, layer.kernel
            src = act.val if isinstance(act, _Public) else act.idx  # (N, C, H, W)
            pad_value = 0 if isinstance(act, _Public) else _PAD
            p = layer.padding
            padded = np.pad(src, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=pad_value)
            win = sliding_window_view(padded, (k, k), axis=(2, 3))[
                :, :, :: layer.stride, :: layer.stride
            ]  # (N, C, H', W', k, k)
            _, c, h, w = win.shape[:4]
            patches = win.transpose(0, 2, 3, 1, 4, 5).reshape(self.n, h * w, c * k * k)
            fan_in = c * k * k
            out_shape = (self.n, o, h, w)
        positions = patches.shape[1]
        # Output wire (n, o, position) is row n·(o·P) + o·P + position (C order of out_shape).
        o_ar = np.arange(o, dtype=np.int64)
        bias_rows = (
            np.arange(self.n, dtype=np.int64)[:, None, None] * (o * positions)
            + o_ar[None, :, None] * positions
            + np.arange(positions, dtype=np.int64)[None, None, :]
        )
        n_rows = self.n * o * positions
        bias_terms = (bias_rows.reshape(-1),
                      np.broadcast_to(b_slot.offset + o_ar[None, :, None], bias_rows.shape)
                      .reshape(-1), 1)
        if isinstance(act, _Public):
            # Public input: acc = Σ x·w, linear in the weights; zero inputs add nothing.
            n_i, p_i, j_i = np.nonzero(patches)
            xv = patches[n_i, p_i, j_i]
            rows = (n_i[:, None] * (o * positions) + o_ar[None, :] * positions + p_i[:, None])
            vars_ = w_slot.offset + o_ar[None, :] * fan_in + j_i[:, None]
            coeffs = np.broadcast_to(xv[:, None], rows.shape)
            form = self.concat(n_rows, (rows, vars_, coeffs), bias_terms)
            return form, out_shape
        # Private activations: one product t = w·a per (output, input) term.
        n_i, p_i, j_i = np.nonzero(patches != _PAD)
        a_var = patches[n_i, p_i, j_i]
        rows = n_i[:, None] * (o * positions) + o_ar[None, :] * positions + p_i[:, None]
        w_var = np.broadcast_to(w_slot.offset + o_ar[None, :] * fan_in + j_i[:, None], rows.shape)
        a_var = np.broadcast_to(a_var[:, None], rows.shape)
        m = rows.size
        t_vals = None
        if self.prover:
            flat_w = self.model.flat_weights()
            a_val = act.val.reshape(self.n, -1) if isinstance(layer, Dense) else None
            if isinstance(layer, Dense):
                a_vals = a_val[n_i, j_i]
            else:
                val_padded = np.pad(act.val, ((0, 0), (0, 0), (p, p), (p, p)))
                vwin = sliding_window_view(val_padded, (k, k), axis=(2, 3))[
                    :, :, :: layer.stride, :: layer.stride
                ].transpose(0, 2, 3, 1, 4, 5).reshape(self.n, positions, fan_in)
                a_vals = vwin[n_i, p_i, j_i]
            t_vals = flat_w[w_var] * a_vals[:, None]
        t = self.alloc(t_vals, (m,), f"layer {index} products")
        r = np.arange(m, dtype=np.int64)
        self.b.constrain_batch(
            m, SparseBlock(r, w_var.reshape(-1), 1), SparseBlock(r, a_var.reshape(-1), 1),
            SparseBlock(r, t, 1), label=f"layer {index} products",
        )
        form = self.concat(n_rows, (rows.reshape(-1), t, 1), bias_terms)
        return form, out_shape

    def requantize(self, index: int, layer, form: _Form, out_shape, trace) -> _Vars:
        """q = floor(acc / 2^s) with both rem and q range-checked, then ReLU if declared."""
        li = self.intervals.layers[index]
        q_lo, q_hi = li.quotient.lo, li.quotient.hi
        _check_bound(f"layer {index}", li.acc.lo, li.acc.hi)
        s = layer.shift
        n = form.n
        label = f"layer {index}"
        acc_vals = trace.acc.reshape(-1) if trace is not None else None
        q_vals = trace.quotient.reshape(-1) if trace is not None else None
        if s == 0 and not layer.relu:
            # The accumulator is bounded by construction (range-checked weights, public
            # inputs): a fresh variable equal to it is all the next layer needs.
            return self.materialize(form, acc_vals, out_shape, q_lo, q_hi, f"{label} output")
        k = _signed_width(int(q_lo.min()), int(q_hi.max()))
        if s + k >= 62:
            raise CircuitError(f"{label}: requantization needs {s}+{k} bits; too wide")
        half = 1 << (k - 1)
        parts = [(form.rows, form.vars, form.coeffs)]
        if s:
            rem_bits = self.bits(None if acc_vals is None else acc_vals - (q_vals << s),
                                 n, s, f"{label} remainder")
            parts.append(self.bit_terms(rem_bits, -1))
        q_bits = self.bits(None if q_vals is None else q_vals + half, n, k, f"{label} quotient")
        # acc − 2^s·(Σ 2^t·qb_t − 2^(k−1)) − rem = 0
        parts.append(self.bit_terms(q_bits, -1, shift=s))
        parts.append(self.const_terms(n, half << s))
        self.zero(self.concat(n, *parts), f"{label} requantization")
        q_rows, q_vars, q_coeffs = self.bit_terms(q_bits)
        q_form = self.concat(n, (q_rows, q_vars, q_coeffs), self.const_terms(n, -half))
        if not layer.relu:
            return self.materialize(q_form, q_vals, out_shape, q_lo, q_hi, f"{label} output")
        out_vals = trace.out.reshape(-1) if trace is not None else None
        y = self.alloc(out_vals, out_shape, f"{label} relu")
        r = np.arange(n, dtype=np.int64)
        self.b.constrain_batch(
            n, SparseBlock(r, q_bits[:, k - 1], 1), q_form.block(),
            SparseBlock(r, y.reshape(-1), 1), label=f"{label} relu",
        )
        return _Vars(y, None if out_vals is None else out_vals.reshape(out_shape),
                     np.broadcast_to(li.out.lo, out_shape), np.broadcast_to(li.out.hi, out_shape))

    def windows(self, a: np.ndarray, kernel: int, stride: int) -> np.ndarray:
        """(N, C, H', W', k·k) windows of a (N, C, H, W) array (no padding, floor mode)."""
        win = sliding_window_view(a, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]
        return win.reshape(*win.shape[:4], kernel * kernel)

    def avgpool(self, index: int, layer: AvgPool2d, act: _Vars, trace) -> _Vars:
        li = self.intervals.layers[index]
        area = layer.kernel * layer.kernel
        win = self.windows(act.idx, layer.kernel, layer.stride)
        out_shape = win.shape[:4]
        n = int(np.prod(out_shape))
        label = f"layer {index} avgpool"
        rows = np.repeat(np.arange(n, dtype=np.int64), area)
        sum_terms = (rows, win.reshape(-1), 1)
        q_lo, q_hi = li.quotient.lo, li.quotient.hi
        _check_bound(label, li.acc.lo, li.acc.hi)
        k = _signed_width(int(q_lo.min()), int(q_hi.max()))
        half = 1 << (k - 1)
        acc_vals = trace.acc.reshape(-1) if trace is not None else None
        q_vals = trace.quotient.reshape(-1) if trace is not None else None
        rem_vals = None if acc_vals is None else acc_vals - q_vals * area
        rw = _bit_width(area - 1)
        rem_bits = self.bits(rem_vals, n, rw, f"{label} remainder")
        if area & (area - 1):
            # rem < area is not implied by rw bits: range-check area − 1 − rem as well.
            comp = self.bits(None if rem_vals is None else area - 1 - rem_vals, n, rw,
                             f"{label} remainder bound")
            self.zero(self.concat(n, self.bit_terms(rem_bits), self.bit_terms(comp),
                                  self.const_terms(n, -(area - 1))), f"{label} remainder bound")
        q_bits = self.bits(None if q_vals is None else q_vals + half, n, k, f"{label} quotient")
        self.zero(self.concat(n, sum_terms, self.bit_terms(rem_bits, -1),
                              self.bit_terms(q_bits, -area), self.const_terms(n, half * area)),
                  f"{label} division")
        q_form = self.concat(n, self.bit_terms(q_bits), self.const_terms(n, -half))
        return self.materialize(q_form, q_vals, out_shape, li.out.lo, li.out.hi,
                                f"{label} output")

    def maxpool(self, index: int, layer: MaxPool2d, act: _Vars, trace) -> _Vars:
        li = self.intervals.layers[index]
        kk = layer.kernel * layer.kernel
        win = self.windows(act.idx, layer.kernel, layer.stride)
        out_shape = win.shape[:4]
        n = int(np.prod(out_shape))
        label = f"layer {index} maxpool"
        lo_w = self.windows(np.broadcast_to(act.lo, act.idx.shape), layer.kernel, layer.stride)
        hi_w = self.windows(np.broadcast_to(act.hi, act.idx.shape), layer.kernel, layer.stride)
        _check_bound(label, lo_w, hi_w)
        # m − x_j ≤ max_j hi − lo_j: the width of the "m is at least every input" checks.
        diff_bound = int((hi_w.max(axis=-1, keepdims=True) - lo_w).max())
        kd = _bit_width(diff_bound)
        val_w = sel = m_vals = None
        if trace is not None:
            val_w = self.windows(act.val, layer.kernel, layer.stride).reshape(n, kk)
            first = np.argmax(val_w, axis=1)
            sel = np.zeros((n, kk), dtype=np.int64)
            sel[np.arange(n), first] = 1
            m_vals = trace.out.reshape(-1)
        s_idx = self.alloc(sel, (n, kk), f"{label} selector")
        self.booleans(s_idx, f"{label} selector")
        rows = np.repeat(np.arange(n, dtype=np.int64), kk)
        self.zero(self.concat(n, (rows, s_idx.reshape(-1), 1), self.const_terms(n, -1)),
                  f"{label} one-hot")
        x_flat = win.reshape(n * kk)
        p_vals = None if sel is None else (sel * val_w).reshape(-1)
        prods = self.alloc(p_vals, (n * kk,), f"{label} select")
        r = np.arange(n * kk, dtype=np.int64)
        self.b.constrain_batch(n * kk, SparseBlock(r, s_idx.reshape(-1), 1),
                               SparseBlock(r, x_flat, 1), SparseBlock(r, prods, 1),
                               label=f"{label} select")
        out = self.materialize(_Form(n, rows, prods, np.ones(n * kk, np.int64)), m_vals,
                               out_shape, li.out.lo, li.out.hi, f"{label} output")
        # later[w, j] = Σ_{i>j} s_i = [the selected position comes after j]: inputs before
        # the selected one must be strictly smaller, which pins the selector to the first
        # maximum.
        ii, jj = np.triu_indices(kk, k=1)
        later_rows = (np.arange(n, dtype=np.int64)[:, None] * kk + ii[None, :]).reshape(-1)
        later_vars = s_idx[:, jj].reshape(-1)
        d_vals = None
        if m_vals is not None:
            later = (first[:, None] > np.arange(kk)[None, :]).astype(np.int64)
            d_vals = (m_vals[:, None] - val_w - later).reshape(-1)
        d_bits = self.bits(d_vals, n * kk, kd, f"{label} dominance")
        m_rep = np.repeat(out.idx.reshape(-1), kk)
        self.zero(self.concat(n * kk, (r, m_rep, 1), (r, x_flat, -1),
                              (later_rows, later_vars, -1), self.bit_terms(d_bits, -1)),
                  f"{label} dominance")
        return out

    # ------------------------------------------------------------ the count

    def count(self, logits: _Vars) -> int | None:
        n, k = self.n, self.arch.num_classes
        y = self.y
        label = "count"
        # pairs (i, j) with j ≠ y_i
        i_idx = np.repeat(np.arange(n, dtype=np.int64), k - 1)
        js = np.tile(np.arange(k - 1, dtype=np.int64), n)
        js = js + (js >= y[i_idx])  # skip j = y_i
        tie = (js < y[i_idx]).astype(np.int64)  # the lower index wins a tie
        lo = np.broadcast_to(logits.lo, (n, k))
        hi = np.broadcast_to(logits.hi, (n, k))
        _check_bound(label, lo, hi)
        d_max = int((hi[i_idx, y[i_idx]] - lo[i_idx, js] - tie).max())
        width = _bit_width(d_max)
        correct = b_vals = e_vals = None
        if self.prover:
            lv = logits.val.reshape(n, k)
            right = np.argmax(lv, axis=1) == y
            correct = int(right.sum())
            if self.claimed > correct:
                raise CircuitError(
                    f"the model labels {correct} samples correctly, fewer than the claimed "
                    f"{self.claimed}"
                )
            # b_i = 1 for the first `claimed` correct samples (the claim is "at least c").
            b_vals = (right & (np.cumsum(right) <= self.claimed)).astype(np.int64)
            d = lv[i_idx, y[i_idx]] - lv[i_idx, js] - tie
            e_vals = b_vals[i_idx] * d
        b = self.alloc(b_vals, (n,), "count flags")
        self.booleans(b, "count flags")
        m = len(i_idx)
        e_bits = self.bits(e_vals, m, width, "count margins")
        r = np.arange(m, dtype=np.int64)
        lab = logits.idx.reshape(n, k)
        diff = self.concat(m, (r, lab[i_idx, y[i_idx]], 1), (r, lab[i_idx, js], -1),
                           (r, np.full(m, ONE, np.int64), -tie))
        e_rows, e_vars, e_coeffs = self.bit_terms(e_bits)
        self.b.constrain_batch(m, SparseBlock(r, b[i_idx], 1), diff.block(),
                               SparseBlock(e_rows, e_vars, e_coeffs), label="count margins")
        self.zero(self.concat(1, (np.zeros(n, np.int64), b, 1),
                              self.const_terms(1, -self.claimed)), "count total")
        return correct

    # ------------------------------------------------------------ driver

    def run(self) -> AccuracyCircuit:
        self.weight_range_checks()
        act: _Public | _Vars = _Public(self.x)
        for index, layer in enumerate(self.arch.layers):
            tr = self.trace[index] if self.prover else None
            if isinstance(layer, (Dense, Conv2d)):
                form, out_shape = self.linear_form(index, layer, act)
                act = self.requantize(index, layer, form, out_shape, tr)
            elif isinstance(layer, (Flatten, Reshape)):
                # A relabeling of the same wires: no variable, no constraint.
                shape = (self.n, *self.arch.shapes[index])
                if isinstance(act, _Public):
                    act = _Public(act.val.reshape(shape))
                else:
                    full = act.idx.shape
                    act = _Vars(act.idx.reshape(shape),
                                None if act.val is None else act.val.reshape(shape),
                                np.broadcast_to(act.lo, full).reshape(shape),
                                np.broadcast_to(act.hi, full).reshape(shape))
            elif isinstance(act, _Public):
                # Pooling public data gives public data: nothing to prove.
                op = "max" if isinstance(layer, MaxPool2d) else "sum"
                pooled = evaluate.pool_forward(act.val, layer.kernel, layer.stride, op)
                if op == "sum":
                    pooled = pooled // (layer.kernel * layer.kernel)
                act = _Public(pooled)
            elif isinstance(layer, AvgPool2d):
                act = self.avgpool(index, layer, act, tr)
            elif isinstance(layer, MaxPool2d):
                act = self.maxpool(index, layer, act, tr)
            else:  # pragma: no cover - Architecture admits nothing else
                raise CircuitError(f"unsupported layer {layer!r}")
        if isinstance(act, _Public):
            raise CircuitError("the model has no parametric layer: nothing to prove")
        correct = self.count(act)
        r1cs = self.b.build()
        return AccuracyCircuit(
            r1cs, self.b.assignment() if self.prover else None, self.n, self.claimed, correct
        )


def compile_accuracy_circuit(
    arch: Architecture, x, y, claimed: int, model: QuantizedModel | None = None
) -> AccuracyCircuit:
    """Compile the circuit for (architecture, test set, claimed count).

    Verifier: ``model=None``. Prover: pass the quantized model to get the witness too; its
    weights must be the ones committed (the proof fails otherwise)."""
    return _Compiler(arch, x, y, claimed, model).run()
