"""Tests for neurona.reference: worked examples, finite-difference gradients, stability and training."""

import itertools
import math
import warnings

import numpy as np
import pytest

from neurona.reference import (
    accuracy,
    cce_loss,
    forward,
    init_params,
    l2_penalty,
    linear,
    linear_grad,
    loss_and_grads,
    mse_loss,
    one_hot,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    svm_loss,
    train,
)

# ------------------------------------------------------------------ helpers


def numerical_gradient(f, array, eps=1e-6):
    """Central differences of the scalar f() w.r.t. every entry of array (perturbed in place)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def assert_gradients_close(analytic, numeric, rel=1e-6, floor=1e-9):
    """|a - n| <= rel * (|a| + |n|) + floor, entrywise."""
    error = np.abs(analytic - numeric)
    bound = rel * (np.abs(analytic) + np.abs(numeric)) + floor
    assert np.all(error <= bound), f"max error {error.max():.3e}, worst ratio {(error / bound).max():.3f}"


def blobs(n_per_class=100, dim=20, classes=3, seed=0):
    """Gaussian blobs, centers 3 * N(0, I), unit noise: linearly separable with high probability."""
    rng = np.random.default_rng(seed)
    centers = 3.0 * rng.standard_normal((classes, dim))
    y = np.repeat(np.arange(classes), n_per_class)
    x = centers[y] + rng.standard_normal((y.size, dim))
    return x, y


# -------------------------------------------------------------- activations


def test_sigmoid_values_and_grad():
    # sigmoid(0) = 1/2; sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4; sigmoid(-ln 3) = 1/4.
    x = np.array([0.0, math.log(3), -math.log(3)])
    np.testing.assert_allclose(sigmoid(x), [0.5, 0.75, 0.25], rtol=1e-12)
    # s (1 - s): 1/2 * 1/2 = 1/4, 3/4 * 1/4 = 3/16, and the same 3/16 for -ln 3; upstream 2 doubles them.
    np.testing.assert_allclose(sigmoid_grad(2.0 * np.ones(3), x), [0.5, 0.375, 0.375], rtol=1e-12)


def test_relu_and_linear_values_and_grads():
    x = np.array([-2.0, -0.5, 0.5, 3.0])
    dout = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_array_equal(relu(x), [0.0, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(relu_grad(dout, x), [0.0, 0.0, 30.0, 40.0])
    np.testing.assert_array_equal(linear(x), x)
    np.testing.assert_array_equal(linear_grad(dout, x), dout)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_huge_inputs(dtype):
    x = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        s = sigmoid(x)
        g = sigmoid_grad(np.ones_like(x), x)
    assert s.dtype == dtype
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(g))
    np.testing.assert_allclose(s[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(g[[0, 4]], [0.0, 0.0])


# ------------------------------------------------------------------- losses


def test_mse_worked_example():
    # S = [[1, 0], [0, 2]], y = [0, 0] -> Y = [[1, 0], [1, 0]], S - Y = [[0, 0], [-1, 2]].
    # L = (0 + 0 + 1 + 4) / N = 5 / 2 = 2.5;  dS = 2 (S - Y) / 2 = [[0, 0], [-1, 2]].
    S = np.array([[1.0, 0.0], [0.0, 2.0]])
    loss, dS = mse_loss(S, np.array([0, 0]))
    assert loss == pytest.approx(2.5)
    np.testing.assert_allclose(dS, [[0.0, 0.0], [-1.0, 2.0]])


def test_svm_worked_example():
    # Row 0: S = [1, 2, 3], y = 1 (s_y = 2): margins j=0: 1-2+1 = 0 -> 0, j=2: 3-2+1 = 2 -> 2.
    # Row 1: S = [1, 0, 1.5], y = 0 (s_y = 1): j=1: 0-1+1 = 0 -> 0, j=2: 1.5-1+1 = 1.5.
    # L = (2 + 1.5) / 2 = 1.75. Only strictly positive margins count in dS:
    # row 0 -> [0, -1, 1] / 2, row 1 -> [-1, 0, 1] / 2.
    S = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 1.5]])
    loss, dS = svm_loss(S, np.array([1, 0]))
    assert loss == pytest.approx(1.75)
    np.testing.assert_allclose(dS, [[0.0, -0.5, 0.5], [-0.5, 0.0, 0.5]])


def test_cce_worked_example():
    # Row 0: S = [0, 0] -> softmax [1/2, 1/2], y = 0: -ln(1/2) = ln 2.
    # Row 1: S = [ln 3, 0] -> softmax [3/4, 1/4], y = 1: -ln(1/4) = 2 ln 2.
    # L = (ln 2 + 2 ln 2) / 2 = 1.5 ln 2;  dS = (softmax - Y) / 2 = [[-1/4, 1/4], [3/8, -3/8]].
    S = np.array([[0.0, 0.0], [math.log(3), 0.0]])
    loss, dS = cce_loss(S, np.array([0, 1]))
    assert loss == pytest.approx(1.5 * math.log(2))
    np.testing.assert_allclose(dS, [[-0.25, 0.25], [0.375, -0.375]])


def test_cce_is_stable_for_huge_scores():
    # S = [1000, 0], y = 1: log softmax_1 = 0 - 1000 - ln(1 + e^-1000) ~ -1000, so L = 1000.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dS = cce_loss(np.array([[1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0)
    np.testing.assert_allclose(dS, [[1.0, -1.0]])


@pytest.mark.parametrize("loss_fn", [mse_loss, svm_loss, cce_loss])
def test_losses_accept_one_hot_targets(loss_fn):
    S = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
    y = np.array([2, 1])
    by_label = loss_fn(S, y)
    by_one_hot = loss_fn(S, one_hot(y, 3, dtype=np.float64))
    assert by_label[0] == pytest.approx(by_one_hot[0])
    np.testing.assert_allclose(by_label[1], by_one_hot[1])


def test_l2_penalty_worked_example():
    # lam = 0.5, W1 = [[1, 2]], W2 = [[3], [-1]]: 0.5 * ((1 + 4) + (9 + 1)) = 7.5; grad 2 * 0.5 * W = W.
    params = {"W1": np.array([[1.0, 2.0]]), "b1": np.array([5.0, 5.0]),
              "W2": np.array([[3.0], [-1.0]]), "b2": np.array([7.0])}
    penalty, grads = l2_penalty(params, 0.5)
    assert penalty == pytest.approx(7.5)
    np.testing.assert_array_equal(grads["W1"], params["W1"])
    np.testing.assert_array_equal(grads["W2"], params["W2"])
    assert set(grads) == {"W1", "W2"}  # biases are not penalized


# ---------------------------------------------------------------- gradients

COMBINATIONS = list(itertools.product(["mse", "svm", "cce"], ["sigmoid", "relu"], ["linear", "sigmoid"]))


def _away_from_kinks(params, X, y, hidden_activation, output_activation):
    """True when no ReLU input and no SVM margin is within 1e-3 of its kink."""
    scores, cache = forward(params, X, hidden_activation, output_activation)
    margins = scores - scores[np.arange(len(y)), y][:, None] + 1.0
    margins[np.arange(len(y)), y] = 1.0
    return np.abs(cache["Z1"]).min() > 1e-3 and np.abs(margins).min() > 1e-3


@pytest.mark.parametrize("loss,hidden_activation,output_activation", COMBINATIONS)
def test_gradients_match_finite_differences(loss, hidden_activation, output_activation):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 4))
    y = np.array([0, 1, 2, 1, 0])
    params = init_params(4, 6, 3, factor=0.7, seed=2, dtype=np.float64)
    params["b1"] += 0.1 * rng.standard_normal(6)
    params["b2"] += 0.1 * rng.standard_normal(3)
    assert _away_from_kinks(params, X, y, hidden_activation, output_activation)
    args = dict(loss=loss, lam=0.05, hidden_activation=hidden_activation, output_activation=output_activation)
    _, grads = loss_and_grads(params, X, y, **args)
    for key in ("W1", "b1", "W2", "b2"):
        numeric = numerical_gradient(lambda: loss_and_grads(params, X, y, **args)[0], params[key])
        assert_gradients_close(grads[key], numeric)


def test_init_params_shapes_dtype_and_seed():
    p = init_params(7, 5, 3, factor=1e-2, seed=0)
    assert {k: v.shape for k, v in p.items()} == {"W1": (7, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}
    assert all(v.dtype == np.float32 for v in p.values())
    assert not p["b1"].any() and not p["b2"].any()
    np.testing.assert_array_equal(p["W1"], init_params(7, 5, 3, factor=1e-2, seed=0)["W1"])
    expected = (np.random.default_rng(0).standard_normal((7, 5)) * 1e-2).astype(np.float32)
    np.testing.assert_array_equal(p["W1"], expected)


def test_accuracy_is_a_fraction():
    # argmax rows: 1, 0, 2, 0 against labels 1, 0, 1, 1 -> 2 of 4 right.
    scores = np.array([[0, 1, 0], [5, 1, 0], [0, 0, 1], [2, 1, 0]])
    assert accuracy(scores, np.array([1, 0, 1, 1])) == 0.5


# ----------------------------------------------------------------- training


@pytest.mark.parametrize("loss", ["mse", "svm", "cce"])
def test_training_separates_blobs(loss):
    x, y = blobs(seed=0)
    x_val, y_val = blobs(n_per_class=50, seed=0)  # same centers (same seed), fresh noise below
    x_val = x_val + np.random.default_rng(9).standard_normal(x_val.shape)
    history = train(x, y, x_val, y_val, hidden=16, loss=loss, lr=3e-3, batch_size=32, epochs=5,
                    lam=1e-4, seed=0)
    assert len(history["loss"]) == 5
    assert history["accuracy"][-1] > 0.9
    assert history["val_accuracy"][-1] > 0.9
    assert history["loss"][-1] < history["loss"][0]


def test_same_seed_same_history_different_seed_differs():
    x, y = blobs(n_per_class=30, seed=3)
    kwargs = dict(hidden=8, loss="cce", lr=1e-3, batch_size=16, epochs=3, lam=1e-3)
    first = train(x, y, x, y, seed=5, **kwargs)
    second = train(x, y, x, y, seed=5, **kwargs)
    other = train(x, y, x, y, seed=6, **kwargs)
    assert first == second
    assert first["loss"] != other["loss"]


def test_sum_gradients_is_lr_times_batch_size():
    # 300 examples, batch 30: every batch is full, so (lr, summed) == (lr * 30, mean), penalty included.
    x, y = blobs(seed=4)
    kwargs = dict(hidden=8, loss="cce", batch_size=30, epochs=3, lam=1e-2, seed=1, dtype=np.float64)
    summed = train(x, y, x, y, lr=1e-3, sum_gradients=True, **kwargs)
    mean = train(x, y, x, y, lr=3e-2, sum_gradients=False, **kwargs)
    for key in summed:
        np.testing.assert_allclose(summed[key], mean[key], rtol=1e-10)


def test_last_partial_batch_is_used():
    # 10 examples, batch 4 -> batches of 4, 4, 2; replay the epoch by hand with the same Generator.
    x, y = blobs(n_per_class=4, dim=5, seed=2)
    x, y = x[:10], y[:10]
    seen = []
    train(x, y, x, y, hidden=6, loss="svm", lr=1e-2, batch_size=4, epochs=1, lam=1e-2, seed=7,
          dtype=np.float64, callback=lambda epoch, logs, params: seen.append({k: v.copy() for k, v in params.items()}))
    rng = np.random.default_rng(7)
    params = init_params(5, 6, 3, seed=rng, dtype=np.float64)
    order = rng.permutation(10)
    for idx in (order[0:4], order[4:8], order[8:10]):
        _, grads = loss_and_grads(params, x[idx], y[idx], loss="svm", lam=1e-2)
        for key in params:
            params[key] = params[key] - 1e-2 * len(idx) * grads[key]
    for key in params:
        np.testing.assert_allclose(seen[0][key], params[key], rtol=1e-12)


# ------------------------------------------------------------------- errors


def test_errors_name_the_argument():
    x, y = blobs(n_per_class=5, dim=4, seed=0)
    with pytest.raises(ValueError, match=r"Unknown activation 'tanh'.*'relu'"):
        train(x, y, x, y, hidden_activation="tanh", epochs=1)
    with pytest.raises(ValueError, match=r"Unknown loss 'hinge'.*'svm'"):
        train(x, y, x, y, loss="hinge", epochs=1)
    with pytest.raises(ValueError, match=r"lr must be > 0. Received: lr=0"):
        train(x, y, x, y, lr=0)
    with pytest.raises(ValueError, match=r"batch_size must be a positive int. Received: batch_size=0"):
        train(x, y, x, y, batch_size=0)
    with pytest.raises(ValueError, match=r"lam must be >= 0. Received: lam=-1"):
        train(x, y, x, y, lam=-1)
    with pytest.raises(ValueError, match=r"y_train must be integer labels of shape \(15,\)"):
        train(x, y[:3], x, y)
    with pytest.raises(ValueError, match=r"hidden must be a positive int. Received: hidden=-3"):
        init_params(4, -3, 2)
    with pytest.raises(ValueError, match=r"4 features.*Received: shape=\(15, 3\)"):
        forward(init_params(4, 3, 3, seed=0), x[:, :3])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        mse_loss(np.zeros((2, 3)), np.array([0, 3]))
