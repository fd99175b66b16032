"""The captured step against the eager engine: the same numbers, bit for bit, wherever fit can capture.

Every case trains the same model twice from the same seed, once with ``NEURONA_CAPTURE=off`` (the
eager engine, the reference) and once captured, and compares the histories and every weight
exactly. ``debug`` mode makes fit say which step it used, so each test also checks that the
capture really ran (or, for what it cannot capture, that fit fell back and said why).
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from neurona import layers, losses, models, optimizers, regularizers, schedules
from neurona.training import DivergenceWarning


def _data(n=70, features=12, classes=4, seed=0, images=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4, 4, 3) if images else (n, features)).astype(np.float32)
    return x, rng.integers(0, classes, n)


def _train(mode, monkeypatch, capfd, build, x, y, **fit):
    monkeypatch.setenv("NEURONA_CAPTURE", "debug" if mode == "captured" else "off")
    model = build()
    fit.setdefault("epochs", 3)
    fit.setdefault("batch_size", 16)  # 70 samples: four full batches and a last one of 6
    history = model.fit(x, y, verbose=0, seed=5, **fit)
    said = capfd.readouterr().err
    return model, history, said


def _same_run(monkeypatch, capfd, build, x, y, **fit):
    """Train eagerly and captured; assert both are identical and that the capture ran. Returns the captured model."""
    eager, h_eager, _ = _train("eager", monkeypatch, capfd, build, x, y, **fit)
    captured, h_captured, said = _train("captured", monkeypatch, capfd, build, x, y, **fit)
    assert "uses the captured step" in said, said
    assert h_captured.history == h_eager.history
    for a, b in zip(eager.weights, captured.weights):
        np.testing.assert_array_equal(a.data, b.data, err_msg=a.name)
    return captured, h_captured


def _mlp(hidden_activation="tanh", out_activation=None, outputs=4, extra=(), dtype="float32", **dense):
    def build():
        model = models.Network(seed=1, dtype=dtype)
        model.add(layers.Dense(9, activation=hidden_activation, input_dim=12, **dense))
        for layer in extra:
            model.add(layer())
        model.add(layers.Dense(outputs, activation=out_activation))
        return model
    return build


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "linear"])
@pytest.mark.parametrize("loss", ["cce", "mse", "svm"])
def test_every_activation_and_loss_gives_the_eager_numbers(monkeypatch, capfd, activation, loss):
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp(activation), x, y, loss=loss, opt=optimizers.SGD(lr=0.05))


@pytest.mark.parametrize("opt", [
    lambda: optimizers.SGD(lr=0.1, momentum=0.9),
    lambda: optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True),
    lambda: optimizers.BGD(lr=0.01),
    lambda: optimizers.RMSprop(lr=1e-3),
    lambda: optimizers.Adam(lr=1e-3),
    lambda: optimizers.Adam(lr=schedules.CosineDecay(1e-2, decay_steps=12, warmup_steps=3)),
    lambda: optimizers.SGD(lr=0.5, clipnorm=0.05),  # the norm is above 0.05 from the first step: always clipped
    lambda: optimizers.Adam(lr=1e-2, clipnorm=1e-3),
], ids=["momentum", "nesterov", "bgd", "rmsprop", "adam", "schedule", "sgd-clipnorm", "adam-clipnorm"])
def test_every_optimizer_gives_the_eager_numbers(monkeypatch, capfd, opt):
    x, y = _data()
    fit = {"batch_size": None} if "bgd" in str(opt) else {}
    _same_run(monkeypatch, capfd, _mlp("relu"), x, y, loss="cce", opt=opt(), **fit)


@pytest.mark.parametrize("reg", [regularizers.L2(1e-2), regularizers.L1(1e-2)], ids=["l2", "l1"])
def test_penalties_give_the_eager_numbers(monkeypatch, capfd, reg):
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp("sigmoid"), x, y, loss="cce", opt=optimizers.SGD(lr=0.1), reg=reg)


def test_a_layers_own_regularizer_gives_the_eager_numbers(monkeypatch, capfd):
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp("tanh", kernel_regularizer=regularizers.L2(0.05)), x, y, loss="mse",
              opt=optimizers.SGD(lr=0.05))


@pytest.mark.parametrize("loss", [losses.CCE(), losses.CategoricalCrossentropy(), "mse"], ids=["cce", "keras-cce", "mse"])
def test_a_softmax_output_gives_the_eager_numbers(monkeypatch, capfd, loss):
    # CCE on a softmax output reads the scores before it (fused); MSE differentiates through the softmax
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp("relu", "softmax"), x, y, loss=loss, opt=optimizers.Adam(lr=1e-2))


def test_one_hot_and_soft_targets_give_the_eager_numbers(monkeypatch, capfd):
    x, labels = _data()
    soft = np.full((len(labels), 4), 0.1, np.float32)
    soft[np.arange(len(labels)), labels] = 0.7
    _same_run(monkeypatch, capfd, _mlp("tanh"), x, soft, loss="cce", opt=optimizers.SGD(lr=0.1))
    _same_run(monkeypatch, capfd, _mlp("tanh"), x, np.eye(4)[labels], loss="svm", opt=optimizers.SGD(lr=0.1))


def test_dropout_flips_crops_and_images_give_the_eager_numbers(monkeypatch, capfd):
    x, y = _data(images=True)
    build = lambda: models.Network([layers.RandomCrop(1, image_shape=(4, 4, 3)), layers.RandomFlip((4, 4, 3)),
                                    layers.Flatten(), layers.Dense(10, activation="relu"), layers.Dropout(0.4),
                                    layers.Activation("tanh"), layers.Dense(4)], seed=2)
    _same_run(monkeypatch, capfd, build, x, y, loss="cce", opt=optimizers.Adam(lr=1e-2), epochs=4)


def _cnn(pool="max"):
    def build():
        return models.Network([layers.Input((4, 4, 3)), layers.RandomFlip((4, 4, 3)),
                               layers.Conv2D(3, 3, padding="same", use_bias=False),
                               layers.BatchNormalization(), layers.Activation("relu"),
                               layers.MaxPool2D(2) if pool == "max" else layers.AveragePooling2D(2),
                               layers.Conv2D(4, 2, padding=1, activation="tanh"),
                               layers.GlobalAveragePooling2D(), layers.Dropout(0.2), layers.Dense(4)], seed=4)
    return build


@pytest.mark.parametrize("pool", ["max", "average"])
def test_a_conv_net_gives_the_eager_numbers(monkeypatch, capfd, pool):
    # convolutions, pooling and batch normalization run as eager islands inside the captured step;
    # the batch-norm running statistics are non-trainable weights, compared too
    x, y = _data(images=True)
    _same_run(monkeypatch, capfd, _cnn(pool), x, y, loss="cce", opt=optimizers.Adam(lr=1e-2),
              reg=regularizers.L2(1e-3))


def test_a_conv_net_resumed_from_its_checkpoint_gives_the_uninterrupted_run(monkeypatch, capfd, tmp_path):
    x, y = _data(images=True)
    straight, h_straight, _ = _train("eager", monkeypatch, capfd, _cnn(), x, y, loss="cce",
                                     opt=optimizers.Adam(lr=1e-2), epochs=4)
    from neurona import callbacks

    class StopAfterTwo(callbacks.Callback):
        armed = True

        def on_epoch_end(self, epoch, logs):
            if epoch == 1 and self.armed:
                raise KeyboardInterrupt  # a crash at the end of the second epoch, before its checkpoint

    disarmed = StopAfterTwo()
    disarmed.armed = False  # the same callback (a checkpoint names its run's callbacks), now harmless

    checkpoint = tmp_path / "cnn.npz"
    with pytest.raises(KeyboardInterrupt):
        _train("captured", monkeypatch, capfd, _cnn(), x, y, loss="cce", opt=optimizers.Adam(lr=1e-2), epochs=4,
               checkpoint=checkpoint, callbacks=[StopAfterTwo()])
    resumed, h_resumed, said = _train("captured", monkeypatch, capfd, _cnn(), x, y, loss="cce",
                                      opt=optimizers.Adam(lr=1e-2), epochs=4, checkpoint=checkpoint,
                                      callbacks=[disarmed])
    assert "captured" in said
    assert h_resumed.history == h_straight.history
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_array_equal(a.data, b.data, err_msg=a.name)


def test_a_network_joining_its_input_gives_the_eager_numbers(monkeypatch, capfd):
    # the practical's Ex. 6 architecture: the hidden layer's output and the input side by side
    x = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], np.float32)
    y = np.array([-1, 1, 1, -1], np.float32)

    def build():
        model = models.Network(seed=3)
        model.add(layers.Dense(1, activation="tanh", input_dim=2))
        model.add(layers.Concatenate(input_dim=2))
        model.add(layers.Dense(1, activation="tanh"))
        return model
    _same_run(monkeypatch, capfd, build, x, y, loss="mse", opt=optimizers.BGD(lr=0.05), epochs=200)


def test_float64_and_no_shuffle_give_the_eager_numbers(monkeypatch, capfd):
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp("elu", dtype="float64", use_bias=False), x.astype(np.float64), y,
              loss="cce", opt=optimizers.Adam(lr=1e-2), shuffle=False)


def test_float64_data_for_a_float32_model_gives_the_eager_numbers(monkeypatch, capfd):
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp("relu"), x.astype(np.float64) / 3, y, loss="mse", opt=optimizers.SGD(lr=0.1))


def test_validation_and_callbacks_see_the_same_run(monkeypatch, capfd):
    from neurona.callbacks import EarlyStopping
    x, y = _data(n=90)
    model, history = _same_run(monkeypatch, capfd, _mlp("relu"), x[:70], y[:70], loss="cce",
                               opt=optimizers.Adam(lr=3e-2), validation_data=(x[70:], y[70:]), epochs=8,
                               callbacks=[EarlyStopping(patience=1, restore_best_weights=True)])
    assert len(history.history["val_loss"]) >= 2


@pytest.mark.parametrize("where", ["loss", "update"])
def test_a_divergence_stops_at_the_same_step_with_the_same_message(monkeypatch, capfd, where):
    x, y = _data()
    if where == "loss":  # the outputs overflow float32: the loss is inf at some step
        opt, xs = optimizers.SGD(lr=1e4), x * 1e3
    else:  # huge but finite gradients: the update overflows the weights
        opt, xs = optimizers.SGD(lr=3e38), x
    runs = []
    for mode in ("eager", "captured"):
        with pytest.warns(DivergenceWarning) as caught:
            model, history, said = _train(mode, monkeypatch, capfd, _mlp("linear"), xs, y, loss="mse", opt=opt,
                                          epochs=5)
        runs.append((model, history, str(caught[0].message), said))
    (eager, h_eager, m_eager, _), (captured, h_captured, m_captured, said) = runs
    assert "uses the captured step" in said
    assert m_captured == m_eager and h_captured.stopped == h_eager.stopped
    assert h_captured.history == h_eager.history
    for a, b in zip(eager.weights, captured.weights):
        np.testing.assert_array_equal(a.data, b.data)  # the last finite weights, in both
        assert np.isfinite(b.data).all()


def test_sigint_and_resume_give_the_uninterrupted_run(monkeypatch, capfd, tmp_path):
    from neurona import training
    x, y = _data()
    straight, h_straight, _ = _train("eager", monkeypatch, capfd, _mlp("relu", extra=[lambda: layers.Dropout(0.2)]),
                                     x, y, loss="cce", opt=optimizers.Adam(lr=1e-2), epochs=4)
    original, calls = training._train_step, []

    def step_then_signal(*args, **kwargs):
        calls.append(1)
        if len(calls) == 7:  # during the second epoch
            os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "_train_step", step_then_signal)
    checkpoint = tmp_path / "run.npz"
    _, stopped, said = _train("captured", monkeypatch, capfd, _mlp("relu", extra=[lambda: layers.Dropout(0.2)]),
                              x, y, loss="cce", opt=optimizers.Adam(lr=1e-2), epochs=4, checkpoint=checkpoint)
    assert stopped.interrupted == "SIGINT" and len(stopped.history["loss"]) == 1 and "captured" in said
    monkeypatch.setattr(training, "_train_step", original)
    resumed, h_resumed, _ = _train("captured", monkeypatch, capfd,
                                   _mlp("relu", extra=[lambda: layers.Dropout(0.2)]), x, y, loss="cce",
                                   opt=optimizers.Adam(lr=1e-2), epochs=4, checkpoint=checkpoint)
    assert h_resumed.history == h_straight.history
    for a, b in zip(straight.weights, resumed.weights):
        np.testing.assert_array_equal(a.data, b.data)


def test_a_captured_model_saves_loads_and_trains_on(monkeypatch, capfd, tmp_path):
    x, y = _data()
    eager, _, _ = _train("eager", monkeypatch, capfd, _mlp("tanh"), x, y, loss="mse", opt=optimizers.SGD(lr=0.1))
    eager.fit(x, y, epochs=2, loss="mse", opt=optimizers.SGD(lr=0.1), verbose=0, seed=5, batch_size=16)
    captured, _, _ = _train("captured", monkeypatch, capfd, _mlp("tanh"), x, y, loss="mse",
                            opt=optimizers.SGD(lr=0.1))
    captured.save(tmp_path / "m.npz")
    again = models.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.predict(x), captured.predict(x))
    captured.fit(x, y, epochs=2, loss="mse", opt=optimizers.SGD(lr=0.1), verbose=0, seed=5, batch_size=16)
    for a, b in zip(eager.weights, captured.weights):
        np.testing.assert_array_equal(a.data, b.data)


def test_an_optimizer_rebound_between_fits_is_followed(monkeypatch, capfd):
    # the same Adam object over two fits: its moments carry over, in both engines
    x, y = _data()
    results = []
    for mode in ("eager", "captured"):
        monkeypatch.setenv("NEURONA_CAPTURE", "auto" if mode == "captured" else "off")
        model, opt = _mlp("relu")(), optimizers.Adam(lr=1e-2)
        model.fit(x, y, epochs=2, loss="cce", opt=opt, verbose=0, seed=5, batch_size=16)
        opt.bind(model.trainable_weights)  # a user resets the moments by hand
        model.fit(x, y, epochs=2, loss="cce", opt=opt, verbose=0, seed=5, batch_size=16)
        results.append([w.data.copy() for w in model.weights])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


class _HalfCCE(losses.CCE):
    """A user's loss: half the cross-entropy (its own call(), which the capture must not bypass)."""

    def call(self, y_pred, y_true):
        return super().call(y_pred, y_true) * 0.5


