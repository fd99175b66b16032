"""Captured losses and weight penalties: the loss value and its gradient, as the eager graph computes them.

The eager mean is a sum times the constant 1/N in the model's dtype, and its backward multiplies
every gradient by that constant; the kernels below do the same multiplications, in the same order.
"""

from __future__ import annotations

import numpy as np

from .. import activations, losses, regularizers
from .kernels import Unsupported


class _Head:
    """A loss on (batch, outputs) scores: ``value(out, y)`` is the mean loss, ``grad`` its gradient (after value)."""

    def __init__(self, loss, shape, dtype):
        self.loss, self.dtype = loss, dtype
        self.inverse = np.asarray(1.0 / shape[0]).astype(dtype)  # mean: the sum times 1/N, in the dtype
        self.grad = np.empty(shape, dtype)


class _CrossEntropy(_Head):
    """Fused softmax cross-entropy on scores: −log softmax(s)[y]; gradient (softmax(s) − t)/N."""

    def __init__(self, loss, shape, dtype):
        super().__init__(loss, shape, dtype)
        self.log_probs = np.empty(shape, dtype)
        self.rows = np.arange(shape[0])

    def value(self, scores, y):
        self.target = losses.labels_of(y) if y.ndim == 1 else y.astype(self.dtype, copy=False)
        lp = self.log_probs
        with np.errstate(over="ignore"):
            np.subtract(scores, scores.max(axis=1, keepdims=True, initial=-np.inf), out=lp)
        np.subtract(lp, np.log(np.exp(lp).sum(axis=1, keepdims=True)), out=lp)
        if self.target.ndim == 1:
            per_sample = -lp[self.rows, self.target]
        else:
            with np.errstate(invalid="ignore"):
                per_sample = -np.where(self.target != 0, self.target * lp, 0).sum(axis=1)
        return np.asarray(per_sample.sum(axis=(0,))) * self.inverse

    def gradient(self):
        grad = np.exp(self.log_probs, out=self.grad)
        if self.target.ndim == 1:
            grad[self.rows, self.target] -= 1
        else:
            np.multiply(grad, self.target.sum(axis=1, keepdims=True), out=grad)
            np.subtract(grad, self.target, out=grad)
        return np.multiply(grad, self.inverse, out=grad)


class _MSE(_Head):
    """(1/N) Σ (ŷ − y)²; gradient 2·(ŷ − y)/N."""

    def __init__(self, loss, shape, dtype):
        super().__init__(loss, shape, dtype)
        self.diff, self.square = np.empty(shape, dtype), np.empty(shape, dtype)

    def value(self, out, y):
        np.subtract(out, losses.one_hot_like(y, out), out=self.diff)
        np.multiply(self.diff, self.diff, out=self.square)
        return np.asarray(self.square.sum(axis=(1,)).sum(axis=(0,))) * self.inverse

    def gradient(self):
        np.multiply(self.inverse, self.diff, out=self.grad)  # the spread 1/N times diff, then twice that
        return np.multiply(2, self.grad, out=self.grad)


class _Hinge(_Head):
    """(1/N) Σ_i Σ_j max(0, s_ij − s_iy + δ)·[j ≠ y]; the correct score gets minus the others' slopes."""

    def __init__(self, loss, shape, dtype):
        super().__init__(loss, shape, dtype)
        self.mask, self.margins, self.other = (np.empty(shape, dtype) for _ in range(3))
        self.active = np.empty(shape, bool)

    def value(self, out, y):
        np.copyto(self.mask, losses.one_hot_like(losses.labels_of(y), out))
        np.multiply(out, self.mask, out=self.margins)
        correct = self.margins.sum(axis=(1,), keepdims=True)
        np.subtract(out, correct, out=self.margins)
        np.add(self.margins, self.loss.delta, out=self.margins)
        np.greater(self.margins, 0, out=self.active)
        np.maximum(self.margins, 0, out=self.margins)
        np.subtract(1, self.mask, out=self.other)
        np.multiply(self.margins, self.other, out=self.margins)
        return np.asarray(self.margins.sum(axis=(1,)).sum(axis=(0,))) * self.inverse

    def gradient(self):
        g = np.multiply(self.other, self.inverse, out=self.grad)  # dL/d(relu out): 1/N times (1 − mask)
        np.multiply(g, self.active, out=g)  # through the relu
        correct = -g.sum(axis=(1,), keepdims=True)  # minus g through `out - correct`, summed back by sum(axis=1)
        return np.add(g, np.multiply(correct, self.mask), out=g)


