"""The engine follows the calculus and NumPy: finite gradients where the derivative exists, NumPy's truth value,
comparisons and empty reductions, complex numbers refused, and data changed between forward and backward giving
the right gradient or a clear refusal — never a silently wrong one."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import neurona
from neurona import Tensor, gradcheck, no_grad
from neurona.autodiff import ops

FEW = settings(max_examples=40, deadline=None)


@pytest.fixture
def strict():
    """A NumPy warning (0·inf, 0/0, overflow) or any Python warning fails the test."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


def _grad(fn, values):
    x = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    fn(x).sum().backward()
    return x.grad


# ----- finite gradients wherever the derivative exists ------------------------------------------------------
AT_KINKS_AND_ZERO = [  # f, x, f'(x) worked by hand
    ("x**0 at 0", lambda x: x ** 0, 0.0, 0.0),  # the constant 1
    ("x**0 at -3", lambda x: x ** 0, -3.0, 0.0),
    ("x**1 at 0", lambda x: x ** 1, 0.0, 1.0),
    ("x**2 at 0", lambda x: x ** 2, 0.0, 0.0),  # 2x
    ("x**3 at -2", lambda x: x ** 3, -2.0, 12.0),  # 3x² = 12
    ("x**1.5 at 0", lambda x: x ** 1.5, 0.0, 0.0),  # 1.5·√x
    ("x**0.5 at 4", lambda x: x ** 0.5, 4.0, 0.25),  # 1/(2√4)
    ("x**-1 at -2", lambda x: x ** -1, -2.0, -0.25),  # −1/x²
    ("abs at 0", Tensor.abs, 0.0, 0.0),  # the middle of the subgradients [−1, 1]
    ("relu at 0", Tensor.relu, 0.0, 0.0),
    ("2**x at 0", lambda x: 2.0 ** x, 0.0, math.log(2.0)),  # 2^x·ln 2
    ("2**x at 3", lambda x: 2 ** x, 3.0, 8 * math.log(2.0)),
    ("1**x at 5", lambda x: 1.0 ** x, 5.0, 0.0),  # ln 1 = 0
    ("0**x at 2", lambda x: 0.0 ** x, 2.0, 0.0),  # the constant 0 for x > 0
    ("e**x at 1", lambda x: math.e ** x, 1.0, math.e),
    ("x*x at 0", lambda x: x * x, 0.0, 0.0),
    ("log at 1", Tensor.log, 1.0, 1.0),
    ("max of ties", lambda x: neurona.concat([x, x]).max(), 0.0, 1.0),  # two copies of x share d max = 1
    ("sigmoid at 0", Tensor.sigmoid, 0.0, 0.25),
]


@pytest.mark.parametrize("fn, x, slope", [c[1:] for c in AT_KINKS_AND_ZERO], ids=[c[0] for c in AT_KINKS_AND_ZERO])
def test_gradient_is_finite_and_right_where_the_derivative_exists(strict, fn, x, slope):
    grad = _grad(fn, [x])
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad, [slope], rtol=1e-12, atol=1e-15)


@FEW
@given(p=st.integers(0, 4), x=hnp.arrays(np.float64, 5, elements=st.sampled_from([0.0, -0.0, 1.0, -2.5]) |
                                         st.floats(-4, 4)))
def test_integer_powers_have_slope_p_x_to_the_p_minus_1_everywhere(p, x):
    grad = _grad(lambda t: t ** p, x)
    expected = np.zeros_like(x) if p == 0 else p * np.prod([x] * (p - 1), axis=0)  # x^(p−1) as a product
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("base", [0.5, 2.0, 10.0])
def test_scalar_to_a_tensor_power_passes_gradcheck(base):
    assert gradcheck(lambda x: base ** x, Tensor(np.linspace(-2.0, 2.0, 7)))


