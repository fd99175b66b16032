"""One model of state: weights declared once, shared layers tied, and checkpoints that resume runs exactly.

A run is "interrupted" in-process by sending SIGINT to ourselves from a callback after a chosen
step: fit's handler ends the step and returns, as it does for Ctrl-C. Every resumed run is built
from fresh objects (model, optimizer, callbacks), as a new process would.
"""

from __future__ import annotations

import os
import random
import signal

import numpy as np
import pytest

from neurona import callbacks, layers, models, optimizers, schedules

RNG = np.random.default_rng(5)
X = RNG.normal(size=(40, 6)).astype(np.float32)
Y = RNG.integers(0, 3, size=40)
X_TEST = RNG.normal(size=(16, 6)).astype(np.float32)
Y_TEST = RNG.integers(0, 3, size=16)  # labels unrelated to x: val_loss soon gets worse, so the callbacks act
BATCH, EPOCHS = 8, 12  # 5 steps per epoch


class Centering(layers.Layer):
    """Test-only: subtracts a running mean of its inputs, a non-trainable weight that training changes.

    Nothing outside this class was edited to make it save, load, checkpoint and resume.
    """

    def __init__(self, momentum: float = 0.9, name=None):
        super().__init__(name)
        self.momentum = momentum

    def weight_shapes(self, input_shape):
        return {"moving_mean": tuple(input_shape)}

    def build(self, input_shape, rng, dtype=np.float32):
        self.moving_mean = self.add_weight("moving_mean", input_shape, "zeros", trainable=False)
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        if training:
            self.moving_mean.data *= self.momentum
            self.moving_mean.data += (1 - self.momentum) * x.data.mean(axis=0)
        return x - self.moving_mean

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class SignalAfter(callbacks.Callback):
    """Sends SIGINT to this process after the ``at``-th step of this fit call (1-based); None: never."""

    def __init__(self, at):
        self.at, self.steps = at, 0

    def on_batch_end(self, step, logs):
        self.steps += 1
        if self.at is not None and self.steps == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def _model(centering: bool = True) -> models.Network:
    model = models.Network(seed=3)
    model.add(layers.Dense(16, activation="tanh", input_dim=6))
    if centering:
        model.add(Centering())
    model.add(layers.RandomFlip(image_shape=(2, 8, 1)))  # flips the 16 hidden values as a 2×8 image
    model.add(layers.Dropout(0.25))
    model.add(layers.Dense(3))
    return model


def _fit(checkpoint, folder, stop_at=None, epochs=EPOCHS, model=None):
    """The full run: schedule, dropout, flips, EarlyStopping and ModelCheckpoint(save_best_only) all active."""
    model = model or _model()
    schedule = schedules.CosineDecay(0.05, decay_steps=EPOCHS * 5)
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=3)
    best = callbacks.ModelCheckpoint(folder / "best.npz", monitor="val_loss", save_best_only=True)
    history = model.fit(X, Y, test_data=(X_TEST, Y_TEST), epochs=epochs, loss="cce", opt=optimizers.Adam(lr=schedule),
                        batch_size=BATCH, callbacks=[stop, best, SignalAfter(stop_at)], verbose=0, seed=11,
                        checkpoint=checkpoint)
    return model, history, stop


