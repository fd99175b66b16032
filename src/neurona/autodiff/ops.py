"""The primitive operations: each computes its forward value and, right beside it, its backward.

A backward function receives g = dL/d(output) and returns one gradient per parent
(None where a parent needs none). Shapes changed by broadcasting are undone once,
by ``graph.unbroadcast``, so the formulas below read like the calculus.

A backward reads the values its forward saw: outputs recorded in a graph are read-only
(``Tensor._from_op``), and an input array that can still be written (a leaf's, such as a
parameter an optimizer updates in place) is copied by ``graph.saved`` when a backward needs it.
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from . import arguments as args
from . import graph
from . import tensor as _tensor
from .softmax import log_softmax, softmax, softmax_cross_entropy  # noqa: F401 (callers find every op in ops)
from .tensor import Tensor, is_scalar


def _expand(g: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Put back the reduced axes as length-1 axes so ``g`` broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axes)


# ----- arithmetic -----
def add(a, b) -> Tensor:
    a, b, out = args.binary("add", a, b, np.add)
    return Tensor._from_op(out, (a, b), "+", lambda g: (g, g))


def sub(a, b) -> Tensor:
    a, b, out = args.binary("sub", a, b, np.subtract)
    return Tensor._from_op(out, (a, b), "-", lambda g: (g, -g))


def mul(a, b) -> Tensor:
    a, b, out = args.binary("mul", a, b, np.multiply)
    if a is b:  # x * x (the L2 penalty): one product 2·g·x for the single parent, not two to add up (faster)
        x = graph.saved(a)
        return Tensor._from_op(out, (a, b), "*", lambda g: (2 * (g * x), None))
    x, y = graph.saved(a, b.requires_grad), graph.saved(b, a.requires_grad)
    return Tensor._from_op(out, (a, b), "*", lambda g: (
        g * y if a.requires_grad else None,
        g * x if b.requires_grad else None))


def div(a, b) -> Tensor:
    a, b, out = args.binary("div", a, b, np.divide)
    y = graph.saved(b)
    return Tensor._from_op(out, (a, b), "/", lambda g: (
        g / y if a.requires_grad else None,
        -g * out / y if b.requires_grad else None))


def neg(a: Tensor) -> Tensor:
    return Tensor._from_op(-a.data, (a,), "neg", lambda g: (-g,))


def power(a: Tensor, exponent) -> Tensor:
    if not is_scalar(exponent):
        raise TypeError(f"pow: the exponent must be a real number. Received: {exponent!r:.80} ({type(exponent).__name__})")
    p, x = float(exponent), graph.saved(a)

    def backward(g):
        if p == 0:  # x**0 is the constant 1, also at x = 0 (where p·x**(p−1) would be 0·inf = nan)
            return (np.zeros_like(g),)
        return (g * p * x ** (p - 1),)

    return Tensor._from_op(a.data ** p, (a,), f"**{p:g}", backward)


def rpow(base, a: Tensor) -> Tensor:
    """``base ** a`` for a real number ``base >= 0``; d/da = base**a · ln(base)."""
    b = args.real("rpow", "base", base)
    if b < 0:
        raise ValueError(f"rpow: the base must be >= 0 (a negative base has no real power for most "
                         f"exponents). Received: base={base!r}")
    with np.errstate(divide="ignore"):  # 0 ** negative = inf, as in NumPy
        out = args.lift(b, a, "rpow").data ** a.data
    if b == 0:  # 0 ** x is the constant 0 for x > 0: slope 0 (out·ln 0 would be 0·(−inf) = nan)
        return Tensor._from_op(out, (a,), "0**", lambda g: (np.zeros_like(g),))
    log_base = math.log(b)
    return Tensor._from_op(out, (a,), f"{b:g}**", lambda g: (g * out * log_base,))


def matmul(a, b) -> Tensor:
    """``a @ b`` as NumPy does it: 1-D operands are promoted and dropped, leading (batch) axes broadcast."""
    a, b = args.lift(a, op="matmul"), args.lift(b, op="matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D. Received shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: {a.shape[-1]} (last dim of the left) "
            f"!= {b.shape[0 if b.ndim == 1 else -2]} ({'first' if b.ndim == 1 else 'second-to-last'} dim of the right)")
    try:
        out = a.data @ b.data
    except ValueError as exc:
        raise ValueError(f"matmul: the batch dims of shapes {a.shape} and {b.shape} cannot be broadcast") from exc
    x, w = graph.saved(a, b.requires_grad), graph.saved(b, a.requires_grad)

    def backward(g):
        if x.ndim == 2 and w.ndim == 2:  # the common case, with no reshaping
            return (g @ w.T if a.requires_grad else None), (x.T @ g if b.requires_grad else None)
        # Promote 1-D operands to a row (left) or column (right) so one formula serves all cases;
        # graph.unbroadcast then sums the gradient over the batch axes an operand was broadcast along.
        x2, w2 = x.reshape(1, -1) if x.ndim == 1 else x, w.reshape(-1, 1) if w.ndim == 1 else w
        g2 = np.expand_dims(g, -1) if w.ndim == 1 else g
        g2 = np.expand_dims(g2, -2) if x.ndim == 1 else g2
        ga = (g2 @ np.swapaxes(w2, -1, -2)) if a.requires_grad else None
        gb = (np.swapaxes(x2, -1, -2) @ g2) if b.requires_grad else None
        if x.ndim == 1 and ga is not None:
            ga = ga[..., 0, :]
        if w.ndim == 1 and gb is not None:
            gb = gb[..., 0]
        return ga, gb

    return Tensor._from_op(out, (a, b), "@", backward)


# ----- reductions -----
def sum(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 (mirrors numpy)
    axes = args.axes("sum", axis, a.ndim)
    out = a.data.sum(axis=axes, keepdims=keepdims)
    kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))  # the result's shape with keepdims

    def backward(g):
        grad = np.empty(a.shape, dtype=g.dtype)
        grad[...] = g.reshape(kept)  # every input gets the gradient of the sum it went into; one write, no temporaries
        return (grad,)

    return Tensor._from_op(np.asarray(out), (a,), "sum", backward)


def mean(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Composed: a sum scaled by 1/count. Over nothing (count 0) it is nan with a RuntimeWarning, as in NumPy."""
    axes = args.axes("mean", axis, a.ndim)
    count = math.prod(a.shape[i] for i in axes)  # 1 when axes is empty; math.prod: no array for a few ints
    if count == 0:
        warnings.warn(f"mean: mean of empty slice (axis={axis!r} of a tensor of shape {a.shape})",
                      RuntimeWarning, stacklevel=2)
        return sum(a, axes, keepdims) * math.nan
    return sum(a, axes, keepdims) * (1.0 / count)


