"""Float models (what the ONNX importer produces) and their quantization to integer models.

Input convention: the competition publishes an integer input range and an ``input_scale``;
the float model sees ``x_int / input_scale`` where the integer model sees ``x_int``. (Digits:
pixels are already integers 0..16, scale 1.)

The method — sound, simple, deterministic (no randomness anywhere):

1. Track a real scale ``S`` with ``activation_int ≈ activation_float · S``; at the input
   ``S = input_scale``.
2. Per Dense/Conv layer, declare the bias width as ``min(bias_bits, bits(B) + 1)`` where
   ``B`` is the worst-case ``Σ|w|·|x|`` over the declared input range: a wider declared bias
   only inflates every interval (and the proof's range checks) without adding precision.
   Then pick the largest power of two ``2^e`` such that
   ``max|W|·2^e ≤ 2^(weight_bits−1) − 1`` and the bias ``round(b·S·2^e)`` fits the
   declared width (``e`` may be negative); ``W_int = round(W·2^e)``, ``b_int = round(b·S·2^e)``.
   The accumulator ``W_int·x + b_int`` then has scale ``S·2^e``.
3. Run the integer layer on the calibration data and choose the smallest shift ``s ≥ 0`` that
   brings the calibration peak (the largest positive accumulator for ReLU layers, the largest
   magnitude otherwise) under ``2^activation_bits``. The logit layer keeps ``s = 0``: its
   accumulators are the logits. When ``s > 0``, ``2^(s−1)`` is added to the bias (if it still
   fits) so that the floor division rounds to nearest instead of always down.
4. ``S ← S·2^e / 2^s``; pooling and flattening keep the scale (AvgPool floors its mean).

The worst-case intervals over the whole declared input range are checked layer by layer
(:func:`zkproofs.ml.evaluate.intervals` with ``x=None`` gives the same bounds), so the model
can be evaluated — and proven — on any test set the competition may reveal.

Calibration inputs outside the declared range are clipped to it (and counted in the report):
the organizer publishes only in-range integers, so that is what the model will see.

The report compares the float model (on ``x / input_scale``) and the quantized model (on
``x``) on the calibration data: accuracy of each when labels are given, and their agreement,
the fraction of samples on which they predict the same label. :func:`quantize_auto` tries
wider weights (then activations) until the agreement reaches :data:`AGREEMENT_TARGET`: 8-bit
per-tensor weights lose features whose weights are much smaller than the largest one (a
logistic regression on raw features of very different magnitudes, or a scaler folded into
the first layer), and wider weights cost little in the proof (one range-check bit per
weight bit, and wider intervals downstream).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .architecture import (
    MAX_INPUT_MAGNITUDE,
    MAX_LAYERS,
    Architecture,
    ArchitectureError,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    ModelLimitError,
    QuantizedModel,
    Reshape,
    signed_range,
)
from .evaluate import (
    IntervalOverflowError,
    apply_layer,
    conv2d_forward,
    dense_forward,
    interval_step,
    intervals,
    linear_magnitude,
    logits,
    pool_forward,
    predict,
)


class QuantizationError(InvalidInputError):
    """A float model or calibration set that cannot be quantized as asked."""


# The calibration agreement below which a commit warns and asks (see quantize_auto).
AGREEMENT_TARGET = 0.99
# quantize_auto also wants the quantized logits close to the float ones: agreement on a
# small calibration set is a coarse test (a model can agree on all 89 wine training samples
# and still flip 2 of 89 test samples), the logit error is measured on every sample.
LOGIT_ERROR_TARGET = 0.01
# Tried in order by quantize_auto: (weight bits, activation bits).
AUTO_WIDTHS = ((8, 8), (12, 12), (16, 12), (16, 16))


# ------------------------------------------------------------------------- float model


def _frozen_float(name: str, value: Any, ndim: int) -> np.ndarray:
    arr = np.array(value, dtype=np.float64, copy=True)
    if arr.ndim != ndim:
        raise ArchitectureError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ArchitectureError(f"{name} contains NaN or infinity")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class FloatDense:
    """``y = W·x + b`` (then ReLU); ``weight`` has shape (out, in)."""

    weight: np.ndarray
    bias: np.ndarray
    relu: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_float("FloatDense.weight", self.weight, 2))
        object.__setattr__(self, "bias", _frozen_float("FloatDense.bias", self.bias, 1))
        if self.bias.shape != (self.weight.shape[0],):
            raise ArchitectureError(
                f"FloatDense bias shape {self.bias.shape} does not match weight {self.weight.shape}"
            )

    def skeleton(self) -> Dense:
        return Dense(int(self.weight.shape[1]), int(self.weight.shape[0]), relu=self.relu)


@dataclass(frozen=True, eq=False)
class FloatConv2d:
    """Square-kernel 2-D cross-correlation with zero padding; ``weight`` is (out, in, k, k)."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 0
    relu: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_float("FloatConv2d.weight", self.weight, 4))
        object.__setattr__(self, "bias", _frozen_float("FloatConv2d.bias", self.bias, 1))
        o, _, kh, kw = self.weight.shape
        if kh != kw:
            raise ArchitectureError(f"only square kernels are supported, got {kh}×{kw}")
        if self.bias.shape != (o,):
            raise ArchitectureError(
                f"FloatConv2d bias shape {self.bias.shape} does not match weight "
                f"{self.weight.shape}"
            )
        self.skeleton()  # validates stride and padding

    def skeleton(self) -> Conv2d:
        o, i, k, _ = (int(d) for d in self.weight.shape)
        return Conv2d(i, o, k, self.stride, self.padding, relu=self.relu)


