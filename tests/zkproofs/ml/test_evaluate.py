"""The reference evaluator: integer semantics on hand-made cases, intervals, overflow refusal."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from zkproofs.ml.evaluate import (
    INTERVAL_BOUND,
    InputError,
    IntervalOverflowError,
    count_correct,
    intervals,
    logits,
    predict,
    trace,
)


def model(arch: Architecture, **tensors) -> QuantizedModel:
    return QuantizedModel(arch, {k.replace("_", "."): np.array(v) for k, v in tensors.items()})


def identity_logits(n: int) -> Dense:
    return Dense(n, n)


def eye(n: int) -> list[list[int]]:
    return np.eye(n, dtype=int).tolist()


# ------------------------------------------------------------------------ semantics


def test_requantization_floors_negative_values():
    # acc = x - 3; shift 1: floor((x - 3) / 2), never truncation towards zero.
    arch = Architecture((1,), (-8, 8), (Dense(1, 1, shift=1), Dense(1, 2)))
    m = model(
        arch,
        layers_0_weight=[[1]],
        layers_0_bias=[-3],
        layers_1_weight=[[0], [1]],
        layers_1_bias=[0, 0],
    )
    x = np.arange(-8, 9).reshape(-1, 1)
    hidden = trace(m, x)[0]
    np.testing.assert_array_equal(hidden.acc[:, 0], x[:, 0] - 3)
    np.testing.assert_array_equal(hidden.out[:, 0], np.floor((x[:, 0] - 3) / 2).astype(int))
    assert hidden.out[x[:, 0] == 0, 0] == -2  # truncation would give -1
    assert hidden.out[x[:, 0] == 2, 0] == -1  # floor(-1/2)


def test_relu_after_floor():
    arch = Architecture((2,), (-10, 10), (Dense(2, 2, shift=2, relu=True), Dense(2, 2)))
    m = model(
        arch,
        layers_0_weight=[[1, 0], [0, -1]],
        layers_0_bias=[0, 1],
        layers_1_weight=eye(2),
        layers_1_bias=[0, 0],
    )
    t = trace(m, np.array([[-5, -5], [9, 9], [3, -3]]))[0]
    np.testing.assert_array_equal(t.quotient, [[-2, 1], [2, -2], [0, 1]])
    np.testing.assert_array_equal(t.out, [[0, 1], [2, 0], [0, 1]])


def test_ties_go_to_the_lowest_index():
    arch = Architecture((3,), (-5, 5), (Dense(3, 3),))
    m = model(arch, layers_0_weight=eye(3), layers_0_bias=[0, 0, 0])
    x = np.array([[1, 1, 1], [0, 2, 2], [2, 0, 2], [-1, -1, -3], [0, 0, 1], [-5, -5, -5]])
    np.testing.assert_array_equal(predict(m, x), [0, 1, 0, 0, 2, 0])
    np.testing.assert_array_equal(logits(m, x), x)
    assert count_correct(m, x, np.array([0, 1, 0, 0, 2, 1])) == 5


def pool_arch(pool) -> Architecture:
    return Architecture(
        (1, 3, 3), (-20, 20), (Conv2d(1, 1, 1), pool, Flatten(), Dense(pool_size(pool), 2))
    )


def pool_size(pool) -> int:
    return ((3 - pool.kernel) // pool.stride + 1) ** 2


def pool_model(pool) -> QuantizedModel:
    arch = pool_arch(pool)
    n = pool_size(pool)
    return model(
        arch,
        layers_0_weight=[[[[1]]]],
        layers_0_bias=[0],
        layers_3_weight=[[0] * n, [1] * n],
        layers_3_bias=[0, 0],
    )


def test_reshape_reads_a_flat_input_as_an_image_in_c_order():
    """Reshape then Flatten gives back the input: a relabeling, element c·H·W + h·W + w of
    the flat input lands at [c, h, w]; a 2×1 kernel then sees vertical neighbours."""
    arch = Architecture((12,), (-6, 6), (Reshape(2, 3, 2), Flatten(), identity_logits(12)))
    x = np.arange(-6, 6).reshape(1, 12)
    m = model(arch, layers_2_weight=eye(12), layers_2_bias=[0] * 12)
    steps = trace(m, x)
    assert steps[0].out.shape == (1, 2, 3, 2)
    assert steps[0].out[0, 1, 2, 0] == x[0, 1 * 6 + 2 * 2 + 0]
    np.testing.assert_array_equal(logits(m, x), x)
    iv = intervals(arch)
    assert iv.layers[0].out.shape == (1, 2, 3, 2)
    assert int(iv.layers[0].out.lo.min()) == -6 and int(iv.layers[0].out.hi.max()) == 6
    per_sample = intervals(arch, x)
    np.testing.assert_array_equal(per_sample.layers[0].out.lo, x.reshape(1, 2, 3, 2))


def test_average_pool_floors_the_mean():
    m = pool_model(AvgPool2d(2, 1))
    x = np.array([[[[-1, 0, 0], [0, 0, 0], [5, 6, 7]]]])
    out = trace(m, x)[1]
    # windows: [-1,0,0,0] -> floor(-1/4) = -1; [0,0,0,0] -> 0; [0,0,5,6] -> 11//4 = 2; 13//4 = 3
    np.testing.assert_array_equal(out.acc[0, 0], [[-1, 0], [11, 13]])
    np.testing.assert_array_equal(out.out[0, 0], [[-1, 0], [2, 3]])


def test_average_pool_with_a_non_power_of_two_area():
    m = pool_model(AvgPool2d(3, 3))
    x = np.arange(-4, 5).reshape(1, 1, 3, 3) * 3 - 1  # sum = -9 → floor(-9 / 9) = -1
    assert trace(m, x)[1].out[0, 0, 0, 0] == -1
    x = np.full((1, 1, 3, 3), 2)
    x[0, 0, 0, 0] = 0  # sum 16 → floor(16/9) = 1
    assert trace(m, x)[1].out[0, 0, 0, 0] == 1


def test_max_pool_takes_the_maximum():
    m = pool_model(MaxPool2d(2, 1))
    x = np.array([[[[-7, -3, -9], [-8, -5, -1], [4, -2, 0]]]])
    np.testing.assert_array_equal(trace(m, x)[1].out[0, 0], [[-3, -1], [4, 0]])


def naive_conv(x, w, b, stride, padding):
    """Python-int loops: the obvious definition, to check the vectorised one."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding), dtype=object)
    xp[:, :, padding : padding + h, padding : padding + wd] = x
    ho, wo = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, o, ho, wo), dtype=object)
    for s in range(n):
        for oc in range(o):
            for i in range(ho):
                for j in range(wo):
                    acc = int(b[oc])
                    for ic in range(c):
                        for di in range(k):
                            for dj in range(k):
                                acc += int(w[oc, ic, di, dj]) * int(
                                    xp[s, ic, i * stride + di, j * stride + dj]
                                )
                    out[s, oc, i, j] = acc
    return out


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 2),
    st.integers(0, 2), st.integers(3, 6), st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_conv_matches_the_naive_definition(cin, cout, k, stride, pad, size, seed):
    pad = min(pad, k - 1)
    rng = np.random.default_rng(seed)
    conv = Conv2d(cin, cout, k, stride, pad, bias_bits=16)
    out_hw = (size + 2 * pad - k) // stride + 1
    arch = Architecture(
        (cin, size, size), (-100, 100), (conv, Flatten(), Dense(cout * out_hw * out_hw, 2))
    )
    tensors = {
        s.name: rng.integers(*signed_range(s.bits), size=s.shape, endpoint=True)
        for s in arch.layout
    }
    m = QuantizedModel(arch, tensors)
    x = rng.integers(-100, 100, size=(2, cin, size, size), endpoint=True)
    got = trace(m, x)[0].acc
    want = naive_conv(x, tensors["layers.0.weight"], tensors["layers.0.bias"], stride, pad)
    np.testing.assert_array_equal(got, want.astype(np.int64))


