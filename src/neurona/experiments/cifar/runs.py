"""One CIFAR-10 training run from a plain settings dict, on the framework or the plain-NumPy reference, and its record.

``train_task`` is that run as an executor's task (see book, which runs an exercise's runs as tasks).

A run's settings say everything that decides its result, so a finished run can be reused by --resume:
    engine      "framework" (models.Network) or "reference" (neurona.reference, no framework)
    layers      ((units, activation, factor), ...) from the first hidden layer to the output layer
    loss        "mse" (on one-hot rows), "svm" or "cce"
    optimizer   "bgd" (the practical's summed-gradient step) or "sgd" (mean gradient); lr; batch_size
    lam         L2 strength on the kernels; epochs; seed
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ... import layers, losses, models, optimizers, reference, regularizers
from ..._signals import StopOnSignal
from . import data as cifar_data
from .data import CifarData
from .._common import RunInterrupted, history_stats

ENGINES = ("framework", "reference")
QUICK = {"n_train": 1000, "n_test": 2000, "epochs": 3}  # every exercise's quick(): seconds, not minutes


def quick_config(cls, **changes):
    """``cls`` with the reduced data and epochs of QUICK (and ``changes``)."""
    return cls(**{**QUICK, **changes})


def settings(engine: str, layer_specs, loss: str, lr: float, batch_size: int, epochs: int, lam: float,
             seed: int, optimizer: str = "bgd") -> dict:
    """The settings dict of one run (see the module docstring), checked."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}. Received: engine={engine!r}")
    if optimizer not in ("bgd", "sgd"):
        raise ValueError(f"optimizer must be 'bgd' or 'sgd'. Received: optimizer={optimizer!r}")
    if loss not in ("mse", "svm", "cce"):
        raise ValueError(f"loss must be one of mse, svm, cce. Received: loss={loss!r}")
    return {"engine": engine, "layers": [list(spec) for spec in layer_specs], "loss": loss, "optimizer": optimizer,
            "lr": float(lr), "batch_size": int(batch_size), "epochs": int(epochs), "lam": float(lam), "seed": int(seed)}


def describe(run: dict) -> str:
    """A short human description: '3072-100(sigmoid)-10(linear), CCE, BGD lr=0.001 bs=128, L2 0.001'."""
    arch = "-".join(["3072"] + [f"{units}({act})" for units, act, _ in run["layers"]])
    return (f"{arch}, {run['loss'].upper()}, {run['optimizer'].upper()} lr={run['lr']:g} bs={run['batch_size']}, "
            f"L2 {run['lam']:g}, {run['epochs']} epochs, {run['engine']}")


def _targets(data: CifarData, loss: str):
    """One-hot rows for MSE (the practical's encoding), integer labels for SVM and CCE."""
    if loss == "mse":
        return data.y_train_hot, data.y_test_hot
    return data.y_train, data.y_test


def _train_framework(data: CifarData, run: dict, name: str, verbose: int, checkpoint=None) -> dict:
    model = models.Network(seed=run["seed"])
    for i, (units, activation, factor) in enumerate(run["layers"]):
        model.add(layers.Dense(units, activation=activation, factor=factor,
                               input_dim=data.x_train.shape[1] if i == 0 else None))
    if run["optimizer"] == "bgd":
        opt, batch_size = optimizers.BGD(lr=run["lr"], bs=run["batch_size"]), None
    else:
        opt, batch_size = optimizers.SGD(lr=run["lr"]), run["batch_size"]
    y_train, y_test = _targets(data, run["loss"])
    with np.errstate(over="ignore", invalid="ignore"):  # divergence ends the run and is kept in history.stopped
        history = model.fit(data.x_train, y_train, test_data=(data.x_test, y_test), epochs=run["epochs"],
                            loss=losses.get(run["loss"]), opt=opt, reg=regularizers.L2(run["lam"]), name=name,
                            batch_size=batch_size, verbose=verbose, seed=run["seed"], checkpoint=checkpoint)
    return {"history": dict(history.history), "stopped": history.stopped, "interrupted": history.interrupted}


def _reference_layers(run: dict) -> tuple:
    if len(run["layers"]) != 2 or run["layers"][0][2] != run["layers"][1][2] or run["layers"][1][0] != 10:
        raise ValueError("the reference engine trains one hidden layer, a 10-unit output and one init factor. "
                         f"Received: layers={run['layers']}")
    (hidden, hidden_activation, factor), (_, output_activation, _) = run["layers"]
    return hidden, hidden_activation, output_activation, factor


