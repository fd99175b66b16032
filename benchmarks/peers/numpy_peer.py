"""A straightforward hand-written NumPy loop: the textbook forward, backward and update, nothing clever."""

from __future__ import annotations

import numpy as np


def _activate(name, z):
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    return z


def _derivative(name, h):
    """The activation's derivative, from its output h."""
    if name == "sigmoid":
        return h * (1 - h)
    if name == "tanh":
        return 1 - h * h
    if name == "relu":
        return (h > 0).astype(h.dtype)
    return None  # linear


class Peer:
    def __init__(self, workload, data, weights, seed: int):
        self.workload, self.data = workload, data
        self.W = [w.copy() for w, _ in weights]
        self.b = [b.copy() for _, b in weights]
        self.rng = np.random.default_rng(seed)
        self.m = [np.zeros_like(p) for p in self.W + self.b]
        self.v = [np.zeros_like(p) for p in self.W + self.b]
        self.t = 0

    def forward(self, x):
        hs = [x]
        for W, b, act in zip(self.W, self.b, self.workload.activations):
            hs.append(_activate(act, hs[-1] @ W + b))
        return hs

    def _loss_and_grad(self, out, y):
        """Mean loss over the batch and its gradient with respect to the scores."""
        m = len(out)
        if self.workload.loss == "cce":
            p = np.exp(out - out.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            loss = -np.log(p[np.arange(m), y]).mean()
            p[np.arange(m), y] -= 1
            return loss, p / m
        if y.ndim == 1:
            target = np.zeros_like(out)
            target[np.arange(m), y] = 1
        else:
            target = y
        diff = out - target
        return (diff ** 2).sum(axis=1).mean(), 2 * diff / m

    def step(self, xb, yb) -> float:
        w = self.workload
        hs = self.forward(xb)
        loss, g = self._loss_and_grad(hs[-1], yb)
        if w.l2:
            loss += w.l2 * sum(np.sum(W * W) for W in self.W)
        dWs, dbs = [], []
        for i in reversed(range(len(self.W))):
            d = _derivative(w.activations[i], hs[i + 1])
            if d is not None:
                g = g * d
            dWs.insert(0, hs[i].T @ g + 2 * w.l2 * self.W[i] if w.l2 else hs[i].T @ g)
            dbs.insert(0, g.sum(axis=0))
            if i > 0:
                g = g @ self.W[i].T
        self.update(self.W + self.b, dWs + dbs)
        return float(loss)

    def update(self, params, grads) -> None:
        w = self.workload
        if w.optimizer == "sgd":
            for p, g in zip(params, grads):
                p -= w.lr * g
            return
        self.t += 1
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        lr = w.lr * np.sqrt(1 - beta2 ** self.t) / (1 - beta1 ** self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m[:] = beta1 * m + (1 - beta1) * g
            v[:] = beta2 * v + (1 - beta2) * g * g
            p -= lr * m / (np.sqrt(v) + eps)

    def train(self, rounds: int, gate) -> None:
        x, y, batch = self.data.x, self.data.y, self.workload.batch
        with np.errstate(over="ignore"):  # exp(-z) of a very negative z is inf, and 1/(1+inf) = 0 is right
            for _ in range(rounds):
                gate.start()
                for _ in range(self.workload.steps_per_round):
                    if batch >= len(x):
                        loss = self.step(x, y)
                        continue
                    order, total = self.rng.permutation(len(x)), 0.0
                    for start in range(0, len(x), batch):
                        idx = order[start:start + batch]
                        total += self.step(x[idx], y[idx]) * len(idx)
                    loss = total / len(x)
                gate.done(loss)

    def accuracy(self) -> float:
        with np.errstate(over="ignore"):
            out = self.forward(self.data.x_test)[-1]
        if out.shape[1] == 1:
            return float(np.mean(np.sign(out) == np.sign(self.data.y_test)))
        return float(np.mean(out.argmax(axis=1) == self.data.y_test))