# ---------------------------------------------------------------------- input checks


def test_inputs_are_validated():
    arch = Architecture((3,), (0, 16), (Dense(3, 2),))
    m = model(arch, layers_0_weight=[[1, 0, 0], [0, 1, 0]], layers_0_bias=[0, 0])
    with pytest.raises(InputError, match="integers"):
        predict(m, np.zeros((1, 3)))
    with pytest.raises(InputError, match="shape"):
        predict(m, np.zeros((1, 4), dtype=int))
    with pytest.raises(InputError, match="shape"):
        predict(m, np.zeros(3, dtype=int))
    with pytest.raises(InputError, match="range"):
        predict(m, np.array([[0, 17, 0]]))
    with pytest.raises(InputError, match="range"):
        predict(m, np.array([[0, -1, 0]]))
    with pytest.raises(InputError, match="range"):
        predict(m, np.array([[0, 2**64 - 1, 0]], dtype=np.uint64))
    with pytest.raises(InputError, match="no inputs"):
        predict(m, np.zeros((0, 3), dtype=int))
    with pytest.raises(InputError, match="labels"):
        count_correct(m, np.zeros((2, 3), dtype=int), np.array([0, 2]))
    with pytest.raises(InputError, match="labels"):
        count_correct(m, np.zeros((2, 3), dtype=int), np.array([0]))