# ----- truth value, comparisons, hashing -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2,), (2, 3), (0,), (1, 2)])
def test_truth_value_of_many_or_no_elements_is_ambiguous_like_numpy(shape):
    t = Tensor(np.ones(shape))
    with pytest.raises(ValueError):
        bool(np.ones(shape))  # what NumPy does, the behaviour being matched
    with pytest.raises(ValueError, match=rf"truth value of a Tensor with {np.prod(shape)} elements .* is ambiguous"):
        bool(t)
    with pytest.raises(ValueError, match="ambiguous"):
        if t:  # the everyday way to hit it
            pass


@pytest.mark.parametrize("value, truth", [([0.0], False), ([[2.5]], True), (0.0, False), (-1.0, True), ([np.nan], True)])
def test_truth_value_of_one_element_is_its_value(value, truth):
    assert bool(Tensor(value)) is truth is bool(np.asarray(value))


def test_comparisons_are_elementwise_bool_arrays_without_gradient():
    a, b = Tensor([1.0, 2.0, 3.0], requires_grad=True), Tensor([3.0, 2.0, 1.0])
    results = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}
    expected = {"==": [0, 1, 0], "!=": [1, 0, 1], "<": [1, 0, 0], "<=": [1, 1, 0], ">": [0, 0, 1], ">=": [0, 1, 1]}
    for symbol, out in results.items():
        assert isinstance(out, np.ndarray) and out.dtype == bool, symbol
        np.testing.assert_array_equal(out, np.array(expected[symbol], dtype=bool), err_msg=symbol)


def test_comparisons_broadcast_and_work_from_either_side():
    t = Tensor([[1.0], [4.0]])
    np.testing.assert_array_equal(t > np.array([0.0, 2.0, 5.0]), [[True, False, False], [True, True, False]])
    np.testing.assert_array_equal(np.array([0.0, 2.0, 5.0]) < t, [[True, False, False], [True, True, False]])
    np.testing.assert_array_equal(2.0 <= t, [[False], [True]])
    np.testing.assert_array_equal(t == [1, 4], [[True, False], [False, True]])
    assert (Tensor(3.0) == 3) and not (Tensor(3.0) != 3.0)  # 0-d: one bool, like NumPy
    with pytest.raises(ValueError, match=r"Tensor ==: cannot broadcast shapes \(2, 1\) and \(3, 2\)"):
        t == np.ones((3, 2))


SPECIAL = st.sampled_from([0.0, -0.0, 1.0, np.nan, np.inf, -np.inf]) | st.floats(-2, 2)


@FEW
@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_every_comparison_matches_numpy_from_either_side(data, shapes):
    a = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=SPECIAL), label="a")
    b = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=SPECIAL), label="b")
    for compare in (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal):
        expected = compare(a, b)  # NaN compares unequal to everything, -0.0 == 0.0
        for left, right in [(Tensor(a), Tensor(b)), (Tensor(a), b), (a, Tensor(b))]:
            symbol = {np.equal: "==", np.not_equal: "!=", np.less: "<", np.less_equal: "<=", np.greater: ">",
                      np.greater_equal: ">="}[compare]
            out = eval(f"left {symbol} right")  # noqa: S307  (the operator itself is what is tested)
            np.testing.assert_array_equal(out, expected, err_msg=symbol)


def test_comparing_with_something_that_is_not_numbers_falls_back_like_python():
    t = Tensor([1.0, 2.0])
    assert (t == "a") is False and (t != None) is True  # noqa: E711  (identity: not equal)
    assert (t == [[1.0], [2.0, 3.0]]) is False  # a ragged list is not numbers either
    with pytest.raises(TypeError):
        t < "a"


def test_a_comparison_is_a_mask_and_the_gradient_flows_through_the_selection():
    x = Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    (x[x > 0] * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 3.0, 0.0, 3.0])  # d/dx of 3·(x1 + x3)


