"""The accuracy circuit (zkproofs/ml/circuit.py) at the R1CS level.

- agreement with the reference evaluator (hypothesis, over Dense MLPs and small CNNs with
  weights, biases and inputs at the edges of their ranges, logit ties included), prover and
  verifier compiling the same instance, and no witness for a claim above the true count;
- uniqueness of every gadget's witness by exhaustive enumeration over the whole field
  (circuit_helpers.Solver) on tiny instances, and for the tiniest models an enumeration over
  the weights as well, compared with a brute-force run of the evaluator;
- the weights enter only through their committed positions; determinism of the digest;
  refusal of intervals that reach 2^60; the digits MLP; one Spartan proof end to end.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import uuid
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkproofs import field, spartan
from zkproofs import weights as W
from zkproofs.errors import ConstraintViolation, VerificationError
from zkproofs.ml import evaluate
from zkproofs.ml.architecture import (
    Architecture,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    MaxPool2d,
    QuantizedModel,
    Reshape,
    signed_range,
)
from zkproofs.ml.circuit import COMPILER_BOUND, CircuitError, compile_accuracy_circuit
from zkproofs.ml.evaluate import IntervalOverflowError
from zkproofs.r1cs import SparseMatrix
from zkproofs.rng import ProverRandomness

from .circuit_helpers import (
    broken_rows,
    count_layout,
    enumerate_witnesses,
    honest_solution,
    label_rows,
    read,
    row_entries,
    signed,
    write,
)

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# ------------------------------------------------------------------ building blocks


def model_of(arch: Architecture, **tensors) -> QuantizedModel:
    """A model from keyword tensors: w0=..., b0=... for layer 0 and so on."""
    named = {}
    for slot in arch.layout:
        key = ("w" if slot.kind == "weight" else "b") + str(slot.layer)
        named[slot.name] = np.asarray(tensors[key], dtype=np.int64).reshape(slot.shape)
    return QuantizedModel(arch, named)


def prover(arch, model, x, y, claim=None):
    c = evaluate.count_correct(model, x, y) if claim is None else claim
    return compile_accuracy_circuit(arch, np.asarray(x), np.asarray(y), c, model)


def verifier(arch, x, y, claim):
    return compile_accuracy_circuit(arch, np.asarray(x), np.asarray(y), claim)


def drop_rows(r1cs, rows):
    """The instance without some constraints (to show a test notices a weakened circuit)."""
    gone = np.asarray(list(rows), dtype=np.int64)

    def keep(m: SparseMatrix) -> SparseMatrix:
        k = ~np.isin(m.rows, gone)
        return SparseMatrix(m.rows[k], m.cols[k], m.vals[k])

    return dataclasses.replace(r1cs, A=keep(r1cs.A), B=keep(r1cs.B), C=keep(r1cs.C))


def forge_flag(r1cs, z, layout, i):
    """From an honest z, set b_i = 1 and give each of sample i's margins the bits of
    ℓ_y − ℓ_j − [j < y] whenever that is representable (the best any prover can do)."""
    z = z.copy()
    write(z, [layout.flags[i]], [1])
    _, bz, _ = r1cs.multiply(z)
    margins = {}
    for r in layout.margin_rows[i]:
        d = signed(int(bz[r]))
        width = len(layout.margin_bits[r])
        e = d % (1 << width) if width else 0
        write(z, layout.margin_bits[r], [(e >> t) & 1 for t in range(width)])
        margins[r] = d
    return z, margins


def check_agreement(arch, model, x, y):
    """Completeness, prover/verifier agreement and the count's soundness on one case."""
    x, y = np.asarray(x), np.asarray(y)
    n, k = len(y), arch.num_classes
    logits = evaluate.logits(model, x)
    c = evaluate.count_correct(model, x, y)
    assert c == int(np.sum(np.argmax(logits, axis=1) == y))
    honest = prover(arch, model, x, y, c)
    assert honest.correct == c and honest.claimed == c and honest.num_samples == n
    r1cs = honest.r1cs
    z = r1cs.z(honest.assignment)
    r1cs.check(z)
    assert r1cs.num_io == 0
    ver = verifier(arch, x, y, c)
    assert ver.assignment is None and ver.correct is None
    assert ver.r1cs.digest() == r1cs.digest()
    # The witness carries the reference logits bit for bit, and b_i = [sample i is right].
    layout = count_layout(r1cs, y, k)
    assert [read(z, cols) for cols in layout.logits] == logits.tolist()
    right = np.argmax(logits, axis=1) == y
    assert read(z, layout.flags) == right.astype(int).tolist()
    if c == n:
        return c
    with pytest.raises(CircuitError, match="fewer than the claimed"):
        prover(arch, model, x, y, c + 1)
    cheat = verifier(arch, x, y, c + 1).r1cs
    assert (cheat.num_vars, cheat.aux_count) == (r1cs.num_vars, r1cs.aux_count)
    # The honest witness misses the raised claim exactly at the total.
    assert broken_rows(cheat, z) == [layout.total_row]
    cheat_layout = count_layout(cheat, y, k)
    for i in np.flatnonzero(~right):
        forged, margins = forge_flag(cheat, z, cheat_layout, int(i))
        broken = broken_rows(cheat, forged)
        assert broken, f"flagging misclassified sample {i} satisfied the c+1 circuit"
        # Only sample i's margins fail, and exactly those whose margin is negative.
        assert broken == sorted(r for r, d in margins.items() if d < 0)
        assert cheat.first_unsatisfied(forged) == broken[0]
    return c


