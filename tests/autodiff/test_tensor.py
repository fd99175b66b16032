"""Tensor itself: dtypes, the array-like accessors, repr and detach."""

import numpy as np
import pytest

import neurona
from neurona import Tensor
from neurona.autodiff import ops


# ----- dtypes -----
@pytest.mark.parametrize("data", [[1.5, 2.0], [[1, 2], [3, 4]], 3, 2.5, True, [True, False],
                                  np.arange(3), np.array([1, 0], dtype=np.uint8), np.array([True])],
                         ids=["float list", "int list", "int", "float", "bool", "bool list", "int ndarray",
                              "uint8 ndarray", "bool ndarray"])
def test_default_dtype_is_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_a_float_ndarray_keeps_its_dtype_and_memory(dtype):
    array = np.array([1.0, 2.0], dtype=dtype)
    t = Tensor(array)
    assert t.dtype == dtype
    assert t.data is array  # documented: not copied


def test_numpy_float_scalars_keep_their_dtype():
    assert Tensor(np.float64(1.5)).dtype == np.float64
    assert Tensor(np.float32(1.5)).dtype == np.float32


@pytest.mark.parametrize("data", [[1, 2], np.array([1.0, 2.0]), np.array([1.0, 2.0], dtype=np.float32), 7])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, "float64", np.dtype("float32")])
def test_dtype_argument_forces_the_dtype(data, dtype):
    assert Tensor(data, dtype=dtype).dtype == np.dtype(dtype)


def test_tensor_from_a_tensor_shares_its_data():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor(a)
    assert b.data is a.data and not b.requires_grad and b._parents == ()


def test_float32_graph_keeps_float32_grads():
    x = Tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32), requires_grad=True)
    w = Tensor(np.full((3, 2), 0.5, dtype=np.float32), requires_grad=True)
    b = Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    h = (x @ w + b).tanh() * np.float64(2.0) + 1.5  # NumPy and Python scalars: no upcast
    loss = ops.softmax_cross_entropy(h, np.array([0, 1])).mean()
    loss.backward()
    assert loss.dtype == np.float32
    for t in (x, w, b, h):
        assert t.grad.dtype == np.float32


SCALAR_OPS = [
    ("t+s", lambda t, s: t + s), ("s+t", lambda t, s: s + t), ("t-s", lambda t, s: t - s),
    ("s-t", lambda t, s: s - t), ("t*s", lambda t, s: t * s), ("s*t", lambda t, s: s * t),
    ("t/s", lambda t, s: t / s), ("s/t", lambda t, s: s / t), ("t**s", lambda t, s: t ** s),
    ("maximum", lambda t, s: neurona.maximum(t, s)), ("clip", lambda t, s: t.clip(-s, s)),
    ("leaky_relu", lambda t, s: t.leaky_relu(s)), ("elu", lambda t, s: t.elu(s)),
]


@pytest.mark.parametrize("scalar", [2, 2.0, True, np.float64(2.0), np.int64(2), np.float16(2.0)],
                         ids=["int", "float", "bool", "np.float64", "np.int64", "np.float16"])
@pytest.mark.parametrize("name, fn", SCALAR_OPS, ids=[name for name, _ in SCALAR_OPS])
def test_scalars_do_not_upcast_a_float32_tensor(name, fn, scalar):
    t = Tensor([0.5, -1.5, 3.0], requires_grad=True)
    out = fn(t, scalar)
    assert out.dtype == np.float32
    out.sum().backward()
    assert t.grad.dtype == np.float32


# ----- the array-like surface -----
def test_shape_dtype_ndim_size_len():
    t = Tensor(np.zeros((2, 3, 4)))
    assert t.shape == (2, 3, 4) and t.dtype == np.float64 and t.ndim == 3 and t.size == 24 and len(t) == 2
    scalar = Tensor(5.0)
    assert scalar.shape == () and scalar.ndim == 0 and scalar.size == 1
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d Tensor"):
        len(scalar)


def test_item():
    assert Tensor([[2.5]]).item() == 2.5 and isinstance(Tensor([[2.5]]).item(), float)
    assert (Tensor(2.0) * 3).item() == 6.0
    with pytest.raises(ValueError, match=r"item: only one-element tensors can be converted. Received shape \(2,\)"):
        Tensor([1.0, 2.0]).item()


def test_numpy_returns_the_underlying_array():
    t = Tensor(np.array([1.0, 2.0]))
    assert t.numpy() is t.data
    t.numpy()[0] = 9.0  # shared, not copied
    assert t.data[0] == 9.0
    product = Tensor(2.0) * Tensor(3.0)  # a 0-d result is still an ndarray, not a NumPy scalar
    assert isinstance(product.numpy(), np.ndarray) and product.numpy().shape == ()


def test_T_is_the_transpose():
    t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(t.T.data, [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]])
    assert t.T.T.shape == (2, 3)


def test_repr_shows_values_dtype_name_op_and_requires_grad():
    w = Tensor([1.0, 2.0], requires_grad=True, name="w")
    assert repr(w) == "Tensor([1., 2.], dtype=float32, name='w', requires_grad=True)"
    assert repr(w * 2) == "Tensor([2., 4.], dtype=float32, op='*', requires_grad=True)"
    assert repr(Tensor(0.5, dtype=np.float64)) == "Tensor(0.5, dtype=float64)"
    big = repr(Tensor(np.arange(1000.0)))
    assert "..." in big and len(big) < 120  # summarised, not a thousand numbers


def test_detach_cuts_the_graph():
    x = Tensor([2.0, 3.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d._parents == () and d.grad is None
    np.testing.assert_array_equal(d.data, [4.0, 6.0])
    y = (x.detach() * x).sum()  # the detached copy is a constant: d/dx (c·x) = c = x's value
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


def test_iterating_over_rows():
    rows = list(Tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert len(rows) == 2 and rows[1].data.tolist() == [3.0, 4.0]