def _print_epoch(name: str, epochs: int):
    def callback(epoch, logs, params):
        print(f"{name}: epoch {epoch + 1}/{epochs}  loss {logs['loss']:.4g}  acc {logs['accuracy']:.4f}  "
              f"test acc {logs['val_accuracy']:.4f}", file=sys.stderr, flush=True)
    return callback


def _stop_between_epochs(stop: StopOnSignal, then):
    """A reference-trainer callback: the plain-NumPy loop has no step hook, so a signal ends it after the epoch."""
    def callback(epoch, logs, params):
        if then is not None:
            then(epoch, logs, params)
        if stop.received is not None:
            raise RunInterrupted(stop.name, f"interrupted by {stop.name} after epoch {epoch + 1}")
    return callback


def _train_reference(data: CifarData, run: dict, name: str, verbose: int, checkpoint=None) -> dict:
    hidden, hidden_activation, output_activation, factor = _reference_layers(run)
    with np.errstate(over="ignore", invalid="ignore"), StopOnSignal() as stop:  # NaN loss = diverged
        history = reference.train(
            data.x_train, data.y_train, data.x_test, data.y_test, hidden=hidden, loss=run["loss"],
            hidden_activation=hidden_activation, output_activation=output_activation, lr=run["lr"],
            batch_size=run["batch_size"], epochs=run["epochs"], lam=run["lam"], seed=run["seed"],
            sum_gradients=run["optimizer"] == "bgd", factor=factor, classes=10,
            callback=_stop_between_epochs(stop, _print_epoch(name, run["epochs"]) if verbose else None))
    finite = [v for v in history["loss"] if np.isfinite(v)]
    stopped = None if len(finite) == len(history["loss"]) else "the loss became NaN or inf (diverged)"
    return {"history": history, "stopped": stopped}


def train(data: CifarData, run: dict, name: str, verbose: int = 1, checkpoint=None) -> dict:
    """Train one run; returns {"history": {metric: [per epoch]}, "stopped": None or why, "seconds": float}.

    ``checkpoint`` (framework runs) keeps the training state after every epoch, so an interrupted
    run resumes where it stopped; an interrupted run raises RunInterrupted.
    """
    started = time.perf_counter()
    trainer = _train_reference if run["engine"] == "reference" else _train_framework
    record = trainer(data, run, name, verbose, checkpoint)
    signal_name = record.pop("interrupted", None)
    if signal_name:
        raise RunInterrupted(signal_name, f"{name}: {record['stopped']}")
    record["seconds"] = round(time.perf_counter() - started, 2)
    return record


def result(run: dict, record: dict, data: CifarData) -> dict:
    """The summary entry of one run: its settings, final/best values and time."""
    stats = history_stats(record["history"])
    if record.get("stopped"):
        stats["stopped"] = record["stopped"]
    return {"settings": run, "description": describe(run), "n_train": len(data.x_train),
            "n_test": len(data.x_test), "seconds": record["seconds"], **stats}


def train_task(params: dict) -> dict:
    """One run as an executor's task (module-level, so worker processes and Dask workers can call it).

    ``params``: key, run (its settings), n_train and n_test (the data, prepared once per process),
    checkpoint (a path, or None where the worker cannot write this machine's files), resume, verbose.
    Returns the run's record (see ``train``), or {"interrupted": signal name, "message": ...} when a
    signal stopped it; its last epoch checkpoint then stays for --resume.
    """
    data = cifar_data.prepare(params["n_train"], params["n_test"], download=False)
    checkpoint = params["checkpoint"]
    if checkpoint is not None and not params["resume"]:
        Path(checkpoint).unlink(missing_ok=True)  # a stale one from an earlier command: start afresh
    try:
        return train(data, params["run"], params["key"], params["verbose"], checkpoint=checkpoint)
    except RunInterrupted as exc:
        return {"interrupted": exc.signal_name, "message": str(exc)}


def estimated_seconds(run: dict, n_train: int, n_test: int) -> float:
    """A rough duration, to start the longest runs first: multiply-adds per epoch (weights × (3 × training
    images, for the forward and backward passes, + test images)) at 1e10 a second."""
    widths = [3072] + [units for units, _, _ in run["layers"]]
    weights = sum(inputs * outputs for inputs, outputs in zip(widths, widths[1:]))
    return run["epochs"] * weights * (3 * n_train + n_test) / 1e10
