"""Models: Network (layers in a row) and Model (functional): structure, build, summary, and their errors."""

import re

import numpy as np
import pytest

from neurona import Tensor, activations, layers, models

from network_helpers import forward

X = np.random.default_rng(81).normal(size=(5, 4))


def _cifar_network():
    model = models.Network()
    model.add(layers.Dense(units=100, activation=activations.Sigmoid(), input_dim=3072, factor=1e-2))
    model.add(layers.Dense(units=100, activation=activations.Sigmoid(), factor=1e-3))
    model.add(layers.Dense(units=10, activation=activations.Linear(), factor=1e-2))
    return model


def test_summary_shows_layers_output_shapes_and_parameter_counts(capsys):
    assert _cifar_network().summary() is None  # it prints the table and returns nothing, as Keras's does
    text = capsys.readouterr().out.strip()
    assert text == models.summary_table(_cifar_network())
    rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]
    # 3072·100 + 100 = 307,300;  100·100 + 100 = 10,100;  100·10 + 10 = 1,010;  total 318,410
    assert ["dense_0 (Dense)", "(None, 100)", "307,300"] in rows
    assert ["dense_1 (Dense)", "(None, 100)", "10,100"] in rows
    assert ["dense_2 (Dense)", "(None, 10)", "1,010"] in rows
    assert text.splitlines()[-1] == "Total params: 318,410"


def test_summary_of_the_concatenate_architecture_and_a_named_model():
    model = models.Network(name="xor-2")
    model.add(layers.Dense(2, activation="tanh", input_dim=2))
    model.add(layers.Concatenate(2))
    model.add(layers.Dense(1, activation="tanh"))
    text = models.summary_table(model)
    rows = [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]
    # 2·2 + 2 = 6; the join has none; (2 + 2)·1 + 1 = 5; total 11
    assert ["dense_0 (Dense)", "(None, 2)", "6"] in rows
    assert ["concatenate_1 (Concatenate)", "(None, 4)", "0"] in rows
    assert ["dense_2 (Dense)", "(None, 1)", "5"] in rows
    assert text.splitlines()[0] == 'Model "xor-2"' and text.endswith("Total params: 11")


def test_summary_needs_an_input_shape():
    model = models.Network()
    model.add(layers.Dense(3))
    with pytest.raises(ValueError, match=r"summary: the model's input shape is unknown; give the first layer "
                                         r"input_dim=..., or call fit\(\)/build\(input_shape\) first"):
        model.summary()


def test_layer_names_are_given_in_order_unless_set():
    model = models.Network()
    model.add(layers.Dense(2, input_dim=2, name="hidden"))
    model.add(layers.Dense(1))
    model.build()
    assert [layer.name for layer in model.layers] == ["hidden", "dense_1"]
    assert [p.name for p in model.parameters] == ["hidden/kernel", "hidden/bias", "dense_1/kernel", "dense_1/bias"]


def test_network_from_a_list_or_with_an_input_first():
    a = models.Network([layers.Dense(3, input_dim=4), layers.Dense(2)], seed=0, dtype="float64")
    b = models.Network(seed=0, dtype="float64")
    b.add(layers.Input(4))
    b.add(layers.Dense(3))
    b.add(layers.Dense(2))
    assert a.input_shape == b.input_shape == (4,)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))  # same seed, same per-layer streams


def test_build_with_an_explicit_input_shape_and_calling_the_model():
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dense(3, activation="relu"))
    model.build((4,))
    assert model.output_shapes() == [(3,)]
    np.testing.assert_array_equal(model(X).numpy(), model.predict(X))
    np.testing.assert_array_equal(model(Tensor(X)).numpy(), model.predict(X))


def test_a_network_is_fixed_once_built():
    model = models.Network()
    model.add(layers.Dense(3, input_dim=4))
    model.build()
    with pytest.raises(ValueError, match=r"Network.add: the network is already built .*create a new Network"):
        model.add(layers.Dense(2))


