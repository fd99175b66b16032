"""Conv2D, MaxPool2D, AveragePooling2D, GlobalAveragePooling2D and RandomCrop: worked examples, shapes,
gradients (float64, against central differences), errors, save and load, and Keras-style summaries."""

from __future__ import annotations

import numpy as np
import pytest

from neurona import layers, losses, models
from neurona.autodiff import Tensor, gradcheck

from network_helpers import assert_grads_match

RNG = np.random.default_rng(7)


def _built(layer, input_shape, dtype=np.float64, seed=0):
    layer._build(input_shape, np.random.default_rng(seed), dtype)
    return layer


# ----- worked examples -----
def test_conv2d_worked_example():
    # image 3x3 with values 1..9, a 2x2 kernel [[1, 0], [0, -1]] (top-left minus bottom-right), bias 10:
    # each output is x[i, j] - x[i+1, j+1] + 10 = -4 + 10 = 6 everywhere ('valid': a 2x2 output)
    conv = _built(layers.Conv2D(1, 2, bias_initializer="zeros"), (3, 3, 1))
    conv.kernel.data[...] = np.array([[1, 0], [0, -1]], dtype=np.float64).reshape(2, 2, 1, 1)
    conv.bias.data[...] = 10
    x = np.arange(1, 10, dtype=np.float64).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(conv(x).data, np.full((1, 2, 2, 1), 6.0))


def test_pooling_worked_examples():
    x = np.array([[1, 2, 5, 6], [3, 4, 7, 8], [0, 0, 1, 1], [0, 4, 1, 1]], dtype=np.float64).reshape(1, 4, 4, 1)
    # 2x2 windows: max 4, 8 / 4, 1; mean (1+2+3+4)/4 = 2.5, 6.5 / 1, 1
    np.testing.assert_array_equal(layers.MaxPool2D()(x).data[0, :, :, 0], [[4, 8], [4, 1]])
    np.testing.assert_array_equal(layers.AveragePooling2D()(x).data[0, :, :, 0], [[2.5, 6.5], [1, 1]])
    # global mean: (10 + 26 + 4 + 4) / 16 = 2.75
    np.testing.assert_array_equal(layers.GlobalAveragePooling2D()(x).data, [[2.75]])


@pytest.mark.parametrize("make, image, expected", [
    (lambda: layers.Conv2D(8, 3), (10, 12, 3), (8, 10, 8)),
    (lambda: layers.Conv2D(8, 3, padding="same"), (10, 12, 3), (10, 12, 8)),
    (lambda: layers.Conv2D(8, 3, padding=1), (10, 12, 3), (10, 12, 8)),
    (lambda: layers.Conv2D(8, (3, 5), strides=2, padding="same"), (10, 12, 3), (5, 6, 8)),
    (lambda: layers.Conv2D(4, 3, dilation_rate=2), (10, 12, 3), (6, 8, 4)),
    (lambda: layers.MaxPool2D(), (10, 12, 3), (5, 6, 3)),
    (lambda: layers.MaxPool2D(3, strides=2, padding="same"), (9, 12, 3), (5, 6, 3)),
    (lambda: layers.AveragePooling2D(2, padding=1), (9, 12, 3), (5, 7, 3)),
    (lambda: layers.GlobalAveragePooling2D(), (10, 12, 3), (3,)),
], ids=["valid", "same", "pad-1", "strided-same", "dilated", "max", "max-same", "avg-pad", "global"])
def test_output_shapes_are_known_before_running_and_match_the_run(make, image, expected):
    layer = make()
    assert layer.compute_output_shape(image) == expected
    assert layer(RNG.normal(size=(2, *image))).shape == (2, *expected)


# ----- gradients -----
def _tiny_cnn(dtype="float64") -> models.Network:
    model = models.Network(dtype=dtype, seed=4)
    model.add(layers.Input((6, 6, 2)))
    model.add(layers.Conv2D(3, 3, padding="same", activation="tanh"))
    model.add(layers.MaxPool2D())
    model.add(layers.Conv2D(2, 2, strides=1, padding=1, use_bias=False, activation="tanh"))
    model.add(layers.AveragePooling2D(2))
    model.add(layers.Flatten())
    model.add(layers.Dense(3))
    return model


def test_every_weight_gradient_of_a_small_cnn_matches_central_differences():
    model = _tiny_cnn()
    x, y = RNG.normal(size=(3, 6, 6, 2)), RNG.integers(0, 3, size=3)
    model.build()
    loss = losses.get("cce")
    assert_grads_match(model, lambda: loss(model.forward(Tensor(x)), y))


@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(2, 3, strides=2, padding="same"),
    lambda: layers.MaxPool2D(2, strides=1),
    lambda: layers.AveragePooling2D(3, strides=2, padding="same"),
    lambda: layers.GlobalAveragePooling2D(),
], ids=["conv", "max", "avg", "global"])
def test_input_gradient_of_each_layer_matches_central_differences(make):
    layer = _built(make(), (5, 5, 2))
    x = RNG.normal(size=(2, 5, 5, 2))  # distinct values: no ties in a max window
    assert gradcheck(lambda t: layer(t), x, atol=1e-8, rtol=1e-6)


