"""Numerical faults: NaN/inf losses and gradients stop training with epoch, step and parameter; clipnorm bounds
the global gradient norm; activations and losses stay warning-free at extreme inputs."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neurona import Tensor, activations, callbacks, layers, losses, models, optimizers, training

F32_MAX, F64_MAX = float(np.finfo(np.float32).max), float(np.finfo(np.float64).max)
N, STEPS = 12, 3  # 12 samples, batch 4: 3 steps per epoch


@pytest.fixture
def strict():
    """Every warning is an error, so an overflow or invalid-value warning fails the test.

    The one warning fit means to give, DivergenceWarning, is recorded instead: the list is yielded.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        warnings.simplefilter("always", training.DivergenceWarning)
        yield caught


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, 3)).astype(np.float32), rng.integers(0, 2, size=N)


class Weights(callbacks.Callback):
    """A copy of every parameter after each step."""

    def __init__(self):
        self.after_step = []

    def on_batch_end(self, step, logs):
        self.after_step.append([p.data.copy() for p in self.model.parameters])


class PoisonLoss(losses.CCE):
    """CCE, except that its ``at``-th evaluation returns ``value`` (NaN or inf)."""

    def __init__(self, at: int, value: float):
        self.at, self.value, self.calls = at, value, 0

    def call(self, y_pred, y_true):
        self.calls += 1
        loss = super().call(y_pred, y_true)
        return loss * self.value if self.calls == self.at else loss


class PoisonScale(layers.Layer):
    """y = x · s with a trainable s; on its ``at``-th backward, the gradient of s (only) is ``value``."""

    def __init__(self, at: int, value: float):
        super().__init__()
        self.at, self.value, self.calls = at, value, 0

    def build(self, input_shape, rng, dtype=np.float32):
        self.scale = self.add_weight("scale", input_shape, initializer=lambda shape, rng, dtype: np.ones(shape, dtype))
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        self.calls += training
        poisoned, s = self.calls == self.at and training, self.scale
        return Tensor._from_op(x.data * s.data, (x, s), "poison_scale", lambda g: (
            g * s.data, np.full(s.shape, self.value, s.dtype) if poisoned else (g * x.data).sum(axis=0)))


def _fit(loss="cce", extra_layer=None, epochs=4):
    x, y = _data()
    model = models.Network(seed=0)
    model.add(layers.Dense(4, activation="tanh", input_dim=3))
    model.add(layers.Dense(2))
    if extra_layer is not None:
        model.add(extra_layer)
    weights = Weights()
    history = model.fit(x, y, epochs=epochs, loss=loss, opt=optimizers.SGD(lr=0.1), batch_size=4,
                        callbacks=[weights], verbose=0, seed=0)
    return model, history, weights


# ----- NaN / inf stop training --------------------------------------------------------------------------

@pytest.mark.parametrize("value, shown", [(np.nan, "nan"), (np.inf, "inf")])
@pytest.mark.parametrize("at", [1, 5, 9])
def test_a_non_finite_loss_stops_training_naming_epoch_and_step(at, value, shown, strict):
    model, history, weights = _fit(loss=PoisonLoss(at, value))
    epoch, step = (at - 1) // STEPS + 1, (at - 1) % STEPS + 1  # the at-th step overall
    assert history.stopped.startswith(f"the loss became {shown} at epoch {epoch}, step {step};")
    assert history.interrupted is None
    assert history.epoch == list(range(epoch - 1))  # the complete epochs before it
    assert len(weights.after_step) == at - 1  # the faulty step ran no callbacks …
    expected = weights.after_step[-1] if at > 1 else None
    for i, p in enumerate(model.parameters):  # … and changed no weight
        assert np.isfinite(p.data).all()
        if expected is not None:
            assert np.array_equal(p.data, expected[i])


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_gradient_stops_training_naming_the_parameter(value, strict):
    model, history, weights = _fit(extra_layer=PoisonScale(at=5, value=value))
    assert re.fullmatch(r"the gradient of poisonscale_2/scale became NaN or inf at epoch 2, step 2; .*",
                        history.stopped)
    assert len(weights.after_step) == 4 and history.epoch == [0]
    for p, before in zip(model.parameters, weights.after_step[-1]):
        assert np.array_equal(p.data, before)  # the poisoned step was not applied


