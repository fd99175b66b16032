"""Activations: values against NumPy written here, the registry, and gradients through a float64 network."""

import numpy as np
import pytest

from neurona import Tensor, activations, layers, losses, models

from network_helpers import assert_grads_match, forward

Z = np.array([[-3.0, -0.5, 0.25, 2.0], [40.0, -40.0, 1.0, -1.0]])


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


CASES = [  # (activation, NumPy formula)
    (activations.Sigmoid(), lambda z: 1 / (1 + np.exp(-z))),
    (activations.Tanh(), np.tanh),
    (activations.ReLU(), lambda z: np.maximum(z, 0)),
    (activations.LeakyReLU(), lambda z: np.where(z > 0, z, 0.1 * z)),  # the practical's max(0.1x, x)
    (activations.LeakyReLU(alpha=0.3), lambda z: np.where(z > 0, z, 0.3 * z)),
    (activations.ELU(), lambda z: np.where(z > 0, z, np.exp(z) - 1)),
    (activations.ELU(alpha=2.0), lambda z: np.where(z > 0, z, 2.0 * (np.exp(z) - 1))),
    (activations.Linear(), lambda z: z),
    (activations.Softmax(), _softmax),
]


@pytest.mark.parametrize("act, formula", CASES, ids=[repr(a) for a, _ in CASES])
def test_values_match_numpy(act, formula):
    np.testing.assert_allclose(act(Tensor(Z)).numpy(), formula(Z), rtol=1e-12, atol=1e-15)


def test_worked_values():
    # σ(0) = 1/2; tanh(0) = 0; relu(−2) = 0; leaky(−2) = −0.2; elu(−ln 2) = e^(−ln 2) − 1 = −1/2
    x = Tensor(np.array([0.0, -2.0, -np.log(2)]))
    assert activations.Sigmoid()(x).numpy()[0] == 0.5
    assert activations.Tanh()(x).numpy()[0] == 0.0
    assert activations.ReLU()(x).numpy()[1] == 0.0
    assert activations.LeakyReLU()(x).numpy()[1] == pytest.approx(-0.2)
    assert activations.ELU()(x).numpy()[2] == pytest.approx(-0.5)
    # softmax of (0, ln 3): (1, 3) / 4
    np.testing.assert_allclose(activations.Softmax()(Tensor(np.array([[0.0, np.log(3)]]))).numpy(), [[0.25, 0.75]])


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise"):
        out = activations.Sigmoid()(Tensor(np.array([-1000.0, 1000.0]))).numpy()
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_the_practicals_spelling_relu_is_ReLU():
    assert activations.Relu is activations.ReLU


@pytest.mark.parametrize("name, cls", [("sigmoid", activations.Sigmoid), ("tanh", activations.Tanh),
                                       ("relu", activations.ReLU), ("ReLU", activations.ReLU),
                                       ("leaky_relu", activations.LeakyReLU), ("leakyrelu", activations.LeakyReLU),
                                       ("elu", activations.ELU), ("linear", activations.Linear),
                                       ("softmax", activations.Softmax)])
def test_get_by_name(name, cls):
    assert type(activations.get(name)) is cls


def test_get_none_is_linear_and_instances_pass_through():
    assert type(activations.get(None)) is activations.Linear
    act = activations.LeakyReLU(0.2)
    assert activations.get(act) is act
    assert type(activations.get(activations.Tanh)) is activations.Tanh


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation: 'relux'. Valid activation names: "
                                         r"elu, leaky_relu, linear, relu, sigmoid, softmax, tanh"):
        activations.get("relux")
    with pytest.raises(ValueError, match=r"Unknown activation: 'swish'"):
        layers.Dense(2, activation="swish")


@pytest.mark.parametrize("make, match", [
    (lambda: activations.LeakyReLU(alpha=-0.1), r"LeakyReLU: alpha must be >= 0.0. Received: alpha=-0.1"),
    (lambda: activations.LeakyReLU(alpha=1.5), r"LeakyReLU: alpha must be <= 1.0. Received: alpha=1.5"),
    (lambda: activations.ELU(alpha=float("nan")), r"ELU: alpha must be a finite real number. Received: alpha=nan"),
    (lambda: activations.Softmax(axis=1.0), r"Softmax: axis must be an int in \[-64, 63\]. Received: axis=1.0"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_serialize_round_trip():
    for act in (activations.LeakyReLU(0.25), activations.ELU(0.5), activations.Softmax(axis=-1), activations.Tanh()):
        again = activations.deserialize(activations.serialize(act))
        assert type(again) is type(act) and again.get_config() == act.get_config()


# ----- gradients through a network: the activation sits in the hidden layer (and in a layers.Activation) -----
X = np.random.default_rng(11).normal(size=(6, 3))
Y = np.random.default_rng(12).normal(size=(6, 2))


@pytest.mark.parametrize("act", [a for a, _ in CASES], ids=repr)
def test_gradient_through_a_network(act):
    model = models.Network(seed=5, dtype="float64")
    model.add(layers.Dense(4, activation=act, input_dim=3))
    model.add(layers.Dense(3))
    model.add(layers.Activation(act))
    model.add(layers.Dense(2))
    assert_grads_match(model, lambda: losses.MSE()(forward(model, X), Y))