def test_tensors_hash_by_identity_so_equal_values_stay_distinct_keys():
    a, b = Tensor([1.0, 2.0]), Tensor([1.0, 2.0])
    assert hash(a) != hash(b) and len({a, b}) == 2 and {a: "a", b: "b"}[b] == "b"
    assert a in [a] and a in {a}  # membership finds the same object first, without comparing values


def test_a_graph_of_equal_valued_nodes_is_walked_by_identity():
    x = Tensor(np.ones(3), requires_grad=True)
    copies = [x * 1.0 for _ in range(5)]  # five distinct nodes with equal values
    total = copies[0]
    for c in copies[1:]:
        total = total + c
    total.sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0, 5.0])


# ----- complex numbers are refused, not truncated ---------------------------------------------------------
COMPLEX = [
    ("data", lambda t: Tensor(np.array([1 + 1j]))),
    ("operand scalar", lambda t: t * 1j),
    ("operand array", lambda t: t + np.array([1j, 2j])),
    ("exponent", lambda t: t ** 1j),
    ("base", lambda t: 1j ** t),
    ("backward grad", lambda t: (t * 2).backward(np.array([1 + 2j, 1j]))),
]


@pytest.mark.parametrize("make", [c[1] for c in COMPLEX], ids=[c[0] for c in COMPLEX])
def test_complex_numbers_are_refused_with_a_clear_error(make):
    t = Tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's ComplexWarning (imaginary part discarded) would be a silent loss
        with pytest.raises(TypeError, match="complex|real number"):
            make(t)
    assert t.grad is None


# ----- reductions over nothing, as NumPy does them --------------------------------------------------------
EMPTY = [((0,), None), ((0, 3), 0), ((0, 3), 1), ((3, 0), 1), ((3, 0), 0), ((0, 0), 0), ((2, 0, 3), (0, 2))]


@pytest.mark.parametrize("shape, axis", EMPTY)
def test_sum_of_nothing_is_zero_like_numpy(shape, axis):
    x = Tensor(np.zeros(shape), requires_grad=True)
    out = x.sum(axis=axis)
    np.testing.assert_array_equal(out.data, np.zeros(shape).sum(axis=axis))
    out.backward(np.ones(out.shape))
    assert x.grad.shape == shape


@pytest.mark.parametrize("shape, axis", EMPTY)
def test_mean_of_nothing_is_nan_with_numpys_warning(shape, axis):
    x = Tensor(np.zeros(shape), requires_grad=True)
    reduced = shape if axis is None else [shape[i] for i in np.atleast_1d(axis)]
    reduces_nothing = math.prod(reduced) == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = x.mean(axis=axis)
        with np.errstate(invalid="ignore"):
            expected = np.zeros(shape).mean(axis=axis)
    numpy_warned = any("Mean of empty slice" in str(w.message) for w in caught)
    assert numpy_warned == reduces_nothing
    assert any("mean of empty slice" in str(w.message) for w in caught) == reduces_nothing
    np.testing.assert_array_equal(out.data, expected)  # NaN where NumPy gives NaN (assert_array_equal matches NaNs)
    out.backward(np.ones(out.shape))
    assert x.grad.shape == shape


@pytest.mark.parametrize("shape, axis", EMPTY)
def test_max_of_nothing_raises_where_numpy_raises_and_names_the_op(shape, axis):
    x = Tensor(np.zeros(shape), requires_grad=True)
    try:
        expected = np.zeros(shape).max(axis=axis)
    except ValueError:
        with pytest.raises(ValueError, match=r"max: cannot reduce over an empty axis"):
            x.max(axis=axis)
        return
    out = x.max(axis=axis)
    np.testing.assert_array_equal(out.data, expected)
    out.backward(np.ones(out.shape))
    assert x.grad.shape == shape