# ------------------------------------------------------------------ strategies


def edge_ints(lo: int, hi: int):
    """Integers in [lo, hi], the two ends (and 0, ±1 when inside) drawn often."""
    specials = sorted({v for v in (lo, hi, 0, -1, 1) if lo <= v <= hi})
    return st.one_of(st.sampled_from(specials), st.integers(lo, hi))


@st.composite
def models(draw, arch: Architecture):
    """Weights and biases at the edges of their widths; the logit layer may be all zeros
    or have duplicated rows, so that logits tie and the lowest-index rule decides."""
    tensors = {}
    for slot in arch.layout:
        lo, hi = signed_range(slot.bits)
        vals = draw(st.lists(edge_ints(lo, hi), min_size=slot.size, max_size=slot.size))
        tensors[slot.name] = np.array(vals, dtype=np.int64).reshape(slot.shape)
    last = len(arch.layers) - 1
    w_name, b_name = f"layers.{last}.weight", f"layers.{last}.bias"
    mode = draw(st.sampled_from(["free", "free", "zero", "dup", "dup"]))
    if mode == "zero":
        tensors[w_name] = np.zeros_like(tensors[w_name])
        tensors[b_name] = np.zeros_like(tensors[b_name])
    elif mode == "dup":
        k = arch.num_classes
        src = draw(st.integers(0, k - 1))
        dst = draw(st.integers(0, k - 1).filter(lambda j: j != src))
        tensors[w_name][dst] = tensors[w_name][src]
        tensors[b_name][dst] = tensors[b_name][src]
    return QuantizedModel(arch, tensors)


@st.composite
def samples(draw, arch: Architecture, max_n: int):
    n = draw(st.integers(1, max_n))
    size = n * int(np.prod(arch.input_shape))
    xs = draw(st.lists(edge_ints(arch.input_min, arch.input_max), min_size=size, max_size=size))
    ys = draw(st.lists(st.integers(0, arch.num_classes - 1), min_size=n, max_size=n))
    x = np.array(xs, dtype=np.int64).reshape(n, *arch.input_shape)
    return x, np.array(ys, dtype=np.int64)


def dense(draw, fan_in, fan_out, *, logit=False, max_bits=8):
    return Dense(
        fan_in,
        fan_out,
        weight_bits=draw(st.integers(2, max_bits)),
        bias_bits=draw(st.integers(2, max_bits + 4)),
        shift=0 if logit else draw(st.integers(0, 6)),
        relu=draw(st.booleans()),
    )


@st.composite
def input_ranges(draw, span=24):
    lo = draw(st.integers(-span, span // 4))
    return lo, draw(st.integers(lo, lo + span))


@st.composite
def mlp_cases(draw, max_bits=8, max_n=6, max_width=3, span=24):
    d_in = draw(st.integers(1, 4))
    layers, width = [], d_in
    for _ in range(draw(st.integers(0, 2))):
        out = draw(st.integers(1, max_width))
        layers.append(dense(draw, width, out, max_bits=max_bits))
        width = out
    layers.append(dense(draw, width, draw(st.integers(2, 4)), logit=True, max_bits=max_bits))
    arch = Architecture((d_in,), draw(input_ranges(span)), tuple(layers))
    x, y = draw(samples(arch, max_n))
    return arch, draw(models(arch)), x, y


def _out(size, kernel, stride, pad=0):
    return (size + 2 * pad - kernel) // stride + 1


@st.composite
def conv_cases(draw, max_bits=6, max_n=3, span=16):
    c, in_h, in_w = draw(st.integers(1, 2)), draw(st.integers(3, 5)), draw(st.integers(3, 5))
    h, w = in_h, in_w
    layers: list = []
    if draw(st.booleans()):  # pooling the public input: the compiler evaluates it itself
        stride = draw(st.integers(1, 2))
        layers.append(draw(st.sampled_from([MaxPool2d, AvgPool2d]))(2, stride))
        h, w = _out(h, 2, stride), _out(w, 2, stride)
    k = draw(st.integers(1, 3))
    pad = draw(st.integers(max(0, k - min(h, w)), k - 1))
    stride = draw(st.integers(1, 2))
    o = draw(st.integers(1, 2))
    layers.append(Conv2d(c, o, k, stride, pad,
                         weight_bits=draw(st.integers(2, max_bits)),
                         bias_bits=draw(st.integers(2, max_bits + 4)),
                         shift=draw(st.integers(0, 4)), relu=draw(st.booleans())))
    h, w = _out(h, k, stride, pad), _out(w, k, stride, pad)
    fitting = [p for p in (2, 3) if p <= min(h, w)]
    if fitting:
        pk = draw(st.sampled_from(fitting))
        stride = draw(st.integers(1, pk))
        layers.append(draw(st.sampled_from([MaxPool2d, AvgPool2d]))(pk, stride))
        h, w = _out(h, pk, stride), _out(w, pk, stride)
    layers.append(Flatten())
    width = o * h * w
    if draw(st.booleans()):
        layers.append(dense(draw, width, 2, max_bits=max_bits))
        width = 2
    layers.append(dense(draw, width, draw(st.integers(2, 3)), logit=True, max_bits=max_bits))
    input_shape = (c, in_h, in_w)
    if draw(st.booleans()):  # a flat input read as the image by a Reshape layer
        layers.insert(0, Reshape(c, in_h, in_w))
        input_shape = (c * in_h * in_w,)
    arch = Architecture(input_shape, draw(input_ranges(span)), tuple(layers))
    x, y = draw(samples(arch, max_n))
    return arch, draw(models(arch)), x, y


def maxpool_multiplicity(model: QuantizedModel, x) -> int:
    """How many selector choices the circuit's MaxPool gadgets admit: the product over all
    windows on private values of the number of positions holding the window maximum."""
    arch = model.architecture
    trace = evaluate.trace(model, x)
    private, total = False, 1
    for index, layer in enumerate(arch.layers):
        private |= isinstance(layer, (Dense, Conv2d))
        if private and isinstance(layer, MaxPool2d):
            a = trace[index - 1].out
            win = np.lib.stride_tricks.sliding_window_view(
                a, (layer.kernel, layer.kernel), axis=(2, 3)
            )[:, :, :: layer.stride, :: layer.stride]
            win = win.reshape(*win.shape[:4], -1)
            total *= int(np.prod(np.sum(win == win.max(axis=-1, keepdims=True), axis=-1)))
    return total


def assert_unique_witness(arch, model, x, y, multiplicity: int = 1):
    """Exhaustive over Fr: with the weights fixed, the honest auxiliary assignment is the
    only one (the MaxPool selector is pinned to the first maximum), and no witness exists
    for one more correct sample than the model achieves."""
    honest = prover(arch, model, x, y)
    r1cs = honest.r1cs
    z = r1cs.z(honest.assignment)
    found = enumerate_witnesses(r1cs, model.flat_weights(), max_nodes=300_000)
    assert found.exhaustive, "some auxiliary variable is not pinned down by any constraint"
    assert honest_solution(r1cs, z) in found.solutions
    assert len(found.solutions) == multiplicity
    if multiplicity > 1:
        # Whatever the selector, the pooled values and everything after them agree.
        layout = count_layout(r1cs, y, arch.num_classes)
        keep = [c for cols in layout.logits for c in cols] + layout.flags
        assert len({tuple(s[c] for c in keep) for s in found.solutions}) == 1
    if honest.correct < len(y):
        cheat = verifier(arch, x, y, honest.correct + 1).r1cs
        more = enumerate_witnesses(cheat, model.flat_weights(), max_nodes=300_000)
        assert more.exhaustive and more.solutions == []
    return honest, found


# ------------------------------------------------------------------ 1. agreement


@PROPERTY
@given(mlp_cases())
def test_mlp_circuit_agrees_with_the_evaluator(case):
    check_agreement(*case)


@PROPERTY
@given(conv_cases())
def test_cnn_circuit_agrees_with_the_evaluator(case):
    check_agreement(*case)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mlp_cases(max_bits=3, max_n=2, max_width=2, span=4))
def test_tiny_mlps_have_exactly_one_witness(case):
    assert_unique_witness(*case)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_cases(max_bits=3, max_n=1, span=3))
