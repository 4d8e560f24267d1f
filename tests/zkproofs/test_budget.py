"""A proof's cost, counted from the architecture and N alone, and the competition budget
that refuses an architecture cheap in parameters but costly to prove: at commit (library and
offline command line), and a bogus proof for it by its length before anything else."""

from __future__ import annotations

import json
import uuid
from fractions import Fraction

import numpy as np
import onnx
import pytest
from onnx import helper

from zkproofs import accuracy
from zkproofs.competition import DEFAULT_BUDGET, Budget, CompetitionSpec, SpecError
from zkproofs.errors import FormatError
from zkproofs.layered import cost as cost_mod
from zkproofs.layered import prover as layered_prover
from zkproofs.layered import verifier as layered_verifier
from zkproofs.ml import datasets
from zkproofs.ml.architecture import Architecture, Conv2d, Dense, Flatten, MaxPool2d

from .cli_helpers import run_cli
from .layered_helpers import make_case, mlp
from .ml.helpers import graph_model, init

# 1,290 parameters; 64 × 28 × 28 conv outputs per sample and 784-position max windows.
CRAFTED = Architecture((1, 28, 28), (0, 255), (
    Conv2d(1, 64, 3, 1, 1, weight_bits=4, bias_bits=12, shift=4, relu=True),
    MaxPool2d(28, 1), Flatten(), Dense(64, 10, weight_bits=4, bias_bits=12),
))


def spec_for(arch: Architecture, n: int, budget: Budget = DEFAULT_BUDGET) -> CompetitionSpec:
    return CompetitionSpec(uuid.uuid4(), bytes(32), n, arch.num_classes,
                           tuple(arch.input_shape), 1, Fraction(1, 2),
                           tuple(arch.input_range), budget)


def test_counts_are_exact():
    """The committed entries are what the prover commits: every live row at full width."""
    case = make_case(1, mlp(5, [4], 3), 37)
    sched = case.schedule()
    c = cost_mod.of(sched)
    writer, _ = case.prove()
    assert c.proof_bytes == len(writer.bytes()) == sched.proof_size().bytes
    assert c.proof_points == sched.proof_size().points
    rows = sum(e - s for (label, s, _), e in zip(
        writer.sections, [s for _, s, _ in writer.sections[1:]] + [0], strict=True)
        if label.startswith("commitment "))
    assert rows == sum(v.layout.num_live_rows for v in sched.vectors.values())
    assert c.lookup_leaves == 1 << sched.leaf_bits
    assert c.macs == (5 * 4 + 4 * 3) * 37


def test_cost_grows_with_n_and_the_crafted_architecture_is_expensive():
    small = accuracy.proof_cost(mlp(64, [32], 10), 360)
    assert small.prove_seconds < accuracy.proof_cost(mlp(64, [32], 10), 3600).prove_seconds
    crafted = accuracy.proof_cost(CRAFTED, 10_000)
    assert CRAFTED.weight_count < 2000
    assert crafted.committed_entries > 500_000_000
    assert crafted.prove_seconds > 100 * small.prove_seconds
    assert crafted.prove_seconds > DEFAULT_BUDGET.prove_seconds


def test_the_crafted_architecture_is_refused_at_commit_with_the_figures():
    from zkproofs.ml.architecture import QuantizedModel

    rng = np.random.default_rng(0)
    model = QuantizedModel(CRAFTED, {s.name: rng.integers(-4, 4, s.shape)
                                     for s in CRAFTED.layout})
    spec = spec_for(CRAFTED, 10_000)
    figures = r"proving takes about [\d,]+ s \(budget 1,800 s\)"
    with pytest.raises(accuracy.BudgetError, match=figures):
        accuracy.commit_model(model, spec, uuid.uuid4())
    # The same model fits a competition with a budget that admits it.
    roomy = Budget(10**9, 10**6, 10**11)
    committed = accuracy.commit_model(model, spec_for(CRAFTED, 10_000, roomy), uuid.uuid4())
    assert committed.commitment


