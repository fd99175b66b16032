"""The practical's code listings (report sections 6 and 8) run unchanged but for the import line.

Each listing below is copied from the report, comments included. Only the import is
neurona's, and the CIFAR-10 one runs 2 epochs instead of 100 on random data of
CIFAR-10's shape. They run with the default verbose=1, so stderr (captured) shows the
progress bar.
"""

import math

import numpy as np

from neurona import models, layers, activations, losses, optimizers, regularizers, metrics  # noqa: F401 (the listing's import)

problem_name = "XOR"


def test_section_6_first_xor_architecture(capfd):
    # Dataset: se crean los datos de entrada
    x_train = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
    y_train = np.array([[1], [-1], [-1], [1]])

    # Create model: 1st architecture
    model = models.Network() # se crea la red vacía
    model.add(layers.Dense(units=2, activation=activations.Tanh(),
        input_dim=x_train.shape[1])) # agregamos la primera capa
    model.add(layers.Dense(units=1, activation=activations.Tanh()))# agregamos la segunda capa

    # Train Network: entrenamiento de la red
    model.fit(x_train, y_train, test_data=None, epochs=3000, loss=losses.MSE(),
             opt=optimizers.BGD(lr=0.01, bs=x_train.shape[0]), name=problem_name)

    _check_xor_run(model, capfd.readouterr().err, n_params=2 * 2 + 2 + 2 * 1 + 1)


def test_section_6_second_xor_architecture_with_concatenate(capfd):
    x_train = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
    y_train = np.array([[1], [-1], [-1], [1]])

    # Create model: 2nd architecture
    model = models.Network()
    # se crea la primera capa densa
    model.add(layers.Dense(units=2, activation=activations.Tanh(), input_dim=x_train.shape[1]))
    # se concatena la salida de la capa creada con los datos de entrada
    model.add(layers.Concatenate(x_train.shape[1]))
    # se crea la capa densa de salida
    model.add(layers.Dense(units=1, activation=activations.Tanh()))
    # Train Network
    model.fit(x_train, y_train, test_data=None, epochs=3000, loss=losses.MSE(),
             opt=optimizers.BGD(lr=1e-2, bs=x_train.shape[0]), name=problem_name, reg=None)
    #regularizers.L2(lam=1e-6))

    # the output layer sees 2 hidden values + the 2 inputs: (2 + 2)·1 + 1 = 5 parameters
    assert model.layers[2].kernel.shape == (4, 1)
    _check_xor_run(model, capfd.readouterr().err, n_params=2 * 2 + 2 + 4 * 1 + 1)


def _check_xor_run(model, err, n_params):
    history = model.history
    assert len(history) == 3000 and history.stopped is None and history.name == "XOR"
    assert set(history.history) == {"loss", "accuracy"}
    assert all(math.isfinite(v) for v in history["loss"])
    # full-batch gradient descent with a small step lowers the loss
    assert history["loss"][-1] < history["loss"][0]
    assert sum(p.size for p in model.parameters) == n_params
    assert "XOR" in err and "3000/3000" in err


def test_section_6_architectures_learn_xor_for_a_fixed_seed():
    # The same two networks, seeded (fit(seed=0)) and silent: both reach 100% (sign of the output).
    # Not every random start does in 3000 epochs, which is why the unseeded runs above only check the loss falls.
    x_train = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]])
    y_train = np.array([[1], [-1], [-1], [1]])
    for join in (False, True):
        model = models.Network()
        model.add(layers.Dense(units=2, activation=activations.Tanh(), input_dim=x_train.shape[1]))
        if join:
            model.add(layers.Concatenate(x_train.shape[1]))
        model.add(layers.Dense(units=1, activation=activations.Tanh()))
        history = model.fit(x_train, y_train, test_data=None, epochs=3000, loss=losses.MSE(),
                            opt=optimizers.BGD(lr=0.01, bs=x_train.shape[0]), name=problem_name, verbose=0, seed=0)
        assert history["accuracy"][-1] == 1.0
        np.testing.assert_array_equal(np.sign(model.predict(x_train)), y_train)


def test_section_8_three_layer_cifar_network(capfd):
    rng = np.random.default_rng(0)
    # random data of CIFAR-10's shape: 200 training and 50 test images 32×32×3, one-hot labels of 10 classes
    x_train = rng.uniform(0, 1, size=(200, 32, 32, 3)).astype(np.float32)
    y_train = np.eye(10)[rng.integers(0, 10, size=200)]
    test_data = (rng.uniform(0, 1, size=(50, 32, 32, 3)).astype(np.float32), np.eye(10)[rng.integers(0, 10, size=50)])
    problem_name = "CIFAR-10"

    # Creo la NN vacía:
    model = models.Network()
    # Creo la primera capa densa
    model.add(layers.Dense(units=100, activation=activations.Sigmoid(),
    input_dim=np.prod(x_train.shape[1:]), factor=1e-2))
    # Creo la segunda capa densa:
    model.add(layers.Dense(units=100, activation=activations.Sigmoid(), factor=1e-3))
    # Creo la tercera capa densa:
    model.add(layers.Dense(units=10, activation=activations.Linear(), factor=1e-2))
    # se entrena la NN:
    model.fit(x_train, y_train, test_data=test_data, epochs=2, loss=losses.MSE(),
    opt=optimizers.BGD(lr=1e-4, bs=64), name=problem_name, reg=regularizers.L2(lam=1e-3))

    history = model.history
    assert len(history) == 2 and history.stopped is None
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(math.isfinite(v) for values in history.history.values() for v in values)
    # 3072·100 + 100 + 100·100 + 100 + 100·10 + 10 = 318,410 parameters
    assert sum(p.size for p in model.parameters) == 318_410
    # an untrained linear output near 0 against one-hot rows: MSE ≈ Σ_j y_j² = 1 per sample
    assert 0.5 < history["loss"][0] < 1.5
    err = capfd.readouterr().err
    assert "CIFAR-10" in err and "2/2" in err and "val_loss" in err
    assert model.predict(test_data[0]).shape == (50, 10)
