"""Loading and quantizing the competitor's ONNX model for a competition (``commit``).

The competition publishes integers ``x = round(v·scale)`` in a declared range; the model was
trained on real values ``v``, so the quantizer feeds the float model ``x / scale`` and the
integer model ``x`` and compares them on the calibration data. The report shows both
accuracies and their agreement; below :data:`~zkproofs.ml.quantize.AGREEMENT_TARGET` the
commit warns and asks before using a commitment slot (``--yes`` skips the question,
``--dry-run`` stops after the report).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass

import numpy as np

from ..ml import datasets
from .common import UsageError


@dataclass(frozen=True)
class Calibration:
    x: np.ndarray
    y: np.ndarray | None
    source: str  # for the report


def calibration_data(args, spec) -> Calibration:
    if args.calibration:
        try:
            # Not checked against the input range here: the quantizer clips and reports.
            x, y = datasets.load_npz(args.calibration, input_shape=tuple(spec.input_shape),
                                     num_classes=spec.num_classes)
        except datasets.DatasetError as exc:
            raise UsageError(f"{args.calibration}: {exc}") from None
        return Calibration(x, y, f"{args.calibration} (your data, with labels)")
    # No data: spread inputs over the declared range (derived from a hash, not secret).
    print("note: no --calibration data; calibrating on synthetic inputs spread over the "
          "input range (your training data, at the competition's scale, gives better shifts "
          "and a meaningful check)", file=sys.stderr)
    n, size = 256, int(np.prod(spec.input_shape))
    raw = b"".join(hashlib.sha256(b"zkarena/calibration" + i.to_bytes(4, "big")).digest()
                   for i in range((n * size * 4) // 32 + 1))
    words = np.frombuffer(raw[: n * size * 4], dtype="<u4").astype(np.int64)
    lo, hi = spec.input_range
    x = lo + words % (hi - lo + 1)
    return Calibration(x.reshape(n, *spec.input_shape), None, "synthetic inputs, no labels")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def quantized_model(args, spec):
    """Load the ONNX model, quantize it for the competition's declared inputs and print the
    report; returns (model, report)."""
    from ..ml.onnx_import import OnnxImportError, load_onnx
    from ..ml.quantize import LOGIT_ERROR_TARGET, QuantizationError, quantize_auto

    try:
        float_model = load_onnx(args.model)
    except OSError as exc:
        raise UsageError(f"cannot read {args.model}: {exc.strerror}") from None
    except OnnxImportError as exc:
        raise UsageError(f"{args.model}: {exc}") from None
    cal = calibration_data(args, spec)
    scale = spec.input_scale
    lo, hi = spec.input_range
    seen = "x" if scale == 1 else f"x / {scale}"
    n_layers = len(float_model.layers)
    print(f"model: {args.model}, {n_layers} layer{'' if n_layers == 1 else 's'}, "
          f"{float_model.parameter_count} parameters, {float_model.num_classes} classes")
    print(f"inputs: integers x in [{lo}, {hi}], shape {list(spec.input_shape)}, input scale "
          f"{scale}: your float model sees {seen}")
    print(f"calibration: {len(cal.x)} samples, {cal.source}")
    try:
        # The float model was trained on real values; the competition publishes them as
        # integers x = round(v·scale), so the quantizer must see x / scale as its input.
        model, report = quantize_auto(
            float_model, cal.x, cal.y, input_range=(lo, hi), input_scale=scale,
            weight_bits=args.weight_bits,
        )  # fmt: skip
    except (QuantizationError, ValueError) as exc:
        raise UsageError(f"quantization failed: {exc}") from None
    if len(report.attempts) > 1:
        print("widths tried (until the labels agree on 99% and the logits within 1%):")
        print("\n".join(f"  {a}" for a in report.attempts))
    print(f"quantized with {report.weight_bits}-bit weights and {report.activation_bits}-bit "
          f"activations:")
    print("\n".join(report.layer_lines()))
    acc = report.calibration
    if acc.float_accuracy is not None:
        print(f"accuracy on the calibration data: float model {_percent(acc.float_accuracy)}, "
              f"quantized model {_percent(acc.quantized_accuracy)}")
    print(f"the quantized model predicts the float model's label on "
          f"{_percent(acc.agreement)} of the calibration samples;")
    print(f"its logits deviate from the float ones by at most {_percent(report.logit_error)} "
          f"of their spread on 95% of them")
    if report.meets_target and report.logit_error > LOGIT_ERROR_TARGET:
        print(f"note: the logits deviate by more than {_percent(LOGIT_ERROR_TARGET)} even with "
              f"the widest weights tried: weights of very different magnitudes in one layer "
              f"(scaled features folded into the first layer, say) lose precision; the labels "
              f"still agree")
    if report.clipped_values:
        print(f"warning: {report.clipped_values} calibration values ({report.clipped_samples} "
              f"samples) were outside [{lo}, {hi}] and were clipped: check that the calibration "
              f"data are at the competition's scale {scale}", file=sys.stderr)
    if not report.meets_target:
        _warn_disagreement(args, report, cal, scale)
    _print_cost(model, spec)
    return model, report


def _print_cost(model, spec) -> None:
    """The proof's cost at the competition's N, against its budget; refuse a model over it
    before anything is committed (the site would refuse it too)."""
    from ..accuracy import proof_cost

    cost = proof_cost(model.architecture, spec.num_samples)
    b = spec.budget
    print(f"proof cost: {cost.summary()}; the competition's budget: {b.prove_seconds:,} s to "
          f"prove, {b.verify_seconds:,} s to verify, {b.proof_bytes / 1e6:.1f} MB of proof")
    over = b.violations(cost)
    if over:
        raise UsageError("this model is over the competition's budget: " + "; ".join(over)
                          + ". A smaller or narrower model (fewer output positions, smaller "
                          "pooling windows, fewer bits) costs less")


def _warn_disagreement(args, report, cal: Calibration, scale: int) -> None:
    widest = max(report.attempts, key=lambda a: (a.weight_bits, a.activation_bits))
    if args.weight_bits is not None:
        widths = (f"with --weight-bits {args.weight_bits}; without it zkarena widens the "
                  f"weights until the models agree")
    else:
        widths = (f"even with {widest.weight_bits}-bit weights and {widest.activation_bits}-bit "
                  f"activations: weights of very different magnitudes in one layer (scale "
                  f"the features, e.g. a StandardScaler in the pipeline) or many near-ties")
    if cal.y is None:
        data = "pass your training data with --calibration for a meaningful check"
    else:
        data = (f"if the float model's accuracy looks wrong too, check that --calibration "
                f"holds your training inputs as the competition publishes them (integers "
                f"x = round(v·{scale})) and that the model was trained on v = x / {scale}")
    print(f"WARNING: the quantized model agrees with your float model on only "
          f"{_percent(report.agreement)} of the {report.calibration.n_samples} calibration "
          f"samples (zkarena expects at least 99%): the committed model would not be the "
          f"model you trained. This happens {widths}. {data[0].upper()}{data[1:]}.",
          file=sys.stderr)


def confirm_commit(args, report, *, slot_note: str = "") -> None:
    """Ask before committing a model that disagrees with the float model (unless --yes);
    off a terminal, refuse instead of asking."""
    if report.meets_target or args.yes:
        return
    question = f"Commit this model anyway{slot_note}? [y/N] "
    if not sys.stdin.isatty():
        raise UsageError("not committed: the quantized model does not agree with the float "
                         "model (see the warning above); pass --yes to commit anyway")
    print(question, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not committed")
