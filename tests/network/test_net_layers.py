"""Layers: each one's math against NumPy written here, its errors, and its gradients through a float64 network."""

import numpy as np
import pytest

from neurona import Tensor, initializers, layers, losses, models

from network_helpers import assert_grads_match, forward, mlp

RNG = np.random.default_rng(31)
X = RNG.normal(size=(6, 3))
Y = RNG.normal(size=(6, 2))


# ----- Dense -----
def test_dense_is_activation_of_x_at_w_plus_b_with_w_stored_in_by_out():
    model = mlp((3, 4), output="tanh", seed=0)
    dense = model.layers[0]
    assert dense.kernel.shape == (3, 4) and dense.bias.shape == (4,)
    dense.bias.data[...] = [0.1, -0.2, 0.3, 0.0]
    expected = np.tanh(X @ dense.kernel.data + dense.bias.data)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)


def test_dense_worked_example():
    # x = (1, 2), W = [[1, 0], [−1, 3]], b = (0.5, −0.5): xW + b = (1 − 2 + 0.5, 0 + 6 − 0.5) = (−0.5, 5.5); relu → (0, 5.5)
    model = models.Network(dtype="float64")
    model.add(layers.Dense(2, activation="relu", input_dim=2))
    model.build()
    model.layers[0].kernel.data[...] = [[1, 0], [-1, 3]]
    model.layers[0].bias.data[...] = [0.5, -0.5]
    np.testing.assert_array_equal(model.predict(np.array([[1.0, 2.0]])), [[0.0, 5.5]])


def test_dense_flattens_images_given_input_dim_3072():
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dense(5, activation="sigmoid", input_dim=3072, factor=1e-2))
    images = np.random.default_rng(0).uniform(size=(4, 32, 32, 3))
    rows = images.reshape(4, 3072)
    out = model.predict(images)
    dense = model.layers[0]
    assert dense.kernel.shape == (3072, 5)
    expected = 1 / (1 + np.exp(-(rows @ dense.kernel.data + dense.bias.data)))
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_array_equal(out, model.predict(rows))


def test_dense_without_bias():
    model = mlp((3, 2), seed=0, use_bias=False)
    assert model.layers[0].bias is None and len(model.parameters) == 1
    np.testing.assert_allclose(model.predict(X), X @ model.layers[0].kernel.data, rtol=1e-12)


def test_dense_factor_is_the_practicals_normal_initialisation():
    model = models.Network(seed=3)
    model.add(layers.Dense(100, input_dim=3072, factor=1e-2))
    model.build()
    w = model.layers[0].kernel.data
    # 307,200 draws of N(0, 1)·0.01: mean ≈ 0 (± 0.01/√307200 ≈ 2e-5), std ≈ 0.01 (± 0.01/√614400 ≈ 1.3e-5)
    assert abs(w.mean()) < 1e-4 and w.std() == pytest.approx(1e-2, rel=1e-2)
    np.testing.assert_array_equal(model.layers[0].bias.data, np.zeros(100))
    assert type(model.layers[0].kernel_initializer) is initializers.Normal


def test_initializer_scales():
    rng = np.random.default_rng(0)
    glorot = initializers.GlorotUniform()((300, 200), rng)
    limit = np.sqrt(6 / (300 + 200))  # ≈ 0.1095; a uniform on ±l has std l/√3
    assert np.abs(glorot).max() <= limit and glorot.std() == pytest.approx(limit / np.sqrt(3), rel=2e-2)
    he = initializers.HeNormal()((300, 200), rng)
    assert he.std() == pytest.approx(np.sqrt(2 / 300), rel=2e-2)
    assert initializers.get("he_normal")((2, 2), rng, np.float64).dtype == np.float64
    with pytest.raises(ValueError, match=r"Unknown initializer: 'orthogonal'. Valid initializer names: "
                                         r"glorot_uniform, he_normal, normal, zeros"):
        initializers.get("orthogonal")


def test_fans_of_dense_and_conv_kernels():
    assert initializers._fans((300, 200)) == (300, 200)  # Dense: (in, out)
    assert initializers._fans((7,)) == (7, 7)
    # a 5x5 kernel from 3 to 8 channels: each output sees 5·5·3 = 75 inputs, each input feeds 5·5·8 = 200 outputs
    assert initializers._fans((5, 5, 3, 8)) == (75, 200)
    assert initializers._fans((3, 16, 32)) == (48, 96)  # a 1-D window of 3