def test_a_bogus_proof_for_it_is_refused_by_its_length_before_anything_is_read(monkeypatch):
    spec = spec_for(CRAFTED, 10_000, Budget(10**9, 10**6, 10**11))
    expected = accuracy.expected_proof_bytes(CRAFTED, spec)
    touched = []

    def forbidden(*args, **kwargs):
        touched.append(True)
        raise AssertionError("work done before the size check")

    monkeypatch.setattr(accuracy, "check_test_set", forbidden)
    monkeypatch.setattr(layered_verifier, "verify", forbidden)
    monkeypatch.setattr(layered_prover, "prove", forbidden)
    bogus = accuracy.LAYERED_MAGIC + bytes(4096)
    with pytest.raises(FormatError, match="bytes where"):
        accuracy.verify_accuracy(spec, None, None, b"", uuid.uuid4(), CRAFTED.to_bytes(),
                                 b"", 5000, bogus)
    assert not touched
    assert expected > len(bogus)


def test_the_budget_travels_in_the_competition_file_but_not_in_its_digest():
    spec = spec_for(mlp(4, [3], 2), 10, Budget(60, 2, 1_000_000))
    back = CompetitionSpec.from_json(spec.to_json())
    assert back.budget == Budget(60, 2, 1_000_000)
    same = CompetitionSpec(spec.competition_id, spec.test_set_digest, 10, 2, (4,), 1,
                           Fraction(1, 2), spec.input_range)
    assert same.digest() == spec.digest() and same.budget == DEFAULT_BUDGET
    d = json.loads(spec.to_json())
    del d["budget"]  # a file written before budgets existed
    assert CompetitionSpec.from_json(json.dumps(d)).budget == DEFAULT_BUDGET
    for bad in [{"prove_seconds": 1}, {"prove_seconds": 0, "verify_seconds": 1,
                                       "proof_bytes": 1},
                {"prove_seconds": 1.5, "verify_seconds": 1, "proof_bytes": 1}, "60"]:
        d["budget"] = bad
        with pytest.raises(SpecError, match="budget"):
            CompetitionSpec.from_json(json.dumps(d))


def _crafted_onnx() -> onnx.ModelProto:
    rng = np.random.default_rng(3)
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], **conv),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[28, 28], strides=[1, 1]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "g", "gb"], ["logits"], transB=1),
    ]
    inits = [init("w", rng.normal(size=(64, 1, 3, 3)) * 0.3), init("b", rng.normal(size=64) * .1),
             init("g", rng.normal(size=(10, 64)) * 0.3), init("gb", rng.normal(size=10) * 0.1)]
    return graph_model(nodes, inits, (1, 28, 28), ["logits"])


def test_the_offline_command_line_refuses_it_before_committing(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (2000, 1, 28, 28))
    y = rng.integers(0, 10, 2000)
    test, comp = tmp_path / "TEST.npz", tmp_path / "competition.json"
    datasets.save_npz(test, x, y)
    res = run_cli("competition", "init", "--test-set", test, "--classes", "10",
                  "--threshold", "1/2", "--input-scale", "255", "--input-min", "0",
                  "--input-max", "255", "--max-prove-seconds", "120", "-o", comp)
    assert res.rc == 0, res.err
    assert "120 s to prove" in res.out
    model = tmp_path / "crafted.onnx"
    onnx.save(_crafted_onnx(), model)
    com, key = tmp_path / "c.json", tmp_path / "c.key"
    res = run_cli("commit", model, "--competition", comp, "--submitter", str(uuid.uuid4()),
                  "-o", com, "--key", key, "--yes")
    assert res.rc == 2, res.out + res.err
    assert "over the competition's budget" in res.err
    assert "(budget 120 s)" in res.err
    assert "proof cost: about" in res.out
    assert not com.exists() and not key.exists()
