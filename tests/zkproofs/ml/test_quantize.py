"""Quantization: float vs integer predictions on real models, determinism, soundness checks."""

from __future__ import annotations

import numpy as np
import pytest

from zkproofs.ml import (
    AGREEMENT_TARGET,
    Architecture,
    Dense,
    FloatConv2d,
    FloatDense,
    FloatModel,
    QuantizationError,
    compare,
    count_correct,
    intervals,
    load_onnx,
    logits,
    predict,
    quantize,
    quantize_auto,
)
from zkproofs.ml.architecture import signed_range
from zkproofs.ml.quantize import AUTO_WIDTHS, LOGIT_ERROR_TARGET

from .helpers import to_onnx_bytes, torch_like_conv_net


@pytest.fixture(scope="module")
def lr_float(digits_lr):
    return load_onnx(to_onnx_bytes(digits_lr, 64, zipmap=False))


@pytest.fixture(scope="module")
def mlp_float(digits_mlp):
    return load_onnx(to_onnx_bytes(digits_mlp, 64, zipmap=False))


@pytest.mark.parametrize("which", ["lr", "mlp"])
def test_digits_quantized_model_agrees_with_the_float_model(digits, lr_float, mlp_float, which):
    fm = lr_float if which == "lr" else mlp_float
    model, report = quantize(fm, digits.x_train, digits.y_train, input_range=(0, 16))
    test = compare(fm, model, digits.x_test, digits.y_test)
    print(f"\n{which}: calibration {report.calibration}; test {test}\n{report.summary()}")
    assert test.n_samples == 360
    assert test.agreement >= 0.98
    assert test.quantized_accuracy >= test.float_accuracy - 0.01
    assert test.quantized_accuracy >= 0.95
    assert count_correct(model, digits.x_test, digits.y_test) == round(
        test.quantized_accuracy * 360
    )
    assert report.agreement >= 0.99

    arch = model.architecture
    assert arch.input_shape == (64,) and arch.input_range == (0, 16)
    assert arch.layers[-1].shift == 0 and arch.num_classes == 10
    if which == "mlp":
        hidden = arch.layers[0]
        assert hidden.relu and hidden.shift > 0
        assert report.layers[0].calibration_peak < 2**8  # activation_bits = 8
    # Every tensor respects its declared width; the power-of-two weight scale is the largest
    # that fits int8, so the largest weight lands in [64, 127].
    for slot, values in model:
        lo, hi = signed_range(slot.bits)
        assert lo <= values.min() and values.max() <= hi
    assert 64 <= np.abs(model.weight(0)).max() <= 127
    # The model is usable on any input in the declared range.
    assert intervals(arch).max_abs() < 2**62


def test_quantization_is_deterministic(digits, mlp_float):
    a, _ = quantize(mlp_float, digits.x_train, input_range=(0, 16))
    b, _ = quantize(mlp_float, digits.x_train, input_range=(0, 16))
    assert a.architecture.digest() == b.architecture.digest()
    np.testing.assert_array_equal(a.flat_weights(), b.flat_weights())


def test_declared_bias_width_is_capped_by_the_worst_case_accumulator(digits, lr_float):
    model, report = quantize(lr_float, digits.x_train, input_range=(0, 16), bias_bits=32)
    # Σ|x|·2^7 over 64 inputs of at most 16 is 2^17: a 19-bit bias is already wider than
    # anything W·x can reach, so 32 bits would only widen the proof's range checks.
    assert model.architecture.layers[0].bias_bits == 19
    assert report.layers[0].bias_bits == 19
    narrow, _ = quantize(lr_float, digits.x_train, input_range=(0, 16), bias_bits=12)
    assert narrow.architecture.layers[0].bias_bits == 12


def test_weight_exponent_drops_when_the_bias_does_not_fit():
    fm = FloatModel((2,), (FloatDense([[1.0, -1.0], [0.5, 0.25]], [1000.0, 0.0]),))
    x = np.array([[0, 1], [1, 0], [3, 3]])
    model, report = quantize(fm, x, input_range=(0, 3), bias_bits=8)
    assert abs(model.bias(0)).max() <= 127
    assert report.layers[0].weight_exponent < 6  # 2^6 would fit the weights but not the bias
    np.testing.assert_array_equal(
        compare(fm, model, x).agreement, 1.0
    )  # the bias dominates either way


