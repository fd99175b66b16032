"""Exercises 1 and 2: every value and gradient checked against hand arithmetic (plain math, not the engine)."""

import math
import shutil
import warnings

import numpy as np
import pytest

from neurona.experiments.graphs import ACTIVATIONS, exercise1, exercise2, format_table, run

# ----- exercise 1 by hand -----
# x = (2.8, -1.8), w = (1.45, -0.35), b = -4
# w0*x0 = 1.45 * 2.8 = 4.06;  w1*x1 = (-0.35)(-1.8) = 0.63;  w·x = 4.69;  z = 4.69 - 4 = 0.69
Z = 0.69


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


# activation -> (f(z), f'(z)) at z = 0.69
HAND = {
    # e^-0.69 = 0.50158; σ = 1 / 1.50158 = 0.66597; σ' = σ(1 - σ) = 0.66597 * 0.33403 = 0.22245
    "sigmoid": (sigmoid(Z), sigmoid(Z) * (1 - sigmoid(Z))),
    # tanh(0.69) = 0.59798; tanh' = 1 - tanh² = 1 - 0.35758 = 0.64242
    "tanh": (math.tanh(Z), 1 - math.tanh(Z) ** 2),
    # z > 0, so ELU(z) = z and ELU'(z) = 1
    "elu": (Z, 1.0),
    # z > 0, so max(0.1 z, z) = z and the slope is 1
    "leaky_relu": (Z, 1.0),
    # z > 0, so max(z, 0) = z and the slope is 1 (not one of the practical's four; `--activation relu`)
    "relu": (Z, 1.0),
}


def test_hand_values_are_what_the_comments_say():
    assert HAND["sigmoid"][0] == pytest.approx(0.66597, abs=1e-5)
    assert HAND["sigmoid"][1] == pytest.approx(0.22245, abs=1e-5)
    assert HAND["tanh"][0] == pytest.approx(0.59798, abs=1e-5)
    assert HAND["tanh"][1] == pytest.approx(0.64242, abs=1e-5)


def by_name(rows):
    return {name: (op, value, grad) for name, op, value, grad in rows if name != "const"}


@pytest.mark.parametrize("decompose", [False, True])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_exercise1(activation, decompose):
    out, rows = exercise1(activation, decompose=decompose)
    f, slope = HAND[activation]
    nodes = by_name(rows)
    assert out.dtype == np.float64 and out.name == "f"
    expected = {  # name: (forward value, gradient = df/dnode by the chain rule)
        "x0": (2.8, slope * 1.45), "x1": (-1.8, slope * -0.35),      # dx_i = f'(z) w_i
        "w0": (1.45, slope * 2.8), "w1": (-0.35, slope * -1.8),      # dw_i = f'(z) x_i
        "b": (-4.0, slope),                                          # db = f'(z)
        "w0*x0": (4.06, slope), "w1*x1": (0.63, slope), "w·x": (4.69, slope),
        "z": (Z, slope), "f": (f, 1.0),                              # output gradient 1
    }
    for name, (value, grad) in expected.items():
        assert nodes[name][1] == pytest.approx(value, abs=1e-9), name
        assert nodes[name][2] == pytest.approx(grad, abs=1e-9), name
    assert [r.name for r in rows][-1] == "f"


def test_exercise1_decomposed_sigmoid_inner_nodes():
    nodes = by_name(exercise1("sigmoid", decompose=True)[1])
    s = sigmoid(Z)
    # f = 1/d with d = 1 + e, e = exp(-z): df/dd = -1/d² = -s², df/de = -s², df/d(-z) = -s² e
    e = math.exp(-Z)  # 0.50158
    assert nodes["exp(-z)"][1:] == pytest.approx((e, -s * s))
    assert nodes["1+exp(-z)"][1:] == pytest.approx((1 + e, -s * s))
    assert nodes["-z"][1:] == pytest.approx((-Z, -s * s * e))
    assert nodes["f"][0] == "/"


def test_exercise1_leaf_and_op_labels():
    rows = exercise1("tanh")[1]
    ops = {name: op for name, op, _, _ in rows}
    assert ops["x0"] == "" and ops["w0*x0"] == "*" and ops["z"] == "+" and ops["f"] == "tanh"


def test_bad_activation_lists_the_valid_ones():
    with pytest.raises(ValueError, match="activation must be one of sigmoid, tanh, elu, leaky_relu, relu. "
                                         "Received: activation='softplus'"):
        exercise1("softplus")
    with pytest.raises(ValueError, match="activation must be one of"):
        run("ex1", activation="Sigmoid")


