"""``zkarena bench``: prove and verify on scikit-learn's digits, and on synthetic R1CS.

Digits: train/test split with random_state=0, test_size=0.2 (360 test samples); a logistic
regression 64→10 and an MLP 64→32→ReLU→10, quantized on the training split. Each
(model, N) runs in its own subprocess so that ``peak_rss_mb`` is that run's own peak.
Times are wall-clock seconds on this machine; the numbers are for people, tests never
assert on them.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import uuid
import warnings
from fractions import Fraction

import numpy as np


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, random_state=0)
    return x_tr.astype(np.int64), x_te.astype(np.int64), y_tr, y_te


def train_digits_model(kind: str, x_tr, y_tr):
    """A float model of the benchmark's kind, as zkproofs' FloatModel."""
    from threadpoolctl import threadpool_limits

    from ..ml.quantize import FloatDense, FloatModel

    # One BLAS thread: on a loaded 2-core machine oversubscribed BLAS is several times slower.
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")  # sklearn's convergence chatter
        if kind == "lr":
            from sklearn.linear_model import LogisticRegression

            m = LogisticRegression(max_iter=500).fit(x_tr, y_tr)
            return FloatModel((64,), (FloatDense(m.coef_, m.intercept_),))
        if kind == "mlp":
            from sklearn.neural_network import MLPClassifier

            m = MLPClassifier(hidden_layer_sizes=(32,), random_state=0, max_iter=300)
            m.fit(x_tr, y_tr)
            return FloatModel(
                (64,),
                (
                    FloatDense(m.coefs_[0].T, m.intercepts_[0], relu=True),
                    FloatDense(m.coefs_[1].T, m.intercepts_[1]),
                ),
            )
    raise ValueError(f"unknown model {kind!r} (use lr or mlp)")


def run_accuracy(kind: str, samples: int) -> dict:
    from .. import accuracy
    from ..competition import CompetitionSpec
    from ..ml import datasets, evaluate
    from ..ml.circuit import compile_accuracy_circuit
    from ..ml.quantize import quantize

    x_tr, x_te, y_tr, y_te = digits_split()
    x, y = x_te[:samples], y_te[:samples]
    model, _ = quantize(train_digits_model(kind, x_tr, y_tr), x_tr, y_tr, input_range=(0, 16))
    salt = datasets.new_salt()
    spec = CompetitionSpec(uuid.uuid4(), datasets.salted_digest(x, y, salt), len(x), 10, (64,),
                           1, Fraction(1, 2), (0, 16))
    submitter = uuid.uuid4()
    committed = accuracy.commit_model(model, spec, submitter)
    t0 = time.perf_counter()
    result = accuracy.prove_accuracy(spec, x, y, salt, submitter, committed.architecture,
                                     committed.commitment, committed.opening)
    prove_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = accuracy.verify_accuracy(spec, x, y, salt, submitter, committed.architecture,
                                      committed.commitment, result.claimed, result.proof)
    verify_s = time.perf_counter() - t0
    circuit = compile_accuracy_circuit(model.architecture, x, y, result.claimed)
    return {
        "model": kind,
        "samples": len(x),
        "constraints": circuit.r1cs.num_constraints,
        "variables": circuit.r1cs.weight_count + circuit.r1cs.aux_count,
        "prove_s": round(prove_s, 3),
        "verify_s": round(verify_s, 3),
        "proof_bytes": len(result.to_bytes()),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "correct": evaluate.count_correct(model, x, y),
        "verified": report.correct == result.claimed,
    }


def synthetic_r1cs(log_constraints: int):
    """Range checks of 15-bit values: 16 constraints each (15 booleans, 1 recomposition),
    so the witness is mostly bits, like the accuracy circuits'."""
    from ..r1cs import ONE, R1CSBuilder, SparseBlock

    n_values = (1 << log_constraints) // 16
    k = 15
    b = R1CSBuilder()
    vals = (np.arange(n_values, dtype=np.int64) * 7919) % (1 << k)
    v_idx = b.alloc(n_values, vals, label="values")
    bits = (vals[:, None] >> np.arange(k)) & 1
    bit_idx = b.alloc(n_values * k, bits.reshape(-1), label="bits").reshape(n_values, k)
    m = n_values * k
    rows = np.arange(m, dtype=np.int64)
    flat = bit_idx.reshape(-1)
    b.constrain_batch(
        m,
        SparseBlock(rows, flat, 1),
        SparseBlock(np.concatenate([rows, rows]), np.concatenate([flat, np.full(m, ONE)]),
                    np.concatenate([np.ones(m, np.int64), -np.ones(m, np.int64)])),
        SparseBlock.empty(),
        label="booleans",
    )
    b.constrain_batch(
        n_values,
        SparseBlock.concat(SparseBlock.dense_rows(bit_idx, 1 << np.arange(k, dtype=np.int64)),
                           SparseBlock.diag(v_idx, -1)),
        SparseBlock.const(n_values),
        SparseBlock.empty(),
        label="recomposition",
    )
    return b.build(), b.assignment()


def run_r1cs(log_constraints: int) -> dict:
    from .. import formats, spartan
    from ..params import get_params

    params = get_params("native")
    r1cs, assignment = synthetic_r1cs(log_constraints)
    t0 = time.perf_counter()
    proof = spartan.prove(params, r1cs, assignment, statement=b"bench")
    prove_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    spartan.verify(params, r1cs, [], proof, statement=b"bench")
    verify_s = time.perf_counter() - t0
    return {
        "model": f"synthetic-2^{log_constraints}",
        "samples": 0,
        "constraints": r1cs.num_constraints,
        "variables": r1cs.aux_count,
        "prove_s": round(prove_s, 3),
        "verify_s": round(verify_s, 3),
        "proof_bytes": len(formats.encode_proof(params, proof)),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "correct": None,
        "verified": True,
    }


def _run_isolated(job: dict) -> dict:
    """One measurement in a fresh interpreter, so peak memory is that run's alone."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and module, JSON argument
        [sys.executable, "-m", "zkproofs.cli.bench", json.dumps(job)],
        capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark {job} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = ("model", "samples", "constraints", "prove_s", "verify_s", "proof_bytes",
            "peak_rss_mb", "correct", "verified")
    lines = ["  ".join(f"{h:>12}" for h in head)]
    for r in rows:
        lines.append("  ".join(f"{str(r.get(h)):>12}" for h in head))
    return "\n".join(lines)


def main(args) -> int:
    jobs = []
    if args.r1cs:
        jobs = [{"kind": "r1cs", "log": int(v)} for v in args.r1cs.split(",") if v.strip()]
    else:
        for kind in [m.strip() for m in args.models.split(",") if m.strip()]:
            if kind not in ("lr", "mlp"):
                print(f"zkarena: error: unknown model {kind!r} (lr, mlp)", file=sys.stderr)
                return 2
            for n in [int(s) for s in args.samples.split(",") if s.strip()]:
                if not 1 <= n <= 360:
                    print("zkarena: error: digits has 360 test samples", file=sys.stderr)
                    return 2
                jobs.append({"kind": "accuracy", "model": kind, "samples": n})
    rows = []
    for job in jobs:
        if not args.json:
            print(f"running {job} …", file=sys.stderr, flush=True)
        row = _run_isolated(job)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    if not args.json:
        print(table(rows))
    return 0


def _child(job: dict) -> dict:
    if job["kind"] == "r1cs":
        return run_r1cs(int(job["log"]))
    return run_accuracy(job["model"], int(job["samples"]))


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.argv[1]))))
