"""The fully connected layers and their companions: Dense, Activation, Flatten, Dropout, Concatenate."""

from __future__ import annotations

import numpy as np

from .. import _checks, activations, initializers, regularizers
from ..autodiff import Tensor, concat
from .base import Layer, flat as _flat

_MAX_UNITS = 2**31 - 1  # larger sizes are typos: no machine holds such a kernel


class Dense(Layer):
    """A fully connected layer: activation(x @ W + b), with W stored as (in, out).

    Inputs of more than two dimensions are flattened to (batch, features) first, so the
    practical's 32×32×3 images go straight into ``Dense(..., input_dim=3072)``.

    Args:
        units: outputs per sample.
        activation: an Activation, its name ("relu", "tanh", …) or None for linear.
        input_dim: features per sample, when this is the first layer of a Network.
        factor: the practical's initialisation, W ~ N(0, 1)·factor (overrides kernel_initializer).
        kernel_initializer: an Initializer or its name; default Glorot uniform.
        bias_initializer: default zeros.
        use_bias: whether to add b.

    Shape:
        (batch, input_dim) or (batch, d1, d2, …) with d1·d2·… = input_dim → (batch, units).

    Example:
        >>> model.add(layers.Dense(units=100, activation=activations.Sigmoid(), input_dim=3072, factor=1e-2))
    """

    def __init__(self, units, activation=None, input_dim=None, factor=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", use_bias: bool = True, name: str | None = None, input_shape=None,
                 kernel_regularizer=None):
        super().__init__(name, input_shape)
        self.units = _checks.positive_int("Dense", "units", units, high=_MAX_UNITS)
        self.activation = activations.get(activation)
        self.input_dim = None if input_dim is None else _checks.positive_int("Dense", "input_dim", input_dim,
                                                                             high=_MAX_UNITS)
        self.factor = None if factor is None else _checks.real("Dense", "factor", factor, low=0.0)
        self.kernel_initializer = initializers.Normal(self.factor) if factor is not None else \
            initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        if not isinstance(use_bias, bool):
            raise ValueError(f"Dense: use_bias must be a bool. Received: use_bias={_checks.echo(use_bias)}")
        self.use_bias = use_bias
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        if self.input_dim is not None:
            if input_shape is not None and int(np.prod(self.declared_input_shape)) != self.input_dim:
                raise ValueError(f"Dense: input_dim={self.input_dim} and input_shape={self.declared_input_shape} "
                                 "disagree; give one")
            self.declared_input_shape = self.declared_input_shape or (self.input_dim,)

    def weight_shapes(self, input_shape):
        fan_in = int(np.prod(input_shape))
        return {"kernel": (fan_in, self.units), **({"bias": (self.units,)} if self.use_bias else {})}

    def build(self, input_shape, rng, dtype=np.float32):
        fan_in = int(np.prod(input_shape))
        if self.input_dim is not None and fan_in != self.input_dim:
            raise ValueError(f"x has {fan_in} features (per-sample shape {tuple(input_shape)}), "
                             f"but the layer {self.name or 'Dense'} expects input_dim={self.input_dim}")
        shapes = self.weight_shapes(input_shape)
        self.kernel = self.add_weight("kernel", shapes["kernel"], self.kernel_initializer, regularize=True,
                                      regularizer=self.kernel_regularizer)
        self.bias = self.add_weight("bias", shapes["bias"], self.bias_initializer) if self.use_bias else None
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim != 2:
            x = _flat(x)
        if x.shape[1] != self.kernel.shape[0]:
            raise ValueError(f"Dense: x has {x.shape[1]} features per sample, but the layer "
                             f"{self.name or 'Dense'} was built for {self.kernel.shape[0]}")
        z = x @ self.kernel
        return self.activation(z + self.bias if self.use_bias else z)

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": activations.serialize(self.activation),
                "input_dim": self.input_dim, "factor": self.factor,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer), "use_bias": self.use_bias,
                "kernel_regularizer": None if self.kernel_regularizer is None else
                regularizers.serialize(self.kernel_regularizer)}

    @classmethod
    def from_config(cls, config: dict) -> "Dense":
        config = deserialize_weighted(config)
        if config.get("kernel_regularizer") is not None:
            config["kernel_regularizer"] = regularizers.deserialize(config["kernel_regularizer"])
        return cls(**config)


def deserialize_weighted(config: dict) -> dict:
    """A copy of a Dense or Conv2D config with its activation and initializers rebuilt from their entries."""
    config = dict(config)
    config["activation"] = activations.deserialize(config["activation"])
    for key in ("kernel_initializer", "bias_initializer"):
        config[key] = initializers.deserialize(config[key])
    return config


class Activation(Layer):
    """Applies an activation on its own: ``layers.Activation("relu")``."""

    def __init__(self, activation, name: str | None = None, input_shape=None):
        super().__init__(name, input_shape)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        return self.activation(x if isinstance(x, Tensor) else Tensor(x))

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "activation": activations.deserialize(config["activation"])})


class Flatten(Layer):
    """(batch, d1, d2, …) → (batch, d1·d2·…)."""

    def call(self, x, training=False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        return _flat(x)

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)


class Dropout(Layer):
    """During training, zero each value with probability ``rate`` and scale the rest by 1/(1 − rate).

    At inference it is the identity. The mask comes from the model's seeded generator.

    Args:
        rate: the fraction to drop, in [0, 1).
    """

    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name)
        self.rate = _checks.real("Dropout", "rate", rate, low=0.0)
        if self.rate >= 1:
            raise ValueError(f"Dropout: rate must be in [0, 1). Received: rate={rate!r}")

    def build(self, input_shape, rng, dtype=np.float32):
        self.rng = self.add_generator("rng", rng)
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not training or self.rate == 0:
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        return x * (keep.astype(x.dtype) * (1 / (1 - self.rate)))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class Concatenate(Layer):
    """Joins tensors along the feature axis.

    In a ``Network``, ``Concatenate(input_dim)`` joins the previous layer's output with the
    network's own input (the practical's second XOR architecture); ``input_dim`` is the
    width of that input. In the functional API, ``Concatenate()([a, b])`` joins any list.

    Args:
        input_dim: in a Network, the network input's width (checked when the model is built).
        axis: the axis to join along (the last by default).
    """

    takes_list = True
    joins_input = True  # inside a Network: the previous output joined with the network's input

    def __init__(self, input_dim=None, axis: int = -1, name: str | None = None):
        super().__init__(name)
        self.input_dim = None if input_dim is None else _checks.positive_int("Concatenate", "input_dim", input_dim,
                                                                             high=_MAX_UNITS)
        if isinstance(axis, bool) or not isinstance(axis, int) or axis not in (-1, 1):
            raise ValueError(f"Concatenate: axis must be -1 or 1, the feature axis (inputs are joined as "
                             f"(batch, features) rows). Received: axis={_checks.echo(axis)}")
        self.axis = axis

    def call(self, xs, training=False):
        if not isinstance(xs, (list, tuple)) or len(xs) < 2:
            raise ValueError(f"Concatenate: needs a list of at least 2 tensors. Received: {type(xs).__name__}")
        flat = [t if isinstance(t, Tensor) else Tensor(t) for t in xs]
        flat = [_flat(t) if t.ndim > 2 else t for t in flat]
        return concat(flat, axis=self.axis)

    def compute_output_shape(self, input_shapes):
        return (sum(int(np.prod(s)) for s in input_shapes),)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "axis": self.axis}
