"""The reference evaluator: THE definition of zkarena's integer model semantics.

Everything is numpy int64 and exact; the accuracy proof (zkproofs.layered) must agree with
this module bit for bit. For an input batch ``x`` of integers (shape
``(N, *input_shape)``, every value within the architecture's declared input range), layer
by layer:

- Dense / Conv2d: ``acc = W·x + b`` (Conv2d: zero padding, cross-correlation as in ONNX and
  PyTorch), ``q = floor(acc / 2^shift)`` — floor, not truncation: ``floor(-3 / 2) = -2`` —
  then ``out = max(q, 0)`` if the layer has ReLU, else ``out = q``.
- AvgPool2d: ``acc = window sum``, ``out = q = floor(acc / kernel²)`` (kernel² need not be a
  power of two; the proof shows ``acc = q·kernel² + r`` with ``0 ≤ r < kernel²``).
- MaxPool2d: ``out = window maximum``.
- Flatten: ``out = reshape(N, -1)`` in C order.
- Reshape (first layer only): ``out = reshape(N, C, H, W)`` in C order; no arithmetic.

The prediction is the index of the largest logit with the LOWEST index winning ties
(``np.argmax`` does exactly this).

No wrap-around, ever. Before evaluating anything, :func:`intervals` computes a conservative
integer interval for every intermediate value from public data only — the declared bit-widths
and the actual public inputs, never weight values — and refuses any architecture/input pair
whose intervals leave ±2^62. The check uses the magnitude bound Σ|w|max·|x| + |b|max, which
bounds every partial sum of the accumulation in any order, so int64 never wraps here and the
proof's ±2^64 bound holds with room to spare. The proof's schedule takes its range-check
widths from these intervals.

Intervals are per sample and per element: for a layer whose weights lie in ``[wa, wb]`` and
whose inputs lie in ``[l_i, h_i]``, the accumulator of each output lies in
``[Σ_i min(wa·l_i, wa·h_i, wb·l_i, wb·h_i) + bmin, Σ_i max(...) + bmax]``. Every output channel
of a layer shares the interval of its position (the weights are unknown), so the arrays are
stored with a broadcast channel axis; :class:`Interval` exposes them at full shape as
read-only broadcast views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import InvalidInputError
from .architecture import (
    Architecture,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    Layer,
    MaxPool2d,
    QuantizedModel,
    Reshape,
    signed_range,
)

INTERVAL_BOUND = 1 << 62
# Floating-point pre-check threshold. Every bound is a float sum of fewer than 2^30
# non-negative terms (at most 2^16 channels × 64² kernel positions, or 2^22 Dense inputs), so
# its relative error is below 2^30·2^-53 = 2^-23: a float bound under this threshold implies
# an exact bound below 2^62, and only then is anything computed in int64.
_FLOAT_LIMIT = float(INTERVAL_BOUND) * (1.0 - 2.0**-20)


class InputError(InvalidInputError):
    """Inputs or labels that do not match the architecture (shape, dtype, declared range)."""


class IntervalOverflowError(InvalidInputError):
    """An architecture/input pair whose integer intervals could leave ±2^62."""


# --------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Interval:
    """Inclusive integer bounds ``lo ≤ v ≤ hi`` per sample and element (int64 arrays)."""

    lo: np.ndarray
    hi: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.lo.shape

    def max_abs(self) -> int:
        return max(abs(int(self.lo.min())), abs(int(self.hi.max())))

    def contains(self, values: np.ndarray) -> bool:
        values = np.asarray(values)
        return bool(np.all(self.lo <= values) and np.all(values <= self.hi))


@dataclass(frozen=True)
class LayerIntervals:
    """Intervals of one layer's wires (``acc``/``quotient`` are None where not applicable).

    Dense/Conv2d: ``acc`` = W·x + b, ``quotient`` = floor(acc / 2^shift), ``out`` = after
    ReLU. AvgPool2d: ``acc`` = window sum, ``quotient`` = ``out`` = floor(acc / kernel²).
    MaxPool2d, Flatten and Reshape: only ``out``.
    """

    index: int
    layer: Layer
    acc: Interval | None
    quotient: Interval | None
    out: Interval


@dataclass(frozen=True)
class Intervals:
    input: Interval
    layers: tuple[LayerIntervals, ...]

    @property
    def logits(self) -> Interval:
        return self.layers[-1].out

    def max_abs(self) -> int:
        bounds = [self.input.max_abs()]
        for li in self.layers:
            bounds.extend(iv.max_abs() for iv in (li.acc, li.quotient, li.out) if iv is not None)
        return max(bounds)


def _full(lo: np.ndarray, hi: np.ndarray, shape: tuple[int, ...]) -> Interval:
    return Interval(np.broadcast_to(lo, shape), np.broadcast_to(hi, shape))


def _check_float_bound(bound: np.ndarray | float, index: int, layer: Layer, what: str) -> None:
    worst = float(np.max(bound))
    if not worst <= _FLOAT_LIMIT:  # also catches NaN
        raise IntervalOverflowError(
            f"layer {index} ({layer.KIND}): the {what} can reach about 2^{np.log2(worst):.1f}, "
            f"beyond the ±2^62 bound; use narrower weights/biases, larger shifts or a "
            f"smaller input range"
        )


def _check_exact(iv: Interval, index: int, layer: Layer) -> None:
    if iv.max_abs() > INTERVAL_BOUND:
        raise IntervalOverflowError(f"layer {index} ({layer.KIND}): an interval leaves ±2^62")


def _corner_terms(
    lo: np.ndarray, hi: np.ndarray, wa: int, wb: int
) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise range of w·x for w ∈ [wa, wb] and x ∈ [lo, hi] (the four corners)."""
    corners = (lo * wa, lo * wb, hi * wa, hi * wb)
    return np.minimum.reduce(corners), np.maximum.reduce(corners)