def test_tiny_cnns_have_exactly_the_honest_witnesses(case):
    """Unique even when a MaxPool window has equal maxima: the selector is the first one."""
    arch, model, x, y = case
    assert_unique_witness(arch, model, x, y)


def _dense_arch(k, fan_in=1, bits=3, in_range=(-4, 4)):
    return Architecture((fan_in,), in_range, (Dense(fan_in, k, weight_bits=bits, bias_bits=bits),))


TIES = {
    # Every logit is 0: class 0 wins every tie, so only label-0 samples are right.
    "all-zero": (_dense_arch(2), dict(w0=[[0], [0]], b0=[0, 0]),
                 [[4], [-4], [0]], [0, 1, 1], [True, False, False]),
    # Rows 0 and 2 equal: ℓ0 = ℓ2 always; when they are the maximum, class 0 wins.
    "rows 0=2": (_dense_arch(3, 2), dict(w0=[[1, -1], [0, 0], [1, -1]], b0=[0, 0, 0]),
                 [[4, -4], [4, -4], [-4, 4], [1, 1], [1, 1]], [2, 0, 1, 0, 2],
                 [False, True, True, True, False]),
    # Rows 1 and 2 equal and above row 0: label 1 wins the tie, label 2 loses it.
    "rows 1=2": (_dense_arch(3), dict(w0=[[-1], [1], [1]], b0=[0, 1, 1]),
                 [[3], [3], [0], [-4]], [1, 2, 2, 0], [True, False, False, True]),
    # A hidden ReLU flattens negative inputs to 0, so the logits tie after it.
    "relu-made": (Architecture((1,), (-4, 4), (Dense(1, 1, 3, 3, shift=1, relu=True),
                                               Dense(1, 2, 3, 3))),
                  dict(w0=[[1]], b0=[0], w1=[[1], [1]], b1=[0, 0]),
                  [[-4], [-1], [3], [3]], [1, 0, 1, 0], [False, True, False, True]),
}


@pytest.mark.parametrize("name", list(TIES))
def test_logit_ties_go_to_the_lowest_index(name):
    arch, tensors, x, y, right = TIES[name]
    model = model_of(arch, **tensors)
    x, y = np.array(x), np.array(y)
    assert (evaluate.predict(model, x) == y).tolist() == right  # the case is what it claims
    assert check_agreement(arch, model, x, y) == sum(right)
    assert_unique_witness(arch, model, x, y)