def _shared_layer():
    hidden = layers.Dense(12, activation="tanh", input_dim=12)
    model = models.Network(seed=1)
    model.add(hidden)
    model.add(hidden)  # the same layer twice: its kernel's gradient is the sum of two uses
    model.add(layers.Dense(4))
    return model


@pytest.mark.parametrize("build, fit, reason", [
    (_mlp("tanh"), {"loss": _HalfCCE()}, "_HalfCCE computes its own value"),
    (_shared_layer, {}, "used twice"),
    (_mlp("tanh"), {"loss": "bce", "y": "unit"}, "loss BCE"),
    (_mlp("tanh"), {"reg": regularizers.L1L2(1e-3, 1e-3)}, "L1L2"),
    (_mlp("tanh", kernel_regularizer=regularizers.L2(1e-3)), {"reg": regularizers.L2(1e-3)}, "two penalties"),
    (_mlp("tanh"), {"loss": losses.CategoricalCrossentropy()}, "from_logits=False"),
], ids=["user-loss", "shared-layer", "bce", "l1l2", "two-penalties", "probabilities"])
def test_what_cannot_be_captured_trains_eagerly_and_says_why(monkeypatch, capfd, build, fit, reason):
    x, y = _data()
    if fit.pop("y", None) == "unit":
        y = np.eye(4, dtype=np.float32)[y]
    monkeypatch.setenv("NEURONA_CAPTURE", "debug")
    fit.setdefault("loss", "cce")
    build().fit(x, y, epochs=1, verbose=0, seed=5, batch_size=16, **fit)
    said = capfd.readouterr().err
    assert "uses the eager step" in said and reason in said, said


