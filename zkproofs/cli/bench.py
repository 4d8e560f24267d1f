"""``zkarena bench``: prove and verify real workloads, one fresh process per measurement.

Workloads (all made offline, nothing downloaded):

- ``digits-lr``, ``digits-mlp``: scikit-learn's digits (train/test split with
  random_state=0, test_size=0.2: 360 test samples), a logistic regression 64→10 and an MLP
  64→32→ReLU→10, quantized on the training split;
- ``digits-cnn``: the same digits as 1×8×8 images, a small CNN trained with PyTorch (conv
  1→8 3×3 with BatchNorm, ReLU, MaxPool 2, dense 128→32→ReLU→10), exported to ONNX and
  imported like any competitor's file;
- ``mnist-mlp``: MNIST-shaped 28×28 images (``zkproofs.ml.workloads``: the bundled digits
  upscaled, shifted and noised), an MLP 784→128→ReLU→10 trained on 12,000 of them and
  scored on up to 10,000 others;
- ``mnist-lenet``: the same images, a LeNet-5-style CNN trained with PyTorch (conv 1→6 5×5,
  ReLU, AvgPool 2, conv 6→16 5×5, ReLU, AvgPool 2, dense 256→64→ReLU→10), exported to ONNX.

The PyTorch workloads need torch (the ``test`` extra installs it). Each (workload, N) runs
in its own subprocess: it commits, proves (``prove_s`` and the process's peak memory
``prove_peak_mb``), then runs ``zkarena verify`` on the written files as a separate
command, as anyone re-verifying would: ``verify_cmd_s`` is that whole command (interpreter
start, imports, reading the test set, its digest, the verification), ``verify_s`` the
verification it reports, ``verify_peak_mb`` its peak memory. Trained models are cached
under the user's cache folder (the first run trains). Times are wall-clock seconds on this
machine; tests never assert on them.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np

WORKLOADS = ("digits-lr", "digits-mlp", "digits-cnn", "mnist-mlp", "mnist-lenet")
LIMITS = {"digits-lr": 360, "digits-mlp": 360, "digits-cnn": 360, "mnist-mlp": 10_000,
          "mnist-lenet": 10_000}
_VERIFY_COMMAND = (
    "import sys\n"
    "from zkproofs.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "print('PEAK_KB', hwm[0].split()[1] if hwm else 0, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)
MODEL_CACHE_VERSION = 2


def _peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which exec resets (ru_maxrss would
    carry over the parent's high-water mark through fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0)
    return x_tr.astype(np.int64), x_te.astype(np.int64), y_tr, y_te


def _fit_quietly(model, x, y):
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on a loaded 2-core machine oversubscribed BLAS is several times slower.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # sklearn's convergence chatter
        return model.fit(x, y)


def train_digits_model(kind: str, x_tr, y_tr):
    """A float model of the benchmark's kind, as zkproofs' FloatModel."""
    from ..ml.quantize import FloatDense, FloatModel

    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        m = _fit_quietly(LogisticRegression(max_iter=500), x_tr, y_tr)
        return FloatModel((64,), (FloatDense(m.coef_, m.intercept_),))
    if kind == "mlp":
        from sklearn.neural_network import MLPClassifier

        m = _fit_quietly(MLPClassifier(hidden_layer_sizes=(32,), random_state=0, max_iter=300),
                         x_tr, y_tr)
        return FloatModel((64,), (FloatDense(m.coefs_[0].T, m.intercepts_[0], relu=True),
                                  FloatDense(m.coefs_[1].T, m.intercepts_[1])))
    raise ValueError(f"unknown model {kind!r} (use lr or mlp)")


def _cache_path(workload: str) -> Path:
    from ..params import cache_dir

    return cache_dir() / "bench" / f"{workload}-v{MODEL_CACHE_VERSION}.npz"


def _cached_model(name: str, build):
    """The quantized model of a workload, trained once and cached (``build()`` trains)."""
    from ..ml.architecture import Architecture, QuantizedModel

    path = _cache_path(name)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                arch = Architecture.from_bytes(f["architecture"].tobytes())
                return QuantizedModel.from_flat(arch, f["weights"])
        except (OSError, ValueError, KeyError):
            pass
    model = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, architecture=np.frombuffer(model.architecture.to_bytes(), np.uint8),
             weights=model.flat_weights())
    return model


def _train_mnist_mlp():
    from sklearn.neural_network import MLPClassifier

    from ..ml.quantize import FloatDense, FloatModel, quantize
    from ..ml.workloads import mnist_shaped

    x_tr, y_tr = mnist_shaped(12_000, split="train")
    flat = x_tr.reshape(len(x_tr), -1)
    m = _fit_quietly(MLPClassifier(hidden_layer_sizes=(128,), max_iter=15, random_state=0),
                     flat / 255.0, y_tr)
    fm = FloatModel((784,), (FloatDense(m.coefs_[0].T, m.intercepts_[0], relu=True),
                             FloatDense(m.coefs_[1].T, m.intercepts_[1])))
    model, _ = quantize(fm, flat[:2000], y_tr[:2000], input_range=(0, 255), input_scale=255)
    return model


def _torch_to_model(net, x_tr, y_tr, *, scale: float, input_range, epochs: int):
    """Train a PyTorch module on x/scale, export it to ONNX (the TorchScript exporter) and
    import and quantize the file as `zkarena model` would."""
    import io

    try:
        import torch
    except ImportError:
        raise RuntimeError("this workload trains with PyTorch: pip install 'zkarena[test]'") \
            from None
    from ..ml.onnx_import import load_onnx
    from ..ml.quantize import quantize_auto

    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    xt = torch.tensor(np.asarray(x_tr, dtype=np.float64) / scale, dtype=torch.float32)
    yt = torch.tensor(y_tr, dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            idx = order[i : i + 128]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    net.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, xt[:1], buf, dynamo=False, input_names=["x"],
                          output_names=["logits"])
    float_model = load_onnx(buf.getvalue())
    calib = min(len(x_tr), 2000)
    model, _ = quantize_auto(float_model, x_tr[:calib], y_tr[:calib], input_range=input_range,
                             input_scale=scale)
    return model


def _train_lenet():
    import torch.nn as nn

    from ..ml.workloads import mnist_shaped

    x_tr, y_tr = mnist_shaped(12_000, split="train")
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    return _torch_to_model(net, x_tr[:, None], y_tr, scale=255.0,
                           input_range=(0, 255), epochs=3)


def _train_digits_cnn():
    import torch.nn as nn

    x_tr, _, y_tr, _ = digits_split()
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 32), nn.ReLU(), nn.Linear(32, 10),
    )
    return _torch_to_model(net, x_tr.reshape(-1, 1, 8, 8), y_tr,
                           scale=16.0, input_range=(0, 16), epochs=30)


def workload(name: str, samples: int):
    """(quantized model, test inputs, test labels, competition input range and scale)."""
    from ..ml.quantize import quantize

    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r} (one of {', '.join(WORKLOADS)})")
    if not 1 <= samples <= LIMITS[name]:
        raise ValueError(f"{name} has {LIMITS[name]} test samples")
    if name in ("digits-lr", "digits-mlp"):
        x_tr, x_te, y_tr, y_te = digits_split()
        model, _ = quantize(train_digits_model(name.split("-")[1], x_tr, y_tr), x_tr, y_tr,
                            input_range=(0, 16))
        return model, x_te[:samples], y_te[:samples], (0, 16), 1
    if name == "digits-cnn":
        _, x_te, _, y_te = digits_split()
        model = _cached_model(name, _train_digits_cnn)
        return model, x_te[:samples].reshape(-1, 1, 8, 8), y_te[:samples], (0, 16), 16
    from ..ml.workloads import mnist_shaped

    x_te, y_te = mnist_shaped(samples, split="test")  # the first N of the same sequence
    if name == "mnist-mlp":
        model = _cached_model(name, _train_mnist_mlp)
        return model, x_te.reshape(samples, -1), y_te, (0, 255), 255
    model = _cached_model(name, _train_lenet)
    return model, x_te[:, None], y_te, (0, 255), 255


def run(name: str, samples: int) -> dict:
    """Commit, prove in this process, verify with the `zkarena verify` command."""
    from .. import accuracy
    from ..competition import CompetitionSpec
    from ..ml import datasets, evaluate
    from .common import commitment_document

    model, x, y, input_range, scale = workload(name, samples)
    salt = datasets.new_salt()
    spec = CompetitionSpec(uuid.uuid4(), datasets.salted_digest(x, y, salt), len(x), 10,
                           tuple(x.shape[1:]), scale, Fraction(1, 2), input_range)
    submitter = uuid.uuid4()
    committed = accuracy.commit_model(model, spec, submitter)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "competition.json").write_text(spec.to_json() + "\n")
        (folder / "competition.salt").write_text(salt.hex() + "\n")
        datasets.save_npz(folder / "test.npz", x, y)
        doc = commitment_document(spec, submitter, committed, model.architecture)
        (folder / "commitment.json").write_text(json.dumps(doc) + "\n")
        rss_before = _peak_rss_mb()
        t0 = time.perf_counter()
        result = accuracy.prove_accuracy(spec, x, y, salt, submitter, committed.architecture,
                                         committed.commitment, committed.opening)
        prove_s = time.perf_counter() - t0
        prove_peak = _peak_rss_mb()
        (folder / "proof.zkp").write_bytes(result.to_bytes())
        # The console script's own code path, in a fresh interpreter that reports its peak
        # memory on exit (RUSAGE_CHILDREN would mix in the prover's forked workers).
        argv = [sys.executable, "-c", _VERIFY_COMMAND, "verify", str(folder / "proof.zkp"),
                "--competition", str(folder / "competition.json"), "--test-set",
                str(folder / "test.npz"), "--commitment", str(folder / "commitment.json"),
                "--submitter", str(submitter)]
        t0 = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, check=False,  # noqa: S603
                             stdin=subprocess.DEVNULL)
        verify_cmd_s = time.perf_counter() - t0
        peak = re.search(r"^PEAK_KB (\d+)$", out.stderr, re.M)
        verify_peak = int(peak.group(1)) / 1024 if peak else None
        reported = re.search(r"backend, ([0-9.]+) s\]", out.stdout)
    return {
        "workload": name,
        "samples": len(x),
        "protocol": result.protocol,
        "prove_s": round(prove_s, 3),
        "prove_peak_mb": round(prove_peak, 1),
        "setup_peak_mb": round(rss_before, 1),
        "verify_cmd_s": round(verify_cmd_s, 3),
        "verify_s": float(reported.group(1)) if reported else None,
        "verify_peak_mb": None if verify_peak is None else round(verify_peak, 1),
        "proof_bytes": len(result.to_bytes()),
        "correct": evaluate.count_correct(model, x, y),
        "verified": out.returncode == 0,
    }


def _run_isolated(job: dict) -> dict:
    """One measurement in a fresh interpreter, so peak memory is that run's alone."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and module, JSON argument
        [sys.executable, "-m", "zkproofs.cli.bench", json.dumps(job)],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark {job} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


