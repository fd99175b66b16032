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

    ``y_true`` may be integer labels (N,) or rows shaped like ``y_pred`` (N, C); with one output a
    flat vector (N,) is that output's column. What the values may be is declared by ``targets``
    (see :func:`validate_targets`); the same check runs on direct calls and in fit/evaluate.
    """

    name = "loss"
    min_outputs = 1  # CCE and SVM need a score per class
    targets = "real"  # "real" (MSE), "unit" ([0, 1]: BCE), "distribution" (CCE) or "one_hot" (SVM)

    def __call__(self, y_pred: Tensor, y_true: np.ndarray) -> Tensor:
        """The mean loss, a scalar Tensor: ``y_pred`` (N, outputs), ``y_true`` labels (N,) or rows (N, outputs)."""
        y_pred, y_true = _check_call(type(self).__name__, y_pred, y_true)
        y_true = self.check_targets(y_true, y_pred.shape[1], name="y_true", dtype=y_pred.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # inf or NaN from extreme scores: fit reports it
            return self.call(y_pred, y_true)

    def call(self, y_pred: Tensor, y_true: np.ndarray) -> Tensor:
        """The math, on validated arguments (subclasses define it)."""
        raise NotImplementedError

    def check_targets(self, y_true, n_outputs: int, *, name: str = "y", dtype=None) -> np.ndarray:
        """``y_true`` as an array, or a ValueError naming the loss, ``name`` and the offending value.

        ``dtype``: the network's float dtype (default float64): MSE targets whose square would overflow it are refused.
        """
        return validate_targets(self, y_true, n_outputs, name=name, dtype=dtype)


def validate_targets(loss: Loss, y_true, n_outputs: int, *, name: str = "y", dtype=None) -> np.ndarray:
    """The one check of targets, for every loss (direct calls and fit/evaluate alike).

    Labels (N,) with several outputs: ints, or whole floats such as 2.0 (arrays read from text
    files are often float), in [0, n_outputs); bools are refused. Values (rows (N, C), or a flat
    (N,) for one output): finite, and as ``loss.targets`` says: any real ("real"), in [0, 1]
    ("unit"), non-negative rows summing to 1 ("distribution"), or one-hot rows ("one_hot").
    """
    where = type(loss).__name__
    y = _target_array(where, name, y_true)
    if n_outputs < loss.min_outputs:
        raise ValueError(f"{where}: needs at least {loss.min_outputs} outputs (one score per class). "
                         f"Received: {n_outputs} output")
    if y.ndim == 1 and n_outputs > 1:
        _check_labels(where, name, y, n_outputs)
        return y
    values = y.reshape(-1, 1) if y.ndim == 1 else y  # one output: a flat vector is its column
    if values.shape[1] != n_outputs:
        raise ValueError(f"{where}: {name} has {values.shape[1]} columns, but the network has {n_outputs} outputs. "
                         f"Received: {name}.shape={y.shape}")
    _VALUE_CHECKS[loss.targets](where, name, values)
    if loss.targets == "real":  # without the network's dtype, at least what float64 can square
        _check_magnitude(where, name, values, np.dtype(np.float64 if dtype is None else dtype))
    return y


def _target_array(where: str, name: str, y_true) -> np.ndarray:
    """Real, finite numbers (not bools) shaped (N,) or (N, C)."""
    y = _as_array(where, name, y_true)
    if y.dtype.kind == "b":
        raise ValueError(f"{where}: {name} must be numbers, not bools (use {name}.astype(int) for class labels, "
                         f".astype(float) for values). Received: {name}={_checks.echo(y)}")
    if y.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {name} must hold real numbers. Received dtype={y.dtype}: {name}={_checks.echo(y)}")
    if y.ndim not in (1, 2):
        raise ValueError(f"{where}: {name} must be labels (N,) or rows (N, C). Received: {name}.shape={y.shape}")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{where}: {name} contains NaN or inf: {_first(name, ~np.isfinite(y), y)}")
    return y


def _as_array(where: str, name: str, value) -> np.ndarray:
    try:
        return np.asarray(value.data if isinstance(value, Tensor) else value)
    except (ValueError, TypeError, RecursionError) as exc:  # ragged, or nested deeper than NumPy allows
        raise ValueError(f"{where}: {name} must be a rectangular array of numbers. Received: {_checks.echo(value)}") from exc


def _first(name: str, bad: np.ndarray, y: np.ndarray) -> str:
    """``y[i, j]=value`` for the first True of ``bad``."""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{name}[{', '.join(map(str, index))}]={_checks.echo(y[index].item())}"


def _check_labels(where: str, name: str, y: np.ndarray, n_classes: int) -> None:
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise ValueError(f"{name}: labels must be integers. Received dtype={y.dtype}, e.g. "
                         f"{_first(name, y != np.round(y), y)} ({where} loss)")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name}: labels must be in [0, {n_classes}) for a network with {n_classes} outputs. "
                         f"Received: min={_checks.echo(y.min().item())}, max={_checks.echo(y.max().item())} ({where} loss)")


def _any_real(where: str, name: str, values: np.ndarray) -> None:
    """MSE: any finite value (already checked)."""


def _unit_interval(where: str, name: str, values: np.ndarray) -> None:
    bad = (values < 0) | (values > 1)
    if bad.any():
        raise ValueError(f"{where}: targets must lie in [0, 1]. Received: min={values.min().item()}, "
                         f"max={values.max().item()} (first outside: {_first(name, bad, values)})")


def _distribution(where: str, name: str, values: np.ndarray) -> None:
    if (values < 0).any():
        raise ValueError(f"{where}: {name} rows must be probabilities (one-hot or soft targets): non-negative, "
                         f"each summing to 1. Received a negative entry: {_first(name, values < 0, values)}")
    sums = values.sum(axis=1, dtype=np.float64)
    tolerance = max(1e-5, float(np.finfo(values.dtype).eps) * values.shape[1]) if values.dtype.kind == "f" else 0.0
    off = np.abs(sums - 1) > tolerance
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(f"{where}: {name} rows must be probabilities (one-hot or soft targets): non-negative, "
                         f"each summing to 1. Received: {name}[{row}]={_checks.echo(values[row])}, "
                         f"which sums to {sums[row]:.6g}")


def _one_hot(where: str, name: str, values: np.ndarray) -> None:
    off = ((values != 0) & (values != 1)).any(axis=1) | ((values == 1).sum(axis=1) != 1)
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(f"{where}: {name} rows must be one-hot (a single 1, zeros elsewhere); or give integer "
                         f"labels. Received: {name}[{row}]={_checks.echo(values[row])}")


_VALUE_CHECKS = {"real": _any_real, "unit": _unit_interval, "distribution": _distribution, "one_hot": _one_hot}


def _check_magnitude(where: str, name: str, values: np.ndarray, dtype: np.dtype) -> None:
    """Squared errors of targets up to ``limit`` (and predictions as large) sum below the dtype's largest value."""
    if dtype.kind != "f":
        return
    limit = float(np.sqrt(np.finfo(dtype).max / values.shape[1])) / 2
    largest = max(abs(float(values.max())), abs(float(values.min())))  # no np.abs: it wraps int64's minimum
    if largest > limit:
        raise ValueError(f"{where}: {name} has values up to {largest:.4g}; with {values.shape[1]} {dtype.name} "
                         f"outputs the squared error overflows beyond {limit:.4g}. Rescale the targets")


