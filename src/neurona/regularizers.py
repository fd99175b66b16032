"""Weight penalties added to the loss: applied to weight matrices (kernels), never to biases.

Convention: the penalty is added once per step to the mean data loss, and it is part of
the loss that training reports: loss = mean_i ℓ_i + penalty(W). ``L2(lam)`` is lam·ΣW²
(its gradient 2·lam·W), with no 1/2 and no division by the number of samples.
"""

from __future__ import annotations

from . import _checks
from .autodiff import Tensor, ops


class Regularizer(_checks.Configurable):
    """Base class: ``reg(weights)`` returns the penalty of a list of kernels as a scalar Tensor."""

    def __call__(self, weights: list) -> Tensor:
        if not isinstance(weights, (list, tuple)) or not all(isinstance(w, Tensor) for w in weights):
            raise ValueError(f"{type(self).__name__}: weights must be a list of Tensors (the kernels). "
                             f"Received: weights={_checks.echo(weights)}")
        if not weights:
            return Tensor(0.0)  # an empty sum: no kernels, no penalty
        terms = [self.penalty(w) for w in weights]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def penalty(self, w: Tensor) -> Tensor:
        raise NotImplementedError


class L2(Regularizer):
    """lam · Σ W² over every kernel.

    Args:
        lam: the strength, >= 0.

    Example:
        >>> model.fit(x, y, loss=losses.MSE(), opt=optimizers.BGD(lr=1e-3, bs=64), reg=regularizers.L2(lam=1e-3))
    """

    def __init__(self, lam: float = 1e-3):
        self.lam = _checks.real("L2", "lam", lam, low=0.0)

    def penalty(self, w): return ops.sum_of_squares(w) * self.lam

    def get_config(self): return {"lam": self.lam}


class L1(Regularizer):
    """lam · Σ |W| over every kernel.

    Args:
        lam: the strength, >= 0.
    """

    def __init__(self, lam: float = 1e-3):
        self.lam = _checks.real("L1", "lam", lam, low=0.0)

    def penalty(self, w): return w.abs().sum() * self.lam

    def get_config(self): return {"lam": self.lam}


class L1L2(Regularizer):
    """l1 · Σ |W| + l2 · Σ W² (elastic net).

    Args:
        l1, l2: the two strengths, >= 0.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _checks.real("L1L2", "l1", l1, low=0.0)
        self.l2 = _checks.real("L1L2", "l2", l2, low=0.0)

    def penalty(self, w): return w.abs().sum() * self.l1 + ops.sum_of_squares(w) * self.l2

    def get_config(self): return {"l1": self.l1, "l2": self.l2}


_REGISTRY = {"l2": L2, "l1": L1, "l1l2": L1L2}


def get(identifier) -> Regularizer | None:
    """A Regularizer from an instance, a class, a name, or None (no penalty)."""
    if identifier is None:
        return None
    return _checks.lookup("regularizer", identifier, _REGISTRY, Regularizer)


def serialize(obj) -> dict:
    return _checks.to_config("regularizer", obj, _REGISTRY)


def deserialize(config: dict) -> Regularizer:
    return _checks.from_config("regularizer", config, _REGISTRY)