HEAD = ("workload", "samples", "protocol", "prove_s", "prove_peak_mb", "setup_peak_mb",
        "verify_cmd_s",
        "verify_s", "verify_peak_mb", "proof_bytes", "correct", "verified")


def table(rows: list[dict]) -> str:
    widths = [max(len(h), *(len(str(r.get(h))) for r in rows)) for h in HEAD]
    lines = ["  ".join(h.rjust(w) for h, w in zip(HEAD, widths, strict=True))]
    for r in rows:
        lines.append("  ".join(str(r.get(h)).rjust(w) for h, w in zip(HEAD, widths,
                                                                         strict=True)))
    return "\n".join(lines)


def main(args) -> int:
    names = [m.strip() for m in args.workloads.split(",") if m.strip()]
    for name in names:
        if name not in WORKLOADS:
            print(f"zkarena: error: unknown workload {name!r} (one of {', '.join(WORKLOADS)})",
                  file=sys.stderr)
            return 2
    try:
        sizes = [int(s) for s in args.samples.split(",") if s.strip()]
    except ValueError:
        print("zkarena: error: --samples is a comma list of integers", file=sys.stderr)
        return 2
    for name in names:  # train and cache the models here, outside the measured processes
        workload(name, 1)
    rows = []
    for name in names:
        for n in sizes:
            limit = LIMITS[name]
            if not 1 <= n <= limit:
                print(f"zkarena: error: {name} has {limit} test samples", file=sys.stderr)
                return 2
            if not args.json:
                print(f"running {name} with N = {n} …", file=sys.stderr, flush=True)
            row = _run_isolated({"workload": name, "samples": n})
            rows.append(row)
            if args.json:
                print(json.dumps(row), flush=True)
    if not args.json:
        print(table(rows))
    return 0


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    print(json.dumps(run(job["workload"], int(job["samples"]))))
