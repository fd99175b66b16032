"""batch_norm, the engine's fused primitive: a worked example, the composed (unfused) formula, central differences."""

import numpy as np
import pytest

from neurona import Tensor, gradcheck
from neurona.autodiff import batch_norm

RNG = np.random.default_rng(14)
SHAPES = {"rows": (5, 3), "images": (3, 4, 4, 2), "one image": (1, 3, 2, 2)}


def composed(x, gamma, beta, epsilon):
    """The textbook formula from primitive ops only (mean, −, *, +, **), which autodiff differentiates for us."""
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) * (x - mean)).mean(axis=axes, keepdims=True)
    return (x - mean) * (variance + epsilon) ** -0.5 * gamma + beta


def test_worked_example():
    x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    out, mean, variance = batch_norm(Tensor(x), Tensor([2.0, 1.0]), Tensor([0.5, 0.0]), epsilon=1e-3)
    # channel 0: mean 3, variance (4 + 0 + 4)/3 = 8/3; channel 1: mean 12, variance (4 + 4 + 16)/3 = 8
    np.testing.assert_allclose(mean, [3.0, 12.0], rtol=1e-15)
    np.testing.assert_allclose(variance, [8 / 3, 8.0], rtol=1e-15)
    # row 0: 2·(1 − 3)/√(8/3 + 0.001) + 0.5 and (10 − 12)/√(8 + 0.001)
    np.testing.assert_allclose(out.data[0], [-4 / np.sqrt(8 / 3 + 1e-3) + 0.5, -2 / np.sqrt(8.001)], rtol=1e-14)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_values_and_gradients_equal_the_composed_formula(shape):
    x, gamma, beta = RNG.normal(size=shape), RNG.normal(size=shape[-1]), RNG.normal(size=shape[-1])
    g = RNG.normal(size=shape)
    fused = [Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    unfused = [Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    out, _, _ = batch_norm(*fused, 1e-3)
    reference = composed(*unfused, 1e-3)
    np.testing.assert_allclose(out.data, reference.data, rtol=1e-10, atol=1e-12)
    out.backward(g)
    reference.backward(g)
    for a, b in zip(fused, unfused):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_gradients_match_central_differences(shape):
    x, gamma, beta = RNG.normal(size=shape), RNG.normal(size=shape[-1]), RNG.normal(size=shape[-1])
    assert gradcheck(lambda a, b, c: batch_norm(a, b, c, 1e-3)[0], x, gamma, beta, atol=1e-8, rtol=1e-6)


def test_float32_stays_float32_and_statistics_are_the_batchs():
    x = RNG.normal(size=(8, 2, 2, 3)).astype(np.float32)
    out, mean, variance = batch_norm(Tensor(x), Tensor(np.ones(3, np.float32)), Tensor(np.zeros(3, np.float32)))
    assert out.dtype == np.float32 and mean.dtype == np.float32
    np.testing.assert_allclose(mean, x.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(variance, x.var(axis=(0, 1, 2)), rtol=1e-5)  # biased: divided by m


@pytest.mark.parametrize("x_shape, gamma_shape, epsilon, match", [
    ((4,), (4,), 1e-3, r"batch_norm: x must be \(batch, ..., channels\).*Received x \(4,\), gamma \(4,\)"),
    ((4, 3), (2,), 1e-3, r"Received x \(4, 3\), gamma \(2,\), beta \(3,\)"),
    ((4, 3), (3,), 0.0, r"batch_norm: epsilon must be > 0. Received: epsilon=0.0"),
])
def test_errors_name_the_op_and_echo_the_shapes(x_shape, gamma_shape, epsilon, match):
    with pytest.raises(ValueError, match=match):
        batch_norm(Tensor(np.ones(x_shape)), Tensor(np.ones(gamma_shape)), Tensor(np.zeros(3)), epsilon)
