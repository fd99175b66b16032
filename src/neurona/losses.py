"""Loss functions: each maps (predictions Tensor, targets array) to the mean loss over the samples."""

from __future__ import annotations

import numpy as np

from . import _checks
from .autodiff import Tensor, ops


def one_hot_like(y_true: np.ndarray, y_pred) -> np.ndarray:
    """Targets as rows shaped like ``y_pred`` (a Tensor or array): labels become one-hot, a vector a column."""
    if y_true.ndim == 1:
        if y_pred.shape[1] == 1:
            return y_true.reshape(-1, 1).astype(y_pred.dtype, copy=False)
        rows = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        rows[np.arange(len(y_true)), labels_of(y_true)] = 1
        return rows
    return y_true.astype(y_pred.dtype, copy=False)


def labels_of(y_true: np.ndarray) -> np.ndarray:
    """Integer labels from labels (integral floats such as 2.0 included) or one-hot rows."""
    return y_true.astype(np.intp, copy=False) if y_true.ndim == 1 else y_true.argmax(axis=1)


class Loss(_checks.Configurable):
    """Base class: ``loss(y_pred, y_true)`` returns a scalar Tensor, the mean over samples.

    ``y_true`` may be integer labels (N,) or rows shaped like ``y_pred`` (N, C), e.g. one-hot.
    """

    name = "loss"

    def __call__(self, y_pred: Tensor, y_true: np.ndarray) -> Tensor:
        """The mean loss, a scalar Tensor: ``y_pred`` (N, outputs), ``y_true`` labels (N,) or rows (N, outputs)."""
        y_pred, y_true = _check_call(type(self).__name__, y_pred, y_true)
        self.check_targets(y_true, y_pred.shape[1])
        with np.errstate(over="ignore"):  # a loss beyond the dtype's range is inf, which fit reports
            return self.call(y_pred, y_true)

    def call(self, y_pred: Tensor, y_true: np.ndarray) -> Tensor:
        """The math, on validated arguments (subclasses define it)."""
        raise NotImplementedError

    def check_targets(self, y_true: np.ndarray, n_outputs: int) -> None:
        """Raise a ValueError naming ``y`` when the targets cannot be used with ``n_outputs`` outputs."""
        if y_true.ndim == 1 and n_outputs > 1:
            _check_labels(y_true, n_outputs)
        elif y_true.ndim == 2 and y_true.shape[1] != n_outputs:
            raise ValueError(f"{type(self).__name__}: y has {y_true.shape[1]} columns, but the network has "
                             f"{n_outputs} outputs. Received: y.shape={y_true.shape}")
        elif y_true.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: y must be labels (N,) or rows (N, C). Received: y.shape={y_true.shape}")


def _check_call(where: str, y_pred, y_true) -> tuple:
    """y_pred as a 2-D Tensor with samples, y_true as a real array with as many samples."""
    try:
        y_pred = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: y_pred must be a Tensor or an array of real numbers. {exc}") from exc
    y_true = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if y_true.dtype.kind not in "biuf":
        raise TypeError(f"{where}: y_true must hold real numbers. Received dtype={y_true.dtype}")
    if y_pred.ndim != 2 or y_pred.shape[0] == 0 or y_pred.shape[1] == 0:
        raise ValueError(f"{where}: y_pred must be (samples, outputs) with at least one of each. "
                         f"Received shape {y_pred.shape}")
    if y_true.ndim == 0 or len(y_true) != len(y_pred):
        raise ValueError(f"{where}: y_true must have one entry per sample of y_pred ({len(y_pred)}). "
                         f"Received shape {y_true.shape}")
    return y_pred, y_true


def _check_labels(y_true: np.ndarray, n_classes: int) -> None:
    if y_true.dtype.kind not in "iu" and not np.array_equal(y_true, np.round(y_true)):
        raise ValueError(f"y: labels must be integers. Received dtype={y_true.dtype}, e.g. {y_true[:3]}")
    if y_true.size and (y_true.min() < 0 or y_true.max() >= n_classes):
        raise ValueError(f"y: labels must be in [0, {n_classes}) for a network with {n_classes} outputs. "
                         f"Received: min={y_true.min()}, max={y_true.max()}")


