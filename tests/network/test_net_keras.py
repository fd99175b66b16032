"""Keras habits: scripts written the Keras way run unchanged, and a softmax (or sigmoid) head trains exactly
like a linear head with the fused loss."""

from __future__ import annotations

import os
import signal
import warnings

import numpy as np
import pytest

from neurona import callbacks, layers, losses, models, optimizers, regularizers

RNG = np.random.default_rng(17)
CENTERS = RNG.normal(size=(3, 8)) * 3
Y = RNG.integers(0, 3, size=120)
X = (CENTERS[Y] + RNG.normal(size=(120, 8))).astype(np.float32)
X_VAL, Y_VAL = X[:30] + 0.1, Y[:30]


def _same(a, b) -> None:
    assert len(a.weights) == len(b.weights)
    for p, q in zip(a.weights, b.weights):
        np.testing.assert_array_equal(p.data, q.data)


# ----- a Keras script, unchanged -----
def test_a_sequential_compile_fit_evaluate_script_runs_and_learns(tmp_path):
    model = models.Sequential([
        layers.Dense(16, activation="relu", input_shape=(8,)),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, Y, batch_size=16, epochs=15, validation_data=(X_VAL, Y_VAL), verbose=0, shuffle=True)
    assert history.history["val_accuracy"][-1] > 0.9
    loss, accuracy = model.evaluate(X_VAL, Y_VAL, verbose=0)  # Keras's form after compile: [loss, accuracy]
    assert accuracy == history.history["val_accuracy"][-1] and loss == pytest.approx(history.history["val_loss"][-1])
    model.save(tmp_path / "model.npz")
    again = models.load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(again.predict(X_VAL, verbose=0), model.predict(X_VAL))
    assert np.allclose(model.predict(X_VAL).sum(axis=1), 1, atol=1e-6)  # the softmax head still outputs probabilities


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy", "cce",
                                  losses.CategoricalCrossentropy(), losses.SparseCategoricalCrossentropy,
                                  losses.CCE()])
def test_a_softmax_head_trains_exactly_like_a_linear_head_with_fused_cce(loss):
    def net(activation):
        inp = layers.Input(8)
        out = layers.Dense(3, activation=activation)(layers.Dense(12, activation="tanh")(inp))
        return models.Model(inp, out, seed=4)

    softmax, linear = net("softmax"), net(None)
    target = Y if not isinstance(loss, str) or "sparse" in loss or loss == "cce" else np.eye(3)[Y]
    h_soft = softmax.fit(X, target, epochs=4, loss=loss, opt=optimizers.SGD(learning_rate=0.1), batch_size=20,
                         verbose=0, seed=4)
    h_lin = linear.fit(X, target, epochs=4, loss=losses.CCE(from_logits=True), opt=optimizers.SGD(lr=0.1),
                       batch_size=20, verbose=0, seed=4)
    _same(softmax, linear)  # bit for bit: the loss took the scores before the softmax, fused
    assert h_soft.history == h_lin.history
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # evaluation reads the probabilities: no log(0) warning
        assert softmax.evaluate(X, target)["loss"] == pytest.approx(linear.evaluate(X, target)["loss"], rel=1e-5)


def test_a_sigmoid_head_with_bce_trains_exactly_like_logits_with_fused_bce():
    y = (X[:, 0] > 0).astype(np.float32)

    def net(activation):
        return models.Sequential([layers.Dense(6, activation="tanh", input_dim=8),
                                  layers.Dense(1, activation=activation)], seed=2)

    sigmoid, linear = net("sigmoid"), net(None)
    sigmoid.fit(X, y, epochs=3, loss="binary_crossentropy", opt="adam", verbose=0, seed=2)
    linear.fit(X, y, epochs=3, loss=losses.BCE(from_logits=True), opt="adam", verbose=0, seed=2)
    _same(sigmoid, linear)


def test_probabilities_without_a_softmax_node_are_read_as_probabilities():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
    from neurona import Tensor

    # −(log 0.7 + log 0.8)/2 = 0.28990
    value = losses.CategoricalCrossentropy()(Tensor(probs), np.array([0, 2])).item()
    assert value == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2, rel=1e-6)


# ----- the other conventions -----
def test_input_shape_on_a_first_layer_fixes_the_input():
    model = models.Sequential([layers.Flatten(input_shape=(2, 4)), layers.Dense(3)])
    assert model.input_shape == (2, 4)
    assert model.predict(X.reshape(-1, 2, 4)).shape == (120, 3)
    with pytest.raises(ValueError, match=r"Dense: input_dim=8 and input_shape=\(9,\) disagree"):
        layers.Dense(3, input_dim=8, input_shape=(9,))


def test_a_kernel_regularizer_adds_its_penalty_and_is_saved(tmp_path):
    model = models.Sequential([layers.Dense(3, input_dim=8, kernel_regularizer=regularizers.L2(0.01))], seed=0)
    model.build()
    plain = models.Sequential([layers.Dense(3, input_dim=8)], seed=0)
    penalty = 0.01 * float((model.layers[0].kernel.data.astype(np.float64) ** 2).sum())
    with_reg = model.evaluate(X, Y, loss="cce")["loss"]
    assert with_reg == pytest.approx(plain.evaluate(X, Y, loss="cce")["loss"] + penalty, rel=1e-5)
    model.save(tmp_path / "m.npz")
    loaded = models.load(tmp_path / "m.npz")
    assert isinstance(loaded.layers[0].kernel_regularizer, regularizers.L2)
    assert loaded.evaluate(X, Y, loss="cce")["loss"] == pytest.approx(with_reg, rel=1e-6)


