"""Validation of the arrays users pass to fit/evaluate/predict: clear errors instead of NumPy tracebacks."""

from __future__ import annotations

import numpy as np

from .autodiff import Tensor

_CHUNK_ROWS = 4096  # finite checks run in chunks, so a 0.7 GB dataset needs no 0.7 GB temporary


def as_samples(where: str, name: str, value, min_ndim: int = 1) -> np.ndarray:
    """A real-valued array with a sample axis; NaN/inf, empty, object and complex data are refused."""
    if isinstance(value, Tensor):
        value = value.data
    if value is None:
        raise TypeError(f"{where}: {name} is required. Received: {name}=None")
    try:
        array = np.asarray(value)
    except ValueError as exc:
        raise TypeError(f"{where}: {name} must be a rectangular numeric array. Received: {value!r:.80}") from exc
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {name} must hold real numbers (bool, int or float). Received dtype={array.dtype}")
    if array.ndim < min_ndim:
        hint = f"; for one feature per sample use {name}.reshape(-1, 1)" if array.ndim == 1 else ""
        raise ValueError(f"{where}: {name} must be at least {min_ndim}-D (samples first). "
                         f"Received shape {array.shape}{hint}")
    if array.ndim == 0 or len(array) == 0:
        raise ValueError(f"{where}: {name} is empty. Received shape {array.shape}")
    if array.dtype.kind == "f":
        _check_finite(where, name, array)
    return array


def _check_finite(where: str, name: str, array: np.ndarray) -> None:
    for start in range(0, len(array), _CHUNK_ROWS):
        chunk = array[start:start + _CHUNK_ROWS]
        if not np.isfinite(chunk).all():
            bad = np.argwhere(~np.isfinite(chunk))[0]
            bad[0] += start
            raise ValueError(f"{where}: {name} contains NaN or inf (first at index {tuple(int(i) for i in bad)}: "
                             f"{array[tuple(bad)]}). Clean or impute the data first")


def check_pair(where: str, x, y) -> tuple:
    """Validated (x, y) with the same number of samples; y as labels (N,) or rows (N, k)."""
    x = as_samples(where, "x", x, min_ndim=2)
    y = as_samples(where, "y", y)
    if len(x) != len(y):
        raise ValueError(f"{where}: x and y must have the same number of samples. "
                         f"Received: x has {len(x)} (shape {x.shape}), y has {len(y)} (shape {y.shape})")
    if y.ndim > 2:
        raise ValueError(f"{where}: y must be labels (N,) or rows (N, k). Received shape {y.shape}")
    return x, y


def check_width(where: str, x: np.ndarray, input_shape: tuple) -> None:
    """x's per-sample size must match the model's input."""
    expected, got = int(np.prod(input_shape)), int(np.prod(x.shape[1:]))
    if expected != got:
        raise ValueError(f"{where}: x has {got} features per sample (shape {x.shape}), "
                         f"but the network expects {expected}")


def check_range(where: str, x: np.ndarray, dtype) -> None:
    """x's values must fit the model's dtype: float64 data beyond float32's range would become inf."""
    if x.dtype.kind != "f" or x.dtype.itemsize <= np.dtype(dtype).itemsize:
        return
    largest = float(np.finfo(dtype).max)
    for start in range(0, len(x), _CHUNK_ROWS):
        top = float(np.abs(x[start:start + _CHUNK_ROWS]).max(initial=0))
        if top > largest:
            raise ValueError(f"{where}: x has values up to {top:.4g}, too large for the model's {np.dtype(dtype).name} "
                             f"(largest {largest:.4g}). Rescale x (e.g. with Standardizer) or use dtype='float64'")


def check_outputs(where: str, out: np.ndarray, x: np.ndarray) -> None:
    """Finite inputs must give finite outputs; overflow inside the network is reported, not returned."""
    if not np.isfinite(out).all():
        raise ValueError(f"{where}: the network's outputs overflowed to inf or NaN although x is finite "
                         f"(largest |x| = {float(np.abs(x).max()):.4g}). Rescale x, e.g. with Standardizer")


def check_test_data(where: str, test_data) -> tuple | None:
    """``test_data`` as a validated (x, y) pair, or None."""
    if test_data is None:
        return None
    if not isinstance(test_data, (tuple, list)) or len(test_data) != 2:
        raise ValueError(f"{where}: test_data must be a pair (x_test, y_test). Received: {type(test_data).__name__}"
                         + (f" of length {len(test_data)}" if isinstance(test_data, (tuple, list)) else ""))
    return check_pair(where + " (test_data)", *test_data)
