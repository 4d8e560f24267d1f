"""Helpers for the command-line tests: run ``zkarena`` in-process, train and export the
digits models, and recompute what a proof should say from the secret key file."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from zkproofs import accuracy, cli
from zkproofs.ml import evaluate

from .ml.helpers import to_onnx_bytes

VALID_LINE = re.compile(
    r"^VALID: the committed model labels at least (\d+)/(\d+) test samples correctly "
    r"\(\d+\.\d\d%\); (meets|does NOT meet) the threshold \S+ \[(native|reference) backend, "
    r"\d+\.\d\d s\]$"
)


@dataclass(frozen=True)
class Result:
    rc: int
    out: str
    err: str


def run_cli(*args: str | Path) -> Result:
    """``zkarena ARGS`` in this process: exit code, stdout and stderr (argparse exits too)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main([str(a) for a in args])
        except SystemExit as exc:  # --help, --version and argparse errors
            rc = exc.code if isinstance(exc.code, int) else 1
    return Result(rc, out.getvalue(), err.getvalue())


def verified_count(out: str) -> tuple[int, int]:
    """(c, N) from the VALID line of a successful ``zkarena verify`` (offline, notes on what
    was and was not checked follow it)."""
    lines = [line for line in out.strip().splitlines() if line.startswith("VALID")]
    assert len(lines) == 1, out
    m = VALID_LINE.match(lines[0])
    assert m, f"unexpected verify output: {out!r}"
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class DigitsSplit:
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def digits_split() -> DigitsSplit:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x.astype(np.int64), y.astype(np.int64), test_size=0.2, random_state=0
    )
    assert x_te.shape == (360, 64)
    assert x_te.min() >= 0 and x_te.max() <= 16
    return DigitsSplit(x_tr, x_te, y_tr, y_te)


def fit_quietly(model, x, y):
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


def export_sklearn(model, path: Path) -> Path:
    """skl2onnx export without ZipMap (the head is Cast/ArgMax/label lookup)."""
    path.write_bytes(to_onnx_bytes(model, 64, zipmap=False))
    return path


def train_torch_conv(x_train: np.ndarray, y_train: np.ndarray, path: Path, *, epochs: int = 4):
    """Conv2d(1,4,3,pad 1) → ReLU → MaxPool2d(2) → Flatten → Linear(64,10), exported with
    the legacy (TorchScript) ONNX exporter, which needs no network."""
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
    )
    xs = torch.tensor(x_train.reshape(-1, 1, 8, 8), dtype=torch.float32)
    ys = torch.tensor(y_train, dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(epochs):
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xs[idx]), ys[idx]).backward()
            opt.step()
    net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, torch.zeros(1, 1, 8, 8), str(path), dynamo=False)
    return net


def commitment_fields(path: Path) -> dict:
    doc = json.loads(path.read_text())
    return {
        "doc": doc,
        "architecture": base64.b64decode(doc["architecture"]),
        "commitment": base64.b64decode(doc["commitment"]),
        "knowledge_proof": base64.b64decode(doc["knowledge_proof"]),
    }


def reference_count(commitment: Path, key: Path, x: np.ndarray, y: np.ndarray) -> int:
    """The reference evaluator's count for the quantized model held in the key file."""
    arch = commitment_fields(commitment)["architecture"]
    model, _ = accuracy.model_from_opening(arch, key.read_bytes())
    return evaluate.count_correct(model, x, y)


def rewrite_proof(src: Path, dst: Path, **changes) -> Path:
    """A copy of a proof file with some of its container fields replaced."""
    proof = accuracy.AccuracyProof.from_bytes(src.read_bytes())
    dst.write_bytes(replace(proof, **changes).to_bytes())
    return dst
