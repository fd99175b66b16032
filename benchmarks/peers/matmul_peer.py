"""This machine's float32 matmul speed for the products of W1–W3's training steps, in NumPy or PyTorch."""

from __future__ import annotations

import os
import time

import numpy as np

from ..workloads import WORKLOADS, matmul_shapes
from .floor_peer import operands

MIN_SECONDS = 0.05  # each shape is timed over at least this long per round


def shapes() -> list:
    """Distinct (kind, left, right) products of W1, W2 and W3 at their full batch sizes, with the workloads using them."""
    seen = {}
    for name in ("W1", "W2", "W3"):
        workload = WORKLOADS[name]
        for kind, left, right in matmul_shapes(workload, workload.batch):
            seen.setdefault((kind, left, right), []).append(name)
    return [{"kind": k, "left": list(a), "right": list(b), "workloads": w} for (k, a, b), w in seen.items()]


def _time(product) -> float:
    """Seconds per call, over at least MIN_SECONDS and 3 calls."""
    calls, started = 0, time.perf_counter()
    while True:
        product()
        calls += 1
        elapsed = time.perf_counter() - started
        if calls >= 3 and elapsed >= MIN_SECONDS:
            return elapsed / calls


class Peer:
    library = "numpy"

    def __init__(self, workload, data, weights, seed: int):
        rng = np.random.default_rng(seed)
        self.shapes = shapes()
        self.products = [self._product(*operands(tuple(s["left"]), tuple(s["right"]), s["kind"], rng))
                         for s in self.shapes]

    def _product(self, left, right):
        return lambda: left @ right

    def train(self, rounds: int, gate) -> None:
        for product in self.products:  # warm up: first-call allocations and thread start-up
            product()
        for _ in range(rounds):
            gate.start()
            per_call = [_time(product) for product in self.products]
            gate.done(0.0, per_call=per_call)

    def accuracy(self) -> float:
        return float("nan")


class TorchPeer(Peer):
    library = "torch"

    def __init__(self, workload, data, weights, seed: int):
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", 0)) or os.cpu_count() or 1)
        self.torch = torch
        super().__init__(workload, data, weights, seed)

    def _product(self, left, right):
        a, b = self.torch.from_numpy(left), self.torch.from_numpy(right)  # strides kept: transposed views stay views
        return lambda: self.torch.matmul(a, b)