@pytest.mark.parametrize("make, error, match", [
    (lambda: models.Network().add("dense"), TypeError, r"Network.add: expected a layer. Received: 'dense' \(str\)"),
    (lambda: models.Network().add(layers.Dense), TypeError, r"Network.add: expected a layer. .*\(type\)"),
    (lambda: models.Network([layers.Dense(2), layers.Input(3)]), ValueError,
     r"Network.add: an Input can only be added before any layer"),
    (lambda: models.Network().build((3,)), ValueError, r"Network: the model has no layers; add some"),
    (lambda: models.Network([layers.Dense(2)]).build(), ValueError,
     r"Network: the input shape is unknown; give the first layer input_dim=..., or call fit\(\) / build"),
    (lambda: models.Network(dtype="float16"), ValueError,
     r"Network: dtype must be float32 or float64. Received: dtype='float16'"),
    (lambda: models.Network(seed=-1), ValueError, r"Network: seed must be None or a non-negative int. Received: seed=-1"),
    (lambda: models.Network(seed=1.5), ValueError, r"Network: seed must be None or a non-negative int. Received: seed=1.5"),
])
def test_network_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ----- the functional API -----
def test_the_functional_xor_architecture():
    x = layers.Input(2)
    h = layers.Dense(2, activation="tanh")(x)
    y = layers.Dense(1, activation="tanh")(layers.Concatenate()([x, h]))
    model = models.Model(x, y, seed=0)
    assert repr(y) == "SymbolicTensor(shape=(None, 1), from=Dense)"
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Concatenate", "Dense"]
    assert model.steps == [(0, (0,), False), (1, (0, 1), True), (2, (2,), False)]
    model.build()
    assert model.output_shapes() == [(2,), (4,), (1,)]
    assert model.predict(np.ones((3, 2))).shape == (3, 1)


def test_a_layer_used_twice_shares_its_weights():
    x = layers.Input(3)
    shared = layers.Dense(3, activation="tanh")
    y = shared(shared(x))
    model = models.Model(x, y, dtype="float64", seed=0)
    model.build()
    assert len(model.layers) == 1 and len(model.parameters) == 2
    w, b = shared.kernel.data, shared.bias.data
    xs = X[:, :3]
    np.testing.assert_allclose(model.predict(xs), np.tanh(np.tanh(xs @ w + b) @ w + b), rtol=1e-12)


def test_functional_input_of_images():
    x = layers.Input((4, 4, 3))
    y = layers.Dense(2)(layers.Flatten()(x))
    model = models.Model(x, y, seed=0)
    assert model.predict(np.zeros((2, 4, 4, 3))).shape == (2, 2)
    assert models.summary_table(model).splitlines()[-1] == "Total params: 98"  # 48·2 + 2


def test_functional_model_forward_matches_layer_calls_on_arrays():
    x = layers.Input(4)
    dense = layers.Dense(3, activation="elu")
    model = models.Model(x, dense(x), dtype="float64", seed=1)
    model.build()
    np.testing.assert_array_equal(forward(model, X).numpy(), dense(Tensor(X)).numpy())


@pytest.mark.parametrize("make, error, match", [
    (lambda: models.Model(np.zeros(2), layers.Input(2)), TypeError,
     r"Model: inputs must be a SymbolicTensor \(from layers.Input or a layer call\). Received: ndarray"),
    (lambda: models.Model(layers.Input(2), "y"), TypeError, r"Model: outputs must be a SymbolicTensor .*Received: str"),
    (lambda: (lambda x: models.Model(layers.Dense(2)(x), layers.Dense(1)(layers.Dense(2)(x))))(layers.Input(2)),
     ValueError, r"Model: inputs must come from layers.Input\(...\), not from a layer call"),
    (lambda: models.Model(layers.Input(2), layers.Dense(1)(layers.Input(2))), ValueError,
     r"Model: the outputs depend on an Input that is not the model's inputs"),
])
def test_functional_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
