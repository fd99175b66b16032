"""The two-layer network as functions: init_params, forward, backward (hand-derived chain rule), loss_and_grads."""

import numpy as np

from neurona.reference.functions import get_activation, get_loss, l2_penalty


def init_params(input_dim, hidden, classes, *, factor=1e-2, seed=None, dtype=np.float32):
    """Random weights N(0, 1) * factor and zero biases, kernels stored (in, out).

    Args:
        input_dim: number of input features (3072 for CIFAR-10).
        hidden: units in the hidden layer.
        classes: units in the output layer.
        factor: scale of the normal weights.
        seed: int, None or a numpy Generator (used as is).
        dtype: float dtype of every array.
    Returns:
        dict with W1 (input_dim, hidden), b1 (hidden,), W2 (hidden, classes), b2 (classes,).
    Example:
        >>> p = init_params(3072, 100, 10, seed=0)
        >>> p["W1"].shape, p["b2"].shape
        ((3072, 100), (10,))
    """
    for name, value in (("input_dim", input_dim), ("hidden", hidden), ("classes", classes)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"init_params: {name} must be a positive int. Received: {name}={value!r}")
    rng = np.random.default_rng(seed)
    return {
        "W1": (rng.standard_normal((input_dim, hidden)) * factor).astype(dtype),
        "b1": np.zeros(hidden, dtype=dtype),
        "W2": (rng.standard_normal((hidden, classes)) * factor).astype(dtype),
        "b2": np.zeros(classes, dtype=dtype),
    }


def forward(params, X, hidden_activation="sigmoid", output_activation="linear"):
    """Forward pass X -> X@W1 + b1 -> act -> @W2 + b2 -> out_act (figure 6 of the practical).

    Args:
        params: dict from init_params.
        X: inputs (N, input_dim); cast to W1's dtype.
        hidden_activation: "sigmoid" | "relu" | "linear".
        output_activation: "linear" | "sigmoid" | "relu".
    Returns:
        (scores, cache): scores (N, classes) after the output activation, and the
        intermediates backward needs (X, Z1, H, Z2 and the activation names).
    Shape:
        X (N, D) -> scores (N, C).
    """
    act1, _ = get_activation(hidden_activation)
    act2, _ = get_activation(output_activation)
    X = np.asarray(X, dtype=params["W1"].dtype)
    if X.ndim != 2 or X.shape[1] != params["W1"].shape[0]:
        raise ValueError(
            f"X must be 2-D with {params['W1'].shape[0]} features, as the network expects. Received: shape={X.shape}"
        )
    Z1 = X @ params["W1"] + params["b1"]
    H = act1(Z1)
    Z2 = H @ params["W2"] + params["b2"]
    scores = act2(Z2)
    cache = {"X": X, "Z1": Z1, "H": H, "Z2": Z2,
             "hidden_activation": hidden_activation, "output_activation": output_activation}
    return scores, cache


def backward(params, cache, dS, lam=0.0):
    """Backward pass through the graph of forward, plus the L2 gradient 2*lam*W.

    Walks the graph right to left: out_act -> +b2 -> @W2 -> act -> +b1 -> @W1.

    Args:
        params: the dict used by forward.
        cache: the cache returned by forward.
        dS: gradient of the data loss w.r.t. the scores (N, classes).
        lam: L2 strength (weights only).
    Returns:
        grads dict with the keys and shapes of params.
    """
    _, act1_grad = get_activation(cache["hidden_activation"])
    _, act2_grad = get_activation(cache["output_activation"])
    dZ2 = act2_grad(dS, cache["Z2"])
    dW2 = cache["H"].T @ dZ2
    db2 = dZ2.sum(axis=0)
    dH = dZ2 @ params["W2"].T
    dZ1 = act1_grad(dH, cache["Z1"])
    dW1 = cache["X"].T @ dZ1
    db1 = dZ1.sum(axis=0)
    _, reg_grads = l2_penalty(params, lam)
    return {"W1": dW1 + reg_grads["W1"], "b1": db1, "W2": dW2 + reg_grads["W2"], "b2": db2}


def loss_and_grads(params, X, y, loss="mse", lam=0.0, hidden_activation="sigmoid", output_activation="linear"):
    """Objective mean_data_loss + lam * (sum W1^2 + sum W2^2) and its gradient.

    This is the function to compare against other gradient engines: pass
    float64 params (init_params(..., dtype=np.float64)) for tight checks.

    Args:
        params: dict from init_params.
        X: inputs (N, input_dim).
        y: integer labels (N,) or one-hot (N, classes).
        loss: "mse" | "svm" | "cce", applied to the output activation's result.
        lam: L2 strength.
        hidden_activation, output_activation: as in forward.
    Returns:
        (loss_value, grads): a float and a dict shaped like params.
    """
    scores, cache = forward(params, X, hidden_activation, output_activation)
    data_loss, dS = get_loss(loss)(scores, y)
    penalty, _ = l2_penalty(params, lam)
    return float(data_loss + penalty), backward(params, cache, dS, lam)


def accuracy(scores, y):
    """Fraction of rows whose argmax score equals the label.

    Args:
        scores: (N, C).
        y: integer labels (N,).
    Returns:
        float in [0, 1].
    """
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))