# ------------------------------------------------------------------ 2. gadget uniqueness


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shift", [0, 1, 2])
@pytest.mark.parametrize("bits", [(2, 2), (3, 2), (2, 4), (3, 3)])
def test_requantization_and_relu_witness_is_unique(bits, shift, relu):
    wb, bb = bits
    wlo, whi = signed_range(wb)
    blo, bhi = signed_range(bb)
    arch = Architecture((2,), (-3, 3), (Dense(2, 2, wb, bb, shift=shift, relu=relu),
                                        Dense(2, 2, 2, 2)))
    model = model_of(arch, w0=[[wlo, whi], [whi, wlo]], b0=[blo, bhi], w1=[[1, -2], [-1, 1]],
                     b1=[-2, 1])
    x = np.array([[-3, 3], [3, -3], [-3, -3], [1, -2]])
    y = np.array([0, 1, 1, 0])
    acc = evaluate.trace(model, x)[0].acc
    if shift:  # the instance exercises floor, not truncation, on negative accumulators
        assert ((acc < 0) & (acc % (1 << shift) != 0)).any()
    assert (acc < 0).any() and (acc > 0).any()
    assert_unique_witness(arch, model, x, y)


def _pool_arch(pool, k, **conv):
    return Architecture((1, k, k), (-4, 4), (Conv2d(1, 1, 1, weight_bits=2, bias_bits=3, **conv),
                                             pool(k, k), Flatten(), Dense(1, 2, 2, 2)))


@pytest.mark.parametrize("k", [2, 3])
def test_avgpool_witness_is_unique_including_negative_sums(k):
    arch = _pool_arch(AvgPool2d, k)
    model = model_of(arch, w0=[[[[1]]]], b0=[-3], w3=[[1], [-2]], b3=[0, 1])
    area = k * k
    x = np.stack([np.full((1, k, k), v) for v in (4, -4, 0)])
    x[0, 0, 0, 0] = 3  # remainder area − 1
    x[1, 0, 0, 0] = -3
    x[2, 0, 0, 0] = 2
    y = np.array([0, 1, 1])
    acc = evaluate.trace(model, x)[1].acc.reshape(-1)
    assert (acc % area == area - 1).any() and ((acc < 0) & (acc % area != 0)).any()
    assert_unique_witness(arch, model, x, y)


def test_avgpool_remainder_bound_is_what_makes_area_9_unique():
    """Without the range check of 8 − rem, rem ∈ [0, 16) admits a second quotient: the
    window 1,…,1 would average to 0 as well as to 1."""
    arch = _pool_arch(AvgPool2d, 3)
    model = model_of(arch, w0=[[[[1]]]], b0=[0], w3=[[1], [-2]], b3=[0, 1])
    x, y = np.full((1, 1, 3, 3), 1), np.array([0])  # sum 9 = 9·1 + 0 = 9·0 + 9
    honest = prover(arch, model, x, y, 0)
    r1cs = honest.r1cs
    assert len(enumerate_witnesses(r1cs, model.flat_weights()).solutions) == 1
    bound = [*label_rows(r1cs, "layer 1 avgpool remainder bound"),
             *label_rows(r1cs, "layer 1 avgpool remainder bound (bits)")]
    weak = drop_rows(r1cs, bound)
    found = enumerate_witnesses(weak, model.flat_weights(), only_used=True)
    layout = count_layout(r1cs, y, 2)
    assert {tuple(signed(s[c]) for c in layout.logits[0]) for s in found.solutions} == {
        (1, -1), (0, 1)}  # pooled value 1 (honest) or 0
    small = _pool_arch(AvgPool2d, 2)  # area 4 is a power of two: no bound rows at all
    r1cs4 = prover(small, model_of(small, w0=[[[[1]]]], b0=[0], w3=[[1], [-2]], b3=[0, 1]),
                   np.full((1, 1, 2, 2), 1), y).r1cs
    assert not any(lab and "remainder bound" in lab for lab in r1cs4.labels)


MAXPOOL_INPUTS = {
    2: [([[1, -3], [2, 0]], 1), ([[2, -1], [2, 2]], 3), ([[-4, -4], [-4, -4]], 4)],
    3: [([[1, -3, 0], [2, 0, 4], [-4, 3, 3]], 1), ([[3, 3, 3], [3, 3, 3], [3, 3, 2]], 8)],
}


@pytest.mark.parametrize("k, pixels, maxima",
                         [(k, p, m) for k, cases in MAXPOOL_INPUTS.items() for p, m in cases])
def test_maxpool_witness_is_unique_even_among_equal_maxima(k, pixels, maxima):
    arch = _pool_arch(MaxPool2d, k)
    model = model_of(arch, w0=[[[[1]]]], b0=[0], w3=[[1], [-1]], b3=[0, 1])
    x, y = np.array([[pixels]]), np.array([1])
    assert maxpool_multiplicity(model, x) == maxima
    honest, found = assert_unique_witness(arch, model, x, y)
    r1cs = honest.r1cs
    sel_rows = label_rows(r1cs, "layer 1 maxpool selector")
    a = row_entries(r1cs, "A", sel_rows)
    selectors = [next(iter(a[r])) for r in sel_rows]
    conv_out = evaluate.trace(model, x)[0].out.reshape(-1)
    chosen = [int(np.argmax([s[c] for c in selectors])) for s in found.solutions]
    assert chosen == [int(np.flatnonzero(conv_out == conv_out.max())[0])]  # the first maximum