def test_validation_split_takes_the_last_samples_before_shuffling():
    model = models.Sequential([layers.Dense(3, input_dim=8)], seed=0)
    history = model.fit(X, Y, epochs=1, loss="cce", validation_split=0.25, verbose=0)
    expected = models.Sequential([layers.Dense(3, input_dim=8)], seed=0)
    expected.fit(X[:90], Y[:90], epochs=1, loss="cce", test_data=(X[90:], Y[90:]), verbose=0)
    _same(model, expected)
    assert history.history == expected.history.history
    with pytest.raises(ValueError, match=r"fit: validation_split must be in \[0, 1\). Received: validation_split=1.0"):
        model.fit(X, Y, loss="cce", validation_split=1.0, verbose=0)
    with pytest.raises(ValueError, match=r"give validation_split or test_data/validation_data, not both"):
        model.fit(X, Y, loss="cce", validation_split=0.5, validation_data=(X, Y), verbose=0)


def test_shuffle_false_keeps_the_order_so_the_seed_no_longer_matters():
    def fitted(seed, shuffle):
        model = models.Sequential([layers.Dense(3, input_dim=8)], seed=0)
        model.build()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the weights were drawn with seed 0: the fit seed only shuffles
            model.fit(X, Y, epochs=2, loss="cce", batch_size=16, shuffle=shuffle, verbose=0, seed=seed)
        return model

    _same(fitted(1, False), fitted(2, False))
    assert not np.array_equal(fitted(1, True).weights[0].data, fitted(2, True).weights[0].data)  # the control


def test_a_compiled_optimizer_keeps_its_state_across_fits():
    model = models.Sequential([layers.Dense(3, input_dim=8)], seed=0)
    model.compile(optimizer="adam", loss="cce")
    model.fit(X, Y, epochs=1, batch_size=40, verbose=0)
    model.fit(X, Y, epochs=1, batch_size=40, verbose=0)
    assert model.compiled.optimizer.iterations == 6


@pytest.mark.parametrize("call, match", [
    (lambda m: m.fit(X, Y, loss="cce", epoch=3), r"fit\(\) got an unexpected keyword argument 'epoch'; did you mean "
                                                 r"'epochs'\?"),
    (lambda m: m.fit(X, Y, loss="cce", batchsize=3), r"fit\(\) .* 'batchsize'; did you mean 'batch_size'\?"),
    (lambda m: m.fit(X, Y, loss="cce", class_weight={}), r"fit\(\) got an unexpected keyword argument "
                                                         r"'class_weight'"),
    (lambda m: m.compile(optimiser="adam"), r"compile\(\) .* 'optimiser'; did you mean 'optimizer'\?"),
    (lambda m: m.evaluate(X, Y, verbos=0), r"evaluate\(\) .* 'verbos'; did you mean 'verbose'\?"),
    (lambda m: m.predict(X, batch=3), r"predict\(\) .* 'batch'; did you mean 'batch_size'\?"),
])
def test_an_unknown_keyword_names_the_public_method_and_a_close_match(call, match):
    with pytest.raises(TypeError, match=match):
        call(models.Sequential([layers.Dense(3, input_dim=8)]))


def test_fit_without_a_loss_says_how_to_give_one():
    with pytest.raises(ValueError, match=r"fit: no loss was given. Pass loss=\.\.\. .* or call model.compile"):
        models.Sequential([layers.Dense(3, input_dim=8)]).fit(X, Y, verbose=0)


def test_compile_refuses_a_metric_it_cannot_measure():
    with pytest.raises(ValueError, match=r"compile: unknown metric 'auc'"):
        models.Sequential([layers.Dense(3, input_dim=8)]).compile(loss="cce", metrics=["auc"])


def test_a_resumed_progress_bar_starts_where_the_run_resumes_and_ends_at_100(tmp_path, capsys):
    pytest.importorskip("tqdm")

    class CtrlC(callbacks.Callback):
        def __init__(self, at_step=None):
            self.at_step, self.steps = at_step, 0

        def on_batch_end(self, step, logs):
            self.steps += 1
            if self.steps == self.at_step:
                os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: fit ends the step and returns

    first = models.Sequential([layers.Dense(3, input_dim=8)], seed=0)
    first.fit(X, Y, epochs=4, loss="cce", seed=0, checkpoint=tmp_path / "c.npz", callbacks=[CtrlC(9)])  # epoch 3
    err = capsys.readouterr().err
    assert err.count("Training stopped: interrupted by SIGINT at epoch 3, step 1") == 1  # once, after the bar
    assert err.rstrip().splitlines()[-1].startswith("Training stopped: interrupted by SIGINT")
    again = models.Sequential([layers.Dense(3, input_dim=8)], seed=0)
    again.fit(X, Y, epochs=4, loss="cce", seed=0, checkpoint=tmp_path / "c.npz", callbacks=[CtrlC()])
    bar = capsys.readouterr().err
    frames = [f for f in bar.replace("\n", "\r").split("\r") if f.strip()]
    assert "| 2/4" in frames[0] and " 0/4" not in bar  # it starts at the 2 epochs the checkpoint holds …
    assert "100%" in frames[-1] and "| 4/4" in frames[-1]  # … and ends complete


def test_reprs_read_well():
    model = models.Sequential([layers.Dense(3, activation="relu", input_dim=8)], name="tiny")
    assert repr(model) == "Network('tiny', input (None, 8), layers [dense_0: Dense], 1 steps)"
    assert repr(model.layers[0]).startswith("Dense(name='dense_0', units=3, activation={'class': 'relu'")
