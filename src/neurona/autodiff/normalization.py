"""Batch normalization's training-time step as one primitive: normalize each channel by its batch statistics."""

from __future__ import annotations

import numpy as np

from . import arguments as args
from . import graph
from .tensor import Tensor


def _check(x: Tensor, gamma: Tensor, beta: Tensor, epsilon) -> float:
    """x has a batch axis and channels last; γ and β hold one value per channel; ε > 0."""
    if x.ndim < 2 or gamma.shape != (x.shape[-1],) or beta.shape != (x.shape[-1],):
        raise ValueError(f"batch_norm: x must be (batch, ..., channels) with gamma and beta of shape (channels,). "
                         f"Received x {x.shape}, gamma {gamma.shape}, beta {beta.shape}")
    epsilon = args.real("batch_norm", "epsilon", epsilon)
    if not epsilon > 0:
        raise ValueError(f"batch_norm: epsilon must be > 0. Received: epsilon={epsilon!r}")
    return epsilon


def batch_norm(x, gamma, beta, epsilon: float = 1e-3) -> tuple:
    """γ·(x − μ)/√(σ² + ε) + β per channel (the last axis), μ and σ² over every other axis of the batch.

    Fused for speed: composed from primitives (mean, −, ², mean, +, ** −0.5, *, *, +) the forward and
    backward make about 15 passes over the activations, this about 6. The tests check it against that
    composed formula and by central differences.

    Args:
        x: (batch, features) or (batch, height, width, channels); any shape with channels last.
        gamma, beta: scale and shift, shape (channels,).
        epsilon: added to the variance before the square root, > 0.

    Returns:
        (output Tensor of x's shape, batch mean, batch variance): the statistics as arrays of shape
        (channels,), for running averages. The variance is the biased one (divided by the count m),
        the one the normalization uses.

    Example:
        >>> out, mean, variance = batch_norm(Tensor([[1.0], [3.0]]), Tensor([1.0]), Tensor([0.0]), 1e-3)
        >>> out.data.ravel(), mean, variance     # (∓1/√1.001), [2.], [1.]
    """
    x, gamma, beta = (args.lift(value, op="batch_norm") for value in (x, gamma, beta))
    epsilon = _check(x, gamma, beta, epsilon)
    axes = tuple(range(x.ndim - 1))
    count = x.size // x.shape[-1]  # m: values per channel
    # In-place updates (*=, +=, out=) below only save temporaries: the arithmetic is the formula's, in its order.
    mean = x.data.mean(axis=axes)
    normalized = x.data - mean  # x − μ, then scaled in place to x̂, kept for the backward
    variance = np.square(normalized).mean(axis=axes)
    inv_std = 1 / np.sqrt(variance + epsilon)
    normalized *= inv_std
    scale = graph.saved(gamma)
    out = normalized * scale
    out += beta.data

    def backward(g):
        grad_beta = g.sum(axis=axes)
        term = g * normalized
        grad_gamma = term.sum(axis=axes)
        # dx = γ/σ · (g − mean(g) − x̂·mean(g·x̂)): the batch's mean and variance depend on x too
        np.multiply(normalized, grad_gamma / count, out=term)
        grad_x = g - grad_beta / count
        grad_x -= term
        grad_x *= scale * inv_std
        return grad_x, grad_gamma, grad_beta

    return Tensor._from_op(out, (x, gamma, beta), "batch_norm", backward), mean, variance
