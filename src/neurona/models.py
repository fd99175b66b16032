"""Models: ``Network`` (layers added one after another, the practical's API) and ``Model`` (functional).

A model is its structure: a list of distinct layers plus a list of *steps*, where step k
applies one layer to earlier values (value 0 is the model's input). This module owns
building, forward, predict, summary, weights, state and the description a file stores;
``training`` owns the loop (``fit``/``evaluate`` delegate to it) and ``saving`` the file format.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _checks, _conventions, _inputs, _state, layers as layer_module, losses, saving, training
from .autodiff import Tensor, no_grad
from .layers import Layer, SymbolicTensor

_PREDICT_BATCH = training.PREDICT_BATCH
_FROM_FILE = "file"  # the weights' origin after models.load: not drawn from any seed


class BaseModel(_state.Composite):
    """What Network and Model share. Subclasses provide ``steps``.

    Attributes:
        layers: the distinct layers, in the order they were first used.
        weights: every weight Tensor (trainable or not), each once even if its layer is used twice.
        trainable_weights: the weights the optimizer steps (``parameters`` is the same list).
    """

    def __init__(self, name: str | None, dtype, seed: int | None):
        where = type(self).__name__
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{where}: name must be a string. Received: name={name!r:.80}")
        try:
            resolved = np.dtype(dtype)
        except (TypeError, ValueError):
            resolved = None
        if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"{where}: dtype must be float32 or float64. Received: dtype={dtype!r:.80}")
        self.name, self.dtype, self.seed = name, resolved, _checks.seed(where, seed)
        self.layers, self.input_shape, self.built, self.weights_seed = [], None, False, None
        self.stop_training, self.loss, self.history, self.compiled = False, None, None, None

    @property
    def steps(self) -> list:
        raise NotImplementedError

    def _name_layers(self) -> None:
        for index, layer in enumerate(self.layers):
            if layer.name is None:
                layer.name = f"{type(layer).__name__.lower()}_{index}"

    def _check_step(self, layer: Layer, input_shapes) -> None:
        """A hook for subclasses to validate a step while building."""

    # ----- shapes and weights -----
    def _walk_shapes(self):
        """(layer index, layer input shape(s)) for every step, computed from shapes alone."""
        if self.input_shape is None:
            raise ValueError(f"{type(self).__name__}: the input shape is unknown; give the first layer "
                             "input_dim=..., or call fit() / build(input_shape)")
        shapes = [tuple(self.input_shape)]
        for index, sources, as_list in self.steps:
            inputs = [shapes[i] for i in sources]
            layer_input = inputs if as_list else inputs[0]
            yield index, layer_input
            shapes.append(tuple(self.layers[index].compute_output_shape(layer_input)))

    def output_shapes(self) -> list:
        """The per-sample shape after each step."""
        return [tuple(self.layers[index].compute_output_shape(shape)) for index, shape in self._walk_shapes()]

    def weight_shapes(self) -> list:
        """``(name, shape)`` of every weight, in ``weights`` order, computed without drawing any."""
        shapes, first_input = [], {}
        for index, layer_input in self._walk_shapes():
            first_input.setdefault(index, layer_input)
        for index, layer in enumerate(self.layers):
            if index in first_input:
                shapes += [(f"{layer.name}/{key}", tuple(shape))
                           for key, shape in layer.weight_shapes(first_input[index]).items()]
        return shapes

    def build(self, input_shape=None, seed=None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (per sample).

        Args:
            input_shape: one sample's shape; needed unless the first layer gave input_dim.
            seed: an int; default the model's seed. Each layer draws from its own stream,
                so ``build(seed=s)`` then ``fit(seed=s)`` equals ``fit(seed=s)`` alone.
        """
        if self.built:
            return
        if input_shape is not None:
            self.input_shape = tuple(_checks.positive_int("build", "input_shape", d) for d in input_shape)
        if not self.layers:
            raise ValueError(f"{type(self).__name__}: the model has no layers; add some with model.add(...)")
        seed = self.seed if seed is None else _checks.seed("build", seed)
        streams = _state.streams(seed)[0].spawn(len(self.layers))
        for index, layer_input in self._walk_shapes():
            layer = self.layers[index]
            self._check_step(layer, layer_input)
            if not layer.built:
                layer._build(layer_input, np.random.default_rng(streams[index]), self.dtype)
        self.built, self.weights_seed = True, seed

    @property
    def weights(self) -> list:
        """Every weight Tensor, trainable or not, layer by layer; each once."""
        return _unique(w for layer in self.layers for w in layer.weights)

    @property
    def trainable_weights(self) -> list:
        """The weights the optimizer steps, layer by layer; each once (a shared layer is stepped once)."""
        return _unique(w for layer in self.layers for w in layer.trainable_weights)

    parameters = trainable_weights  # the practical's name

    @property
    def regularized_weights(self) -> list:
        return _unique(w for layer in self.layers for w in layer.regularized_weights)

    def penalty(self, reg=None):
        """The regularization term as a Tensor (None if there is none): ``reg`` over the regularized
        weights (fit's ``reg=``), plus each weight's own regularizer (``Dense(kernel_regularizer=...)``)."""
        terms = [reg(self.regularized_weights)] if reg is not None and self.regularized_weights else []
        terms += [own([w]) for layer in self.layers for own, w in layer.weight_penalties]
        return None if not terms else sum(terms[1:], terms[0])

    # ----- computing -----
    def forward(self, x, training: bool = False) -> Tensor:
        """Run the steps on a batch ``x`` (a Tensor or array) and return the output Tensor; builds on first use."""
        values = [x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.dtype))]
        if not self.built:
            self.build(self.input_shape or values[0].shape[1:])
        for index, sources, as_list in self.steps:
            args = [values[i] for i in sources]
            values.append(self.layers[index].call(args if as_list else args[0], training))
        return values[-1]

    __call__ = forward

    def predict(self, x, batch_size: int | None = None, verbose: int = 0, **unknown) -> np.ndarray:
        """The network's outputs for ``x``, computed in batches without recording a graph.

        ``verbose`` is accepted for Keras's sake; prediction shows no progress bar.
        """
        _conventions.refuse_unknown("predict", unknown, ("batch_size", "verbose"))
        if isinstance(verbose, bool) or verbose not in (0, 1, 2):
            raise ValueError(f"predict: verbose must be 0, 1 or 2. Received: verbose={_checks.echo(verbose)}")
        x = _inputs.as_samples("predict", "x", x, min_ndim=2)
        self.require_built("predict", x)
        batch_size = _PREDICT_BATCH if batch_size is None else _checks.positive_int("predict", "batch_size", batch_size)
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, with advice
            parts = [self.forward(self.batch(x[i:i + batch_size])).data for i in range(0, len(x), batch_size)]
        out = np.concatenate(parts)
        self.check_outputs("predict", out, x)
        return out

    def check_outputs(self, where: str, out: np.ndarray, x: np.ndarray) -> None:
        """Finite inputs must give finite outputs; say whether the weights or the input scale are to blame."""
        if np.isfinite(out).all():
            return
        bad = next((w.name for w in self.weights if not np.isfinite(w.data).all()), None)
        if bad is not None:
            raise ValueError(f"{where}: the model's weight {bad} holds NaN or inf, so its outputs do too (x is "
                             "finite). Retrain with a smaller learning rate, or load a saved model")
        _inputs.check_outputs(where, out, x)

    def batch(self, x: np.ndarray) -> Tensor:
        """Rows of data as a Tensor of the model's dtype."""
        return Tensor(x.astype(self.dtype, copy=False))

    def require_built(self, where: str, x: np.ndarray) -> None:
        """Build from the known input shape if needed, and check that ``x`` fits the model."""
        if not self.built:
            if self.input_shape is None:
                raise ValueError(f"{where}: the model is not built yet; call fit() first, or give the first layer "
                                 "input_dim=..., or call build(input_shape)")
            self.build()
        _inputs.check_width(where, x, self.input_shape)
        _inputs.check_range(where, x, self.dtype)

    # ----- training (the loop lives in neurona.training) -----
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **unknown) -> None:
        """Keras's habit: fix the optimizer, loss and metrics that ``fit`` and ``evaluate`` then use.

        Args:
            optimizer: an Optimizer or its name ("adam", "sgd", "rmsprop"), kept across fit calls.
            loss: a Loss or its name (Keras's names too: "sparse_categorical_crossentropy", …).
            metrics: e.g. ["accuracy"]; every fit measures the loss and accuracy.
        """
        _conventions.refuse_unknown("compile", unknown, ("optimizer", "loss", "metrics"))
        self.compiled = _conventions.Compiled.make(optimizer, loss, metrics)

    def fit(self, x, y=None, *args, **kwargs):
        return training.fit(self, x, y, *args, **kwargs)

    fit.__doc__ = training.fit.__doc__

    def evaluate(self, x, y=None, *args, **kwargs):
        return training.evaluate(self, x, y, *args, **kwargs)

    evaluate.__doc__ = training.evaluate.__doc__

    def check_seed(self, seed: int | None) -> None:
        """Warn when ``fit(seed=...)`` cannot decide the weights because they were drawn with another seed."""
        if seed is not None and self.built and self.weights_seed != _FROM_FILE and self.weights_seed != seed:
            drawn = "fresh entropy (seed=None)" if self.weights_seed is None else f"seed={self.weights_seed}"
            warnings.warn(f"fit: the weights were already drawn with {drawn} (by build, summary, predict or an "
                          f"earlier fit), so seed={seed} only drives the shuffling; build a new model, or call "
                          f"build(seed={seed}) first, for a run that seed={seed} fully decides", stacklevel=5)

    # ----- description, state and persistence -----
    def summary(self) -> None:
        """Print each layer with its output shape and parameter count (``summary_table`` gives the text).

        It draws no weights, and returns nothing, as Keras's does (a notebook shows the table once).
        """
        print(summary_table(self))

    def __repr__(self) -> str:
        shape = "?" if self.input_shape is None else ", ".join(map(str, self.input_shape))
        layers = ", ".join(f"{layer.name}: {type(layer).__name__}" for layer in self.layers)
        name = f"{self.name!r}, " if self.name else ""
        return f"{type(self).__name__}({name}input (None, {shape}), layers [{layers}], {len(self.steps)} steps)"

    def get_config(self) -> dict:
        """Everything needed to rebuild the model except its weight values (the JSON a model file holds)."""
        config = {"class": type(self).__name__, "name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                  "input_shape": list(self.input_shape) if self.input_shape else None,
                  "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in self.layers],
                  "steps": [[i, list(sources), as_list] for i, sources, as_list in self.steps]}
        if self.loss is not None:
            config["loss"] = losses.serialize(self.loss)
        return config

    _state_key = "layers"  # the state: every layer's weights (trainable or not) and random generators

    def _state_parts(self) -> list:
        return self.layers

    def save(self, path) -> None:
        """Write config (JSON) and weights into one ``.npz`` file, atomically. No pickle."""
        if not self.built:
            self.build()
        saving.save_model(path, self.get_config(), [(name, w.data) for (name, _), w in
                                                     zip(self.weight_shapes(), self.weights)])


