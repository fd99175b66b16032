"""gradcheck itself: it passes correct gradients and catches a wrong backward, naming where."""

import numpy as np
import pytest

from neurona import GradcheckError, Tensor, gradcheck
from neurona.autodiff import ops


def wrong_sum_of_squares(x: Tensor) -> Tensor:
    """Σx², with a backward that forgot the factor 2 (returns x instead of 2x)."""
    return Tensor._from_op(np.sum(x.data ** 2), (x,), "wrong_sum_of_squares", lambda g: (g * x.data,))


def wrong_at_one_element(x: Tensor) -> Tensor:
    """Σx², correct except that the gradient of element (1, 0) is dropped."""
    def backward(g):
        grad = g * 2 * x.data
        grad[1, 0] = 0.0
        return (grad,)

    return Tensor._from_op(np.sum(x.data ** 2), (x,), "wrong_at_one_element", backward)


def test_returns_true_for_correct_functions():
    a = Tensor(np.array([[0.3, -1.2], [0.7, 2.0]]))
    b = Tensor(np.array([0.5, -0.4]))
    assert gradcheck(lambda x: (x * x).sum(), a) is True  # scalar output
    assert gradcheck(lambda x, y: (x * y).sigmoid(), a, b) is True  # non-scalar output, two inputs, broadcasting
    assert gradcheck(lambda x: x.tanh(), np.array([0.1, -0.3])) is True  # a float ndarray is checked too


def test_names_the_input_the_element_and_both_values():
    a = Tensor([0.5, -1.0], name="a")  # correct part
    x = Tensor([3.0, 1.0], name="x")  # wrong part: analytic dΣx²/dx0 = 3 (=x0), numeric 2·x0 = 6
    with pytest.raises(GradcheckError, match=r"gradcheck: input 1 \('x'\), element \(0,\): "
                                             r"analytic gradient 3 != numerical gradient 6(\.0*\d*)? "):
        gradcheck(lambda p, q: (p * 2).sum() + wrong_sum_of_squares(q), a, x)


def test_names_the_first_wrong_element_of_a_matrix():
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))  # element (1, 0): analytic 0, numeric 2·3 = 6
    with pytest.raises(GradcheckError, match=r"input 0, element \(1, 0\): analytic gradient 0 != numerical gradient 6"):
        gradcheck(wrong_at_one_element, x)


def test_catches_a_wrong_op_inside_a_non_scalar_output():
    x = Tensor(np.array([0.5, 1.5, -2.0]), name="w")
    with pytest.raises(GradcheckError, match=r"input 0 \('w'\), element \(0,\)"):
        gradcheck(lambda w: wrong_sum_of_squares(w) * Tensor(np.ones(2)), x)


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


def test_tolerances_decide():
    def slightly_wrong(x):  # gradient 2x·1.01 instead of 2x: 1 % off
        return Tensor._from_op(np.sum(x.data ** 2), (x,), "slightly_wrong", lambda g: (g * 2.02 * x.data,))

    x = Tensor([1.0, 2.0])
    with pytest.raises(GradcheckError):
        gradcheck(slightly_wrong, x)  # default rtol 1e-3
    assert gradcheck(slightly_wrong, x, rtol=0.02) is True


def test_integer_labels_pass_through_as_constants():
    labels = np.array([2, 0, 1])
    seen = []

    def loss(logits, y):
        seen.append(y)
        return ops.softmax_cross_entropy(logits, y).sum()

    logits = Tensor(np.linspace(-1.0, 1.0, 9).reshape(3, 3))
    assert gradcheck(loss, logits, labels) is True
    assert all(y is labels for y in seen) and len(seen) == 1 + 2 * 9  # one analytic pass, two per logit
    np.testing.assert_array_equal(labels, [2, 0, 1])


def test_checks_in_float64_and_leaves_the_callers_tensors_alone():
    x = Tensor([0.25, -0.5], requires_grad=True)  # float32
    dtypes = []

    def fn(t):
        dtypes.append(t.dtype)
        return (t * t).sum()

    assert gradcheck(fn, x) is True
    assert set(dtypes) == {np.dtype(np.float64)}
    assert x.dtype == np.float32 and x.grad is None
    np.testing.assert_array_equal(x.data, np.array([0.25, -0.5], dtype=np.float32))


def test_fn_must_return_a_tensor():
    with pytest.raises(TypeError, match="gradcheck: fn must return a Tensor. Received: ndarray"):
        gradcheck(lambda x: x.data, Tensor([1.0]))
