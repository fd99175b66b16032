"""The best plain MLP neurona trains on CIFAR-10 within a time budget: He init, Adam, cosine decay, dropout, flips."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from .. import callbacks, layers, losses, models, optimizers, schedules
from ..datasets import cifar10
from ..datasets.preprocessing import Standardizer, flatten
from . import _common
from ._common import records_outputs


@dataclasses.dataclass(frozen=True)
class Config:
    """Hyperparameters of the run (defaults: the best found on 2 cores within 10 minutes)."""

    hidden: tuple = (1024, 512)
    dropout: float = 0.3
    flip: bool = True
    lr: float = 1e-3
    warmup_epochs: int = 1
    epochs: int = 60
    batch_size: int = 256
    n_train: int = 50000
    n_test: int = 10000
    max_minutes: float = 10.0
    seed: int = 0

    @classmethod
    def quick(cls) -> "Config":
        return cls(hidden=(256, 128), epochs=2, n_train=2000, n_test=1000, max_minutes=2.0)


class TimeBudget(callbacks.Callback):
    """Stop after the epoch during which ``minutes`` of training have passed."""

    def __init__(self, minutes: float):
        self.seconds = minutes * 60

    def on_train_begin(self):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        if time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


def build_model(config: Config) -> models.Network:
    """Flip (training only) → [Dense(He, ReLU) → Dropout] per hidden width → Dense(10) scores."""
    model = models.Network(seed=config.seed)
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
    """Train, evaluate on the test set, and write the curves, history.csv, summary.json and model.npz."""
    started = time.perf_counter()
    out = _common.prepare_output(out_dir, overwrite=overwrite, resume=resume)
    (x_train, y_train), (x_test, y_test) = load_data(config)
    steps_per_epoch = -(-len(x_train) // config.batch_size)
    lr = schedules.CosineDecay(config.lr, decay_steps=config.epochs * steps_per_epoch,
                               warmup_steps=config.warmup_epochs * steps_per_epoch or 0)
    checkpoint = Path(out) / "checkpoint.npz"
    if not resume:
        checkpoint.unlink(missing_ok=True)
    model = build_model(config)
    train_started = time.perf_counter()
    history = model.fit(x_train, y_train, test_data=(x_test, y_test), epochs=config.epochs, loss=losses.CCE(),
                        opt=optimizers.Adam(lr=lr), batch_size=config.batch_size, verbose=verbose,
                        seed=config.seed, name="cifar-best", callbacks=[TimeBudget(config.max_minutes)],
                        checkpoint=checkpoint)
    train_seconds = time.perf_counter() - train_started
    model.save(Path(out) / "model.npz")
    history.plot(Path(out) / "curves.png", title="CIFAR-10, best plain MLP")
    _common.write_history_csv(Path(out) / "history.csv", {"cifar-best": history})
    stats = _common.history_stats(history)
    results = {**stats, "train_seconds": round(train_seconds, 1), "parameters": sum(p.size for p in model.parameters),
               "interrupted": history.interrupted}
    summary = _common.run_summary(config, results, started)
    summary["headline"] = [f"test accuracy {stats.get('final_val_accuracy', float('nan')):.1%} after "
                           f"{stats['epochs']} epochs ({train_seconds / 60:.1f} min of training)"]
    _common.write_json(Path(out) / "summary.json", summary)
    return summary
