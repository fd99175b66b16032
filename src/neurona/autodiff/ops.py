"""The primitive operations: each computes its forward value and, right beside it, its backward.

A backward function receives g = dL/d(output) and returns one gradient per parent
(None where a parent needs none). Shapes changed by broadcasting are undone once,
by ``graph.unbroadcast``, so the formulas below read like the calculus.
"""

from __future__ import annotations

import math

import numpy as np

from .tensor import Tensor, is_scalar


def _lift(value, like: Tensor | None = None, op: str = "op") -> Tensor:
    """Wrap a scalar or array as a constant Tensor; scalars take the other operand's dtype."""
    if isinstance(value, Tensor):
        return value
    if is_scalar(value):
        return Tensor(np.asarray(value), dtype=like.dtype if like is not None else None)  # refuses 1e300 → float32
    try:
        return Tensor(value)
    except TypeError as exc:
        raise TypeError(f"{op}: operands must be Tensors, arrays or real numbers. Received: {value!r:.80}") from exc


def _binary(op: str, a, b, compute):
    """Lift both operands and run ``compute`` with an error that names the op and both shapes."""
    a = _lift(a, b if isinstance(b, Tensor) else None, op)
    b = _lift(b, a, op)
    try:
        return a, b, compute(a.data, b.data)
    except ValueError as exc:
        raise ValueError(f"{op}: cannot broadcast shapes {a.shape} and {b.shape}") from exc


def _axes(op: str, axis, ndim: int):
    """Normalise ``axis`` (None, int or tuple) to a tuple of non-negative ints, with a clear error."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool) or not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis must be an int in [{-ndim}, {ndim}) for a {ndim}-d tensor. Received: axis={axis!r}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis must not name an axis twice. Received: axis={axis!r}")
    return tuple(out)


def _axis(op: str, axis, ndim: int) -> int:
    """A single axis (softmax, concat): an int, normalised to be non-negative."""
    if axis is None or isinstance(axis, (tuple, list)):
        raise ValueError(f"{op}: axis must be a single int. Received: axis={axis!r}")
    return _axes(op, axis, ndim)[0]


def _expand(g: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """Put back the reduced axes as length-1 axes so ``g`` broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axes)


# ----- arithmetic -----
def add(a, b) -> Tensor:
    a, b, out = _binary("add", a, b, np.add)
    return Tensor._from_op(out, (a, b), "+", lambda g: (g, g))


def sub(a, b) -> Tensor:
    a, b, out = _binary("sub", a, b, np.subtract)
    return Tensor._from_op(out, (a, b), "-", lambda g: (g, -g))


def mul(a, b) -> Tensor:
    a, b, out = _binary("mul", a, b, np.multiply)
    if a is b:  # x * x (the L2 penalty): one product 2·g·x for the single parent, not two to add up (faster)
        return Tensor._from_op(out, (a, b), "*", lambda g: (2 * (g * a.data), None))
    return Tensor._from_op(out, (a, b), "*", lambda g: (
        g * b.data if a.requires_grad else None,
        g * a.data if b.requires_grad else None))


def div(a, b) -> Tensor:
    a, b, out = _binary("div", a, b, np.divide)
    return Tensor._from_op(out, (a, b), "/", lambda g: (
        g / b.data if a.requires_grad else None,
        -g * out / b.data if b.requires_grad else None))


def neg(a: Tensor) -> Tensor:
    return Tensor._from_op(-a.data, (a,), "neg", lambda g: (-g,))


def power(a: Tensor, exponent) -> Tensor:
    if not is_scalar(exponent):
        raise TypeError(f"pow: the exponent must be a real number. Received: {exponent!r:.80} ({type(exponent).__name__})")
    p = float(exponent)
    return Tensor._from_op(a.data ** p, (a,), f"**{p:g}", lambda g: (g * p * a.data ** (p - 1),))


def matmul(a, b) -> Tensor:
    a, b = _lift(a, op="matmul"), _lift(b, op="matmul")
    if not (1 <= a.ndim <= 2 and 1 <= b.ndim <= 2):
        raise ValueError(f"matmul: operands must be 1-D or 2-D. Received shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
            f"{a.shape[-1]} (last dim of the left) != {b.shape[0]} (first dim of the right)")

    def backward(g):
        x, w = a.data, b.data
        if x.ndim == 2 and w.ndim == 2:  # the common case, with no reshaping
            return (g @ w.T if a.requires_grad else None), (x.T @ g if b.requires_grad else None)
        # Promote 1-D operands to a row (left) or column (right) so one formula serves all cases.
        x2, w2 = x.reshape(1, -1) if x.ndim == 1 else x, w.reshape(-1, 1) if w.ndim == 1 else w
        g2 = g.reshape(x2.shape[0], w2.shape[1])
        ga = (g2 @ w2.T).reshape(x.shape) if a.requires_grad else None
        gb = (x2.T @ g2).reshape(w.shape) if b.requires_grad else None
        return ga, gb

    return Tensor._from_op(a.data @ b.data, (a, b), "@", backward)