def test_binary_breast_cancer(breast_cancer):
    model_sk, xi_tr, xi_te, y_tr, y_te = breast_cancer
    fm = load_onnx(to_onnx_bytes(model_sk, 30, zipmap=False))
    qm, report = quantize(fm, xi_tr, y_tr, input_range=(-64, 64), input_scale=8)
    test = compare(fm, qm, xi_te, y_te, input_scale=8)
    print(f"\nbreast cancer: calibration {report.calibration}; test {test}")
    assert test.agreement >= 0.97
    assert test.quantized_accuracy >= 0.9
    # Integer logits stay exactly [-t, t], so class 1 iff t > 0 (ties go to class 0).
    logits = qm.weight(0)
    np.testing.assert_array_equal(logits[0], -logits[1])


def test_conv_net(digits):
    fm = load_onnx(torch_like_conv_net(relu_after_pool=True))
    x_tr = digits.x_train.reshape(-1, 1, 8, 8)
    x_te = digits.x_test.reshape(-1, 1, 8, 8)
    model, report = quantize(fm, x_tr, input_range=(0, 16))
    test = compare(fm, model, x_te)
    print(f"\nconv net (random weights): {test}\n{report.summary()}")
    assert test.agreement >= 0.9
    assert [layer.KIND for layer in model.architecture.layers] == [
        "conv2d", "maxpool2d", "conv2d", "maxpool2d", "flatten", "dense", "dense",
    ]  # fmt: skip
    assert model.architecture.layers[0].relu


def test_calibration_inputs_are_checked(digits, lr_float):
    with pytest.raises(QuantizationError, match="integers"):
        quantize(lr_float, digits.x_train.astype(float), input_range=(0, 16))
    with pytest.raises(QuantizationError, match="shape"):
        quantize(lr_float, digits.x_train[:, :63], input_range=(0, 16))
    with pytest.raises(QuantizationError, match="input_scale"):
        quantize(lr_float, digits.x_train, input_range=(0, 16), input_scale=0)
    with pytest.raises(QuantizationError, match="input_range"):
        quantize(lr_float, digits.x_train, input_range=(16, 0))
    with pytest.raises(QuantizationError, match="input_range"):
        quantize(lr_float, digits.x_train, input_range=(0.5, 16))
    with pytest.raises(QuantizationError, match="activation_bits"):
        quantize(lr_float, digits.x_train, input_range=(0, 16), activation_bits=40)


@pytest.mark.parametrize("which", ["digits", "breast_cancer"])
def test_calibration_inputs_outside_the_range_are_clipped_and_counted(
    which, digits, lr_float, breast_cancer
):
    if which == "digits":
        fm, x, y, narrow = lr_float, digits.x_train, digits.y_train, (0, 14)
    else:
        model, x, _, y, _ = breast_cancer
        fm, narrow = load_onnx(to_onnx_bytes(model, 30, zipmap=False)), (-20, 24)
    outside = (x < narrow[0]) | (x > narrow[1])
    assert outside.any()
    got, report = quantize(fm, x, y, input_range=narrow, input_scale=8 if which != "digits" else 1)
    again, _ = quantize(fm, np.clip(x, *narrow), y, input_range=narrow,
                        input_scale=8 if which != "digits" else 1)  # fmt: skip
    assert got == again  # exactly the model of the clipped data
    assert report.clipped_values == int(outside.sum())
    assert report.clipped_samples == int(outside.any(axis=1).sum())
    assert f"{report.clipped_values} calibration values" in report.summary()
    _, clean = quantize(fm, np.clip(x, *narrow), y, input_range=narrow,
                        input_scale=8 if which != "digits" else 1)  # fmt: skip
    assert clean.clipped_values == 0 and "clipped" not in clean.summary()


def raw_wine_lr():
    """Logistic regression on wine's raw features (magnitudes from 0.1 to 1680), published
    at scale 100: 8-bit per-tensor weights lose the small-magnitude features' weights."""
    import warnings

    from sklearn.datasets import load_wine
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    v, y = load_wine(return_X_y=True)
    v_tr, v_te, y_tr, y_te = train_test_split(v, y, test_size=0.5, random_state=0, stratify=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=1000).fit(v_tr, y_tr)
    fm = load_onnx(to_onnx_bytes(model, 13, zipmap=False))
    to_int = lambda a: np.rint(a * 100).astype(np.int64)  # noqa: E731
    return fm, to_int(v_tr), y_tr, to_int(v_te), y_te, model.predict(v_te)


