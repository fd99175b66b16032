"""The benchmark's data: standardized float32 CIFAR-10 (or synthetic data of the same shape), XOR, parity."""

from __future__ import annotations

import dataclasses

import numpy as np

from neurona.datasets import cifar10, synthetic
from neurona.datasets.preprocessing import Standardizer, flatten

CIFAR_TEST = 10_000


@dataclasses.dataclass
class Data:
    """Training and test arrays shared by every peer of one workload.

    ``x`` is (N, features) float32; ``y`` integer labels (N,) for classification or float32
    targets (N, 1) for XOR and parity, which have no test set (the test arrays are the training ones).
    """

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load(kind: str, n_train: int, synthetic_data: bool = False, data_dir=None) -> Data:
    """The data of a workload: ``kind`` is "cifar10", "cifar10-images", "xor" or "parity"."""
    if kind == "xor":
        x, y = synthetic.xor()
        return Data(x, y, x, y, "xor (4 patterns, ±1)")
    if kind == "parity":
        x, y = synthetic.parity(10)
        return Data(x, y, x, y, "10-bit parity (1024 patterns, ±1)")
    if not synthetic_data:
        try:
            (x, y), (x_test, y_test) = cifar10.load(data_dir, download=False, progress=False)
        except FileNotFoundError:
            pass
        else:
            if kind == "cifar10-images":
                return _standardized_images(x[:n_train], y[:n_train], x_test, y_test)
            return _standardized(x[:n_train], y[:n_train], x_test, y_test, "CIFAR-10")
    data = _synthetic_cifar(n_train)
    if kind == "cifar10-images":
        data.x, data.x_test = data.x.reshape(-1, 32, 32, 3), data.x_test.reshape(-1, 32, 32, 3)
    return data


def _standardized(x, y, x_test, y_test, source: str) -> Data:
    """Per-feature standardization in float32, in place: no float64 copy of the dataset is made."""
    x = flatten(x).astype(np.float32)
    x_test = flatten(x_test).astype(np.float32)
    scaler = Standardizer().fit(x)  # statistics accumulate in float64, one chunk at a time
    scaler.transform(x, copy=False)
    scaler.transform(x_test, copy=False)
    return Data(x, np.ascontiguousarray(y, dtype=np.int64), x_test, np.ascontiguousarray(y_test, dtype=np.int64),
                f"{source}, first {len(x):,} training images, {len(x_test):,} test images, standardized float32")


def _standardized_images(x, y, x_test, y_test) -> Data:
    """Images (N, 32, 32, 3) in float32, standardized per channel (a CNN's usual preprocessing)."""
    x, x_test = x.astype(np.float32), x_test.astype(np.float32)
    mean, std = x.mean(axis=(0, 1, 2), dtype=np.float64), x.std(axis=(0, 1, 2), dtype=np.float64)
    for images in (x, x_test):
        images -= mean.astype(np.float32)
        images /= std.astype(np.float32)
    return Data(x, np.ascontiguousarray(y, dtype=np.int64), x_test, np.ascontiguousarray(y_test, dtype=np.int64),
                f"CIFAR-10 images, first {len(x):,} training images, {len(x_test):,} test images, "
                "standardized per channel, float32")


def _synthetic_cifar(n_train: int, seed: int = 0) -> Data:
    """Gaussian images of CIFAR-10's size labelled by a random linear teacher (learnable, not CIFAR)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + CIFAR_TEST, 3072), dtype=np.float32)
    teacher = rng.standard_normal((3072, 10), dtype=np.float32)
    y = (x @ teacher).argmax(axis=1).astype(np.int64)
    return Data(x[:n_train], y[:n_train], x[n_train:], y[n_train:],
                f"SYNTHETIC (CIFAR-10 not found): {n_train:,} Gaussian 3072-feature samples, random linear labels")
