"""Exercises 1 and 2 of the practical, and a small conv net beyond it: computational graphs, values, gradients.

Exercise 1: one neuron f(w·x + b) with x = (2.8, −1.8), w = (1.45, −0.35), b = −4 and
f = sigmoid, tanh, ELU (α = 1) or Leaky ReLU (max(0.1z, z)), the practical's four, or ReLU (max(z, 0)),
differentiated with output gradient 1.
Exercise 2: two sigmoid neurons a = σ(W x + b) and the MSE against a target y.
Everything is built in float64 with the autodiff engine, so printed values are exact to 3 decimals.
Beyond the practical: ``conv_net()``, the graph of one training step of a small CNN, whose nodes hold
whole batches (each shown as shape and mean [min, max]).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .. import layers, losses, models
from ..autodiff import Tensor, maximum
from ..viz import GraphvizNotFoundWarning, draw, reading_order, summarize

PRACTICAL_ACTIVATIONS = ("sigmoid", "tanh", "elu", "leaky_relu")  # the four the practical draws
ACTIVATIONS = PRACTICAL_ACTIVATIONS + ("relu",)
EXERCISES = ("ex1", "ex2")
GRAPHS = EXERCISES + ("cnn",)  # what run() draws: the practical's two and the conv net


@dataclass(frozen=True)
class Exercise1Config:
    """Inputs of exercise 1: one neuron with two inputs."""

    x: tuple = (2.8, -1.8)
    w: tuple = (1.45, -0.35)
    b: float = -4.0
    elu_alpha: float = 1.0
    leaky_slope: float = 0.1


@dataclass(frozen=True)
class Exercise2Config:
    """Inputs of exercise 2: two sigmoid neurons (rows of W) and an MSE target."""

    x: tuple = (-3.1, 1.5)
    W: tuple = ((-0.2, 2.0), (-0.5, -0.3))
    b: tuple = (-4.0, -1.0)
    y: tuple = (0.0, 0.0)


class Row(NamedTuple):
    """One node of a graph for a table: name, op label ("" for leaves), value, gradient (None if not computed)."""

    name: str
    op: str
    value: float | np.ndarray
    grad: float | np.ndarray | None


def _leaf(value, name: str, requires_grad: bool = True) -> Tensor:
    return Tensor(value, requires_grad=requires_grad, name=name, dtype=np.float64)


def _named(t: Tensor, name: str) -> Tensor:
    t.name = name
    return t


# ----- exercise 1: the activation, coarse (one node) or decomposed into primitives -----
def _activation_coarse(z: Tensor, activation: str, config: Exercise1Config) -> Tensor:
    if activation == "sigmoid":
        return z.sigmoid()
    if activation == "tanh":
        return z.tanh()
    if activation == "elu":
        return z.elu(config.elu_alpha)
    if activation == "relu":
        return z.relu()
    return z.leaky_relu(config.leaky_slope)


def _activation_decomposed(z: Tensor, activation: str, config: Exercise1Config) -> Tensor:
    if activation == "sigmoid":  # 1 / (1 + exp(-z)), as the practical draws it
        e = _named(_named(-z, "-z").exp(), "exp(-z)")
        return 1.0 / _named(1.0 + e, "1+exp(-z)")
    if activation == "tanh":  # (1 - exp(-2z)) / (1 + exp(-2z)): one exp node feeding two
        e = _named(_named(z * -2.0, "-2z").exp(), "exp(-2z)")
        return _named(1.0 - e, "1-exp(-2z)") / _named(1.0 + e, "1+exp(-2z)")
    if activation == "elu":  # max(z, 0) + α (exp(min(z, 0)) - 1), with min(z, 0) = -max(-z, 0)
        minimum = _named(-_named(maximum(_named(-z, "-z"), 0.0), "max(-z,0)"), "min(z,0)")
        e = _named(_named(minimum.exp(), "exp(min)") - 1.0, "exp(min)-1")
        return _named(maximum(z, 0.0), "max(z,0)") + _named(config.elu_alpha * e, "α(exp(min)-1)")
    if activation == "relu":  # max(z, 0)
        return maximum(z, 0.0)
    return maximum(_named(config.leaky_slope * z, f"{config.leaky_slope:g}z"), z)  # the practical's max(0.1z, z)


def _check_activation(activation) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"exercise1: activation must be one of {', '.join(ACTIVATIONS)}. "
                         f"Received: activation={activation!r}")


def exercise1(activation: str = "sigmoid", *, decompose: bool = False,
              config: Exercise1Config | None = None) -> tuple[Tensor, list[Row]]:
    """Exercise 1: f(w0·x0 + w1·x1 + b) as a graph, then backward with output gradient 1.

    Args:
        activation: "sigmoid", "tanh", "elu" (α from config), "leaky_relu" (max(0.1z, z)) or "relu" (max(z, 0)).
        decompose: draw the activation as primitives (e.g. sigmoid as 1/(1+exp(-z)))
            instead of one node; the values and leaf gradients are the same.
        config: the inputs; defaults to the practical's.

    Returns:
        (output tensor named "f", rows of every node in topological order).

    Example:
        >>> out, rows = exercise1("tanh")
        >>> print(format_table(rows))
    """
    _check_activation(activation)
    config = config or Exercise1Config()
    x = [_leaf(v, f"x{i}") for i, v in enumerate(config.x)]
    w = [_leaf(v, f"w{i}") for i, v in enumerate(config.w)]
    b = _leaf(config.b, "b")
    products = [_named(wi * xi, f"w{i}*x{i}") for i, (wi, xi) in enumerate(zip(w, x))]
    total = products[0]
    for product in products[1:]:
        total = total + product
    z = _named(_named(total, "w·x") + b, "z")
    build = _activation_decomposed if decompose else _activation_coarse
    out = _named(build(z, activation, config), "f")
    out.backward()
    return out, graph_rows(out)


# ----- exercise 2 -----
def exercise2(config: Exercise2Config | None = None) -> tuple[Tensor, list[Row]]:
    """Exercise 2: a = σ(W x + b), MSE = mean over the outputs of (a − y)², then backward.

    Args:
        config: the inputs; defaults to the practical's (target y = (0, 0)).

    Returns:
        (loss tensor named "mse", rows of every node in topological order).

    Example:
        >>> loss, rows = exercise2()
        >>> print(format_table(rows))
    """
    config = config or Exercise2Config()
    x, W, b = _leaf(config.x, "x"), _leaf(config.W, "W"), _leaf(config.b, "b")
    y = _leaf(config.y, "y", requires_grad=False)
    z = _named(_named(W @ x, "W@x") + b, "z")
    a = _named(z.sigmoid(), "a")
    squared = _named(_named(a - y, "a-y") ** 2, "(a-y)^2")
    loss = _named(_named(squared.sum(), "sum") / float(a.size), "mse")
    loss.backward()
    return loss, graph_rows(loss)


# ----- beyond the practical: a small conv net -----
CONV_NET = "Conv2D(4, 3x3, same) → BatchNormalization → ReLU → MaxPool2D → Flatten → Dense(3), mean cross-entropy"


def conv_net(seed: int = 0) -> tuple[Tensor, list[Row]]:
    """One training step's graph of a small CNN on two random 8x8 RGB images (labels 0 and 2), then backward.

    The network is ``CONV_NET``, in float64 and in training mode (batch statistics). Its nodes hold whole
    batches, e.g. the conv output (2, 8, 8, 4): drawings and tables show each as shape and mean [min, max].

    Returns:
        (loss tensor named "loss", rows of every node in reading order).

    Example:
        >>> loss, rows = conv_net()
        >>> draw(loss, "cnn.svg")  # doctest: +SKIP
    """
    model = models.Network(dtype="float64", seed=seed)
    for layer in (layers.Input((8, 8, 3)), layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv"),
                  layers.BatchNormalization(name="bn"), layers.Activation("relu"), layers.MaxPool2D(),
                  layers.Flatten(), layers.Dense(3, name="dense")):
        model.add(layer)
    images = np.random.default_rng(seed).normal(size=(2, 8, 8, 3))
    loss = _named(losses.get("cce")(model.forward(Tensor(images, name="images"), training=True), np.array([0, 2])), "loss")
    loss.backward()
    return loss, graph_rows(loss)


# ----- tables and the CLI entry point -----
def _plain(array: np.ndarray | None):
    if array is None:
        return None
    return float(array.item()) if array.size == 1 else np.array(array)


def graph_rows(t: Tensor) -> list[Row]:
    """Every node of t's graph (parents first) as a Row; unnamed constants are called "const"."""
    return [Row(node.name or (node._op if node._op else "const"), node._op, _plain(node.data), _plain(node.grad))
            for node in reading_order(t)]


