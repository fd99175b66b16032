"""Callbacks: EarlyStopping (stops, restores the best weights), ModelCheckpoint (writes files), the progress
display on stderr, and History.plot (a PNG)."""

import sys

import numpy as np
import pytest

from neurona import callbacks, layers, models, optimizers

from network_helpers import mlp

RNG = np.random.default_rng(71)
X = RNG.normal(size=(12, 3))
LABELS = RNG.integers(0, 3, size=12)
X_VAL = RNG.normal(size=(6, 3))
LABELS_VAL = RNG.integers(0, 3, size=6)


class RecordWeights(callbacks.Callback):
    """Copies of the weights at the end of every epoch."""

    def on_train_begin(self):
        self.weights = []

    def on_epoch_end(self, epoch, logs):
        self.weights.append([p.data.copy() for p in self.model.parameters])


def test_early_stopping_stops_after_patience_and_restores_the_first_epoch():
    model, record = mlp((3, 4, 3), seed=0), RecordWeights()
    # min_delta so large that nothing after epoch 0 counts as an improvement: best = epoch 0, stop at epoch 2
    stop = callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=1e9)
    history = model.fit(X, LABELS, epochs=10, loss="cce", opt=optimizers.SGD(lr=0.5), callbacks=[stop, record],
                        verbose=0, seed=0)
    assert len(history) == 3 and stop.stopped_epoch == 2 and stop.best_epoch == 0
    assert not np.array_equal(record.weights[2][0], record.weights[0][0])  # training did move the weights
    for p, best in zip(model.parameters, record.weights[0]):
        np.testing.assert_array_equal(p.data, best)


def test_early_stopping_restores_the_epoch_with_the_lowest_val_loss():
    model, record = mlp((3, 8, 3), seed=1), RecordWeights()
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=3)
    # a large learning rate on random labels: the validation loss wanders up and down
    history = model.fit(X, LABELS, test_data=(X_VAL, LABELS_VAL), epochs=30, loss="cce",
                        opt=optimizers.SGD(lr=2.0, momentum=0.9), batch_size=4, callbacks=[stop, record], verbose=0,
                        seed=3)
    best = int(np.argmin(history["val_loss"]))  # the first minimum: only strict improvements count
    assert stop.best_epoch == best and 0 < best  # (for this seed: epoch 2 of 0..5, then 3 worse ones)
    assert stop.stopped_epoch == best + 3 == len(history) - 1
    for p, w in zip(model.parameters, record.weights[best]):
        np.testing.assert_array_equal(p.data, w)
    assert model.evaluate(X_VAL, LABELS_VAL)["loss"] == pytest.approx(history["val_loss"][best], rel=1e-12)


def test_early_stopping_on_accuracy_maximises():
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    assert stop.sign == 1 and callbacks.EarlyStopping(monitor="val_loss").sign == -1
    assert callbacks.EarlyStopping(monitor="loss", mode="max").sign == 1


def test_early_stopping_without_restoring_keeps_the_last_weights():
    model, record = mlp((3, 4, 3), seed=0), RecordWeights()
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=1e9, restore_best_weights=False)
    model.fit(X, LABELS, epochs=10, loss="cce", opt=optimizers.SGD(lr=0.5), callbacks=[stop, record], verbose=0,
              seed=0)
    for p, last in zip(model.parameters, record.weights[-1]):
        np.testing.assert_array_equal(p.data, last)


def test_early_stopping_on_a_missing_metric_says_why():
    stop = callbacks.EarlyStopping(monitor="val_loss")
    with pytest.raises(ValueError, match=r"EarlyStopping: monitor='val_loss' is not among the metrics "
                                         r"\['accuracy', 'loss'\] \(val_\* metrics need test_data\)"):
        mlp((3, 3), seed=0).fit(X, LABELS, loss="cce", callbacks=[stop], verbose=0)


def test_model_checkpoint_writes_a_file_per_epoch(tmp_path):
    model = mlp((3, 4, 3), seed=0)
    model.fit(X, LABELS, epochs=3, loss="cce", callbacks=[callbacks.ModelCheckpoint(tmp_path / "e{epoch}.npz")],
              verbose=0, seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1.npz", "e2.npz", "e3.npz"]
    np.testing.assert_array_equal(models.load(tmp_path / "e3.npz").predict(X), model.predict(X))


def test_model_checkpoint_save_best_only(tmp_path):
    model, record = mlp((3, 8, 3), seed=1), RecordWeights()
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "best.npz", monitor="val_loss", save_best_only=True)
    history = model.fit(X, LABELS, test_data=(X_VAL, LABELS_VAL), epochs=12, loss="cce",
                        opt=optimizers.SGD(lr=2.0, momentum=0.9), batch_size=4, callbacks=[checkpoint, record],
                        verbose=0, seed=3)
    best = int(np.argmin(history["val_loss"]))
    assert 0 < best < 11  # a later epoch was worse, so save_best_only really skipped it
    saved = models.load(tmp_path / "best.npz")
    for p, w in zip(saved.parameters, record.weights[best]):
        np.testing.assert_array_equal(p.data, w)


