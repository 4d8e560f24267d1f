"""Protocol v2 against the int64 evaluator on random MLPs (hypothesis), and the verifier's
memory: bounded by the test set, the parameters and the proof, never by the batch's
multiplications (measured in-process with tracemalloc, not by wall-clock)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkproofs.layered.gadgets import count as count_gadget
from zkproofs.ml import evaluate
from zkproofs.ml.architecture import QuantizedModel

from .layered_helpers import Case, make_case, mlp


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    inputs=st.integers(1, 6),
    hidden=st.lists(st.integers(1, 5), max_size=2),
    classes=st.integers(2, 5),
    n=st.integers(1, 20),
    signed=st.booleans(),
    shift=st.integers(0, 5),
    weight_bits=st.integers(2, 8),
)
def test_random_mlps_prove_exactly_what_the_evaluator_counts(
        seed, inputs, hidden, classes, n, signed, shift, weight_bits):
    arch = mlp(inputs, hidden, classes, input_range=(-8, 7) if signed else (0, 15),
               shifts=[shift] * len(hidden), weight_bits=weight_bits)
    case = make_case(seed, arch, n)
    writer, cw = case.prove()
    case.verify(writer.bytes(), cw)
    assert case.correct == evaluate.count_correct(case.model, case.x, case.y)
    if case.correct < n:
        with pytest.raises(count_gadget.CountError):
            case.prove(claimed=case.correct + 1)


def test_range_edges_and_ties():
    """Inputs at both ends of the declared range, weights and biases at both ends of their
    widths, all logits tied on some samples: the count is the evaluator's."""
    arch = mlp(3, [3], 3, input_range=(-8, 7), weight_bits=4, bias_bits=8, shifts=[2])
    rng = np.random.default_rng(4)
    tensors = {}
    for slot in arch.layout:
        lo, hi = -(1 << (slot.bits - 1)), (1 << (slot.bits - 1)) - 1
        tensors[slot.name] = rng.choice([lo, hi, 0], slot.shape)
    tensors["layers.1.weight"] = np.zeros((3, 3), dtype=np.int64)  # every logit tied …
    tensors["layers.1.bias"] = np.array([7, 7, 7])  # … so class 0 always wins
    model = QuantizedModel(arch, tensors)
    x = np.array([[-8, -8, -8], [7, 7, 7], [-8, 7, 0], [7, -8, 7]])
    y = np.array([0, 1, 0, 2])
    case = Case(arch, model, x, y, evaluate.count_correct(model, x, y))
    assert case.correct == 2
    writer, cw = case.prove()
    case.verify(writer.bytes(), cw)


def _verifier_peak(case, writer, cw) -> int:
    proof = writer.bytes()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        case.verify(proof, cw)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_verifiers_memory_follows_the_test_set_not_the_multiplications():
    """Hidden width ×8 multiplies the batch's multiplications by 8; the verifier's peak
    grows by far less (it never sees an activation). N ×8 grows the test set, and the peak
    stays within a fixed multiple of it plus the proof."""
    narrow = make_case(1, mlp(16, [4], 3), 64)
    wide = make_case(1, mlp(16, [32], 3), 64)
    p_narrow = _verifier_peak(narrow, *narrow.prove())
    p_wide = _verifier_peak(wide, *wide.prove())
    assert p_wide < 3 * p_narrow

    small = make_case(2, mlp(16, [4], 3), 64)
    big = make_case(2, mlp(16, [4], 3), 512)
    w_small, cw_small = small.prove()
    w_big, cw_big = big.prove()
    p_small = _verifier_peak(small, w_small, cw_small)
    p_big = _verifier_peak(big, w_big, cw_big)
    test_set = big.x.size * 8
    assert p_big <= p_small + 64 * test_set + 4 * len(w_big.bytes())