def _window_reduce(a: np.ndarray, kernel: int, stride: int, op: str) -> np.ndarray:
    """Reduce (sum or max) the kernel×kernel windows of the last two axes with a stride."""
    windows = sliding_window_view(a, (kernel, kernel), axis=(-2, -1))
    windows = windows[..., ::stride, ::stride, :, :]
    if op == "sum":
        return windows.sum(axis=(-2, -1))
    return windows.max(axis=(-2, -1))


def _pad_spatial(a: np.ndarray, padding: int) -> np.ndarray:
    if padding == 0:
        return a
    pad = [(0, 0)] * (a.ndim - 2) + [(padding, padding), (padding, padding)]
    return np.pad(a, pad)


def linear_magnitude(
    layer: Dense | Conv2d, lo: np.ndarray, hi: np.ndarray, in_shape: tuple[int, ...]
) -> np.ndarray:
    """Float bound on Σ|w|·|x| per output position (channel axis 1), for any weights of the
    layer's declared width and inputs within [lo, hi]; it bounds every partial sum of W·x."""
    batch = max(lo.shape[0], hi.shape[0])
    lo = np.broadcast_to(lo, (batch, *in_shape)).astype(np.float64)
    hi = np.broadcast_to(hi, (batch, *in_shape)).astype(np.float64)
    mag = np.maximum(np.abs(lo), np.abs(hi)) * float(1 << (layer.weight_bits - 1))
    if isinstance(layer, Dense):
        return mag.sum(axis=1, keepdims=True)
    total = _window_reduce(
        _pad_spatial(mag.sum(axis=1), layer.padding), layer.kernel, layer.stride, "sum"
    )
    return total[:, None]