# ----- reductions -----
def sum(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 (mirrors numpy)
    axes = _axes("sum", axis, a.ndim)
    out = a.data.sum(axis=axes, keepdims=keepdims)
    kept = tuple(1 if i in axes else n for i, n in enumerate(a.shape))  # the result's shape with keepdims

    def backward(g):
        grad = np.empty(a.shape, dtype=g.dtype)
        grad[...] = g.reshape(kept)  # every input gets the gradient of the sum it went into; one write, no temporaries
        return (grad,)

    return Tensor._from_op(np.asarray(out), (a,), "sum", backward)


def mean(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """Composed: a sum scaled by 1/count."""
    axes = _axes("mean", axis, a.ndim)
    count = math.prod(a.shape[i] for i in axes)  # 1 when axes is empty; math.prod: no array for a few ints
    return sum(a, axes, keepdims) * (1.0 / (count or 1))


def max(a: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    axes = _axes("max", axis, a.ndim)
    if a.size == 0:
        raise ValueError(f"max: cannot reduce an empty tensor of shape {a.shape}")
    out = a.data.max(axis=axes, keepdims=True)

    def backward(g):
        mask = (a.data == out).astype(a.dtype)  # ties share the gradient equally
        return (mask * (_expand(g, axes, keepdims) / mask.sum(axis=axes, keepdims=True)),)

    return Tensor._from_op(out if keepdims else np.squeeze(out, axis=axes), (a,), "max", backward)


# ----- elementwise functions -----
def exp(a: Tensor) -> Tensor:
    out = np.exp(a.data)
    return Tensor._from_op(out, (a,), "exp", lambda g: (g * out,))


def log(a: Tensor) -> Tensor:
    return Tensor._from_op(np.log(a.data), (a,), "log", lambda g: (g / a.data,))


def abs(a: Tensor) -> Tensor:  # noqa: A001
    return Tensor._from_op(np.abs(a.data), (a,), "abs", lambda g: (g * np.sign(a.data),))


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
    return Tensor._from_op(np.maximum(a.data, 0), (a,), "relu", lambda g: (g * (a.data > 0),))


def leaky_relu(a: Tensor, alpha: float = 0.1) -> Tensor:
    slope = np.where(a.data > 0, 1, alpha).astype(a.dtype)
    return Tensor._from_op(a.data * slope, (a,), f"leaky_relu({alpha:g})", lambda g: (g * slope,))


def elu(a: Tensor, alpha: float = 1.0) -> Tensor:
    # expm1 of a non-positive number cannot overflow; astype: an np.float64 alpha must not upcast float32
    negative = (alpha * np.expm1(np.minimum(a.data, 0))).astype(a.dtype, copy=False)
    out = np.where(a.data > 0, a.data, negative)
    return Tensor._from_op(out, (a,), f"elu({alpha:g})", lambda g: (g * np.where(a.data > 0, 1, negative + alpha),))


def maximum(a, b) -> Tensor:
    """Elementwise max; where the two are equal each gets half the gradient."""
    a, b, out = _binary("maximum", a, b, np.maximum)

    def backward(g):
        share = (a.data > b.data) + 0.5 * (a.data == b.data)
        return (g * share if a.requires_grad else None, g * (1 - share) if b.requires_grad else None)

    return Tensor._from_op(out, (a, b), "maximum", backward)


# ----- softmax family (shifted by the max, so exp never overflows) -----
def _shift_by_max(data: np.ndarray, axis: int) -> np.ndarray:
    """data − its max along ``axis``, so exp never overflows. Scores further apart than the dtype's range
    give −inf (probability 0, the right answer); an empty axis stays empty instead of failing in max()."""
    with np.errstate(over="ignore"):
        return data - data.max(axis=axis, keepdims=True, initial=-np.inf)


def softmax(a: Tensor, axis: int = -1) -> Tensor:
    axis = _axis("softmax", axis, a.ndim)
    e = np.exp(_shift_by_max(a.data, axis))
    out = e / e.sum(axis=axis, keepdims=True)
    return Tensor._from_op(out, (a,), "softmax",
                           lambda g: (out * (g - (g * out).sum(axis=axis, keepdims=True)),))


def log_softmax(a: Tensor, axis: int = -1) -> Tensor:
    axis = _axis("log_softmax", axis, a.ndim)
    shifted = _shift_by_max(a.data, axis)
    with np.errstate(divide="ignore"):  # the sum is >= 1, except over an empty axis (whose result is empty)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return Tensor._from_op(out, (a,), "log_softmax",
                           lambda g: (g - np.exp(out) * g.sum(axis=axis, keepdims=True),))


def sum_of_squares(a: Tensor) -> Tensor:
    """Σ a² as one node. Fused for speed (the L2 penalty): one BLAS dot forward, one product backward."""
    flat = a.data.reshape(-1)
    return Tensor._from_op(np.asarray(np.dot(flat, flat)), (a,), "sum_of_squares", lambda g: (a.data * (2 * g),))


def softmax_cross_entropy(logits: Tensor, target: np.ndarray) -> Tensor:
    """Per-sample −log softmax(logits)[label]. Fused for stability and speed: the backward is softmax − target.

    Args:
        logits: raw scores, shape (N, C).
        target: integer labels (N,) or probability rows (N, C), e.g. one-hot.

    Returns:
        A Tensor of shape (N,).
    """
    target = np.asarray(target)
    if target.ndim == 2:  # probability rows in the logits' dtype: float64 one-hots must not upcast the loss
        target = target.astype(logits.dtype, copy=False)
    shifted = _shift_by_max(logits.data, 1)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(log_probs))
    if target.ndim == 1:
        out = -log_probs[rows, target]
    else:  # a class the target gives no weight counts 0, however improbable (0 · log 0 would be NaN)
        with np.errstate(invalid="ignore"):
            out = -np.where(target != 0, target * log_probs, 0).sum(axis=1)

    def backward(g):
        grad = np.exp(log_probs)
        if target.ndim == 1:
            grad[rows, target] -= 1
        else:  # d/dz of −Σ t·log softmax(z) is softmax·Σt − t (Σt = 1 for one-hot rows)
            grad = grad * target.sum(axis=1, keepdims=True) - target
        return (grad * g[:, None],)

    return Tensor._from_op(out, (logits,), "softmax_cross_entropy", backward)


# ----- shape -----
def reshape(a: Tensor, shape) -> Tensor:
    try:
        out = a.data.reshape(shape)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} ({a.size} elements) into {tuple(shape)}") from exc
    return Tensor._from_op(out, (a,), "reshape", lambda g: (g.reshape(a.shape),))


