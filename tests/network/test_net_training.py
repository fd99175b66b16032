"""fit(): an epoch equals the same steps written by hand with the engine; seeds; divergence; the History."""

import math

import numpy as np
import pytest

from neurona import callbacks, layers, losses, models, optimizers, regularizers, training

from network_helpers import forward, mlp, shuffle_order

RNG = np.random.default_rng(51)
X = RNG.normal(size=(10, 3))
LABELS = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 0])
Y = RNG.normal(size=(10, 2))


def _twins(sizes=(3, 5, 3), seed=0, **kwargs):
    """Two networks with equal weights: one for fit, one for the hand-written steps."""
    a, b = mlp(sizes, seed=seed, **kwargs), mlp(sizes, seed=seed + 1, **kwargs)
    for p, q in zip(a.parameters, b.parameters):
        q.data[...] = p.data
    return a, b


def _hand_step(model, xb, yb, loss, reg, lr):
    """zero grads, forward, loss (+ penalty), backward, w ← w − lr·grad; returns the loss and the outputs."""
    for p in model.parameters:
        p.grad = None
    out = forward(model, xb, training=True)
    value = loss(out, yb)
    if reg is not None:
        value = value + reg(model.regularized_weights)
    value.backward()
    for p in model.parameters:
        p.data -= lr * p.grad
    return value.item(), out.numpy()


def test_full_batch_bgd_epochs_equal_hand_steps():
    fitted, by_hand = _twins()
    lr, reg = 0.02, regularizers.L2(lam=1e-2)
    history = fitted.fit(X, LABELS, epochs=3, loss=losses.MSE(), opt=optimizers.BGD(lr=lr, bs=len(X)), reg=reg,
                         verbose=0, seed=4)
    hand_losses, hand_accuracy = [], []
    for _ in range(3):
        # BGD: one step on all 10 samples, lr × the summed gradient = (lr·10) × the mean-loss gradient
        value, out = _hand_step(by_hand, X, LABELS, losses.MSE(), reg, lr * len(X))
        hand_losses.append(value)
        hand_accuracy.append(np.mean(out.argmax(axis=1) == LABELS))
    np.testing.assert_allclose(history["loss"], hand_losses, rtol=1e-12)
    assert history["accuracy"] == hand_accuracy
    for p, q in zip(fitted.parameters, by_hand.parameters):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-15)  # shuffling only reorders a sum


def test_minibatch_epochs_reproduce_the_shuffle_bit_for_bit():
    fitted, by_hand = _twins()
    lr, seed = 0.1, 123
    history = fitted.fit(X, LABELS, epochs=2, loss="cce", opt=optimizers.SGD(lr=lr), batch_size=4, verbose=0,
                         seed=seed)
    order_rng = shuffle_order(seed)  # one generator for the whole fit: a new permutation each epoch
    for epoch in range(2):
        order = order_rng.permutation(len(X))
        total_loss = correct = 0.0
        for start in (0, 4, 8):  # batches of 4, 4 and the last 2
            rows = order[start:start + 4]
            value, out = _hand_step(by_hand, X[rows], LABELS[rows], losses.CCE(), None, lr)
            total_loss += value * len(rows)
            correct += np.count_nonzero(out.argmax(axis=1) == LABELS[rows])
        assert history["loss"][epoch] == pytest.approx(total_loss / 10, rel=1e-14)
        assert history["accuracy"][epoch] == correct / 10
    for p, q in zip(fitted.parameters, by_hand.parameters):
        np.testing.assert_array_equal(p.data, q.data)


def test_bgd_last_partial_batch_uses_its_own_n():
    fitted, by_hand = _twins(output="tanh")
    lr, seed = 0.01, 9
    fitted.fit(X, Y[:, :1].repeat(3, axis=1), epochs=1, loss="mse", opt=optimizers.BGD(lr=lr, bs=4), verbose=0,
               seed=seed)
    order = shuffle_order(seed).permutation(len(X))
    for start in (0, 4, 8):
        rows = order[start:start + 4]
        # a step is lr × Σ_batch ∇ℓ_i = (lr·n_batch) × ∇(mean loss): n = 4, 4, then 2
        _hand_step(by_hand, X[rows], Y[rows, :1].repeat(3, axis=1), losses.MSE(), None, lr * len(rows))
    for p, q in zip(fitted.parameters, by_hand.parameters):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13, atol=1e-15)