def test_conv_kernels_are_drawn_with_the_windows_fans():
    rng = np.random.default_rng(1)
    glorot = initializers.GlorotUniform()((5, 5, 3, 8), rng)
    limit = np.sqrt(6 / (75 + 200))  # ≈ 0.1477 (drawn as a (75, 8) matrix it was √(6/83) ≈ 0.269)
    assert np.abs(glorot).max() <= limit and np.abs(glorot).max() > 0.95 * limit  # 600 draws reach the edge
    he = initializers.HeNormal()((3, 3, 64, 128), rng)
    assert he.std() == pytest.approx(np.sqrt(2 / (3 * 3 * 64)), rel=2e-2)  # 73,728 draws of N(0, 2/576)
    conv = layers.Conv2D(8, 5, input_shape=(10, 10, 3))
    conv._build((10, 10, 3), np.random.default_rng(2), np.float64)
    np.testing.assert_array_equal(conv.kernel.data,
                                  initializers.GlorotUniform()((5, 5, 3, 8), np.random.default_rng(2), np.float64))


@pytest.mark.parametrize("kwargs", [{}, {"use_bias": False}, {"factor": 0.5}, {"kernel_initializer": "he_normal"}],
                         ids=str)
def test_dense_gradients(kwargs):
    model = mlp((3, 4, 2), hidden="sigmoid", seed=2, **kwargs)
    assert_grads_match(model, lambda: losses.MSE()(forward(model, X), Y))


def test_dense_gradients_with_image_inputs():
    images = np.random.default_rng(5).normal(size=(3, 2, 2, 3))
    model = mlp((12, 3, 2), seed=4)
    assert_grads_match(model, lambda: losses.CCE()(forward(model, images), np.array([0, 1, 1])))


# ----- Activation and Flatten -----
def test_activation_layer_applies_its_function():
    model = models.Network(dtype="float64")
    model.add(layers.Activation("relu"))
    model.build((2,))
    np.testing.assert_array_equal(model.predict(np.array([[-1.0, 2.0]])), [[0.0, 2.0]])


def test_flatten_shape_and_values():
    images = np.arange(2 * 2 * 3 * 2, dtype=float).reshape(2, 2, 3, 2)
    model = models.Network(dtype="float64")
    model.add(layers.Flatten())
    model.build((2, 3, 2))
    out = model.predict(images)
    np.testing.assert_array_equal(out, images.reshape(2, 12))
    assert model.output_shapes() == [(12,)]


def test_flatten_then_dense_gradients():
    images = np.random.default_rng(6).normal(size=(4, 2, 3))
    model = models.Network(seed=7, dtype="float64")
    model.add(layers.Flatten())
    model.add(layers.Dense(3, activation="elu"))
    model.add(layers.Dense(2))
    model.build((2, 3))
    assert_grads_match(model, lambda: losses.SVM()(forward(model, images), np.array([0, 1, 1, 0])))


# ----- Dropout -----
def test_dropout_is_the_identity_at_inference():
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dropout(0.5))
    model.build((3,))
    np.testing.assert_array_equal(model.predict(X), X)


def test_dropout_zeroes_a_fraction_and_scales_the_rest_in_training():
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dropout(0.25))
    ones = np.ones((200, 50))
    out = forward(model, ones, training=True).numpy()
    kept = out != 0
    np.testing.assert_array_equal(out[kept], np.full(kept.sum(), 1 / 0.75))  # kept values scaled by 1/(1 − rate)
    # 10,000 draws with p = 0.25: the fraction dropped is 0.25 ± 0.0043 (one sd)
    assert (~kept).mean() == pytest.approx(0.25, abs=0.02)


def test_dropout_rate_zero_is_the_identity_even_in_training():
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dropout(0.0))
    np.testing.assert_array_equal(forward(model, X, training=True).numpy(), X)


