"""The best plain MLP neurona trains on CIFAR-10 within a time budget: He init, Adam, cosine decay, crops, flips, dropout.

The cosine decay is sized from the first epoch's measured speed (``_budget``), so the schedule
completes within ``max_minutes`` on any machine: a slower one trains fewer epochs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import layers, models
from ..datasets import cifar10
from ..datasets.preprocessing import Standardizer, flatten
from ._budget import train_within_budget
from ._common import records_outputs


@dataclasses.dataclass(frozen=True)
class Config:
    """Hyperparameters of the run (defaults: the best found on 2 cores within 10 minutes)."""

    hidden: tuple = (1024, 512)
    dropout: float = 0.1
    flip: bool = True
    crop: int = 2  # RandomCrop padding (0: none): each image shifted by up to this many pixels
    lr: float = 1e-3
    epochs: int | None = None  # None: as many as max_minutes allows, from the first epoch's speed
    batch_size: int = 256
    n_train: int = 50000
    n_test: int = 10000
    max_minutes: float = 10.0
    seed: int = 0

    @classmethod
    def quick(cls) -> "Config":
        return cls(hidden=(256, 128), epochs=2, n_train=2000, n_test=1000, max_minutes=2.0)


def build_model(config: Config) -> models.Network:
    """[Crop] and flip (training only) → [Dense(He, ReLU) → Dropout] per hidden width → Dense(10) scores."""
    model = models.Network(seed=config.seed)
    if config.crop:
        model.add(layers.RandomCrop(config.crop, image_shape=(32, 32, 3)))
    if config.flip:
        model.add(layers.RandomFlip((32, 32, 3)))
    for units in config.hidden:
        model.add(layers.Dense(units, activation="relu", kernel_initializer="he_normal"))
        if config.dropout:
            model.add(layers.Dropout(config.dropout))
    model.add(layers.Dense(10))
    return model


def load_data(config: Config) -> tuple:
    """Standardized float32 rows (the training set's per-feature mean and std), and labels."""
    (x_train, y_train), (x_test, y_test) = cifar10.load()
    x_train = flatten(x_train[:config.n_train]).astype(np.float32)
    x_test = flatten(x_test[:config.n_test]).astype(np.float32)
    scaler = Standardizer().fit(x_train)
    return (scaler.transform(x_train, copy=False), y_train[:config.n_train]), \
           (scaler.transform(x_test, copy=False), y_test[:config.n_test])


@records_outputs
def run(config: Config, out_dir, verbose: int = 1, overwrite: bool = False, resume: bool = False) -> dict:
    """Train, evaluate on the test set, and write the curves, history.csv, plan.json, summary.json and model.npz."""
    return train_within_budget(config, out_dir, name="cifar-best", title="CIFAR-10, best plain MLP",
                               minutes=config.max_minutes, model=build_model, data=load_data, verbose=verbose,
                               overwrite=overwrite, resume=resume)
