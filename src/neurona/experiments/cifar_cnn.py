"""A small CNN on CIFAR-10 within a time budget: conv–BN–ReLU–pool blocks, Adam, a schedule sized by the first epoch."""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import layers, models
from ..datasets import cifar10
from ._budget import train_within_budget
from ._common import records_outputs

@dataclasses.dataclass(frozen=True)
class Config:
    """Hyperparameters of the run (defaults: 75.9% in 13.5 min on a busy 2-core machine, benchmarks/RESULTS.md)."""

    filters: tuple = (32, 64, 128)  # one conv–BN–ReLU then a 2x2 max pool per entry
    flip: bool = True
    crop: int = 0  # RandomCrop padding; 0 for none (crops pay off only over longer runs)
    lr: float = 2e-3
    batch_size: int = 128
    epochs: int | None = None  # None: as many as the budget allows, from the first epoch's speed
    minutes: float = 14.0  # training budget; data loading and the final evaluation come on top
    n_train: int = 50000
    n_test: int = 10000
    seed: int = 0

    @classmethod
    def quick(cls) -> "Config":
        return cls(filters=(8, 16), epochs=2, n_train=1000, n_test=500, minutes=1.0)


def build_model(config: Config) -> models.Network:
    """[RandomCrop] → [RandomFlip] → per ``filters`` entry: Conv2D(3x3, same) → BN → ReLU → MaxPool; then Dense(10)."""
    model = models.Network(seed=config.seed, name="cifar-cnn")
    model.add(layers.Input((32, 32, 3)))
    if config.crop:
        model.add(layers.RandomCrop(config.crop))
    if config.flip:
        model.add(layers.RandomFlip())
    for filters in config.filters:
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal"))
        model.add(layers.BatchNormalization())
        model.add(layers.Activation("relu"))
        model.add(layers.MaxPool2D())
    model.add(layers.Flatten())
    model.add(layers.Dense(10))
    return model


def load_data(config: Config) -> tuple:
    """Images (N, 32, 32, 3) as float32, standardized per channel with the training set's statistics."""
    (x_train, y_train), (x_test, y_test) = cifar10.load()
    x_train, x_test = x_train[:config.n_train].astype(np.float32), x_test[:config.n_test].astype(np.float32)
    mean = x_train.mean(axis=(0, 1, 2), dtype=np.float64)
    std = x_train.std(axis=(0, 1, 2), dtype=np.float64)
    for x in (x_train, x_test):
        x -= mean.astype(np.float32)
        x /= std.astype(np.float32)
    return (x_train, y_train[:config.n_train]), (x_test, y_test[:config.n_test])


@records_outputs
def run(config: Config, out_dir, verbose: int = 1, overwrite: bool = False, resume: bool = False) -> dict:
    """Train, evaluate on the test set, and write the curves, history.csv, plan.json, summary.json and model.npz."""
    return train_within_budget(config, out_dir, name="cifar-cnn", title="CIFAR-10, small CNN", minutes=config.minutes,
                               model=build_model, data=load_data, verbose=verbose, overwrite=overwrite, resume=resume)