def test_bgd_equals_sgd_with_lr_times_n_on_full_batches():
    a, b = _twins()
    a.fit(X, LABELS, epochs=2, loss="svm", opt=optimizers.BGD(lr=0.003), verbose=0, seed=1)
    b.fit(X, LABELS, epochs=2, loss="svm", opt=optimizers.SGD(lr=0.003 * 10), batch_size=10, verbose=0, seed=1)
    for p, q in zip(a.parameters, b.parameters):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13, atol=1e-15)


def test_steps_per_epoch_follow_the_batch_size():
    class CountSteps(callbacks.Callback):
        def on_train_begin(self):
            self.steps = 0

        def on_batch_end(self, step, logs):
            self.steps += 1

    x, y = np.zeros((70, 3)), np.zeros(70, dtype=int)
    cases = [({}, 3),                                       # default 32: 32 + 32 + 6
             ({"batch_size": 10}, 7),
             ({"opt": optimizers.BGD(lr=0.01)}, 1),         # BGD(bs=None): the whole set
             ({"opt": optimizers.BGD(lr=0.01, bs=64)}, 2),
             ({"opt": optimizers.BGD(lr=0.01, bs=20), "batch_size": 20}, 4)]
    for kwargs, steps in cases:
        counter = CountSteps()
        mlp((3, 3), seed=0).fit(x, y, loss="cce", callbacks=[counter], verbose=0, seed=0, **kwargs)
        assert counter.steps == steps, kwargs


# ----- seeds -----
def _plain_net():
    model = models.Network()
    model.add(layers.Dense(5, activation="tanh", input_dim=3))
    model.add(layers.Dense(3))
    return model


def _dropout_net():
    model = models.Network()
    model.add(layers.Dense(8, activation="relu", input_dim=3))
    model.add(layers.Dropout(0.3))
    model.add(layers.Dense(3))
    return model


@pytest.mark.parametrize("make", [_plain_net, _dropout_net], ids=["dense", "dropout"])
def test_same_seed_same_history_bit_for_bit(make):
    def run(seed):
        model = make()
        history = model.fit(X, LABELS, test_data=(X[:4], LABELS[:4]), epochs=4, loss="cce",
                            opt=optimizers.SGD(lr=0.05, momentum=0.9), batch_size=3, verbose=0, seed=seed)
        return history, [p.data.copy() for p in model.parameters]

    (h1, w1), (h2, w2), (h3, _) = run(7), run(7), run(8)
    assert h1.history == h2.history and len(h1) == 4
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert h3.history != h1.history


def test_model_seed_or_fit_seed_or_build_seed_agree():
    kwargs = dict(epochs=2, loss="cce", opt=optimizers.Adam(lr=0.01), batch_size=4, verbose=0)
    by_fit = _dropout_net().fit(X, LABELS, seed=3, **kwargs)
    model = models.Network(seed=3)
    for layer in _dropout_net().layers:
        model.add(layer)
    by_model = model.fit(X, LABELS, **kwargs)
    built = _dropout_net()
    built.build(seed=3)
    by_build = built.fit(X, LABELS, seed=3, **kwargs)
    assert by_fit.history == by_model.history == by_build.history


def test_dropout_really_changes_training_and_not_prediction():
    model = _dropout_net()
    model.build(seed=0)
    a = forward(model, X, training=True).numpy()
    b = forward(model, X, training=True).numpy()
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X), model.predict(X))


# ----- divergence -----
def test_a_loss_that_overflows_stops_training_at_that_epoch():
    model = models.Network()  # float32
    model.add(layers.Dense(1, input_dim=1, use_bias=False))
    model.build()
    model.layers[0].kernel.data[...] = 1.0
    # x = 1, y = 0, one sample: loss = w², gradient 2w, BGD step w ← w − 10·1·2w = −19·w.
    # Epoch e measures the loss at w = (−19)^(e−1): 19^30 ≈ 2.3e38 still fits float32 (max 3.4e38),
    # 19^32 ≈ 8.4e40 does not, so epochs 1..16 are finite and epoch 17's loss is inf.
    with np.errstate(over="ignore", invalid="ignore"):
        history = model.fit(np.ones((1, 1)), np.zeros((1, 1)), epochs=50, loss="mse",
                            opt=optimizers.BGD(lr=10.0), verbose=0, seed=0)
    assert len(history) == 16 and history.epoch == list(range(16))
    assert all(math.isfinite(v) for v in history["loss"])
    assert history["loss"][:3] == [1.0, 361.0, 130321.0]  # 1, 19², 19⁴
    assert history.stopped is not None
    assert "inf" in history.stopped and "epoch 17" in history.stopped
    assert "smaller learning rate" in history.stopped
    assert model.history is history


