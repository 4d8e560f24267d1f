"""ONNX → :class:`~zkproofs.ml.quantize.FloatModel`, with the ``onnx`` package only (no runtime).

The importer walks the graph in its (topological) node order and accepts one chain of
compute operators from the single graph input to the logits, followed by classification
heads that do not change the predicted label. Anything else is refused with an
:class:`OnnxImportError` naming the operator and the node.

Compute operators (each consumes the current activation and constants):

- ``Gemm`` (transA=0, transB 0/1, alpha, beta), ``MatMul`` followed by ``Add`` of a constant
  bias → Dense; ``Conv`` (2-D, group 1, dilations 1, symmetric square padding, square kernel
  and stride; ``Add`` of a per-channel constant is folded into its bias) → Conv2d;
- ``Relu`` → the ReLU flag of the preceding Dense/Conv. ReLU commutes with MaxPool and
  Flatten, so ``Conv → MaxPool → Relu`` (the classic PyTorch MNIST net) is accepted; after an
  AveragePool it does not commute and is refused;
- ``MaxPool``/``AveragePool`` (2-D, square kernel and stride, no padding, ceil_mode 0,
  dilations 1; the Indices output of MaxPool refused), ``GlobalAveragePool`` on a square map;
- ``Flatten`` (axis 1) and ``Reshape`` to ``(batch, features)`` with a constant shape
  (``[-1, F]``, ``[0, F]``, ``[b, -1]`` …); ``Identity``; ``Cast`` to float/double; ``Constant``.

Heads (after the last compute operator; none may feed a compute operator again):

- ``Softmax``/``LogSoftmax`` on the class axis, ``ai.onnx.ml.Normalizer`` with L1 or L2 norm
  (division by a positive norm), ``Identity`` and ``Cast`` keep the argmax. Normalizer MAX is
  refused: dividing by a negative maximum reverses the order.
- ``ArgMax`` on the class axis with ``select_last_index = 0`` — the lowest index wins ties,
  exactly the zkarena rule — gives the label; ``ai.onnx.ml.ArrayFeatureExtractor`` over a
  constant class list is accepted only when the classes are exactly ``0..K−1`` in order;
  ``Reshape`` of labels to ``[-1]`` and ``Cast`` of labels to a numeric type keep them.
- ``ai.onnx.ml.ZipMap`` is accepted only on the probabilities and only as a graph output
  that no node consumes: it re-packages probabilities and cannot change a label.
- ``ai.onnx.ml.LinearClassifier`` (skl2onnx's LogisticRegression) is a Dense logit layer plus
  a head: ``classlabels_ints`` must be ``0..K−1``; every ``post_transform`` is monotone per
  score and keeps the argmax. A binary classifier with a single score column ``s`` becomes
  the two logits ``[−s, s]`` (what the ONNX reference runtime computes): argmax picks class 1
  exactly when ``s > 0``, and at ``s == 0`` the tie goes to index 0 — the same as
  scikit-learn, whose ``predict`` returns class 1 only for ``decision_function > 0``.

Every graph output must be the final logits or derived from them by heads. Limits are
checked before any tensor is materialised: the file size before parsing, and each
initializer's element count (from its declared dims) before it is converted. Tensors stored
as external data are refused outright (they would be read from arbitrary paths); export
with the weights embedded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import InvalidInputError
from .architecture import MAX_PARAMETERS, ArchitectureError, AvgPool2d, Flatten, MaxPool2d
from .quantize import FloatConv2d, FloatDense, FloatModel

DEFAULT_MAX_FILE_BYTES = 64 << 20
DEFAULT_MAX_INITIALIZER_ELEMENTS = 1 << 22
DEFAULT_MAX_NODES = 4096

_ONNX_DOMAINS = ("", "ai.onnx")
_ML_DOMAIN = "ai.onnx.ml"
_FLOAT_TYPES = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16}
_INT_TYPES = {
    TensorProto.INT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64,
    TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64,
}  # fmt: skip
_CONST_TYPES = _FLOAT_TYPES | _INT_TYPES


class OnnxImportError(InvalidInputError):
    """An ONNX model the importer refuses; ``op_type``/``node_name`` say where, if a node."""

    def __init__(self, message: str, *, op_type: str | None = None, node_name: str | None = None):
        self.op_type = op_type
        self.node_name = node_name
        if op_type is not None:
            message = f"{op_type} (node '{node_name}'): {message}"
        super().__init__(message)


class UnsupportedOperatorError(OnnxImportError):
    """An operator (or a use of one) outside the supported subset."""


class OnnxLimitError(OnnxImportError):
    """A model or tensor beyond the importer's size limits."""