def _same_weights(a, b) -> None:
    assert len(a.weights) == len(b.weights)
    for p, q in zip(a.weights, b.weights):
        assert p.name == q.name and p.dtype == q.dtype and np.array_equal(p.data, q.data), p.name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, without a checkpoint: (model, history, EarlyStopping, best.npz bytes)."""
    folder = tmp_path_factory.mktemp("reference")
    model, history, stop = _fit(None, folder)
    return model, history, stop, (folder / "best.npz").read_bytes()


def test_the_reference_run_exercises_every_piece_of_state(reference):
    model, history, stop, _ = reference
    assert stop.stopped_epoch is not None and len(history) < EPOCHS  # early stopping ended it …
    assert stop.best_epoch < len(history) - 1  # … after epochs worse than the best (so best.npz was kept)
    assert np.abs(model.layers[1].moving_mean.data).sum() > 0  # the running mean moved


# ----- weights know what they are -----
def test_a_non_trainable_weight_is_held_but_not_stepped(reference):
    model = reference[0]
    centering = model.layers[1]
    assert any(w is centering.moving_mean for w in model.weights)
    assert not any(w is centering.moving_mean for w in model.trainable_weights)
    assert [w.name for w in model.trainable_weights] == ["dense_0/kernel", "dense_0/bias", "dense_4/kernel",
                                                         "dense_4/bias"]
    assert model.parameters == model.trainable_weights


def test_a_test_only_layer_with_a_running_mean_round_trips_through_save_and_load(reference, tmp_path):
    model = reference[0]
    model.save(tmp_path / "m.npz")
    loaded = models.load(tmp_path / "m.npz", custom_objects={"Centering": Centering})
    _same_weights(loaded, model)
    np.testing.assert_array_equal(loaded.predict(X_TEST), model.predict(X_TEST))


def test_a_custom_layer_is_refused_unless_the_caller_names_it(reference, tmp_path):
    reference[0].save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"Unknown layer in model file: .*'Centering'"):
        models.load(tmp_path / "m.npz")
    with pytest.raises(TypeError, match=r"load: custom_objects must map class names to Layer subclasses"):
        models.load(tmp_path / "m.npz", custom_objects={"Centering": print})


# ----- interrupt and resume, with every stateful piece active -----
@pytest.mark.parametrize("trial", range(3))
def test_interrupting_at_seeded_random_steps_then_resuming_equals_the_uninterrupted_run(reference, tmp_path, trial):
    model_ref, history_ref, stop_ref, best_ref = reference
    total = len(history_ref) * 5
    picks = random.Random(trial).sample(range(1, total), 2)  # two interruptions, at seeded random steps
    checkpoint, done = tmp_path / "run.npz", 0
    for pick in sorted(picks):
        _, history, _ = _fit(checkpoint, tmp_path, stop_at=pick - done)
        assert history.interrupted == "SIGINT"
        done = len(history) * 5  # the resumed run restarts at the last complete epoch
    model, history, stop = _fit(checkpoint, tmp_path)
    assert history.interrupted is None
    _same_weights(model, model_ref)  # the best epoch's weights, restored by EarlyStopping, running mean included
    assert history.epoch == history_ref.epoch and history.history == history_ref.history
    assert (stop.best_epoch, stop.stopped_epoch, stop.wait) == (stop_ref.best_epoch, stop_ref.stopped_epoch,
                                                                stop_ref.wait)
    assert (tmp_path / "best.npz").read_bytes() == best_ref  # never overwritten by a worse model after a resume


def test_early_stopping_resumed_at_its_stopping_epoch_stops_there(reference, tmp_path):
    _, history_ref, stop_ref, _ = reference
    stopped_after = (stop_ref.stopped_epoch + 1) * 5
    _fit(tmp_path / "run.npz", tmp_path, stop_at=stopped_after - 4)  # inside the last epoch it trains
    model, history, _ = _fit(tmp_path / "run.npz", tmp_path)
    _same_weights(model, reference[0])
    assert len(history) == len(history_ref)


def test_a_finished_run_started_again_changes_nothing(reference, tmp_path):
    model, history, _ = _fit(tmp_path / "run.npz", tmp_path)
    _same_weights(model, reference[0])
    before = (tmp_path / "run.npz").read_bytes(), (tmp_path / "best.npz").stat().st_mtime_ns
    again, history_again, _ = _fit(tmp_path / "run.npz", tmp_path)
    _same_weights(again, reference[0])  # the best weights, not the last ones trained further
    assert history_again.history == history.history
    assert ((tmp_path / "run.npz").read_bytes(), (tmp_path / "best.npz").stat().st_mtime_ns) == before


# ----- a checkpoint knows what it belongs to -----
def _plain_fit(x, y, checkpoint, **changes):
    settings = dict(epochs=2, loss="cce", opt=optimizers.SGD(lr=0.1), batch_size=8, verbose=0, seed=0,
                    checkpoint=checkpoint)
    settings.update(changes)
    model = changes.pop("model", None) or _model(centering=False)
    settings.pop("model", None)
    return model.fit(x, y, **settings)


def test_other_data_of_the_same_shape_is_not_resumed(tmp_path):
    _plain_fit(X, Y, tmp_path / "run.npz")
    other = X[::-1].copy()
    with pytest.raises(ValueError, match=r"run\.npz: this checkpoint belongs to a different run: the training or "
                                         r"test data \(x differ in shape, dtype or content\) differ"):
        _plain_fit(other, Y, tmp_path / "run.npz")
    with pytest.raises(ValueError, match=r"the training or test data \(y differ"):
        _plain_fit(X, (Y + 1) % 3, tmp_path / "run.npz")


@pytest.mark.parametrize("change, named", [
    ({"opt": optimizers.SGD(lr=0.2)}, r"the optimizer or its settings"),
    ({"loss": "svm"}, r"the loss"),
    ({"batch_size": 4}, r"the batch size \(8 in the file, 4 now\)"),
    ({"seed": 1}, r"the seed \(0 in the file, 1 now\)"),
    ({"epochs": 3}, r"epochs \(2 in the file, 3 now\)"),
    ({"callbacks": [callbacks.EarlyStopping(monitor="loss")]}, r"the callbacks or their settings"),
    ({"reg": "l2"}, r"the regularizer"),
    ({"model": models.Network([layers.Dense(5, input_dim=6), layers.Dense(3)], seed=3)},
     r"the model's architecture"),
])
def test_a_checkpoint_names_what_differs(tmp_path, change, named):
    _plain_fit(X, Y, tmp_path / "run.npz")
    with pytest.raises(ValueError, match=r"belongs to a different run: " + named):
        _plain_fit(X, Y, tmp_path / "run.npz", **change)


def test_a_failed_restore_changes_nothing(tmp_path):
    """All or nothing: a checkpoint whose last part is malformed leaves the model and optimizer untouched."""
    import json

    _plain_fit(X, Y, tmp_path / "run.npz")
    with np.load(tmp_path / "run.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(arrays["__checkpoint__"].tobytes().decode())
    meta["state"]["run"]["epochs_done"] = -1  # the run's progress is restored last
    arrays["__checkpoint__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(tmp_path / "run.npz", **arrays)
    model, opt = _model(centering=False), optimizers.SGD(lr=0.1)
    model.build(seed=0)
    before = [w.data.copy() for w in model.weights]
    with pytest.raises(ValueError, match=r"run\.npz: run: run epochs_done must be an int >= 0. Received: -1"):
        _plain_fit(X, Y, tmp_path / "run.npz", model=model, opt=opt)
    for w, b in zip(model.weights, before):
        np.testing.assert_array_equal(w.data, b)
    assert opt.iterations == 0


# ----- seeds mean what they say -----
def test_summary_before_fit_draws_no_weights_so_the_seed_still_decides():
    plain = _model(centering=False)
    history = plain.fit(X, Y, epochs=2, loss="cce", verbose=0, seed=0)
    summarized = _model(centering=False)
    summarized.summary()
    assert not summarized.built
    again = summarized.fit(X, Y, epochs=2, loss="cce", verbose=0, seed=0)
    assert again.history == history.history
    _same_weights(summarized, plain)


def test_fit_with_another_seed_than_the_weights_were_drawn_with_says_so():
    model = _model(centering=False)
    model.predict(X)  # builds with the model's own seed, 3
    with pytest.warns(UserWarning, match=r"fit: the weights were already drawn with seed=3 .* so seed=0 only "
                                         r"drives the shuffling"):
        model.fit(X, Y, epochs=1, loss="cce", verbose=0, seed=0)


def test_the_same_seed_again_does_not_warn(recwarn):
    model = _model(centering=False)
    model.build(seed=0)
    model.fit(X, Y, epochs=1, loss="cce", verbose=0, seed=0)
    model.fit(X, Y, epochs=1, loss="cce", verbose=0, seed=0)
    assert not [w for w in recwarn if "already drawn" in str(w.message)]


# ----- a shared layer is one layer -----
def _shared():
    shared = layers.Dense(4, activation="tanh", input_dim=4)
    model = models.Network(seed=1)
    model.add(shared)
    model.add(shared)
    model.add(layers.Dense(3))
    return model, shared


def test_a_layer_added_twice_is_stepped_once_per_batch():
    model, shared = _shared()
    x, y = X[:8, :4], Y[:8]
    model.build()
    before = shared.kernel.data.copy()
    from neurona import losses

    value = losses.CCE()(model.forward(x, training=True), y)  # the same step, by hand
    value.backward()
    expected = before - np.float32(0.1) * shared.kernel.grad  # one update with the summed gradient of both uses
    model.fit(x, y, epochs=1, loss="cce", opt=optimizers.SGD(lr=0.1), batch_size=8, verbose=0)
    assert len(model.trainable_weights) == 4 and len(model.layers) == 2
    np.testing.assert_allclose(shared.kernel.data, expected, rtol=1e-6)


def test_a_layer_added_twice_stays_tied_through_save_and_load(tmp_path):
    model, _ = _shared()
    model.fit(X[:, :4], Y, epochs=2, loss="cce", verbose=0, seed=0)
    model.save(tmp_path / "m.npz")
    loaded = models.load(tmp_path / "m.npz")
    assert len(loaded.layers) == 2 and [s[0] for s in loaded.steps] == [0, 0, 1]
    np.testing.assert_array_equal(loaded.predict(X[:, :4]), model.predict(X[:, :4]))
    loaded.fit(X[:, :4], Y, epochs=1, loss="cce", verbose=0, seed=0)  # training the loaded model keeps them tied
    assert [s[0] for s in loaded.steps] == [0, 0, 1] and len(loaded.trainable_weights) == 4