def _unique(tensors) -> list:
    seen, out = set(), []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


class Model(BaseModel):
    """A model from the functional API: the graph of layer calls between an Input and an output.

    Args:
        inputs: the SymbolicTensor returned by ``layers.Input``.
        outputs: a SymbolicTensor computed from it by calling layers.
        name: a label for summaries and progress bars.
        dtype: "float32" (default) or "float64" for the weights and the computation.
        seed: for weight initialisation (and dropout), unless ``fit(seed=...)`` builds the model first.

    Example:
        >>> x = layers.Input(2)
        >>> h = layers.Dense(2, activation="tanh")(x)
        >>> y = layers.Dense(1, activation="tanh")(layers.Concatenate()([x, h]))
        >>> model = models.Model(x, y)
    """

    def __init__(self, inputs: SymbolicTensor, outputs: SymbolicTensor, name: str | None = None,
                 dtype="float32", seed: int | None = None):
        for arg, value in (("inputs", inputs), ("outputs", outputs)):
            if not isinstance(value, SymbolicTensor):
                raise TypeError(f"Model: {arg} must be a SymbolicTensor (from layers.Input or a layer call). "
                                f"Received: {type(value).__name__}")
        if inputs.layer is not None:
            raise ValueError("Model: inputs must come from layers.Input(...), not from a layer call")
        super().__init__(name, dtype, seed)
        self.input_shape = inputs.shape
        self.layers, self._steps = _trace(inputs, outputs)
        self._name_layers()

    @property
    def steps(self) -> list:
        return self._steps


