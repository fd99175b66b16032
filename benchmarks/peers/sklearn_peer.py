"""scikit-learn: MLPClassifier (softmax + log-loss) or MLPRegressor (identity + squared error), one partial_fit per epoch.

The settings are translated so the updates match the other peers:
- sklearn adds alpha·W / batch to the *mean* gradient, so alpha = 2·lam·batch for the penalty lam·ΣW²;
- its squared error is ½·mean over all outputs, whose gradient is half of ours (sum over outputs,
  mean over samples) per sample: the regressor gets lr×2 and alpha = lam·batch.
partial_fit (not fit with warm_start) keeps the optimizer's state between epochs, and each call
re-validates its inputs (a pass over x): that is part of sklearn's measured time per epoch.
"""

from __future__ import annotations

import numpy as np
from sklearn.neural_network import MLPClassifier, MLPRegressor

_ACTIVATIONS = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}


def _preset(cls):
    """A subclass whose weight initialisation hands out the shared arrays instead of drawing its own."""

    class Preset(cls):
        def _init_coef(self, fan_in, fan_out, dtype):
            kernel, bias = self._preset_weights.pop(0)
            return kernel.astype(dtype, copy=True), bias.astype(dtype, copy=True)

    return Preset


class Peer:
    def __init__(self, workload, data, weights, seed: int):
        hidden = workload.activations[:-1]
        if workload.data != "cifar10" or len(set(hidden)) != 1 or workload.activations[-1] != "linear":
            raise NotImplementedError("sklearn's MLP has one activation for all hidden layers and a fixed "
                                      "output (softmax or identity): it cannot train a tanh output layer")
        self.workload, self.data = workload, data
        regression = workload.loss == "mse"
        cls = _preset(MLPRegressor if regression else MLPClassifier)
        scale = 1 if regression else 2
        options = dict(hidden_layer_sizes=workload.sizes[1:-1], activation=_ACTIVATIONS[hidden[0]],
                       solver=workload.optimizer, alpha=scale * workload.l2 * workload.batch,
                       batch_size=workload.batch, learning_rate_init=workload.lr * (2 if regression else 1),
                       shuffle=True, random_state=np.random.RandomState(seed), max_iter=1)
        if workload.optimizer == "sgd":
            options.update(momentum=0.0, nesterovs_momentum=False, learning_rate="constant")
        else:
            options.update(epsilon=1e-8)
        self.model = cls(**options)
        self.model._preset_weights = list(weights)
        self.targets = np.eye(workload.sizes[-1], dtype=np.float32)[data.y] if regression else data.y

    def train(self, rounds: int, gate) -> None:
        classes = None if self.workload.loss == "mse" else np.arange(self.workload.sizes[-1])
        for _ in range(rounds):
            gate.start()
            if classes is None:
                self.model.partial_fit(self.data.x, self.targets)
            else:
                self.model.partial_fit(self.data.x, self.targets, classes=classes)
            gate.done(self.model.loss_)

    def accuracy(self) -> float:
        out = self.model.predict(self.data.x_test)
        labels = out.argmax(axis=1) if out.ndim == 2 else out
        return float(np.mean(labels == self.data.y_test))