def max(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    axes = args.axes("max", axis, a.ndim)
    if any(a.shape[i] == 0 for i in axes):
        raise ValueError(f"max: cannot reduce over an empty axis (axis={axis!r} of a tensor of shape {a.shape}); "
                         "the max of nothing is undefined")
    out, x = a.data.max(axis=axes, keepdims=keepdims), graph.saved(a)

    def backward(g):
        top = out if keepdims else np.expand_dims(out, axes)
        mask = (x == top).astype(x.dtype)  # ties share the gradient equally
        return (mask * (_expand(g, axes, keepdims) / mask.sum(axis=axes, keepdims=True)),)

    return Tensor._from_op(out, (a,), "max", backward)


def sum_of_squares(a: Tensor) -> Tensor:
    """Σ a² as one node. Fused for speed (the L2 penalty): one BLAS dot forward, one product backward."""
    flat, x = a.data.reshape(-1), graph.saved(a)
    return Tensor._from_op(np.asarray(np.dot(flat, flat)), (a,), "sum_of_squares", lambda g: (x * (2 * g),))


# ----- elementwise functions -----
def exp(a: Tensor) -> Tensor:
    out = np.exp(a.data)
    return Tensor._from_op(out, (a,), "exp", lambda g: (g * out,))


def log(a: Tensor) -> Tensor:
    x = graph.saved(a)
    return Tensor._from_op(np.log(a.data), (a,), "log", lambda g: (g / x,))


def abs(a: Tensor) -> Tensor:  # noqa: A001
    x = graph.saved(a)  # the slope at 0 is taken as 0 (sign(0) = 0), the middle of the subgradients [-1, 1]
    return Tensor._from_op(np.abs(a.data), (a,), "abs", lambda g: (g * np.sign(x),))


def clip(a: Tensor, low: float, high: float) -> Tensor:
    if not (is_scalar(low) and is_scalar(high)) or low > high:
        raise ValueError(f"clip: low and high must be real numbers with low <= high. Received: low={low!r}, high={high!r}")
    inside = (a.data >= low) & (a.data <= high)
    out = np.clip(a.data, low, high).astype(a.dtype, copy=False)  # np.float64 bounds must not upcast float32
    return Tensor._from_op(out, (a,), "clip", lambda g: (g * inside,))


def tanh(a: Tensor) -> Tensor:
    out = np.tanh(a.data)
    return Tensor._from_op(out, (a,), "tanh", lambda g: (g * (1 - out * out),))


def sigmoid(a: Tensor) -> Tensor:
    # exp(-x) overflows to inf only where σ(x) is below the smallest normal float, and 1/(1 + inf) = 0
    # is then σ(x) to within that; one expression, ~2x faster than branching on the sign with np.where.
    with np.errstate(over="ignore"):
        out = 1 / (1 + np.exp(-a.data))
    return Tensor._from_op(out, (a,), "sigmoid", lambda g: (g * out * (1 - out),))


def relu(a: Tensor) -> Tensor:
    x = graph.saved(a)
    return Tensor._from_op(np.maximum(a.data, 0), (a,), "relu", lambda g: (g * (x > 0),))


def leaky_relu(a: Tensor, alpha: float = 0.1) -> Tensor:
    alpha = args.real("leaky_relu", "alpha", alpha)
    slope = np.where(a.data > 0, 1, alpha).astype(a.dtype)
    return Tensor._from_op(a.data * slope, (a,), f"leaky_relu({alpha:g})", lambda g: (g * slope,))


def elu(a: Tensor, alpha: float = 1.0) -> Tensor:
    # expm1 of a non-positive number cannot overflow; astype: a float64 alpha must not upcast float32
    alpha, positive = args.real("elu", "alpha", alpha), a.data > 0
    negative = (alpha * np.expm1(np.minimum(a.data, 0))).astype(a.dtype, copy=False)
    out = np.where(positive, a.data, negative)
    return Tensor._from_op(out, (a,), f"elu({alpha:g})", lambda g: (g * np.where(positive, 1, negative + alpha),))


def maximum(a, b) -> Tensor:
    """Elementwise max; where the two are equal each gets half the gradient."""
    a, b, out = args.binary("maximum", a, b, np.maximum)
    x, y = graph.saved(a), graph.saved(b)

    def backward(g):
        share = (x > y) + 0.5 * (x == y)
        return (g * share if a.requires_grad else None, g * (1 - share) if b.requires_grad else None)

    return Tensor._from_op(out, (a, b), "maximum", backward)


# ----- shape -----
def reshape(a: Tensor, shape) -> Tensor:
    try:
        out = a.data.reshape(shape)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) into {tuple(shape)}") from exc
    return Tensor._from_op(out, (a,), "reshape", lambda g: (g.reshape(a.shape),))