def _check_call(where: str, y_pred, y_true) -> tuple:
    """y_pred as a 2-D Tensor with samples, y_true as a real array with as many samples."""
    if not isinstance(y_pred, Tensor):
        y_pred = Tensor(_checks.real_array(where, "y_pred", y_pred))
    if y_pred.ndim != 2 or y_pred.shape[0] == 0 or y_pred.shape[1] == 0:
        raise ValueError(f"{where}: y_pred must be (samples, outputs) with at least one of each. "
                         f"Received shape {y_pred.shape}")
    y_true = _as_array(where, "y_true", y_true)
    if y_true.ndim == 0 or len(y_true) != len(y_pred):
        raise ValueError(f"{where}: y_true must have one entry per sample of y_pred ({len(y_pred)}). "
                         f"Received shape {y_true.shape}")
    return y_pred, y_true


class MSE(Loss):
    """Mean over samples of the squared error summed over outputs (the practical's definition).

    L = (1/N) Σ_i Σ_j (ŷ_ij − y_ij)²

    Targets: rows (N, C) of finite values; integer labels (N,) with several outputs (as one-hot);
    any finite values (N,) or (N, 1) with one output. Values whose square would overflow the
    network's dtype are refused.
    """

    name = "mse"

    def call(self, y_pred, y_true):
        diff = y_pred - one_hot_like(y_true, y_pred)
        return (diff * diff).sum(axis=1).mean()


def input_of(y_pred: Tensor, op: str):
    """The Tensor that op ``op`` ("softmax", "sigmoid") turned into ``y_pred``, if the graph recorded it.

    A cross-entropy then works on those scores with the fused, stable form: a network ending in
    softmax (or sigmoid) trains exactly as one with a linear output and the fused loss.
    """
    return y_pred._parents[0] if y_pred._op == op and y_pred._parents else None


class CCE(Loss):
    """Categorical cross-entropy of softmax(scores): L = −(1/N) Σ_i log softmax(s_i)[y_i].

    Takes raw scores (a linear output layer); softmax and log are fused, so it is stable. A network
    whose output layer applies softmax (Keras's idiom, ``Dense(10, activation="softmax")``) is
    detected: the loss takes the scores before that softmax, so softmax is not applied twice and
    training is that of the linear output. Outside a recorded graph (evaluation under ``no_grad``)
    a softmax output is read as probabilities, −log p, clipped at the dtype's smallest normal.

    Targets: integer labels (N,) in [0, C), or probability rows (N, C): non-negative, each summing
    to 1 within float tolerance (one-hot or soft). So the loss is never negative.

    Args:
        from_logits: True (default) when outputs that come from no softmax are scores; False when
            they are probabilities already (Keras's ``CategoricalCrossentropy`` default).
    """

    name = "cce"
    min_outputs, targets = 2, "distribution"
    from_logits = True  # also for subclasses that do not call __init__

    def __init__(self, from_logits: bool = True):
        self.from_logits = _checks.boolean(type(self).__name__, "from_logits", from_logits)

    def call(self, y_pred, y_true):
        target = labels_of(y_true) if y_true.ndim == 1 else y_true.astype(y_pred.dtype, copy=False)
        scores = input_of(y_pred, "softmax")
        if scores is not None:
            return ops.softmax_cross_entropy(scores, target).mean()
        if y_pred._op == "softmax" or not self.from_logits:
            tiny = float(np.finfo(y_pred.dtype).tiny)
            rows = one_hot_like(y_true, y_pred) if y_true.ndim == 1 else target
            return -(y_pred.clip(tiny, 1.0).log() * rows).sum(axis=1).mean()
        return ops.softmax_cross_entropy(y_pred, target).mean()

    def get_config(self): return {"from_logits": self.from_logits}


