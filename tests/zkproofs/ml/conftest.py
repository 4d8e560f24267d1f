"""Shared fixtures: the digits split and scikit-learn models trained once per session."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest


@dataclass(frozen=True)
class Digits:
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


@pytest.fixture(scope="session")
def digits() -> Digits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    # The pixels are already integers 0..16: the competition's input scale is 1.
    x_tr, x_te, y_tr, y_te = train_test_split(
        x.astype(np.int64), y.astype(np.int64), test_size=0.2, random_state=0
    )
    assert x_te.shape == (360, 64)
    return Digits(x_tr, x_te, y_tr, y_te)


def _fit(model, x, y):
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on two cores (and under xdist) oversubscription makes lbfgs 50x slower.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(x, y)


@pytest.fixture(scope="session")
def digits_lr(digits):
    from sklearn.linear_model import LogisticRegression

    return _fit(LogisticRegression(max_iter=200), digits.x_train, digits.y_train)


@pytest.fixture(scope="session")
def digits_mlp(digits):
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(32,), random_state=0, max_iter=100)
    return _fit(model, digits.x_train, digits.y_train)


@pytest.fixture(scope="session")
def breast_cancer():
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(x_tr)
    # The organizer's integer inputs: standardized features at scale 8, clipped to ±64.
    to_int = lambda a: np.clip(np.rint(scaler.transform(a) * 8), -64, 64).astype(np.int64)  # noqa: E731
    xi_tr, xi_te = to_int(x_tr), to_int(x_te)
    model = _fit(LogisticRegression(max_iter=500), xi_tr / 8.0, y_tr)
    return model, xi_tr, xi_te, y_tr, y_te