@FEW
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
def test_reductions_of_shapes_with_empty_sides_follow_numpy(data, shape):
    axis = data.draw(st.none() | st.integers(0, len(shape) - 1), label="axis")
    x = np.zeros(shape)
    for name in ("sum", "mean", "max"):
        with warnings.catch_warnings(record=True) as caught, np.errstate(invalid="ignore"):
            warnings.simplefilter("always")
            try:
                expected = getattr(x, name)(axis=axis)
            except ValueError:  # NumPy's max over an empty axis
                with pytest.raises(ValueError, match=f"{name}: cannot reduce over an empty axis"):
                    getattr(Tensor(x), name)(axis=axis)
                continue
            out = getattr(Tensor(x, requires_grad=True), name)(axis=axis)
        warned = [w for w in caught if issubclass(w.category, RuntimeWarning) and "empty slice" in str(w.message)]
        averages_nothing = name == "mean" and (x.size if axis is None else shape[axis]) == 0
        assert len(warned) == (2 if averages_nothing else 0)  # NumPy's and ours
        np.testing.assert_array_equal(out.data, expected)


# ----- data changed between forward and backward ----------------------------------------------------------
def _replace_in_place(t):
    t.data[...] = 7.0  # through the array: the engine cannot see it


def _subtract_in_place(t):
    t.data -= 1.5  # what an optimizer step does


def _copyto(t):
    np.copyto(t.data, np.full(t.shape, -2.0))


MUTATIONS = {"t.data[...] = 7": _replace_in_place, "t.data -= 1.5": _subtract_in_place, "np.copyto": _copyto}
# f(w, c) and its gradient in w, worked by hand, for w = [0.5, 2.0] and the constant c = [3.0, -1.0]
NEEDS_THE_VALUE = {
    "w * c": (lambda w, c: w * c, lambda w, c: c),
    "c * w": (lambda w, c: c * w, lambda w, c: c),
    "w * w": (lambda w, c: w * w, lambda w, c: 2 * w),
    "c / w": (lambda w, c: c / w, lambda w, c: -c / w ** 2),
    "w ** 3": (lambda w, c: w ** 3, lambda w, c: 3 * w ** 2),
    "log w": (lambda w, c: w.log(), lambda w, c: 1 / w),
    "abs(w - 1)": (lambda w, c: (w - 1.0).abs(), lambda w, c: np.sign(w - 1)),
    "relu(w - 1)": (lambda w, c: (w - 1.0).relu(), lambda w, c: (w > 1) * 1.0),
    "maximum(w, 1)": (lambda w, c: neurona.maximum(w, 1.0), lambda w, c: (w > 1) * 1.0),
    "elu(1 - w)": (lambda w, c: (1.0 - w).elu(), lambda w, c: -np.where(1 - w > 0, 1.0, np.exp(1 - w))),
    "max(w)": (lambda w, c: w.max(), lambda w, c: (w == w.max()) * 1.0),
    "c @ diag": (lambda w, c: Tensor(c) @ (w.reshape(2, 1) * np.eye(2)), lambda w, c: c),
    "sum_of_squares": (lambda w, c: ops.sum_of_squares(w), lambda w, c: 2 * w),
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
@pytest.mark.parametrize("name", NEEDS_THE_VALUE)
def test_writing_a_leaf_between_forward_and_backward_keeps_the_forward_gradient(name, mutate):
    fn, slope = NEEDS_THE_VALUE[name]
    w0, c = np.array([0.5, 2.0]), np.array([3.0, -1.0])
    w = Tensor(w0.copy(), requires_grad=True)
    out = fn(w, c)
    mutate(w)  # e.g. an optimizer step taken before this graph's backward
    out.sum().backward()
    np.testing.assert_allclose(w.grad, slope(w0, c), rtol=1e-12)  # the slope at the values the forward saw


def test_a_constant_input_written_before_backward_keeps_the_forward_gradient():
    x = Tensor(np.array([[1.0, 2.0]]))  # an input batch: no gradient of its own, but dW needs its value
    w = Tensor(np.ones((2, 1)), requires_grad=True)
    loss = (x @ w).sum()
    x.data[...] = 0.0  # the loader reuses its buffer for the next batch
    loss.backward()
    np.testing.assert_array_equal(w.grad, [[1.0], [2.0]])  # d(x·w)/dw = x as it was


def test_labels_changed_before_backward_keep_the_forward_gradient():
    labels = np.array([0, 1])
    z = Tensor(np.zeros((2, 2)), requires_grad=True)
    loss = ops.softmax_cross_entropy(z, labels).sum()
    labels[:] = [1, 0]
    loss.backward()
    np.testing.assert_allclose(z.grad, [[-0.5, 0.5], [0.5, -0.5]])  # softmax [½, ½] − one-hot of the old labels


@pytest.mark.parametrize("make", [lambda: np.array([0, 2, 2]), lambda: [0, 2, 2], lambda: (np.array([0, 2, 2]),),
                                  lambda: ([0, 2, 2],)], ids=["ndarray", "list", "tuple of ndarray", "tuple of list"])
def test_an_index_changed_before_backward_keeps_the_forward_gradient(make):
    x, index = Tensor(np.zeros(4), requires_grad=True), make()
    picked = x[index]
    (index[0] if isinstance(index, tuple) else index)[:] = [1, 1, 1]
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 2.0, 0.0])  # position 2 picked twice


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_writing_into_a_recorded_result_is_refused_at_once(mutate):
    w = Tensor(np.array([0.5, 2.0]), requires_grad=True)
    h = w.exp()  # exp's backward reads its own output
    with pytest.raises(ValueError, match="read-only"):
        mutate(h)
    h.sum().backward()
    np.testing.assert_allclose(w.grad, np.exp([0.5, 2.0]), rtol=1e-12)