def test_the_first_faulty_parameter_is_named_when_several_are(strict):
    # Poisoning the Dense output's gradient makes every Dense parameter's gradient NaN: the first is named.
    class PoisonInput(PoisonScale):
        def call(self, x, training=False):
            self.calls += training
            poisoned = self.calls == self.at and training
            return Tensor._from_op(x.data, (x,), "poison", lambda g: (g * np.nan if poisoned else g,))

        def build(self, input_shape, rng, dtype=np.float32):
            layers.Layer.build(self, input_shape, rng, dtype)

    _, history, _ = _fit(extra_layer=PoisonInput(at=2, value=np.nan))
    assert history.stopped.startswith("the gradient of dense_0/kernel became NaN or inf at epoch 1, step 2;")


def test_a_diverging_run_stops_quietly(strict):
    x, y = _data()
    model = models.Network([layers.Dense(8, activation="relu", input_dim=3), layers.Dense(2)], seed=0)
    history = model.fit(x, y, epochs=20, loss="mse", opt=optimizers.SGD(lr=1e10), batch_size=4, verbose=0, seed=0)
    assert re.fullmatch(r"the (loss became (inf|nan)|update made dense_\d/(kernel|bias) NaN or inf) at epoch \d+, "
                        r"step \d+; try a smaller learning rate \(or clipnorm=...\)", history.stopped)


def test_an_update_beyond_the_dtype_s_range_stops_training_naming_the_parameter(strict):
    # lr = 1e38 times a kernel gradient of order 100 is beyond float32's 3.4e38: the first update overflows.
    x, y = _data()
    model = models.Network([layers.Dense(4, input_dim=3), layers.Dense(2)], seed=0)  # linear: no saturation
    model.build()
    before = [w.data.copy() for w in model.weights]
    history = model.fit(x * 100, y, epochs=2, loss="mse", opt=optimizers.SGD(lr=1e38), batch_size=4, verbose=0,
                        seed=0)
    assert history.stopped.startswith("the update made dense_0/kernel NaN or inf at epoch 1, step 1;")
    assert history.epoch == []
    for w, b in zip(model.weights, before):  # the model keeps its last finite weights: the bad update is undone
        np.testing.assert_array_equal(w.data, b)
    (warned,) = [w for w in strict if w.category is training.DivergenceWarning]  # even with verbose=0
    assert "Training stopped: the update made dense_0/kernel NaN or inf" in str(warned.message)


def test_a_model_with_non_finite_weights_says_so_when_asked_to_predict():
    model = models.Network([layers.Dense(4, input_dim=3), layers.Dense(2)], seed=0)
    model.build()
    model.layers[1].kernel.data[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"predict: the model's weight dense_1/kernel holds NaN or inf, so its "
                                         r"outputs do too \(x is finite\)"):
        model.predict(np.ones((2, 3)))


def test_inputs_that_overflow_inside_the_network_are_reported_not_returned(strict):
    model = models.Network([layers.Dense(4, activation="relu", input_dim=3), layers.Dense(2)], seed=0)
    model.build()
    model.parameters[0].data[...] = 1.0  # each hidden unit sums three values of 3e38: beyond float32
    x = np.full((2, 3), 3e38, dtype=np.float32)  # finite, and accepted by the input checks
    with pytest.raises(ValueError, match=r"predict: the network's outputs overflowed .* Rescale x"):
        model.predict(x)
    with pytest.raises(ValueError, match=r"evaluate: the network's outputs overflowed"):
        model.evaluate(x, np.array([0, 1]), loss="cce")
    history = model.fit(x, np.array([0, 1]), loss="cce", verbose=0, seed=0)
    assert re.match(r"the loss became (nan|inf) at epoch 1, step 1, before any update: the network's outputs "
                    r"overflowed on inputs up to \|x\| = 3e\+38; the input scale is too large", history.stopped)


# ----- clipnorm -------------------------------------------------------------------------------------------

def _step(opt, grads: list) -> list:
    """Apply one step to zero-valued parameters; return the updates (new − old)."""
    params = [Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    opt.bind(params)
    for p, g in zip(params, grads):
        p.grad = g.copy()
    opt.step()
    return [p.data for p in params]


def test_clipnorm_by_hand():
    grads = [np.array([3.0, 0.0]), np.array([[0.0], [4.0]])]  # global norm √(9 + 16) = 5
    update = _step(optimizers.SGD(lr=1.0, clipnorm=1.0), grads)  # scaled by 1/5
    np.testing.assert_allclose(update[0], [-0.6, 0.0])
    np.testing.assert_allclose(update[1], [[0.0], [-0.8]])
    update = _step(optimizers.SGD(lr=1.0, clipnorm=10.0), grads)  # under the limit: untouched
    np.testing.assert_array_equal(update[0], [-3.0, 0.0])


@settings(max_examples=40, deadline=None)
@given(grads=st.lists(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4),
                                 elements=st.floats(-1e3, 1e3)), min_size=1, max_size=3),
       clipnorm=st.floats(1e-3, 1e3), lr=st.floats(1e-3, 10))
