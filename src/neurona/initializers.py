"""Weight initializers: each turns (shape, generator) into an array. Randomness comes from the caller's Generator."""

from __future__ import annotations

import numpy as np

from . import _checks


MAX_SIZE = 2**28  # values in one weight array (1 GB of float32); more is a mistake, not a layer


class Initializer(_checks.Configurable):
    """Base class: ``init(shape, rng, dtype)`` returns a new array.

    ``shape``: a tuple of non-negative ints (at most MAX_SIZE values in all); ``rng``: a numpy
    Generator (randomness is passed in); ``dtype``: a float dtype.
    """

    def __call__(self, shape: tuple, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        where = type(self).__name__
        if not isinstance(shape, tuple) or not 1 <= len(shape) <= 32:
            raise ValueError(f"{where}: shape must be a tuple of 1 to 32 non-negative ints. Received: shape={_checks.echo(shape)}")
        shape = tuple(_checks.integer(where, "shape", n, low=0, high=MAX_SIZE) for n in shape)
        if int(np.prod(shape, dtype=object)) > MAX_SIZE:
            raise ValueError(f"{where}: shape {shape} holds more than {MAX_SIZE:,} values")
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"{where}: rng must be a numpy.random.Generator (np.random.default_rng(seed)). "
                             f"Received: rng={_checks.echo(rng)}")
        dtype = _float_dtype(where, dtype)
        if 0 in shape:  # nothing to draw (and a fan of 0 has no variance to keep)
            return np.zeros(shape, dtype=dtype)
        return self.sample(shape, rng, dtype)

    def sample(self, shape: tuple, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
        """The values, on validated arguments (subclasses define it)."""
        raise NotImplementedError


def _float_dtype(where: str, dtype) -> np.dtype:
    try:
        result = np.dtype(dtype)
    except Exception:  # noqa: BLE001 - np.dtype of arbitrary objects raises many kinds (TypeError, RecursionError, …)
        result = None
    if result is None or result.kind != "f":
        raise ValueError(f"{where}: dtype must be a float dtype such as float32. Received: dtype={_checks.echo(dtype)}")
    return result


class Normal(Initializer):
    """N(0, 1)·factor — the practical's ``factor`` argument (``Dense(..., factor=1e-2)``).

    Args:
        factor: the standard deviation, in [0, 1e6].
    """

    def __init__(self, factor: float = 0.01):
        self.factor = _checks.real("Normal", "factor", factor, low=0.0, high=1e6)  # larger only overflows

    def sample(self, shape, rng, dtype):
        return (rng.standard_normal(shape) * self.factor).astype(dtype)

    def get_config(self): return {"factor": self.factor}


class GlorotUniform(Initializer):
    """U(−l, l) with l = sqrt(6 / (fan_in + fan_out)): keeps activations' variance through tanh/sigmoid layers."""

    def sample(self, shape, rng, dtype):
        fan_in, fan_out = _fans(shape)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape).astype(dtype)


class HeNormal(Initializer):
    """N(0, 2 / fan_in): keeps activations' variance through ReLU layers."""

    def sample(self, shape, rng, dtype):
        fan_in, _ = _fans(shape)
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


class Zeros(Initializer):
    """All zeros (the default for biases)."""

    def sample(self, shape, rng, dtype):
        return np.zeros(shape, dtype=dtype)


def _fans(shape: tuple) -> tuple:
    """(fan_in, fan_out) of a kernel: (in, out) for Dense; a vector counts as (n, n).

    A conv kernel (kernel_h, kernel_w, in, out) — any (*window, in, out) — connects each output to a
    window of inputs: fan_in = window·in and fan_out = window·out, Keras's rule (PyTorch's gives the
    same numbers for its (out, in, kernel_h, kernel_w) layout). A 3x3 kernel from 16 to 32 channels:
    fan_in 9·16 = 144, fan_out 9·32 = 288.
    """
    if len(shape) == 1:
        return shape[0], shape[0]
    window = int(np.prod(shape[:-2]))  # the receptive field; 1 for an (in, out) matrix
    return window * shape[-2], window * shape[-1]


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
