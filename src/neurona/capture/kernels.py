"""Captured kernels for the layers and activations: forward and backward into buffers planned once.

Each kernel repeats, with ``out=``, the NumPy calls of the eager op it stands for (autodiff/ops.py,
autodiff/softmax.py, layers/core.py) in the same order, so a replayed step's numbers are the eager
step's, bit for bit. A kernel owns the buffers it writes; ``forward`` keeps what ``backward`` reads.
"""

from __future__ import annotations

import numpy as np

from .. import activations, layers
from ..autodiff import Tensor


class Unsupported(Exception):
    """This model, loss or optimizer has no captured form; the message says which part and why."""


# ----- activations: forward(z) -> out, backward(g) -> dL/dz -----
class _Identity:
    def __init__(self, shape, dtype):
        pass

    def forward(self, z):
        return z

    def backward(self, g):
        return g


class _Sigmoid:
    def __init__(self, shape, dtype):
        self.out, self.tmp, self.grad = (np.empty(shape, dtype) for _ in range(3))

    def forward(self, z):  # 1 / (1 + exp(-z))
        out = self.out
        np.negative(z, out=out)
        np.exp(out, out=out)
        np.add(1, out, out=out)
        return np.divide(1, out, out=out)

    def backward(self, g):  # g * out * (1 - out)
        np.subtract(1, self.out, out=self.tmp)
        np.multiply(g, self.out, out=self.grad)
        return np.multiply(self.grad, self.tmp, out=self.grad)


class _Tanh:
    def __init__(self, shape, dtype):
        self.out, self.tmp, self.grad = (np.empty(shape, dtype) for _ in range(3))

    def forward(self, z):
        return np.tanh(z, out=self.out)

    def backward(self, g):  # g * (1 - out * out)
        np.multiply(self.out, self.out, out=self.tmp)
        np.subtract(1, self.tmp, out=self.tmp)
        return np.multiply(g, self.tmp, out=self.grad)


class _ReLU:
    def __init__(self, shape, dtype):
        self.out, self.grad = np.empty(shape, dtype), np.empty(shape, dtype)
        self.positive = np.empty(shape, bool)

    def forward(self, z):
        np.greater(z, 0, out=self.positive)
        return np.maximum(z, 0, out=self.out)

    def backward(self, g):  # g * (z > 0)
        return np.multiply(g, self.positive, out=self.grad)


class _LeakyReLU:
    def __init__(self, shape, dtype, alpha):
        self.alpha = np.asarray(alpha).astype(dtype)  # np.where(z > 0, 1, alpha).astype(dtype)
        self.out, self.slope, self.grad = (np.empty(shape, dtype) for _ in range(3))
        self.positive = np.empty(shape, bool)

    def forward(self, z):
        np.greater(z, 0, out=self.positive)
        self.slope[...] = self.alpha
        np.copyto(self.slope, 1, where=self.positive)
        return np.multiply(z, self.slope, out=self.out)

    def backward(self, g):
        return np.multiply(g, self.slope, out=self.grad)


class _ELU:
    def __init__(self, shape, dtype, alpha):
        self.alpha = alpha
        self.out, self.negative, self.slope, self.grad = (np.empty(shape, dtype) for _ in range(4))
        self.positive = np.empty(shape, bool)

    def forward(self, z):  # where(z > 0, z, alpha * expm1(min(z, 0)))
        np.greater(z, 0, out=self.positive)
        np.minimum(z, 0, out=self.negative)
        np.expm1(self.negative, out=self.negative)
        np.multiply(self.alpha, self.negative, out=self.negative)
        np.copyto(self.out, self.negative)
        np.copyto(self.out, z, where=self.positive)
        return self.out

    def backward(self, g):  # g * where(z > 0, 1, negative + alpha)
        np.add(self.negative, self.alpha, out=self.slope)
        np.copyto(self.slope, 1, where=self.positive)
        return np.multiply(g, self.slope, out=self.grad)


