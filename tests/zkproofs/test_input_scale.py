"""`zkarena commit` quantizes the model the competitor trained for the competition's input
convention: the float model sees x / input_scale where the published integers are x.

A regression test for the input-scale bug (issue "Real models from real users"): before the
fix, commit quantized as if the float model saw the raw integers, and a competition with a
scale other than 1 silently committed a much worse model (iris at scale 16: 41/45 correct
in float, 17/45 after quantization).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zkproofs import accuracy
from zkproofs.ml import datasets, evaluate

from .cli_helpers import commitment_fields, fit_quietly, run_cli
from .ml.helpers import to_onnx_bytes

SUBMITTER = "3f0e6c2a-9b1d-4e57-8a42-5c6d7e8f9a01"


def _scaled_split(loader, scale: int):
    from sklearn.model_selection import train_test_split

    v, y = loader(return_X_y=True)
    v_tr, v_te, y_tr, y_te = train_test_split(v, y.astype(np.int64), test_size=0.3,
                                              random_state=0, stratify=y)
    return v_tr, v_te, y_tr, y_te, np.rint(v_tr * scale).astype(np.int64), np.rint(
        v_te * scale).astype(np.int64)


def _make_model(kind: str):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if kind == "lr":
        return LogisticRegression(max_iter=2000)
    return MLPClassifier(hidden_layer_sizes=(16,), random_state=0, max_iter=2000)


@pytest.mark.parametrize(
    ("dataset", "kind", "scale", "weight_bits"),
    # None: the default, automatic weight width (8 bits unless the calibration disagrees)
    [("iris", "lr", 16, None), ("iris", "mlp", 16, None), ("wine", "lr", 100, 16)],
)
def test_commit_quantizes_for_the_declared_input_scale(
    tmp_path: Path, dataset, kind, scale, weight_bits
):
    from sklearn import datasets as skd

    loader = {"iris": skd.load_iris, "wine": skd.load_wine}[dataset]
    v_tr, v_te, y_tr, y_te, x_tr, x_te = _scaled_split(loader, scale)
    model = fit_quietly(_make_model(kind), v_tr, y_tr)
    float_pred = model.predict(v_te)
    onnx_path = tmp_path / "model.onnx"
    onnx_path.write_bytes(to_onnx_bytes(model, v_tr.shape[1], zipmap=False))

    test = tmp_path / "test.npz"
    datasets.save_npz(test, x_te, y_te)
    cal = tmp_path / "cal.npz"
    lo, hi = 0, int(max(x_tr.max(), x_te.max()))
    datasets.save_npz(cal, x_tr, y_tr)
    comp = tmp_path / "competition.json"
    r = run_cli("competition", "init", "--test-set", test, "--classes", int(y_te.max()) + 1,
                "--threshold", "1/2", "--input-scale", scale, "--input-min", lo,
                "--input-max", hi, "-o", comp)
    assert r.rc == 0, r.err
    commitment, key = tmp_path / "commitment.json", tmp_path / "model.key"
    widths = [] if weight_bits is None else ["--weight-bits", weight_bits]
    r = run_cli("commit", onnx_path, "--competition", comp, "--submitter", SUBMITTER,
                "--calibration", cal, *widths, "-o", commitment, "--key", key)
    assert r.rc == 0, r.err + r.out

    arch = commitment_fields(commitment)["architecture"]
    quantized, _ = accuracy.model_from_opening(arch, key.read_bytes())
    q_pred = evaluate.predict(quantized, x_te)
    # The committed integer model is the trained model: it agrees with it on (nearly) every
    # test sample, and its count is the float model's count up to 2% of N.
    agreement = float(np.mean(q_pred == float_pred))
    assert agreement >= 0.95, (agreement, r.out)
    n = len(y_te)
    assert abs(int((q_pred == y_te).sum()) - int((float_pred == y_te).sum())) <= 0.02 * n + 1
