"""Mini-batch gradient descent for the functional two-layer network, with the practical's lr convention.

How lr meets the gradient (the one place is ``_step_size``):

The objective is L = mean_data_loss + lam * (sum W1^2 + sum W2^2). Since
L = (1/n) sum_i (loss_i + penalty), the gradient of the per-example objective
summed over a batch of n examples is n * grad(L). So

    sum_gradients=True  (default, the practical's meaning):  W -= lr * n * grad(L)
    sum_gradients=False (textbook mean gradient):           W -= lr * grad(L)

where n is the size of *this* batch (the last, partial batch takes a smaller
step). The penalty's gradient is scaled together with the data gradient, so
sum_gradients only rescales the learning rate, and the effective
regularization strength is lam whatever the batch size. A run with
(lr, True) equals a run with (lr * batch_size, False) when every batch is
full. (Had the penalty gradient been added once per step, unscaled, the
effective strength would be lam / n; at the practical's lam = 1e-3 both are
small.)
"""

import numpy as np

from neurona.reference.functions import get_loss, l2_penalty
from neurona.reference.network import accuracy, backward, forward, init_params


def _step_size(lr, n, sum_gradients):
    """The single place that fixes how lr scales grad(mean loss + penalty): see the module docstring."""
    return lr * n if sum_gradients else lr


def _check_data(name, x, y, dtype):
    """Return (x, y) as (N, D) dtype and (N,) int arrays, or raise naming the argument."""
    x = np.asarray(x, dtype=dtype)
    y = np.asarray(y)
    if x.ndim != 2:
        raise ValueError(f"train: x_{name} must be 2-D (N, features). Received: shape={x.shape}")
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"train: y_{name} must be integer labels of shape ({x.shape[0]},). Received: shape={y.shape}, dtype={y.dtype}"
        )
    return x, y


def _check_hyperparameters(lr, batch_size, epochs, lam):
    """Raise on a bad hyperparameter, echoing it."""
    if not lr > 0:
        raise ValueError(f"train: lr must be > 0. Received: lr={lr!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"train: batch_size must be a positive int. Received: batch_size={batch_size!r}")
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"train: epochs must be a non-negative int. Received: epochs={epochs!r}")
    if not lam >= 0:
        raise ValueError(f"train: lam must be >= 0. Received: lam={lam!r}")


def _evaluate(params, x, y, loss, lam, activations):
    """(loss incl. penalty, accuracy) of params on a whole set."""
    scores, _ = forward(params, x, *activations)
    data_loss, _ = get_loss(loss)(scores, y)
    return float(data_loss + l2_penalty(params, lam)[0]), accuracy(scores, y)


def _run_epoch(params, x, y, rng, step):
    """One shuffled pass of updates; returns sample-weighted mean (loss, accuracy) over its batches.

    ``step`` holds loss, lam, batch_size, lr, sum_gradients and the activations.
    """
    order = rng.permutation(x.shape[0])
    total_loss = total_correct = 0.0
    for start in range(0, x.shape[0], step["batch_size"]):
        idx = order[start:start + step["batch_size"]]
        n = idx.shape[0]
        scores, cache = forward(params, x[idx], *step["activations"])
        data_loss, dS = get_loss(step["loss"])(scores, y[idx])
        grads = backward(params, cache, dS, step["lam"])
        total_loss += n * float(data_loss + l2_penalty(params, step["lam"])[0])
        total_correct += n * accuracy(scores, y[idx])
        scale = _step_size(step["lr"], n, step["sum_gradients"])
        for key in params:
            params[key] -= scale * grads[key]
    return total_loss / x.shape[0], total_correct / x.shape[0]


def train(x_train, y_train, x_test, y_test, *, hidden=100, loss="mse", hidden_activation="sigmoid",
          output_activation="linear", lr=1e-3, batch_size=128, epochs=50, lam=1e-3, seed=0,
          sum_gradients=True, callback=None, factor=1e-2, classes=None, dtype=np.float32):
    """Train the two-layer network by mini-batch gradient descent.

    Each epoch reshuffles the training set with a Generator seeded by ``seed``
    (the same Generator first draws the initial weights); the last partial
    batch is used. "loss"/"accuracy" are averaged over the epoch's batches
    (weighted by batch size, computed before each update, penalty included);
    "val_loss"/"val_accuracy" are computed on the whole test set after the epoch.

    Args:
        x_train, x_test: inputs (N, D), already flattened and standardized.
        y_train, y_test: integer labels (N,).
        hidden: hidden units.
        loss: "mse" | "svm" | "cce".
        hidden_activation, output_activation: "sigmoid" | "relu" | "linear".
        lr: learning rate; see sum_gradients.
        batch_size: examples per update.
        epochs: passes over the training set.
        lam: L2 strength on W1 and W2.
        seed: int or Generator for init and shuffling.
        sum_gradients: True steps by lr * n * grad(mean loss + penalty) (the
            practical's summed gradient), False by lr * grad; see the module docstring.
        callback: optional f(epoch, logs, params) called after each epoch.
        factor: scale of the initial weights.
        classes: output units; default max label + 1.
        dtype: float dtype for data and parameters (float64 for checks).
    Returns:
        history dict of per-epoch lists "loss", "accuracy", "val_loss", "val_accuracy".
    Example:
        >>> history = train(x, y, x_val, y_val, loss="cce", lr=1e-3, batch_size=128, epochs=5)
        >>> history["val_accuracy"][-1]
    """
    x_train, y_train = _check_data("train", x_train, y_train, dtype)
    x_test, y_test = _check_data("test", x_test, y_test, dtype)
    _check_hyperparameters(lr, batch_size, epochs, lam)
    if classes is None:
        classes = int(max(y_train.max(), y_test.max())) + 1
    rng = np.random.default_rng(seed)
    params = init_params(x_train.shape[1], hidden, classes, factor=factor, seed=rng, dtype=dtype)
    step = {"loss": loss, "lam": lam, "batch_size": batch_size, "lr": lr, "sum_gradients": sum_gradients,
            "activations": (hidden_activation, output_activation)}
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for epoch in range(epochs):
        logs = dict(zip(("loss", "accuracy"), _run_epoch(params, x_train, y_train, rng, step)))
        logs.update(zip(("val_loss", "val_accuracy"),
                        _evaluate(params, x_test, y_test, loss, lam, step["activations"])))
        for key, value in logs.items():
            history[key].append(value)
        if callback is not None:
            callback(epoch, logs, params)
    return history
