"""ONNX → :class:`~zkproofs.ml.quantize.FloatModel`, with the ``onnx`` package only (no runtime).

The importer walks the graph in its (topological) node order and accepts one chain of
compute operators from the single graph input to the logits, followed by classification
heads that do not change the predicted label. Everything that is not a layer of its own is
folded exactly (in float64, before quantization) into the layers around it. Anything else
is refused with an :class:`OnnxImportError` naming the operator and the node, and saying
what to do instead.

Compute operators (each consumes the current activation and constants):

- ``Gemm`` (transA=0, transB 0/1, alpha, beta), ``MatMul`` followed by ``Add`` of a constant
  bias → Dense; ``Conv`` (2-D, group 1, dilations 1, symmetric square padding, square kernel
  and stride; ``Add`` of a per-channel constant is folded into its bias) → Conv2d;
- ``BatchNormalization`` (inference mode) directly after a Gemm/MatMul(+Add) or Conv, before
  any Relu or pooling: ``γ·(y − μ)/√(σ² + ε) + β`` is folded into that layer's weights and
  bias per output channel. A training-mode export (``training_mode = 1``, the running
  statistics as outputs) is refused: call ``model.eval()`` before exporting;
- ``Relu`` → the ReLU flag of the preceding Dense/Conv. ReLU commutes with MaxPool and
  Flatten, so ``Conv → MaxPool → Relu`` (the classic PyTorch MNIST net) is accepted; after an
  AveragePool it does not commute and is refused;
- ``MaxPool``/``AveragePool`` (2-D, square kernel and stride, no padding, ceil_mode 0,
  dilations 1; the Indices output of MaxPool refused), ``GlobalAveragePool`` on a square map;
- ``Flatten`` (axis 1) and ``Reshape`` to ``(batch, features)`` with a constant shape
  (``[-1, F]``, ``[0, F]``, ``[b, -1]`` …); on the model input, before any layer, ``Reshape``
  of the flat competition input to an image ``(batch, C, H, W)`` → the Reshape layer;
- ``Dropout`` (the identity at inference; ``training_mode = true`` is refused), ``Identity``,
  ``Cast`` to float/double, ``Constant``, ``Concat`` of constants (shapes built in pieces).

Input preprocessing, in front of the first Conv/Gemm/MatMul only (as a scikit-learn
pipeline or a model's own normalization writes it): ``ai.onnx.ml.Scaler`` (``(x − offset)·
scale`` per feature: StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler), ``Sub``,
``Div``, ``Mul`` and ``Add`` of constants, and ``BatchNormalization`` on the input compose to
``a⊙x + c``, folded into the first layer: ``W·(a⊙x + c) + b = (W·diag(a))·x + (W·c + b)``.
A convolution shares its weights across pixels, so in front of a Conv the map must be per
channel, and an offset ``c ≠ 0`` needs ``padding = 0`` (the zero padding would otherwise see
the offset too). A ``ai.onnx.ml.Normalizer`` in front of the model divides each sample by
its own norm: a per-sample nonlinear map that no integer layer expresses, so it is refused
(drop it, or have the organizer publish normalized data).

Heads (after the last compute operator; none may feed a compute operator again):

- ``Softmax``/``LogSoftmax`` on the class axis, ``ai.onnx.ml.Normalizer`` with L1 or L2 norm
  (division by a positive norm), ``Identity``, ``Dropout`` and ``Cast`` keep the argmax.
  Normalizer MAX is refused: dividing by a negative maximum reverses the order.
- A single output logit ``z`` (binary classification) with ``Sigmoid``, or bare (a
  BCEWithLogitsLoss model): the logit layer becomes the two logits ``[−z, z]``, whose argmax
  with the lowest index winning ties is class 1 exactly when ``z > 0`` and class 0 at
  ``z = 0`` — scikit-learn's rule (class 1 iff ``σ(z) > 0.5``). skl2onnx's binary MLP head
  ``Concat([1 − σ(z), σ(z)])`` is ``[σ(−z), σ(z)]``, a monotone map of those logits. Sigmoid
  anywhere else (a hidden activation) is refused: hidden layers must use Relu.
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
as external data (the dynamo exporter writes ``model.onnx.data`` next to ``model.onnx`` by
default) are read only when the model is loaded from its file path, only from a plain file
name in the model's own folder (no path, no symbolic link leading out of it), and only up to
the file-size limit in total; from bytes they are refused (export with
``external_data=False`` to embed them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ..errors import InvalidInputError
from .architecture import (
    MAX_PARAMETERS,
    ArchitectureError,
    AvgPool2d,
    Flatten,
    MaxPool2d,
    Reshape,
)
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
_CONST_TYPES = _FLOAT_TYPES | _INT_TYPES | {TensorProto.BOOL}  # BOOL: Dropout's training_mode


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
class _Sigmoid:
    """σ(z) of a single logit z: the probability of class 1 (the logits are now [−z, z])."""

    version: int


@dataclass(frozen=True)
class _SigmoidComplement:
    """1 − σ(z) = σ(−z): the probability of class 0."""

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
    external = None
    if not isinstance(source, (bytes, bytearray, memoryview, onnx.ModelProto)):
        external = _ExternalData(os.path.dirname(os.path.abspath(source)), max_file_bytes)
    importer = _Importer(model, max_initializer_elements, max_nodes, external)
    float_model = importer.run()
    if float_model.parameter_count > max_parameters:
        raise OnnxLimitError(
            f"the model has {float_model.parameter_count} parameters; the limit is {max_parameters}"
        )
    return float_model


class _ExternalData:
    """Reads tensors that an exporter stored next to the model file (torch.onnx.export with
    the dynamo exporter writes ``model.onnx.data`` by default). Only a plain file name in the
    model's own folder is followed (no path, no symbolic link out of the folder), and the
    bytes read in total stay within the file-size limit."""

    def __init__(self, folder: str, budget: int):
        self.folder = os.path.realpath(folder)
        self.budget = budget

    def read(self, tensor: TensorProto, nbytes: int, what: str) -> bytes:
        info = {e.key: e.value for e in tensor.external_data}
        location = info.get("location", "")
        if (not location or location in (".", "..") or os.path.basename(location) != location
                or "\\" in location or "/" in location):
            raise OnnxImportError(
                f"{what} is stored in external data at {location!r}; only a file next to the "
                "model is read"
            )
        path = os.path.realpath(os.path.join(self.folder, location))
        if os.path.dirname(path) != self.folder or not os.path.isfile(path):
            raise OnnxImportError(
                f"{what} is stored in {location!r}, which is not a file next to the model"
            )
        try:
            offset = int(info.get("offset", "0"))
            length = int(info.get("length", str(nbytes)))
        except ValueError:
            raise OnnxImportError(f"{what}: malformed external-data offset or length") from None
        if offset < 0 or length != nbytes:
            raise OnnxImportError(f"{what}: external data of {length} bytes, expected {nbytes}")
        if nbytes > self.budget:
            raise OnnxLimitError(f"the model's external data exceed {self.budget} bytes")
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(nbytes)
        if len(data) != nbytes:
            raise OnnxImportError(f"{what}: {location!r} is too short")
        self.budget -= nbytes
        return data


def _tensor_to_array(
    tensor: TensorProto, max_elements: int, what: str, external: _ExternalData | None = None
) -> np.ndarray:
    """Convert a TensorProto after checking its declared size, type and data location."""
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
    if tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data):
        if external is None:
            raise OnnxImportError(
                f"{what} is stored as external data; load the model from its file (next to "
                "its .data file) or export with the weights embedded (external_data=False)"
            )
        itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
        data = external.read(tensor, count * itemsize, what)
        inline = TensorProto()
        inline.CopyFrom(tensor)
        del inline.external_data[:]
        inline.data_location = TensorProto.DEFAULT
        inline.raw_data = data
        tensor = inline
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
    def __init__(
        self,
        model: onnx.ModelProto,
        max_elements: int,
        max_nodes: int,
        external: _ExternalData | None = None,
    ):
        self.model = model
        self.external = external
        self.graph = model.graph
        self.max_elements = max_elements
        self.max_nodes = max_nodes
        self.values: dict[str, Any] = {}
        self.layers: list[Any] = []
        self.version = 0
        self.bias_open = False  # an Add may still fold into the last linear layer
        # Elementwise preprocessing in front of the first linear layer (Scaler, Sub, Div,
        # Mul, Add, BatchNormalization on the input): y = scale·x + offset, both arrays of the
        # current activation's per-sample shape; folded into the first Dense/Conv.
        self.front: tuple[np.ndarray, np.ndarray] | None = None
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
        if self.front is not None:
            if isinstance(layer, (FloatDense, FloatConv2d)):
                layer = self.fold_front(layer)
                self.front = None
            elif isinstance(layer, (Flatten, Reshape)):
                self.front = (self.front[0].reshape(shape), self.front[1].reshape(shape))
            else:
                raise self.fail(
                    "pooling after input preprocessing (Scaler, Sub, Div, Mul, Add, "
                    "BatchNormalization) and before the first Conv/Gemm is not supported; "
                    "move the preprocessing after the pooling or into the data"
                )
        self.layers.append(layer)
        self.bias_open = isinstance(layer, (FloatDense, FloatConv2d))
        return self.new_act(shape)

    # ------------------------------------------------- folding affine maps into layers

    def before_first_linear(self) -> bool:
        return not any(isinstance(lay, (FloatDense, FloatConv2d)) for lay in self.layers)

    def per_element(self, c: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
        """A float constant that broadcasts to one value per element of ``shape``."""
        if c.dtype.kind not in "fiu" or c.ndim > len(shape) + 1:
            raise self.fail(f"cannot use a constant of shape {c.shape} as {what}")
        try:
            full = np.broadcast_to(c, (1, *shape))[0]
        except ValueError:
            raise self.fail(
                f"a constant of shape {c.shape} does not broadcast to {shape}"
            ) from None
        return np.array(full, dtype=np.float64)

    def front_affine(self, x: _Act, scale: np.ndarray, offset: np.ndarray) -> _Act:
        """Compose y = scale·x + offset with the pending input preprocessing."""
        a0, c0 = self.front if self.front is not None else (np.ones(x.shape), np.zeros(x.shape))
        scale = np.broadcast_to(scale, x.shape)
        offset = np.broadcast_to(offset, x.shape)
        a, c = scale * a0, scale * c0 + offset
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(c))):
            raise self.fail("the preprocessing produces NaN or infinity")
        self.front = (a, c)
        return self.new_act(x.shape)

    def fold_front(self, layer: FloatDense | FloatConv2d) -> FloatDense | FloatConv2d:
        """W·(a⊙x + c) + b = (W·diag(a))·x + (W·c + b): exact, done in float64."""
        a, c = self.front
        if isinstance(layer, FloatDense):
            weight, bias = layer.weight * a[None, :], layer.bias + layer.weight @ c
            return replace(layer, weight=weight, bias=bias)
        # A convolution shares its weights across positions: the map must be per channel.
        a_ch, c_ch = a[:, 0, 0], c[:, 0, 0]
        if not (np.all(a == a_ch[:, None, None]) and np.all(c == c_ch[:, None, None])):
            raise self.fail(
                "the input preprocessing in front of this Conv differs between pixels of a "
                "channel; a convolution can absorb only a per-channel scale and offset. "
                "Normalize the data instead (the organizer publishes it), or use a Dense model"
            )
        if np.any(c_ch != 0) and layer.padding > 0:
            raise self.fail(
                "an offset (Sub/Add/mean) in front of a zero-padded Conv cannot be folded into "
                "its bias: the padded border would see the offset too. Use padding=0 in the "
                "first Conv, or drop the offset (scale only: x / std)"
            )
        weight = layer.weight * a_ch[None, :, None, None]
        bias = layer.bias + layer.weight.sum(axis=(2, 3)) @ c_ch
        return replace(layer, weight=weight, bias=bias)

    def fold_into_last(self, x: _Act, scale: np.ndarray, offset: np.ndarray) -> _Act:
        """y = scale·(W·x + b) + offset with one scale and offset per output channel (arrays
        of shape (C, 1, …)), folded into the last linear layer, which it directly follows."""
        last = self.layers[-1]
        k, o = scale.reshape(-1), offset.reshape(-1)
        k_w = k.reshape((-1,) + (1,) * (last.weight.ndim - 1))
        self.layers[-1] = replace(last, weight=last.weight * k_w, bias=last.bias * k + o)
        return self.new_act(x.shape)

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
            if value.shape == (1,):
                raise self.fail(
                    "a single logit has no argmax; end a binary model with Sigmoid (class 1 "
                    "iff the logit > 0) or with two outputs"
                )
            return value
        if isinstance(value, (_Sigmoid, _SigmoidComplement)):
            raise self.fail("expects both class probabilities [1 − p, p], not one column")
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
                _tensor_to_array(
                    init, self.max_elements, f"initializer '{init.name}'", self.external
                )
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
                    f"operator not supported; {_hint(node.op_type)} (supported: {_SUPPORTED})",
                    op_type=self.op, node_name=self.node,
                )
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
        last = self.layers[-1]
        if last.weight.shape[0] == 1:
            if last.relu:
                raise OnnxImportError("a single output logit followed by Relu cannot classify")
            # A bare single logit (a BCEWithLogitsLoss model): class 1 iff z > 0, as Sigmoid.
            self.layers[-1] = _two_logits(last)
        derived = (_Act, _Scores, _Label, _Sigmoid, _SigmoidComplement)
        for out in self.graph.output:
            value = self.values.get(out.name)
            ok = isinstance(value, _ZipMap) or (
                isinstance(value, derived) and value.version == self.version
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
        if self.before_first_linear():
            offset = self.per_element(c, x.shape, "an offset")
            self.values[node.output[0]] = self.front_affine(x, np.ones(x.shape), offset)
            return
        if not self.bias_open:
            raise self.fail("an Add must directly follow MatMul, Gemm or Conv (a bias)")
        last = self.layers[-1]
        self.layers[-1] = replace(last, bias=last.bias + self.broadcast_bias(c, x.shape))
        self.values[node.output[0]] = self.new_act(x.shape)

    def preprocessing_only(self, what: str) -> None:
        if not self.before_first_linear():
            raise self.fail(
                f"{what} is supported only in front of the first Conv/Gemm/MatMul (input "
                "preprocessing, folded into that layer), not between layers"
            )

    def op_sub(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        if len(node.input) != 2:
            raise self.fail("Sub needs two inputs")
        a, b = self.get(node.input[0]), self.get(node.input[1])
        if isinstance(b, _Sigmoid) and isinstance(a, _Const):
            # skl2onnx's binary head: [1 − σ(z), σ(z)]; 1 − σ(z) = σ(−z).
            if a.value.size != 1 or float(a.value.reshape(-1)[0]) != 1.0:
                raise self.fail("only 1 − sigmoid is supported in the binary head")
            self.values[node.output[0]] = _SigmoidComplement(b.version)
            return
        if not (isinstance(a, _Act) and isinstance(b, _Const)):
            raise self.fail("only the activation minus a constant (input preprocessing) is "
                            "supported")
        self.preprocessing_only("Sub")
        x = self.act(node.input[0])
        offset = -self.per_element(b.value, x.shape, "an offset")
        self.values[node.output[0]] = self.front_affine(x, np.ones(x.shape), offset)

    def op_mul_div(self, node: onnx.NodeProto) -> None:
        self.attrs(node, {})
        if len(node.input) != 2:
            raise self.fail(f"{node.op_type} needs two inputs")
        kinds = [self.get(n) for n in node.input]
        act_pos = [i for i, v in enumerate(kinds) if isinstance(v, _Act)]
        divide = node.op_type == "Div"
        if len(act_pos) != 1 or (divide and act_pos[0] != 0):
            raise self.fail(f"only the activation {'divided' if divide else 'multiplied'} by a "
                            "constant (input preprocessing) is supported")
        self.preprocessing_only(node.op_type)
        x = self.act(node.input[act_pos[0]])
        factor = self.per_element(self.const(node.input[1 - act_pos[0]]), x.shape, "a factor")
        if divide:
            if np.any(factor == 0):
                raise self.fail("division by zero")
            factor = 1.0 / factor
        self.values[node.output[0]] = self.front_affine(x, factor, np.zeros(x.shape))

    def op_scaler(self, node: onnx.NodeProto) -> None:
        """ai.onnx.ml.Scaler: y = (x − offset)·scale per feature (skl2onnx's StandardScaler,
        MinMaxScaler, MaxAbsScaler, RobustScaler), folded into the first layer."""
        a = self.attrs(node, {"offset": None, "scale": None})
        self.preprocessing_only("Scaler")
        x = self.act(node.input[0])
        offset = np.array(a["offset"] if a["offset"] is not None else [0.0], dtype=np.float64)
        scale = np.array(a["scale"] if a["scale"] is not None else [1.0], dtype=np.float64)
        if len(x.shape) != 1:
            raise self.fail(f"needs a flat input, got per-sample shape {x.shape}")
        for name, arr in (("offset", offset), ("scale", scale)):
            if arr.size not in (1, x.shape[0]):
                raise self.fail(f"{arr.size} {name} values for {x.shape[0]} features")
            if not np.all(np.isfinite(arr)):
                raise self.fail(f"{name} contains NaN or infinity")
        scale = np.broadcast_to(scale, x.shape)
        offset = np.broadcast_to(offset, x.shape)
        self.values[node.output[0]] = self.front_affine(x, scale, -offset * scale)

    def op_batch_normalization(self, node: onnx.NodeProto) -> None:
        """Inference-mode BatchNormalization: y = γ·(x − μ)/√(σ² + ε) + β per channel, folded
        into the Conv/Gemm/MatMul it directly follows (or, on the input, into the first one)."""
        a = self.attrs(
            node,
            {"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0, "spatial": 1, "is_test": 0,
             "consumed_inputs": None},
        )  # fmt: skip
        old_training = _opset(self.model, "") < 7 and a["is_test"] != 1
        if a["training_mode"] != 0 or any(node.output[1:]) or old_training:
            raise self.fail("exported in training mode: call model.eval() before exporting "
                            "(or export with training=torch.onnx.TrainingMode.EVAL)")
        if a["spatial"] != 1:
            raise self.fail("spatial = 0 is not supported")
        if len(node.input) != 5:
            raise self.fail("needs the inputs X, scale, B, mean and var")
        x = self.act(node.input[0])
        channels = x.shape[0]
        gamma, beta, mean, var = (self.const(n) for n in node.input[1:5])
        for name, arr in (("scale", gamma), ("B", beta), ("mean", mean), ("var", var)):
            if arr.shape != (channels,) or arr.dtype.kind != "f":
                raise self.fail(f"{name} of shape {arr.shape} does not fit {channels} channels")
        denom = var + float(a["epsilon"])
        if np.any(denom <= 0):
            raise self.fail("var + epsilon must be positive")
        k = gamma / np.sqrt(denom)
        o = beta - mean * k
        channel_shape = (channels,) + (1,) * (len(x.shape) - 1)
        k, o = k.reshape(channel_shape), o.reshape(channel_shape)
        if self.before_first_linear():
            self.values[node.output[0]] = self.front_affine(x, k, o)
        elif self.bias_open:
            self.values[node.output[0]] = self.fold_into_last(x, k, o)
        else:
            raise self.fail(
                "BatchNormalization must directly follow a Conv, Gemm or MatMul (before any "
                "Relu or pooling), where it is folded into that layer; move it before the Relu"
            )

    def op_dropout(self, node: onnx.NodeProto) -> None:
        """Dropout is the identity at inference; a training-mode export is refused."""
        a = self.attrs(node, {"ratio": 0.5, "is_test": None, "seed": None})
        if a["is_test"] == 0 and _opset(self.model, "") < 7:
            raise self.fail("is_test = 0 drops activations: export in inference mode")
        if len(node.input) > 1 and node.input[1]:
            self.const(node.input[1])  # the ratio: any constant, unused at inference
        if len(node.input) > 2 and node.input[2]:
            mode = self.const(node.input[2])
            if mode.size != 1 or bool(mode.reshape(-1)[0]):
                raise self.fail(
                    "exported in training mode (training_mode = true drops activations at "
                    "random): call model.eval() before exporting"
                )
        graph_outputs = {o.name for o in self.graph.output}
        if len(node.output) > 1 and node.output[1] in graph_outputs:
            raise self.fail("the mask output is not supported")
        # The mask output is left undefined: a node reading it is refused.
        self.values[node.output[0]] = self.get(node.input[0])

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
        batch_ok = len(t) >= 2 and (
            t[0] == -1 or t[0] > 0 or (t[0] == 0 and a["allowzero"] == 0)
        )
        if batch_ok and len(t) == 4 and len(x.shape) == 1:
            self.values[node.output[0]] = self.to_image(x, t)
            return
        if not batch_ok or len(t) != 2 or t[1] not in (-1, features) or t == [-1, -1]:
            raise self.fail(
                f"Reshape to {t}: only flattening to (batch, {features}) and, as the first "
                f"layer, a flat input to an image (batch, C, H, W) are supported"
            )
        self.values[node.output[0]] = self.flatten(x)

    def to_image(self, x: _Act, t: list[int]) -> _Act:
        """The competition's flat input read as a (C, H, W) image: the Reshape layer."""
        features = x.shape[0]
        dims = t[1:]
        if dims.count(-1) == 1 and t[0] != -1 and all(d > 0 for d in dims if d != -1):
            known = int(np.prod([d for d in dims if d != -1]))
            if known and features % known == 0:
                dims = [features // known if d == -1 else d for d in dims]
        if any(d <= 0 for d in dims) or int(np.prod(dims)) != features:
            raise self.fail(f"Reshape to {t}: {features} inputs do not make a (C, H, W) image")
        if self.layers:
            raise self.fail(
                f"Reshape to {t}: reshaping to an image is supported only on the model input "
                "(the first layer)"
            )
        try:
            layer = Reshape(*dims)
        except ArchitectureError as exc:
            raise self.fail(str(exc)) from None
        return self.push(layer, layer.shape)

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

    def op_sigmoid(self, node: onnx.NodeProto) -> None:
        """Sigmoid on a single logit z: the binary head. The logit layer becomes [−z, z],
        whose argmax (lowest index wins ties) is class 1 iff z > 0 — scikit-learn's rule
        (class 1 iff σ(z) > 0.5), with z = 0 going to class 0."""
        self.attrs(node, {})
        value = self.get(node.input[0])
        last = self.layers[-1] if self.layers else None
        single = (
            isinstance(value, _Act) and value.version == self.version and value.shape == (1,)
            and isinstance(last, FloatDense) and not last.relu and not self.head_started
        )  # fmt: skip
        if not single:
            raise self.fail(
                "Sigmoid is not supported here: only on a single output logit (the binary "
                "head, class 1 iff the logit > 0); hidden layers must use Relu (e.g. "
                "MLPClassifier(activation='relu'), torch.nn.ReLU)"
            )
        self.layers[-1] = _two_logits(last)
        self.bias_open = False
        self.head_started = True
        self.version += 1
        self.values[node.output[0]] = _Sigmoid(self.version)

    def op_concat(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"axis": None})
        parts = [self.get(n) for n in node.input]
        if parts and all(isinstance(p, _Const) for p in parts):
            # Constants (a shape built from pieces, as the dynamo exporter emits): fold.
            try:
                value = np.concatenate([p.value for p in parts], axis=a["axis"])
            except (ValueError, TypeError, np.exceptions.AxisError) as exc:
                raise self.fail(f"cannot concatenate these constants: {exc}") from None
            if value.size > self.max_elements:
                raise OnnxLimitError(f"more than {self.max_elements} elements",
                                     op_type=self.op, node_name=self.node)
            self.values[node.output[0]] = _Const(value)
            return
        if (
            len(parts) == 2 and a["axis"] in (1, -1)
            and isinstance(parts[0], _SigmoidComplement) and isinstance(parts[1], _Sigmoid)
            and parts[0].version == parts[1].version == self.version
        ):  # fmt: skip
            # [σ(−z), σ(z)] is a monotone map of each of the logits [−z, z].
            self.values[node.output[0]] = _Scores(self.version)
            return
        raise self.fail("Concat is supported only on constants and as the binary head "
                        "[1 − sigmoid(z), sigmoid(z)] on the class axis")

    def op_softmax(self, node: onnx.NodeProto) -> None:
        default_axis = -1 if _opset(self.model, "") >= 13 else 1
        a = self.attrs(node, {"axis": default_axis})
        src = self.final_logits(node.input[0])
        self.class_axis(a["axis"])
        self.head_started = True
        self.values[node.output[0]] = _Scores(src.version)

    def op_normalizer(self, node: onnx.NodeProto) -> None:
        a = self.attrs(node, {"norm": "MAX"})
        value = self.get(node.input[0])
        if isinstance(value, _Act) and self.before_first_linear():
            raise self.fail(
                f"the Normalizer (norm {a['norm']}) in front of the model divides each sample "
                "by its own norm, a per-sample nonlinear map that integer layers cannot express or "
                "fold. Drop it from the pipeline, or have the organizer publish normalized data"
            )
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


