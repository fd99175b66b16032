"""The layer contract: ``__init__`` stores configuration, ``build`` declares weights, ``call`` is the math.

A layer declares each weight once with ``add_weight`` (trainable or not) and each random
generator once with ``add_generator``; its state (``state_dict``) is those two, so saving,
checkpoints and optimizers need no edits when a new stateful layer arrives.
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import _checks, _state, initializers, regularizers
from ..autodiff import Tensor


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


class _Weight:
    """One declared weight: its Tensor and what it is for."""

    def __init__(self, tensor: Tensor, trainable: bool, regularize: bool, regularizer=None):
        self.tensor, self.trainable, self.regularize, self.regularizer = tensor, trainable, regularize, regularizer


class Layer(_state.Stateful):
    """Base class of layers.

    Subclasses define ``build(input_shape, rng, dtype)`` (declare weights with ``add_weight``
    and generators with ``add_generator``), ``call(x, training)`` and ``get_config()``;
    ``compute_output_shape`` and ``weight_shapes`` when they change shape or own weights.

    Attributes a layer may declare:
        takes_list: called on a list of tensors (Concatenate).
        joins_input: inside a ``Network``, also receives the network's input (Concatenate).
    """

    takes_list = False
    joins_input = False

    def __init__(self, name: str | None = None, input_shape=None):
        where = type(self).__name__
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{where}: name must be a string. Received: name={_checks.echo(name)}")
        if input_shape is not None:
            dims = (input_shape,) if not isinstance(input_shape, (tuple, list)) else tuple(input_shape)
            input_shape = tuple(_checks.positive_int(where, "input_shape", d, high=2**31 - 1) for d in dims)
        self._given_input_shape = input_shape
        self.declared_input_shape = input_shape  # a first layer may fix the model's input shape (Keras's habit)
        self.name, self.built = name, False
        self._weights, self._generators = {}, set()
        self._init_rng, self.dtype = None, np.dtype(np.float32)

    # --- the contract ---
    def build(self, input_shape: tuple, rng: np.random.Generator, dtype=np.float32) -> None:
        self.built = True

    def weight_shapes(self, input_shape: tuple) -> dict:
        """The shapes ``build`` would create, without creating them (summaries, and checks before loading)."""
        return {}

    def call(self, x, training: bool = False):
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        config = {"name": self.name}
        if self._given_input_shape is not None and "input_shape" in inspect.signature(type(self)).parameters:
            config["input_shape"] = list(self._given_input_shape)
        return config

    # --- declaring state ---
    def add_weight(self, name: str, shape, initializer="zeros", trainable: bool = True,
                   regularize: bool = False, regularizer=None) -> Tensor:
        """Create and declare one weight; call it from ``build``.

        Args:
            name: unique within the layer ("kernel", "bias", "moving_mean").
            shape: the weight's shape.
            initializer: an Initializer, its name, or a function ``(shape, rng, dtype) -> array``.
            trainable: whether the optimizer steps it (gradients flow to it); a running statistic is not.
            regularize: whether ``fit(reg=...)`` penalizes it (kernels, not biases).
            regularizer: a penalty of this weight's own (Keras's ``kernel_regularizer``), added to the loss.
        """
        if name in self._weights:
            raise ValueError(f"{type(self).__name__}.add_weight: a weight named {name!r} already exists")
        where = f"{type(self).__name__}.add_weight"
        if not isinstance(name, str) or not name:
            raise ValueError(f"{where}: name must be a non-empty string. Received: name={name!r:.80}")
        if not isinstance(shape, (tuple, list)):
            raise TypeError(f"{where}: shape must be a tuple of ints (give initial values through initializer=). "
                            f"Received: {type(shape).__name__}")
        shape = tuple(_checks.positive_int(where, "shape", d) for d in shape)
        init = initializer if callable(initializer) and not isinstance(initializer, str) else \
            initializers.get(initializer)
        rng = self._init_rng if self._init_rng is not None else np.random.default_rng()
        value = np.asarray(init(shape, rng, self.dtype), dtype=self.dtype)
        if value.shape != shape:
            raise ValueError(f"{where}: the initializer made shape {value.shape} for the weight {name!r}, not {shape}")
        tensor = Tensor(value, requires_grad=trainable, name=f"{self.name or type(self).__name__.lower()}/{name}")
        self._weights[name] = _Weight(tensor, bool(trainable), bool(regularize), regularizers.get(regularizer))
        return tensor

    def add_generator(self, name: str, rng: np.random.Generator) -> np.random.Generator:
        """Declare a random generator the layer draws from while training (Dropout's masks), as ``self.<name>``."""
        self._generators.add(name)
        setattr(self, name, rng)
        return rng

    @property
    def weights(self) -> list:
        """Every weight of the layer, trainable or not, in declaration order."""
        return [w.tensor for w in self._weights.values()]

    @property
    def trainable_weights(self) -> list:
        return [w.tensor for w in self._weights.values() if w.trainable]

    @property
    def regularized_weights(self) -> list:
        """The weights a regularizer applies to (kernels, not biases)."""
        return [w.tensor for w in self._weights.values() if w.regularize]

    @property
    def weight_penalties(self) -> list:
        """(regularizer, weight) for each weight declared with a regularizer of its own."""
        return [(w.regularizer, w.tensor) for w in self._weights.values() if w.regularizer is not None]

    # --- the state protocol: weights by name, generators by name ---
    def state_dict(self) -> dict:
        return {"weights": {key: w.tensor.data for key, w in self._weights.items()},
                "generators": {key: _state.generator_state(getattr(self, key)) for key in self._generators}}

    def check_state(self, state) -> None:
        where = f"layer {self.name}"
        _state.fields(state, ("weights", "generators"), where)
        _state.fields(state["weights"], self._weights, f"{where} weights")
        for key, w in self._weights.items():
            _state.array(state["weights"][key], w.tensor.shape, w.tensor.dtype, f"{where} weight {key}")
        _state.fields(state["generators"], self._generators, f"{where} generators")
        for key in self._generators:
            _state.check_generator(getattr(self, key), state["generators"][key], f"{where} generator {key}")

    def set_state(self, state: dict) -> None:
        for key, w in self._weights.items():
            np.copyto(w.tensor.data, state["weights"][key])
        for key in self._generators:
            _state.set_generator(getattr(self, key), state["generators"][key])

    # --- calling ---
    def _build(self, input_shape, rng: np.random.Generator, dtype) -> None:
        """What models call: ``build`` with the generator and dtype that ``add_weight`` uses."""
        self._init_rng, self.dtype = rng, np.dtype(dtype)
        try:
            self.build(input_shape, rng, dtype)
        finally:
            self._init_rng = None

    def __call__(self, inputs, training: bool = False):
        if isinstance(inputs, SymbolicTensor) or (
                isinstance(inputs, (list, tuple)) and inputs and all(isinstance(i, SymbolicTensor) for i in inputs)):
            return self._record(inputs)
        inputs = self._check_inputs(inputs)
        if not self.built:
            shapes = [i.shape[1:] for i in inputs] if self.takes_list else inputs.shape[1:]
            self._build(shapes, np.random.default_rng(), np.float32)
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
        if self.takes_list != as_list:
            wanted = "a list of tensors, e.g. [a, b]" if self.takes_list else "one tensor, not a list"
            raise ValueError(f"{type(self).__name__}: call it on {wanted}. Received: {_checks.echo(inputs)}")
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


def flat(x: Tensor) -> Tensor:
    """(batch, d1, d2, …) → (batch, d1·d2·…), also for an empty batch (where -1 cannot be inferred)."""
    return x.reshape(len(x), int(np.prod(x.shape[1:])))