def transpose(a: Tensor, axes=None) -> Tensor:
    if axes is not None and sorted(_axes("transpose", tuple(axes), a.ndim)) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes must be a permutation of {tuple(range(a.ndim))}. Received: axes={tuple(axes)}")
    inverse = None if axes is None else tuple(np.argsort([int(x) % a.ndim for x in axes]))
    return Tensor._from_op(np.transpose(a.data, axes), (a,), "T", lambda g: (np.transpose(g, inverse),))


def getitem(a: Tensor, index) -> Tensor:
    if isinstance(index, Tensor):  # a Tensor holds floats: a mask and positions would look alike
        raise TypeError("getitem: index with ints, slices or an integer/boolean ndarray, not a Tensor. "
                        f"Received a Tensor of shape {index.shape}; use index.numpy().astype(int) for positions")
    try:
        out = a.data[index]
    except IndexError as exc:
        raise IndexError(f"getitem: index {index!r:.80} is invalid for a tensor of shape {a.shape}: {exc}") from exc

    def backward(g):
        grad = np.zeros_like(a.data)
        np.add.at(grad, index, g)  # add.at, not assignment: a repeated integer index must accumulate
        return (grad,)

    return Tensor._from_op(np.asarray(out), (a,), "[]", backward)


def concat(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis; the gradient is split back into the pieces."""
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise ValueError(f"concat: tensors must be a non-empty list of Tensors. Received: {tensors!r:.80}")
    tensors = tuple(_lift(t, op="concat") for t in tensors)
    axis = _axis("concat", axis, tensors[0].ndim)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError as exc:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"concat: shapes {shapes} must match except on axis {axis}") from exc
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return Tensor._from_op(out, tensors, "concat", lambda g: tuple(np.split(g, bounds, axis=axis)))