@pytest.mark.parametrize("k", [2, 3])
def test_maxpool_dominance_width_covers_the_widest_honest_gap(k):
    """w = −2 on inputs ±4: m − x_j = 16 while the interval bound is 23, so the dominance
    checks need all 5 bits (a width one short would refuse this honest model)."""
    arch = _pool_arch(MaxPool2d, k)
    model = model_of(arch, w0=[[[[-2]]]], b0=[0], w3=[[1], [-1]], b3=[0, 1])
    x = np.full((1, 1, k, k), 4)
    x[0, 0, 0, 0] = -4
    r1cs = assert_unique_witness(arch, model, x, np.array([1]))[0].r1cs
    assert len(label_rows(r1cs, "layer 1 maxpool dominance (bits)")) == k * k * 5


def test_maxpool_dominance_checks_are_what_make_the_output_the_maximum():
    arch = _pool_arch(MaxPool2d, 2)
    model = model_of(arch, w0=[[[[1]]]], b0=[0], w3=[[1], [-1]], b3=[0, 1])
    x, y = np.array([[[[1, -3], [2, 0]]]]), np.array([0])
    r1cs = prover(arch, model, x, y, 0).r1cs
    assert len(enumerate_witnesses(r1cs, model.flat_weights()).solutions) == 1
    weak = drop_rows(r1cs, [*label_rows(r1cs, "layer 1 maxpool dominance"),
                            *label_rows(r1cs, "layer 1 maxpool dominance (bits)")])
    # Any of the four inputs can now be selected as "the maximum".
    assert len(enumerate_witnesses(weak, model.flat_weights(), only_used=True).solutions) == 4


@pytest.mark.parametrize("k", [2, 3])
def test_count_gadget_admits_exactly_the_subsets_of_right_samples(k):
    arch = _dense_arch(k)
    w = [[1], [-1], [0]][:k]
    model = model_of(arch, w0=w, b0=[0] * k)
    x = np.array([[3], [-2], [0], [1], [-4]])  # x = 0: all logits tie, class 0 wins
    y = np.array([0, 1, 0, k - 1, 0])
    c = evaluate.count_correct(model, x, y)
    assert 0 < c < len(y)
    for claim in range(len(y) + 1):
        found = enumerate_witnesses(verifier(arch, x, y, claim).r1cs, model.flat_weights())
        assert found.exhaustive
        assert len(found.solutions) == math.comb(c, claim)


def test_count_margin_bits_are_what_stop_a_wrong_sample_from_being_counted():
    arch = _dense_arch(2)
    model = model_of(arch, w0=[[1], [-1]], b0=[0, 0])
    x, y = np.array([[3], [3]]), np.array([0, 1])  # sample 1 is wrong
    honest = prover(arch, model, x, y)
    assert honest.correct == 1
    cheat = verifier(arch, x, y, 2).r1cs
    layout = count_layout(cheat, y, 2)
    forged, _ = forge_flag(cheat, cheat.z(honest.assignment), layout, 1)
    assert broken_rows(cheat, forged)
    weak = drop_rows(cheat, label_rows(cheat, "count margins (bits)"))
    # With non-boolean "bits", e_0 = ℓ_1 − ℓ_0 − 1 < 0 and the rest 0 satisfies everything.
    bits = layout.margin_bits[layout.margin_rows[1][0]]
    _, bz, _ = weak.multiply(forged)
    write(forged, bits, [signed(int(bz[layout.margin_rows[1][0]]))] + [0] * (len(bits) - 1))
    assert broken_rows(weak, forged) == []


def _weight_ranges(arch, indices):
    """The declared range of each committed position in indices."""
    out = []
    for i in indices:
        slot = next(s for s in arch.layout if s.offset <= i < s.stop)
        lo, hi = signed_range(slot.bits)
        out.append(range(lo, hi + 1))
    return out


@pytest.mark.parametrize("case", ["dense", "relu-hidden"])
def test_whole_model_enumeration_matches_the_evaluator(case):
    """With the weights unknown too (only range-checked), the circuit for claim c has one
    solution per (weight vector, choice of c of its right samples): exactly the models the
    evaluator says label at least c samples correctly."""
    if case == "dense":
        arch = Architecture((1,), (-3, 3), (Dense(1, 2, 2, 2),))
        x, y = np.array([[3], [-1]]), np.array([0, 1])
        fixed: dict[int, int] = {}
    else:
        arch = Architecture((1,), (-3, 3), (Dense(1, 1, 2, 2, shift=1, relu=True),
                                            Dense(1, 3, 2, 2)))
        x, y = np.array([[3], [-2]]), np.array([2, 1])
        w1 = arch.slot("layers.1.weight")
        # free: the hidden layer's weight and bias, and the logit bias of class 1
        # (with h = 0, ℓ0 = ℓ2 = −2: the tie goes to class 0 against label 2)
        fixed = dict(zip(range(w1.offset, w1.stop), [-2, -2, -1], strict=True))
        fixed.update({w1.stop: -2, w1.stop + 2: -2})
    free = sorted(set(range(arch.weight_count)) - set(fixed))
    base = np.zeros(arch.weight_count, dtype=np.int64)
    base[list(fixed)] = list(fixed.values())
    correct = {}
    for combo in itertools.product(*_weight_ranges(arch, free)):
        vec = base.copy()
        vec[free] = combo
        correct[combo] = evaluate.count_correct(QuantizedModel.from_flat(arch, vec), x, y)
    assert set(correct.values()) == set(range(len(y) + 1))  # every count occurs
    for claim in range(len(y) + 1):
        found = enumerate_witnesses(verifier(arch, x, y, claim).r1cs, fixed)
        assert found.exhaustive
        assert len(found.solutions) == sum(math.comb(c, claim) for c in correct.values())
        weights = {tuple(signed(s[i]) for i in free) for s in found.solutions}
        assert weights == {w for w, c in correct.items() if c >= claim}


