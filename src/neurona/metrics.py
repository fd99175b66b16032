"""Metrics computed on plain arrays after each step: accuracy (chosen by the targets) and MSE."""

from __future__ import annotations

import numpy as np

from . import _checks
from .losses import MSE as _MSELoss, one_hot_like

_MODES = ("auto", "argmax", "sign", "threshold")


class Metric:
    """Base class: ``metric.total(y_pred, y_true)`` sums the metric over a batch (for running means)."""

    name = "metric"

    def adapt(self, y_true: np.ndarray, n_outputs: int) -> None:
        """Fix any choice that depends on the whole training set's targets."""

    def total(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        raise NotImplementedError

    def __call__(self, y_pred, y_true) -> float:
        """The metric's mean over the samples: ``y_pred`` (N,) or (N, outputs), ``y_true`` labels or rows."""
        y_pred = _real_array(type(self).__name__, "y_pred", y_pred)
        if y_pred.ndim == 1:
            y_pred = y_pred.reshape(-1, 1)
        if y_pred.ndim != 2 or y_pred.shape[1] == 0:
            raise ValueError(f"{type(self).__name__}: y_pred must be (N,) or (N, outputs). Received shape {y_pred.shape}")
        y_true = self.check_targets(y_true, y_pred.shape[1])
        if len(y_true) != len(y_pred):
            raise ValueError(f"{type(self).__name__}: y_true must have one entry per sample of y_pred ({len(y_pred)}). "
                             f"Received shape {y_true.shape}")
        self.adapt(y_true, y_pred.shape[1])
        return self.total(y_pred, y_true) / max(len(y_true), 1)

    def check_targets(self, y_true, n_outputs: int) -> np.ndarray:
        """``y_true`` as a real, finite array (N,) or (N, outputs), or a ValueError naming it."""
        y_true = _real_array(type(self).__name__, "y_true", y_true)
        if y_true.ndim not in (1, 2) or (y_true.ndim == 2 and y_true.shape[1] not in (1, n_outputs)):
            raise ValueError(f"{type(self).__name__}: y_true must be labels (N,) or rows (N, {n_outputs}). "
                             f"Received shape {y_true.shape}")
        return y_true


def _real_array(where: str, name: str, value) -> np.ndarray:
    """Finite real numbers (bools allowed: 0/1 targets), or a ValueError naming ``name``."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{where}: {name} must be a rectangular array of numbers. Received: {_checks.echo(value)}") from exc
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {name} must hold real numbers. Received dtype={array.dtype}: {_checks.echo(value)}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{where}: {name} contains NaN or inf. Received: {_checks.echo(array)}")
    return array


class Accuracy(Metric):
    """The fraction of samples classified right; how depends on the targets.

    - ``argmax``: several outputs (or one-hot / integer-label targets): argmax of the outputs.
    - ``sign``: one output and ±1 targets (XOR, parity): sign of the output.
    - ``threshold``: one output and 0/1 targets: output > 0.5.

    Args:
        mode: "auto" (choose from the training targets, as above) or one of the three.
    """

    name = "accuracy"

    def __init__(self, mode: str = "auto"):
        if not isinstance(mode, str) or mode not in _MODES:
            raise ValueError(f"Accuracy: mode must be one of {', '.join(_MODES)}. Received: mode={_checks.echo(mode)}")
        self.mode = mode
        self._resolved = None if mode == "auto" else mode

    def adapt(self, y_true, n_outputs):
        n_outputs = _checks.positive_int("Accuracy.adapt", "n_outputs", n_outputs)
        y_true = _real_array("Accuracy.adapt", "y_true", y_true)
        if self.mode != "auto":
            return
        if n_outputs > 1:
            self._resolved = "argmax"
        elif np.any(y_true < 0):
            self._resolved = "sign"
        else:
            self._resolved = "threshold"

    def total(self, y_pred, y_true):
        if self._resolved is None:
            raise RuntimeError("Accuracy: call adapt(y_true, n_outputs) before total()")
        if self._resolved == "argmax":
            labels = y_true if y_true.ndim == 1 else y_true.argmax(axis=1)
            return float(np.count_nonzero(y_pred.argmax(axis=1) == labels))
        truth = y_true.reshape(y_pred.shape)
        if self._resolved == "sign":
            return float(np.count_nonzero(np.sign(y_pred) == np.sign(truth)))
        return float(np.count_nonzero((y_pred > 0.5) == (truth > 0.5)))


class MSE(Metric):
    """Mean over samples of the squared error summed over outputs (integer labels count as one-hot)."""

    name = "mse"

    def check_targets(self, y_true, n_outputs):
        """As the MSE loss takes them: labels in range with several outputs, rows of values."""
        return _MSELoss().check_targets(y_true, n_outputs, name="y_true")

    def total(self, y_pred, y_true):
        diff = y_pred - one_hot_like(y_true, y_pred)
        return float((diff * diff).sum())


def get(identifier) -> Metric:
    """A Metric from an instance or a name (``"accuracy"``, ``"mse"``)."""
    return _checks.lookup("metric", identifier, {"accuracy": Accuracy, "mse": MSE}, Metric)
