"""The benchmark workloads (W1–W5): network, data, optimizer and the shared initial weights."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Workload:
    """One network trained the same way by every peer.

    Args:
        name: "W1", "W2", "W3", "W4-xor", "W4-parity" or "W5".
        title: one line for the table.
        data: "cifar10" (rows of 3072), "cifar10-images" (N, 32, 32, 3), "xor" or "parity".
        n_train: training samples (CIFAR-10: the first n images).
        sizes: layer widths, input first, e.g. (3072, 100, 10).
        activations: one per layer after the input: "sigmoid", "tanh", "relu" or "linear".
        init: one per layer: ("normal", std) (the practical's factor), ("he",) or ("glorot",).
        loss: "cce" (softmax cross-entropy on integer labels) or "mse" (summed over outputs, mean over samples).
        optimizer: "sgd" (plain, mean-gradient lr) or "adam".
        lr: learning rate for the gradient of the *mean* batch loss.
        l2: lam of the penalty lam·ΣW² over the kernels (not the biases); 0 for none.
        batch_size: samples per step; None means the whole training set (full batch).
        rounds: default number of timed rounds (epochs, or chunks of steps for W4).
        steps_per_round: epochs per timed round (1, or a chunk of full-batch steps for W4).
        convs: a CNN's feature extractor before the dense layers (W5): output channels of each
            3x3 conv (padding 1, no bias, then BatchNorm and ReLU), "pool" for a 2x2 max pool.
    """

    name: str
    title: str
    data: str
    n_train: int
    sizes: tuple
    activations: tuple
    init: tuple
    loss: str
    optimizer: str
    lr: float
    l2: float
    batch_size: int | None
    rounds: int
    steps_per_round: int = 1
    convs: tuple = ()

    @property
    def per_step(self) -> bool:
        """W4: the figure of merit is steps per second, not images per second."""
        return self.steps_per_round > 1

    @property
    def batch(self) -> int:
        return self.batch_size or self.n_train

    def with_(self, **changes) -> "Workload":
        return dataclasses.replace(self, **changes)


WORKLOADS = {
    "W1": Workload(
        "W1", "Ex. 4: 3072-100 sigmoid-10, CCE, L2 1e-3, SGD lr 0.128 (= BGD 1e-3 x 128), batch 128",
        "cifar10", 50_000, (3072, 100, 10), ("sigmoid", "linear"), (("normal", 1e-2), ("normal", 1e-2)),
        "cce", "sgd", 0.128, 1e-3, 128, rounds=5),
    "W2": Workload(
        "W2", "Ex. 8: 3072-100-100-10 sigmoid/sigmoid/linear, MSE, L2 1e-3, SGD lr 6.4e-3 (= BGD 1e-4 x 64), batch 64",
        "cifar10", 5_000, (3072, 100, 100, 10), ("sigmoid", "sigmoid", "linear"),
        (("normal", 1e-2), ("normal", 1e-3), ("normal", 1e-2)), "mse", "sgd", 6.4e-3, 1e-3, 64, rounds=20),
    "W3": Workload(
        "W3", "wide MLP 3072-1024-512-10 ReLU, CCE, Adam lr 1e-3, batch 256",
        "cifar10", 50_000, (3072, 1024, 512, 10), ("relu", "relu", "linear"), (("he",), ("he",), ("glorot",)),
        "cce", "adam", 1e-3, 0.0, 256, rounds=3),
    "W4-xor": Workload(
        "W4-xor", "XOR 2-2-1 tanh, MSE, SGD lr 0.04 (= BGD 0.01 x 4), full batch (4)",
        "xor", 4, (2, 2, 1), ("tanh", "tanh"), (("glorot",), ("glorot",)), "mse", "sgd", 0.04, 0.0, None,
        rounds=10, steps_per_round=500),
    "W4-parity": Workload(
        "W4-parity", "10-bit parity 10-15-1 tanh, MSE, SGD lr 0.3, full batch (1024)",
        "parity", 1024, (10, 15, 1), ("tanh", "tanh"), (("glorot",), ("glorot",)), "mse", "sgd", 0.3, 0.0, None,
        rounds=10, steps_per_round=200),
    "W5": Workload(
        "W5", "CNN conv 3-32-32, pool, 32-64-64, pool (3x3, pad 1, BN, ReLU), dense 4096-256-10, CCE, Adam, batch 128",
        "cifar10-images", 10_000, (4096, 256, 10), ("relu", "linear"), (("he",), ("glorot",)), "cce", "adam", 1e-3,
        0.0, 128, rounds=3, convs=(32, 32, "pool", 64, 64, "pool")),
}
GROUPS = {"W4": ("W4-xor", "W4-parity")}


def expand(names) -> list:
    """Workload names with "W4" standing for both of its parts, in the order given, without repeats."""
    out = []
    for name in names:
        for part in GROUPS.get(name, (name,)):
            if part not in WORKLOADS:
                valid = ", ".join([*WORKLOADS, *GROUPS, "matmul"])
                raise ValueError(f"unknown workload {part!r}; valid: {valid}")
            if part not in out:
                out.append(part)
    return out


def initial_weights(workload: Workload, seed: int) -> list:
    """[(W (in, out), b (out,)), …] float32, drawn once from ``seed``: every peer starts from these arrays.

    A CNN's conv kernels come first, one (3, 3, in, out) He-normal array each (BatchNorm starts at γ=1, β=0).
    """
    rng = np.random.default_rng(seed)
    weights, channels = [], 3
    for filters in (c for c in workload.convs if c != "pool"):
        kernel = rng.standard_normal((3, 3, channels, filters)) * np.sqrt(2.0 / (9 * channels))
        weights.append(kernel.astype(np.float32))
        channels = filters
    for (fan_in, fan_out), init in zip(zip(workload.sizes[:-1], workload.sizes[1:]), workload.init):
        if init[0] == "normal":
            kernel = rng.standard_normal((fan_in, fan_out)) * init[1]
        elif init[0] == "he":
            kernel = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            kernel = rng.uniform(-limit, limit, (fan_in, fan_out))
        weights.append((kernel.astype(np.float32), np.zeros(fan_out, dtype=np.float32)))
    return weights


def matmul_shapes(workload: Workload, batch: int) -> list:
    """The (m, k) @ (k, n) products of one training step on ``batch`` rows, forward then backward.

    Per layer: forward x @ W; backward dW = x.T @ g, and dx = g @ W.T for every layer but the
    first (no framework computes the input's gradient).
    """
    shapes = _conv_shapes(workload, batch)
    pairs = list(zip(workload.sizes[:-1], workload.sizes[1:]))
    for fan_in, fan_out in pairs:
        shapes.append(("forward", (batch, fan_in), (fan_in, fan_out)))
    for index, (fan_in, fan_out) in reversed(list(enumerate(pairs))):
        shapes.append(("dW", (fan_in, batch), (batch, fan_out)))
        if index > 0:
            shapes.append(("dx", (batch, fan_out), (fan_out, fan_in)))
    return shapes


def _conv_shapes(workload: Workload, batch: int) -> list:
    """A CNN's im2col products: forward (pixels, 9·in) @ (9·in, out), dW and dx alike (no dx for the first conv)."""
    shapes, size, channels = [], 32, 3
    for index, filters in enumerate(workload.convs):
        if filters == "pool":
            size //= 2
            continue
        pixels, taps = batch * size * size, 9 * channels
        shapes += [("forward", (pixels, taps), (taps, filters)), ("dW", (taps, pixels), (pixels, filters))]
        if index > 0:
            shapes.append(("dx", (pixels, filters), (filters, taps)))
        channels = filters
    return shapes


def flops(shapes: list) -> float:
    """2·m·k·n summed over the products."""
    return float(sum(2 * a[0] * a[1] * b[1] for _, a, b in shapes))


def epoch_batches(workload: Workload) -> list:
    """The batch sizes of one epoch, in order (the last one may be partial)."""
    n, b = workload.n_train, workload.batch
    return [min(b, n - start) for start in range(0, n, b)]


def epoch_flops(workload: Workload) -> float:
    """Matmul flops of one epoch (forward and backward), counted analytically."""
    return sum(flops(matmul_shapes(workload, b)) for b in epoch_batches(workload))


# Not a network: the per-shape matmul speed of NumPy and PyTorch for the products of W1–W3.
WORKLOADS["matmul"] = Workload("matmul", "float32 matmul GFLOP/s for the products of W1 (batch 128), W2 (64), W3 (256)",
                               "none", 0, (), (), (), "", "", 0.0, 0.0, None, rounds=5)