FloatLayer = FloatDense | FloatConv2d | AvgPool2d | MaxPool2d | Flatten | Reshape
_FLOAT_LAYER_TYPES = (FloatDense, FloatConv2d, AvgPool2d, MaxPool2d, Flatten, Reshape)


@dataclass(frozen=True, eq=False)
class FloatModel:
    """A float network in the layer vocabulary of :mod:`zkproofs.ml.architecture`."""

    input_shape: tuple[int, ...]
    layers: tuple[FloatLayer, ...]
    skeleton: Architecture = field(init=False, repr=False)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, _FLOAT_LAYER_TYPES):
                raise ArchitectureError(f"layer {i} is a {type(layer).__name__}")
        if len(layers) > MAX_LAYERS:
            raise ModelLimitError(f"more than {MAX_LAYERS} layers")
        skeleton_layers = tuple(
            lay.skeleton() if isinstance(lay, (FloatDense, FloatConv2d)) else lay for lay in layers
        )
        # The skeleton (default widths, shift 0) validates shapes and limits once.
        skeleton = Architecture(tuple(self.input_shape), (0, 0), skeleton_layers)
        object.__setattr__(self, "input_shape", skeleton.input_shape)
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "skeleton", skeleton)

    @property
    def num_classes(self) -> int:
        return self.skeleton.num_classes

    @property
    def parameter_count(self) -> int:
        return self.skeleton.weight_count

    def logits(self, x: Any) -> np.ndarray:
        """Float logits for real-valued inputs of shape (N, *input_shape)."""
        a = np.asarray(x, dtype=np.float64)
        if a.shape[1:] != self.input_shape:
            raise ValueError(f"inputs must have shape (N, *{self.input_shape}), got {a.shape}")
        for layer in self.layers:
            if isinstance(layer, FloatDense):
                a = dense_forward(a, layer.weight, layer.bias)
            elif isinstance(layer, FloatConv2d):
                a = conv2d_forward(a, layer.weight, layer.bias, layer.stride, layer.padding)
            elif isinstance(layer, AvgPool2d):
                a = pool_forward(a, layer.kernel, layer.stride, "sum") / layer.kernel**2
            elif isinstance(layer, MaxPool2d):
                a = pool_forward(a, layer.kernel, layer.stride, "max")
            elif isinstance(layer, Reshape):
                a = a.reshape(a.shape[0], *layer.shape)
            else:
                a = a.reshape(a.shape[0], -1)
            if getattr(layer, "relu", False):
                a = np.maximum(a, 0.0)
        return a

    def predict(self, x: Any) -> np.ndarray:
        return np.argmax(self.logits(x), axis=1).astype(np.int64)


