"""BatchNormalization: the worked example, training versus inference, central differences, and its running
statistics saved, loaded, checkpointed and resumed exactly. The fused op itself: tests/autodiff/test_batch_norm.py."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from neurona import callbacks, layers, models, optimizers
from neurona.autodiff import Tensor, gradcheck

RNG = np.random.default_rng(11)


def _built(layer, input_shape, dtype=np.float64):
    layer._build(input_shape, np.random.default_rng(0), dtype)
    return layer


def test_worked_example_training_normalizes_by_the_batch_and_moves_the_running_statistics():
    bn = _built(layers.BatchNormalization(momentum=0.9, epsilon=1e-3), (1,))
    out = bn(np.array([[1.0], [3.0]]), training=True)
    # batch mean 2, biased variance ((1-2)² + (3-2)²)/2 = 1: outputs ∓1/√(1 + 0.001)
    np.testing.assert_allclose(out.data, [[-1 / np.sqrt(1.001)], [1 / np.sqrt(1.001)]], rtol=1e-12)
    # running: 0.9·0 + 0.1·2 = 0.2 and 0.9·1 + 0.1·1 = 1
    np.testing.assert_allclose(bn.moving_mean.data, [0.2], rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance.data, [1.0], rtol=1e-12)


def test_inference_uses_the_running_statistics_so_a_sample_does_not_depend_on_its_batch():
    bn = _built(layers.BatchNormalization(epsilon=0.5), (2,))
    bn.gamma.data[...] = [2.0, 1.0]
    bn.beta.data[...] = [0.0, -1.0]
    bn.moving_mean.data[...] = [1.0, 0.0]
    bn.moving_variance.data[...] = [3.5, 0.5]
    # channel 0: 2·(5 − 1)/√(3.5 + 0.5) + 0 = 4; channel 1: 1·(3 − 0)/√(0.5 + 0.5) − 1 = 2
    np.testing.assert_allclose(bn(np.array([[5.0, 3.0]])).data, [[4.0, 2.0]], rtol=1e-12)
    np.testing.assert_allclose(bn(np.array([[5.0, 3.0], [0.0, 0.0]])).data[0], [4.0, 2.0], rtol=1e-12)
    assert bn.moving_mean.data.tolist() == [1.0, 0.0]  # inference leaves the statistics alone


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3, 2)], ids=["rows", "images"])
@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
def test_gradients_match_central_differences(shape, training):
    bn = _built(layers.BatchNormalization(), shape[1:])
    bn.moving_variance.data[...] = 2.0
    assert gradcheck(lambda x, gamma, beta: _with(bn, gamma, beta)(x, training=training),
                     RNG.normal(size=shape), RNG.normal(size=shape[-1]), RNG.normal(size=shape[-1]),
                     atol=1e-8, rtol=1e-6)


def _with(bn, gamma, beta):
    bn.gamma, bn.beta = gamma, beta
    return bn


def test_the_running_statistics_are_weights_but_not_trainable():
    bn = _built(layers.BatchNormalization(), (4, 4, 3))
    assert [w.name.split("/")[1] for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name.split("/")[1] for w in bn.trainable_weights] == ["gamma", "beta"]
    with pytest.raises(ValueError, match=r"BatchNormalization: momentum must be <= 1.0. Received: momentum=1.5"):
        layers.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match=r"BatchNormalization: epsilon must be > 0.0. Received: epsilon=0"):
        layers.BatchNormalization(epsilon=0)


# ----- a conv net with every stateful piece: saved, loaded, checkpointed and resumed -----
X = RNG.normal(size=(24, 6, 6, 2)).astype(np.float32)
Y = RNG.integers(0, 3, size=24)
BATCH, EPOCHS = 8, 3  # 3 steps per epoch


def _model() -> models.Network:
    model = models.Network(seed=2)
    model.add(layers.Input((6, 6, 2)))
    model.add(layers.RandomCrop(1, image_shape=(6, 6, 2)))
    model.add(layers.RandomFlip(image_shape=(6, 6, 2)))
    model.add(layers.Conv2D(4, 3, padding="same", use_bias=False))
    model.add(layers.BatchNormalization(momentum=0.8))
    model.add(layers.Activation("relu"))
    model.add(layers.MaxPool2D())
    model.add(layers.Flatten())
    model.add(layers.Dense(3))
    return model


class SignalAfter(callbacks.Callback):
    """Sends SIGINT to this process after the ``at``-th step of this fit call: fit ends the step and returns."""

    def __init__(self, at):
        self.at, self.steps = at, 0

    def on_batch_end(self, step, logs):
        self.steps += 1
        if self.steps == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def _fit(checkpoint=None, stop_at=None):
    model = _model()
    history = model.fit(X, Y, test_data=(X[:8], Y[:8]), epochs=EPOCHS, loss="cce", opt=optimizers.Adam(lr=0.01),
                        batch_size=BATCH, callbacks=[SignalAfter(stop_at)], verbose=0, seed=5, checkpoint=checkpoint)
    return model, history


@pytest.fixture(scope="module")
def reference():
    return _fit()


def test_a_trained_cnn_with_batchnorm_round_trips_through_save_and_load(reference, tmp_path):
    model = reference[0]
    assert np.abs(model.layers[3].moving_mean.data).sum() > 0  # the running statistics moved
    model.save(tmp_path / "m.npz")
    loaded = models.load(tmp_path / "m.npz")
    for a, b in zip(loaded.weights, model.weights):
        assert a.name == b.name and np.array_equal(a.data, b.data)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("stop_at", [4, 8])  # inside epoch 2 and epoch 3
def test_interrupted_then_resumed_equals_the_uninterrupted_run_bit_for_bit(reference, tmp_path, stop_at):
    model_ref, history_ref = reference
    _, history = _fit(tmp_path / "run.npz", stop_at=stop_at)
    assert history.interrupted == "SIGINT" and (tmp_path / "run.npz").exists()
    model, history = _fit(tmp_path / "run.npz")
    assert history.history == history_ref.history
    for a, b in zip(model.weights, model_ref.weights):  # running mean and variance included
        assert a.name == b.name and np.array_equal(a.data, b.data), a.name