class MSE(Loss):
    """Mean over samples of the squared error summed over outputs (the practical's definition).

    L = (1/N) Σ_i Σ_j (ŷ_ij − y_ij)²
    """

    name = "mse"

    def call(self, y_pred, y_true):
        diff = y_pred - one_hot_like(y_true, y_pred)
        return (diff * diff).sum(axis=1).mean()


class CCE(Loss):
    """Categorical cross-entropy of softmax(scores): L = −(1/N) Σ_i log softmax(s_i)[y_i].

    Takes raw scores (use a linear output layer); softmax and log are fused, so it is stable.
    """

    name = "cce"

    def call(self, y_pred, y_true):
        target = labels_of(y_true) if y_true.ndim == 1 else y_true.astype(y_pred.dtype, copy=False)
        return ops.softmax_cross_entropy(y_pred, target).mean()

    def check_targets(self, y_true, n_outputs):
        if n_outputs < 2:
            raise ValueError(f"CCE: needs at least 2 outputs (one score per class). Received: {n_outputs} output")
        super().check_targets(y_true, n_outputs)


class SVM(Loss):
    """Multiclass hinge loss: L = (1/N) Σ_i Σ_{j≠y_i} max(0, s_ij − s_iy_i + delta).

    Args:
        delta: the margin the correct score must win by.
    """

    name = "svm"

    def __init__(self, delta: float = 1.0):
        self.delta = _checks.real("SVM", "delta", delta, low=0.0)

    def call(self, y_pred, y_true):
        mask = one_hot_like(labels_of(y_true), y_pred)
        correct = (y_pred * mask).sum(axis=1, keepdims=True)
        margins = (y_pred - correct + self.delta).relu() * (1 - mask)
        return margins.sum(axis=1).mean()

    def check_targets(self, y_true, n_outputs):
        if n_outputs < 2:
            raise ValueError(f"SVM: needs at least 2 outputs (one score per class). Received: {n_outputs} output")
        super().check_targets(y_true, n_outputs)

    def get_config(self): return {"delta": self.delta}


class BCE(Loss):
    """Binary cross-entropy, averaged over samples and outputs; targets in [0, 1].

    Args:
        from_logits: True when the network outputs raw scores (then σ is fused in,
            stably); False (default) when it outputs probabilities, clipped to [eps, 1 − eps].
        eps: the clipping margin for probabilities.
    """

    name = "bce"

    def __init__(self, from_logits: bool = False, eps: float = 1e-7):
        if not isinstance(from_logits, bool):
            raise ValueError(f"BCE: from_logits must be a bool. Received: from_logits={from_logits!r}")
        self.from_logits = from_logits
        self.eps = _checks.real("BCE", "eps", eps, low=0.0, low_open=True, high=0.5)

    def call(self, y_pred, y_true):
        y = one_hot_like(y_true, y_pred)
        if self.from_logits:  # max(z, 0) − z·y + log(1 + e^−|z|): no exp of a positive number
            per_element = y_pred.relu() - y_pred * y + (1 + (-y_pred.abs()).exp()).log()
        else:
            p = y_pred.clip(self.eps, 1 - self.eps)
            per_element = -(y * p.log() + (1 - y) * (1 - p).log())
        return per_element.mean()

    def check_targets(self, y_true, n_outputs):
        super().check_targets(y_true, n_outputs)
        if y_true.ndim == 2 and y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"BCE: targets must lie in [0, 1]. Received: min={y_true.min()}, max={y_true.max()}")

    def get_config(self): return {"from_logits": self.from_logits, "eps": self.eps}


_REGISTRY = {"mse": MSE, "cce": CCE, "svm": SVM, "bce": BCE}
_ALIASES = {"categorical_crossentropy": "cce", "cross_entropy": "cce", "hinge": "svm",
            "mean_squared_error": "mse", "binary_crossentropy": "bce"}


def get(identifier) -> Loss:
    """A Loss from an instance, a class or a name (``"mse"``, ``"cce"``, ``"svm"``, ``"bce"``)."""
    if isinstance(identifier, str):
        identifier = _ALIASES.get(identifier.lower(), identifier)
    return _checks.lookup("loss", identifier, _REGISTRY, Loss)


def serialize(obj) -> dict:
    return _checks.to_config("loss", obj, _REGISTRY)


def deserialize(config: dict) -> Loss:
    return _checks.from_config("loss", config, _REGISTRY)
