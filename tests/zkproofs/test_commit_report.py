"""`zkarena commit` shows what it commits (issue 9): the float and quantized models'
accuracy on the calibration data and their agreement; below 99% agreement it warns and asks
(``--yes`` skips the question; off a terminal it refuses); ``--dry-run`` only reports;
calibration data outside the declared domain are clipped with a warning. The organizer
declares the domain explicitly: ``competition init`` never reads it off the test set."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from zkproofs.competition import CompetitionSpec
from zkproofs.ml import datasets

from .cli_helpers import fit_quietly, run_cli
from .ml.helpers import to_onnx_bytes

SUBMITTER = "3f0e6c2a-9b1d-4e57-8a42-5c6d7e8f9a01"

# (scale, declared domain) as the organizer publishes each data set: iris in millimetres
# (one decimal of a centimetre), breast cancer as z-scores in sixteenths (signed).
CONVENTIONS = {"iris": (10, (0, 100)), "breast_cancer": (16, (-160, 160))}


class Published:
    def __init__(self, root: Path, name: str):
        from sklearn import datasets as skd
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import train_test_split

        loader = {"iris": skd.load_iris, "breast_cancer": skd.load_breast_cancer}[name]
        v, y = loader(return_X_y=True)
        v_tr, v_te, y_tr, y_te = train_test_split(v, y, test_size=0.3, random_state=0,
                                                  stratify=y)  # fmt: skip
        self.scale, (lo, hi) = CONVENTIONS[name]
        if name == "breast_cancer":
            mu, sd = v_tr.mean(axis=0), v_tr.std(axis=0)
            v_tr, v_te = (v_tr - mu) / sd, (v_te - mu) / sd
        # The organizer's integers, clipped to the declared domain; the model is trained on
        # what they mean, x / scale.
        to_int = lambda a: np.clip(np.rint(a * self.scale), lo, hi).astype(np.int64)  # noqa: E731
        self.x_tr, self.x_te, self.y_tr, self.y_te = to_int(v_tr), to_int(v_te), y_tr, y_te
        self.root, self.domain = root, (lo, hi)
        self.model = fit_quietly(LogisticRegression(max_iter=2000), self.x_tr / self.scale,
                                 y_tr)  # fmt: skip
        self.onnx = root / "model.onnx"
        self.onnx.write_bytes(to_onnx_bytes(self.model, v.shape[1], zipmap=False))
        self.cal = root / "cal.npz"
        datasets.save_npz(self.cal, self.x_tr, y_tr)
        test = root / "test.npz"
        datasets.save_npz(test, self.x_te, y_te)
        self.competition = root / "competition.json"
        res = run_cli("competition", "init", "--test-set", test, "--classes",
                      int(y.max()) + 1, "--threshold", "1/2", "--input-scale", self.scale,
                      "--input-min", lo, "--input-max", hi, "-o", self.competition)  # fmt: skip
        assert res.rc == 0, res

    def commit(self, *extra, calibration=None):
        return run_cli("commit", self.onnx, "--competition", self.competition,
                       "--calibration", calibration or self.cal, *extra)  # fmt: skip

    def commit_files(self, *extra):
        com, key = self.root / "commitment.json", self.root / "model.key"
        res = self.commit("--submitter", SUBMITTER, "-o", com, "--key", key, *extra)
        return res, com, key


@pytest.fixture(scope="module", params=list(CONVENTIONS))
def published(request, tmp_path_factory):
    return Published(tmp_path_factory.mktemp(request.param), request.param)


def percent(text: str, label: str) -> float:
    m = re.search(rf"{label} (\d+\.\d\d)%", text)
    assert m, text
    return float(m.group(1))


def test_dry_run_reports_both_accuracies_and_writes_nothing(published):
    before = sorted(published.root.iterdir())
    res = published.commit("--dry-run")
    assert res.rc == 0, res
    lo, hi = published.domain
    assert f"integers x in [{lo}, {hi}]" in res.out
    assert f"your float model sees x / {published.scale}" in res.out
    assert f"calibration: {len(published.x_tr)} samples" in res.out
    # The float model's accuracy is the trained model's own, on the data it saw.
    trained = published.model.score(published.x_tr / published.scale, published.y_tr)
    float_pct = percent(res.out, "float model")
    assert abs(float_pct - 100 * trained) <= 100 / len(published.x_tr) + 1e-9, res.out
    assert abs(percent(res.out, "quantized model") - float_pct) <= 1.0
    assert percent(res.out, "predicts the float model's label on") >= 99.0
    assert "dry run: nothing committed, no file written" in res.out
    assert "WARNING" not in res.err
    assert sorted(published.root.iterdir()) == before


def test_a_disagreeing_model_is_committed_only_when_confirmed(published, monkeypatch):
    narrow = ("--weight-bits", "2")  # far too few bits: the models disagree
    res, com, key = published.commit_files(*narrow)
    assert res.rc == 2, res
    assert "WARNING: the quantized model agrees with your float model on only" in res.err
    assert "pass --yes to commit anyway" in res.err
    assert not com.exists() and not key.exists()

    answers = iter(["n\n", "y\n"])

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for answer, rc in (("n", 2), ("y", 0)):
        monkeypatch.setattr("sys.stdin", Terminal(next(answers)))
        res, com, key = published.commit_files(*narrow, "--force")
        assert res.rc == rc, (answer, res)
        assert "Commit this model anyway? [y/N]" in res.err
        assert com.exists() == key.exists() == (answer == "y")
    com.unlink()
    key.unlink()

    res, com, key = published.commit_files(*narrow, "--yes")
    assert res.rc == 0, res
    assert "WARNING" in res.err and com.exists() and key.exists()
    assert "2-bit weights" in res.out
    com.unlink()
    key.unlink()


def test_calibration_outside_the_domain_is_clipped_with_a_warning(published):
    lo, hi = published.domain
    wide = published.root / "wide.npz"
    x = published.x_tr * 3  # e.g. the wrong scale: many values leave the domain
    datasets.save_npz(wide, x, published.y_tr)
    outside = int(((x < lo) | (x > hi)).sum())
    assert outside > 0
    res = published.commit("--dry-run", calibration=wide)
    assert res.rc == 0, res
    assert f"{outside} calibration values" in res.err
    assert f"were outside [{lo}, {hi}] and were clipped" in res.err
    wide.unlink()


def test_the_default_weight_width_is_reported(published):
    res = published.commit("--dry-run")
    assert re.search(r"quantized with (8|12|16)-bit weights and (8|12|16)-bit activations", res.out)


# ------------------------------------------------------------------ competition init


def test_competition_init_needs_the_domain_declared(tmp_path):
    x = np.array([[1, 2], [3, 9]], dtype=np.int64)
    test = tmp_path / "test.npz"
    datasets.save_npz(test, x, np.array([0, 1]))
    base = ["competition", "init", "--test-set", test, "--classes", "2", "--threshold", "1/2",
            "-o", tmp_path / "c.json"]  # fmt: skip
    domain = {"--input-scale": "4", "--input-min": "-8", "--input-max": "40"}
    for missing in domain:
        argv = [a for k, v in domain.items() if k != missing for a in (k, v)]
        res = run_cli(*base, *argv)
        assert res.rc == 2 and missing in res.err, res
        assert not (tmp_path / "c.json").exists()
    res = run_cli(*base, *[a for kv in domain.items() for a in kv])
    assert res.rc == 0, res
    spec = CompetitionSpec.from_json((tmp_path / "c.json").read_text())
    # The declaration, not the data's [1, 9]: nothing about the hidden test set leaks.
    assert spec.input_range == (-8, 40) and spec.input_scale == 4
    assert "[1, 9]" not in json.dumps(json.loads(spec.to_json())) + res.out
    for lo, hi, phrase in (("2", "40", "outside the declared domain"),
                           ("-8", "8", "outside the declared domain"),
                           ("5", "4", "above --input-max")):  # fmt: skip
        res = run_cli(*base, "--input-scale", "4", "--input-min", lo, "--input-max", hi,
                      "--force")  # fmt: skip
        assert res.rc == 2 and phrase in res.err, res
