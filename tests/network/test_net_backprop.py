"""A three-layer Network's gradients against backpropagation written out in plain NumPy (float64, to 1e-6).

The NumPy side shares nothing with the library: its forward pass, loss and every
derivative are written here, layer by layer, the way the practical derived them.
"""

import numpy as np
import pytest

from neurona import layers, losses, models, optimizers, regularizers

from network_helpers import analytic_grads, forward

N, D, H1, H2, C = 7, 5, 6, 4, 3
RNG = np.random.default_rng(41)
X = RNG.normal(size=(N, D))
LABELS = np.array([0, 2, 1, 1, 0, 2, 2])
ONE_HOT = np.eye(C)[LABELS]

ACTIVATIONS = {  # name: (f, f')
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
}


def _mse(scores, labels):
    """L = (1/N) Σ_i Σ_j (s_ij − y_ij)²; dL/ds = 2(s − y)/N."""
    y = np.eye(C)[labels]
    return ((scores - y) ** 2).sum() / N, 2 * (scores - y) / N


def _cce(scores, labels):
    """L = −(1/N) Σ_i log p_i,y_i with p = softmax(s); dL/ds = (p − onehot)/N."""
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(N), labels]).sum() / N
    d = p.copy()
    d[np.arange(N), labels] -= 1
    return loss, d / N


def _svm(scores, labels):
    """L = (1/N) Σ_i Σ_{j≠y_i} max(0, s_ij − s_iy_i + 1); each active margin adds +1 to s_ij and −1 to s_iy_i."""
    correct = scores[np.arange(N), labels][:, None]
    margins = scores - correct + 1
    margins[np.arange(N), labels] = 0
    active = (margins > 0).astype(float)
    loss = np.maximum(margins, 0).sum() / N
    d = active.copy()
    d[np.arange(N), labels] -= active.sum(axis=1)
    return loss, d / N


def numpy_backprop(weights, act1, act2, data_loss, lam):
    """Loss and gradients [dW1, db1, dW2, db2, dW3, db3] of the three-layer network, by hand."""
    (w1, b1, w2, b2, w3, b3), (f1, df1), (f2, df2) = weights, ACTIVATIONS[act1], ACTIVATIONS[act2]
    z1 = X @ w1 + b1
    a1 = f1(z1)
    z2 = a1 @ w2 + b2
    a2 = f2(z2)
    scores = a2 @ w3 + b3
    loss, d_scores = data_loss(scores, LABELS)
    loss += lam * ((w1 ** 2).sum() + (w2 ** 2).sum() + (w3 ** 2).sum())  # L2 on kernels only
    d_w3, d_b3 = a2.T @ d_scores + 2 * lam * w3, d_scores.sum(axis=0)
    d_z2 = (d_scores @ w3.T) * df2(z2)
    d_w2, d_b2 = a1.T @ d_z2 + 2 * lam * w2, d_z2.sum(axis=0)
    d_z1 = (d_z2 @ w2.T) * df1(z1)
    d_w1, d_b1 = X.T @ d_z1 + 2 * lam * w1, d_z1.sum(axis=0)
    return loss, [d_w1, d_b1, d_w2, d_b2, d_w3, d_b3]


@pytest.mark.parametrize("loss, numpy_loss, lam, targets, act1, act2", [
    (losses.MSE(), _mse, 1e-2, ONE_HOT, "sigmoid", "sigmoid"),   # the practical's exercise 8 with L2
    (losses.MSE(), _mse, 0.5, LABELS, "tanh", "relu"),
    (losses.CCE(), _cce, 0.0, LABELS, "sigmoid", "sigmoid"),
    (losses.CCE(), _cce, 0.0, ONE_HOT, "relu", "tanh"),
    (losses.CCE(), _cce, 1e-3, LABELS, "tanh", "tanh"),
    (losses.SVM(), _svm, 0.0, LABELS, "sigmoid", "sigmoid"),
    (losses.SVM(), _svm, 0.0, ONE_HOT, "tanh", "relu"),
    (losses.SVM(), _svm, 1e-2, LABELS, "relu", "sigmoid"),
], ids=["mse+l2-sigmoid", "mse+l2-labels-tanh-relu", "cce-sigmoid", "cce-onehot-relu-tanh", "cce+l2-tanh",
        "svm-sigmoid", "svm-onehot-tanh-relu", "svm+l2-relu-sigmoid"])
def test_three_layer_gradients_equal_hand_written_numpy_backprop(loss, numpy_loss, lam, targets, act1, act2):
    model = _three_layers(act1, act2)
    reg = regularizers.L2(lam=lam)

    def objective():
        value = loss(forward(model, X), targets)
        return value + reg(model.regularized_weights) if lam else value

    grads = analytic_grads(model, objective)
    expected_loss, expected = numpy_backprop([p.data for p in model.parameters], act1, act2, numpy_loss, lam)
    assert objective().item() == pytest.approx(expected_loss, abs=1e-12)
    assert [p.name for p in model.parameters] == ["dense_0/kernel", "dense_0/bias", "dense_1/kernel",
                                                  "dense_1/bias", "dense_2/kernel", "dense_2/bias"]
    for p, got, want in zip(model.parameters, grads, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=p.name)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=p.name)  # in fact far closer


def _three_layers(act1, act2):
    model = models.Network(seed=5, dtype="float64")
    model.add(layers.Dense(H1, activation=act1, input_dim=D, factor=0.8))
    model.add(layers.Dense(H2, activation=act2, factor=0.8))
    model.add(layers.Dense(C, activation="linear", factor=0.8))
    model.build()
    for i, layer in enumerate(model.layers):  # non-zero biases, so their gradients are tested in general position
        layer.bias.data[...] = np.random.default_rng(i).normal(scale=0.3, size=layer.units)
    return model


def test_one_training_step_moves_the_weights_by_the_numpy_gradient():
    model = _three_layers("sigmoid", "sigmoid")
    before = [p.data.copy() for p in model.parameters]
    _, grads = numpy_backprop(before, "sigmoid", "sigmoid", _mse, 1e-3)
    # full-batch BGD: one step per epoch, w ← w − lr·N·∇(mean loss)
    model.fit(X, ONE_HOT, epochs=1, loss=losses.MSE(), opt=optimizers.BGD(lr=0.05), reg=regularizers.L2(lam=1e-3),
              verbose=0, seed=0)
    for p, w0, g in zip(model.parameters, before, grads):
        np.testing.assert_allclose(p.data, w0 - 0.05 * N * g, rtol=1e-10, atol=1e-12, err_msg=p.name)
