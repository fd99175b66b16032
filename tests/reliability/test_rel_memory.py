"""No leaks: each step's graph is released when the step ends, so memory is flat from epoch to epoch.

Traced memory (tracemalloc sees NumPy's buffers too) after epoch 50 equals that after epoch 10
within a bound far below what keeping one step's graph per step would add; a control run that
does keep the graphs shows the bound is tight enough to notice.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

from neurona import Tensor, callbacks, layers, models, optimizers

EPOCHS, BOUND = 60, 16 * 1024  # 240 steps; the history's own growth is ~100 bytes per epoch (4 KB here)


def _model() -> models.Network:
    model = models.Network(seed=0)
    model.add(layers.Dense(32, activation="relu", input_dim=8))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(3))
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 8)).astype(np.float32), rng.integers(0, 3, size=64)


class TracedMemory(callbacks.Callback):
    """tracemalloc's current traced size after epochs 10 and 50 (keys: 1-based epoch numbers).

    A full gc pass first also empties CPython's free lists (spare floats, tuples …), which otherwise
    fill up over the first thousand steps and would look like slow growth.
    """

    def __init__(self):
        self.after_epoch = {}

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 in (10, 50):
            gc.collect()
            self.after_epoch[epoch + 1] = tracemalloc.get_traced_memory()[0]


class KeepGraphs(callbacks.Callback):
    """A deliberate leak for the control: keeps one forward graph (with its arrays) per step."""

    def __init__(self, x):
        self.x, self.kept = Tensor(x), []

    def on_batch_end(self, step, logs):
        self.kept.append(self.model.forward(self.x, training=True).sum())


def _traced_growth(extra=None) -> int:
    x, y = _data()
    memory = TracedMemory()
    tracemalloc.start()
    try:
        _model().fit(x, y, epochs=EPOCHS, loss="cce", opt=optimizers.Adam(lr=1e-3), batch_size=16,
                     callbacks=[memory] + ([extra(x)] if extra else []), verbose=0, seed=0)
    finally:
        tracemalloc.stop()
    return memory.after_epoch[50] - memory.after_epoch[10]


def test_memory_after_epoch_50_equals_memory_after_epoch_10():
    assert abs(_traced_growth()) < BOUND


def test_the_bound_would_catch_a_leak_of_one_graph_per_step():  # the control
    assert _traced_growth(KeepGraphs) > 10 * BOUND


@pytest.fixture
def no_cycle_collector():
    """Reference counting only: what is freed here is freed at once, not by a later gc pass."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def test_every_tensor_of_a_step_is_freed_when_the_step_ends(monkeypatch, no_cycle_collector):
    monkeypatch.setenv("NEURONA_CAPTURE", "off")  # the eager engine's graphs (a captured step builds none)
    created = []
    original = Tensor._from_op.__func__

    def recording(cls, data, parents, op, backward):
        out = original(cls, data, parents, op, backward)
        created.append(weakref.ref(out))
        return out

    monkeypatch.setattr(Tensor, "_from_op", classmethod(recording))

    class AllFreed(callbacks.Callback):
        def __init__(self):
            self.alive_per_step, self.made_per_step = [], []

        def on_batch_end(self, step, logs):
            self.made_per_step.append(len(created))
            self.alive_per_step.append(sum(ref() is not None for ref in created))
            created.clear()

    x, y = _data()
    check = AllFreed()
    _model().fit(x, y, epochs=3, loss="cce", opt=optimizers.Adam(lr=1e-3), batch_size=16, callbacks=[check],
                 verbose=0, seed=0)
    assert min(check.made_per_step) >= 8  # each step built a graph (matmuls, adds, relu, dropout, loss …)
    assert check.alive_per_step == [0] * 12  # … and none of its nodes outlived the step


def test_predict_and_evaluate_record_no_graph_and_stay_flat():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, loss="cce", verbose=0, seed=0)
    sizes = []
    tracemalloc.start()
    try:
        for i in range(60):
            model.predict(x)
            model.evaluate(x, y)
            if i in (9, 59):
                gc.collect()
                sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert abs(sizes[1] - sizes[0]) < BOUND
