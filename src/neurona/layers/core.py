"""Layers: ``__init__`` stores configuration, ``build`` creates weights, ``call`` is the math.

A layer called on a Tensor computes; called on the symbolic output of ``Input`` (or of
another layer) it records a step of a functional model instead.
"""

from __future__ import annotations

import numpy as np

from . import _checks, activations, initializers
from .autodiff import Tensor, concat


class SymbolicTensor:
    """A placeholder for a layer's output in the functional API: its per-sample shape and where it comes from."""

    def __init__(self, shape: tuple, layer: "Layer | None" = None, inputs: tuple = (), as_list: bool = False):
        self.shape, self.layer, self.inputs, self.as_list = tuple(shape), layer, inputs, as_list

    def __repr__(self) -> str:
        source = type(self.layer).__name__ if self.layer else "Input"
        return f"SymbolicTensor(shape=(None, {', '.join(map(str, self.shape))}), from={source})"


def Input(shape) -> SymbolicTensor:  # noqa: N802 (a constructor, named like Keras's)
    """The input of a functional model: ``x = layers.Input(2)`` or ``layers.Input((32, 32, 3))``.

    Args:
        shape: the shape of one sample (an int for a vector), without the batch axis.

    Returns:
        A SymbolicTensor to call layers on; ``models.Model(x, y)`` then ties input to output.
    """
    dims = (shape,) if not isinstance(shape, (tuple, list)) else tuple(shape)
    for d in dims:
        _checks.positive_int("Input", "shape", d)
    return SymbolicTensor(tuple(int(d) for d in dims))


class Layer:
    """Base class of layers.

    Subclasses define ``build(input_shape, rng)`` (create weights with ``add_weight``),
    ``call(x, training)`` and ``get_config()``; ``compute_output_shape`` when it changes shape.
    """

    takes_list = False  # True for layers called on a list of tensors (Concatenate)

    def __init__(self, name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{type(self).__name__}: name must be a string. Received: name={name!r}")
        self.name, self.built, self._weights = name, False, {}

    # --- the contract ---
    def build(self, input_shape: tuple, rng: np.random.Generator, dtype=np.float32) -> None:
        self.built = True

    def weight_shapes(self, input_shape: tuple) -> dict:
        """The shapes ``build`` would create, without creating them (checked before loading a file)."""
        return {}

    def call(self, x, training: bool = False):
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {"name": self.name}

    # --- shared machinery ---
    def add_weight(self, key: str, value: np.ndarray, regularize: bool = False) -> Tensor:
        tensor = Tensor(value, requires_grad=True, name=f"{self.name or type(self).__name__.lower()}/{key}")
        self._weights[key] = (tensor, regularize)
        return tensor

    @property
    def weights(self) -> list:
        """Every trainable Tensor of the layer, in creation order."""
        return [t for t, _ in self._weights.values()]

    @property
    def regularized_weights(self) -> list:
        """The weights a regularizer applies to (kernels, not biases)."""
        return [t for t, regularize in self._weights.values() if regularize]

    def __call__(self, inputs, training: bool = False):
        if isinstance(inputs, SymbolicTensor) or (
                isinstance(inputs, (list, tuple)) and inputs and all(isinstance(i, SymbolicTensor) for i in inputs)):
            return self._record(inputs)
        inputs = self._check_inputs(inputs)
        if not self.built:
            shapes = [i.shape[1:] for i in inputs] if self.takes_list else inputs.shape[1:]
            self.build(shapes, np.random.default_rng())
        return self.call(inputs, training)

    def _check_inputs(self, inputs):
        """Inputs of a direct call as Tensors with a batch axis; a clear error instead of a NumPy one."""
        where = type(self).__name__
        if not self.takes_list:
            return _as_batch(where, "x", inputs)
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{where}: inputs must be a list of tensors. Received: {type(inputs).__name__}")
        return [_as_batch(where, f"inputs[{i}]", t) for i, t in enumerate(inputs)]

    def _record(self, inputs) -> SymbolicTensor:
        as_list = isinstance(inputs, (list, tuple))
        shapes = [i.shape for i in inputs] if as_list else inputs.shape
        return SymbolicTensor(self.compute_output_shape(shapes), self, tuple(inputs) if as_list else (inputs,), as_list)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


def _as_batch(where: str, name: str, x) -> Tensor:
    try:
        x = x if isinstance(x, Tensor) else Tensor(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: {name} must be a Tensor or an array of real numbers. {exc}") from exc
    if x.ndim < 2:
        raise ValueError(f"{where}: {name} must have a batch axis: (batch, features) or (batch, d1, d2, …). "
                         f"Received shape {x.shape}")
    if not np.isfinite(x.data).all():  # as fit/predict do: NaN/inf would only come out as NaN (with warnings)
        raise ValueError(f"{where}: {name} contains NaN or inf. Clean or impute the data first")
    return x


def _flat(x: Tensor) -> Tensor:
    """(batch, d1, d2, …) → (batch, d1·d2·…), also for an empty batch (where -1 cannot be inferred)."""
    return x.reshape(len(x), int(np.prod(x.shape[1:])))


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
                 bias_initializer="zeros", use_bias: bool = True, name: str | None = None):
        super().__init__(name)
        self.units = _checks.positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.input_dim = None if input_dim is None else _checks.positive_int("Dense", "input_dim", input_dim)
        self.factor = None if factor is None else _checks.real("Dense", "factor", factor, low=0.0)
        self.kernel_initializer = initializers.Normal(self.factor) if factor is not None else \
            initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        if not isinstance(use_bias, bool):
            raise ValueError(f"Dense: use_bias must be a bool. Received: use_bias={use_bias!r}")
        self.use_bias = use_bias

    def weight_shapes(self, input_shape):
        fan_in = int(np.prod(input_shape))
        return {"kernel": (fan_in, self.units), **({"bias": (self.units,)} if self.use_bias else {})}

    def build(self, input_shape, rng, dtype=np.float32):
        fan_in = int(np.prod(input_shape))
        if self.input_dim is not None and fan_in != self.input_dim:
            raise ValueError(f"x has {fan_in} features (per-sample shape {tuple(input_shape)}), "
                             f"but the layer {self.name or 'Dense'} expects input_dim={self.input_dim}")
        shapes = self.weight_shapes(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_initializer(shapes["kernel"], rng, dtype), True)
        self.bias = self.add_weight("bias", self.bias_initializer(shapes["bias"], rng, dtype)) if self.use_bias else None
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
                "bias_initializer": initializers.serialize(self.bias_initializer), "use_bias": self.use_bias}

    @classmethod
    def from_config(cls, config: dict) -> "Dense":
        config = dict(config)
        config["activation"] = activations.deserialize(config["activation"])
        for key in ("kernel_initializer", "bias_initializer"):
            config[key] = initializers.deserialize(config[key])
        return cls(**config)