def test_replacing_data_between_forward_and_backward_is_refused():
    w = Tensor(np.array([0.5, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    w.data = np.array([1.0, 1.0, 1.0])
    with pytest.raises(RuntimeError, match=r"backward: input 0 of op '\*' had its .data replaced \(shape \(2,\) then "
                                           r"\(3,\)\) after the op used it"):
        loss.backward()


def test_using_a_tensor_leaves_its_own_array_writable():
    w = Tensor(np.array([0.5, 2.0]), requires_grad=True)
    x = Tensor(np.ones((3, 2)))
    loss = (x @ w.reshape(2, 1)).relu().sum() + (w * x).sum() + w[0]
    loss.backward()
    assert w.data.flags.writeable and x.data.flags.writeable  # an optimizer can still step in place
    w.data -= 0.1 * w.grad


def test_results_computed_without_a_graph_stay_writable():
    w = Tensor(np.array([0.5, 2.0]), requires_grad=True)
    with no_grad():
        prediction = (w * 2.0).exp()
    prediction.data[0] = 0.0  # an inference result is the caller's to edit
    assert (Tensor(np.ones(2)) * 2.0).data.flags.writeable  # no input needed a gradient: no graph either


@FEW
@given(name=st.sampled_from(sorted(NEEDS_THE_VALUE)), mutation=st.sampled_from(sorted(MUTATIONS)),
       w0=hnp.arrays(np.float64, 2, elements=st.floats(0.25, 3.0)).filter(lambda w: abs(w[0] - w[1]) > 1e-3
                                                                           and np.all(np.abs(w - 1) > 1e-3)))
def test_any_write_gives_the_gradient_of_a_fresh_graph_at_the_old_values(name, mutation, w0):
    fn, _ = NEEDS_THE_VALUE[name]
    c = np.array([3.0, -1.0])
    w, fresh = Tensor(w0.copy(), requires_grad=True), Tensor(w0.copy(), requires_grad=True)
    out = fn(w, c)
    MUTATIONS[mutation](w)
    out.sum().backward()
    fn(fresh, c).sum().backward()
    np.testing.assert_array_equal(w.grad, fresh.grad)
