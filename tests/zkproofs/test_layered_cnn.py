"""Protocol v2 on convolutional networks: Conv2d (stride, padding), AvgPool2d (power-of-two
and other window areas), MaxPool2d (first maximum), Reshape; honest proofs verify with their
exact size and count what the int64 evaluator counts, and witnesses that break one pooling
or convolution relation are rejected."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkproofs.errors import ProofError
from zkproofs.layered.gadgets import pool as pool_gadget
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
)

from .layered_helpers import make_case, prove_cases
from .test_layered import _mutate


def conv(cin, cout, k, stride=1, pad=0, *, relu=True, shift=2, wb=4, bb=8):
    return Conv2d(cin, cout, k, stride, pad, weight_bits=wb, bias_bits=bb, shift=shift,
                  relu=relu)


def head(features, classes=3):
    return (Flatten(), Dense(features, classes, weight_bits=4, bias_bits=10))


CASES = {
    "conv relu, maxpool 2": Architecture(
        (1, 6, 6), (0, 7), (conv(1, 2, 3, 1, 1, shift=3), MaxPool2d(2, 2), *head(18))),
    "strided conv, avgpool stride 1": Architecture(
        (2, 7, 7), (-4, 4), (conv(2, 3, 3, 2, 1), AvgPool2d(2, 1), *head(27, 2))),
    "avgpool 3x3 (area 9)": Architecture(
        (1, 6, 6), (0, 7), (AvgPool2d(3, 3), *head(4, 2))),
    "reshape, conv without relu, maxpool 3": Architecture(
        (36,), (0, 7), (Reshape(1, 6, 6), conv(1, 2, 3, relu=False), MaxPool2d(3, 1),
                        *head(8))),
    "two convolutions": Architecture(
        (1, 8, 8), (0, 3), (conv(1, 2, 3, 1, 1, wb=3, bb=6), MaxPool2d(2, 2),
                            conv(2, 3, 3, wb=3, bb=6), *head(12))),
    "maxpool on the test set": Architecture(
        (1, 6, 6), (0, 7), (MaxPool2d(2, 2), *head(9))),
    "signed inputs, wide conv (limbs)": Architecture(
        (1, 5, 5), (-2000, 2000), (conv(1, 2, 2, 1, 0, shift=0, wb=8, bb=12),
                                   AvgPool2d(2, 2), *head(8))),
}


@pytest.fixture(scope="module")
def proven():
    return prove_cases({name: (arch, 9) for name, arch in CASES.items()}, 300)


@pytest.mark.parametrize("name", list(CASES))
def test_honest_cnn_proofs_verify_with_their_exact_size(proven, name):
    case, writer, cw = proven[name]
    proof = writer.bytes()
    assert len(proof) == case.schedule().proof_size().bytes
    case.verify(proof, cw)
    assert 0 < case.correct <= 9


def test_every_layer_section_of_a_cnn_proof_is_checked(proven):
    """The layers' own messages (the generic sections are covered in test_layered): each
    convolution and pooling commitment, and the first and last message of each layer's
    relation, changed on its own, is rejected."""
    case, writer, cw = proven["two convolutions"]
    proof = writer.bytes()
    offsets = writer.item_offsets()
    bounds = [start for _, start, _ in writer.sections] + [len(offsets)]
    targets = set()
    for (label, start, _), end in zip(writer.sections, bounds[1:], strict=True):
        if label.startswith("commitment L") and end > start:
            targets.add((label, start))
        elif label.startswith("layer ") and end > start:
            targets.update({(label, start), (label, end - 1)})
    assert {label for label, _ in targets} >= {"commitment L1.s", "layer 2", "layer 4"}
    for label, index in sorted(targets, key=lambda t: t[1]):
        with pytest.raises(ProofError):
            case.verify(_mutate(proof, *offsets[index]), cw)
            pytest.fail(f"a change in {label} (item {index}) was accepted")


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(4, 7),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    pad=st.integers(0, 1),
    pool=st.sampled_from(["max", "avg", "none"]),
    pool_kernel=st.integers(2, 3),
    relu=st.booleans(),
    signed=st.booleans(),
)
def test_random_cnns_prove_exactly_what_the_evaluator_counts(
        seed, size, kernel, stride, pad, pool, pool_kernel, relu, signed):
    pad = min(pad, kernel - 1)  # padding is narrower than the kernel
    conv_out = (size + 2 * pad - kernel) // stride + 1
    layers = [conv(1, 2, kernel, stride, pad, relu=relu)]
    shape = (2, conv_out, conv_out)
    if pool != "none" and conv_out >= pool_kernel:
        cls = MaxPool2d if pool == "max" else AvgPool2d
        layers.append(cls(pool_kernel, 1))
        side = conv_out - pool_kernel + 1
        shape = (2, side, side)
    layers += head(int(np.prod(shape)))
    arch = Architecture((1, size, size), (-6, 5) if signed else (0, 7), tuple(layers))
    case = make_case(seed, arch, 5)
    assert case.correct == evaluate.count_correct(case.model, case.x, case.y)
    writer, cw = case.prove()
    case.verify(writer.bytes(), cw)
    if case.correct < 5:
        with pytest.raises(Exception):  # the prover refuses the false claim  # noqa: B017
            case.prove(claimed=case.correct + 1)


# ------------------------------------------------------------------ broken witnesses


MAXPOOL_ARCH = Architecture((1, 4, 4), (0, 1), (MaxPool2d(2, 2), *head(4, 2)))
AVGPOOL_ARCH = Architecture((1, 4, 4), (0, 7), (AvgPool2d(2, 2), *head(4, 2)))
AVGPOOL9_ARCH = Architecture((1, 6, 6), (0, 7), (AvgPool2d(3, 3), *head(4, 2)))
CONV_ARCH = Architecture((1, 4, 4), (0, 7), (conv(1, 1, 2, shift=3), *head(9, 2)))


def _tie(case):
    """(window, position of the second maximum, sample) of a window whose maximum is tied."""
    xw = case.x.reshape(len(case.x), -1)[:, pool_gadget._windows((1, 4, 4), 2, 2)]
    for n in range(len(case.x)):
        for w in range(xw.shape[1]):
            best = np.flatnonzero(xw[n, w] == xw[n, w].max())
            if len(best) > 1:
                return w, int(best[1]), n
    raise AssertionError("no tie in the test set")


def test_maxpool_selecting_a_later_tied_maximum_is_rejected():
    case = make_case(21, MAXPOOL_ARCH, 6)
    w, j, n = _tie(case)
    sched = case.schedule()
    plan = sched.layers[0]

    def tamper(values, flat):
        s = values["L0.s"].reshape(-1, 1 << plan.j_bits, sched.n_pad)
        s[w, :, n] = 0
        s[w, j, n] = 1  # the same maximum value, not its first position

    writer, cw = case.prove(tamper=tamper)
    with pytest.raises(ProofError):
        case.verify(writer.bytes(), cw)


def test_maxpool_output_below_the_maximum_is_rejected():
    case = make_case(22, MAXPOOL_ARCH, 6)
    sched = case.schedule()
    plan = sched.layers[0]
    xw = case.x.reshape(len(case.x), -1)[:, pool_gadget._windows((1, 4, 4), 2, 2)]
    n, w = np.argwhere(xw.min(axis=2) < xw.max(axis=2))[0]
    low = int(np.argmin(xw[n, w]))
    # The classifier ignores window w, so only the pooling relation breaks.
    tensors = {k: v.copy() for k, v in case.model.tensors.items()}
    tensors["layers.2.weight"][:, w] = 0
    case.model = QuantizedModel(MAXPOOL_ARCH, tensors)
    case.correct = evaluate.count_correct(case.model, case.x, case.y)

    def tamper(values, flat):
        values["L0.y"][w, n] = xw[n, w, low]  # a value of the window, not its maximum
        s = values["L0.s"].reshape(-1, 1 << plan.j_bits, sched.n_pad)
        s[w, :, n] = 0
        s[w, low, n] = 1

    writer, cw = case.prove(tamper=tamper)
    with pytest.raises(ProofError):
        case.verify(writer.bytes(), cw)


def test_maxpool_selector_with_two_ones_is_rejected():
    case = make_case(23, MAXPOOL_ARCH, 6)
    w, j, n = _tie(case)
    sched = case.schedule()
    plan = sched.layers[0]

    def tamper(values, flat):
        s = values["L0.s"].reshape(-1, 1 << plan.j_bits, sched.n_pad)
        s[w, j, n] = 1  # both tied positions selected

    writer, cw = case.prove(tamper=tamper)
    with pytest.raises(ProofError):
        case.verify(writer.bytes(), cw)


@pytest.mark.parametrize("arch", [AVGPOOL_ARCH, AVGPOOL9_ARCH], ids=["area 4", "area 9"])
def test_avgpool_remainder_out_of_range_is_rejected(arch):
    case = make_case(24, arch, 5)
    plan = case.schedule().layers[0]

    def tamper(values, flat):
        # q − 1 and rem + k²: the same window sum, the remainder outside [0, k²).
        u = sum(values[f"L0.u{j}"].astype(object) << s for j, s in enumerate(
            np.cumsum([0, *plan.limbs[:-1]])))
        u[0, 0] -= 1
        rest = u
        for j, width in enumerate(plan.limbs):
            values[f"L0.u{j}"] = (rest % (1 << width)).astype(np.int64)
            rest = rest >> width
        values["L0.rem"][0, 0] += plan.area

    writer, cw = case.prove(tamper=tamper)
    with pytest.raises(ProofError):
        case.verify(writer.bytes(), cw)


def test_avgpool_wrong_quotient_is_rejected():
    case = make_case(25, AVGPOOL_ARCH, 5)

    def tamper(values, flat):
        values["L0.u0"][0, 0] += 1  # rem unchanged: k²·q + rem is no longer the window sum

    writer, cw = case.prove(tamper=tamper)
    with pytest.raises(ProofError):
        case.verify(writer.bytes(), cw)


@pytest.mark.parametrize("change", ["activation", "remainder", "relu pair"])
def test_conv_witness_breaking_one_relation_is_rejected(change):
    case = make_case(26, CONV_ARCH, 5)
    assert {"L0.a", "L0.rem0"} <= set(case.schedule().vectors)

    def tamper(values, flat):
        idx = tuple(np.argwhere(values["L0.a"] > 0)[0])
        if change == "activation":  # a valid pair, q not the floor
            values["L0.q"][idx] += 1
            values["L0.a"][idx] += 1
        elif change == "remainder":  # the same accumulator, rem out of range
            values["L0.q"][idx] -= 1
            values["L0.a"][idx] -= 1
            values["L0.rem0"][idx] += 8
        else:  # q unchanged: d = a − q = 1 and a > 0
            values["L0.a"][idx] += 1

    writer, cw = case.prove(tamper=tamper)
    with pytest.raises(ProofError):
        case.verify(writer.bytes(), cw)


def test_both_backends_give_the_same_bytes_on_a_cnn_and_cross_verify():
    """Convolution, max and average pooling on the pure-Python backend: the same proof bytes
    as arkworks, and each backend's verifier accepts the other's proof."""
    from zkproofs.params import get_wide_params

    arch = Architecture((1, 4, 4), (0, 3), (conv(1, 2, 3, 1, 1, wb=3, bb=6), MaxPool2d(2, 2),
                                            AvgPool2d(2, 1), *head(2, 2)))
    case = make_case(41, arch, 2)
    native, cw = case.prove()
    case.backend = "reference"
    reference, cw_ref = case.prove()
    assert native.bytes() == reference.bytes()
    assert [c.to_compressed_bytes() for c in cw.rows] == [
        get_wide_params("reference").backend.encode(p) for p in cw_ref.rows]
    case.verify(native.bytes(), cw_ref, backend="reference")
    case.backend = "native"
    case.verify(reference.bytes(), cw)
