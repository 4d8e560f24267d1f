"""The ML front end: ONNX import, quantization, the public architecture, the reference
integer evaluator (the definition of the model semantics) and test-set files.

Typical use::

    float_model = load_onnx("model.onnx")
    model, report = quantize(float_model, x_train_int, y_train, input_range=(0, 16))
    arch = model.architecture          # public, frozen at commit time
    vector = model.flat_weights()      # secret, committed as C_W
    c = count_correct(model, x_test, y_test)
"""

from .architecture import (
    Architecture,
    ArchitectureDecodeError,
    ArchitectureError,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    ModelLimitError,
    QuantizedModel,
    Reshape,
    TensorSlot,
)
from .datasets import (
    DatasetError,
    canonical_bytes,
    load_csv,
    load_npz,
    new_salt,
    salted_digest,
    save_npz,
)
from .evaluate import (
    INTERVAL_BOUND,
    InputError,
    Interval,
    IntervalOverflowError,
    Intervals,
    LayerIntervals,
    LayerTrace,
    count_correct,
    intervals,
    logits,
    predict,
    trace,
)
from .quantize import (
    AGREEMENT_TARGET,
    Accuracy,
    Attempt,
    FloatConv2d,
    FloatDense,
    FloatModel,
    QuantizationError,
    QuantizationReport,
    compare,
    quantize,
    quantize_auto,
)

# ONNX import pulls in onnx (over a second to import): loaded on first use, so that
# verifying a proof never pays for it.
_LAZY = {
    "OnnxImportError": "onnx_import",
    "OnnxLimitError": "onnx_import",
    "UnsupportedOperatorError": "onnx_import",
    "load_onnx": "onnx_import",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "AGREEMENT_TARGET",
    "INTERVAL_BOUND",
    "Accuracy",
    "Architecture",
    "ArchitectureDecodeError",
    "Attempt",
    "ArchitectureError",
    "AvgPool2d",
    "Conv2d",
    "DatasetError",
    "Dense",
    "Flatten",
    "FloatConv2d",
    "FloatDense",
    "FloatModel",
    "InputError",
    "Interval",
    "IntervalOverflowError",
    "Intervals",
    "LayerIntervals",
    "LayerTrace",
    "MaxPool2d",
    "ModelLimitError",
    "OnnxImportError",
    "OnnxLimitError",
    "QuantizationError",
    "QuantizationReport",
    "QuantizedModel",
    "Reshape",
    "TensorSlot",
    "UnsupportedOperatorError",
    "canonical_bytes",
    "compare",
    "count_correct",
    "intervals",
    "load_csv",
    "load_npz",
    "load_onnx",
    "logits",
    "new_salt",
    "predict",
    "quantize",
    "quantize_auto",
    "salted_digest",
    "save_npz",
    "trace",
]