def test_an_unknown_capture_mode_is_refused_naming_it(monkeypatch):
    x, y = _data()
    monkeypatch.setenv("NEURONA_CAPTURE", "fast")
    with pytest.raises(ValueError, match="NEURONA_CAPTURE must be one of auto, off, debug. Received: .*'fast'"):
        _mlp("tanh")().fit(x, y, epochs=1, loss="cce", verbose=0)


@pytest.mark.parametrize("opt", [lambda: optimizers.SGD(lr=0.1, momentum=0.9, clipnorm=0.1),
                                 lambda: optimizers.Adam(lr=1e-2)], ids=["sgd", "adam"])
def test_the_update_split_across_two_threads_gives_the_eager_numbers(monkeypatch, capfd, opt):
    # a big model's update phase runs in two halves at once; force it on a small one (the cut falls
    # inside the first kernel, so a penalty and a parameter straddle it)
    from neurona.capture import update
    monkeypatch.setattr(update, "_PARALLEL_SIZE", 16)
    monkeypatch.setattr(update, "spare_core", lambda: True)
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp("relu"), x, y, loss="cce", opt=opt(), reg=regularizers.L2(1e-2))


@pytest.mark.parametrize("where", [(0, 3), (1, 40), (2, 1)])
def test_a_non_finite_value_in_either_half_is_found_and_named(monkeypatch, where):
    # three parameters of 60, 50 and 7 elements: the halves are [0, 48) and [48, 117), so (0, 3) is in the
    # first, (1, 40) in the second, (2, 1) too; the first non-finite parameter is named, the others pass
    from neurona import Tensor
    from neurona.capture import update
    monkeypatch.setattr(update, "_PARALLEL_SIZE", 16)
    monkeypatch.setattr(update, "spare_core", lambda: True)
    params = [Tensor(np.ones(shape, np.float32), requires_grad=True, name=f"p{i}")
              for i, shape in enumerate([(6, 10), (5, 10), (7,)])]
    opt = optimizers.SGD(lr=0.1).bind(params)
    state = update.FlatState(params, opt, np.float32)
    assert [stop - start for start, stop in state.halves] == [48, 69]
    index, element = where
    for value in (np.nan, np.inf):
        for p in params:
            p.grad[...] = 1
        params[index].grad.reshape(-1)[element] = value
        state.add_penalties(pool=_Pool)
        assert state.first_bad_gradient() is params[index]
    for p in params:
        p.grad[...] = 1
    state.add_penalties(pool=_Pool)
    assert state.first_bad_gradient() is None
    params[index].grad.reshape(-1)[element] = 3e38
    state.update(_Pool, batch_size=1)
    assert state.first_bad_weight() is None  # 1 − 0.1 · 3e38 is finite (its square overflows the dot product)
    params[index].data.reshape(-1)[element] = np.inf
    state.update(_Pool, batch_size=1)
    assert state.first_bad_weight() is params[index]
    state.restore_weights()
    assert np.isinf(params[index].data.reshape(-1)[element])  # the weights saved before that update