# ---------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class Accuracy:
    """Float vs quantized predictions on one labelled (or unlabelled) set."""

    n_samples: int
    float_accuracy: float | None  # None without labels
    quantized_accuracy: float | None
    agreement: float  # fraction of samples where both models predict the same label

    def __str__(self) -> str:
        parts = [f"{self.n_samples} samples"]
        if self.float_accuracy is not None:
            parts.append(f"float {self.float_accuracy:.4f}")
            parts.append(f"quantized {self.quantized_accuracy:.4f}")
        parts.append(f"agreement {self.agreement:.4f}")
        return ", ".join(parts)


@dataclass(frozen=True)
class LayerQuantization:
    index: int
    kind: str
    weight_exponent: int | None  # W_int = round(W · 2^weight_exponent)
    shift: int | None
    bias_bits: int | None  # the declared width (capped, see quantize)
    output_scale: float  # integer activation ≈ float activation × output_scale
    calibration_peak: int  # largest |output| on the calibration data


@dataclass(frozen=True)
class Attempt:
    """One quantization tried by :func:`quantize_auto`."""

    weight_bits: int
    activation_bits: int
    agreement: float
    logit_error: float

    def __str__(self) -> str:
        return (f"{self.weight_bits}-bit weights, {self.activation_bits}-bit activations: "
                f"agreement {100 * self.agreement:.2f}%, logit error "
                f"{100 * self.logit_error:.2f}%")


@dataclass(frozen=True)
class QuantizationReport:
    calibration: Accuracy
    layers: tuple[LayerQuantization, ...]
    worst_case_bits: int  # bits of the largest worst-case interval bound (≤ 62)
    # 95th percentile over the calibration samples of max_k |quantized logit_k / scale −
    # float logit_k|, relative to the standard deviation of the float logits.
    logit_error: float = 0.0
    weight_bits: int = 8
    activation_bits: int = 8
    clipped_values: int = 0  # calibration values outside the input range, clipped to it
    clipped_samples: int = 0  # samples with at least one clipped value
    attempts: tuple[Attempt, ...] = ()  # quantize_auto: every configuration tried, in order

    @property
    def float_accuracy(self) -> float | None:
        return self.calibration.float_accuracy

    @property
    def quantized_accuracy(self) -> float | None:
        return self.calibration.quantized_accuracy

    @property
    def agreement(self) -> float:
        return self.calibration.agreement

    @property
    def meets_target(self) -> bool:
        return self.agreement >= AGREEMENT_TARGET

    def summary(self) -> str:
        """Attempts, widths, clipping, calibration accuracy and agreement, then per layer."""
        lines = []
        if len(self.attempts) > 1:
            tried = "; ".join(str(a) for a in self.attempts)
            lines.append(f"tried {tried}")
        lines.append(
            f"quantized with {self.weight_bits}-bit weights and {self.activation_bits}-bit "
            f"activations"
        )
        if self.clipped_values:
            lines.append(
                f"warning: {self.clipped_values} calibration values in {self.clipped_samples} "
                f"samples lay outside the input range and were clipped to it"
            )
        lines.append(f"calibration: {self.calibration}, logit error "
                     f"{100 * self.logit_error:.2f}%")
        return "\n".join(lines + self.layer_lines())

    def layer_lines(self) -> list[str]:
        lines = []
        for lq in self.layers:
            if lq.weight_exponent is None:
                lines.append(f"  {lq.index}: {lq.kind}, peak {lq.calibration_peak}")
            else:
                lines.append(
                    f"  {lq.index}: {lq.kind}, weights ×2^{lq.weight_exponent}, "
                    f"{lq.bias_bits}-bit bias, shift {lq.shift}, scale {lq.output_scale:.4g}, "
                    f"peak {lq.calibration_peak}"
                )
        lines.append(f"worst-case intervals within ±2^{self.worst_case_bits}")
        return lines


