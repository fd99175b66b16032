"""Activation functions as small callable classes, plus a registry to get them by name."""

from __future__ import annotations

from . import _checks
from .autodiff import Tensor


class Activation(_checks.Configurable):
    """Base class: ``act(x)`` applies the function to a Tensor (or an array of numbers); ``get_config()`` returns its arguments."""

    def __call__(self, x) -> Tensor:
        return self.call(x if isinstance(x, Tensor) else Tensor(_checks.real_array(type(self).__name__, "x", x)))

    def call(self, x: Tensor) -> Tensor:
        """The math (subclasses define it)."""
        raise NotImplementedError


class Sigmoid(Activation):
    """σ(x) = 1 / (1 + e^−x), computed without overflow."""

    def call(self, x): return x.sigmoid()


class Tanh(Activation):
    """tanh(x)."""

    def call(self, x): return x.tanh()


class ReLU(Activation):
    """max(0, x)."""

    def call(self, x): return x.relu()


Relu = ReLU  # the practical's spelling


class LeakyReLU(Activation):
    """max(alpha·x, x) for 0 <= alpha < 1 (the practical's max(0.1x, x) by default).

    Args:
        alpha: slope for negative inputs.
    """

    def __init__(self, alpha: float = 0.1):
        self.alpha = _checks.real("LeakyReLU", "alpha", alpha, low=0.0, high=1.0)

    def call(self, x): return x.leaky_relu(self.alpha)

    def get_config(self): return {"alpha": self.alpha}


class ELU(Activation):
    """x for x > 0, alpha·(e^x − 1) otherwise.

    Args:
        alpha: the value approached for very negative inputs is −alpha.
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = _checks.real("ELU", "alpha", alpha, low=0.0)

    def call(self, x): return x.elu(self.alpha)

    def get_config(self): return {"alpha": self.alpha}


class Linear(Activation):
    """The identity: f(x) = x."""

    def call(self, x): return x


class Softmax(Activation):
    """exp(x) / Σ exp(x) along ``axis``, shifted by the max for stability."""

    def __init__(self, axis: int = -1):
        self.axis = _checks.integer("Softmax", "axis", axis, low=-64, high=63)  # numpy arrays have at most 64 axes

    def call(self, x): return x.softmax(self.axis)

    def get_config(self): return {"axis": self.axis}


_REGISTRY = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU,
             "linear": Linear, "softmax": Softmax}


def get(identifier) -> Activation:
    """An Activation from an instance, a class, a name such as ``"relu"``, or None (linear).

    Example:
        >>> get("tanh")
        Tanh()
    """
    if identifier is None:
        return Linear()
    return _checks.lookup("activation", identifier, _REGISTRY, Activation)


def serialize(obj) -> dict:
    """``{"class": name, "config": {...}}``, the form stored in model files."""
    return _checks.to_config("activation", obj, _REGISTRY)


def deserialize(config: dict):
    """The inverse of :func:`serialize`; only registered classes can be created."""
    return _checks.from_config("activation", config, _REGISTRY)