# ------------------------------------------------------------------ 3. structure


def _cnn_case():
    arch = Architecture((2, 5, 5), (-8, 8), (
        Conv2d(2, 2, 3, stride=1, padding=1, weight_bits=4, bias_bits=6, shift=2, relu=True),
        MaxPool2d(2, 1),
        AvgPool2d(3, 2),
        Flatten(),
        Dense(2, 3, weight_bits=3, bias_bits=5, shift=1, relu=True),
        Dense(3, 3, weight_bits=3, bias_bits=4),
    ))
    vec = np.array([signed_range(s.bits)[(i * 7 + s.offset) % 2] // (1 + i % 3)
                    for s in arch.layout for i in range(s.size)])
    model = QuantizedModel.from_flat(arch, vec)
    x = (np.arange(3 * 50).reshape(3, 2, 5, 5) * 7) % 17 - 8
    return arch, model, x, np.array([0, 2, 1])


def _mlp_case():
    arch = Architecture((3,), (-5, 5), (Dense(3, 4, 4, 6, shift=2, relu=True),
                                        Dense(4, 3, 3, 5)))
    vec = np.array([signed_range(s.bits)[0] + i % 3 if i % 2 else signed_range(s.bits)[1] - i % 3
                    for s in arch.layout for i in range(s.size)])
    model = QuantizedModel.from_flat(arch, vec)
    x = np.array([[-5, 5, 0], [3, -2, 5], [1, 1, -5]])
    return arch, model, x, np.array([2, 0, 1])


CASES = {"mlp": _mlp_case, "cnn": _cnn_case}


@pytest.mark.parametrize("name", list(CASES))
def test_weights_enter_only_through_their_committed_positions(name):
    arch, model, x, y = CASES[name]()
    check_agreement(arch, model, x, y)
    r1cs = verifier(arch, x, y, 1).r1cs
    wc, base, one = r1cs.weight_count, r1cs.aux_base, r1cs.num_vars
    assert wc == arch.weight_count and base == 512 and wc < base  # padding exists
    rows = np.concatenate([m.rows for m in r1cs.matrices])
    cols = np.concatenate([m.cols for m in r1cs.matrices])
    legal = (cols < wc) | ((cols >= base) & (cols < base + r1cs.aux_count)) | (cols == one)
    assert legal.all()
    assert not ((cols >= wc) & (cols < base)).any()  # the zero padding of the weight row
    labels = [r1cs.label(int(r)) for r in rows]
    booleans = set()
    for slot in arch.layout:
        bit_rows = label_rows(r1cs, f"{slot.name} range (bits)")
        a, b, c = (row_entries(r1cs, m, bit_rows) for m in "ABC")
        for r in bit_rows:  # b·(b − 1) = 0
            (v,) = a[r]
            assert a[r] == {v: 1} and b[r] == {v: 1, one: -1} and c[r] == {}
            booleans.add(v)
        rng = label_rows(r1cs, f"{slot.name} range")
        assert len(rng) == slot.size and len(bit_rows) == slot.size * slot.bits
        a, b, c = (row_entries(r1cs, m, rng) for m in "ABC")
        for i, r in enumerate(rng):  # w + 2^(bits−1) − Σ 2^t·b_t = 0
            entries = dict(a[r])
            assert entries.pop(slot.offset + i) == 1
            assert entries.pop(one) == 1 << (slot.bits - 1)
            assert set(entries) <= booleans
            assert sorted(entries.values()) == sorted(-(1 << t) for t in range(slot.bits))
            assert b[r] == {one: 1} and c[r] == {}
        # Elsewhere the slot appears only in its own layer's accumulator constraints.
        mine = (cols >= slot.offset) & (cols < slot.stop)
        allowed = {f"{slot.name} range", f"layer {slot.layer} requantization",
                   f"layer {slot.layer} output", f"layer {slot.layer} products"}
        assert {labels[j] for j in np.flatnonzero(mine)} <= allowed
        # and every one of its weights is used by the layer (fan-in ≥ 1 non-zero input).
        used = {int(cols[j]) for j in np.flatnonzero(mine) if labels[j] != f"{slot.name} range"}
        if slot.kind == "bias":
            assert used == set(range(slot.offset, slot.stop))


