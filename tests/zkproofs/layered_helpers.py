"""Helpers for the protocol-v2 tests: small random dense models, their commitments, and a
prove/verify pair that exposes the proof's sections for mutation tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np

from zkproofs.layered import prover, schedule, verifier
from zkproofs.ml import evaluate
from zkproofs.ml.architecture import Architecture, Dense, QuantizedModel
from zkproofs.params import get_params, get_wide_params
from zkproofs.rng import ProverRandomness
from zkproofs.weights import CommitmentBinding, commit_weights

STATEMENT = b"zkarena/test-statement"
BINDING = CommitmentBinding(b"c" * 32, uuid.UUID(int=7).bytes, b"a" * 32)


def random_model(rng: np.random.Generator, arch: Architecture) -> QuantizedModel:
    tensors = {}
    for slot in arch.layout:
        lo, hi = -(1 << (slot.bits - 1)), (1 << (slot.bits - 1))
        if slot.kind == "bias":  # keep biases in a useful range, with the extremes present
            values = rng.integers(max(lo, -64), min(hi, 64), slot.shape)
            if values.size > 1:
                values.flat[0] = lo
                values.flat[-1] = hi - 1
        else:
            values = rng.integers(lo, hi, slot.shape)
        tensors[slot.name] = values
    return QuantizedModel(arch, tensors)


def mlp(inputs: int, hidden: list[int], classes: int, *, input_range=(0, 15), shifts=None,
        relus=None, weight_bits=6, bias_bits=12) -> Architecture:
    layers = []
    sizes = [inputs, *hidden, classes]
    for i in range(len(sizes) - 1):
        last = i == len(sizes) - 2
        layers.append(Dense(
            sizes[i], sizes[i + 1], weight_bits=weight_bits, bias_bits=bias_bits,
            shift=0 if last else (shifts[i] if shifts else 4),
            relu=False if last else (relus[i] if relus else True),
        ))
    return Architecture((inputs,), input_range, tuple(layers))


@dataclass
class Case:
    arch: Architecture
    model: QuantizedModel
    x: np.ndarray
    y: np.ndarray
    correct: int
    backend: str = "native"

    def commitment(self, flat=None):
        values = self.model.flat_weights() if flat is None else flat
        cw, opening, _ = commit_weights(get_params(self.backend), values.tolist(), BINDING,
                                        ProverRandomness.for_tests(b"weights"))
        return cw, opening

    def schedule(self, claimed=None):
        c = self.correct if claimed is None else claimed
        return schedule.with_data(schedule.build(self.arch, len(self.x), c), self.x, self.y)

    def prove(self, *, claimed=None, tamper=None, flat=None, seed=b"prover"):
        cw, opening = self.commitment(flat)
        writer = prover.prove_traced(
            get_wide_params(self.backend), self.schedule(claimed), self.model, self.x,
            STATEMENT, cw, opening, rng=ProverRandomness.for_tests(seed), _tamper=tamper,
        )
        return writer, cw

    def verify(self, proof: bytes, cw, *, claimed=None, statement=STATEMENT, backend=None):
        verifier.verify(get_wide_params(backend or self.backend), self.schedule(claimed),
                        proof, statement, cw.rows)


def make_case(seed: int, arch: Architecture, n: int, *, labels="predicted") -> Case:
    """A case whose labels are mostly the model's own predictions (so the count is high and
    the margins non-trivial), with some flipped."""
    rng = np.random.default_rng(seed)
    model = random_model(rng, arch)
    lo, hi = arch.input_range
    x = rng.integers(lo, hi + 1, (n, *arch.input_shape))
    pred = evaluate.predict(model, x)
    y = pred.copy()
    flip = rng.random(n) < 0.3
    y[flip] = rng.integers(0, arch.num_classes, int(flip.sum()))
    if labels == "random":
        y = rng.integers(0, arch.num_classes, n)
    return Case(arch, model, x, y, evaluate.count_correct(model, x, y))


def prove_cases(cases: dict[str, tuple[Architecture, int]], first_seed: int) -> dict:
    """name → (case, its honest proof writer, C_W), one proof per case (seeds from
    ``first_seed`` on, in order)."""
    out = {}
    for i, (name, (arch, n)) in enumerate(cases.items()):
        case = make_case(first_seed + i, arch, n)
        writer, cw = case.prove()
        out[name] = (case, writer, cw)
    return out