_SUPPORTED = (
    "Gemm, MatMul, Conv, Add/BatchNormalization folded into them, Relu, MaxPool, "
    "AveragePool, GlobalAveragePool, Flatten, Reshape, Dropout, Identity, input "
    "preprocessing (Scaler, Sub, Div, Mul), and argmax-preserving heads (Softmax, "
    "LogSoftmax, Sigmoid on one logit, ArgMax, …)"
)
_ACTIVATIONS = {"Tanh", "LeakyRelu", "Elu", "Selu", "Celu", "Gelu", "Softplus", "Softsign",
                "HardSigmoid", "HardSwish", "PRelu", "Mish", "Clip", "ThresholdedRelu", "Swish"}
_SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Slice", "ConstantOfShape", "Expand",
              "Size", "Range"}
_HINTS = {
    "Transpose": "the layout must stay (C, H, W) in C order; flatten with torch.flatten(x, 1) "
                 "rather than after a permute",
    "Pad": "use the Conv's own zero padding (padding=...) instead of a separate Pad",
    "LSTM": "recurrent layers are not supported", "GRU": "recurrent layers are not supported",
    "RNN": "recurrent layers are not supported",
    "ConvTranspose": "transposed convolutions are not supported",
    "Resize": "resize the data instead of inside the model",
    "Upsample": "resize the data instead of inside the model",
    "QuantizeLinear": "export the float model: zkarena quantizes it itself",
    "DequantizeLinear": "export the float model: zkarena quantizes it itself",
    "QLinearConv": "export the float model: zkarena quantizes it itself",
    "QLinearMatMul": "export the float model: zkarena quantizes it itself",
    "MatMulInteger": "export the float model: zkarena quantizes it itself",
    "TreeEnsembleClassifier": "tree ensembles are not supported: use a linear model or an MLP",
    "SVMClassifier": "kernel SVMs are not supported: use a linear model or an MLP",
    "Imputer": "impute missing values in the data, not in the model",
    "OneHotEncoder": "encode the features in the data, not in the model",
}