# --------------------------------------------------------------------- tensor kinds


@dataclass(frozen=True)
class _Act:
    """The activation flowing through the chain; ``version`` detects stale uses (branches)."""

    shape: tuple[int, ...]
    version: int


@dataclass(frozen=True)
class _Const:
    value: np.ndarray


@dataclass(frozen=True)
class _Scores:
    """A monotone transform of the final logits (same argmax); ``version`` of those logits."""

    version: int


@dataclass(frozen=True)
class _Label:
    version: int


@dataclass(frozen=True)
class _ZipMap:
    """ZipMap output: may only be a graph output."""


# ------------------------------------------------------------------------- loading


def load_onnx(
    source: str | os.PathLike[str] | bytes | onnx.ModelProto,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_initializer_elements: int = DEFAULT_MAX_INITIALIZER_ELEMENTS,
    max_parameters: int = MAX_PARAMETERS,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> FloatModel:
    """Load an ONNX model (path, serialized bytes or ModelProto) as a float layer list."""
    if isinstance(source, onnx.ModelProto):
        if source.ByteSize() > max_file_bytes:
            raise OnnxLimitError(f"model larger than {max_file_bytes} bytes")
        model = source
    else:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            # Check the size on disk first, then never read more than the limit allows.
            size = os.stat(source).st_size
            if size > max_file_bytes:
                raise OnnxLimitError(f"ONNX file of {size} bytes exceeds {max_file_bytes}")
            with open(source, "rb") as f:
                data = f.read(max_file_bytes + 1)
        if len(data) > max_file_bytes:
            raise OnnxLimitError(f"model larger than {max_file_bytes} bytes")
        try:
            # Parsing from bytes never follows external-data paths.
            model = onnx.load_model_from_string(data)
        except Exception as exc:  # protobuf raises its own DecodeError types
            raise OnnxImportError(f"not a valid ONNX model: {exc}") from None
    importer = _Importer(model, max_initializer_elements, max_nodes)
    float_model = importer.run()
    if float_model.parameter_count > max_parameters:
        raise OnnxLimitError(
            f"the model has {float_model.parameter_count} parameters; the limit is {max_parameters}"
        )
    return float_model


def _tensor_to_array(tensor: TensorProto, max_elements: int, what: str) -> np.ndarray:
    """Convert a TensorProto after checking its declared size, type and data location."""
    if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
        raise OnnxImportError(
            f"{what} is stored as external data; export the model with embedded weights"
        )
    if tensor.data_type not in _CONST_TYPES:
        raise OnnxImportError(
            f"{what} has unsupported element type {TensorProto.DataType.Name(tensor.data_type)}"
        )
    count = 1
    for d in tensor.dims:
        if d < 0:
            raise OnnxImportError(f"{what} has a negative dimension")
        count *= d
        if count > max_elements:
            raise OnnxLimitError(f"{what} has more than {max_elements} elements")
    try:
        arr = numpy_helper.to_array(tensor)
    except Exception as exc:
        raise OnnxImportError(f"{what} cannot be decoded: {exc}") from None
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise OnnxImportError(f"{what} contains NaN or infinity")
    return arr


class _Importer:
    def __init__(self, model: onnx.ModelProto, max_elements: int, max_nodes: int):
        self.model = model
        self.graph = model.graph
        self.max_elements = max_elements
        self.max_nodes = max_nodes
        self.values: dict[str, Any] = {}
        self.layers: list[Any] = []
        self.version = 0
        self.bias_open = False  # an Add may still fold into the last linear layer
        self.head_started = False
        self.input_shape: tuple[int, ...] = ()
        # Where the current node is, for error messages.
        self.op = ""
        self.node = ""

    # ------------------------------------------------------------------ helpers

    def fail(self, message: str) -> OnnxImportError:
        return UnsupportedOperatorError(message, op_type=self.op, node_name=self.node)

    def attrs(self, node: onnx.NodeProto, allowed: dict[str, Any]) -> dict[str, Any]:
        """Node attributes with defaults; any attribute not listed is refused."""
        out = dict(allowed)
        for a in node.attribute:
            if a.name not in allowed:
                raise self.fail(f"attribute '{a.name}' is not supported")
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise self.fail("subgraph attributes are not supported")
            if a.type == onnx.AttributeProto.TENSOR:
                out[a.name] = _tensor_to_array(a.t, self.max_elements, f"attribute '{a.name}'")
                continue
            value = helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if isinstance(value, list):
                if len(value) > self.max_elements:
                    raise OnnxLimitError(
                        f"attribute '{a.name}' has more than {self.max_elements} elements",
                        op_type=self.op, node_name=self.node,
                    )  # fmt: skip
                value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
            out[a.name] = value
        return out

    def get(self, name: str) -> Any:
        if name not in self.values:
            raise self.fail(f"input '{name}' is not produced by anything this importer accepts")
        return self.values[name]

    def act(self, name: str) -> _Act:
        value = self.get(name)
        if not isinstance(value, _Act):
            if isinstance(value, (_Scores, _Label)):
                raise self.fail("compute operators after the classification head are not supported")
            raise self.fail(f"input '{name}' must be the activation, not a constant")
        if value.version != self.version:
            raise self.fail("branching graphs are not supported: this uses an earlier activation")
        if self.head_started:
            raise self.fail("compute operators after the classification head are not supported")
        return value

    def const(self, name: str) -> np.ndarray:
        value = self.get(name)
        if not isinstance(value, _Const):
            raise self.fail(f"input '{name}' must be a constant (an initializer)")
        return value.value

    def new_act(self, shape: tuple[int, ...]) -> _Act:
        self.version += 1
        return _Act(tuple(int(d) for d in shape), self.version)

    def push(self, layer: Any, shape: tuple[int, ...]) -> _Act:
        self.layers.append(layer)
        self.bias_open = isinstance(layer, (FloatDense, FloatConv2d))
        return self.new_act(shape)

    def final_logits(self, name: str) -> _Act | _Scores:
        """An input of a head: the final logits (flat) or scores derived from them."""
        value = self.get(name)
        if isinstance(value, _Scores):
            return value
        if isinstance(value, _Act) and value.version == self.version:
            if len(value.shape) != 1:
                raise self.fail(f"expects flat class scores, got per-sample shape {value.shape}")
            if not self.layers or not isinstance(self.layers[-1], FloatDense):
                raise self.fail("the class scores must come from a Dense (Gemm/MatMul) layer")
            return value
        raise self.fail(f"input '{name}' must be the class scores")

    def class_axis(self, axis: int) -> None:
        if axis not in (1, -1):
            raise self.fail(f"axis {axis} is not the class axis")

    # ----------------------------------------------------------------------- run

    def run(self) -> FloatModel:
        if len(self.model.functions):
            raise OnnxImportError("models with local functions are not supported")
        for opset in self.model.opset_import:
            if opset.domain not in (*_ONNX_DOMAINS, _ML_DOMAIN):
                raise OnnxImportError(f"operator set domain '{opset.domain}' is not supported")
        graph = self.graph
        if len(graph.node) > self.max_nodes:
            raise OnnxLimitError(f"the graph has more than {self.max_nodes} nodes")
        if len(graph.sparse_initializer):
            raise OnnxImportError("sparse initializers are not supported")
        for init in graph.initializer:
            self.values[init.name] = _Const(
                _tensor_to_array(init, self.max_elements, f"initializer '{init.name}'")
            )
        inputs = [i for i in graph.input if i.name not in self.values]
        if len(inputs) != 1:
            raise OnnxImportError(f"the graph must have exactly one input, found {len(inputs)}")
        self.input_shape = self.read_input_shape(inputs[0])
        self.values[inputs[0].name] = _Act(self.input_shape, self.version)

        for index, node in enumerate(graph.node):
            domain = "" if node.domain in _ONNX_DOMAINS else node.domain
            self.op = f"{domain}.{node.op_type}" if domain else node.op_type
            self.node = node.name or f"#{index}"
            handler = _HANDLERS.get((domain, node.op_type))
            if handler is None:
                raise UnsupportedOperatorError(
                    "operator not supported (supported: Gemm, MatMul+Add, Conv, Relu, "
                    "MaxPool, AveragePool, Flatten, Reshape, and argmax-preserving heads)",
                    op_type=self.op, node_name=self.node,
                )  # fmt: skip
            for name in node.input:
                if name and isinstance(self.values.get(name), _ZipMap):
                    raise self.fail("ZipMap output may only be a graph output")
            if any(name in self.values for name in node.output if name):
                raise self.fail("an output name is defined twice")
            try:
                handler(self, node)
            except IndexError:
                raise self.fail("missing inputs or outputs") from None
        self.op = self.node = ""
        return self.finish()

    def read_input_shape(self, value_info: onnx.ValueInfoProto) -> tuple[int, ...]:
        ttype = value_info.type.tensor_type
        if not value_info.type.HasField("tensor_type") or not ttype.HasField("shape"):
            raise OnnxImportError(f"graph input '{value_info.name}' has no tensor shape")
        if ttype.elem_type not in _FLOAT_TYPES | _INT_TYPES:
            raise OnnxImportError(f"graph input '{value_info.name}' is not numeric")
        dims = ttype.shape.dim
        if not 2 <= len(dims) <= 4:
            raise OnnxImportError(
                f"graph input '{value_info.name}' must be (batch, features) or "
                f"(batch, C, H, W); it has rank {len(dims)}"
            )
        shape = []
        for d in dims[1:]:  # dims[0] is the batch: symbolic or any size
            if not d.HasField("dim_value") or d.dim_value <= 0:
                raise OnnxImportError(
                    f"graph input '{value_info.name}' needs fixed non-batch dimensions"
                )
            shape.append(int(d.dim_value))
        return tuple(shape)

    def finish(self) -> FloatModel:
        if not self.layers or not isinstance(self.layers[-1], FloatDense):
            raise OnnxImportError(
                "the model must end with a Dense (Gemm/MatMul) layer producing the logits"
            )
        for out in self.graph.output:
            value = self.values.get(out.name)
            ok = (
                isinstance(value, _ZipMap)
                or (isinstance(value, _Act) and value.version == self.version)
                or (isinstance(value, (_Scores, _Label)) and value.version == self.version)
            )
            if not ok:
                raise OnnxImportError(
                    f"graph output '{out.name}' is not the logits or derived from them"
                )
        try:
            return FloatModel(self.input_shape, tuple(self.layers))
        except ArchitectureError as exc:
            raise OnnxImportError(f"the imported network is not valid: {exc}") from None

    # ------------------------------------------------------------------ handlers

    def op_identity(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        value = self.get(node.input[0])
        self.values[node.output[0]] = value

    def op_cast(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"to": None, "saturate": 1, "round_mode": "up"})
        value = self.get(node.input[0])
        to = a["to"]
        if isinstance(value, _Const):
            if to not in _CONST_TYPES:
                raise self.fail("only numeric casts of constants are supported")
            dtype = helper.tensor_dtype_to_np_dtype(to)
            self.values[node.output[0]] = _Const(value.value.astype(dtype))
        elif isinstance(value, _Label):
            if to not in _CONST_TYPES:
                raise self.fail("labels may only be cast to a numeric type")
            self.values[node.output[0]] = value
        elif to in (TensorProto.FLOAT, TensorProto.DOUBLE):
            self.values[node.output[0]] = value  # the float forward pass is float64 anyway
        else:
            raise self.fail(
                f"a cast to {TensorProto.DataType.Name(to)} would change the activations"
            )

    def op_constant(self, node: onnx.NodeProto) -> None:
        a = self.attrs(
            node,
            {"value": None, "value_float": None, "value_floats": None, "value_int": None,
             "value_ints": None},
        )  # fmt: skip
        given = [(k, v) for k, v in a.items() if v is not None]
        if len(given) != 1:
            raise self.fail("a Constant needs exactly one supported value attribute")
        key, value = given[0]
        if key == "value":
            arr = value
        elif key.startswith("value_int"):
            arr = np.array(value, dtype=np.int64)
        else:
            arr = np.array(value, dtype=np.float64)
        self.values[node.output[0]] = _Const(arr)

    def op_matmul(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        x = self.act(node.input[0])
        w = self.const(node.input[1])
        if len(x.shape) != 1:
            raise self.fail(f"needs a flat input, got per-sample shape {x.shape}; add Flatten")
        if w.ndim != 2 or w.shape[0] != x.shape[0] or w.dtype.kind != "f":
            raise self.fail(f"weight of shape {w.shape} does not fit an input of {x.shape[0]}")
        layer = FloatDense(w.T, np.zeros(w.shape[1]))
        self.values[node.output[0]] = self.push(layer, (w.shape[1],))

    def op_gemm(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0, "broadcast": 1})
        if a["transA"] != 0:
            raise self.fail("transA = 1 is not supported")
        x = self.act(node.input[0])
        b = self.const(node.input[1])
        if len(x.shape) != 1:
            raise self.fail(f"needs a flat input, got per-sample shape {x.shape}; add Flatten")
        if b.ndim != 2 or b.dtype.kind != "f":
            raise self.fail("B must be a 2-D float initializer")
        weight = (b if a["transB"] else b.T) * float(a["alpha"])
        if weight.shape[1] != x.shape[0]:
            raise self.fail(f"weight of shape {weight.shape} does not fit {x.shape[0]} inputs")
        out = weight.shape[0]
        bias = np.zeros(out)
        if len(node.input) > 2 and node.input[2]:
            c = self.const(node.input[2])
            bias = float(a["beta"]) * self.broadcast_bias(c, (out,))
        self.values[node.output[0]] = self.push(FloatDense(weight, bias), (out,))

    def broadcast_bias(self, c: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """A constant added to activations of ``shape`` → a per-output(-channel) bias."""
        if c.dtype.kind != "f" or c.ndim > len(shape) + 1:
            raise self.fail(f"cannot use a constant of shape {c.shape} as a bias")
        try:
            full = np.broadcast_to(c, (1, *shape))[0]
        except ValueError:
            raise self.fail(
                f"a constant of shape {c.shape} does not broadcast to {shape}"
            ) from None
        if len(shape) == 1:
            return np.array(full, dtype=np.float64)
        per_channel = full[:, :1, :1]
        if not np.array_equal(full, np.broadcast_to(per_channel, full.shape)):
            raise self.fail("only a per-channel constant can be added to a convolution")
        return np.array(per_channel[:, 0, 0], dtype=np.float64)

    def op_add(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        if len(node.input) != 2:
            raise self.fail("Add needs two inputs")
        kinds = [self.get(n) for n in node.input]
        act_pos = [i for i, v in enumerate(kinds) if isinstance(v, _Act)]
        if len(act_pos) != 1:
            raise self.fail("only an activation plus a constant bias is supported")
        x = self.act(node.input[act_pos[0]])
        c = self.const(node.input[1 - act_pos[0]])
        if not self.bias_open:
            raise self.fail("an Add must directly follow MatMul, Gemm or Conv (a bias)")
        last = self.layers[-1]
        self.layers[-1] = replace(last, bias=last.bias + self.broadcast_bias(c, x.shape))
        self.values[node.output[0]] = self.new_act(x.shape)

    def op_relu(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        x = self.act(node.input[0])
        linear = [
            i for i, lay in enumerate(self.layers) if isinstance(lay, (FloatDense, FloatConv2d))
        ]
        if not linear:
            raise self.fail("a Relu on the model input is not supported")
        last = linear[-1]
        # ReLU commutes with MaxPool and Flatten, not with AveragePool.
        if any(not isinstance(lay, (MaxPool2d, Flatten)) for lay in self.layers[last + 1 :]):
            raise self.fail("a Relu after an AveragePool is not supported")
        self.layers[last] = replace(self.layers[last], relu=True)
        self.bias_open = False
        self.values[node.output[0]] = self.new_act(x.shape)

    def op_flatten(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"axis": 1})
        x = self.act(node.input[0])
        rank = 1 + len(x.shape)
        axis = a["axis"] + rank if a["axis"] < 0 else a["axis"]
        if axis != 1:
            raise self.fail(f"only Flatten(axis=1) is supported, got axis {a['axis']}")
        self.values[node.output[0]] = self.flatten(x)

    def flatten(self, x: _Act) -> _Act:
        if len(x.shape) == 1:
            return x  # already flat: a no-op, not a layer
        return self.push(Flatten(), (int(np.prod(x.shape)),))

    def op_reshape(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"allowzero": 0})
        value = self.get(node.input[0])
        target = self.const(node.input[1])
        if target.dtype.kind not in "iu" or target.ndim != 1:
            raise self.fail("the target shape must be a constant 1-D integer tensor")
        t = [int(v) for v in target]
        if isinstance(value, _Label):
            if t not in ([-1], [-1, 1]):
                raise self.fail(f"labels may only be reshaped to [-1], not {t}")
            self.values[node.output[0]] = value
            return
        x = self.act(node.input[0])
        features = int(np.prod(x.shape))
        batch_ok = len(t) == 2 and (t[0] == -1 or t[0] > 0 or (t[0] == 0 and a["allowzero"] == 0))
        if not batch_ok or t[1] not in (-1, features) or t == [-1, -1]:
            raise self.fail(f"Reshape to {t}: only flattening to (batch, {features}) is supported")
        self.values[node.output[0]] = self.flatten(x)

    def square_pairs(self, a: dict[str, Any], key: str, default: int, count: int) -> int:
        values = a[key] if a[key] is not None else [default] * count
        if len(values) != count or len(set(values)) != 1:
            raise self.fail(f"{key} {values} must be {count} equal values (square, symmetric)")
        return int(values[0])

    def check_window_attrs(self, a: dict[str, Any]) -> None:
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise self.fail(f"auto_pad {a['auto_pad']} is not supported; use explicit pads")
        if a.get("dilations") is not None and any(d != 1 for d in a["dilations"]):
            raise self.fail("dilations other than 1 are not supported")
        if a.get("ceil_mode", 0) != 0:
            raise self.fail("ceil_mode = 1 is not supported")

    def op_conv(self, node: onnx.NodeProto) -> None:
        a = self.attrs(
            node,
            {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None,
             "pads": None, "strides": None},
        )  # fmt: skip
        self.check_window_attrs(a)
        if a["group"] != 1:
            raise self.fail("grouped convolutions are not supported")
        x = self.act(node.input[0])
        w = self.const(node.input[1])
        if len(x.shape) != 3:
            raise self.fail(f"needs a (C, H, W) input, got per-sample shape {x.shape}")
        if w.ndim != 4 or w.shape[1] != x.shape[0] or w.dtype.kind != "f":
            raise self.fail(f"weight of shape {w.shape} does not fit {x.shape[0]} channels")
        if w.shape[2] != w.shape[3]:
            raise self.fail(f"only square kernels are supported, got {w.shape[2:]}")
        if a["kernel_shape"] is not None and list(a["kernel_shape"]) != list(w.shape[2:]):
            raise self.fail("kernel_shape disagrees with the weight")
        padding = self.square_pairs(a, "pads", 0, 4)
        stride = self.square_pairs(a, "strides", 1, 2)
        bias = np.zeros(w.shape[0])
        if len(node.input) > 2 and node.input[2]:
            b = self.const(node.input[2])
            if b.shape != (w.shape[0],):
                raise self.fail(f"bias of shape {b.shape} does not fit {w.shape[0]} channels")
            bias = b
        try:
            layer = FloatConv2d(w, bias, stride, padding)
            shape = layer.skeleton().output_shape(x.shape)
        except ArchitectureError as exc:
            raise self.fail(str(exc)) from None
        self.values[node.output[0]] = self.push(layer, shape)

    def op_pool(self, node: onnx.NodeProto) -> None:
        allowed = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": None, "kernel_shape": None,
                   "pads": None, "strides": None}  # fmt: skip
        if node.op_type == "MaxPool":
            allowed["storage_order"] = 0
            if len(node.output) > 1 and node.output[1]:
                raise self.fail("the Indices output is not supported")
        else:
            allowed["count_include_pad"] = 0  # irrelevant: padding is refused
        a = self.attrs(node, allowed)
        self.check_window_attrs(a)
        x = self.act(node.input[0])
        if len(x.shape) != 3:
            raise self.fail(f"needs a (C, H, W) input, got per-sample shape {x.shape}")
        if a["kernel_shape"] is None:
            raise self.fail("kernel_shape is required")
        kernel = self.square_pairs(a, "kernel_shape", 1, 2)
        stride = self.square_pairs(a, "strides", 1, 2)
        if self.square_pairs(a, "pads", 0, 4) != 0:
            raise self.fail("padded pooling is not supported")
        cls = MaxPool2d if node.op_type == "MaxPool" else AvgPool2d
        self.add_pool(node, x, cls(kernel, stride))

    def add_pool(self, node: onnx.NodeProto, x: _Act, layer: MaxPool2d | AvgPool2d) -> None:
        try:
            layer = type(layer)(layer.kernel, layer.stride)
            shape = layer.output_shape(x.shape)
        except ArchitectureError as exc:
            raise self.fail(str(exc)) from None
        self.values[node.output[0]] = self.push(layer, shape)

    def op_global_average_pool(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        x = self.act(node.input[0])
        if len(x.shape) != 3 or x.shape[1] != x.shape[2]:
            raise self.fail(f"needs a square (C, H, H) input, got {x.shape}")
        self.add_pool(node, x, AvgPool2d(x.shape[1], x.shape[1]))

    # ------------------------------------------------------------------- heads

    def op_softmax(self, node: onnx.NodeProto) -> None:
        default_axis = -1 if _opset(self.model, "") >= 13 else 1
        a = self.attrs(node, {"axis": default_axis})
        src = self.final_logits(node.input[0])
        self.class_axis(a["axis"])
        self.head_started = True
        self.values[node.output[0]] = _Scores(src.version)

    def op_normalizer(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"norm": "MAX"})
        if a["norm"] not in ("L1", "L2"):
            raise self.fail(f"norm {a['norm']} can reverse the order of negative scores")
        src = self.final_logits(node.input[0])
        self.head_started = True
        self.values[node.output[0]] = _Scores(src.version)

    def op_argmax(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"axis": 0, "keepdims": 1, "select_last_index": 0})
        src = self.final_logits(node.input[0])
        self.class_axis(a["axis"])
        if a["select_last_index"] != 0:
            raise self.fail("select_last_index = 1 breaks the lowest-index tie rule")
        self.head_started = True
        self.values[node.output[0]] = _Label(src.version)

    def op_array_feature_extractor(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        classes = self.const(node.input[0])
        label = self.get(node.input[1])
        if not isinstance(label, _Label):
            raise self.fail("only a class lookup by predicted label is supported")
        k = self.layers[-1].weight.shape[0]
        if classes.dtype.kind not in "iu" or not np.array_equal(classes, np.arange(k)):
            raise self.fail(f"the class list must be exactly 0..{k - 1} in order")
        self.values[node.output[0]] = label

    def op_zipmap(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {"classlabels_int64s": None, "classlabels_strings": None})
        if not isinstance(self.get(node.input[0]), _Scores):
            raise self.fail("ZipMap is accepted only on the probabilities")
        self.values[node.output[0]] = _ZipMap()

    def op_linear_classifier(self, node: onnx.NodeProto) -> None:
        a = self.attrs(
            node,
            {"coefficients": None, "intercepts": None, "classlabels_ints": None,
             "classlabels_strings": None, "multi_class": 0, "post_transform": "NONE"},
        )  # fmt: skip
        x = self.act(node.input[0])
        if len(x.shape) != 1:
            raise self.fail(f"needs a flat input, got per-sample shape {x.shape}")
        if a["classlabels_strings"] is not None or a["classlabels_ints"] is None:
            raise self.fail("only integer class labels 0..K-1 are supported")
        k = len(a["classlabels_ints"])
        if k < 2 or list(a["classlabels_ints"]) != list(range(k)):
            raise self.fail(f"class labels must be exactly 0..K-1, got {a['classlabels_ints']}")
        if a["post_transform"] not in ("NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT"):
            raise self.fail(f"post_transform {a['post_transform']} is not supported")
        coef = np.array(a["coefficients"] or [], dtype=np.float64)
        f = x.shape[0]
        if coef.size == 0 or coef.size % f:
            raise self.fail(f"{coef.size} coefficients do not fit {f} inputs")
        rows = coef.size // f
        weight = coef.reshape(rows, f)
        intercepts = a["intercepts"]
        bias = np.array(intercepts if intercepts is not None else [0.0] * rows, dtype=np.float64)
        if bias.shape != (rows,):
            raise self.fail(f"{bias.size} intercepts for {rows} score columns")
        if rows == 1 and k == 2:
            # One score s: logits [-s, s] pick class 1 exactly when s > 0 (see module doc).
            weight, bias = np.stack([-weight[0], weight[0]]), np.array([-bias[0], bias[0]])
        elif rows != k:
            raise self.fail(f"{rows} score columns for {k} classes")
        try:
            layer = FloatDense(weight, bias)
        except ArchitectureError as exc:
            raise self.fail(str(exc)) from None
        self.push(layer, (k,))
        self.head_started = True
        self.values[node.output[0]] = _Label(self.version)
        if len(node.output) > 1 and node.output[1]:
            self.values[node.output[1]] = _Scores(self.version)


def _opset(model: onnx.ModelProto, domain: str) -> int:
    for o in model.opset_import:
        if o.domain in ((domain, "ai.onnx") if domain == "" else (domain,)):
            return int(o.version)
    return 1


_HANDLERS = {
    ("", "Identity"): _Importer.op_identity,
    ("", "Cast"): _Importer.op_cast,
    ("", "Constant"): _Importer.op_constant,
    ("", "MatMul"): _Importer.op_matmul,
    ("", "Gemm"): _Importer.op_gemm,
    ("", "Add"): _Importer.op_add,
    ("", "Relu"): _Importer.op_relu,
    ("", "Flatten"): _Importer.op_flatten,
    ("", "Reshape"): _Importer.op_reshape,
    ("", "Conv"): _Importer.op_conv,
    ("", "MaxPool"): _Importer.op_pool,
    ("", "AveragePool"): _Importer.op_pool,
    ("", "GlobalAveragePool"): _Importer.op_global_average_pool,
    ("", "Softmax"): _Importer.op_softmax,
    ("", "LogSoftmax"): _Importer.op_softmax,
    ("", "ArgMax"): _Importer.op_argmax,
    (_ML_DOMAIN, "Normalizer"): _Importer.op_normalizer,
    (_ML_DOMAIN, "ArrayFeatureExtractor"): _Importer.op_array_feature_extractor,
    (_ML_DOMAIN, "ZipMap"): _Importer.op_zipmap,
    (_ML_DOMAIN, "LinearClassifier"): _Importer.op_linear_classifier,
}
