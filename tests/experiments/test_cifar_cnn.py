"""cifar-cnn on a tiny fake data set: files written, the same seed gives the same weights, the schedule is
planned from the first epoch's time, and a resumed run follows the written plan."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from neurona import models
from neurona.experiments import _budget, cifar_cnn, get


@pytest.fixture
def tiny(monkeypatch):
    """48 training and 16 test images of CIFAR's shape; no file is read and no figure drawn."""
    rng = np.random.default_rng(0)
    data = ((rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 48)),
            (rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 16)))
    monkeypatch.setattr(cifar_cnn.cifar10, "load", lambda: data)
    monkeypatch.setattr("neurona.callbacks.History.plot", lambda self, path, **kwargs: open(path, "wb").close())


def _config(**changes):
    return cifar_cnn.Config(**{"filters": (4,), "epochs": 2, "batch_size": 16, "n_train": 48, "n_test": 16,
                               "crop": 2, **changes})


def test_it_is_registered_and_writes_its_files(tiny, tmp_path):
    assert get("cifar-cnn") is cifar_cnn
    summary = cifar_cnn.run(_config(), tmp_path / "out", verbose=0)
    assert summary["results"]["epochs"] == 2 and summary["results"]["planned_epochs"] == 2
    for name in ("summary.json", "history.csv", "model.npz", "curves.png"):
        assert (tmp_path / "out" / name).exists()
    model = models.load(tmp_path / "out" / "model.npz")
    assert [type(layer).__name__ for layer in model.layers] == ["RandomCrop", "RandomFlip", "Conv2D",
                                                                  "BatchNormalization", "Activation", "MaxPool2D",
                                                                  "Flatten", "Dense"]


def test_the_same_seed_gives_the_same_weights_bit_for_bit(tiny, tmp_path):
    for name in ("a", "b"):
        cifar_cnn.run(_config(), tmp_path / name, verbose=0)
    a, b = models.load(tmp_path / "a" / "model.npz"), models.load(tmp_path / "b" / "model.npz")
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.weights, b.weights))


def test_the_plan_fits_the_budget_measured_on_the_first_epoch(tmp_path, monkeypatch):
    schedule = _budget.PlannedDecay(1.0, warmup_steps=10)
    plan = _budget.PlanFromFirstEpoch(schedule, steps_per_epoch=10, budget_seconds=35.0, path=tmp_path / "p.json")
    clock = iter([100.0, 110.0, 120.0, 130.0])  # 10 s per epoch: 35 s allow 3 epochs
    monkeypatch.setattr(_budget.time, "perf_counter", lambda: next(clock))
    plan.model = type("M", (), {"stop_training": False})()
    plan.on_train_begin()
    plan.on_epoch_end(0, {})
    assert plan.epochs == 3 and json.loads((tmp_path / "p.json").read_text())["epochs"] == 3
    # warm-up to 1.0 over epoch 1, then a half cosine over the 2 remaining epochs (20 steps), ending at 0
    assert schedule(0) == pytest.approx(0.1) and schedule(9) == pytest.approx(1.0)
    assert schedule(20) == pytest.approx(0.5 * (1 + math.cos(math.pi * 10 / 20)))
    assert schedule(29) > 0 and schedule(30) == 0.0
    plan.on_epoch_end(1, {})
    assert not plan.model.stop_training
    plan.on_epoch_end(2, {})
    assert plan.model.stop_training


def test_a_resumed_run_follows_the_written_plan(tiny, tmp_path):
    first = cifar_cnn.run(_config(epochs=None, minutes=1e-4), tmp_path / "out", verbose=0)
    assert first["results"]["planned_epochs"] == 2  # a budget shorter than one epoch still plans two
    again = cifar_cnn.run(_config(epochs=None, minutes=1e-4), tmp_path / "out", verbose=0, resume=True)
    assert again["results"]["planned_epochs"] == 2
    assert again["results"]["final_val_loss"] == first["results"]["final_val_loss"]
