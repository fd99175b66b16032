"""What users pass to ops, checked and normalised, with errors that name the op and echo the value."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, is_scalar


def lift(value, like: Tensor | None = None, op: str = "op") -> Tensor:
    """Wrap a scalar or array as a constant Tensor; scalars take the other operand's dtype."""
    if isinstance(value, Tensor):
        return value
    if is_scalar(value):
        return Tensor(np.asarray(value), dtype=like.dtype if like is not None else None)  # refuses 1e300 → float32
    try:
        return Tensor(value)
    except TypeError as exc:
        raise TypeError(f"{op}: operands must be Tensors, arrays or real numbers. Received: {value!r:.80}") from exc


def binary(op: str, a, b, compute):
    """Lift both operands and run ``compute`` with an error that names the op and both shapes."""
    a = lift(a, b if isinstance(b, Tensor) else None, op)
    b = lift(b, a, op)
    try:
        return a, b, compute(a.data, b.data)
    except ValueError as exc:
        raise ValueError(f"{op}: cannot broadcast shapes {a.shape} and {b.shape}") from exc


def axes(op: str, axis, ndim: int) -> tuple:
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


def axis(op: str, axis, ndim: int) -> int:
    """A single axis (softmax, concat): an int, normalised to be non-negative."""
    if axis is None or isinstance(axis, (tuple, list)):
        raise ValueError(f"{op}: axis must be a single int. Received: axis={axis!r}")
    return axes(op, axis, ndim)[0]


def real(op: str, name: str, value) -> float:
    """A real number argument (alpha, a base), as a float."""
    if not is_scalar(value):
        raise TypeError(f"{op}: {name} must be a real number. Received: {name}={value!r:.80} ({type(value).__name__})")
    return float(value)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def pair(op: str, name: str, value, smallest: int = 1) -> tuple:
    """An int or a pair of ints, each >= ``smallest``, as a (height, width) pair."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(_is_int(v) and v >= smallest for v in items):
        kind = "positive" if smallest == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be a {kind} int or pair. Received: {name}={value!r}")
    return int(items[0]), int(items[1])
