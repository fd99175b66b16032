"""A small conv net's graph: each node shows its shape and a one-line summary of values and gradients,
never thousands of numbers."""

import numpy as np

from neurona import Tensor, layers, losses, models
from neurona.viz import to_dot


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
    (conv,) = [line for line in dot.splitlines() if "<B>conv2d</B>" in line]
    assert "(2, 8, 8, 4) mean" in conv and '<FONT COLOR="red">(2, 8, 8, 4) mean' in conv  # value and gradient
    (kernel,) = [line for line in dot.splitlines() if "<B>conv/kernel</B>" in line]
    assert "(3, 3, 3, 4) mean" in kernel
    assert any("<B>max_pool2d</B>" in line for line in dot.splitlines())
    assert any("<B>batch_norm</B>" in line for line in dot.splitlines())
    assert max(len(line) for line in dot.splitlines()) < 300 and len(dot) < 6000  # 384 values in x, none listed