class Activation(Layer):
    """Applies an activation on its own: ``layers.Activation("relu")``."""

    def __init__(self, activation, name: str | None = None):
        super().__init__(name)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        return self.activation(x if isinstance(x, Tensor) else Tensor(x))

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}

    @classmethod
    def from_config(cls, config):
        return cls(activations.deserialize(config["activation"]), config.get("name"))


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
        self.rng = rng
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not training or self.rate == 0:
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        return x * (keep.astype(x.dtype) * (1 / (1 - self.rate)))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class RandomFlip(Layer):
    """During training, mirror each image left–right with probability 1/2 (data augmentation).

    Inputs are images (batch, height, width, channels) or their flattened rows, given
    ``image_shape``. At inference it is the identity.

    Args:
        image_shape: (height, width, channels) of one image.
    """

    def __init__(self, image_shape=(32, 32, 3), name: str | None = None):
        super().__init__(name)
        if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
            raise ValueError(f"RandomFlip: image_shape must be (height, width, channels). Received: {image_shape!r}")
        self.image_shape = tuple(_checks.positive_int("RandomFlip", "image_shape", d) for d in image_shape)

    def build(self, input_shape, rng, dtype=np.float32):
        if int(np.prod(input_shape)) != int(np.prod(self.image_shape)):
            raise ValueError(f"RandomFlip: inputs of shape {tuple(input_shape)} are not images of shape {self.image_shape}")
        self.rng = rng
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not training:
            return x
        images = x.data.reshape((len(x),) + self.image_shape)
        flip = self.rng.random(len(x)) < 0.5
        out = images.copy()
        out[flip] = images[flip, :, ::-1]
        return Tensor(out.reshape(x.shape))  # augmentation of the data: no gradient flows to the input

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape)}


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

    def __init__(self, input_dim=None, axis: int = -1, name: str | None = None):
        super().__init__(name)
        self.input_dim = None if input_dim is None else _checks.positive_int("Concatenate", "input_dim", input_dim)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"Concatenate: axis must be an int. Received: axis={axis!r}")
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


REGISTRY = {cls.__name__: cls for cls in (Dense, Activation, Flatten, Dropout, RandomFlip, Concatenate)}


def from_config(entry: dict) -> Layer:
    """A layer from ``{"class": name, "config": {...}}``; only the classes above can be created."""
    cls = REGISTRY.get(entry.get("class")) if isinstance(entry, dict) else None
    if cls is None:
        raise ValueError(f"Unknown layer in model file: {entry!r:.80}. Valid: {', '.join(REGISTRY)}")
    config = entry.get("config", {})
    return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
