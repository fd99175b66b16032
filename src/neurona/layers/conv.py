"""Convolution and pooling layers over NHWC images: Conv2D, MaxPool2D, AveragePooling2D, GlobalAveragePooling2D.

Images are (batch, height, width, channels), CIFAR-10's natural (N, 32, 32, 3); the math is
``neurona.autodiff.conv2d`` / ``max_pool2d`` / ``avg_pool2d``, whose heavy work is one matmul.
"""

from __future__ import annotations

import numpy as np

from .. import _checks, activations, initializers
from ..autodiff import Tensor, avg_pool2d, conv2d, max_pool2d
from ..autodiff.conv import output_size
from .base import Layer
from .core import deserialize_weighted

_MAX_FILTERS = 2**20  # larger is a typo, not a layer


def _pair(where: str, name: str, value) -> tuple:
    """An int or a pair of positive ints, as a pair (kernel_size=3 → (3, 3))."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{where}: {name} must be a positive int or a pair of them. "
                         f"Received: {name}={_checks.echo(value)}")
    return tuple(_checks.positive_int(where, name, v, high=_MAX_FILTERS) for v in items)


def _padding(where: str, padding):
    """'valid', 'same', or a non-negative int or pair (zeros on each side)."""
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid', 'same', or a non-negative int or pair. "
                             f"Received: padding={_checks.echo(padding)}")
        return padding
    items = tuple(padding) if isinstance(padding, (tuple, list)) else (padding, padding)
    if len(items) != 2:
        raise ValueError(f"{where}: padding must be 'valid', 'same', or a non-negative int or pair. "
                         f"Received: padding={_checks.echo(padding)}")
    pads = tuple(_checks.integer(where, "padding", v, low=0, high=_MAX_FILTERS) for v in items)
    return pads[0] if pads[0] == pads[1] else pads


def _image_shape(where: str, input_shape) -> tuple:
    """The per-sample shape must be (height, width, channels)."""
    if len(input_shape) != 3:
        raise ValueError(f"{where}: inputs must be images (batch, height, width, channels). Received per-sample "
                         f"shape {tuple(input_shape)}; add layers.Input((32, 32, 3)) first, or reshape the data")
    return tuple(int(d) for d in input_shape)


def _images(where: str, x) -> Tensor:
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{where}: x must be images (batch, height, width, channels). Received shape {x.shape}")
    return x


class Conv2D(Layer):
    """A 2-D convolution: activation(conv2d(x, W) + b), with W stored as (kernel_h, kernel_w, in, filters).

    Args:
        filters: output channels.
        kernel_size: an int or (height, width); 3 is the usual choice.
        strides: step between windows, an int or pair.
        padding: 'valid' (no padding), 'same' (Keras's: ceil(size / stride) outputs), or zeros on each side
            as an int or pair (padding=1 with a 3x3 kernel keeps the size, as PyTorch writes it).
        activation: an Activation, its name, or None for linear.
        kernel_initializer: default Glorot uniform; fans count the window, as in Keras and PyTorch:
            fan_in = kh·kw·in, fan_out = kh·kw·filters. "he_normal" (std √(2 / fan_in)) suits ReLU.
        bias_initializer: default zeros.
        use_bias: whether to add b (a BatchNormalization right after makes it redundant).
        dilation_rate: spacing between kernel taps, an int or pair.
        input_shape: (height, width, channels) of one image, when this is the first layer (Keras's habit).

    Shape:
        (batch, height, width, in) → (batch, out_h, out_w, filters).

    Example:
        >>> layers.Conv2D(32, 3, padding="same", activation="relu")
    """

    def __init__(self, filters, kernel_size=3, strides=1, padding="valid", activation=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", use_bias: bool = True,
                 dilation_rate=1, name: str | None = None, input_shape=None):
        super().__init__(name, input_shape)
        self.filters = _checks.positive_int("Conv2D", "filters", filters, high=_MAX_FILTERS)
        self.kernel_size = _pair("Conv2D", "kernel_size", kernel_size)
        self.strides = _pair("Conv2D", "strides", strides)
        self.padding = _padding("Conv2D", padding)
        self.dilation_rate = _pair("Conv2D", "dilation_rate", dilation_rate)
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.use_bias = _checks.boolean("Conv2D", "use_bias", use_bias)

    def weight_shapes(self, input_shape):
        channels = _image_shape("Conv2D", input_shape)[2]
        return {"kernel": (*self.kernel_size, channels, self.filters),
                **({"bias": (self.filters,)} if self.use_bias else {})}

    def build(self, input_shape, rng, dtype=np.float32):
        self.compute_output_shape(input_shape)  # the geometry must fit before any weight is drawn
        shapes = self.weight_shapes(input_shape)
        self.kernel = self.add_weight("kernel", shapes["kernel"], self.kernel_initializer, regularize=True)
        self.bias = self.add_weight("bias", shapes["bias"], self.bias_initializer) if self.use_bias else None
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        z = conv2d(_images("Conv2D", x), self.kernel, self.strides, self.padding, self.dilation_rate)
        return self.activation(z + self.bias if self.use_bias else z)

    def compute_output_shape(self, input_shape):
        shape = _image_shape("Conv2D", input_shape)
        return (*output_size("conv2d", shape, self.kernel_size, self.strides, self.padding, self.dilation_rate),
                self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": _listed(self.padding),
                "activation": activations.serialize(self.activation),
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer), "use_bias": self.use_bias,
                "dilation_rate": list(self.dilation_rate)}

    @classmethod
    def from_config(cls, config: dict) -> "Conv2D":
        return cls(**deserialize_weighted(config))


def _listed(padding):
    return list(padding) if isinstance(padding, tuple) else padding


class _Pool2D(Layer):
    """What MaxPool2D and AveragePooling2D share: a window, a stride (default: the window) and padding."""

    _op, _pool = "", None

    def __init__(self, pool_size=2, strides=None, padding="valid", name: str | None = None, input_shape=None):
        super().__init__(name, input_shape)
        where = type(self).__name__
        self.pool_size = _pair(where, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _pair(where, "strides", strides)
        self.padding = _padding(where, padding)
        output_size(self._op, (max(self.pool_size), max(self.pool_size), 1), self.pool_size, self.strides,
                    self.padding)  # an int padding beyond half the window is refused here, not at the first batch

    def build(self, input_shape, rng, dtype=np.float32):
        self.compute_output_shape(input_shape)
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        return self._pool(_images(type(self).__name__, x), self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        shape = _image_shape(type(self).__name__, input_shape)
        return (*output_size(self._op, shape, self.pool_size, self.strides, self.padding), shape[2])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": _listed(self.padding)}


class MaxPool2D(_Pool2D):
    """The max of each window, per channel (the gradient goes to the first maximum).

    Args:
        pool_size: an int or pair; default 2 (halves height and width).
        strides: default pool_size (windows side by side).
        padding: 'valid', 'same' (pads with −inf), or an int or pair of at most half the window.

    Shape:
        (batch, height, width, channels) → (batch, out_h, out_w, channels).
    """

    _op, _pool = "max_pool2d", staticmethod(max_pool2d)


class AveragePooling2D(_Pool2D):
    """The mean of each window, per channel; padding is not counted in the mean. Arguments as MaxPool2D."""

    _op, _pool = "avg_pool2d", staticmethod(avg_pool2d)


class GlobalAveragePooling2D(Layer):
    """The mean of each channel over the whole image: (batch, height, width, channels) → (batch, channels)."""

    def build(self, input_shape, rng, dtype=np.float32):
        _image_shape("GlobalAveragePooling2D", input_shape)
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        return _images("GlobalAveragePooling2D", x).mean(axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (_image_shape("GlobalAveragePooling2D", input_shape)[2],)
