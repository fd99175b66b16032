"""BatchNormalization: each channel normalized by its batch statistics while training, by running ones after."""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..autodiff import Tensor, graph
from .base import Layer


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: float) -> tuple:
    """γ·(x − μ)/√(σ² + ε) + β per channel (the last axis), μ and σ² over every other axis of the batch.

    One fused op, for speed: composed from primitives it makes about 15 passes over the
    activations, this about 6. The tests check it against the composed formula and by gradcheck.

    Returns:
        (output Tensor, batch mean, batch variance): the statistics as arrays, for running averages.
        The variance is the biased one (divided by the count m), the one the normalization uses.
    """
    axes = tuple(range(x.ndim - 1))
    count = x.size // x.shape[-1]  # m: values per channel
    mean = x.data.mean(axis=axes)
    centered = x.data - mean
    variance = np.square(centered).mean(axis=axes)
    inv_std = 1 / np.sqrt(variance + epsilon)
    normalized = centered * inv_std  # x̂, kept for the backward
    scale = graph.saved(gamma)
    out = normalized * scale + beta.data

    def backward(g):
        grad_beta = g.sum(axis=axes)
        grad_gamma = (g * normalized).sum(axis=axes)
        # dx = γ/σ · (g − mean(g) − x̂·mean(g·x̂)): the batch's mean and variance depend on x too
        grad_x = (scale * inv_std) * (g - grad_beta / count - normalized * (grad_gamma / count))
        return grad_x, grad_gamma, grad_beta

    return Tensor._from_op(out, (x, gamma, beta), "batch_norm", backward), mean, variance


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
