"""BatchNormalization: each channel normalized by its batch statistics while training, by running ones after."""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..autodiff import Tensor, batch_norm
from .base import Layer


class BatchNormalization(Layer):
    """Normalize each channel (the last axis), then scale by γ and shift by β (both learned).

    While training (``fit``), each batch is normalized by its own mean and variance, and the
    running averages ``moving = momentum·moving + (1 − momentum)·batch`` are updated; at
    inference (``predict``, ``evaluate``) the running averages are used, so an output depends
    on its input alone. The running mean and variance are non-trainable weights: saved,
    checkpointed and resumed with the others, never stepped by the optimizer.

    Args:
        momentum: weight of the old running average, in [0, 1]; Keras's default 0.99.
        epsilon: added to the variance before the square root, > 0; Keras's default 1e-3.

    Shape:
        (batch, features) or (batch, height, width, channels); the output has the input's shape.

    Example:
        >>> model.add(layers.Conv2D(32, 3, padding="same", use_bias=False))
        >>> model.add(layers.BatchNormalization())
        >>> model.add(layers.Activation("relu"))
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, name: str | None = None, input_shape=None):
        super().__init__(name, input_shape)
        self.momentum = _checks.real("BatchNormalization", "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = _checks.real("BatchNormalization", "epsilon", epsilon, low=0.0, low_open=True)

    def weight_shapes(self, input_shape):
        channels = (int(input_shape[-1]),)
        return {"gamma": channels, "beta": channels, "moving_mean": channels, "moving_variance": channels}

    def build(self, input_shape, rng, dtype=np.float32):
        shapes = self.weight_shapes(input_shape)
        self.gamma = self.add_weight("gamma", shapes["gamma"], _ones)
        self.beta = self.add_weight("beta", shapes["beta"], "zeros")
        self.moving_mean = self.add_weight("moving_mean", shapes["moving_mean"], "zeros", trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shapes["moving_variance"], _ones, trainable=False)
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.shape[-1] != self.gamma.shape[0]:
            raise ValueError(f"BatchNormalization: x has {x.shape[-1]} channels (last axis of shape {x.shape}), "
                             f"but the layer {self.name or 'BatchNormalization'} was built for {self.gamma.shape[0]}")
        if not training:
            scale = self.gamma * (self.moving_variance + self.epsilon) ** -0.5
            return x * scale + (self.beta - self.moving_mean * scale)
        out, mean, variance = batch_norm(x, self.gamma, self.beta, self.epsilon)
        for running, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            np.copyto(running.data, self.momentum * running.data + (1 - self.momentum) * batch)
        return out

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


def _ones(shape, rng, dtype):
    return np.ones(shape, dtype=dtype)