def test_dropout_gradients_with_a_fixed_mask():
    model = models.Network(seed=8, dtype="float64")
    model.add(layers.Dense(5, activation="tanh", input_dim=3))
    model.add(layers.Dropout(0.4))
    model.add(layers.Dense(2))
    model.build()
    dropout = model.layers[1]

    def objective():
        dropout.rng = np.random.default_rng(99)  # the same mask on every evaluation
        return losses.MSE()(forward(model, X, training=True), Y)

    # the mask really drops something for this seed, so the check covers the scaling
    dropout.rng = np.random.default_rng(99)
    assert np.any(dropout.call(Tensor(np.ones((6, 5))), training=True).numpy() == 0)
    assert_grads_match(model, objective)


# ----- RandomFlip -----
def test_random_flip_mirrors_some_images_left_right():
    images = np.random.default_rng(9).normal(size=(16, 4, 5, 3))
    model = models.Network(seed=1, dtype="float64")
    model.add(layers.RandomFlip((4, 5, 3)))
    model.build((4, 5, 3))
    np.testing.assert_array_equal(model.predict(images), images)  # inference: identity
    out = forward(model, images, training=True).numpy()
    flipped = [i for i in range(16) if np.array_equal(out[i], images[i, :, ::-1, :])]
    same = [i for i in range(16) if np.array_equal(out[i], images[i])]
    assert sorted(flipped + same) == list(range(16)) and flipped and same


def test_random_flip_on_flattened_rows():
    image = np.arange(2 * 3 * 1, dtype=float).reshape(1, 2, 3, 1)  # rows (0 1 2), (3 4 5)
    rows = np.repeat(image.reshape(1, 6), 20, axis=0)
    model = models.Network(seed=2, dtype="float64")
    model.add(layers.RandomFlip((2, 3, 1)))
    model.build((6,))
    out = forward(model, rows, training=True).numpy()
    mirrored = np.array([2, 1, 0, 5, 4, 3], dtype=float)  # each row of the image reversed
    assert all(np.array_equal(r, rows[0]) or np.array_equal(r, mirrored) for r in out)
    assert any(np.array_equal(r, mirrored) for r in out)


def test_random_flip_then_dense_gradients():
    images = np.random.default_rng(10).normal(size=(4, 2, 2, 1))
    model = models.Network(seed=3, dtype="float64")
    model.add(layers.RandomFlip((2, 2, 1)))
    model.add(layers.Dense(3, activation="tanh"))
    model.add(layers.Dense(2))
    model.build((2, 2, 1))
    flip = model.layers[0]

    def objective():
        flip.rng = np.random.default_rng(3)
        return losses.CCE()(forward(model, images, training=True), np.array([0, 1, 0, 1]))

    assert_grads_match(model, objective)


# ----- Concatenate -----
def test_concatenate_in_a_network_joins_the_previous_output_with_the_input():
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dense(2, activation="tanh", input_dim=3))
    model.add(layers.Concatenate(3))
    model.add(layers.Dense(1, activation="tanh"))
    model.build()
    assert model.output_shapes() == [(2,), (5,), (1,)]
    assert model.layers[2].kernel.shape == (5, 1)
    d1, d2 = model.layers[0], model.layers[2]
    hidden = np.tanh(X @ d1.kernel.data + d1.bias.data)
    joined = np.concatenate([hidden, X], axis=1)  # previous output first, then the network input
    np.testing.assert_allclose(model.predict(X), np.tanh(joined @ d2.kernel.data + d2.bias.data), rtol=1e-12)


def test_concatenate_input_dim_must_match_the_network_input():
    model = models.Network()
    model.add(layers.Dense(2, activation="tanh", input_dim=2))
    model.add(layers.Concatenate(3))
    model.add(layers.Dense(1))
    with pytest.raises(ValueError, match=r"Concatenate: input_dim=3, but the network's input has 2 features"):
        model.build()
    with pytest.raises(ValueError, match=r"Concatenate: input_dim must be a positive int. Received: input_dim=0"):
        layers.Concatenate(0)


def test_concatenate_in_the_functional_api():
    x = layers.Input(3)
    h = layers.Dense(2, activation="tanh")(x)
    joined = layers.Concatenate()([x, h])
    assert joined.shape == (5,)
    y = layers.Dense(1, activation="tanh")(joined)
    model = models.Model(x, y, dtype="float64", seed=0)
    model.build()
    d1, d2 = model.layers[0], model.layers[2]
    hidden = np.tanh(X @ d1.kernel.data + d1.bias.data)
    expected = np.tanh(np.concatenate([X, hidden], axis=1) @ d2.kernel.data + d2.bias.data)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)