def transpose(a: Tensor, axes=None) -> Tensor:
    if axes is not None and sorted(args.axes("transpose", tuple(axes), a.ndim)) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes must be a permutation of {tuple(range(a.ndim))}. Received: axes={tuple(axes)}")
    inverse = None if axes is None else tuple(np.argsort([int(x) % a.ndim for x in axes]))
    return Tensor._from_op(np.transpose(a.data, axes), (a,), "T", lambda g: (np.transpose(g, inverse),))


def _copied(index):
    """An index whose arrays and lists are copies (ints, slices, None and Ellipsis are immutable already)."""
    if isinstance(index, tuple):
        return tuple(_copied(i) for i in index)
    if isinstance(index, np.ndarray):
        return index.copy()
    return [_copied(i) for i in index] if isinstance(index, list) else index


def getitem(a: Tensor, index) -> Tensor:
    if isinstance(index, Tensor):  # a Tensor holds floats: a mask and positions would look alike
        raise TypeError("getitem: index with ints, slices or an integer/boolean ndarray, not a Tensor. "
                        f"Received a Tensor of shape {index.shape}; use index.numpy().astype(int) for positions")
    try:
        out = a.data[index]
    except IndexError as exc:
        raise IndexError(f"getitem: index {index!r:.80} is invalid for a tensor of shape {a.shape}: {exc}") from exc
    index = _copied(index)  # the positions the forward picked, even if the caller's array or list changes

    def backward(g):
        grad = np.zeros_like(a.data)
        np.add.at(grad, index, g)  # add.at, not assignment: a repeated integer index must accumulate
        return (grad,)

    return Tensor._from_op(np.asarray(out), (a,), "[]", backward)


def concat(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; the gradient is split back into the pieces."""
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise ValueError(f"concat: tensors must be a non-empty list of Tensors. Received: {tensors!r:.80}")
    tensors = tuple(args.lift(t, op="concat") for t in tensors)
    axis = args.axis("concat", axis, tensors[0].ndim)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError as exc:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concat: shapes {shapes} must match except on axis {axis}") from exc
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return Tensor._from_op(out, tensors, "concat", lambda g: tuple(np.split(g, bounds, axis=axis)))


_tensor._ops = sys.modules[__name__]  # Tensor's operators (a + b, a.sum(), …) call the ops defined here