def head(loss, last_activation, shape, dtype):
    """(the captured loss, whether it reads the scores before the last activation), as the eager loss decides."""
    kind = type(loss)
    if kind.__call__ is not losses.Loss.__call__ or kind.call not in (losses.CCE.call, losses.MSE.call, losses.SVM.call):
        raise Unsupported(f"the loss {kind.__name__} computes its own value (its call() is not a built-in loss's)")
    if isinstance(loss, losses.CCE):
        if type(last_activation) is activations.Softmax:
            return _CrossEntropy(loss, shape, dtype), True
        if not loss.from_logits:
            raise Unsupported(f"{kind.__name__}(from_logits=False) on outputs that come from no softmax reads them as "
                              "probabilities (clipped log); that form is not captured")
        return _CrossEntropy(loss, shape, dtype), False
    if kind is losses.MSE:
        return _MSE(loss, shape, dtype), False
    if kind is losses.SVM:
        return _Hinge(loss, shape, dtype), False
    raise Unsupported(f"the loss {kind.__name__} has no captured form")


# ----- penalties -----
class _Penalty:
    """One regularizer on one weight: ``value()`` as the eager penalty, ``add_gradient()`` into the weight's grad."""

    def __init__(self, regularizer, weight, grad):
        self.weight, self.grad = weight, grad
        self.scratch = np.empty_like(weight.data)
        kind = type(regularizer)
        if kind is regularizers.L2:
            self.lam = np.asarray(regularizer.lam).astype(weight.dtype)
            self.twice = np.asarray(2 * self.lam)  # x * (2 * g) with g = 1 · lam
        elif kind is regularizers.L1:
            self.lam, self.twice = np.asarray(regularizer.lam).astype(weight.dtype), None
        else:
            raise Unsupported(f"the regularizer {kind.__name__} has no captured form (L2 and L1 do)")

    def value(self):
        flat = self.weight.data.reshape(-1)
        if self.twice is not None:
            return np.asarray(np.dot(flat, flat)) * self.lam
        w = self.weight.data
        return np.asarray(np.abs(w).sum(axis=tuple(range(w.ndim)))) * self.lam

    def add_gradient(self, start: int = 0, stop: int | None = None):
        """Add the penalty's gradient to the weight's, over its flat elements [start, stop)."""
        if self.grad is None:
            return
        w, scratch = self.weight.data.reshape(-1)[start:stop], self.scratch.reshape(-1)[start:stop]
        if self.twice is not None:
            np.multiply(w, self.twice, out=scratch)
        else:
            np.sign(w, out=scratch)
            np.multiply(self.lam, scratch, out=scratch)
        grad = self.grad.reshape(-1)[start:stop]
        np.add(grad, scratch, out=grad)


def penalties(model, reg, grads: dict) -> list:
    """The model's penalty terms in the eager order: ``reg`` over the regularized weights, then each own one."""
    terms = [(reg, w) for w in model.regularized_weights] if reg is not None else []
    terms += [(own, w) for layer in model.layers for own, w in layer.weight_penalties]
    seen = set()
    for _, w in terms:
        if id(w) in seen:
            raise Unsupported(f"{w.name} has two penalties (fit's reg and its own); their sum is not captured")
        seen.add(id(w))
    return [_Penalty(r, w, grads.get(id(w))) for r, w in terms]


def total(terms: list):
    """Σ of the penalties' values, added left to right as the eager Regularizer and Model.penalty do."""
    values = [t.value() for t in terms]
    return sum(values[1:], values[0]) if values else None