class CategoricalCrossentropy(CCE):
    """Keras's name: CCE whose outputs are probabilities unless ``from_logits=True`` (a softmax output is
    detected either way). Integer labels and one-hot rows are both accepted, so it is also
    ``SparseCategoricalCrossentropy``."""

    def __init__(self, from_logits: bool = False):
        super().__init__(from_logits)


SparseCategoricalCrossentropy = CategoricalCrossentropy


class SVM(Loss):
    """Multiclass hinge loss: L = (1/N) Σ_i Σ_{j≠y_i} max(0, s_ij − s_iy_i + delta).

    Targets: integer labels (N,) in [0, C), or one-hot rows (N, C).

    Args:
        delta: the margin the correct score must win by, in [0, 1e15].
    """

    name = "svm"
    min_outputs, targets = 2, "one_hot"

    def __init__(self, delta: float = 1.0):
        self.delta = _checks.real("SVM", "delta", delta, low=0.0, high=1e15)  # larger only overflows float32

    def call(self, y_pred, y_true):
        mask = one_hot_like(labels_of(y_true), y_pred)
        correct = (y_pred * mask).sum(axis=1, keepdims=True)
        margins = (y_pred - correct + self.delta).relu() * (1 - mask)
        return margins.sum(axis=1).mean()

    def get_config(self): return {"delta": self.delta}


class BCE(Loss):
    """Binary cross-entropy, averaged over samples and outputs; targets in [0, 1].

    Targets: values in [0, 1] as rows (N, C), or as a column (N, 1) or flat vector (N,) for one
    output; integer labels (N,) with several outputs (as one-hot).

    Args:
        from_logits: True when the network outputs raw scores (then σ is fused in,
            stably); False (default) when it outputs probabilities, clipped to [eps, 1 − eps].
        eps: the clipping margin for probabilities, in (0, 0.5]; never below the dtype's spacing
            under 1, so that 1 − eps < 1 and no log(0) occurs.
    """

    name = "bce"
    targets = "unit"

    def __init__(self, from_logits: bool = False, eps: float = 1e-7):
        self.from_logits = _checks.boolean("BCE", "from_logits", from_logits)
        self.eps = _checks.real("BCE", "eps", eps, low=0.0, low_open=True, high=0.5)

    def call(self, y_pred, y_true):
        y = one_hot_like(y_true, y_pred)
        scores = input_of(y_pred, "sigmoid")  # a sigmoid output: the fused form on the scores behind it
        if scores is not None or self.from_logits:  # max(z, 0) − z·y + log(1 + e^−|z|): no exp of a positive number
            y_pred = y_pred if scores is None else scores
            per_element = y_pred.relu() - y_pred * y + (1 + (-y_pred.abs()).exp()).log()
        else:
            eps = max(self.eps, float(np.finfo(y_pred.dtype).epsneg))  # 1 − eps rounds to 1 in float32 otherwise
            p = y_pred.clip(eps, 1 - eps)
            per_element = -(y * p.log() + (1 - y) * (1 - p).log())
        return per_element.mean()

    def get_config(self): return {"from_logits": self.from_logits, "eps": self.eps}


MeanSquaredError, BinaryCrossentropy = MSE, BCE  # Keras's names

_REGISTRY = {"mse": MSE, "cce": CCE, "svm": SVM, "bce": BCE, "categorical_crossentropy": CategoricalCrossentropy}
_ALIASES = {"categorical_crossentropy": "cce", "sparse_categorical_crossentropy": "cce", "cross_entropy": "cce",
            "hinge": "svm", "categorical_hinge": "svm", "mean_squared_error": "mse", "binary_crossentropy": "bce"}


def get(identifier) -> Loss:
    """A Loss from an instance, a class or a name (``"mse"``, ``"cce"``, ``"svm"``, ``"bce"``)."""
    if isinstance(identifier, str):
        identifier = _ALIASES.get(identifier.lower(), identifier)
    return _checks.lookup("loss", identifier, _REGISTRY, Loss)


def serialize(obj) -> dict:
    return _checks.to_config("loss", obj, _REGISTRY)


def deserialize(config: dict) -> Loss:
    return _checks.from_config("loss", config, _REGISTRY)