def test_callbacks_must_be_callbacks():
    with pytest.raises(TypeError, match=r"fit: callbacks must be Callback instances. Received: 'stop'"):
        mlp((3, 3), seed=0).fit(X, LABELS, callbacks=["stop"], verbose=0)


@pytest.mark.parametrize("make, match", [
    (lambda: callbacks.EarlyStopping(patience=0), r"EarlyStopping: patience must be a positive int. Received: patience=0"),
    (lambda: callbacks.EarlyStopping(mode="up"), r"EarlyStopping: mode must be 'auto', 'min' or 'max'. "
                                                 r"Received: mode='up'"),
    (lambda: callbacks.ModelCheckpoint("m.npz", mode="best"), r"ModelCheckpoint: mode must be .*Received: mode='best'"),
])
def test_bad_callback_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----- progress display -----
def test_the_progress_bar_goes_to_stderr(capfd):
    mlp((3, 3), seed=0).fit(X, LABELS, epochs=2, loss="cce", name="demo", seed=0)
    out, err = capfd.readouterr()
    assert out == ""
    assert "demo" in err and "2/2" in err and "loss" in err and "accuracy" in err


def test_verbose_zero_is_silent(capfd):
    mlp((3, 3), seed=0).fit(X, LABELS, epochs=2, loss="cce", verbose=0, seed=0)
    assert capfd.readouterr() == ("", "")


def test_an_inner_bar_for_epochs_with_many_steps(capfd):
    x, y = np.zeros((50, 3)), np.zeros(50, dtype=int)
    mlp((3, 3), seed=0).fit(x, y, epochs=1, loss="cce", batch_size=2, seed=0)  # 25 steps per epoch
    assert "steps" in capfd.readouterr().err


def test_without_tqdm_the_progress_is_printed_as_lines(monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # makes `from tqdm.auto import tqdm` raise ImportError
    mlp((3, 3), seed=0).fit(X, LABELS, epochs=40, loss="cce", name="plain", seed=0)
    lines = capfd.readouterr().err.splitlines()
    # one line every ceil(40/20) = 2 epochs
    assert len(lines) == 20 and lines[0].startswith("plain epoch 2/40  loss ") and "accuracy" in lines[0]
    assert lines[-1].startswith("plain epoch 40/40")


class _StopAt(callbacks.Callback):
    """Stops training after ``at`` epochs, a number it only knows once the first epoch has ended."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs):
        self.planned_epochs = self.at
        if epoch + 1 >= self.at:
            self.model.stop_training = True


def test_the_bar_counts_to_the_epochs_a_callback_plans(capfd):
    mlp((3, 3), seed=0).fit(X, LABELS, epochs=1000, loss="cce", name="planned", seed=0, callbacks=[_StopAt(3)])
    err = capfd.readouterr().err
    assert "3/3" in err and "/1000" not in err.splitlines()[-1].split("\r")[-1]


def test_without_tqdm_the_lines_count_to_the_planned_epochs(monkeypatch, capfd):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    mlp((3, 3), seed=0).fit(X, LABELS, epochs=1000, loss="cce", name="plain", seed=0, callbacks=[_StopAt(40)])
    lines = capfd.readouterr().err.splitlines()
    # the first line is printed before the plan is known (epoch 1 of 1000 would not be); then every 2 of 40
    assert lines[-1].startswith("plain epoch 40/40") and all("/1000" not in line for line in lines[1:])


# ----- History.plot -----
def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    history = mlp((3, 3), seed=0).fit(X, LABELS, test_data=(X_VAL, LABELS_VAL), epochs=3, loss="cce", verbose=0,
                                      seed=0, name="curves")
    history.plot(tmp_path / "curves.png")
    data = (tmp_path / "curves.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_model_checkpoint_path_with_other_braces_and_best_reset_per_fit(tmp_path):
    # Braces other than {epoch} are kept literally, and each fit starts its "best" afresh: the
    # second fit's first epoch (loss L1, worse than the first fit's best L2) is still saved.
    x = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    y = np.array([[0.0], [2.0], [4.0], [6.0]], dtype=np.float32)
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "m{x}-{epoch}.npz", monitor="loss", save_best_only=True)

    def fit(epochs):
        model = models.Network(seed=0)
        model.add(layers.Dense(1, input_dim=1))
        return model.fit(x, y, epochs=epochs, loss="mse", opt=optimizers.SGD(lr=0.01), batch_size=4,
                         callbacks=[checkpoint], verbose=0)

    first = fit(2)
    assert first.history["loss"][1] < first.history["loss"][0]
    assert (tmp_path / "m{x}-2.npz").exists()
    (tmp_path / "m{x}-1.npz").unlink()
    fit(1)
    assert (tmp_path / "m{x}-1.npz").exists()