def _trace(inputs: SymbolicTensor, outputs: SymbolicTensor) -> tuple:
    """Order the layer calls that lead from inputs to outputs (iteratively; parents first)."""
    order, index_of, stack = [], {id(inputs): 0}, [(outputs, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in index_of:
            continue
        if ready:
            index_of[id(node)] = len(order) + 1
            order.append(node)
            continue
        if node.layer is None:
            raise ValueError(f"Model: the outputs depend on an Input that is not the model's inputs: {node!r}")
        stack.append((node, True))
        stack.extend((parent, False) for parent in node.inputs if id(parent) not in index_of)
    layers, steps = [], []
    for node in order:
        if not any(node.layer is layer for layer in layers):
            layers.append(node.layer)
        layer_index = next(i for i, layer in enumerate(layers) if layer is node.layer)
        steps.append((layer_index, tuple(index_of[id(p)] for p in node.inputs), node.as_list))
    return layers, steps


class Network(BaseModel):
    """A stack of layers, each fed by the previous one: the practical's ``models.Network()``.

    A layer that declares ``joins_input`` (``layers.Concatenate(input_dim)``) joins the previous
    output with the network's input. The same layer object added twice is one layer used
    twice: its weights are shared, stepped once per batch, and stay tied when saved.

    Args:
        layers: optional list of layers to add.
        name, dtype, seed: as in Model.

    Example:
        >>> model = models.Network()
        >>> model.add(layers.Dense(units=2, activation=activations.Tanh(), input_dim=2))
        >>> model.add(layers.Dense(units=1, activation=activations.Tanh()))
        >>> history = model.fit(x, y, epochs=3000, loss=losses.MSE(), opt=optimizers.BGD(lr=0.01, bs=4))
    """

    def __init__(self, layers: list | None = None, name: str | None = None, dtype="float32", seed: int | None = None):
        super().__init__(name, dtype, seed)
        self._order = []  # the layer index of each step
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"Network: layers must be a list of layers. Received: {type(layers).__name__}")
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Append a layer (or ``layers.Input(shape)`` first, to fix the input shape)."""
        if isinstance(layer, SymbolicTensor) and layer.layer is None:
            if self._order:
                raise ValueError("Network.add: an Input can only be added before any layer")
            self.input_shape = layer.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Network.add: expected a layer. Received: {layer!r:.80} ({type(layer).__name__})")
        if self.built:
            raise ValueError("Network.add: the network is already built (it has weights); create a new Network")
        if not self._order and self.input_shape is None and layer.declared_input_shape is not None:
            self.input_shape = layer.declared_input_shape
        if layer.joins_input and not self._order:
            raise ValueError(f"Network.add: {type(layer).__name__} cannot be the first layer: it joins the previous "
                             "layer's output with the network's input, so add a layer before it")
        index = next((i for i, known in enumerate(self.layers) if known is layer), None)
        if index is None:
            index = len(self.layers)
            self.layers.append(layer)
        self._order.append(index)
        self._name_layers()

    @property
    def steps(self) -> list:
        return [(index, (position, 0) if self.layers[index].joins_input else (position,),
                 self.layers[index].joins_input) for position, index in enumerate(self._order)]

    def _check_step(self, layer: Layer, input_shapes) -> None:
        if layer.joins_input and getattr(layer, "input_dim", None) is not None:
            width = int(np.prod(self.input_shape))
            if layer.input_dim != width:
                raise ValueError(f"{type(layer).__name__}: input_dim={layer.input_dim}, but the network's input has "
                                 f"{width} features")


Sequential = Network  # Keras's name for the same thing


def load(path, custom_objects: dict | None = None) -> BaseModel:
    """Load a model saved with ``model.save(path)``. The file holds JSON and arrays only: loading runs no code.

    Args:
        path: the ``.npz`` file.
        custom_objects: your own Layer subclasses, ``{"Name": Name}``, for a model that uses them.

    The whole file is checked (description, then every array's declared size, shape and values)
    before any weight is allocated; a malformed one is a ValueError naming the file and the field.
    """
    custom_objects = _custom_layers(custom_objects)
    with saving.ModelFile(path) as file:
        try:
            model = from_config(file.config, custom_objects)
            expected = model.weight_shapes()
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{file.path}: the model description is invalid: {exc}"[:2000]) from None
        arrays = file.weights(expected)  # checked against the layers' shapes: a forged description allocates nothing
    try:
        model.build()
    except ValueError as exc:
        raise ValueError(f"{file.path}: the model description is invalid: {exc}"[:2000]) from None
    for tensor, value in zip(model.weights, arrays):
        np.copyto(tensor.data, value)
    model.weights_seed = _FROM_FILE
    return model


load_model = load  # Keras's name


def _custom_layers(custom_objects) -> dict:
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, dict) or not all(
            isinstance(k, str) and isinstance(v, type) and issubclass(v, Layer) for k, v in custom_objects.items()):
        raise TypeError(f"load: custom_objects must map class names to Layer subclasses. "
                        f"Received: {custom_objects!r:.120}")
    return custom_objects


def from_config(config: dict, custom_objects: dict | None = None) -> BaseModel:
    """The model a description names, its layers configured but without weights."""
    saving.check_description(config)
    built_layers = [layer_module.from_config(entry, custom_objects) for entry in config["layers"]]
    steps = [(index, tuple(sources), as_list) for index, sources, as_list in config["steps"]]
    for position, (index, sources, _) in enumerate(steps):
        if not 0 <= index < len(built_layers) or not all(0 <= s <= position for s in sources):
            raise ValueError(f"step {position} refers to layer {index} or values {list(sources)} that do not exist")
    kind = config["class"]
    if kind == "Network":
        model = Network([built_layers[index] for index, _, _ in steps], name=config["name"], dtype=config["dtype"],
                        seed=config["seed"])
        if model.steps != steps:
            raise ValueError(f"the steps {config['steps']!r:.200} are not those of a Network of these layers")
    else:
        model = Model.__new__(Model)
        BaseModel.__init__(model, config["name"], config["dtype"], config["seed"])
        model.layers, model._steps = built_layers, steps
        model._name_layers()
    model.input_shape = tuple(config["input_shape"])
    if "loss" in config:
        model.loss = losses.deserialize(config["loss"])
    return model


def summary_table(model: BaseModel) -> str:
    """The text of ``model.summary()``: each step's layer, output shape and parameter count."""
    if model.input_shape is None:
        raise ValueError("summary: the model's input shape is unknown; give the first layer input_dim=..., "
                         "or call fit()/build(input_shape) first")
    rows, counted = [("Layer (type)", "Output shape", "Params")], set()
    for index, layer_input in model._walk_shapes():
        layer = model.layers[index]
        count = 0 if index in counted else sum(int(np.prod(s)) for s in layer.weight_shapes(layer_input).values())
        counted.add(index)
        shape = layer.compute_output_shape(layer_input)
        rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + tuple(shape)), f"{count:,}"))
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
    line = "-" * sum(widths)
    body = [f"{a:<{widths[0]}}{b:<{widths[1]}}{c:>{widths[2]}}" for a, b, c in rows]
    total = sum(int(np.prod(shape)) for _, shape in model.weight_shapes())
    title = f'Model "{model.name}"' if model.name else type(model).__name__
    return "\n".join([title, line, body[0], line, *body[1:], line, f"Total params: {total:,}"])
