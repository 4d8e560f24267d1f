"""Importer coverage for what people export (issue 9): the binary Sigmoid head, scikit-learn
pipelines with a scaler in front, BatchNormalization and Dropout, a Reshape from the flat
competition input to an image, both PyTorch exporters (and the external-data file the
dynamo exporter writes), each checked against what the exporting library itself computes;
and the refusals, each naming the operator and saying what to do instead."""

from __future__ import annotations

import os
import warnings

import numpy as np
import onnx
import pytest
from onnx import helper

from zkproofs.ml import (
    FloatConv2d,
    FloatDense,
    MaxPool2d,
    OnnxImportError,
    Reshape,
    UnsupportedOperatorError,
    load_onnx,
)

from .helpers import graph_model, init, rng, run_reference
from .torch_export import ALL_EXPORTERS, export, logits, train


def refused(model, op, node, *phrases, error=UnsupportedOperatorError):
    with pytest.raises(error) as info:
        load_onnx(model)
    message = str(info.value)
    assert f"{op} (node '{node}')" in message, message
    for phrase in phrases:
        assert phrase in message, message
    return message


def fit(model, x, y):
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def sklearn_data(name: str):
    """(x_train, x_test, y_train, y_test) as floats, the raw features of the data set."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine,
              "breast_cancer": datasets.load_breast_cancer}[name.removesuffix("_binary")]
    x, y = loader(return_X_y=True)
    if name.endswith("_binary"):
        y = (y == 0).astype(np.int64)
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)


def export_pipeline(model, n_features: int, *, double: bool = False) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    last = model.steps[-1][1] if hasattr(model, "steps") else model
    kind = DoubleTensorType if double else FloatTensorType
    return convert_sklearn(
        model, initial_types=[("input", kind([None, n_features]))],
        options={id(last): {"zipmap": False}},
    ).SerializeToString()  # fmt: skip


def agreement(a, b) -> float:
    return float(np.mean(np.asarray(a) == np.asarray(b)))


# ------------------------------------------------------------- the binary Sigmoid head


@pytest.mark.parametrize("dataset", ["breast_cancer", "wine_binary"])
def test_binary_mlp_sigmoid_head_matches_scikit_learn(dataset):
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_tr, x_te, y_tr, _ = sklearn_data(dataset)
    model = fit(make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=400,
                                                              random_state=0)), x_tr, y_tr)
    fm = load_onnx(export_pipeline(model, x_tr.shape[1]))
    assert [type(layer) for layer in fm.layers] == [FloatDense, FloatDense]
    last = fm.layers[-1]
    # The single logit z became [−z, z]: class 1 iff z > 0.
    np.testing.assert_array_equal(last.weight[0], -last.weight[1])
    assert last.bias[0] == -last.bias[1]
    assert agreement(fm.predict(x_te), model.predict(x_te)) >= 0.99


def sigmoid_head_model(weight, bias, *, order=("neg", "pos"), unity=1.0) -> onnx.ModelProto:
    """x (2) → Gemm → one logit → Sigmoid → [1 − p, p] → ArgMax, as skl2onnx writes it."""
    parts = {"neg": "q", "pos": "p"}
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["z"], name="fc", transB=1),
        helper.make_node("Sigmoid", ["z"], ["p"], name="sigmoid"),
        helper.make_node("Sub", ["unity", "p"], ["q"], name="sub"),
        helper.make_node("Concat", [parts[o] for o in order], ["probabilities"], name="concat",
                         axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], name="argmax", axis=1),
    ]  # fmt: skip
    inits = [init("w", np.array([weight])), init("b", np.array([bias])),
             init("unity", np.array([unity]))]  # fmt: skip
    return graph_model(nodes, inits, (2,), ["label", "probabilities"])


def test_sigmoid_tie_rule_is_class_1_iff_the_logit_is_positive():
    model = sigmoid_head_model([1.0, 0.0], 0.0)
    fm = load_onnx(model)
    x = np.array([[-1e-3, 5.0], [0.0, 5.0], [1e-3, 5.0], [0.0, -7.0]])
    np.testing.assert_array_equal(fm.predict(x), [0, 0, 1, 0])
    np.testing.assert_array_equal(fm.logits(x)[:, 1], x[:, 0])
    # The ONNX model itself: argmax of [1 − σ(z), σ(z)], lowest index on the tie σ = 0.5.
    labels, _ = run_reference(model, x)
    np.testing.assert_array_equal(np.asarray(labels).reshape(-1), [0, 0, 1, 0])
    # scikit-learn's rule for a binary MLP: class 1 iff σ(z) > 0.5.
    from scipy.special import expit

    np.testing.assert_array_equal(fm.predict(x), (expit(x[:, 0]) > 0.5).astype(int))


def test_a_bare_single_logit_is_the_same_binary_rule():
    """A BCEWithLogitsLoss model exports one logit and no Sigmoid: class 1 iff z > 0."""
    r = rng()
    w, b = r.normal(size=(1, 3)), r.normal(size=1)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["z"], name="fc", transB=1)]
    fm = load_onnx(graph_model(nodes, [init("w", w), init("b", b)], (3,), ["z"]))
    x = r.normal(size=(40, 3))
    z = x @ w[0].astype(np.float32) + b.astype(np.float32)[0]
    np.testing.assert_array_equal(fm.predict(x), (z > 0).astype(int))


@pytest.mark.parametrize(
    "model, node, phrases",
    [
        (sigmoid_head_model([1.0, 0.0], 0.0, order=("pos", "neg")), "concat", ["binary head"]),
        (sigmoid_head_model([1.0, 0.0], 0.0, unity=2.0), "sub", ["1 − sigmoid"]),
    ],
)
def test_other_binary_heads_are_refused(model, node, phrases):
    op = {"concat": "Concat", "sub": "Sub"}[node]
    refused(model, op, node, *phrases)


def test_sigmoid_elsewhere_and_argmax_of_one_column_are_refused():
    r = rng()
    hidden = [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc1", transB=1),
        helper.make_node("Sigmoid", ["h"], ["s"], name="hidden_sigmoid"),
        helper.make_node("Gemm", ["s", "w2", "b2"], ["z"], name="fc2", transB=1),
    ]
    inits = [init("w", r.normal(size=(3, 2))), init("b", r.normal(size=3)),
             init("w2", r.normal(size=(2, 3))), init("b2", r.normal(size=2))]  # fmt: skip
    refused(graph_model(hidden, inits, (2,), ["z"]), "Sigmoid", "hidden_sigmoid",
            "single output logit", "Relu")  # fmt: skip
    one_column = [
        helper.make_node("Gemm", ["x", "w", "b"], ["z"], name="fc", transB=1),
        helper.make_node("Sigmoid", ["z"], ["p"], name="sigmoid"),
        helper.make_node("ArgMax", ["p"], ["label"], name="argmax", axis=1),
    ]
    inits = [init("w", r.normal(size=(1, 2))), init("b", r.normal(size=1))]
    refused(graph_model(one_column, inits, (2,), ["label"]), "ArgMax", "argmax",
            "both class probabilities")  # fmt: skip
    softmax = [
        helper.make_node("Gemm", ["x", "w", "b"], ["z"], name="fc", transB=1),
        helper.make_node("Softmax", ["z"], ["p"], name="softmax", axis=1),
    ]
    refused(graph_model(softmax, inits, (2,), ["p"]), "Softmax", "softmax",
            "single logit has no argmax", "Sigmoid")  # fmt: skip


# ------------------------------------------------------ scikit-learn pipelines, scalers


@pytest.mark.parametrize(
    "dataset, scaler, classifier, double",
    [
        ("iris", "standard", "lr", False),
        ("wine", "minmax", "mlp", False),
        ("breast_cancer", "robust", "lr", False),
        ("wine", "maxabs", "lr", False),
        ("iris", "standard", "lr", True),  # skl2onnx writes Sub and Div for doubles
        ("breast_cancer", "standard", "mlp", True),
    ],
)
def test_pipeline_scaler_is_folded_into_the_first_layer(dataset, scaler, classifier, double):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

    x_tr, x_te, y_tr, _ = sklearn_data(dataset)
    sc = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler,
          "maxabs": MaxAbsScaler}[scaler]()  # fmt: skip
    clf = (LogisticRegression(max_iter=1000) if classifier == "lr"
           else MLPClassifier((8,), max_iter=400, random_state=0))  # fmt: skip
    pipe = fit(make_pipeline(sc, clf), x_tr, y_tr)
    onx = export_pipeline(pipe, x_tr.shape[1], double=double)
    ops = {n.op_type for n in onnx.load_model_from_string(onx).graph.node}
    assert ops & {"Scaler", "Sub", "Mul", "Div"}, ops  # the scaler really is in the graph
    fm = load_onnx(onx)
    assert len(fm.layers) == (1 if classifier == "lr" else 2)  # folded, not a layer
    # The float model on RAW features is the whole pipeline.
    assert agreement(fm.predict(x_te), pipe.predict(x_te)) >= 0.99
    assert agreement(fm.predict(x_tr), pipe.predict(x_tr)) >= 0.99


@pytest.mark.parametrize("dataset", ["iris", "wine"])
def test_a_normalizer_in_front_is_refused_with_what_to_do(dataset):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer

    x_tr, _, y_tr, _ = sklearn_data(dataset)
    pipe = fit(make_pipeline(Normalizer(), LogisticRegression(max_iter=1000)), x_tr, y_tr)
    with pytest.raises(UnsupportedOperatorError) as info:
        load_onnx(export_pipeline(pipe, x_tr.shape[1]))
    message = str(info.value)
    assert message.startswith("ai.onnx.ml.Normalizer (node ")
    assert "per-sample" in message and "Drop it from the pipeline" in message


def test_a_scaler_between_layers_is_refused():
    r = rng()
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc1", transB=1),
        helper.make_node("Scaler", ["h"], ["s"], name="late_scaler", domain="ai.onnx.ml",
                         offset=[0.0], scale=[2.0]),
        helper.make_node("Gemm", ["s", "w2", "b2"], ["z"], name="fc2", transB=1),
    ]  # fmt: skip
    inits = [init("w", r.normal(size=(3, 2))), init("b", r.normal(size=3)),
             init("w2", r.normal(size=(2, 3))), init("b2", r.normal(size=2))]  # fmt: skip
    refused(graph_model(nodes, inits, (2,), ["z"], ml=True), "ai.onnx.ml.Scaler",
            "late_scaler", "in front of the first")  # fmt: skip


# ------------------------------------------- input preprocessing in front of a Conv


def conv_after(prep: list[onnx.NodeProto], prep_inits, *, padding: int) -> onnx.ModelProto:
    """x (2, 5, 5) → prep (from 'x' to 'p') → Conv 3×3 → Relu → Flatten → Gemm."""
    r = rng()
    out = 5 + 2 * padding - 2
    nodes = [*prep,
             helper.make_node("Conv", ["p", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3],
                              pads=[padding] * 4),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "g", "gb"], ["logits"], name="fc", transB=1)]
    inits = [init("w", r.normal(size=(3, 2, 3, 3))), init("b", r.normal(size=3)),
             init("g", r.normal(size=(4, 3 * out * out))), init("gb", r.normal(size=4)),
             *prep_inits]  # fmt: skip
    return graph_model(nodes, inits, (2, 5, 5), ["logits"])


def per_channel(values) -> np.ndarray:
    return np.array(values, dtype=np.float32).reshape(1, 2, 1, 1)


@pytest.mark.parametrize(
    "prep, prep_inits, padding",
    [
        # scale only (x / std): exact even with zero padding
        ([helper.make_node("Div", ["x", "std"], ["p"], name="div")],
         [init("std", per_channel([0.5, 4.0]))], 1),
        # mean and std, no padding
        ([helper.make_node("Sub", ["x", "mean"], ["m"], name="sub"),
          helper.make_node("Div", ["m", "std"], ["p"], name="div")],
         [init("mean", per_channel([0.25, -1.0])), init("std", per_channel([0.5, 4.0]))], 0),
        # BatchNormalization on the input (per channel)
        ([helper.make_node("BatchNormalization", ["x", "gamma", "beta", "mu", "var"], ["p"],
                           name="bn")],
         [init("gamma", np.array([1.5, -0.5])), init("beta", np.array([0.1, 0.2])),
          init("mu", np.array([0.3, -0.4])), init("var", np.array([2.0, 0.5]))], 0),
    ],
)  # fmt: skip
def test_input_preprocessing_folds_into_a_conv(prep, prep_inits, padding):
    model = conv_after(prep, prep_inits, padding=padding)
    fm = load_onnx(model)
    assert isinstance(fm.layers[0], FloatConv2d)
    x = rng().normal(size=(6, 2, 5, 5))
    (expected,) = run_reference(model, x)
    np.testing.assert_allclose(fm.logits(x), expected, rtol=1e-4, atol=1e-4)


def test_preprocessing_a_conv_cannot_absorb_is_refused():
    offset = [helper.make_node("Sub", ["x", "mean"], ["p"], name="sub")]
    model = conv_after(offset, [init("mean", per_channel([0.25, -1.0]))], padding=1)
    refused(model, "Conv", "conv", "padding=0", "offset")
    per_pixel = [helper.make_node("Mul", ["x", "k"], ["p"], name="mul")]
    model = conv_after(per_pixel, [init("k", rng().normal(size=(1, 2, 5, 5)))], padding=0)
    refused(model, "Conv", "conv", "per-channel", "Normalize the data")


# ------------------------------------------------------ BatchNormalization and Dropout


def bn_mlp(bn_where: str) -> onnx.ModelProto:
    """x (4) → MatMul → Add → BN → Relu → Dropout → Gemm (3 classes); or the BN after the
    Relu."""
    r = rng()
    if bn_where == "before_relu":
        middle = [
            helper.make_node("BatchNormalization", ["a", "g", "be", "mu", "var"], ["n"],
                             name="bn", epsilon=1e-3),
            helper.make_node("Relu", ["n"], ["r"], name="relu"),
        ]
    else:
        middle = [
            helper.make_node("Relu", ["a"], ["ra"], name="relu"),
            helper.make_node("BatchNormalization", ["ra", "g", "be", "mu", "var"], ["r"],
                             name="bn", epsilon=1e-3),
        ]
    nodes = [helper.make_node("MatMul", ["x", "m"], ["mm"], name="mm"),
             helper.make_node("Add", ["mm", "c"], ["a"], name="add"),
             *middle,
             helper.make_node("Dropout", ["r", "ratio", "train"], ["d"], name="dropout"),
             helper.make_node("Gemm", ["d", "w", "wb"], ["logits"], name="fc", transB=1)]
    inits = [init("m", r.normal(size=(4, 5))), init("c", r.normal(size=5)),
             init("g", r.normal(size=5)), init("be", r.normal(size=5)),
             init("mu", r.normal(size=5)), init("var", r.uniform(0.5, 2, size=5)),
             init("ratio", np.array(0.3)), init("train", np.array(False)),
             init("w", r.normal(size=(3, 5))), init("wb", r.normal(size=3))]  # fmt: skip
    return graph_model(nodes, inits, (4,), ["logits"], opset=15)


def test_batchnorm_after_matmul_add_and_dropout_are_folded():
    model = bn_mlp("before_relu")
    onnx.checker.check_model(model)
    fm = load_onnx(model)
    assert [type(layer) for layer in fm.layers] == [FloatDense, FloatDense]
    assert fm.layers[0].relu
    x = rng().normal(size=(20, 4)) * 3
    (expected,) = run_reference(model, x)
    np.testing.assert_allclose(fm.logits(x), expected, rtol=1e-4, atol=1e-4)


def test_batchnorm_after_relu_and_training_mode_exports_are_refused():
    refused(bn_mlp("after_relu"), "BatchNormalization", "bn", "directly follow",
            "before the Relu")  # fmt: skip
    model = bn_mlp("before_relu")
    for t in model.graph.initializer:
        if t.name == "train":
            t.CopyFrom(init("train", np.array(True)))
    refused(model, "Dropout", "dropout", "training mode", "model.eval()")
    model = bn_mlp("before_relu")
    model.graph.node[2].attribute.append(helper.make_attribute("training_mode", 1))
    refused(model, "BatchNormalization", "bn", "training mode", "model.eval()")


def test_a_training_mode_torch_export_is_refused(tmp_path):
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                              torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(8, 3))
    path = tmp_path / "train.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.train(), torch.zeros(2, 4), str(path), dynamo=False,
                          training=torch.onnx.TrainingMode.TRAINING,
                          do_constant_folding=False)  # fmt: skip
    with pytest.raises(UnsupportedOperatorError, match=r"model\.eval\(\)"):
        load_onnx(path)


# ------------------------------------------------------------------ PyTorch exporters


def torch_mlp(n_features: int, n_classes: int):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
        torch.nn.Dropout(0.2), torch.nn.Linear(16, n_classes),
    )  # fmt: skip


def torch_cnn(side: int, n_classes: int):
    """The competition's input is flat (side² pixels); the net reads it as an image."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4)
            self.pool = torch.nn.MaxPool2d(2)
            self.drop = torch.nn.Dropout(0.2)
            self.fc = torch.nn.Linear(4 * (side // 2) ** 2, n_classes)

        def forward(self, x):
            x = x.reshape(-1, 1, side, side)
            x = self.pool(torch.relu(self.bn(self.conv(x))))
            return self.fc(self.drop(torch.flatten(x, 1)))

    return Net()


@pytest.fixture(scope="module")
def trained_torch_nets(digits):
    """An MLP on wine (BatchNorm1d, Dropout) and a CNN on flat digits (Reshape, BatchNorm2d,
    Dropout), trained briefly so that the BatchNorm statistics are not the identity."""
    x_tr, _, y_tr, _ = sklearn_data("wine")
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    mlp = train(torch_mlp(13, 3), (x_tr - mu) / sd, y_tr, epochs=3)
    cnn = train(torch_cnn(8, 10), digits.x_train / 16.0, digits.y_train, epochs=1)
    return {"mlp": (mlp, (sklearn_data("wine")[1] - mu) / sd),
            "cnn": (cnn, digits.x_test / 16.0)}


@pytest.mark.parametrize("exporter", ALL_EXPORTERS)
@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_both_pytorch_exporters(tmp_path, trained_torch_nets, which, exporter):
    import torch

    net, x = trained_torch_nets[which]
    path = export(net, torch.zeros(2, x.shape[1]), tmp_path / "model.onnx", exporter)
    ops = [n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node]
    if exporter in ("dynamo-noopt", "legacy-nofold"):
        assert "BatchNormalization" in ops  # folded by the importer, not the exporter
    fm = load_onnx(path)
    kinds = [type(layer) for layer in fm.layers]
    if which == "mlp":
        assert kinds == [FloatDense, FloatDense]
    else:
        assert kinds[:3] == [Reshape, FloatConv2d, MaxPool2d] and kinds[-1] is FloatDense
        assert fm.layers[0].shape == (1, 8, 8) and fm.input_shape == (64,)
    np.testing.assert_allclose(fm.logits(x), logits(net, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("exporter", ["dynamo", "legacy"])
def test_pytorch_binary_sigmoid_model(tmp_path, exporter):
    import torch

    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1),
                              torch.nn.Sigmoid())  # fmt: skip
    fm = load_onnx(export(net, torch.zeros(2, 5), tmp_path / "bin.onnx", exporter))
    x = rng().normal(size=(200, 5))
    z = logits(net[:3], x)[:, 0]
    np.testing.assert_array_equal(fm.predict(x), (z > 0).astype(int))


# --------------------------------------------------------------- external-data files


def test_external_data_next_to_the_model_is_read_and_nothing_else(tmp_path, digits):
    import torch

    net = train(torch_mlp(64, 10), digits.x_train[:256] / 16.0, digits.y_train[:256], epochs=1)
    path = export(net, torch.zeros(2, 64), tmp_path / "model.onnx", "dynamo")
    assert (tmp_path / "model.onnx.data").is_file()  # the dynamo exporter's default
    x = digits.x_test[:50] / 16.0
    np.testing.assert_allclose(load_onnx(path).logits(x), logits(net, x), rtol=1e-4,
                               atol=1e-4)  # fmt: skip
    with pytest.raises(OnnxImportError, match="external_data=False"):
        load_onnx(path.read_bytes())  # no folder to look in

    def relocated(location: str) -> onnx.ModelProto:
        model = onnx.load(str(path), load_external_data=False)
        for t in model.graph.initializer:
            for entry in t.external_data:
                if entry.key == "location":
                    entry.value = location
        return model

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "w.data").write_bytes((tmp_path / "model.onnx.data").read_bytes())
    (tmp_path / "link.data").symlink_to(outside / "w.data")
    for location, phrase in [("outside/w.data", "only a file next to the model"),
                             ("../model.onnx.data", "only a file next to the model"),
                             ("link.data", "not a file next to the model"),
                             ("missing.data", "not a file next to the model")]:
        bad = tmp_path / "bad.onnx"
        onnx.save(relocated(location), str(bad))
        with pytest.raises(OnnxImportError, match=phrase):
            load_onnx(bad)
    truncated = tmp_path / "short.onnx"
    onnx.save(relocated("short.data"), str(truncated))
    (tmp_path / "short.data").write_bytes(b"\0" * 100)
    with pytest.raises(OnnxImportError, match="too short"):
        load_onnx(truncated)
    assert os.path.getsize(tmp_path / "model.onnx.data") > 1000


# --------------------------------------------------------------------- reshape to image


def flat_cnn(target, *, after_dense: bool = False) -> onnx.ModelProto:
    r = rng()
    nodes, inits = [], [init("shape", np.array(target, dtype=np.int64))]
    src = "x"
    if after_dense:
        nodes.append(helper.make_node("Gemm", ["x", "d", "db"], ["h"], name="fc0", transB=1))
        inits += [init("d", r.normal(size=(64, 64))), init("db", r.normal(size=64))]
        src = "h"
    nodes += [helper.make_node("Reshape", [src, "shape"], ["img"], name="to_image"),
              helper.make_node("Conv", ["img", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
              helper.make_node("Flatten", ["c"], ["f"], name="flat"),
              helper.make_node("Gemm", ["f", "g"], ["logits"], name="fc", transB=1)]
    inits += [init("w", r.normal(size=(2, 1, 3, 3))), init("g", r.normal(size=(3, 72)))]
    return graph_model(nodes, inits, (64,), ["logits"])


@pytest.mark.parametrize("target", [[-1, 1, 8, 8], [0, 1, 8, 8], [2, 1, 8, 8], [2, -1, 8, 8]])
def test_reshape_of_the_flat_input_to_an_image(target):
    model = flat_cnn(target)
    fm = load_onnx(model)
    assert fm.layers[0] == Reshape(1, 8, 8)
    x = rng().normal(size=(2, 64))
    (expected,) = run_reference(model, x)
    np.testing.assert_allclose(fm.logits(x), expected, rtol=1e-4, atol=1e-4)


def test_reshape_to_an_image_elsewhere_is_refused():
    refused(flat_cnn([-1, 1, 8, 8], after_dense=True), "Reshape", "to_image",
            "only on the model input")  # fmt: skip
    refused(flat_cnn([-1, 1, 8, 7]), "Reshape", "to_image", "do not make a (C, H, W) image")


# ------------------------------------------------- unknown operators say what to do


@pytest.mark.parametrize(
    "op, attrs, phrase",
    [
        ("Tanh", {}, "hidden activations must be Relu"),
        ("LeakyRelu", {"alpha": 0.1}, "hidden activations must be Relu"),
        ("Transpose", {}, "layout must stay (C, H, W)"),
        ("Shape", {}, "fixed input shape"),
        ("Erf", {}, "rewrite the model with the supported operators"),
    ],
)
def test_unsupported_operators_are_named_with_what_to_do(op, attrs, phrase):
    r = rng()
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc1", transB=1),
             helper.make_node(op, ["h"], ["m"], name="odd", **attrs),
             helper.make_node("Gemm", ["m", "w2", "b2"], ["z"], name="fc2", transB=1)]
    inits = [init("w", r.normal(size=(3, 2))), init("b", r.normal(size=3)),
             init("w2", r.normal(size=(2, 3))), init("b2", r.normal(size=2))]  # fmt: skip
    message = refused(graph_model(nodes, inits, (2,), ["z"]), op, "odd", phrase)
    assert "operator not supported" in message and "supported: Gemm" in message


def test_identity_and_log_softmax_heads():
    r = rng()
    nodes = [helper.make_node("Identity", ["x"], ["xi"], name="id0"),
             helper.make_node("Gemm", ["xi", "w", "b"], ["z"], name="fc", transB=1),
             helper.make_node("Identity", ["z"], ["zi"], name="id1"),
             helper.make_node("LogSoftmax", ["zi"], ["lp"], name="lsm", axis=1)]
    model = graph_model(nodes, [init("w", r.normal(size=(3, 4))), init("b", r.normal(size=3))],
                        (4,), ["lp"])  # fmt: skip
    fm = load_onnx(model)
    x = r.normal(size=(30, 4))
    (lp,) = run_reference(model, x)
    np.testing.assert_array_equal(fm.predict(x), np.argmax(lp, axis=1))