class _Softmax:
    def __init__(self, shape, dtype):
        self.out, self.grad = np.empty(shape, dtype), np.empty(shape, dtype)
        self.row = np.empty((shape[0], 1), dtype)

    def forward(self, z):  # e = exp(z - max); e / sum(e)
        with np.errstate(over="ignore"):
            np.subtract(z, z.max(axis=1, keepdims=True, initial=-np.inf), out=self.out)
        np.exp(self.out, out=self.out)
        return np.divide(self.out, self.out.sum(axis=1, keepdims=True), out=self.out)

    def backward(self, g):  # out * (g - sum(g * out))
        np.multiply(g, self.out, out=self.grad)
        np.subtract(g, self.grad.sum(axis=1, keepdims=True), out=self.grad)
        return np.multiply(self.out, self.grad, out=self.grad)


def activation_kernel(activation, shape, dtype):
    """The kernel of one of neurona's activations (a user's own subclass has none)."""
    kind = type(activation)
    if kind is activations.Linear:
        return _Identity(shape, dtype)
    if kind in (activations.LeakyReLU, activations.ELU):
        return {activations.LeakyReLU: _LeakyReLU, activations.ELU: _ELU}[kind](shape, dtype, activation.alpha)
    if kind is activations.Softmax and activation.axis not in (-1, 1):
        raise Unsupported(f"Softmax(axis={activation.axis}) on 2-D outputs is captured only along the last axis")
    simple = {activations.Sigmoid: _Sigmoid, activations.Tanh: _Tanh, activations.ReLU: _ReLU,
              activations.Softmax: _Softmax}
    if kind not in simple:
        raise Unsupported(f"the activation {kind.__name__} has no captured kernel")
    return simple[kind](shape, dtype)


# ----- layers: forward(x, training) -> out, backward(g, input_grad) -> dL/dx or None -----
class _Dense:
    """x @ W (+ b), then the activation; dW = xᵀ·g, db = Σ_rows g, dx = g·Wᵀ."""

    def __init__(self, layer, in_shape, batch, dtype, grads):
        self.layer, self.in_features = layer, int(np.prod(in_shape))
        self.z = np.empty((batch, layer.units), dtype)
        self.activation = activation_kernel(layer.activation, self.z.shape, dtype)
        self.kernel_grad = grads.get(id(layer.kernel))
        self.bias_grad = grads.get(id(layer.bias)) if layer.use_bias else None
        self.input_grad = np.empty((batch, self.in_features), dtype)
        self.x = None

    @property
    def scores(self):
        """The pre-activation values (what a fused cross-entropy reads)."""
        return self.z

    def forward(self, x, training):
        self.x = x if x.ndim == 2 else x.reshape(len(x), -1)
        np.matmul(self.x, self.layer.kernel.data, out=self.z)
        if self.layer.use_bias:
            np.add(self.z, self.layer.bias.data, out=self.z)
        return self.activation.forward(self.z)

    def backward(self, g, input_grad, skip_activation=False):
        if not skip_activation:
            g = self.activation.backward(g)
        if self.bias_grad is not None:
            g.sum(axis=(0,), out=self.bias_grad)
        if self.kernel_grad is not None:
            np.matmul(self.x.T, g, out=self.kernel_grad)
        if not input_grad:
            return None
        np.matmul(g, self.layer.kernel.data.T, out=self.input_grad)
        return self.input_grad


class _Activation:
    def __init__(self, layer, in_shape, batch, dtype, grads):
        self.activation = activation_kernel(layer.activation, (batch, *in_shape), dtype)
        if len(in_shape) != 1 and type(layer.activation) is activations.Softmax:
            raise Unsupported("a Softmax layer is captured on (batch, features) inputs only")

    @property
    def scores(self):
        return self.z

    def forward(self, x, training):
        self.z = x
        return self.activation.forward(x)

    def backward(self, g, input_grad, skip_activation=False):
        return g if skip_activation else self.activation.backward(g)


