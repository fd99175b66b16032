"""neurona: the workload through the public API, ``model.fit`` on a Network built from the shared weights."""

from __future__ import annotations

import numpy as np

from neurona import callbacks, layers, losses, models, optimizers, regularizers


class _Gate(callbacks.Callback):
    """Times every ``every`` epochs of one fit() through the gate (waits for the go-ahead, then times)."""

    def __init__(self, gate, every: int, total: int):
        self.gate, self.every, self.total = gate, every, total

    def on_train_begin(self):
        self.gate.start()

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every == 0:
            self.gate.done(logs["loss"])
            if epoch + 1 < self.total:
                self.gate.start()


def build(workload, weights) -> models.Network:
    """The Network of the workload, built, with the shared initial weights copied in."""
    if workload.convs:
        return build_cnn(workload, weights)
    model = models.Network(seed=0)
    for index, (units, activation) in enumerate(zip(workload.sizes[1:], workload.activations)):
        model.add(layers.Dense(units, activation=activation, input_dim=workload.sizes[0] if index == 0 else None))
    model.build()
    for layer, (kernel, bias) in zip(model.layers, weights):
        np.copyto(layer.kernel.data, kernel)
        np.copyto(layer.bias.data, bias)
    return model


def build_cnn(workload, weights) -> models.Network:
    """W5: [Conv2D(3x3, padding 1, no bias) → BatchNorm → ReLU] or MaxPool2D per entry, then the dense layers."""
    model = models.Network(seed=0)
    model.add(layers.Input((32, 32, 3)))
    for filters in workload.convs:
        if filters == "pool":
            model.add(layers.MaxPool2D(2))
            continue
        model.add(layers.Conv2D(filters, 3, padding=1, use_bias=False))
        model.add(layers.BatchNormalization(momentum=0.9, epsilon=1e-5))  # PyTorch's defaults, for the same math
        model.add(layers.Activation("relu"))
    model.add(layers.Flatten())
    for units, activation in zip(workload.sizes[1:], workload.activations):
        model.add(layers.Dense(units, activation=activation))
    model.build()
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    for layer, kernel in zip(convs, weights[:len(convs)]):
        np.copyto(layer.kernel.data, kernel)
    for layer, (kernel, bias) in zip(dense, weights[len(convs):]):
        np.copyto(layer.kernel.data, kernel)
        np.copyto(layer.bias.data, bias)
    return model


def optimizer(workload):
    if workload.optimizer == "adam":
        return optimizers.Adam(lr=workload.lr, eps=1e-8)
    return optimizers.SGD(lr=workload.lr)


class Peer:
    def __init__(self, workload, data, weights, seed: int):
        self.workload, self.data, self.seed = workload, data, seed
        self.model = build(workload, weights)
        self.loss = losses.get(workload.loss)
        self.reg = regularizers.L2(workload.l2) if workload.l2 else None
        self.opt = optimizer(workload)

    def train(self, rounds: int, gate) -> None:
        w, d = self.workload, self.data
        epochs = rounds * w.steps_per_round
        self.model.fit(d.x, d.y, epochs=epochs, loss=self.loss, opt=self.opt, reg=self.reg, batch_size=w.batch,
                       callbacks=[_Gate(gate, w.steps_per_round, epochs)], verbose=0, seed=self.seed)

    def accuracy(self) -> float:
        batch = 500 if self.workload.convs else None  # a CNN's im2col at 2,048 images would take gigabytes
        return self.model.evaluate(self.data.x_test, self.data.y_test, loss=self.loss, batch_size=batch)["accuracy"]


class EagerPeer(Peer):
    """The same fit() on the eager engine (graph built and walked every step): the captured step's baseline."""

    def __init__(self, workload, data, weights, seed: int):
        import os
        os.environ["NEURONA_CAPTURE"] = "off"  # this peer's own process
        super().__init__(workload, data, weights, seed)


class LoopPeer(Peer):
    """The engine without fit(): zero_grad, forward, loss, backward, step (full batch, as torch's loop)."""

    def train(self, rounds: int, gate) -> None:
        from neurona import Tensor

        model, opt, x, y = self.model, self.opt, Tensor(self.data.x), self.data.y
        opt.bind(model.parameters)
        for _ in range(rounds):
            gate.start()
            for _ in range(self.workload.steps_per_round):
                opt.zero_grad()
                value = self.loss(model.forward(x, training=True), y)
                if self.reg is not None:
                    value = value + self.reg(model.regularized_weights)
                value.backward()
                opt.step(batch_size=len(y))
                loss = value.item()
            gate.done(loss)
