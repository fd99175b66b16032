"""The graph machinery: deep chains, reused nodes, accumulation, no_grad, topological order and unbroadcast."""

import math
import sys

import numpy as np
import pytest

from neurona import Tensor, no_grad
from neurona.autodiff import is_grad_enabled, topological_order, unbroadcast


# ----- deep graphs -----
def test_a_chain_of_10000_ops_gives_the_analytic_gradient():
    x = Tensor(1.0, requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    assert 10_000 > sys.getrecursionlimit()  # a recursive walk would have failed
    y.backward()
    expected = math.pow(1.0001, 10_000)  # y = x·1.0001^10000, so dy/dx = 1.0001^10000 ≈ e
    assert math.isclose(y.item(), expected, rel_tol=1e-10)
    assert math.isclose(x.grad.item(), expected, rel_tol=1e-10)


def test_a_chain_of_10000_ops_in_float32_stays_close():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.dtype == np.float32
    # 10,000 float32 roundings (~6e-8 each) and 1.0001 itself rounded: a relative error well under 1e-3
    assert math.isclose(x.grad.item(), math.pow(1.0001, 10_000), rel_tol=1e-3)


def test_a_long_chain_of_mixed_ops_backward():
    # y ← tanh(y) + y, repeated: every step has derivative 1 + (1 − tanh²(y)), multiplied along the chain
    x = Tensor(-3.0, requires_grad=True, dtype=np.float64)
    y, expected, value = x, 1.0, -3.0
    for _ in range(5_000):
        y = y.tanh() + y
        expected *= 2 - math.tanh(value) ** 2
        value = math.tanh(value) + value
    y.backward()
    assert math.isclose(y.item(), value, rel_tol=1e-12)
    assert math.isclose(x.grad.item(), expected, rel_tol=1e-9)


# ----- one node used in many places -----
def test_reused_node_gets_the_sum_of_its_contributions():
    # y = x·x + x·3 + x  →  dy/dx = 2x + 3 + 1 = 8 at x = 2
    x = Tensor(2.0, requires_grad=True)
    y = x * x + x * 3 + x
    y.backward()
    assert y.item() == 12.0
    assert x.grad.item() == 8.0


def test_diamond_graph():
    # a = 2x, b = 3x, c = a·b = 6x²  →  dc/dx = 12x = 18 at x = 1.5; dc/da = b = 4.5, dc/db = a = 3
    x = Tensor(1.5, requires_grad=True, dtype=np.float64)
    a, b = x * 2, x * 3
    c = a * b
    c.backward()
    assert x.grad.item() == 18.0
    assert a.grad.item() == 4.5 and b.grad.item() == 3.0


def test_the_same_tensor_added_to_itself_1000_times():
    x = Tensor([1.0, -2.0], requires_grad=True)
    total = x
    for _ in range(999):
        total = total + x
    total.sum().backward()
    np.testing.assert_array_equal(total.data, [1000.0, -2000.0])
    np.testing.assert_array_equal(x.grad, [1000.0, 1000.0])


def test_one_node_as_both_operands():
    x = Tensor(3.0, requires_grad=True)
    (x * x).backward()  # d(x²)/dx = 2x = 6
    assert x.grad.item() == 6.0
    y = Tensor(3.0, requires_grad=True)
    (y + y).backward()
    assert y.grad.item() == 2.0


def test_topological_order_lists_each_node_once_after_its_parents():
    x = Tensor(1.0, requires_grad=True)
    a, b = x * 2, x * 3
    c = a * b + a
    order = topological_order(c)
    assert len(order) == len({id(n) for n in order})
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        assert all(position[id(p)] < position[id(node)] for p in node._parents)
    assert order[-1] is c and {id(x), id(a), id(b)} <= position.keys()


# ----- accumulation and zeroing -----
def test_gradients_accumulate_across_backward_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for calls in (1, 2, 3):
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad, calls * np.array([2.0, 4.0]))  # d(Σx²)/dx = 2x per call


