"""Every documented input error of the network library: the right type, naming the argument, echoing what came in."""

import numpy as np
import pytest

from neurona import layers, losses, models, optimizers

X = np.random.default_rng(91).normal(size=(6, 4))
LABELS = np.array([0, 1, 2, 0, 1, 2])


def _net(**kwargs):
    """A built Network: 4 inputs, 3 outputs."""
    model = models.Network(seed=0, **kwargs)
    model.add(layers.Dense(5, activation="relu", input_dim=4))
    model.add(layers.Dense(3))
    return model


def _fit(x=X, y=LABELS, **kwargs):
    kwargs = {"loss": "cce", "verbose": 0, **kwargs}
    return _net().fit(x, y, **kwargs)


def _with(array, index, value):
    array = array.astype(float).copy()
    array[index] = value
    return array


def _unbuilt():
    model = models.Network()
    model.add(layers.Dense(3))  # no input_dim, never fit
    return model


ERRORS = [
    # x and y of different lengths
    ("fit lengths", lambda: _fit(y=LABELS[:5]), ValueError,
     r"fit: x and y must have the same number of samples. Received: x has 6 \(shape \(6, 4\)\), y has 5 \(shape \(5,\)\)"),
    ("evaluate lengths", lambda: _net().evaluate(X, LABELS[:4]), ValueError,
     r"evaluate: x and y must have the same number of samples. Received: x has 6 .*y has 4"),
    ("test_data lengths", lambda: _fit(test_data=(X, LABELS[:2])), ValueError,
     r"fit \(test_data\): x and y must have the same number of samples. Received: x has 6 .*y has 2"),
    # the input width against the first layer's input_dim
    ("fit width", lambda: _fit(x=X[:, :3]), ValueError,
     r"fit: x has 3 features per sample \(shape \(6, 3\)\), but the network expects 4"),
    ("fit image width", lambda: _fit(x=np.zeros((6, 2, 2, 2))), ValueError,
     r"fit: x has 8 features per sample \(shape \(6, 2, 2, 2\)\), but the network expects 4"),
    ("predict width", lambda: _net().predict(np.zeros((2, 5))), ValueError,
     r"predict: x has 5 features per sample \(shape \(2, 5\)\), but the network expects 4"),
    ("evaluate width", lambda: _net().evaluate(np.zeros((6, 3)), LABELS), ValueError,
     r"evaluate: x has 3 features per sample .*but the network expects 4"),
    ("test_data width", lambda: _fit(test_data=(np.zeros((2, 7)), LABELS[:2])), ValueError,
     r"fit \(test_data\): x has 7 features per sample \(shape \(2, 7\)\), but the network expects 4"),
    # labels outside the class range
    ("label too large", lambda: _fit(y=np.array([0, 1, 3, 0, 1, 2])), ValueError,
     r"y: labels must be in \[0, 3\) for a network with 3 outputs. Received: min=0, max=3"),
    ("negative label", lambda: _fit(y=np.array([0, -1, 2, 0, 1, 2])), ValueError,
     r"y: labels must be in \[0, 3\) for a network with 3 outputs. Received: min=-1, max=2"),
    ("label range with mse", lambda: _fit(y=np.array([0, 1, 7, 0, 1, 2]), loss="mse"), ValueError,
     r"y: labels must be in \[0, 3\) .*Received: min=0, max=7"),
    ("label range with svm", lambda: _fit(y=np.array([0, 1, 5, 0, 1, 2]), loss="svm"), ValueError,
     r"y: labels must be in \[0, 3\) .*max=5"),
    ("evaluate label range", lambda: _net().evaluate(X, np.array([0, 1, 2, 0, 1, -2]), loss="cce"), ValueError,
     r"y: labels must be in \[0, 3\) for a network with 3 outputs. Received: min=-2, max=2"),
    ("test_data label range", lambda: _fit(test_data=(X, np.array([0, 1, 2, 9, 1, 2]))), ValueError,
     r"fit \(test_data\): y: labels must be in \[0, 3\) .*Received: min=0, max=9"),
    ("labels not integers", lambda: _fit(y=np.array([0, 0.5, 1, 1, 2, 2])), ValueError,
     r"y: labels must be integers. Received dtype=float64"),
    ("y columns", lambda: _fit(y=np.zeros((6, 2))), ValueError,
     r"CCE: y has 2 columns, but the network has 3 outputs. Received: y.shape=\(6, 2\)"),
    ("y 3-d", lambda: _fit(y=np.zeros((6, 3, 1))), ValueError,
     r"fit: y must be labels \(N,\) or rows \(N, k\). Received shape \(6, 3, 1\)"),
    ("bce targets", lambda: _fit(y=np.full((6, 3), 2.0), loss="bce"), ValueError,
     r"BCE: targets must lie in \[0, 1\]. Received: min=2.0, max=2.0"),
    ("cce with one output", lambda: models.Network([layers.Dense(1, input_dim=4)]).fit(X, np.zeros(6), loss="cce",
                                                                                       verbose=0), ValueError,
     r"CCE: needs at least 2 outputs \(one score per class\). Received: 1 output"),
    # NaN or inf in the data
    ("nan in x", lambda: _fit(x=_with(X, (3, 1), np.nan)), ValueError,
     r"fit: x contains NaN or inf \(first at index \(3, 1\): nan\). Clean or impute the data first"),
    ("inf in x", lambda: _fit(x=_with(X, (5, 0), -np.inf)), ValueError,
     r"fit: x contains NaN or inf \(first at index \(5, 0\): -inf\)"),
    ("nan in y", lambda: _fit(y=np.full((6, 3), np.nan), loss="mse"), ValueError,
     r"fit: y contains NaN or inf \(first at index \(0, 0\): nan\)"),
    ("inf in predict", lambda: _net().predict(_with(X, (0, 2), np.inf)), ValueError,
     r"predict: x contains NaN or inf \(first at index \(0, 2\): inf\)"),
    ("nan in evaluate", lambda: _net().evaluate(_with(X, (1, 1), np.nan), LABELS), ValueError,
     r"evaluate: x contains NaN or inf \(first at index \(1, 1\): nan\)"),
    ("nan in test_data", lambda: _fit(test_data=(_with(X, (2, 3), np.nan), LABELS)), ValueError,
     r"fit \(test_data\): x contains NaN or inf \(first at index \(2, 3\): nan\)"),
    # other malformed data
    ("x 1-d", lambda: _fit(x=np.zeros(6)), ValueError,
     r"fit: x must be at least 2-D \(samples first\). Received shape \(6,\); for one feature per sample use "
     r"x.reshape\(-1, 1\)"),
    ("x strings", lambda: _fit(x=np.full((6, 4), "a")), TypeError,
     r"fit: x must hold real numbers \(bool, int or float\). Received dtype=<U1"),
    ("x ragged", lambda: _fit(x=[[1, 2], [3]]), TypeError, r"fit: x must be a rectangular numeric array. Received: "),
    ("x None", lambda: _fit(x=None), TypeError, r"fit: x is required. Received: x=None"),
    ("x empty", lambda: _fit(x=np.zeros((0, 4)), y=np.zeros(0)), ValueError,
     r"fit: x is empty. Received shape \(0, 4\)"),
    ("test_data not a pair", lambda: _fit(test_data=(X,)), ValueError,
     r"fit: test_data must be a pair \(x_test, y_test\). Received: tuple of length 1"),
    ("test_data a dict", lambda: _fit(test_data={"x": X}), ValueError,
     r"fit: test_data must be a pair \(x_test, y_test\). Received: dict"),
    # unknown names, listing the valid ones
    ("unknown activation", lambda: layers.Dense(3, activation="sigmoide"), ValueError,
     r"Unknown activation: 'sigmoide'. Valid activation names: elu, leaky_relu, linear, relu, sigmoid, softmax, tanh"),
    ("unknown loss", lambda: _fit(loss="crossentropy"), ValueError,
     r"Unknown loss: 'crossentropy'. Valid loss names: bce, categorical_crossentropy, cce, mse, svm"),
    ("loss not a name", lambda: _fit(loss=3), ValueError, r"Unknown loss: 3. Valid loss names: bce, categorical_crossentropy, cce, mse, svm"),
    ("unknown optimizer", lambda: _fit(opt="adagrad"), ValueError,
     r"Unknown optimizer: 'adagrad'. Valid optimizer names: adam, bgd, rmsprop, sgd"),
    ("unknown regularizer", lambda: _fit(reg="dropout"), ValueError,
     r"Unknown regularizer: 'dropout'. Valid regularizer names: l1, l1l2, l2"),
    # hyperparameters
    ("lr zero", lambda: optimizers.SGD(lr=0), ValueError, r"SGD: lr must be > 0.0. Received: lr=0"),
    ("lr negative", lambda: optimizers.BGD(lr=-0.01, bs=4), ValueError, r"BGD: lr must be > 0.0. Received: lr=-0.01"),
    ("lr negative adam", lambda: optimizers.Adam(lr=-1e-3), ValueError, r"Adam: lr must be > 0.0. Received: lr=-0.001"),
    ("epochs zero", lambda: _fit(epochs=0), ValueError, r"fit: epochs must be a positive int. Received: epochs=0"),
    ("epochs negative", lambda: _fit(epochs=-5), ValueError, r"fit: epochs must be a positive int. Received: epochs=-5"),
    ("epochs float", lambda: _fit(epochs=2.5), ValueError, r"fit: epochs must be a positive int. Received: epochs=2.5"),
    ("epochs bool", lambda: _fit(epochs=True), ValueError, r"fit: epochs must be a positive int. Received: epochs=True"),
    ("batch_size zero", lambda: _fit(batch_size=0), ValueError,
     r"fit: batch_size must be a positive int. Received: batch_size=0"),
    ("batch_size conflict", lambda: _fit(opt=optimizers.BGD(bs=4), batch_size=8), ValueError,
     r"fit: batch_size=8 conflicts with the optimizer's bs=4; give one"),
    ("fit seed", lambda: _fit(seed="abc"), ValueError,
     r"fit: seed must be None or a non-negative int. Received: seed='abc'"),
    ("predict batch_size", lambda: _net().predict(X, batch_size=-1), ValueError,
     r"predict: batch_size must be a positive int. Received: batch_size=-1"),
    # a model that cannot know its input yet
    ("predict before built", lambda: _unbuilt().predict(X), ValueError,
     r"predict: the model is not built yet; call fit\(\) first, or give the first layer input_dim=..., "
     r"or call build\(input_shape\)"),
    ("evaluate before built", lambda: _unbuilt().evaluate(X, LABELS), ValueError,
     r"evaluate: the model is not built yet; call fit\(\) first"),
]


@pytest.mark.parametrize("call, error, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_an_unbuilt_network_builds_from_its_first_fit():
    model = _unbuilt()
    model.fit(X, LABELS, loss="cce", verbose=0, seed=0)
    assert model.input_shape == (4,) and model.predict(X).shape == (6, 3)
    with pytest.raises(ValueError, match=r"predict: x has 5 features per sample"):
        model.predict(np.zeros((1, 5)))


def test_losses_check_their_targets_directly():
    with pytest.raises(ValueError, match=r"SVM: y has 4 columns, but the network has 3 outputs"):
        losses.SVM().check_targets(np.zeros((2, 4)), 3)
    with pytest.raises(ValueError, match=r"MSE: y must be labels \(N,\) or rows \(N, C\). Received: y.shape=\(\)"):
        losses.MSE().check_targets(np.array(1.0), 3)


def test_fit_without_trainable_parameters_says_so():
    model = models.Network()
    model.add(layers.Activation("tanh"))
    with pytest.raises(ValueError, match=r"fit: the model has no trainable parameters \(layers: Activation\)"):
        model.fit(np.ones((4, 2)), np.ones((4, 2)), epochs=1, verbose=0)