def _number(value: float) -> str:
    text = f"{value:.3f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, np.ndarray) and value.size > 4:  # a batch: shape and mean [min, max], as drawn
        return summarize(value)
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ", formatter={"float_kind": _number}).replace("\n", "")
    return _number(value)


def format_table(rows) -> str:
    """A plain-text table of (name, op, value, gradient) rows, numbers to 3 decimals; '-' where there is no gradient."""
    header = ("node", "op", "value", "gradient")
    cells = [header] + [(str(name), op or "leaf", _cell(value), _cell(grad)) for name, op, value, grad in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _build(name: str, activation, decompose: bool) -> tuple[Tensor, list[Row], str]:
    if name not in GRAPHS:
        raise ValueError(f"graphs.run: name must be one of {', '.join(GRAPHS)}. Received: name={name!r}")
    if name != "ex1" and activation is not None:
        raise ValueError(f"graphs.run: activation applies to ex1 only. Received: activation={activation!r}")
    if name == "ex2":
        loss, rows = exercise2()
        return loss, rows, "Exercise 2: a = sigmoid(W x + b), MSE against y = (0, 0); gradients of the MSE"
    if name == "cnn":
        loss, rows = conv_net()
        return loss, rows, f"A small conv net: {CONV_NET}; gradients of the loss"
    activation = "sigmoid" if activation is None else activation
    out, rows = exercise1(activation, decompose=decompose)
    return out, rows, f"Exercise 1: f = {activation}(w·x + b); gradients of f (output gradient 1)"


def run(name: str, activation: str | None = None, output=None, *, decompose: bool = False) -> str:
    """Run exercise "ex1" or "ex2"; draw its graph to ``output`` if given, else return its value table.

    Args:
        name: "ex1", "ex2" or "cnn" (``conv_net()``).
        activation: for ex1, one of ACTIVATIONS (default "sigmoid"); must be None for ex2.
        output: a .svg/.png/.pdf/.dot path to draw the graph to (falls back to .dot without Graphviz).
        decompose: for ex1, draw the activation as primitives.

    Returns:
        The text to print: the value/gradient table, or a message naming the file written.
    """
    t, rows, title = _build(name, activation, decompose)
    if output is None:
        return f"{title}\n\n{format_table(rows)}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphvizNotFoundWarning)  # the message below says it instead
        drawing = draw(t, output)
    message = f"{title}\nWrote the graph to {drawing.path}"
    return f"{message}\n{drawing.note}" if drawing.note else message