def test_setting_grad_to_none_starts_again():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_leaf_gradients_are_separate_arrays():
    # add hands one array to both parents; each leaf must still own its .grad (e.g. clipping p.grad *= s)
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    y = a + b
    y.sum().backward()
    a.grad *= 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_leaf_gradient_is_not_a_view_of_another_gradient():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    wt = w.T  # transpose's backward hands w a view of wt's gradient
    (wt * 2).backward(np.ones((3, 2)))
    w.grad[0, 0] = 100.0
    np.testing.assert_array_equal(wt.grad, np.full((3, 2), 2.0))


def test_every_grad_is_an_ndarray_even_for_0d_tensors():
    x = Tensor(2.0, requires_grad=True)
    b = Tensor(0.5, requires_grad=True)
    for _ in range(2):  # first store, then accumulate
        y = x * x + b
        y.backward()
    for t, expected in [(x, 8.0), (b, 2.0), (y, 1.0)]:  # d(x² + b)/dx = 2x = 4 per call, /db = 1 per call
        assert isinstance(t.grad, np.ndarray) and t.grad.shape == () and t.grad == expected
    x.grad[...] = 0.0  # so an optimizer can zero or scale it in place


def test_backward_with_an_explicit_gradient():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.backward(np.array([1.0, 0.5, -1.0]))  # dL/dx = 2·dL/dy
    np.testing.assert_array_equal(x.grad, [2.0, 1.0, -2.0])
    y2 = x * 1
    x.grad = None
    y2.backward(Tensor([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0])


def test_constants_get_no_gradient_and_intermediates_keep_theirs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([5.0, 7.0])
    h = x * c
    h.sum().backward()
    assert c.grad is None and not c.requires_grad
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [5.0, 7.0])


def test_backward_on_a_leaf():
    x = Tensor(4.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


# ----- no_grad -----
def test_no_grad_builds_no_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 2).sum()
    assert is_grad_enabled()
    assert y.requires_grad is False and y._parents == () and y._backward is None
    with pytest.raises(RuntimeError, match="backward: this tensor does not require grad .*no_grad"):
        y.backward()


def test_no_grad_as_a_decorator():
    @no_grad()
    def predict(t):
        """Docstring kept."""
        assert not is_grad_enabled()
        return t * 3

    x = Tensor([1.0], requires_grad=True)
    y = predict(x)
    assert not y.requires_grad and y._parents == ()
    assert is_grad_enabled() and predict.__doc__ == "Docstring kept."
    assert (x * 3).requires_grad


def test_no_grad_nested():
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()  # leaving the inner block keeps the outer one in force
    assert is_grad_enabled()


def test_one_no_grad_instance_entered_twice():
    inference = no_grad()
    with inference:
        with inference:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_no_grad_restores_the_state_after_an_exception():
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert is_grad_enabled()

    @no_grad()
    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        fails()
    assert is_grad_enabled()
    assert (Tensor([1.0], requires_grad=True) * 2).requires_grad


def test_graph_recorded_before_no_grad_still_differentiates():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with no_grad():
        y.backward()  # backward itself needs no recording
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


# ----- unbroadcast, the one place broadcasting is undone -----
@pytest.mark.parametrize("grad_shape, shape", [
    ((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)),
    ((2, 3, 4), ()), ((2, 3, 4), (1, 1, 1)), ((2, 3, 4), (2, 1, 4)),
])
def test_unbroadcast_sums_over_the_copies(grad_shape, shape):
    grad = np.arange(np.prod(grad_shape), dtype=np.float64).reshape(grad_shape)
    out = unbroadcast(grad, shape)
    assert out.shape == shape
    # each entry of out is the sum of the grad entries it was broadcast to: check with an indicator per entry
    for index in np.ndindex(*shape):
        indicator = np.zeros(shape)
        indicator[index] = 1.0
        assert out[index] == (grad * np.broadcast_to(indicator, grad_shape)).sum()