# ------------------------------------------------------------------------- intervals


def test_first_layer_interval_is_the_documented_formula_and_tight():
    wb, bb = 5, 9
    arch = Architecture((4,), (-7, 7), (Dense(4, 3, weight_bits=wb, bias_bits=bb),))
    x = np.array([[3, -2, 0, 7], [0, 0, 0, 0]])
    iv = intervals(arch, x).layers[0].acc
    wa, wz = signed_range(wb)
    ba, bz = signed_range(bb)
    for s in range(2):
        lo = sum(min(wa * v, wz * v) for v in x[s]) + ba
        hi = sum(max(wa * v, wz * v) for v in x[s]) + bz
        assert np.all(iv.lo[s] == lo) and np.all(iv.hi[s] == hi)
        # Both ends are reached by some weights of the declared width: the bound is tight.
        w_hi = np.where(x[s] > 0, wz, wa)
        w_lo = np.where(x[s] > 0, wa, wz)
        m = model(
            arch,
            layers_0_weight=[w_hi, w_lo, np.zeros(4, int)],
            layers_0_bias=[bz, ba, 0],
        )
        acc = trace(m, x[s : s + 1])[0].acc[0]
        assert acc[0] == hi and acc[1] == lo
    # Σ|x_i|·2^(b−1) + 2^(bias_bits−1) bounds the magnitude (w ≥ −2^(b−1) is one wider).
    magnitude = 12 * 2 ** (wb - 1) + 2 ** (bb - 1)
    assert -iv.lo[0, 0] <= magnitude and iv.hi[0, 0] <= magnitude
    assert -iv.lo[0, 0] == magnitude - 2  # x = −2 meets the positive end 2^(b−1) − 1