class _Pool:
    """A stand-in for the thread pool: runs the submitted half at once (the threads are not what is tested)."""

    def submit(self, fn, *args):
        result = fn(*args)
        return type("Done", (), {"result": lambda self: result})()


@pytest.mark.parametrize("env, cores, spare", [
    ({}, 2, False),  # the BLAS on every core: helper threads would contend with its threads
    ({"OPENBLAS_NUM_THREADS": "1"}, 2, True),
    ({"OMP_NUM_THREADS": "1"}, 1, False),  # no second core
    ({"OPENBLAS_NUM_THREADS": "1", "NEURONA_WORKER": "1"}, 2, False),  # a worker: the other cores are the others'
    ({"MKL_NUM_THREADS": "2"}, 4, False),
])
def test_helper_threads_only_where_a_core_is_spare(monkeypatch, env, cores, spare):
    from neurona.capture import update
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NEURONA_WORKER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(update, "_cores", lambda: cores)
    assert update.spare_core() is spare


def test_a_prefetched_epoch_gives_the_eager_numbers(monkeypatch, capfd):
    # the batch after this one is gathered in a thread while this step runs (forced on a small batch)
    from neurona.capture import step
    monkeypatch.setattr(step, "spare_core", lambda: True)
    monkeypatch.setattr(step, "_PREFETCH_BYTES", 1)
    x, y = _data()
    _same_run(monkeypatch, capfd, _mlp("tanh", extra=[lambda: layers.Dropout(0.3)]), x, y, loss="cce",
              opt=optimizers.Adam(lr=1e-2))