def _hint(op_type: str) -> str:
    if op_type in _ACTIVATIONS:
        return ("hidden activations must be Relu: retrain with ReLU (torch.nn.ReLU, "
                "MLPClassifier(activation='relu'))")
    if op_type in _SHAPE_OPS:
        return ("the graph computes shapes at run time: export with a fixed input shape and "
                "constant reshapes (torch.flatten(x, 1), x.reshape(-1, C, H, W))")
    return _HINTS.get(op_type, "rewrite the model with the supported operators")


def _two_logits(layer: FloatDense) -> FloatDense:
    """A single logit z → the two logits [−z, z]: argmax (lowest index wins ties) is class 1
    exactly when z > 0, and z = 0 goes to class 0."""
    w, b = layer.weight[0], layer.bias[0]
    return FloatDense(np.stack([-w, w]), np.array([-b, b]), relu=False)


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
    ("", "Sub"): _Importer.op_sub,
    ("", "Mul"): _Importer.op_mul_div,
    ("", "Div"): _Importer.op_mul_div,
    ("", "BatchNormalization"): _Importer.op_batch_normalization,
    ("", "Dropout"): _Importer.op_dropout,
    ("", "Sigmoid"): _Importer.op_sigmoid,
    ("", "Concat"): _Importer.op_concat,
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
    (_ML_DOMAIN, "Scaler"): _Importer.op_scaler,
    (_ML_DOMAIN, "ArrayFeatureExtractor"): _Importer.op_array_feature_extractor,
    (_ML_DOMAIN, "ZipMap"): _Importer.op_zipmap,
    (_ML_DOMAIN, "LinearClassifier"): _Importer.op_linear_classifier,
}