@st.composite
def random_case(draw):
    """A small random architecture, weights of its widths (extremes favoured) and inputs."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lo = draw(st.integers(-40, 10))
    hi = draw(st.integers(lo, 40))
    wb = lambda: draw(st.integers(2, 8))  # noqa: E731
    bb = lambda: draw(st.integers(2, 20))  # noqa: E731
    sh = lambda: draw(st.integers(0, 8))  # noqa: E731
    layers = []
    if draw(st.booleans()):
        shape = (draw(st.integers(1, 2)), *[draw(st.integers(3, 6))] * 2)
        current = shape
        if draw(st.booleans()):  # a flat input read as the image by a Reshape layer
            layers.append(Reshape(*shape))
            shape = (int(np.prod(shape)),)
        for _ in range(draw(st.integers(1, 2))):  # up to two conv/pool blocks
            if draw(st.booleans()):
                k = draw(st.integers(1, min(3, current[1])))
                layers.append(
                    Conv2d(current[0], draw(st.integers(1, 3)), k, draw(st.integers(1, 2)),
                           draw(st.integers(0, k - 1)), wb(), bb(), sh(), draw(st.booleans()))
                )  # fmt: skip
                current = layers[-1].output_shape(current)
            if draw(st.booleans()):
                pool = draw(st.sampled_from([MaxPool2d, AvgPool2d]))
                k = draw(st.integers(1, min(3, current[1])))
                layers.append(pool(k, draw(st.integers(1, 2))))
                current = layers[-1].output_shape(current)
        layers.append(Flatten())
        (features,) = layers[-1].output_shape(current)
    else:
        shape = (draw(st.integers(1, 6)),)
        (features,) = shape
    for _ in range(draw(st.integers(0, 2))):
        out = draw(st.integers(1, 5))
        layers.append(Dense(features, out, wb(), bb(), sh(), draw(st.booleans())))
        features = out
    layers.append(Dense(features, draw(st.integers(2, 4)), wb(), bb()))
    arch = Architecture(shape, (lo, hi), tuple(layers))
    tensors = {}
    for slot in arch.layout:
        a, b = signed_range(slot.bits)
        vals = rng.integers(a, b, size=slot.shape, endpoint=True)
        extremes = rng.choice([a, b], size=slot.shape)
        tensors[slot.name] = np.where(rng.random(slot.shape) < 0.5, extremes, vals)
    n = draw(st.integers(1, 4))
    x = rng.integers(lo, hi, size=(n, *shape), endpoint=True)
    x = np.where(rng.random(x.shape) < 0.3, rng.choice([lo, hi], size=x.shape), x)
    return QuantizedModel(arch, tensors), x


@settings(max_examples=120, deadline=None)
@given(random_case())
def test_intervals_contain_every_computed_value(case):
    m, x = case
    arch = m.architecture
    per_sample = intervals(arch, x)
    worst = intervals(arch)  # over the whole declared input range
    steps = trace(m, x)
    assert per_sample.input.contains(x)
    for step, iv, wc in zip(steps, per_sample.layers, worst.layers, strict=True):
        for name in ("acc", "quotient", "out"):
            value = getattr(step, name)
            bound, wbound = getattr(iv, name), getattr(wc, name)
            assert (value is None) == (bound is None) == (wbound is None)
            if value is None:
                continue
            assert bound.shape == value.shape
            assert bound.contains(value), (step.index, name)
            assert wbound.contains(value), (step.index, name)
            # Per-sample bounds are never looser than the worst case.
            assert np.all(bound.lo >= wbound.lo) and np.all(bound.hi <= wbound.hi)
    assert per_sample.max_abs() <= INTERVAL_BOUND


def test_overflowing_dense_is_refused_before_evaluation():
    arch = Architecture(
        (1024,),
        (-(2**32), 2**32),
        (Dense(1024, 2, weight_bits=32, bias_bits=62),),
    )
    with pytest.raises(IntervalOverflowError, match="layer 0 \\(dense\\)"):
        intervals(arch)
    m = QuantizedModel(arch, {"layers.0.weight": np.zeros((2, 1024), int), "layers.0.bias": [0, 0]})
    with pytest.raises(IntervalOverflowError):
        predict(m, np.full((1, 1024), 2**32))
    # The same layer on small actual inputs is fine: intervals use the inputs, not the range.
    assert intervals(arch, np.ones((1, 1024), dtype=int)).max_abs() < INTERVAL_BOUND


def test_overflow_deep_in_the_network_names_the_layer():
    layers = tuple(Dense(64, 64, weight_bits=16, bias_bits=16) for _ in range(5)) + (Dense(64, 2),)
    arch = Architecture((64,), (0, 255), layers)
    with pytest.raises(IntervalOverflowError, match="layer [1-5] \\(dense\\)"):
        intervals(arch)


def test_overflowing_average_pool_window_sum_is_refused():
    conv = Conv2d(1, 1, 1, weight_bits=28, bias_bits=62)  # values up to about 2^61
    arch = Architecture(
        (1, 2, 2), (-(2**32), 2**32), (conv, AvgPool2d(2, 2), Flatten(), Dense(1, 2))
    )
    with pytest.raises(IntervalOverflowError, match="layer 1 \\(avgpool2d\\)"):
        intervals(arch)


def test_interval_bound_at_the_edge():
    # |w·x| ≤ 2^31·2^29 = 2^60 plus a bias below 2^61 stays under 2^62; one more input bit
    # makes the magnitude bound reach 2^62 exactly, which is refused.
    ok = Architecture((1,), (-(2**29), 2**29), (Dense(1, 2, weight_bits=32, bias_bits=62),))
    assert intervals(ok).max_abs() < INTERVAL_BOUND
    bad = Architecture((1,), (-(2**30), 2**30), (Dense(1, 2, weight_bits=32, bias_bits=62),))
    with pytest.raises(IntervalOverflowError):
        intervals(bad)