def test_clipnorm_bounds_the_global_norm_and_keeps_the_direction(grads, clipnorm, lr):
    norm = np.sqrt(sum(float((g * g).sum()) for g in grads))
    update = _step(optimizers.SGD(lr=lr, clipnorm=clipnorm), grads)
    clipped = [-u / lr for u in update]  # SGD: update = −lr · (clipped gradient)
    clipped_norm = np.sqrt(sum(float((c * c).sum()) for c in clipped))
    assert clipped_norm <= clipnorm * (1 + 1e-9)
    scale = min(1.0, clipnorm / norm) if norm > 0 else 1.0
    for c, g in zip(clipped, grads):
        np.testing.assert_allclose(c, g * scale, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make", [lambda c: optimizers.Adam(lr=0.01, clipnorm=c),
                                  lambda c: optimizers.RMSprop(lr=0.01, clipnorm=c),
                                  lambda c: optimizers.SGD(lr=0.01, momentum=0.9, clipnorm=c)])
def test_clipnorm_feeds_the_clipped_gradient_to_every_optimizer(make):
    grads = [np.array([30.0, -40.0]), np.array([[0.0]])]  # norm 50
    with_clip = _step(make(5.0), grads)
    by_hand = _step(make(None), [g * (5.0 / 50.0) for g in grads])  # the same optimizer fed g · 5/50
    for a, b in zip(with_clip, by_hand):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_clipnorm_bounds_every_training_step():
    x, y = _data()
    x = x * 100  # steep: unclipped steps would be large
    model = models.Network([layers.Dense(4, activation="tanh", input_dim=3), layers.Dense(2)], seed=0)
    weights, lr, clip = Weights(), 0.5, 0.1
    model.fit(x, y, epochs=3, loss="mse", opt=optimizers.SGD(lr=lr, clipnorm=clip), batch_size=4,
              callbacks=[weights], verbose=0, seed=0)
    steps = [np.sqrt(sum(float(((a - b).astype(np.float64) ** 2).sum()) for a, b in zip(after, before)))
             for before, after in zip(weights.after_step, weights.after_step[1:])]
    assert max(steps) <= lr * clip * (1 + 1e-5)  # ‖Δw‖ = lr · ‖clipped g‖ ≤ lr · clipnorm
    assert max(steps) >= lr * clip * (1 - 1e-3)  # and the clip really was active


# ----- no warnings at extreme inputs ------------------------------------------------------------------------

EXTREMES = [(np.float32, v) for v in (1e4, 1e30, F32_MAX)] + [(np.float64, v) for v in (1e4, 1e200, F64_MAX)]
ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "linear", "softmax"]


def _extreme_batch(dtype, v) -> np.ndarray:
    return np.array([[v, -v, 0.0], [v, v, v], [-v, -v, -v], [v, 1.0, -1.0]], dtype=dtype)


@pytest.mark.parametrize("dtype, v", EXTREMES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_at_extreme_inputs_raise_no_warning(strict, name, dtype, v):
    x = Tensor(_extreme_batch(dtype, v), requires_grad=True)
    out = activations.get(name)(x)
    out.backward(np.ones(out.shape, dtype=dtype))
    assert out.dtype == dtype and np.isfinite(out.data).all() and np.isfinite(x.grad).all()
    if name in ("sigmoid", "softmax"):
        assert ((out.data >= 0) & (out.data <= 1)).all()
    if name == "softmax":
        np.testing.assert_allclose(out.data.sum(axis=1), 1, rtol=1e-6)


LOSSES = ["mse", "cce", "svm", "bce", losses.BCE(from_logits=True)]


@pytest.mark.parametrize("dtype, v", EXTREMES)
@pytest.mark.parametrize("loss", LOSSES, ids=["mse", "cce", "svm", "bce", "bce_logits"])
@pytest.mark.parametrize("targets", ["labels", "rows"])
def test_losses_at_extreme_inputs_raise_no_warning(strict, loss, dtype, v, targets):
    scores = Tensor(_extreme_batch(dtype, v), requires_grad=True)
    labels = np.array([0, 1, 2, 1])
    y = labels if targets == "labels" else np.eye(3, dtype=dtype)[labels]
    value = losses.get(loss)(scores, y)
    value.backward()
    assert not np.isnan(value.item())  # finite, or +inf when the true loss exceeds the dtype's range
    if v <= 1e4:
        assert np.isfinite(value.item())
    assert np.isfinite(scores.grad).all()
