"""Gradient checking: analytic gradients from backward() against central differences in float64."""

from __future__ import annotations

import numpy as np

from .graph import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def _as_input(value):
    """Floating inputs become float64 Tensors to be checked; anything else passes through as a constant."""
    if isinstance(value, Tensor):
        return Tensor(value.data.astype(np.float64), requires_grad=True, name=value.name)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return Tensor(value.astype(np.float64), requires_grad=True)
    return value


def _scalar(out, projection):
    """Reduce the function's output to one number: the sum of out·projection."""
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor. Received: {type(out).__name__}")
    return out if out.size == 1 and projection is None else (out * projection).sum()


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check ``fn``'s gradients with respect to every element of every floating input.

    A non-scalar output is reduced to a scalar with fixed random weights, which checks
    every output's gradient at once. Each input element x is nudged to x ± eps and the
    slope (f(x+eps) − f(x−eps)) / 2eps compared with the analytic gradient.

    Args:
        fn: a function of the inputs returning a Tensor.
        *inputs: Tensors or float arrays (checked) and anything else (passed as constants,
            e.g. integer labels).
        eps, atol, rtol: step and tolerances; passes when |analytic − numeric| <= atol + rtol·|numeric|.
        seed: for the projection weights of a non-scalar output.

    Returns:
        True. Raises GradcheckError naming the input, the element index and both values otherwise.

    Example:
        >>> gradcheck(lambda a, b: (a * b).sigmoid(), Tensor(np.ones(3)), Tensor(np.arange(3.)))
        True
    """
    args = [_as_input(x) for x in inputs]
    out = fn(*args)
    projection = None
    if isinstance(out, Tensor) and out.size != 1:
        projection = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    _scalar(out, projection).backward()
    with no_grad():
        for position, arg in enumerate(args):
            if isinstance(arg, Tensor):
                _check_input(fn, args, position, projection, eps, atol, rtol)
    return True


def _check_input(fn, args, position, projection, eps, atol, rtol):
    arg = args[position]
    analytic = arg.grad if arg.grad is not None else np.zeros_like(arg.data)
    for index in np.ndindex(*arg.shape):
        original = arg.data[index]
        arg.data[index] = original + eps
        plus = _scalar(fn(*args), projection).item()
        arg.data[index] = original - eps
        minus = _scalar(fn(*args), projection).item()
        arg.data[index] = original
        numeric = (plus - minus) / (2 * eps)
        if not abs(analytic[index] - numeric) <= atol + rtol * abs(numeric):
            label = f"input {position}" + (f" ({arg.name!r})" if arg.name else "")
            raise GradcheckError(
                f"gradcheck: {label}, element {index}: analytic gradient {analytic[index]:.8g} "
                f"!= numerical gradient {numeric:.8g} (atol={atol}, rtol={rtol})")
