"""Loading and quantizing the competitor's ONNX model for a competition (``commit``)."""

from __future__ import annotations

import hashlib
import sys

import numpy as np

from ..ml import datasets
from .common import UsageError


def calibration_data(args, spec):
    if args.calibration:
        try:
            return datasets.load_npz(args.calibration, input_shape=tuple(spec.input_shape),
                                     num_classes=spec.num_classes,
                                     input_range=tuple(spec.input_range))
        except datasets.DatasetError as exc:
            raise UsageError(f"{args.calibration}: {exc}") from None
    # No data: spread inputs over the declared range (derived from a hash, not secret).
    print("note: no --calibration data; calibrating on synthetic inputs spread over the "
          "input range (real training data gives better shifts)", file=sys.stderr)
    n, size = 256, int(np.prod(spec.input_shape))
    raw = b"".join(hashlib.sha256(b"zkarena/calibration" + i.to_bytes(4, "big")).digest()
                   for i in range((n * size * 4) // 32 + 1))
    words = np.frombuffer(raw[: n * size * 4], dtype="<u4").astype(np.int64)
    lo, hi = spec.input_range
    x = lo + words % (hi - lo + 1)
    return x.reshape(n, *spec.input_shape), None


def quantized_model(args, spec):
    """Load the ONNX model and quantize it for the competition's declared inputs."""
    from ..ml.onnx_import import OnnxImportError, load_onnx
    from ..ml.quantize import QuantizationError, quantize

    try:
        float_model = load_onnx(args.model)
    except OSError as exc:
        raise UsageError(f"cannot read {args.model}: {exc.strerror}") from None
    except OnnxImportError as exc:
        raise UsageError(f"{args.model}: {exc}") from None
    x_cal, y_cal = calibration_data(args, spec)
    try:
        # The float model was trained on real values; the competition publishes them as
        # integers x = round(v·scale), so the quantizer must see x / scale as its input.
        model, report = quantize(float_model, x_cal, y_cal, input_range=tuple(spec.input_range),
                                 input_scale=spec.input_scale, weight_bits=args.weight_bits)
    except (QuantizationError, ValueError) as exc:
        raise UsageError(f"quantization failed: {exc}") from None
    print(report.summary())
    return model
