"""PyTorch → ONNX exports as users make them, with both exporters of torch 2.13.

``torch.onnx.export(model, args, path)`` uses the dynamo exporter by default (it needs
onnxscript, in the test extras) and writes large tensors to ``path.data`` next to the
model; ``dynamo=False`` is the legacy TorchScript exporter. The variants that keep
BatchNormalization nodes in the graph (``optimize=False``, ``do_constant_folding=False``)
exercise the importer's own folding: the default settings already fold most of them.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

EXPORTERS = ("dynamo", "legacy")
# Every way of calling torch.onnx.export the importer must read.
ALL_EXPORTERS = ("dynamo", "dynamo-noopt", "legacy", "legacy-nofold")


def export(net, example, path: Path, exporter: str) -> Path:
    """Export ``net`` (put in eval mode) for inputs shaped like ``example`` (a tensor)."""
    import torch

    net.eval()
    options = {
        "dynamo": {},  # the default call: dynamo=True, optimize=True, external data
        "dynamo-noopt": {"dynamo": True, "optimize": False},
        "legacy": {"dynamo": False},
        "legacy-nofold": {"dynamo": False, "do_constant_folding": False},
    }[exporter]
    # The dynamo exporter reports its steps on stdout; the legacy one warns it is legacy.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (example,), str(path), **options)
    return path


def train(net, x, y, *, epochs: int, lr: float = 0.01, batch: int = 64, seed: int = 0):
    """A few epochs of Adam on cross-entropy, deterministic for a seed; returns net in eval
    mode. ``x`` is the float input the model sees, ``y`` the labels (numpy arrays)."""
    import torch

    torch.manual_seed(seed)
    xs = torch.tensor(x, dtype=torch.float32)
    ys = torch.tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    with _one_thread():
        for _ in range(epochs):
            perm = torch.randperm(len(xs))
            for i in range(0, len(xs), batch):
                idx = perm[i : i + batch]
                if len(idx) < 2:  # BatchNorm needs two samples in training mode
                    continue
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(xs[idx]), ys[idx]).backward()
                opt.step()
    return net.eval()


def predict(net, x):
    import numpy as np
    import torch

    with torch.no_grad(), _one_thread():
        return np.argmax(net(torch.tensor(x, dtype=torch.float32)).numpy(), axis=1)


def logits(net, x):
    import torch

    with torch.no_grad(), _one_thread():
        return net(torch.tensor(x, dtype=torch.float32)).numpy().astype("float64")


@contextlib.contextmanager
def _one_thread():
    """Two test workers on two cores: torch's own thread pool would oversubscribe them."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
