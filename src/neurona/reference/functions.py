"""Activations, losses and the L2 penalty as plain NumPy functions, each forward beside its hand-derived backward."""

import numpy as np

# ---------------------------------------------------------------- activations
# Every backward takes (dout, x): the upstream gradient dL/d(out) and the
# forward's *input* x, and returns dL/dx. Keeping the signature uniform lets the
# network call any activation through the same two names.


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)), stable for any |x| (no overflow).

    Uses exp(-|x|), which never exceeds 1: for x >= 0 the usual form, for x < 0
    the equivalent exp(x) / (1 + exp(x)).

    Args:
        x: array of any shape.
    Returns:
        Array of the same shape and dtype, values in [0, 1].
    """
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(dout, x):
    """Backward of sigmoid: dout * s * (1 - s) with s = sigmoid(x).

    Args:
        dout: upstream gradient, same shape as x.
        x: the forward input.
    Returns:
        dL/dx, same shape as x.
    """
    s = sigmoid(x)
    return dout * s * (1 - s)


def relu(x):
    """Rectified linear unit max(0, x).

    Args:
        x: array of any shape.
    Returns:
        Array of the same shape and dtype.
    """
    return np.maximum(x, 0)


def relu_grad(dout, x):
    """Backward of relu: dout where x > 0, else 0 (subgradient 0 at x == 0).

    Args:
        dout: upstream gradient, same shape as x.
        x: the forward input.
    Returns:
        dL/dx, same shape as x.
    """
    return dout * (x > 0)


def linear(x):
    """Identity activation (the practical's "lineal").

    Args:
        x: array of any shape.
    Returns:
        x itself.
    """
    return x


def linear_grad(dout, x):
    """Backward of the identity: the upstream gradient passes unchanged.

    Args:
        dout: upstream gradient, same shape as x.
        x: the forward input (unused, kept for the uniform signature).
    Returns:
        dout.
    """
    return dout


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "relu": (relu, relu_grad),
    "linear": (linear, linear_grad),
}


def get_activation(name):
    """Look up an activation by name.

    Args:
        name: one of "sigmoid", "relu", "linear".
    Returns:
        (forward, backward) pair of functions.
    """
    if name not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}. Valid names: {sorted(ACTIVATIONS)}. Received: {name!r}"
        )
    return ACTIVATIONS[name]


# --------------------------------------------------------------------- losses
# Each loss takes scores S (N, C) and targets y, and returns (loss, dS) where
# loss is the mean over the N samples and dS = dloss/dS has S's shape.


def one_hot(y, classes, dtype=np.float32):
    """Integer labels (N,) to a one-hot matrix (N, classes).

    Args:
        y: integer labels in [0, classes).
        classes: number of columns.
        dtype: dtype of the result.
    Returns:
        Array (N, classes) with a single 1 per row.
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 1-D array of integer labels. Received: shape={y.shape}, dtype={y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes}). Received: min={y.min()}, max={y.max()}")
    out = np.zeros((y.shape[0], classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def _targets(S, y):
    """Return (labels, one-hot) for y given as labels (N,) or one-hot (N, C)."""
    S = np.asarray(S)
    if S.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, C). Received: shape={S.shape}")
    y = np.asarray(y)
    if y.ndim == 2:
        if y.shape != S.shape:
            raise ValueError(f"one-hot y must match scores {S.shape}. Received: y.shape={y.shape}")
        return y.argmax(axis=1), y.astype(S.dtype, copy=False)
    if y.shape != (S.shape[0],):
        raise ValueError(f"y must have shape ({S.shape[0]},) to match scores {S.shape}. Received: y.shape={y.shape}")
    return y, one_hot(y, S.shape[1], dtype=S.dtype)


def mse_loss(S, y):
    """Mean squared error against one-hot targets: (1/N) sum_i sum_j (S_ij - Y_ij)^2.

    Args:
        S: scores (N, C).
        y: integer labels (N,) or one-hot / real targets (N, C).
    Returns:
        (loss, dS) with dS = 2 (S - Y) / N.
    Shape:
        S (N, C), y (N,) or (N, C) -> float, (N, C).
    """
    _, Y = _targets(S, y)
    n = S.shape[0]
    diff = S - Y
    return np.sum(diff**2) / n, 2 * diff / n


def svm_loss(S, y, delta=1.0):
    """Multiclass hinge loss: (1/N) sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + delta).

    Args:
        S: scores (N, C).
        y: integer labels (N,) or one-hot (N, C).
        delta: the margin.
    Returns:
        (loss, dS): dS_ij = [margin_ij > 0] / N for j != y_i, and
        dS_iy_i = -(number of positive margins in row i) / N.
    Shape:
        S (N, C), y (N,) or (N, C) -> float, (N, C).
    """
    labels, _ = _targets(S, y)
    n = S.shape[0]
    rows = np.arange(n)
    margins = S - S[rows, labels][:, None] + delta
    margins[rows, labels] = 0  # the true class is not summed
    active = (margins > 0).astype(S.dtype)
    active[rows, labels] = -active.sum(axis=1)
    return np.sum(np.maximum(margins, 0)) / n, active / n


def softmax(S):
    """Row-wise softmax, shifted by the row max so exp never overflows.

    Args:
        S: scores (N, C).
    Returns:
        Probabilities (N, C), rows summing to 1.
    """
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cce_loss(S, y):
    """Softmax cross-entropy on raw scores: -(1/N) sum_i log softmax(S)_{i, y_i}.

    Fused softmax + log for stability: log softmax = (S - max) - log sum exp(S - max).

    Args:
        S: raw scores (N, C).
        y: integer labels (N,) or one-hot (N, C).
    Returns:
        (loss, dS) with dS = (softmax(S) - Y) / N.
    Shape:
        S (N, C), y (N,) or (N, C) -> float, (N, C).
    """
    labels, Y = _targets(S, y)
    n = S.shape[0]
    shifted = S - S.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(n), labels]) / n
    return loss, (np.exp(log_probs) - Y) / n


LOSSES = {"mse": mse_loss, "svm": svm_loss, "cce": cce_loss}


def get_loss(name):
    """Look up a loss by name.

    Args:
        name: one of "mse", "svm", "cce".
    Returns:
        The loss function (S, y) -> (loss, dS).
    """
    if name not in LOSSES:
        raise ValueError(f"Unknown loss {name!r}. Valid names: {sorted(LOSSES)}. Received: {name!r}")
    return LOSSES[name]


# ------------------------------------------------------------ regularization


def l2_penalty(params, lam):
    """L2 penalty on the weights only: lam * (sum W1^2 + sum W2^2); biases are not penalized.

    Note the convention: no factor 1/2, so the gradient is 2 * lam * W.

    Args:
        params: dict with "W1" and "W2" (other entries are ignored).
        lam: regularization strength, >= 0.
    Returns:
        (penalty, grads) where grads has "W1", "W2" -> 2 * lam * W.
    """
    penalty = lam * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    return penalty, {"W1": 2 * lam * params["W1"], "W2": 2 * lam * params["W2"]}