def compare(
    float_model: FloatModel,
    model: QuantizedModel,
    x: Any,
    y: Any = None,
    *,
    input_scale: float = 1.0,
) -> Accuracy:
    """Accuracy of both models (if labels are given) and their agreement on integer inputs."""
    x_int = np.asarray(x)
    q_pred = predict(model, x_int)
    f_pred = float_model.predict(x_int.astype(np.float64) / input_scale)
    return _accuracy(q_pred, f_pred, y)


def _accuracy(q_pred: np.ndarray, f_pred: np.ndarray, y: Any) -> Accuracy:
    agreement = float(np.mean(q_pred == f_pred))
    if y is None:
        return Accuracy(len(q_pred), None, None, agreement)
    labels = np.asarray(y)
    if labels.shape != q_pred.shape:
        raise ValueError(f"labels must have shape {q_pred.shape}, got {labels.shape}")
    return Accuracy(
        len(q_pred),
        float(np.mean(f_pred == labels)),
        float(np.mean(q_pred == labels)),
        agreement,
    )


# --------------------------------------------------------------------------- quantizer


def _weight_exponent(weight: np.ndarray, bits: int) -> int:
    """The largest e with max|W|·2^e ≤ 2^(bits−1) − 1 (0 for an all-zero tensor)."""
    peak = float(np.max(np.abs(weight))) if weight.size else 0.0
    if peak == 0.0:
        return 0
    limit = (1 << (bits - 1)) - 1
    e = math.floor(math.log2(limit / peak))
    # log2 is not exact at the boundaries; settle e with exact float comparisons.
    while math.ldexp(peak, e) > limit:
        e -= 1
    while math.ldexp(peak, e + 1) <= limit:
        e += 1
    return e


def _with(layer: Dense | Conv2d, weight_bits: int, bias_bits: int, shift: int) -> Dense | Conv2d:
    """The skeleton layer with the chosen widths and shift (ReLU and shapes unchanged)."""
    return replace(layer, weight_bits=weight_bits, bias_bits=bias_bits, shift=shift)


def _worst_case_step(
    index: int, layer: Any, lo: np.ndarray, hi: np.ndarray, in_shape: tuple[int, ...]
) -> tuple[Any, np.ndarray, np.ndarray]:
    try:
        return interval_step(index, layer, lo, hi, in_shape)
    except IntervalOverflowError as exc:
        raise QuantizationError(
            f"the quantized model could overflow on some input in the declared range: {exc}"
        ) from None


def _peak(a: np.ndarray) -> int:
    return int(np.abs(a).max())


