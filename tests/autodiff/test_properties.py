"""Property tests (hypothesis): random shapes and values, checked against invariants rather than examples."""

import operator

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neurona import Tensor, gradcheck

FEW = settings(max_examples=30, deadline=None)
# strict_numerics is entered once for the whole test, which is exactly what we want across examples
STRICT = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
MODERATE = st.floats(-3.0, 3.0)
AWAY_FROM_ZERO = st.floats(0.05, 3.0) | st.floats(-3.0, -0.05)
POSITIVE = st.floats(0.1, 3.0)
HUGE = st.floats(-1e4, 1e4)


def arrays(shape, elements=MODERATE):
    return hnp.arrays(np.float64, shape, elements=elements)


UNARY = [  # name, op, the values it is differentiable on
    ("neg", lambda x: -x, MODERATE), ("square", lambda x: x ** 2, MODERATE), ("cube", lambda x: x ** 3, MODERATE),
    ("exp", Tensor.exp, MODERATE), ("log", Tensor.log, POSITIVE), ("sqrt", lambda x: x ** 0.5, POSITIVE),
    ("tanh", Tensor.tanh, MODERATE), ("sigmoid", Tensor.sigmoid, MODERATE), ("relu", Tensor.relu, AWAY_FROM_ZERO),
    ("abs", Tensor.abs, AWAY_FROM_ZERO), ("leaky_relu", lambda x: x.leaky_relu(0.2), AWAY_FROM_ZERO),
    ("elu", lambda x: x.elu(0.7), AWAY_FROM_ZERO), ("sum", Tensor.sum, MODERATE), ("mean", Tensor.mean, MODERATE),
    ("scale", lambda x: 2.5 * x - 1.0, MODERATE), ("reciprocal", lambda x: 1.0 / x, AWAY_FROM_ZERO),
]


@FEW
@given(data=st.data(), unary=st.sampled_from(UNARY), shape=SHAPES)
def test_elementwise_ops_pass_gradcheck(data, unary, shape):
    _, fn, elements = unary
    x = data.draw(arrays(shape, elements), label="x")
    assert gradcheck(fn, Tensor(x))


BINARY = [  # name, Tensor operator, the NumPy ufunc, values for the right operand
    ("add", operator.add, np.add, MODERATE), ("sub", operator.sub, np.subtract, MODERATE),
    ("mul", operator.mul, np.multiply, MODERATE), ("div", operator.truediv, np.divide, AWAY_FROM_ZERO),
]


@FEW
@given(data=st.data(), binary=st.sampled_from(BINARY),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4))
def test_broadcasting_binary_ops_match_numpy_and_pass_gradcheck(data, binary, shapes):
    _, op, ufunc, second = binary
    a = data.draw(arrays(shapes.input_shapes[0]), label="a")
    b = data.draw(arrays(shapes.input_shapes[1], second), label="b")
    out = op(Tensor(a), Tensor(b))
    assert out.shape == shapes.result_shape
    np.testing.assert_array_equal(out.data, ufunc(a, b))
    assert gradcheck(op, Tensor(a), Tensor(b))


@FEW
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=5))
def test_gradient_of_a_broadcast_sum_counts_the_copies(shapes):
    x = Tensor(np.zeros(shapes.input_shapes[0]), requires_grad=True)
    y = Tensor(np.zeros(shapes.input_shapes[1]), requires_grad=True)
    out = x + y
    out.sum().backward()
    count = out.size  # d(Σ out)/d(x_i) = the number of outputs x_i was copied to
    for t in (x, y):
        assert t.grad.shape == t.shape
        assert t.grad.sum() == count
        np.testing.assert_array_equal(t.grad, np.full(t.shape, count / t.size))


def _axis(data, ndim):
    return data.draw(st.integers(-ndim, ndim - 1), label="axis")


@STRICT
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
def test_softmax_sums_to_one_even_at_1e4(strict_numerics, data, shape):
    x = data.draw(arrays(shape, HUGE), label="x")
    axis = _axis(data, len(shape))
    p = Tensor(x).softmax(axis=axis).data
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-12)


@STRICT
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
def test_log_softmax_is_log_of_softmax_where_finite(strict_numerics, data, shape):
    x = data.draw(arrays(shape, HUGE), label="x")
    axis = _axis(data, len(shape))
    log_p = Tensor(x).log_softmax(axis=axis).data
    p = Tensor(x).softmax(axis=axis).data
    assert np.all(np.isfinite(log_p)) and np.all(log_p <= 0)
    normal = p > 1e-300  # where p underflowed, log(p) is −inf (or imprecise) but log_softmax stays finite
    np.testing.assert_allclose(log_p[normal], np.log(p[normal]), rtol=1e-10, atol=1e-10)


@FEW
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), keepdims=st.booleans())
def test_sum_and_mean_over_any_axes(data, shape, keepdims):
    x = data.draw(arrays(shape), label="x")
    axes = tuple(data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1), label="axes"))
    for method, ufunc in [(Tensor.sum, np.sum), (Tensor.mean, np.mean)]:
        t = Tensor(x, requires_grad=True)
        out = method(t, axis=axes, keepdims=keepdims)
        np.testing.assert_allclose(out.data, ufunc(x, axis=axes, keepdims=keepdims), rtol=1e-12, atol=1e-12)
        out.sum().backward()
        count = np.prod([shape[a] for a in axes])
        np.testing.assert_allclose(t.grad, np.full(shape, 1.0 if method is Tensor.sum else 1.0 / count))


@FEW
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4),
       left_1d=st.booleans(), right_1d=st.booleans())
def test_matmul_of_any_sizes(data, n, k, m, left_1d, right_1d):
    a = data.draw(arrays((k,) if left_1d else (n, k)), label="a")
    b = data.draw(arrays((k,) if right_1d else (k, m)), label="b")
    np.testing.assert_allclose((Tensor(a) @ Tensor(b)).data, np.dot(a, b), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, y: x @ y, Tensor(a), Tensor(b))


@FEW
@given(data=st.data(), batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), left_1d=st.booleans(), right_1d=st.booleans())
def test_batched_matmul_matches_numpy_and_passes_gradcheck(data, batch, n, k, m, left_1d, right_1d):
    left = (k,) if left_1d else (*batch.input_shapes[0], n, k)  # a 1-D operand has no batch axes
    right = (k,) if right_1d else (*batch.input_shapes[1], k, m)
    a, b = data.draw(arrays(left), label="a"), data.draw(arrays(right), label="b")
    out = Tensor(a) @ Tensor(b)
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-12, atol=1e-12)
    assert out.shape == np.matmul(a, b).shape
    assert gradcheck(lambda x, y: x @ y, Tensor(a), Tensor(b))


@FEW
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=3))
def test_transpose_and_reshape_route_the_gradient_back(data, shape):
    x = data.draw(arrays(shape), label="x")
    axes = tuple(data.draw(st.permutations(range(len(shape))), label="axes"))
    assert gradcheck(lambda t: t.transpose(axes).reshape(-1)[::-1], Tensor(x))


@FEW
@given(n=st.integers(1, 6), data=st.data())
def test_integer_indexing_gradient_counts_the_picks(n, data):
    index = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=12), label="index")
    x = Tensor(np.zeros(n), requires_grad=True)
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad, np.bincount(index, minlength=n))  # each pick adds 1