def test_quantize_auto_widens_the_weights_until_the_models_agree():
    fm, x_tr, y_tr, x_te, y_te, float_pred = raw_wine_lr()
    _, narrow = quantize(fm, x_tr, y_tr, input_range=(0, 200_000), input_scale=100)
    assert narrow.agreement < AGREEMENT_TARGET  # the problem
    model, report = quantize_auto(fm, x_tr, y_tr, input_range=(0, 200_000), input_scale=100)
    assert [(a.weight_bits, a.activation_bits) for a in report.attempts][0] == (8, 8)
    assert report.attempts[0].agreement == narrow.agreement
    assert report.weight_bits > 8 and report.meets_target
    assert report.attempts[-1].agreement == report.agreement
    # Every earlier attempt missed a target: agreement or logit error.
    assert all(a.agreement < AGREEMENT_TARGET or a.logit_error > LOGIT_ERROR_TARGET
               for a in report.attempts[:-1])
    assert model.architecture.layers[0].weight_bits == report.weight_bits
    assert "tried 8-bit weights" in report.summary()
    # The logit error is what the report says it is: the 95th percentile of the largest
    # logit deviation per sample, relative to the float logits' standard deviation.
    f = fm.logits(x_tr / 100)
    q = logits(model, x_tr) / report.layers[-1].output_scale
    expected = np.quantile(np.abs(q - f).max(axis=1) / f.std(), 0.95)
    assert report.logit_error == pytest.approx(expected, rel=1e-9)
    assert report.logit_error <= LOGIT_ERROR_TARGET < narrow.logit_error
    # On the test split too, the widened model is the trained model.
    q_pred = predict(model, x_te)
    assert np.mean(q_pred == float_pred) >= 0.98
    assert abs(int((q_pred == y_te).sum()) - int((float_pred == y_te).sum())) <= 1


def test_quantize_auto_keeps_8_bits_when_they_suffice_and_honours_a_given_width(
    digits, mlp_float, breast_cancer
):
    model, x_tr, _, y_tr, _ = breast_cancer
    fm = load_onnx(to_onnx_bytes(model, 30, zipmap=False))
    q, report = quantize_auto(fm, x_tr, y_tr, input_range=(-64, 64), input_scale=8)
    assert len(report.attempts) == 1 and report.weight_bits == 8 and report.meets_target
    assert report.logit_error <= LOGIT_ERROR_TARGET
    assert q == quantize(fm, x_tr, y_tr, input_range=(-64, 64), input_scale=8)[0]
    # 8-bit weights and activations agree on the digits MLP's labels but not its logits.
    _, digits_report = quantize_auto(mlp_float, digits.x_train, digits.y_train,
                                     input_range=(0, 16))  # fmt: skip
    first = digits_report.attempts[0]
    assert first.agreement >= AGREEMENT_TARGET and first.logit_error > LOGIT_ERROR_TARGET
    assert digits_report.logit_error <= LOGIT_ERROR_TARGET < first.logit_error
    _, fixed = quantize_auto(mlp_float, digits.x_train, digits.y_train, input_range=(0, 16),
                             weight_bits=6)  # fmt: skip
    assert {a.weight_bits for a in fixed.attempts} == {6} and fixed.weight_bits == 6


def test_quantize_auto_falls_back_to_the_best_agreement(digits, lr_float):
    # An unreachable target: every width is tried and the best kept (narrowest on ties).
    _, report = quantize_auto(lr_float, digits.x_train, digits.y_train, input_range=(0, 16),
                              target=1.01)  # fmt: skip
    assert len(report.attempts) == len(AUTO_WIDTHS)
    best = max((a.agreement, -a.logit_error) for a in report.attempts)
    first_best = next(a for a in report.attempts if (a.agreement, -a.logit_error) == best)
    assert (report.weight_bits, report.activation_bits) == (
        first_best.weight_bits, first_best.activation_bits,
    )  # fmt: skip


def test_a_model_that_could_overflow_is_refused():
    # Wide weights on a huge input range: worst-case accumulators pass 2^62 by layer 2.
    rng = np.random.default_rng(0)
    layers = tuple(
        FloatDense(rng.normal(size=(64, 64)), rng.normal(size=64), relu=True) for _ in range(3)
    ) + (FloatDense(rng.normal(size=(2, 64)), np.zeros(2)),)
    fm = FloatModel((64,), layers)
    x = rng.integers(-(2**31), 2**31, size=(20, 64))
    with pytest.raises(QuantizationError, match="overflow"):
        quantize(
            fm, x, input_range=(-(2**32), 2**32), weight_bits=32, bias_bits=62,
            activation_bits=32,
        )  # fmt: skip


def test_float_model_validation():
    with pytest.raises(ValueError, match="NaN"):
        FloatDense([[np.nan]], [0.0])
    with pytest.raises(ValueError, match="bias"):
        FloatDense([[1.0, 2.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="logit layer"):
        FloatModel((1, 2, 2), (FloatConv2d(np.ones((2, 1, 2, 2)), np.zeros(2)),))
    skeleton = FloatModel((2,), (FloatDense([[1.0, 2.0], [0.0, 1.0]], [0.0, 0.0]),)).skeleton
    assert skeleton == Architecture((2,), (0, 0), (Dense(2, 2),))
