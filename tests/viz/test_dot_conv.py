"""A small conv net's graph: each node shows its shape once and a one-line summary of its values and of its
gradients, never thousands of numbers."""

import numpy as np

from neurona import Tensor, layers, losses, models
from neurona.experiments import graphs
from neurona.viz import to_dot


def _node(dot: str, title: str) -> str:
    (line,) = [line for line in dot.splitlines() if f"<B>{title}</B>" in line]
    return line


def test_a_conv_nets_graph_is_compact_and_shows_shapes_values_and_gradients():
    model = models.Network(seed=0)
    model.add(layers.Input((8, 8, 3)))
    model.add(layers.Conv2D(4, 3, padding="same", name="conv"))
    model.add(layers.BatchNormalization())
    model.add(layers.Activation("relu"))
    model.add(layers.MaxPool2D())
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dense(3))
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    loss = losses.get("cce")(model.forward(Tensor(x), training=True), np.array([0, 2]))
    loss.backward()
    dot = to_dot(loss)
    conv = _node(dot, "conv2d")
    assert "<B>conv2d</B> (2, 8, 8, 4)<BR/>mean " in conv and '<FONT COLOR="red">mean ' in conv  # value, gradient
    assert conv.count("(2, 8, 8, 4)") == 1  # the gradient has the value's shape: written once
    assert "<B>conv/kernel</B> (3, 3, 3, 4)<BR/>mean" in _node(dot, "conv/kernel")
    assert "<B>max_pool2d</B> (2, 4, 4, 4)" in _node(dot, "max_pool2d")
    assert "<B>batch_norm</B> (2, 8, 8, 4)" in _node(dot, "batch_norm")
    assert max(len(line) for line in dot.splitlines()) < 250 and len(dot) < 6000  # 384 values in x, none listed


def test_the_reports_conv_net_draws_every_layer_and_tabulates_batches_as_one_line_each():
    loss, rows = graphs.conv_net()
    assert loss.name == "loss" and loss.dtype == np.float64 and loss.grad is not None
    ops = [row.op for row in rows if row.op]
    assert ops[:5] == ["conv2d", "batch_norm", "relu", "max_pool2d", "reshape"]  # Flatten is a reshape
    table = graphs.format_table(rows)
    conv_row = next(line for line in table.splitlines() if line.startswith("conv2d "))
    assert conv_row.count("(2, 8, 8, 4) mean") == 2  # value and gradient, each one summary
    assert "bn/gamma" in table and "[1.000, 1.000, 1.000, 1.000]" in table  # 4 numbers are shown in full
    assert len(table) < 3000
