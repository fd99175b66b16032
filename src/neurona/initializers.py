"""Weight initializers: each turns (shape, generator) into an array. Randomness comes from the caller's Generator."""

from __future__ import annotations

import numpy as np

from . import _checks


class Initializer(_checks.Configurable):
    """Base class: ``init(shape, rng, dtype)`` returns a new array."""

    def __call__(self, shape: tuple, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        raise NotImplementedError


class Normal(Initializer):
    """N(0, 1)·factor — the practical's ``factor`` argument (``Dense(..., factor=1e-2)``).

    Args:
        factor: the standard deviation.
    """

    def __init__(self, factor: float = 0.01):
        self.factor = _checks.real("Normal", "factor", factor, low=0.0)

    def __call__(self, shape, rng, dtype=np.float32):
        return (rng.standard_normal(shape) * self.factor).astype(dtype)

    def get_config(self): return {"factor": self.factor}


class GlorotUniform(Initializer):
    """U(−l, l) with l = sqrt(6 / (fan_in + fan_out)): keeps activations' variance through tanh/sigmoid layers."""

    def __call__(self, shape, rng, dtype=np.float32):
        fan_in, fan_out = _fans(shape)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)


class HeNormal(Initializer):
    """N(0, 2 / fan_in): keeps activations' variance through ReLU layers."""

    def __call__(self, shape, rng, dtype=np.float32):
        fan_in, _ = _fans(shape)
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


class Zeros(Initializer):
    """All zeros (the default for biases)."""

    def __call__(self, shape, rng, dtype=np.float32):
        return np.zeros(shape, dtype=dtype)


def _fans(shape: tuple) -> tuple:
    """(fan_in, fan_out) of a kernel stored as (in, out); a vector counts as (n, n)."""
    return (shape[0], shape[1]) if len(shape) == 2 else (shape[0], shape[0])


_REGISTRY = {"normal": Normal, "glorot_uniform": GlorotUniform, "he_normal": HeNormal, "zeros": Zeros}


def get(identifier) -> Initializer:
    """An Initializer from an instance, a class or a name such as ``"he_normal"``."""
    return _checks.lookup("initializer", identifier, _REGISTRY, Initializer)


def serialize(obj) -> dict:
    """``{"class": name, "config": {...}}``, the form stored in model files."""
    return _checks.to_config("initializer", obj, _REGISTRY)


def deserialize(config: dict):
    """The inverse of :func:`serialize`; only registered classes can be created."""
    return _checks.from_config("initializer", config, _REGISTRY)
