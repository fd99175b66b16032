"""Models: ``Network`` (layers added one after another, the practical's API) and ``Model`` (functional).

Both are a list of layers plus a list of *steps*: step k applies one layer to earlier
values (value 0 is the model's input). Training, prediction and saving work on that.
"""

from __future__ import annotations

import numpy as np

from . import saving
from .layers import Concatenate, Layer, SymbolicTensor
from .training import Trainer


class Model(Trainer):
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

    @property
    def steps(self) -> list:
        return self._steps

    @classmethod
    def _from_steps(cls, layers: list, steps: list, name=None, dtype="float32", seed=None) -> "Model":
        """A Model from its stored layers and steps (used when loading a file)."""
        model = cls.__new__(cls)
        Trainer.__init__(model, name, dtype, seed)
        for position, (index, sources, _) in enumerate(steps):
            if not 0 <= index < len(layers) or not all(0 <= s <= position for s in sources):
                raise ValueError(f"step {position} refers to layer {index} or values {sources} that do not exist")
        model.layers, model._steps, model.input_shape = layers, steps, None
        return model


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


class Network(Model):
    """A stack of layers, each fed by the previous one: the practical's ``models.Network()``.

    ``layers.Concatenate(input_dim)`` inside a Network joins the previous output with the
    network's input.

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
        Trainer.__init__(self, name, dtype, seed)
        self.layers, self.input_shape = [], None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Append a layer (or ``layers.Input(shape)`` first, to fix the input shape)."""
        if isinstance(layer, SymbolicTensor) and layer.layer is None:
            if self.layers:
                raise ValueError("Network.add: an Input can only be added before any layer")
            self.input_shape = layer.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Network.add: expected a layer. Received: {layer!r:.80} ({type(layer).__name__})")
        if self.built:
            raise ValueError("Network.add: the network is already built (it has weights); create a new Network")
        if not self.layers and self.input_shape is None and getattr(layer, "input_dim", None) is not None:
            self.input_shape = (layer.input_dim,)
        self.layers.append(layer)

    @property
    def steps(self) -> list:
        steps = []
        for index, layer in enumerate(self.layers):
            joins_input = isinstance(layer, Concatenate)
            steps.append((index, (index, 0) if joins_input else (index,), joins_input))
        return steps

    def _check_step(self, layer: Layer, input_shapes) -> None:
        if isinstance(layer, Concatenate) and layer.input_dim is not None:
            width = int(np.prod(self.input_shape))
            if layer.input_dim != width:
                raise ValueError(f"Concatenate: input_dim={layer.input_dim}, but the network's input has "
                                 f"{width} features")


def load(path) -> Model:
    """Load a model saved with ``model.save(path)``. The file holds JSON and arrays only: loading runs no code."""
    return saving.load_model(path)


def summary_table(model: Model) -> str:
    """The text of ``model.summary()``: each layer, its output shape and parameter count."""
    if model.input_shape is None:
        raise ValueError("summary: the model's input shape is unknown; give the first layer input_dim=..., "
                         "or call fit()/build(input_shape) first")
    model.build()
    rows = [("Layer (type)", "Output shape", "Params")]
    for (index, _, _), shape in zip(model.steps, model.output_shapes()):
        layer = model.layers[index]
        count = sum(w.size for w in layer.weights)
        rows.append((f"{layer.name} ({type(layer).__name__})", str((None,) + tuple(shape)), f"{count:,}"))
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
    line = "-" * sum(widths)
    body = [f"{a:<{widths[0]}}{b:<{widths[1]}}{c:>{widths[2]}}" for a, b, c in rows]
    total = sum(w.size for w in model.parameters)
    title = f'Model "{model.name}"' if model.name else type(model).__name__
    return "\n".join([title, line, body[0], line, *body[1:], line, f"Total params: {total:,}"])