# ----- arguments -----
@pytest.mark.parametrize("make, message", [
    (lambda: layers.Conv2D(0), r"Conv2D: filters must be a positive int. Received: filters=0"),
    (lambda: layers.Conv2D(4, (3, 3, 3)), r"Conv2D: kernel_size must be a positive int or a pair of them. "
                                          r"Received: kernel_size=\(3, 3, 3\)"),
    (lambda: layers.Conv2D(4, padding="full"), r"Conv2D: padding must be 'valid', 'same', or a non-negative int or "
                                               r"pair. Received: padding='full'"),
    (lambda: layers.Conv2D(4, strides=0), r"Conv2D: strides must be a positive int. Received: strides=0"),
    (lambda: layers.MaxPool2D(2, padding=2), r"max_pool2d: padding must be at most half the pool size"),
    (lambda: layers.RandomCrop(-1), r"RandomCrop: padding must be an int in \[0, 32768\]. Received: padding=-1"),
])
def test_bad_arguments_are_named_and_echoed(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_conv_layer_on_flat_rows_says_to_give_images():
    model = models.Network([layers.Conv2D(4, 3)])
    with pytest.raises(ValueError, match=r"Conv2D: inputs must be images \(batch, height, width, channels\). "
                                         r"Received per-sample shape \(12,\)"):
        model.build((12,))
    with pytest.raises(ValueError, match=r"conv2d: the window \(3x3, dilation \(1, 1\)\) spans 3 pixels, more than"):
        layers.Conv2D(4, 3).compute_output_shape((2, 2, 3))


# ----- random crops -----
def test_random_crop_shifts_each_image_within_the_padding_and_is_the_identity_at_inference():
    crop = _built(layers.RandomCrop(2, image_shape=(5, 5, 1)), (5, 5, 1), seed=3)
    x = np.arange(1, 1 + 4 * 25, dtype=np.float64).reshape(4, 5, 5, 1)
    np.testing.assert_array_equal(crop(x).data, x)
    state = crop.rng.bit_generator.state
    out = crop(x, training=True).data
    crop.rng.bit_generator.state = state  # the same draws again, for an independent loop over images
    offsets = crop.rng.integers(0, 5, size=(2, 4))
    for k, (top, left) in enumerate(offsets.T):
        padded = np.zeros((9, 9, 1))
        padded[2:7, 2:7] = x[k]
        np.testing.assert_array_equal(out[k], padded[top:top + 5, left:left + 5])


# ----- saving, loading and summaries -----
def test_a_cnn_round_trips_through_save_and_load(tmp_path):
    model = _tiny_cnn("float32")
    x = RNG.normal(size=(4, 6, 6, 2)).astype(np.float32)
    model.fit(x, RNG.integers(0, 3, size=4), epochs=1, loss="cce", opt="adam", verbose=0)
    model.save(tmp_path / "cnn.npz")
    loaded = models.load(tmp_path / "cnn.npz")
    assert [layer.get_config() for layer in loaded.layers] == [layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_summary_shows_keras_shapes_and_parameter_counts_of_the_w5_network_without_drawing_weights():
    model = models.Network()
    model.add(layers.Input((32, 32, 3)))
    for filters in (32, 32, "pool", 64, 64, "pool"):
        if filters == "pool":
            model.add(layers.MaxPool2D())
            continue
        model.add(layers.Conv2D(filters, 3, padding=1))
        model.add(layers.BatchNormalization())
        model.add(layers.Activation("relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(256, activation="relu"))
    model.add(layers.Dense(10))
    text = models.summary_table(model)
    assert not model.built
    rows = [line.split() for line in text.splitlines() if line.strip()]
    counts = {row[0]: row[-1] for row in rows if row[0][-1].isdigit()}
    # Keras's counts: 3·3·3·32 + 32 = 896; 3·3·32·32 + 32 = 9,248; 3·3·32·64 + 64 = 18,496;
    # 3·3·64·64 + 64 = 36,928; BN 4·channels (γ, β, running mean and variance);
    # 4096·256 + 256 = 1,048,832; 256·10 + 10 = 2,570
    assert counts == {"conv2d_0": "896", "batchnormalization_1": "128", "activation_2": "0", "conv2d_3": "9,248",
                      "batchnormalization_4": "128", "activation_5": "0", "maxpool2d_6": "0", "conv2d_7": "18,496",
                      "batchnormalization_8": "256", "activation_9": "0", "conv2d_10": "36,928",
                      "batchnormalization_11": "256", "activation_12": "0", "maxpool2d_13": "0", "flatten_14": "0",
                      "dense_15": "1,048,832", "dense_16": "2,570"}
    assert "(None, 32, 32, 32)" in text and "(None, 16, 16, 32)" in text and "(None, 8, 8, 64)" in text
    assert "(None, 4096)" in text
    # 896 + 9,248 + 18,496 + 36,928 + 128 + 128 + 256 + 256 + 1,048,832 + 2,570
    assert "Total params: 1,117,738" in text


def test_a_first_conv_layer_may_give_the_input_shape_as_keras_does(tmp_path):
    model = models.Network([layers.Conv2D(2, 3, padding="same", input_shape=(6, 6, 2)), layers.MaxPool2D(),
                            layers.Flatten(), layers.Dense(3)])
    assert "(None, 3, 3, 2)" in models.summary_table(model)  # 6x6 pooled by 2; no Input needed
    model.save(tmp_path / "m.npz")
    assert models.load(tmp_path / "m.npz").layers[0].get_config()["input_shape"] == [6, 6, 2]
