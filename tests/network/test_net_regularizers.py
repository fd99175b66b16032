"""Regularizers: lam·ΣW² on kernels only (never biases), part of the reported loss, gradients through a network."""

import numpy as np
import pytest

from neurona import Tensor, losses, optimizers, regularizers

from network_helpers import analytic_grads, assert_grads_match, forward, mlp

X = np.random.default_rng(21).normal(size=(6, 3))
Y = np.random.default_rng(22).normal(size=(6, 2))


def _model_with_nonzero_biases():
    model = mlp((3, 4, 2), hidden="tanh", seed=1)
    for layer in model.layers:
        layer.bias.data[...] = np.linspace(-1, 1, layer.units)  # biases that would change any penalty on them
    return model


def _kernels(model):
    return [layer.kernel.data for layer in model.layers]


def test_l2_worked_example():
    # W = [[1, −2], [3, 0]]: ΣW² = 1 + 4 + 9 + 0 = 14; lam = 0.5 → 7
    w = Tensor(np.array([[1.0, -2.0], [3.0, 0.0]]))
    assert regularizers.L2(lam=0.5)([w]).item() == 7.0
    # L1: Σ|W| = 6 → 3; L1L2(l1=0.5, l2=0.25): 0.5·6 + 0.25·14 = 6.5
    assert regularizers.L1(lam=0.5)([w]).item() == 3.0
    assert regularizers.L1L2(l1=0.5, l2=0.25)([w]).item() == 6.5


def test_penalty_covers_every_kernel_and_no_bias():
    model = _model_with_nonzero_biases()
    assert [p.name for p in model.regularized_weights] == ["dense_0/kernel", "dense_1/kernel"]
    expected = 1e-2 * sum(float((w ** 2).sum()) for w in _kernels(model))  # lam·ΣW² over both kernels
    assert regularizers.L2(lam=1e-2)(model.regularized_weights).item() == pytest.approx(expected, rel=1e-12)


def test_l2_gradient_is_two_lam_w_on_kernels_and_zero_on_biases():
    model, lam = _model_with_nonzero_biases(), 0.3
    plain = analytic_grads(model, lambda: losses.MSE()(forward(model, X), Y))
    with_l2 = analytic_grads(model, lambda: losses.MSE()(forward(model, X), Y)
                             + regularizers.L2(lam)(model.regularized_weights))
    for p, g0, g1 in zip(model.parameters, plain, with_l2):
        extra = 2 * lam * p.data if p.name.endswith("kernel") else np.zeros_like(p.data)
        np.testing.assert_allclose(g1 - g0, extra, rtol=1e-10, atol=1e-14, err_msg=p.name)


def test_evaluate_reports_data_loss_plus_penalty():
    model, lam = _model_with_nonzero_biases(), 1e-2
    out = np.tanh(X @ model.layers[0].kernel.data + model.layers[0].bias.data)
    out = out @ model.layers[1].kernel.data + model.layers[1].bias.data
    data_loss = ((out - Y) ** 2).sum(axis=1).mean()
    penalty = lam * sum(float((w ** 2).sum()) for w in _kernels(model))
    result = model.evaluate(X, Y, loss="mse", reg=regularizers.L2(lam=lam))
    assert result["loss"] == pytest.approx(data_loss + penalty, rel=1e-12)
    assert model.evaluate(X, Y, loss="mse")["loss"] == pytest.approx(data_loss, rel=1e-12)


def test_fit_reports_the_penalty_in_its_loss_and_val_loss():
    model, lam = _model_with_nonzero_biases(), 1e-2
    # with full-batch BGD, epoch 1's loss is measured at the initial weights
    h = np.tanh(X @ model.layers[0].kernel.data + model.layers[0].bias.data)
    data_loss = (((h @ model.layers[1].kernel.data + model.layers[1].bias.data) - Y) ** 2).sum(axis=1).mean()
    penalty = lam * sum(float((w ** 2).sum()) for w in _kernels(model))
    history = model.fit(X, Y, test_data=(X, Y), epochs=1, loss="mse", opt=optimizers.BGD(lr=1e-3),
                        reg=regularizers.L2(lam=lam), verbose=0, seed=0)
    assert history["loss"][0] == pytest.approx(data_loss + penalty, rel=1e-12)
    # val_loss is measured after the step, on the new weights, and includes the new penalty
    after = model.evaluate(X, Y, loss="mse", reg=regularizers.L2(lam=lam))["loss"]
    assert history["val_loss"][0] == pytest.approx(after, rel=1e-12)


@pytest.mark.parametrize("reg", [regularizers.L2(lam=0.1), regularizers.L1(lam=0.1),
                                 regularizers.L1L2(l1=0.05, l2=0.2)], ids=repr)
def test_regularizer_gradients_through_a_network(reg):
    model = _model_with_nonzero_biases()
    assert_grads_match(model, lambda: losses.MSE()(forward(model, X), Y) + reg(model.regularized_weights))


def test_a_layer_without_bias_has_only_its_kernel_regularized():
    model = mlp((3, 2), seed=0, use_bias=False)
    assert model.parameters == model.regularized_weights == [model.layers[0].kernel]
    history = model.fit(X, Y, epochs=1, loss="mse", reg="l2", opt=optimizers.SGD(lr=0.01), verbose=0, seed=0)
    assert len(history) == 1


@pytest.mark.parametrize("name, cls", [("l2", regularizers.L2), ("L2", regularizers.L2), ("l1", regularizers.L1),
                                       ("l1l2", regularizers.L1L2), ("l1_l2", regularizers.L1L2)])
def test_get_by_name(name, cls):
    assert type(regularizers.get(name)) is cls
    assert regularizers.get(None) is None


@pytest.mark.parametrize("make, match", [
    (lambda: regularizers.L2(lam=-1e-3), r"L2: lam must be >= 0.0. Received: lam=-0.001"),
    (lambda: regularizers.L1(lam="big"), r"L1: lam must be a finite real number. Received: lam='big'"),
    (lambda: regularizers.L1L2(l1=0.1, l2=float("inf")), r"L1L2: l2 must be a finite real number. Received: l2=inf"),
    (lambda: regularizers.get("l3"), r"Unknown regularizer: 'l3'. Valid regularizer names: l1, l1l2, l2"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
