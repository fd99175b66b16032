"""Metrics: Accuracy's three modes (argmax, sign for ±1, threshold for 0/1) and MSE, on worked examples."""

import numpy as np
import pytest

from neurona import layers, metrics, models, optimizers


def test_argmax_mode_with_labels_and_one_hot_rows():
    scores = np.array([[0.1, 0.7, 0.2], [2.0, -1.0, 0.0], [0.3, 0.3, 0.9], [5.0, 6.0, 7.0]])
    labels = np.array([1, 0, 0, 2])
    # argmax per row: 1, 0, 2, 2 → right, right, wrong, right: 3/4
    assert metrics.Accuracy()(scores, labels) == 0.75
    assert metrics.Accuracy()(scores, np.eye(3)[labels]) == 0.75
    assert metrics.Accuracy(mode="argmax")(scores, labels) == 0.75


def test_sign_mode_for_plus_minus_one_targets():
    outputs = np.array([[0.9], [-0.2], [0.1], [-0.8]])
    targets = np.array([[1], [-1], [-1], [1]])  # XOR style
    # signs: +, −, +, − against +, −, −, + → 2/4
    assert metrics.Accuracy()(outputs, targets) == 0.5
    assert metrics.Accuracy()(outputs.ravel(), targets.ravel()) == 0.5
    assert metrics.Accuracy(mode="sign")(outputs, targets) == 0.5


def test_threshold_mode_for_zero_one_targets():
    outputs = np.array([[0.9], [0.4], [0.6], [0.51]])
    targets = np.array([[1], [0], [0], [1]])
    # > 0.5: 1, 0, 1, 1 against 1, 0, 0, 1 → 3/4
    assert metrics.Accuracy()(outputs, targets) == 0.75
    assert metrics.Accuracy(mode="threshold")(outputs, targets) == 0.75
    # the same outputs read as signs would all be "positive": 2/4 against ±1 targets
    assert metrics.Accuracy(mode="sign")(outputs, 2 * targets - 1) == 0.5


def test_auto_mode_is_fixed_by_the_training_targets():
    acc = metrics.Accuracy()
    acc.adapt(np.array([-1, 1, 1]), 1)
    # a later batch holding only positive targets is still read by sign
    assert acc.total(np.array([[0.2], [-0.3]]), np.array([1, 1])) == 1.0


def test_fit_picks_the_mode_from_the_targets():
    x = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dense(1, input_dim=2, use_bias=False))
    model.build()
    model.layers[0].kernel.data[...] = [[1.0], [0.0]]  # output = x₁: −1, −1, 1, 1
    # ±1 targets: signs (−1, −1, 1, 1) against (1, −1, −1, 1) agree on samples 1 and 3 → 0.5
    assert model.evaluate(x, np.array([[1], [-1], [-1], [1]]), loss="mse")["accuracy"] == 0.5
    # 0/1 targets (0, 0, 1, 1): output > 0.5 gives 0, 0, 1, 1 → 1.0
    assert model.evaluate(x, np.array([0, 0, 1, 1]), loss="mse")["accuracy"] == 1.0
    history = model.fit(x, np.array([0, 0, 1, 1]), epochs=1, loss="mse", opt=optimizers.SGD(lr=1e-9), verbose=0,
                        seed=0)
    assert history["accuracy"] == [1.0]


def test_mse_metric():
    # rows (0.5, −1) vs one-hot of label 0 → 0.25 + 1; (2, 0) vs label 1 → 4 + 1: mean 3.125
    assert metrics.MSE()(np.array([[0.5, -1.0], [2.0, 0.0]]), np.array([0, 1])) == pytest.approx(3.125)


def test_get_and_errors():
    assert type(metrics.get("accuracy")) is metrics.Accuracy and type(metrics.get("mse")) is metrics.MSE
    with pytest.raises(ValueError, match=r"Unknown metric: 'f1'. Valid metric names: accuracy, mse"):
        metrics.get("f1")
    with pytest.raises(ValueError, match=r"Accuracy: mode must be one of auto, argmax, sign, threshold. "
                                         r"Received: mode='top5'"):
        metrics.Accuracy(mode="top5")
    with pytest.raises(RuntimeError, match=r"Accuracy: call adapt"):
        metrics.Accuracy().total(np.zeros((2, 1)), np.zeros(2))