def _check_calibration(
    float_model: FloatModel, x: Any, input_range: tuple[int, int]
) -> tuple[np.ndarray, int, int]:
    """The calibration inputs as int64, clipped to the input range; and how many values and
    samples were clipped."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise QuantizationError(
            f"calibration inputs must be integers at the competition's input scale "
            f"(x = round(v·scale), as the organizer publishes them), got dtype {arr.dtype}"
        )
    if arr.ndim != 1 + len(float_model.input_shape) or arr.shape[1:] != float_model.input_shape:
        raise QuantizationError(
            f"calibration inputs must have shape (N, *{float_model.input_shape}), got {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise QuantizationError("no calibration samples")
    lo, hi = input_range
    # Compare before casting so that a uint64 above 2^63 cannot wrap into range.
    outside = (arr < lo) | (arr > hi)
    clipped = int(np.count_nonzero(outside))
    samples = int(np.count_nonzero(outside.reshape(arr.shape[0], -1).any(axis=1)))
    if clipped:
        arr = np.where(arr < lo, lo, np.where(arr > hi, hi, arr))
    return np.ascontiguousarray(arr, dtype=np.int64), clipped, samples


def quantize(
    float_model: FloatModel,
    x_calib: Any,
    y_calib: Any = None,
    *,
    input_range: tuple[int, int],
    input_scale: float = 1.0,
    weight_bits: int = 8,
    bias_bits: int = 32,
    activation_bits: int = 8,
) -> tuple[QuantizedModel, QuantizationReport]:
    """Quantize ``float_model`` using integer calibration inputs (see the module docstring).

    ``input_range`` is the competition's declared integer input range; ``input_scale`` is the
    number of integer steps per unit of the float model's input. Returns the model and a
    report with float vs quantized accuracy on the calibration data (if ``y_calib`` is given).
    """
    try:
        input_range = (operator.index(input_range[0]), operator.index(input_range[1]))
    except (TypeError, IndexError):
        raise QuantizationError("input_range must be a pair of integers") from None
    if not -MAX_INPUT_MAGNITUDE <= input_range[0] <= input_range[1] <= MAX_INPUT_MAGNITUDE:
        raise QuantizationError(f"input_range {input_range} is empty or too wide")
    if not isinstance(input_scale, (int, float)) or not 0 < input_scale < math.inf:
        raise QuantizationError("input_scale must be a positive finite number")
    if not 2 <= activation_bits <= 32:
        raise QuantizationError("activation_bits must be between 2 and 32")
    # Validate the widths the same way the architecture will.
    Dense(1, 1, weight_bits=weight_bits, bias_bits=bias_bits)
    a, clipped_values, clipped_samples = _check_calibration(float_model, x_calib, input_range)
    x_clipped = a

    scale = float(input_scale)
    # Worst-case bounds over the whole declared input range, carried layer by layer: they
    # cap the declared bias widths and guarantee the calibration pass cannot overflow.
    wlo = np.full((1, *float_model.input_shape), input_range[0], dtype=np.int64)
    whi = np.full((1, *float_model.input_shape), input_range[1], dtype=np.int64)
    layers: list[Any] = []  # the architecture's layers, built alongside the weights
    tensors: dict[str, np.ndarray] = {}
    reports: list[LayerQuantization] = []
    last_index = len(float_model.layers) - 1
    for index, flayer in enumerate(float_model.layers):
        in_shape = float_model.skeleton.input_shape_of(index)
        if not isinstance(flayer, (FloatDense, FloatConv2d)):
            _, wlo, whi = _worst_case_step(index, flayer, wlo, whi, in_shape)
            a = apply_layer(index, flayer, a, None, None).out
            layers.append(flayer)
            reports.append(LayerQuantization(index, flayer.KIND, None, None, None, scale, _peak(a)))
            continue
        # A declared bias width beyond the worst-case |W·x| widens every interval (and the
        # proof's range checks) without adding useful precision: cap it there.
        probe = _with(flayer.skeleton(), weight_bits, 2, 0)
        wx_bound = float(np.max(linear_magnitude(probe, wlo, whi, in_shape)))
        layer_bias_bits = min(bias_bits, max(2, int(min(wx_bound, 2.0**62)).bit_length() + 1))
        _, bias_max = signed_range(layer_bias_bits)

        e = _weight_exponent(flayer.weight, weight_bits)
        bias_f = flayer.bias * scale
        # Lower the weight exponent until the bias fits its width (the two share a scale).
        while np.max(np.abs(np.rint(np.ldexp(bias_f, e))), initial=0.0) > bias_max:
            e -= 1
        w_int = np.rint(np.ldexp(flayer.weight, e)).astype(np.int64)
        b_int = np.rint(np.ldexp(bias_f, e)).astype(np.int64)

        unshifted = _with(flayer.skeleton(), weight_bits, layer_bias_bits, 0)
        _worst_case_step(index, unshifted, wlo, whi, in_shape)  # accumulators fit int64
        acc = apply_layer(index, unshifted, a, w_int, b_int).acc
        shift = 0
        if index != last_index:
            peak = int(acc.max()) if flayer.relu else int(np.abs(acc).max())
            shift = max(0, max(peak, 0).bit_length() - activation_bits)
            if shift > 0 and int(b_int.max()) + (1 << (shift - 1)) <= bias_max:
                b_int = b_int + (1 << (shift - 1))  # round to nearest under the floor
        qlayer = _with(flayer.skeleton(), weight_bits, layer_bias_bits, shift)
        _, wlo, whi = _worst_case_step(index, qlayer, wlo, whi, in_shape)
        a = apply_layer(index, qlayer, a, w_int, b_int).out
        scale = math.ldexp(scale, e - shift)
        layers.append(qlayer)
        tensors[f"layers.{index}.weight"] = w_int
        tensors[f"layers.{index}.bias"] = b_int
        reports.append(
            LayerQuantization(index, qlayer.KIND, e, shift, layer_bias_bits, scale, _peak(a))
        )
    arch = Architecture(float_model.input_shape, input_range, tuple(layers))
    model = QuantizedModel(arch, tensors)
    try:
        worst = intervals(arch).max_abs()
    except IntervalOverflowError as exc:
        raise QuantizationError(
            f"the quantized model could overflow on some input in the declared range: {exc}"
        ) from None
    f_logits = float_model.logits(x_clipped.astype(np.float64) / input_scale)
    q_int = logits(model, x_clipped)
    accuracy = _accuracy(np.argmax(q_int, axis=1), np.argmax(f_logits, axis=1), y_calib)
    q_logits = q_int.astype(np.float64) / scale
    spread = float(np.std(f_logits))
    error = np.abs(q_logits - f_logits).max(axis=1) / spread if spread > 0 else np.zeros(1)
    return model, QuantizationReport(
        accuracy, tuple(reports), max(worst, 1).bit_length(), float(np.quantile(error, 0.95)),
        weight_bits, activation_bits, clipped_values, clipped_samples,
    )  # fmt: skip



def quantize_auto(
    float_model: FloatModel,
    x_calib: Any,
    y_calib: Any = None,
    *,
    input_range: tuple[int, int],
    input_scale: float = 1.0,
    weight_bits: int | None = None,
    target: float = AGREEMENT_TARGET,
) -> tuple[QuantizedModel, QuantizationReport]:
    """Quantize with the narrowest widths that reproduce the float model on the calibration
    data: agreement at least ``target`` and logit error at most :data:`LOGIT_ERROR_TARGET`,
    trying :data:`AUTO_WIDTHS` in order (or, when ``weight_bits`` is given, only that weight
    width with 8-, then 16-bit activations). If none does, the one with the best agreement,
    then the smallest logit error. The report lists every attempt."""
    widths = AUTO_WIDTHS if weight_bits is None else ((weight_bits, 8), (weight_bits, 16))
    attempts: list[Attempt] = []
    best: tuple[QuantizedModel, QuantizationReport] | None = None
    for wb, ab in widths:
        model, report = quantize(
            float_model, x_calib, y_calib, input_range=input_range, input_scale=input_scale,
            weight_bits=wb, activation_bits=ab,
        )  # fmt: skip
        attempts.append(Attempt(wb, ab, report.agreement, report.logit_error))
        key = (report.agreement, -report.logit_error)
        if best is None or key > (best[1].agreement, -best[1].logit_error):
            best = (model, report)
        if report.agreement >= target and report.logit_error <= LOGIT_ERROR_TARGET:
            best = (model, report)
            break
    model, report = best
    return model, replace(report, attempts=tuple(attempts))


__all__ = [
    "AGREEMENT_TARGET",
    "AUTO_WIDTHS",
    "LOGIT_ERROR_TARGET",
    "Accuracy",
    "Attempt",
    "FloatConv2d",
    "FloatDense",
    "FloatLayer",
    "FloatModel",
    "LayerQuantization",
    "QuantizationError",
    "QuantizationReport",
    "compare",
    "quantize",
    "quantize_auto",
]
