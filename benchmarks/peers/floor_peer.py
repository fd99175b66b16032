"""The BLAS floor: only the matmuls of one epoch, with the training shapes and memory layouts, on random data."""

from __future__ import annotations

import numpy as np

from ..workloads import epoch_batches, matmul_shapes


def operands(left: tuple, right: tuple, kind: str, rng) -> tuple:
    """Float32 operands laid out as in training: dW = x.T @ g and dx = g @ W.T use transposed views."""
    def random(shape):
        return rng.standard_normal(shape, dtype=np.float32)

    if kind == "dW":
        return random(left[::-1]).T, random(right)
    if kind == "dx":
        return random(left), random(right[::-1]).T
    return random(left), random(right)


class Peer:
    def __init__(self, workload, data, weights, seed: int):
        self.workload = workload
        rng = np.random.default_rng(seed)
        self.batches = epoch_batches(workload)
        self.products = {b: [operands(a, c, kind, rng) for kind, a, c in matmul_shapes(workload, b)]
                         for b in set(self.batches)}

    def train(self, rounds: int, gate) -> None:
        for _ in range(rounds):
            gate.start()
            for _ in range(self.workload.steps_per_round):
                for b in self.batches:
                    for left, right in self.products[b]:
                        left @ right
            gate.done(0.0)

    def accuracy(self) -> float:
        return float("nan")
