"""`zkarena commit` against a live site (issue 9): ``--dry-run`` reads only the public
competition (no login) and registers nothing; a model whose quantization disagrees with the
float model uses no commitment slot unless confirmed (``--yes``); the site's model limits
are checked before anything is uploaded."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import numpy as np
from onnx import helper

from tests.test_client_flow import (  # noqa: F401 - _isolated and people are fixtures
    PASSWORD,
    _isolated,
    calibration,
    identity_onnx,
    login,
    new_competition,
    people,
    reveal_now,
)
from tests.zkproofs.cli_helpers import run_cli
from tests.zkproofs.ml.helpers import graph_model, init


def key_files() -> list[Path]:
    return list(Path(os.environ["ZKARENA_CONFIG"]).parent.glob("sites/*/*/*.key"))


def random_dense_onnx(path: Path, *, hidden: int | None = None) -> Path:
    """Gemm 4→3 (or 4→hidden→Relu→3) with weights of very different magnitudes."""
    r = np.random.default_rng(5)
    if hidden is None:
        nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["logits"], transB=1)]
        inits = [init("w", r.normal(size=(3, 4)) * [[1, 0.3, 0.1, 0.03]]),
                 init("b", r.normal(size=3))]
    else:
        nodes = [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
                 helper.make_node("Relu", ["h"], ["r"]),
                 helper.make_node("Gemm", ["r", "w", "b"], ["logits"], transB=1)]
        inits = [init("w1", r.normal(size=(hidden, 4))), init("b1", r.normal(size=hidden)),
                 init("w", r.normal(size=(3, hidden))), init("b", r.normal(size=3))]
    path.write_bytes(graph_model(nodes, inits, (4,), ["logits"]).SerializeToString())
    return path


def test_dry_run_needs_no_login_and_registers_nothing(live_server, people, tmp_path):  # noqa: F811
    organizer, _ = people
    comp = new_competition(organizer, reveal_in=timedelta(minutes=10))
    model, cal = identity_onnx(tmp_path / "model.onnx"), calibration(tmp_path / "cal.npz")
    res = run_cli("commit", model, "--competition", "tiny", "--calibration", cal, "--dry-run",
                  "--url", live_server.url)  # fmt: skip
    assert res.rc == 0, res
    assert "integers x in [0, 15]" in res.out and "accuracy on the calibration data" in res.out
    assert "dry run: nothing committed or uploaded to tiny" in res.out
    assert not comp.commitments.exists() and not key_files()
    # After the reveal a dry run still reports (with a note); a real commit is refused.
    reveal_now(comp)
    res = run_cli("commit", model, "--competition", "tiny", "--calibration", cal, "--dry-run",
                  "--url", live_server.url)  # fmt: skip
    assert res.rc == 0 and "note: tiny takes commitments until the reveal" in res.err, res


def test_a_disagreeing_model_uses_no_slot_unless_confirmed(
    live_server, people, tmp_path  # noqa: F811
):
    organizer, alice = people
    comp = new_competition(organizer, reveal_in=timedelta(minutes=10))
    assert login(live_server.url).rc == 0
    model = random_dense_onnx(tmp_path / "model.onnx")
    cal = calibration(tmp_path / "cal.npz")
    argv = ["commit", model, "--competition", "tiny", "--calibration", cal, "--weight-bits", "2"]
    res = run_cli(*argv)
    assert res.rc == 2, res
    assert "WARNING: the quantized model agrees with your float model on only" in res.err
    assert "pass --yes to commit anyway" in res.err
    assert not comp.commitments.exists() and not key_files()
    res = run_cli(*argv, "--yes")
    assert res.rc == 0, res
    assert alice.commitments.count() == 1 and len(key_files()) == 1
    assert "2-bit weights" in res.out


def test_model_limits_are_checked_before_uploading(live_server, people, tmp_path):  # noqa: F811
    organizer, _ = people
    comp = new_competition(organizer, reveal_in=timedelta(minutes=10))  # max 100 parameters
    assert login(live_server.url).rc == 0
    model = random_dense_onnx(tmp_path / "model.onnx", hidden=32)  # 4·32+32+32·3+3 = 259
    res = run_cli("commit", model, "--competition", "tiny", "--calibration",
                  calibration(tmp_path / "cal.npz"))  # fmt: skip
    assert res.rc == 2, res
    assert "tiny does not accept this model" in res.err and "limit is 100" in res.err
    assert not comp.commitments.exists() and not key_files()