def test_concatenate_gradients_in_a_network_and_a_functional_model():
    net = models.Network(seed=1, dtype="float64")
    net.add(layers.Dense(2, activation="tanh", input_dim=3))
    net.add(layers.Concatenate(3))
    net.add(layers.Dense(2, activation="tanh"))
    assert_grads_match(net, lambda: losses.MSE()(forward(net, X), Y))

    x = layers.Input(3)
    h1 = layers.Dense(4, activation="relu")(x)
    h2 = layers.Dense(2, activation="sigmoid")(h1)
    out = layers.Dense(2)(layers.Concatenate()([h1, x, h2]))
    model = models.Model(x, out, dtype="float64", seed=2)
    assert_grads_match(model, lambda: losses.MSE()(forward(model, X), Y))


def test_concatenate_needs_a_list_of_two():
    with pytest.raises(ValueError, match=r"Concatenate: needs a list of at least 2 tensors. Received: Tensor"):
        layers.Concatenate().call(Tensor(X))


# ----- configuration and arguments -----
@pytest.mark.parametrize("layer", [
    layers.Dense(3, activation="leaky_relu", input_dim=4, factor=0.1, use_bias=False, name="d"),
    layers.Dense(2, kernel_initializer="he_normal"),
    layers.Activation("softmax"), layers.Flatten(), layers.Dropout(0.3), layers.RandomFlip((8, 8, 3)),
    layers.Concatenate(2, name="join"),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    again = layers.from_config({"class": type(layer).__name__, "config": layer.get_config()})
    assert type(again) is type(layer) and again.get_config() == layer.get_config()


def test_unknown_layer_class_in_a_config():
    with pytest.raises(ValueError, match=r"Unknown layer in model file: .*'Conv3D'.*Valid: Dense, Activation"):
        layers.from_config({"class": "Conv3D", "config": {}})


@pytest.mark.parametrize("make, match", [
    (lambda: layers.Dense(-3), r"Dense: units must be a positive int. Received: units=-3"),
    (lambda: layers.Dense(2.5), r"Dense: units must be a positive int. Received: units=2.5"),
    (lambda: layers.Dense(2, input_dim=0), r"Dense: input_dim must be a positive int. Received: input_dim=0"),
    (lambda: layers.Dense(2, factor=-1), r"Dense: factor must be >= 0.0. Received: factor=-1"),
    (lambda: layers.Dense(2, use_bias="yes"), r"Dense: use_bias must be a bool. Received: use_bias='yes'"),
    (lambda: layers.Dense(2, name=3), r"Dense: name must be a string. Received: name=3"),
    (lambda: layers.Dropout(1.0), r"Dropout: rate must be in \[0, 1\). Received: rate=1.0"),
    (lambda: layers.Dropout(-0.1), r"Dropout: rate must be >= 0.0. Received: rate=-0.1"),
    (lambda: layers.RandomFlip((32, 32)), r"RandomFlip: image_shape must be \(height, width, channels\). "
                                          r"Received: image_shape=\(32, 32\)"),
    (lambda: layers.Concatenate(axis="last"), r"Concatenate: axis must be -1 or 1, the feature axis .* Received: axis='last'"),
    (lambda: layers.Concatenate(axis=0), r"Concatenate: axis must be -1 or 1, the feature axis .* Received: axis=0"),
    (lambda: layers.Input(0), r"Input: shape must be a positive int. Received: shape=0"),
])
def test_bad_layer_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_dense_built_on_the_wrong_width():
    layer = layers.Dense(2, input_dim=5)
    with pytest.raises(ValueError, match=r"x has 3 features \(per-sample shape \(3,\)\), but the layer .* "
                                         r"expects input_dim=5"):
        layer(np.ones((4, 3)))


def test_random_flip_built_on_inputs_that_are_not_its_images():
    model = models.Network()
    model.add(layers.RandomFlip((4, 4, 3)))
    with pytest.raises(ValueError, match=r"RandomFlip: inputs of shape \(47,\) are not images of shape \(4, 4, 3\)"):
        model.build((47,))
