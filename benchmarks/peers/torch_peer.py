"""PyTorch (CPU): nn.Sequential with the shared weights and the loop a performance-minded user writes.

Shuffling with ``torch.randperm`` and row gathering ``x[idx]`` (no DataLoader, which would only
add overhead); L2 as SGD ``weight_decay = 2·lam`` on the kernels (the idiomatic and cheapest
form of the penalty lam·ΣW²; its value is not added to the reported loss).
"""

from __future__ import annotations

import os

import numpy as np

import torch
from torch import nn

_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def build(workload, weights) -> nn.Sequential:
    if workload.convs:
        return build_cnn(workload, weights)
    modules = []
    for (kernel, bias), activation in zip(weights, workload.activations):
        linear = nn.Linear(*kernel.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(kernel.T))  # torch stores (out, in)
            linear.bias.copy_(torch.from_numpy(bias))
        modules.append(linear)
        if activation != "linear":
            modules.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*modules)


def build_cnn(workload, weights) -> nn.Sequential:
    """W5 in PyTorch's own layout (NCHW): the shared HWIO kernels transposed to (out, in, h, w), and the first
    dense layer's rows reordered from neurona's (h, w, c) flattening to PyTorch's (c, h, w)."""
    modules, channels, size, index = [], 3, 32, 0
    for filters in workload.convs:
        if filters == "pool":
            modules.append(nn.MaxPool2d(2))
            size //= 2
            continue
        conv = nn.Conv2d(channels, filters, 3, padding=1, bias=False)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(weights[index].transpose(3, 2, 0, 1).copy()))
        modules += [conv, nn.BatchNorm2d(filters), nn.ReLU()]
        channels, index = filters, index + 1
    modules.append(nn.Flatten())
    dense = list(weights[index:])
    kernel, bias = dense[0]
    dense[0] = (kernel.reshape(size, size, channels, -1).transpose(2, 0, 1, 3).reshape(kernel.shape), bias)
    return nn.Sequential(*modules, *build(workload.with_(convs=()), dense))


def _images(x: np.ndarray):
    """NHWC arrays as PyTorch's NCHW tensors (one copy, at setup)."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))) if x.ndim == 4 else torch.from_numpy(x)


class Peer:
    def __init__(self, workload, data, weights, seed: int):
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 0)) or os.cpu_count() or 1)
        self.workload = workload
        self.model = build(workload, weights)
        self.x, self.y = _images(data.x), torch.from_numpy(data.y)  # rows: shared with NumPy, no copy
        self.x_test, self.y_test = _images(data.x_test), torch.from_numpy(data.y_test)
        self.generator = torch.Generator().manual_seed(seed)
        kernels = [m.weight for m in self.model if isinstance(m, nn.Linear)]
        biases = [m.bias for m in self.model if isinstance(m, nn.Linear)]
        if workload.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=workload.lr, eps=1e-8)
        else:
            self.opt = torch.optim.SGD([{"params": kernels, "weight_decay": 2 * workload.l2},
                                        {"params": biases, "weight_decay": 0.0}], lr=workload.lr)

    def _loss(self, out, target):
        if self.workload.loss == "cce":
            return nn.functional.cross_entropy(out, target)
        if target.ndim == 1:  # labels → one-hot rows
            target = nn.functional.one_hot(target, out.shape[1]).to(out.dtype)
        return ((out - target) ** 2).sum(dim=1).mean()

    def _step(self, xb, yb) -> float:
        self.opt.zero_grad(set_to_none=True)
        loss = self._loss(self.model(xb), yb)
        loss.backward()
        self.opt.step()
        return loss.item()

    def train(self, rounds: int, gate) -> None:
        n, batch = len(self.x), self.workload.batch
        for _ in range(rounds):
            gate.start()
            for _ in range(self.workload.steps_per_round):
                if batch >= n:
                    loss = self._step(self.x, self.y)
                    continue
                order, total = torch.randperm(n, generator=self.generator), 0.0
                for start in range(0, n, batch):
                    idx = order[start:start + batch]
                    total += self._step(self.x[idx], self.y[idx]) * len(idx)
                loss = total / n
            gate.done(loss)

    def accuracy(self) -> float:
        self.model.eval()  # BatchNorm's running statistics, as neurona's evaluate uses
        with torch.no_grad():
            out = torch.cat([self.model(self.x_test[i:i + 500]) for i in range(0, len(self.x_test), 500)])
        if out.shape[1] == 1:
            return float((torch.sign(out) == torch.sign(self.y_test)).float().mean())
        return float((out.argmax(dim=1) == self.y_test).float().mean())
