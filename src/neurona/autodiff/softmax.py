"""The softmax family: softmax, log_softmax and the fused softmax cross-entropy, shifted so exp never overflows."""

from __future__ import annotations

import numpy as np

from . import arguments as args
from .tensor import Tensor


def _shift_by_max(data: np.ndarray, axis: int) -> np.ndarray:
    """data − its max along ``axis``, so exp never overflows. Scores further apart than the dtype's range
    give −inf (probability 0, the right answer); an empty axis stays empty instead of failing in max()."""
    with np.errstate(over="ignore"):
        return data - data.max(axis=axis, keepdims=True, initial=-np.inf)


def softmax(a: Tensor, axis: int = -1) -> Tensor:
    axis = args.axis("softmax", axis, a.ndim)
    e = np.exp(_shift_by_max(a.data, axis))
    out = e / e.sum(axis=axis, keepdims=True)
    return Tensor._from_op(out, (a,), "softmax",
                           lambda g: (out * (g - (g * out).sum(axis=axis, keepdims=True)),))


def log_softmax(a: Tensor, axis: int = -1) -> Tensor:
    axis = args.axis("log_softmax", axis, a.ndim)
    shifted = _shift_by_max(a.data, axis)
    with np.errstate(divide="ignore"):  # the sum is >= 1, except over an empty axis (whose result is empty)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return Tensor._from_op(out, (a,), "log_softmax",
                           lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),))


def softmax_cross_entropy(logits: Tensor, target: np.ndarray) -> Tensor:
    """Per-sample −log softmax(logits)[label]. Fused for stability and speed: the backward is softmax − target.

    Args:
        logits: raw scores, shape (N, C).
        target: integer labels (N,) or probability rows (N, C), e.g. one-hot.

    Returns:
        A Tensor of shape (N,).
    """
    target = np.array(target)  # a copy: labels changed before backward must not change the gradient
    if target.ndim == 2:  # probability rows in the logits' dtype: float64 one-hots must not upcast the loss
        target = target.astype(logits.dtype, copy=False)
    shifted = _shift_by_max(logits.data, 1)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(log_probs))
    if target.ndim == 1:
        out = -log_probs[rows, target]
    else:  # a class the target gives no weight counts 0, however improbable (0 · log 0 would be NaN)
        with np.errstate(invalid="ignore"):
            out = -np.where(target != 0, target * log_probs, 0).sum(axis=1)

    def backward(g):
        grad = np.exp(log_probs)
        if target.ndim == 1:
            grad[rows, target] -= 1
        else:  # d/dz of −Σ t·log softmax(z) is softmax·Σt − t (Σt = 1 for one-hot rows)
            grad = grad * target.sum(axis=1, keepdims=True) - target
        return (grad * g[:, None],)

    return Tensor._from_op(out, (logits,), "softmax_cross_entropy", backward)
