"""Stability at ±1e4: values and gradients finite and right, with no NumPy warning (see strict_numerics)."""

import numpy as np
import pytest

from neurona import Tensor
from neurona.autodiff import ops

pytestmark = pytest.mark.usefixtures("strict_numerics")
DTYPES = [np.float32, np.float64]


def _grad(fn, values, dtype):
    x = Tensor(np.array(values, dtype=dtype), requires_grad=True)
    out = fn(x)
    out.sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    return out.data, x.grad


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid(dtype):
    out, grad = _grad(Tensor.sigmoid, [1e4, -1e4, 0.0], dtype)
    np.testing.assert_array_equal(out, [1.0, 0.0, 0.5])  # σ(0) = 1/2
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.25])  # σ' = σ(1 − σ)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh(dtype):
    out, grad = _grad(Tensor.tanh, [1e4, -1e4, 0.0], dtype)
    np.testing.assert_array_equal(out, [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0])  # tanh' = 1 − tanh²


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax(dtype):
    out, grad = _grad(Tensor.softmax, [[1e4, -1e4], [1e4, 1e4], [-1e4, -1e4]], dtype)
    np.testing.assert_array_equal(out, [[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_array_equal(grad, np.zeros((3, 2)))  # the rows always sum to 1, so d(Σ softmax) = 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_a_close_pair_near_1e4(dtype):
    # softmax is shift invariant: softmax([1e4, 1e4 − 1]) = softmax([1, 0]) = [e, 1] / (e + 1)
    x = Tensor(np.array([1e4, 1e4 - 1], dtype=dtype), requires_grad=True)
    y = x.softmax()
    y.backward(np.array([1.0, 0.0]))
    p = np.e / (np.e + 1)
    np.testing.assert_allclose(y.data, [p, 1 - p], rtol=1e-6)
    np.testing.assert_allclose(x.grad, [p * (1 - p), -p * (1 - p)], rtol=1e-5)  # dp0/dx = [p0(1−p0), −p0·p1]


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax(dtype):
    out, grad = _grad(Tensor.log_softmax, [1e4, -1e4], dtype)
    np.testing.assert_array_equal(out, [0.0, -2e4])  # log(1) and −2e4 − log(1 + e^−2e4)
    np.testing.assert_array_equal(grad, [-1.0, 1.0])  # Σ_j dlog p_j/dx = 1 − 2·softmax(x) = [1 − 2, 1 − 0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_with_labels(dtype):
    logits = Tensor(np.array([[1e4, -1e4], [1e4, -1e4]], dtype=dtype), requires_grad=True)
    loss = ops.softmax_cross_entropy(logits, np.array([1, 0]))
    loss.sum().backward()
    np.testing.assert_array_equal(loss.data, [2e4, 0.0])  # −log softmax: 2e4 for the wrong label, 0 for the right
    np.testing.assert_array_equal(logits.grad, [[1.0, -1.0], [0.0, 0.0]])  # softmax − one-hot
    assert loss.dtype == dtype and logits.grad.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_with_probability_rows(dtype):
    logits = Tensor(np.array([[1e4, -1e4]], dtype=dtype), requires_grad=True)
    loss = ops.softmax_cross_entropy(logits, np.array([[0.25, 0.75]]))
    loss.sum().backward()
    np.testing.assert_allclose(loss.data, [0.75 * 2e4])  # −(0.25·0 + 0.75·(−2e4))
    np.testing.assert_array_equal(logits.grad, [[0.75, -0.75]])  # softmax − t = [1 − 0.25, 0 − 0.75]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu(dtype, alpha):
    out, grad = _grad(lambda x: x.elu(alpha), [1e4, -1e4], dtype)
    np.testing.assert_array_equal(out, [1e4, -alpha])  # α(e^−1e4 − 1) = −α
    np.testing.assert_array_equal(grad, [1.0, 0.0])  # α·e^−1e4 = 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_and_log_of_moderate_values_stay_quiet(dtype):
    out, grad = _grad(lambda x: x.exp().log(), [-50.0, 0.0, 50.0], dtype)
    np.testing.assert_allclose(out, [-50.0, 0.0, 50.0], rtol=1e-6)
    np.testing.assert_allclose(grad, [1.0, 1.0, 1.0], rtol=1e-5)


def test_strict_numerics_would_catch_an_overflow():
    with pytest.raises(FloatingPointError):
        np.exp(np.array([1e4]))  # the naive sigmoid/softmax would do this