def _linear_intervals(
    index: int, layer: Dense | Conv2d, lo: np.ndarray, hi: np.ndarray, in_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Accumulator interval (compact: channel axis of size 1) of a Dense or Conv2d layer."""
    ba, bb = signed_range(layer.bias_bits)
    bound = linear_magnitude(layer, lo, hi, in_shape) + float(-ba)
    _check_float_bound(bound, index, layer, "accumulator W·x + b")
    # With the float bound below 2^62 every corner product and partial sum fits in int64.
    batch = max(lo.shape[0], hi.shape[0])
    lo = np.broadcast_to(lo, (batch, *in_shape))
    hi = np.broadcast_to(hi, (batch, *in_shape))
    t_lo, t_hi = _corner_terms(lo, hi, *signed_range(layer.weight_bits))
    if isinstance(layer, Dense):
        return t_lo.sum(axis=1, keepdims=True) + ba, t_hi.sum(axis=1, keepdims=True) + bb
    # Conv2d: sum the per-element terms over channels, then over each (zero-padded) window;
    # padding positions hold the constant 0, whose product with any weight is 0.
    k, s, p = layer.kernel, layer.stride, layer.padding
    acc_lo = _window_reduce(_pad_spatial(t_lo.sum(axis=1), p), k, s, "sum") + ba
    acc_hi = _window_reduce(_pad_spatial(t_hi.sum(axis=1), p), k, s, "sum") + bb
    return acc_lo[:, None], acc_hi[:, None]


def interval_step(
    index: int, layer: Layer, lo: np.ndarray, hi: np.ndarray, in_shape: tuple[int, ...]
) -> tuple[LayerIntervals, np.ndarray, np.ndarray]:
    """Propagate compact bounds (batch, *in_shape-broadcastable) through one layer.

    Returns the layer's intervals at full shape and the compact output bounds.
    """
    batch = max(lo.shape[0], hi.shape[0])
    out_shape = (batch, *layer.output_shape(in_shape))
    acc = quotient = None
    if isinstance(layer, (Dense, Conv2d)):
        acc_lo, acc_hi = _linear_intervals(index, layer, lo, hi, in_shape)
        acc = _full(acc_lo, acc_hi, out_shape)
        _check_exact(acc, index, layer)
        q_lo, q_hi = acc_lo >> layer.shift, acc_hi >> layer.shift  # >> floors on int64
        quotient = _full(q_lo, q_hi, out_shape)
        if layer.relu:
            lo, hi = np.maximum(q_lo, 0), np.maximum(q_hi, 0)
        else:
            lo, hi = q_lo, q_hi
    elif isinstance(layer, AvgPool2d):
        mag = np.maximum(np.abs(lo.astype(np.float64)), np.abs(hi.astype(np.float64)))
        mag_sum = _window_reduce(mag, layer.kernel, layer.stride, "sum")
        _check_float_bound(mag_sum, index, layer, "window sum")
        acc_lo = _window_reduce(lo, layer.kernel, layer.stride, "sum")
        acc_hi = _window_reduce(hi, layer.kernel, layer.stride, "sum")
        acc = _full(acc_lo, acc_hi, out_shape)
        _check_exact(acc, index, layer)
        area = layer.kernel * layer.kernel
        lo, hi = acc_lo // area, acc_hi // area
        quotient = _full(lo, hi, out_shape)
    elif isinstance(layer, MaxPool2d):
        # max is monotone in every argument, so window maxima of the bounds bound the max.
        lo = _window_reduce(lo, layer.kernel, layer.stride, "max")
        hi = _window_reduce(hi, layer.kernel, layer.stride, "max")
    elif isinstance(layer, (Flatten, Reshape)):
        lo = np.broadcast_to(lo, (batch, *in_shape)).reshape(out_shape)
        hi = np.broadcast_to(hi, (batch, *in_shape)).reshape(out_shape)
    else:  # pragma: no cover - Architecture admits only the types above
        raise TypeError(f"unknown layer {layer!r}")
    result = _full(lo, hi, out_shape)
    _check_exact(result, index, layer)
    return LayerIntervals(index, layer, acc, quotient, result), lo, hi


def intervals(arch: Architecture, x: Any = None) -> Intervals:
    """Conservative intervals of every wire, from public data only.

    With ``x`` (the actual public inputs, shape ``(N, *input_shape)``) the bounds are per
    sample; with ``x=None`` they hold for every input in the declared input range (shape
    ``(1, ...)``), which is what an architecture must satisfy to be usable on any test set.
    Raises :class:`IntervalOverflowError` if any interval could leave ±2^62.
    """
    if x is None:
        lo = np.full((1, *arch.input_shape), arch.input_min, dtype=np.int64)
        hi = np.full((1, *arch.input_shape), arch.input_max, dtype=np.int64)
    else:
        lo = hi = check_inputs(arch, x)
    result_input = Interval(lo, hi)
    out: list[LayerIntervals] = []
    for index, layer in enumerate(arch.layers):
        step, lo, hi = interval_step(index, layer, lo, hi, arch.input_shape_of(index))
        out.append(step)
    return Intervals(result_input, tuple(out))


# --------------------------------------------------------------------------- evaluation


def check_inputs(arch: Architecture, x: Any) -> np.ndarray:
    """Validate a batch of integer inputs against the architecture; return it as int64."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise InputError(f"inputs must be integers, got dtype {arr.dtype}")
    if arr.ndim != 1 + len(arch.input_shape) or arr.shape[1:] != arch.input_shape:
        raise InputError(
            f"inputs must have shape (N, {', '.join(map(str, arch.input_shape))}), got {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise InputError("no inputs")
    # Compare before casting so an out-of-range uint64 cannot wrap into range.
    if int(arr.min()) < arch.input_min or int(arr.max()) > arch.input_max:
        raise InputError(
            f"inputs must lie in the declared range [{arch.input_min}, {arch.input_max}], "
            f"found [{int(arr.min())}, {int(arr.max())}]"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_labels(arch: Architecture, y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.dtype.kind not in "iu":
        raise InputError(f"labels must be integers, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise InputError(f"labels must have shape ({n},), got {arr.shape}")
    if int(arr.min()) < 0 or int(arr.max()) >= arch.num_classes:
        raise InputError(f"labels must lie in 0..{arch.num_classes - 1}")
    return arr.astype(np.int64)


def _int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for int64 arrays: through float64 BLAS when every partial sum provably stays
    below 2^53 (then the float result is exact and rounds back to the same integers),
    else numpy's exact int64 product (much slower: no BLAS for integers)."""
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu" or a.size == 0 or b.size == 0:
        return a @ b
    bound = max(abs(int(a.min())), abs(int(a.max()))) * max(abs(int(b.min())),
                                                             abs(int(b.max()))) * a.shape[-1]
    if bound >= 1 << 53:
        return a @ b
    return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


def dense_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``x @ W.T + b`` for x of shape (N, in); works for int64 and float arrays."""
    return _int_matmul(x, weight.T) + bias


def conv2d_forward(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int, padding: int
) -> np.ndarray:
    """Cross-correlation with zero padding, x (N, C, H, W), weight (O, C, k, k)."""
    k = weight.shape[-1]
    windows = sliding_window_view(_pad_spatial(x, padding), (k, k), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # (N, C, H', W', k, k)
    n, c, h, w = windows.shape[:4]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, h, w, c * k * k)
    out = _int_matmul(cols, weight.reshape(weight.shape[0], -1).T)  # (N, H', W', O)
    return out.transpose(0, 3, 1, 2) + bias[:, None, None]


def pool_forward(x: np.ndarray, kernel: int, stride: int, op: str) -> np.ndarray:
    """Window sum or max over (N, C, H, W); no padding, floor mode."""
    return _window_reduce(x, kernel, stride, op)


@dataclass(frozen=True)
class LayerTrace:
    """The values of one layer's wires (same meaning as :class:`LayerIntervals`)."""

    index: int
    layer: Layer
    acc: np.ndarray | None
    quotient: np.ndarray | None
    out: np.ndarray


def apply_layer(
    index: int, layer: Layer, x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None
) -> LayerTrace:
    """One layer of the integer semantics on an int64 batch (no overflow checks here)."""
    acc = quotient = None
    if isinstance(layer, (Dense, Conv2d)):
        if isinstance(layer, Dense):
            acc = dense_forward(x, weight, bias)
        else:
            acc = conv2d_forward(x, weight, bias, layer.stride, layer.padding)
        quotient = acc >> layer.shift  # arithmetic shift = floor division by 2^shift
        out = np.maximum(quotient, 0) if layer.relu else quotient
    elif isinstance(layer, AvgPool2d):
        acc = pool_forward(x, layer.kernel, layer.stride, "sum")
        quotient = out = acc // (layer.kernel * layer.kernel)  # numpy // floors
    elif isinstance(layer, MaxPool2d):
        out = pool_forward(x, layer.kernel, layer.stride, "max")
    elif isinstance(layer, Flatten):
        out = x.reshape(x.shape[0], -1)
    elif isinstance(layer, Reshape):
        out = x.reshape(x.shape[0], *layer.shape)
    else:  # pragma: no cover
        raise TypeError(f"unknown layer {layer!r}")
    return LayerTrace(index, layer, acc, quotient, out)


def trace(model: QuantizedModel, x: Any) -> list[LayerTrace]:
    """Every wire of the integer model on inputs ``x`` (after the interval check)."""
    arch = model.architecture
    values = check_inputs(arch, x)
    intervals(arch, values)  # refuses before anything could wrap
    result = []
    for index, layer in enumerate(arch.layers):
        if isinstance(layer, (Dense, Conv2d)):
            step = apply_layer(index, layer, values, model.weight(index), model.bias(index))
        else:
            step = apply_layer(index, layer, values, None, None)
        result.append(step)
        values = step.out
    return result


def logits(model: QuantizedModel, x: Any) -> np.ndarray:
    """The (N, K) int64 logits."""
    return trace(model, x)[-1].out


def predict(model: QuantizedModel, x: Any) -> np.ndarray:
    """Predicted labels: argmax of the logits, the lowest index winning ties."""
    return np.argmax(logits(model, x), axis=1).astype(np.int64)


def count_correct(model: QuantizedModel, x: Any, y: Any) -> int:
    """How many of the N samples the integer model labels correctly (the claim c)."""
    x = check_inputs(model.architecture, x)
    labels = check_labels(model.architecture, y, x.shape[0])
    return int(np.count_nonzero(predict(model, x) == labels))