def test_divergence_is_reported_once_as_a_warning_with_the_progress_bar(capfd):
    model = models.Network(dtype="float64")
    model.add(layers.Dense(1, input_dim=1, use_bias=False))
    model.build()
    model.layers[0].kernel.data[...] = 1.0
    # float64: w = 19^(e−1) and w² overflows 1.8e308 once 2(e−1)·log10(19) > 308.25, i.e. e − 1 = 121: epoch 122
    with np.errstate(over="ignore", invalid="ignore"), pytest.warns(
            training.DivergenceWarning, match=r"Training stopped: the loss became inf at epoch 122.*smaller learning "
                                              r"rate.*The model keeps its last finite weights"):
        history = model.fit(np.ones((1, 1)), np.zeros(1), epochs=500, loss="mse", opt=optimizers.BGD(lr=10.0),
                            seed=0)
    assert len(history) == 121
    assert "Training stopped" not in capfd.readouterr().err  # said once, by the warning, not also by the bar


def test_a_nan_loss_in_the_first_epoch_returns_an_empty_history():
    model = models.Network(dtype="float64")
    model.add(layers.Dense(2, input_dim=1, use_bias=False))
    model.build()
    model.layers[0].kernel.data[...] = [[1e200, -1e200]]
    # x = 1e200: the scores 1e400 and −1e400 overflow to +inf and −inf; softmax shifts by the max: inf − inf = NaN
    with np.errstate(over="ignore", invalid="ignore"), pytest.warns(training.DivergenceWarning):
        history = model.fit(np.array([[1e200]]), np.array([0]), loss="cce", epochs=3, verbose=0, seed=0)
    assert len(history) == 0 and history.history == {}
    # before any update, the overflow is the input scale's doing (here with weights set to 1e200), not the lr's
    assert history.stopped.startswith("the loss became nan at epoch 1, step 1, before any update: the network's "
                                      "outputs overflowed on inputs up to |x| = 1e+200; the input scale is too large")
    np.testing.assert_array_equal(model.layers[0].kernel.data, [[1e200, -1e200]])  # no step was taken


def test_a_finite_run_has_no_stop_reason():
    history = mlp((3, 3), seed=0).fit(X, LABELS, epochs=2, loss="cce", verbose=0, seed=0)
    assert history.stopped is None and len(history) == 2


# ----- the History -----
def test_history_keys_and_values():
    model = mlp((3, 4, 3), seed=0)
    history = model.fit(X, LABELS, test_data=(X[:5], LABELS[:5]), epochs=3, loss="cce", opt="adam", verbose=0,
                        seed=0, name="run")
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.name == "run" and history.epoch == [0, 1, 2]
    assert history["val_loss"][-1] == pytest.approx(model.evaluate(X[:5], LABELS[:5])["loss"], rel=1e-12)
    assert all(0 <= a <= 1 and (a * 10).is_integer() for a in history["accuracy"])  # fractions of 10 samples
    assert repr(history).startswith("History(3 epochs: loss=")


def test_evaluate_and_predict_in_batches():
    model = mlp((3, 4, 3), seed=2)
    np.testing.assert_allclose(model.predict(X, batch_size=3), model.predict(X), rtol=1e-14)
    scores = model.predict(X)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    cce = -np.log(e[np.arange(10), LABELS] / e.sum(axis=1)).mean()
    result = model.evaluate(X, LABELS, loss="cce", batch_size=4)
    assert result["loss"] == pytest.approx(cce, rel=1e-12)
    assert result["accuracy"] == np.mean(scores.argmax(axis=1) == LABELS)


def test_evaluate_uses_the_last_fits_loss():
    model = mlp((3, 4, 3), seed=2)
    model.fit(X, LABELS, epochs=1, loss="svm", verbose=0, seed=0)
    assert model.evaluate(X, LABELS)["loss"] == model.evaluate(X, LABELS, loss="svm")["loss"]