# ----- exercise 2 by hand -----
# z1 = (-0.2)(-3.1) + (2)(1.5) - 4 = 0.62 + 3 - 4 = -0.38
# z2 = (-0.5)(-3.1) + (-0.3)(1.5) - 1 = 1.55 - 0.45 - 1 = 0.10
# a = σ(z) = (0.40613, 0.52498);  MSE = (a1² + a2²) / 2 = (0.16494 + 0.27560) / 2 = 0.22027
# dMSE/da_i = 2 (a_i - 0) / 2 = a_i;  dMSE/dz_i = a_i · a_i (1 - a_i) = (0.09795, 0.13092)
# dW[i][j] = dz_i x_j;  db = dz;  dx_j = Σ_i W[i][j] dz_i
def test_exercise2():
    loss, rows = exercise2()
    x, W, b = (-3.1, 1.5), ((-0.2, 2.0), (-0.5, -0.3)), (-4.0, -1.0)
    z = [W[i][0] * x[0] + W[i][1] * x[1] + b[i] for i in range(2)]
    assert z == pytest.approx([-0.38, 0.10])
    a = [sigmoid(v) for v in z]
    assert a == pytest.approx([0.40613, 0.52498], abs=1e-5)
    mse = (a[0] ** 2 + a[1] ** 2) / 2
    assert mse == pytest.approx(0.22027, abs=1e-5)
    dz = [a[i] * a[i] * (1 - a[i]) for i in range(2)]
    assert dz == pytest.approx([0.09795, 0.13092], abs=1e-5)
    dW = [[dz[i] * x[j] for j in range(2)] for i in range(2)]
    dx = [W[0][j] * dz[0] + W[1][j] * dz[1] for j in range(2)]

    nodes = by_name(rows)
    assert loss.name == "mse" and loss.item() == pytest.approx(mse, abs=1e-12)
    checks = {"z": (z, dz), "a": (a, a), "b": (b, dz), "x": (x, dx), "W": (W, dW), "mse": (mse, 1.0),
              "a-y": (a, a), "(a-y)^2": ([v * v for v in a], [0.5, 0.5])}
    for name, (value, grad) in checks.items():
        np.testing.assert_allclose(nodes[name][1], value, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(nodes[name][2], grad, atol=1e-9, err_msg=name)
    assert nodes["y"][2] is None  # the target needs no gradient


# ----- tables and run() -----
def test_format_table():
    table = format_table([("w", "", 1.45, 0.6229), ("y", "", np.array([0.0, -0.0001]), None),
                          ("W", "", np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2)))])
    lines = table.splitlines()
    assert lines[0].split() == ["node", "op", "value", "gradient"]
    assert lines[2].split() == ["w", "leaf", "1.450", "0.623"]
    assert lines[3].split() == ["y", "leaf", "[0.000,", "0.000]", "-"]  # no "-0.000"
    assert "[[1.000, 2.000], [3.000, 4.000]]" in lines[4] and len(lines) == 5


def test_run_tables():
    text = run("ex1")
    assert "sigmoid" in text and "0.666" in text and "0.222" in text and "0.623" in text
    assert "0.598" in run("ex1", activation="tanh")
    text = run("ex2")
    assert "0.220" in text and "[0.406, 0.525]" in text and "[0.098, 0.131]" in text


def test_run_draws_to_a_file(tmp_path):
    message = run("ex1", activation="elu", output=tmp_path / "elu.dot")
    assert str(tmp_path / "elu.dot") in message
    assert "elu(1)" in (tmp_path / "elu.dot").read_text()


def test_run_without_graphviz_says_what_it_wrote(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the message carries the hint; no duplicate warning
        message = run("ex2", output=str(tmp_path / "ex2.svg"))
    assert str(tmp_path / "ex2.dot") in message and "apt-get install graphviz" in message
    assert (tmp_path / "ex2.dot").exists() and not (tmp_path / "ex2.svg").exists()


def test_run_validates_its_arguments():
    with pytest.raises(ValueError, match="name must be one of ex1, ex2, cnn. Received: name='ex3'"):
        run("ex3")
    with pytest.raises(ValueError, match="activation applies to ex1 only.*Received: activation='tanh'"):
        run("ex2", activation="tanh")
    with pytest.raises(ValueError, match="activation applies to ex1 only.*Received: activation='relu'"):
        run("cnn", activation="relu")


def test_run_tabulates_the_conv_net():
    text = run("cnn")
    assert text.startswith("A small conv net: Conv2D(4, 3x3, same)") and "conv2d" in text and "loss" in text


def test_the_cli_draws_the_conv_net(tmp_path, capsys):
    from neurona import cli
    assert cli.main(["graph", "cnn", "-o", str(tmp_path / "cnn.dot")]) == 0
    assert "Wrote the graph to" in capsys.readouterr().out
    assert "conv2d" in (tmp_path / "cnn.dot").read_text()