class _Flatten:
    def __init__(self, layer, in_shape, batch, dtype, grads):
        self.in_shape = (batch, *in_shape)

    def forward(self, x, training):
        return x.reshape(len(x), -1)

    def backward(self, g, input_grad, skip_activation=False):
        return g.reshape(self.in_shape) if input_grad else None


class _Dropout:
    """x · keep/(1 − rate), keep = (u >= rate) with u drawn from the layer's generator as the eager layer draws it."""

    def __init__(self, layer, in_shape, batch, dtype, grads):
        shape = (batch, *in_shape)
        self.layer, self.scale = layer, 1 / (1 - layer.rate)
        self.uniform = np.empty(shape, np.float32)
        self.keep = np.empty(shape, bool)
        self.mask, self.out, self.grad = (np.empty(shape, dtype) for _ in range(3))

    def forward(self, x, training):
        if not training or self.layer.rate == 0:
            self.active = False
            return x
        self.active = True
        self.layer.rng.random(self.uniform.shape, dtype=np.float32, out=self.uniform)
        np.greater_equal(self.uniform, self.layer.rate, out=self.keep)
        np.copyto(self.mask, self.keep)
        np.multiply(self.mask, self.scale, out=self.mask)
        return np.multiply(x, self.mask, out=self.out)

    def backward(self, g, input_grad, skip_activation=False):
        if not input_grad:
            return None
        return np.multiply(g, self.mask, out=self.grad) if self.active else g


class _Augment:
    """RandomFlip, RandomCrop: the layer's own ``augment`` on the batch's images (it draws from the layer's generator)."""

    stops_gradient = True

    def __init__(self, layer, in_shape, batch, dtype, grads):
        self.layer = layer

    def forward(self, x, training):
        if not training:
            return x
        return self.layer.augment(x.reshape((len(x),) + self.layer.image_shape)).reshape(x.shape)

    def backward(self, g, input_grad, skip_activation=False):
        return None  # no gradient flows into the data (the program checks nothing before needs one)


class _Island:
    """A layer with no kernel of its own (convolutions, pooling, batch normalization), run by the eager engine.

    Its call records a small graph from a fresh input leaf; backward walks only that graph, and the
    weights' gradients are copied into the flat gradient array. Each op computes what it computes in
    a whole-model graph, so the numbers are the same; the rest of the step stays captured.
    """

    def __init__(self, layer, in_shape, batch, dtype, grads):
        self.layer, self.grads = layer, [(w, grads.get(id(w))) for w in layer.weights]
        self.needs_input_grad = True  # the program says False for the first layer (the data needs none)

    def forward(self, x, training):
        self.input = Tensor(x, requires_grad=self.needs_input_grad)
        self.output = self.layer.call(self.input, training)
        return self.output.data

    def backward(self, g, input_grad, skip_activation=False):
        for weight, _ in self.grads:
            weight.grad = None
        if self.output.requires_grad:  # False only for a first layer without weights
            self.output.backward(g)
        for weight, flat in self.grads:
            if flat is not None:
                np.copyto(flat, 0 if weight.grad is None else weight.grad)
                weight.grad = flat
        grad, self.input, self.output = self.input.grad, None, None
        return grad if input_grad else None


_ISLANDS = (layers.Conv2D, layers.MaxPool2D, layers.AveragePooling2D, layers.GlobalAveragePooling2D,
            layers.BatchNormalization)

_KERNELS = {layers.Dense: _Dense, layers.Activation: _Activation, layers.Flatten: _Flatten, layers.Dropout: _Dropout,
            layers.RandomFlip: _Augment, layers.RandomCrop: _Augment}


def layer_kernel(layer, in_shape, batch, dtype, grads):
    """The captured kernel of a layer, for inputs (batch, *in_shape); ``grads`` maps id(weight) to its gradient."""
    kind = _KERNELS.get(type(layer)) or (_Island if type(layer) in _ISLANDS else None)
    if kind is None:
        raise Unsupported(f"the layer {layer.name} ({type(layer).__name__}) has no captured kernel")
    return kind(layer, in_shape, batch, dtype, grads)
