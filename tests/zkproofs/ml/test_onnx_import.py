"""ONNX import: real skl2onnx exports, hand-built graphs (as torch.onnx.export emits them)
checked against the ONNX reference runtime, and every refusal naming operator and node."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from zkproofs.ml import (
    AvgPool2d,
    Flatten,
    FloatConv2d,
    FloatDense,
    MaxPool2d,
    OnnxImportError,
    OnnxLimitError,
    UnsupportedOperatorError,
    load_onnx,
)

from .helpers import graph_model, init, rng, run_reference, to_onnx_bytes, torch_like_conv_net

# ------------------------------------------------------------------ scikit-learn exports


@pytest.mark.parametrize("zipmap", [True, False])
def test_logistic_regression_export(digits, digits_lr, zipmap):
    fm = load_onnx(to_onnx_bytes(digits_lr, 64, zipmap=zipmap))
    assert fm.input_shape == (64,)
    assert len(fm.layers) == 1 and isinstance(fm.layers[0], FloatDense)
    np.testing.assert_allclose(fm.layers[0].weight, digits_lr.coef_, rtol=1e-6, atol=1e-7)
    agree = np.mean(fm.predict(digits.x_test) == digits_lr.predict(digits.x_test))
    assert agree >= 0.99  # float32 initializers may flip a near-tie


@pytest.mark.parametrize("zipmap", [True, False])
def test_mlp_export(digits, digits_mlp, zipmap):
    fm = load_onnx(to_onnx_bytes(digits_mlp, 64, zipmap=zipmap))
    kinds = [type(layer) for layer in fm.layers]
    assert kinds == [FloatDense, FloatDense]
    assert fm.layers[0].relu and not fm.layers[1].relu
    assert fm.layers[0].weight.shape == (32, 64)
    np.testing.assert_allclose(fm.layers[0].bias, digits_mlp.intercepts_[0], rtol=1e-6)
    agree = np.mean(fm.predict(digits.x_test) == digits_mlp.predict(digits.x_test))
    assert agree >= 0.99


def test_import_from_a_file_path(tmp_path, digits_lr):
    path = tmp_path / "lr.onnx"
    path.write_bytes(to_onnx_bytes(digits_lr, 64))
    assert load_onnx(path).num_classes == 10
    assert load_onnx(str(path)).num_classes == 10


def test_binary_logistic_regression_export(breast_cancer):
    model, _, xi_te, _, _ = breast_cancer
    fm = load_onnx(to_onnx_bytes(model, 30, zipmap=False))
    assert fm.num_classes == 2
    weight = fm.layers[0].weight
    np.testing.assert_allclose(weight[1], -weight[0])  # the logits are [-s, s]
    agree = np.mean(fm.predict(xi_te / 8.0) == model.predict(xi_te / 8.0))
    assert agree >= 0.99


def single_score_classifier(coef, intercept, post_transform="NONE") -> onnx.ModelProto:
    node = helper.make_node(
        "LinearClassifier", ["x"], ["label", "scores"], domain="ai.onnx.ml",
        coefficients=list(coef), intercepts=[intercept], classlabels_ints=[0, 1],
        post_transform=post_transform, name="lc",
    )  # fmt: skip
    return graph_model([node], [], (len(coef),), ["label", "scores"], ml=True)


def test_binary_single_score_column_matches_sklearn_at_the_tie():
    from sklearn.linear_model import LogisticRegression

    coef, intercept = np.array([1.0, -1.0]), 0.0
    sk = LogisticRegression()
    sk.coef_, sk.intercept_, sk.classes_ = coef[None, :], np.array([intercept]), np.array([0, 1])
    x = np.array([[3.0, 3.0], [3.0, 2.0], [2.0, 3.0], [0.0, 0.0]])
    fm = load_onnx(single_score_classifier(coef, intercept))
    np.testing.assert_array_equal(fm.logits(x)[:, 1], sk.decision_function(x))
    np.testing.assert_array_equal(fm.logits(x)[:, 0], -sk.decision_function(x))
    # s == 0 → class 0, exactly like scikit-learn's `decision_function > 0`.
    np.testing.assert_array_equal(fm.predict(x), sk.predict(x))
    np.testing.assert_array_equal(fm.predict(x), [0, 1, 0, 0])
    # The reference runtime's label agrees off the tie as well.
    labels = run_reference(single_score_classifier(coef, intercept), x)[0]
    np.testing.assert_array_equal(labels[:3], [0, 1, 0])


# ---------------------------------------------------------- torch-style hand-built nets


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"flatten": "Reshape"},
        {"relu_after_pool": True},
        {"avg": True},
    ],
)
def test_torch_like_conv_net_matches_the_reference_runtime(digits, kwargs):
    onnx_model = torch_like_conv_net(**kwargs)
    onnx.checker.check_model(onnx_model)
    fm = load_onnx(onnx_model)
    kinds = [type(layer) for layer in fm.layers]
    pool2 = AvgPool2d if kwargs.get("avg") else MaxPool2d
    assert kinds == [FloatConv2d, MaxPool2d, FloatConv2d, pool2, Flatten, FloatDense, FloatDense]
    assert [getattr(layer, "relu", None) for layer in fm.layers] == [
        True, None, True, None, None, True, False,
    ]  # fmt: skip
    x = digits.x_test[:50].reshape(-1, 1, 8, 8).astype(np.float64)
    (expected,) = run_reference(onnx_model, x)
    np.testing.assert_allclose(fm.logits(x), expected, rtol=1e-4, atol=1e-4)


def test_matmul_add_and_per_channel_conv_bias():
    r = rng()
    w, b = r.normal(size=(2, 1, 3, 3)), r.normal(size=(1, 2, 1, 1))
    m, c = r.normal(size=(8, 3)), r.normal(size=(1, 3))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
        helper.make_node("Add", ["b", "c"], ["cb"], name="bias"),  # constant first
        helper.make_node("Flatten", ["cb"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "m"], ["mm"], name="mm"),
        helper.make_node("Add", ["mm", "c2"], ["out"], name="add"),
        helper.make_node("Softmax", ["out"], ["prob"], name="softmax", axis=1),
    ]
    inits = [init("w", w), init("b", b), init("m", m), init("c2", c)]
    model = graph_model(nodes, inits, (1, 4, 4), ["out", "prob"])
    fm = load_onnx(model)
    np.testing.assert_allclose(fm.layers[0].bias, b.ravel(), rtol=1e-6)
    x = r.normal(size=(5, 1, 4, 4))
    out, _ = run_reference(model, x)
    np.testing.assert_allclose(fm.logits(x), out, rtol=1e-4, atol=1e-5)


def test_global_average_pool_and_constant_nodes():
    r = rng()
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["g"], name="gap"),
        helper.make_node("Constant", [], ["shape"], name="const", value_ints=[0, 3]),
        helper.make_node("Reshape", ["g", "shape"], ["f"], name="reshape"),
        helper.make_node("Gemm", ["f", "gw"], ["logits"], name="fc", transB=0),
        helper.make_node("LogSoftmax", ["logits"], ["lp"], name="lsm"),
        helper.make_node("ArgMax", ["lp"], ["label"], name="argmax", axis=1, keepdims=0),
    ]
    inits = [
        init("w", r.normal(size=(3, 2, 1, 1))),
        init("b", r.normal(size=3)),
        init("gw", r.normal(size=(3, 4))),
    ]
    model = graph_model(nodes, inits, (2, 4, 4), ["logits", "label"])
    fm = load_onnx(model)
    assert isinstance(fm.layers[1], AvgPool2d) and fm.layers[1].kernel == 4
    x = r.normal(size=(6, 2, 4, 4))
    logits, label = run_reference(model, x)
    np.testing.assert_allclose(fm.logits(x), logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(fm.predict(x), label)


# ------------------------------------------------------------------------- refusals


def dense_chain(middle: list[onnx.NodeProto], extra_inits=()) -> onnx.ModelProto:
    """x (4) → Gemm → <middle, from 'h' to 'm'> → Gemm → logits (3)."""
    r = rng()
    nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1)]
    nodes += middle
    nodes.append(helper.make_node("Gemm", ["m", "w2", "b2"], ["logits"], name="fc2", transB=1))
    inits = [
        init("w1", r.normal(size=(5, 4))),
        init("b1", r.normal(size=5)),
        init("w2", r.normal(size=(3, 5))),
        init("b2", r.normal(size=3)),
        *extra_inits,
    ]
    return graph_model(nodes, inits, (4,), ["logits"])


def test_the_dense_chain_itself_is_accepted():
    load_onnx(dense_chain([helper.make_node("Relu", ["h"], ["m"], name="act")]))


def refused(model, op, node, match=None, error=UnsupportedOperatorError):
    with pytest.raises(error) as info:
        load_onnx(model)
    message = str(info.value)
    assert f"{op} (node '{node}')" in message, message
    assert info.value.op_type == op and info.value.node_name == node
    if match:
        assert match in message, message
    return message


def test_sigmoid_in_the_middle_is_refused():
    model = dense_chain([helper.make_node("Sigmoid", ["h"], ["m"], name="/act/Sigmoid")])
    refused(model, "Sigmoid", "/act/Sigmoid", "not supported")


def test_lstm_and_foreign_domains_are_refused():
    lstm = helper.make_node("LSTM", ["h", "W", "R"], ["m"], name="lstm0", hidden_size=5)
    refused(dense_chain([lstm]), "LSTM", "lstm0")
    custom = helper.make_node("Scaler", ["h"], ["m"], name="sc", domain="ai.onnx.ml")
    refused(dense_chain([custom]), "ai.onnx.ml.Scaler", "sc")


def test_unnamed_nodes_are_named_by_position():
    model = dense_chain([helper.make_node("Tanh", ["h"], ["m"])])
    refused(model, "Tanh", "#1")


@pytest.mark.parametrize(
    "node, inits, match",
    [
        (helper.make_node("Add", ["h", "h"], ["m"], name="n"), [], "activation plus a constant"),
        (helper.make_node("Mul", ["h", "k"], ["m"], name="n"), [init("k", [2.0])], None),
        (
            helper.make_node("Reshape", ["h", "s"], ["m"], name="n"),
            [init("s", np.array([-1, 5, 1], dtype=np.int64))],
            "flattening",
        ),
    ],
)
def test_other_refusals_in_the_chain(node, inits, match):
    model = dense_chain([helper.make_node("Relu", ["h"], ["h2"], name="r"), node], inits)
    for n in model.graph.node:
        if n.name == "n":
            n.input[0] = "h2"
            if n.op_type == "Add":
                n.input[1] = "h2"
    refused(model, node.op_type, "n", match)


def test_bias_add_after_relu_is_refused():
    model = dense_chain(
        [
            helper.make_node("Relu", ["h"], ["r"], name="r"),
            helper.make_node("Add", ["r", "k"], ["m"], name="late_add"),
        ],
        [init("k", np.ones(5))],
    )
    refused(model, "Add", "late_add", "directly follow")


def test_branching_is_refused():
    model = dense_chain(
        [
            helper.make_node("Relu", ["h"], ["r"], name="r"),
            helper.make_node("Relu", ["h"], ["m"], name="second_use"),
        ]
    )
    refused(model, "Relu", "second_use", "branching")


def test_compute_after_the_head_is_refused():
    model = dense_chain([helper.make_node("Softmax", ["h"], ["m"], name="sm", axis=1)])
    refused(model, "Gemm", "fc2", "after the classification head")


def test_intermediate_graph_output_is_refused():
    model = dense_chain([helper.make_node("Relu", ["h"], ["m"], name="r")])
    model.graph.output.append(helper.make_tensor_value_info("h", TensorProto.FLOAT, None))
    with pytest.raises(OnnxImportError, match="graph output 'h'"):
        load_onnx(model)


def conv_model(conv_attrs=None, pool=None, pool_attrs=None, pool_outputs=("p",)) -> onnx.ModelProto:
    r = rng()
    attrs = {"kernel_shape": [3, 3]} if conv_attrs is None else conv_attrs
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", **attrs)]
    source = "c"
    if pool:
        nodes.append(
            helper.make_node(pool, ["c"], list(pool_outputs), name="pool", **(pool_attrs or {}))
        )
        source = "p"
    nodes += [
        helper.make_node("Flatten", [source], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "m"], ["logits"], name="mm"),
    ]
    features = {None: 2 * 6 * 6}.get(pool, 2 * 3 * 3)
    inits = [init("w", r.normal(size=(2, 2, 3, 3))), init("m", r.normal(size=(features, 3)))]
    return graph_model(nodes, inits, (2, 8, 8), ["logits"])


def test_conv_model_baseline_is_accepted():
    load_onnx(conv_model())
    load_onnx(conv_model(pool="MaxPool", pool_attrs={"kernel_shape": [2, 2], "strides": [2, 2]}))


@pytest.mark.parametrize(
    "conv_attrs, match",
    [
        ({"kernel_shape": [3, 3], "group": 2}, "grouped"),
        ({"kernel_shape": [3, 3], "dilations": [2, 2]}, "dilations"),
        ({"kernel_shape": [3, 3], "pads": [1, 0, 1, 0]}, "pads"),
        ({"kernel_shape": [3, 3], "strides": [1, 2]}, "strides"),
        ({"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER"}, "auto_pad"),
        ({"kernel_shape": [2, 2]}, "kernel_shape"),
        ({"kernel_shape": [3, 3], "foo": 1}, "attribute 'foo'"),
    ],
)
def test_unsupported_conv_attributes(conv_attrs, match):
    refused(conv_model(conv_attrs), "Conv", "conv", match)


@pytest.mark.parametrize(
    "pool, attrs, outputs, match",
    [
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, ("p",), "ceil"),
        ("MaxPool", {"kernel_shape": [2, 2], "pads": [1, 1, 1, 1]}, ("p",), "padded"),
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}, ("p", "idx"), "Indices"),
        ("AveragePool", {"kernel_shape": [2, 3]}, ("p",), "kernel_shape"),
        ("MaxPool", {"strides": [2, 2]}, ("p",), "kernel_shape is required"),
    ],
)
def test_unsupported_pool_attributes(pool, attrs, outputs, match):
    refused(conv_model(pool=pool, pool_attrs=attrs, pool_outputs=outputs), pool, "pool", match)


def test_relu_after_average_pool_is_refused():
    model = conv_model(pool="AveragePool", pool_attrs={"kernel_shape": [2, 2], "strides": [2, 2]})
    nodes = list(model.graph.node)
    nodes.insert(2, helper.make_node("Relu", ["p"], ["pr"], name="late_relu"))
    nodes[3].input[0] = "pr"
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    refused(model, "Relu", "late_relu", "AveragePool")


def test_dynamic_reshape_pattern_is_refused_at_shape():
    r = rng()
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
        helper.make_node("Shape", ["c"], ["s"], name="/Shape"),
        helper.make_node("Reshape", ["c", "s"], ["f"], name="/Reshape"),
        helper.make_node("MatMul", ["f", "m"], ["logits"], name="mm"),
    ]
    inits = [init("w", r.normal(size=(2, 2, 3, 3))), init("m", r.normal(size=(72, 3)))]
    refused(graph_model(nodes, inits, (2, 8, 8), ["logits"]), "Shape", "/Shape")


# --------------------------------------------------------------------------- heads


def head_model(head: list[onnx.NodeProto], outputs, extra_inits=()) -> onnx.ModelProto:
    """x (4) → Gemm → 'logits' (3) → head nodes."""
    r = rng()
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["logits"], name="fc", transB=1)] + head
    inits = [init("w", r.normal(size=(3, 4))), init("b", r.normal(size=3)), *extra_inits]
    return graph_model(nodes, inits, (4,), outputs, ml=True)


def classes_init(values):
    return init("classes", np.array(values, dtype=np.int64))


def test_full_sklearn_style_head_is_accepted():
    head = [
        helper.make_node("Softmax", ["logits"], ["sm"], name="softmax", axis=1),
        helper.make_node("Identity", ["sm"], ["probabilities"], name="id"),
        helper.make_node("ArgMax", ["probabilities"], ["am"], name="argmax", axis=1),
        helper.make_node("ArrayFeatureExtractor", ["classes", "am"], ["afe"], name="afe",
                         domain="ai.onnx.ml"),
        helper.make_node("Reshape", ["afe", "shape"], ["rs"], name="rs"),
        helper.make_node("Cast", ["rs"], ["label"], name="cast", to=TensorProto.INT64),
        helper.make_node("ZipMap", ["probabilities"], ["zm"], name="zipmap", domain="ai.onnx.ml",
                         classlabels_int64s=[0, 1, 2]),
    ]  # fmt: skip
    inits = [classes_init([0, 1, 2]), init("shape", np.array([-1], dtype=np.int64))]
    model = head_model(head, ["label", "probabilities", "zm"], inits)
    fm = load_onnx(model)
    assert len(fm.layers) == 1


@pytest.mark.parametrize(
    "head, op, node, match",
    [
        (
            [helper.make_node("ArgMax", ["logits"], ["label"], name="am", axis=1,
                              select_last_index=1)],
            "ArgMax", "am", "lowest-index",
        ),
        ([helper.make_node("ArgMax", ["logits"], ["label"], name="am")], "ArgMax", "am", "axis"),
        (
            [helper.make_node("Softmax", ["logits"], ["label"], name="sm", axis=0)],
            "Softmax", "sm", "axis 0",
        ),
        (
            [helper.make_node("Normalizer", ["logits"], ["label"], name="nm", norm="MAX",
                              domain="ai.onnx.ml")],
            "ai.onnx.ml.Normalizer", "nm", "reverse",
        ),
        (
            [
                helper.make_node("ArgMax", ["logits"], ["am"], name="am", axis=1),
                helper.make_node("ArrayFeatureExtractor", ["classes", "am"], ["label"],
                                 name="afe", domain="ai.onnx.ml"),
            ],
            "ai.onnx.ml.ArrayFeatureExtractor", "afe", "0..2",
        ),
        (
            [
                helper.make_node("ZipMap", ["logits"], ["label"], name="zm", domain="ai.onnx.ml",
                                 classlabels_int64s=[0, 1, 2]),
            ],
            "ai.onnx.ml.ZipMap", "zm", "probabilities",
        ),
        (
            [
                helper.make_node("Softmax", ["logits"], ["p"], name="sm", axis=1),
                helper.make_node("ZipMap", ["p"], ["z"], name="zm", domain="ai.onnx.ml",
                                 classlabels_int64s=[0, 1, 2]),
                helper.make_node("Identity", ["z"], ["label"], name="after_zipmap"),
            ],
            "Identity", "after_zipmap", "graph output",
        ),
        (
            [helper.make_node("Cast", ["logits"], ["label"], name="c", to=TensorProto.INT32)],
            "Cast", "c", "change the activations",
        ),
    ],
)  # fmt: skip
def test_head_refusals(head, op, node, match):
    model = head_model(head, ["label"], [classes_init([1, 0, 2])])
    refused(model, op, node, match)


def test_class_list_must_be_zero_to_k_minus_one_for_linear_classifier():
    node = helper.make_node(
        "LinearClassifier", ["x"], ["label", "scores"], domain="ai.onnx.ml", name="lc",
        coefficients=[1.0] * 8, intercepts=[0.0, 0.0], classlabels_ints=[1, 2],
    )  # fmt: skip
    refused(graph_model([node], [], (4,), ["label"], ml=True), "ai.onnx.ml.LinearClassifier", "lc")
    node = helper.make_node(
        "LinearClassifier", ["x"], ["label"], domain="ai.onnx.ml", name="lc",
        coefficients=[1.0] * 8, classlabels_strings=["a", "b"],
    )  # fmt: skip
    refused(graph_model([node], [], (4,), ["label"], ml=True), "ai.onnx.ml.LinearClassifier", "lc")


# ---------------------------------------------------------------------------- limits


def test_file_size_limit_is_checked_before_parsing(tmp_path, digits_mlp):
    data = to_onnx_bytes(digits_mlp, 64)
    with pytest.raises(OnnxLimitError, match="larger than"):
        load_onnx(data, max_file_bytes=len(data) - 1)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    with pytest.raises(OnnxLimitError, match="exceeds"):
        load_onnx(path, max_file_bytes=len(data) - 1)
    with pytest.raises(OnnxImportError, match="not a valid ONNX model"):
        load_onnx(b"\xff" * 100)


def test_initializer_element_limit_is_checked_before_conversion(monkeypatch, digits_mlp):
    data = to_onnx_bytes(digits_mlp, 64)
    from onnx import numpy_helper

    calls = []
    original = numpy_helper.to_array

    def spy(tensor, *args, **kwargs):
        calls.append(tensor.name)
        return original(tensor, *args, **kwargs)

    monkeypatch.setattr(numpy_helper, "to_array", spy)
    with pytest.raises(OnnxLimitError, match="initializer 'coefficient' has more than 2047"):
        load_onnx(data, max_initializer_elements=2047)
    assert "coefficient" not in calls
    assert load_onnx(data, max_initializer_elements=2048).parameter_count == 64 * 32 + 32 + 330


def test_parameter_limit(digits_mlp):
    with pytest.raises(OnnxLimitError, match="parameters"):
        load_onnx(to_onnx_bytes(digits_mlp, 64), max_parameters=1000)


def test_external_data_is_refused():
    model = dense_chain([helper.make_node("Relu", ["h"], ["m"], name="r")])
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    del tensor.float_data[:]
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    with pytest.raises(OnnxImportError, match="external data"):
        load_onnx(model.SerializeToString())


def test_graph_shape_requirements():
    model = dense_chain([helper.make_node("Relu", ["h"], ["m"], name="r")])
    model.graph.input.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4]))
    with pytest.raises(OnnxImportError, match="exactly one input"):
        load_onnx(model)
    model = dense_chain([helper.make_node("Relu", ["h"], ["m"], name="r")])
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "F"
    with pytest.raises(OnnxImportError, match="fixed non-batch"):
        load_onnx(model)
