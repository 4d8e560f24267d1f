"""Helpers for the ML tests: scikit-learn exports and hand-built ONNX graphs."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def rng() -> np.random.Generator:
    """A fixed-seed generator for test weights (tests only; zkproofs never uses numpy.random)."""
    return np.random.default_rng(1234)


def to_onnx_bytes(model, n_features: int, *, zipmap: bool = True) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = None if zipmap else {id(model): {"zipmap": False}}
    onx = convert_sklearn(
        model, initial_types=[("input", FloatTensorType([None, n_features]))], options=options
    )
    return onx.SerializeToString()


def init(name: str, value) -> onnx.TensorProto:
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float32)
    return numpy_helper.from_array(arr, name)


def graph_model(
    nodes: list[onnx.NodeProto],
    initializers: list[onnx.TensorProto],
    input_shape: tuple[int, ...],
    outputs: list[str],
    *,
    opset: int = 17,
    ml: bool = False,
) -> onnx.ModelProto:
    """A model with one float input of shape (batch, *input_shape)."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *input_shape])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, ["N", "K"]) for o in outputs],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    if ml:
        opsets.append(helper.make_opsetid("ai.onnx.ml", 1))
    return helper.make_model(graph, opset_imports=opsets)


def run_reference(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model).run(None, {"x": x.astype(np.float32)})


def torch_like_conv_net(
    *, flatten: str = "Flatten", relu_after_pool: bool = False, avg: bool = False
) -> onnx.ModelProto:
    """What torch.onnx.export emits for a small Conv net on (N, 1, 8, 8) inputs."""
    r = rng()
    w1, b1 = r.normal(size=(4, 1, 3, 3)), r.normal(size=4) * 0.1
    w2, b2 = r.normal(size=(6, 4, 3, 3)) * 0.3, r.normal(size=6) * 0.1
    g1, c1 = r.normal(size=(16, 24)) * 0.3, r.normal(size=16) * 0.1
    g2, c2 = r.normal(size=(10, 16)) * 0.3, r.normal(size=10) * 0.1
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    pool = dict(kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="/conv1/Conv", **conv)]
    if relu_after_pool:  # F.relu(F.max_pool2d(conv(x), 2)), the classic MNIST example
        nodes += [
            helper.make_node("MaxPool", ["c1"], ["p1"], name="/MaxPool", ceil_mode=0, **pool),
            helper.make_node("Relu", ["p1"], ["r1"], name="/Relu"),
        ]
    else:
        nodes += [
            helper.make_node("Relu", ["c1"], ["p0"], name="/Relu"),
            helper.make_node("MaxPool", ["p0"], ["r1"], name="/MaxPool", ceil_mode=0, **pool),
        ]
    nodes += [
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="/conv2/Conv", **conv),
        helper.make_node("Relu", ["c2"], ["r2"], name="/Relu_1"),
    ]
    pool_op = "AveragePool" if avg else "MaxPool"
    nodes.append(helper.make_node(pool_op, ["r2"], ["p2"], name="/pool2", **pool))
    inits = [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2)]
    if flatten == "Flatten":
        nodes.append(helper.make_node("Flatten", ["p2"], ["f"], name="/Flatten", axis=1))
    else:  # x.view(-1, 24) with a constant shape initializer
        inits.append(init("shape", np.array([-1, 24], dtype=np.int64)))
        nodes.append(helper.make_node("Reshape", ["p2", "shape"], ["f"], name="/Reshape"))
    nodes += [
        helper.make_node("Gemm", ["f", "g1", "fc1_b"], ["h"], name="/fc1/Gemm", alpha=1.0,
                         beta=1.0, transB=1),
        helper.make_node("Relu", ["h"], ["hr"], name="/Relu_2"),
        helper.make_node("Gemm", ["hr", "g2", "fc2_b"], ["logits"], name="/fc2/Gemm", transB=1),
    ]  # fmt: skip
    inits += [init("g1", g1), init("fc1_b", c1), init("g2", g2), init("fc2_b", c2)]
    return graph_model(nodes, inits, (1, 8, 8), ["logits"])