@pytest.mark.parametrize("name", list(CASES))
def test_the_verifier_circuit_does_not_depend_on_the_weights(name):
    arch, model, x, y = CASES[name]()
    reference = verifier(arch, x, y, 0)
    vec = model.flat_weights().copy()
    for index in (0, arch.weight_count // 2, arch.weight_count - 1):
        slot = next(s for s in arch.layout if s.offset <= index < s.stop)
        lo, hi = signed_range(slot.bits)
        other = vec.copy()
        other[index] = lo if vec[index] != lo else hi
        a = prover(arch, model, x, y, 0)
        b = prover(arch, QuantizedModel.from_flat(arch, other), x, y, 0)
        assert a.r1cs.digest() == b.r1cs.digest() == reference.r1cs.digest()
        wa = field.to_ints(a.assignment.vars[:arch.weight_count])
        wb = field.to_ints(b.assignment.vars[:arch.weight_count])
        assert [i for i in range(arch.weight_count) if wa[i] != wb[i]] == [index]
        assert signed(wb[index]) == other[index]
        # Each witness satisfies the one shared circuit.
        reference.r1cs.check(reference.r1cs.z(b.assignment))


# ------------------------------------------------------------------ 4. determinism


def _variants(arch: Architecture):
    """Architectures differing from arch in one field of one layer."""
    out = []
    for i, layer in enumerate(arch.layers):
        if isinstance(layer, (Dense, Conv2d)):
            changes = [("weight_bits", layer.weight_bits + 1), ("bias_bits", layer.bias_bits + 1),
                       ("relu", not layer.relu)]
            if i != len(arch.layers) - 1:
                changes.append(("shift", layer.shift + 1))
            for field_name, value in changes:
                layers = list(arch.layers)
                layers[i] = dataclasses.replace(layer, **{field_name: value})
                out.append((f"{i}.{field_name}", layers))
            if isinstance(layer, Conv2d) and layer.kernel == 3 and layer.padding == 1:
                layers = list(arch.layers)  # same output shape, no padding
                layers[i] = dataclasses.replace(layer, kernel=1, padding=0)
                out.append((f"{i}.kernel/padding", layers))
        if isinstance(layer, (AvgPool2d, MaxPool2d)):
            other = AvgPool2d if isinstance(layer, MaxPool2d) else MaxPool2d
            layers = list(arch.layers)
            layers[i] = other(layer.kernel, layer.stride)
            out.append((f"{i}.kind", layers))
    if isinstance(arch.layers[0], Dense) and len(arch.layers) > 1:  # one more hidden unit
        layers = list(arch.layers)
        layers[0] = dataclasses.replace(layers[0], out_features=layers[0].out_features + 1)
        layers[1] = dataclasses.replace(layers[1], in_features=layers[1].in_features + 1)
        out.append(("0.width", layers))
    return [(name, Architecture(arch.input_shape, arch.input_range, tuple(ls)))
            for name, ls in out]


@pytest.mark.parametrize("name", list(CASES))
def test_digest_is_deterministic_and_binds_every_public_input(name):
    arch, model, x, y = CASES[name]()
    c = evaluate.count_correct(model, x, y)
    base = verifier(arch, x, y, c).r1cs.digest()
    assert verifier(arch, x, y, c).r1cs.digest() == base
    assert prover(arch, model, x, y, c).r1cs.digest() == base
    digests = {"base": base}
    for claim in {0, c - 1, c + 1} & set(range(len(y) + 1)) - {c}:
        digests[f"claim {claim}"] = verifier(arch, x, y, claim).r1cs.digest()
    x2 = x.copy()
    x2.reshape(-1)[7] += 1 if x2.reshape(-1)[7] < arch.input_max else -1
    digests["x"] = verifier(arch, x2, y, c).r1cs.digest()
    y2 = y.copy()
    y2[1] = (y2[1] + 1) % arch.num_classes
    digests["y"] = verifier(arch, x, y2, c).r1cs.digest()
    for label, variant in _variants(arch):
        digests[label] = verifier(variant, x, y, c).r1cs.digest()
    assert len(set(digests.values())) == len(digests), digests


def test_a_reshape_layer_is_a_relabeling_with_no_constraint():
    """The same CNN on a flat input read through Reshape compiles to exactly the circuit of
    the CNN on the image input: same matrices, same witness."""
    rng = np.random.default_rng(7)
    body = (Conv2d(2, 2, 3, padding=1, shift=3, relu=True), MaxPool2d(2, 2), Flatten(),
            Dense(8, 3))  # fmt: skip
    image = Architecture((2, 4, 4), (-5, 5), body)
    flat = Architecture((32,), (-5, 5), (Reshape(2, 4, 4), *body))
    tensors = {s.name: rng.integers(-20, 20, size=s.shape) for s in image.layout}
    flat_tensors = {f"layers.{s.layer + 1}.{s.kind}": tensors[s.name] for s in image.layout}
    x = rng.integers(-5, 5, size=(4, 2, 4, 4), endpoint=True)
    y = np.array([0, 1, 2, 0])
    a = prover(image, QuantizedModel(image, tensors), x, y)
    b = prover(flat, QuantizedModel(flat, flat_tensors), x.reshape(4, 32), y)
    assert a.correct == b.correct
    assert a.r1cs.digest() == b.r1cs.digest()
    assert np.array_equal(a.r1cs.z(a.assignment), b.r1cs.z(b.assignment))
    assert verifier(flat, x.reshape(4, 32), y, b.correct).r1cs.digest() == b.r1cs.digest()


def test_claims_outside_zero_to_n_and_foreign_models_are_refused():
    arch, model, x, y = CASES["mlp"]()
    for claim in (-1, len(y) + 1):
        with pytest.raises(CircuitError, match="claimed count"):
            verifier(arch, x, y, claim)
    other = _variants(arch)[0][1]
    with pytest.raises(CircuitError, match="architecture"):
        compile_accuracy_circuit(other, x, y, 0, model)


# ------------------------------------------------------------------ 5. bounds


def _wide(x_max, layers):
    return Architecture((1,), (-x_max, x_max), tuple(layers))


def test_an_accumulator_interval_reaching_2_60_is_refused():
    # |acc| ≤ 2^29·2^31 + 2 > 2^60, yet well inside evaluate's 2^62: the circuit's own bound.
    arch = _wide(1 << 31, [Dense(1, 2, weight_bits=30, bias_bits=2)])
    x, y = np.array([[1 << 31]]), np.array([0])
    assert evaluate.intervals(arch, x).max_abs() < evaluate.INTERVAL_BOUND
    assert evaluate.intervals(arch, x).max_abs() >= COMPILER_BOUND
    with pytest.raises(CircuitError, match="2\\^60"):
        verifier(arch, x, y, 0)
    model = model_of(arch, w0=[[-(1 << 29)], [(1 << 29) - 1]], b0=[-2, 1])
    with pytest.raises(CircuitError, match="2\\^60"):
        prover(arch, model, x, y, 0)


def test_just_below_2_60_compiles_and_is_exact():
    """The largest accumulators the compiler accepts: field equations stay integer ones."""
    arch = _wide((1 << 31) - 1, [Dense(1, 3, weight_bits=30, bias_bits=2)])
    x = np.array([[(1 << 31) - 1], [-(1 << 31) + 1], [1]])
    assert evaluate.intervals(arch, x).max_abs() < COMPILER_BOUND
    model = model_of(arch, w0=[[-(1 << 29)], [(1 << 29) - 1], [(1 << 29) - 1]], b0=[-2, 1, 0])
    for y in ([1, 0, 1], [0, 2, 0], [2, 1, 2]):
        check_agreement(arch, model, x, np.array(y))


def test_overflow_in_a_later_layer_is_refused():
    hidden = Dense(1, 1, weight_bits=30, bias_bits=2)  # |out| ≤ 2^59 + 2
    arch = _wide(1 << 30, [hidden, Dense(1, 2, weight_bits=3, bias_bits=2)])  # 4·2^59 ≥ 2^60
    x = np.array([[1 << 30]])
    with pytest.raises(CircuitError, match="layer 1"):
        verifier(arch, x, np.array([0]), 0)
    pooled = Architecture((1, 2, 2), (-(1 << 30), 1 << 30), (
        Conv2d(1, 1, 1, weight_bits=30, bias_bits=2), AvgPool2d(2, 2), Flatten(),
        Dense(1, 2, weight_bits=2, bias_bits=2)))
    with pytest.raises(CircuitError, match="layer 1 avgpool"):
        verifier(pooled, np.full((1, 1, 2, 2), 1 << 30), np.array([0]), 0)


def test_beyond_2_62_the_evaluator_refuses_first():
    arch = _wide(1 << 32, [Dense(1, 2, weight_bits=32, bias_bits=2)])
    with pytest.raises((IntervalOverflowError, CircuitError)):
        verifier(arch, np.array([[1 << 32]]), np.array([0]), 0)


# ------------------------------------------------------------------ 6. the digits MLP


@pytest.fixture(scope="module")
def digits_model(digits):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    from zkproofs.ml.quantize import FloatDense, FloatModel, quantize

    mlp = MLPClassifier(hidden_layer_sizes=(32,), random_state=0, max_iter=200)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(digits.x_train, digits.y_train)
    (w1, w2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    float_model = FloatModel((64,), (FloatDense(w1.T, b1, relu=True), FloatDense(w2.T, b2)))
    model, _ = quantize(float_model, digits.x_train, digits.y_train, input_range=(0, 16))
    return model


def test_digits_mlp_circuit_counts_what_the_evaluator_counts(digits, digits_model):
    arch = digits_model.architecture
    x, y = digits.x_test[:40], digits.y_test[:40]
    c = evaluate.count_correct(digits_model, x, y)
    assert c >= 36  # a real model
    honest = compile_accuracy_circuit(arch, x, y, c, digits_model)
    assert honest.correct == c
    assert check_agreement(arch, digits_model, x, y) == c
    # "at least c": a lower claim also has a witness.
    lower = compile_accuracy_circuit(arch, x, y, c - 5, digits_model)
    assert lower.correct == c and lower.claimed == c - 5
    lower.r1cs.check(lower.r1cs.z(lower.assignment))
    # Three samples relabelled: the model now gets them wrong, and no flag flip helps.
    wrong = y.copy()
    wrong[[0, 11, 29]] = (wrong[[0, 11, 29]] + 3) % 10
    assert check_agreement(arch, digits_model, x, wrong) < c


# ------------------------------------------------------------------ end to end


STATEMENT = b"zkarena/test/accuracy circuit"


def test_spartan_proves_the_accuracy_circuit_and_rejects_a_raised_claim(native):
    arch, tensors, x, y, right = TIES["rows 0=2"]
    model = model_of(arch, **tensors)
    x, y = np.array(x), np.array(y)
    c = sum(right)
    honest = prover(arch, model, x, y, c)
    binding = W.CommitmentBinding(
        competition_digest=hashlib.sha256(b"competition").digest(),
        submitter_id=uuid.UUID("00000000-0000-4000-8000-000000000002").bytes,
        architecture_digest=arch.digest(),
    )
    wc, wo, _ = W.commit_weights(native, model.flat_weights().tolist(), binding,
                                 ProverRandomness.for_tests(b"weights"))
    proof = spartan.prove(native, honest.r1cs, honest.assignment, statement=STATEMENT,
                          weight_commitment=wc, weight_opening=wo,
                          rng=ProverRandomness.for_tests(b"proof"))
    spartan.verify(native, verifier(arch, x, y, c).r1cs, [], proof, statement=STATEMENT,
                   weight_commitment=wc)
    with pytest.raises(VerificationError):
        spartan.verify(native, verifier(arch, x, y, c + 1).r1cs, [], proof,
                       statement=STATEMENT, weight_commitment=wc)
    # A prover that claims c + 1 has no satisfying witness to start from.
    cheat = verifier(arch, x, y, c + 1).r1cs
    with pytest.raises(ConstraintViolation):
        cheat.check(cheat.z(honest.assignment))
