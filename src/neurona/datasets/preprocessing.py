"""Preprocessing for arrays of samples: flatten, standardize, one-hot, take the first n, split."""

from __future__ import annotations

import numbers

import numpy as np

from ._messages import echo


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _as_array(caller: str, name: str, value) -> np.ndarray:
    try:
        return np.asarray(value)
    except (ValueError, TypeError, RecursionError) as exc:  # ragged, or nested deeper than NumPy allows
        raise ValueError(f"{caller}: {name} must be a rectangular array. Received: {name}={echo(value)}") from exc


def _as_samples(caller: str, name: str, value) -> np.ndarray:
    array = _as_array(caller, name, value)
    if array.ndim < 1:
        raise ValueError(f"{caller}: {name} must be an array of samples (N, ...). Received: a scalar {name}={echo(value)}")
    return array


def _check_pair(caller: str, x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_samples(caller, "x", x), _as_samples(caller, "y", y)
    if len(x) != len(y):
        raise ValueError(f"{caller}: x and y must hold the same number of samples. Received: len(x)={len(x)}, len(y)={len(y)}")
    return x, y


def flatten(x) -> np.ndarray:
    """Flatten each sample: (N, d1, d2, ...) -> (N, d1*d2*...); a view when possible.

    Example:
        >>> flatten(np.zeros((5, 32, 32, 3))).shape
        (5, 3072)
    """
    x = _as_array("flatten", "x", x)
    if x.ndim < 2:
        raise ValueError(f"flatten: x must have shape (N, ...) with at least 2 dimensions. Received: shape={x.shape}")
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))


MAX_CLASSES = 1_000_000  # one-hot rows wider than this are a mistake, not a dataset
MAX_ONE_HOT_VALUES = 2**28  # N x num_classes; more (1 GB of float32) is a mistake


def one_hot(labels, num_classes: int, dtype=np.float32) -> np.ndarray:
    """Class ids -> one-hot rows: labels (N,) or (N, 1) -> (N, num_classes), 1 at each label.

    Example:
        >>> one_hot([2, 0], 3)
        array([[0., 0., 1.],
               [1., 0., 0.]], dtype=float32)
    """
    if not _is_int(num_classes) or not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f"one_hot: num_classes must be an int in [1, {MAX_CLASSES:,}]. Received: num_classes={echo(num_classes)}")
    dtype = _number_dtype("one_hot", dtype)
    labels = _as_array("one_hot", "labels", labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"one_hot: labels must have shape (N,) or (N, 1). Received: shape={labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot: labels must be integers in [0, {num_classes}). Received: dtype={labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must be integers in [0, {num_classes}). Received: min={labels.min()}, max={labels.max()}"
        )
    if len(labels) * num_classes > MAX_ONE_HOT_VALUES:
        raise ValueError(f"one_hot: {len(labels):,} labels x {num_classes:,} classes is more than "
                         f"{MAX_ONE_HOT_VALUES:,} values; pass fewer labels at a time")
    out = np.zeros((len(labels), num_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


def _number_dtype(caller: str, dtype) -> np.dtype:
    try:
        result = np.dtype(dtype)
    except Exception:  # noqa: BLE001 - np.dtype of arbitrary objects raises many kinds (TypeError, RecursionError, …)
        result = None
    if result is None or result.kind not in "iuf":
        raise ValueError(f"{caller}: dtype must be a number dtype such as float32. Received: dtype={echo(dtype)}")
    return result


def take_first(x, y, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the first `n` samples of x and y (the practical trains on the first 5000 images).

    Example:
        >>> x, y = take_first(np.arange(10), np.arange(10), 3)   # x = [0 1 2]
    """
    x, y = _check_pair("take_first", x, y)
    if not _is_int(n) or n < 1:
        raise ValueError(f"take_first: n must be a positive int. Received: n={echo(n)}")
    if n > len(x):
        raise ValueError(f"take_first: n={echo(n)} is larger than the number of samples ({len(x)}). Pass n <= {len(x)}.")
    return x[:n].copy(), y[:n].copy()


def train_val_split(x, y, *, val_fraction: float | None = None, val_size: int | None = None,
                    seed=0, shuffle: bool = True):
    """Split off a validation set: ``(x_train, y_train), (x_val, y_val)``.

    Args:
        val_fraction: share of samples for validation, in (0, 1) (rounded to a count), or
        val_size: number of validation samples; give exactly one of the two.
        seed: int or numpy Generator for the shuffle (default 0: the same split every run;
            None for fresh randomness).
        shuffle: False keeps the order and takes the last samples for validation.

    Example:
        >>> (x_tr, y_tr), (x_val, y_val) = train_val_split(x, y, val_fraction=0.1, seed=0)  # doctest: +SKIP
    """
    x, y = _check_pair("train_val_split", x, y)
    n_val = _validation_count(len(x), val_fraction, val_size)
    if not isinstance(shuffle, bool):
        raise TypeError(f"train_val_split: shuffle must be True or False. Received: shuffle={echo(shuffle)}")
    order = _generator(seed).permutation(len(x)) if shuffle else np.arange(len(x))
    train, val = order[: len(x) - n_val], order[len(x) - n_val:]
    return (x[train], y[train]), (x[val], y[val])


def _validation_count(n: int, val_fraction, val_size) -> int:
    if (val_fraction is None) == (val_size is None):
        raise ValueError("train_val_split: give exactly one of val_fraction or val_size. "
                         f"Received: val_fraction={echo(val_fraction)}, val_size={echo(val_size)}")
    if val_size is not None:
        if not _is_int(val_size) or not 1 <= val_size <= n - 1:
            raise ValueError(f"train_val_split: val_size must be an int in [1, {n - 1}] for {n} samples. "
                             f"Received: val_size={echo(val_size)}")
        return int(val_size)
    if not isinstance(val_fraction, numbers.Real) or isinstance(val_fraction, bool) or not 0 < val_fraction < 1:
        raise ValueError(f"train_val_split: val_fraction must be a number in (0, 1). Received: val_fraction={echo(val_fraction)}")
    count = int(round(val_fraction * n))
    if not 1 <= count <= n - 1:
        raise ValueError(f"train_val_split: val_fraction={val_fraction} of {n} samples gives {count} validation "
                         "samples; both sets need at least one.")
    return count


def _generator(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (_is_int(seed) and 0 <= seed <= 2**128):
        return np.random.default_rng(seed)
    raise ValueError(f"train_val_split: seed must be a non-negative int, a numpy Generator or None. Received: seed={echo(seed)}")


class Standardizer:
    """Subtract the training mean and divide by the training std (the practical's preprocessing).

    Args:
        per_feature: True (default) keeps one mean and std per feature (per pixel and channel,
            like the practical's ``np.mean(x_train, axis=0)``); False uses one mean and one std
            over all values. A feature with std 0 is only centred (its std is taken as 1).
        chunk_size: rows per step while fitting; statistics are accumulated in float64 one chunk
            at a time, so no float64 copy of the whole dataset is made.

    Attributes:
        mean, std: float32 arrays of the feature shape (or scalars when per_feature=False);
            None until `fit` is called.

    Shape:
        fit: x (N, ...). transform: x (M, ...) with the same trailing shape -> float32, same shape.

    Example:
        >>> scaler = Standardizer().fit(x_train)                        # doctest: +SKIP
        >>> x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)  # doctest: +SKIP
    """

    def __init__(self, per_feature: bool = True, chunk_size: int = 1024):
        if not isinstance(per_feature, bool):
            raise TypeError(f"Standardizer: per_feature must be True or False. Received: per_feature={echo(per_feature)}")
        if not _is_int(chunk_size) or not 1 <= chunk_size <= 2**31:
            bound = " (at most 2**31)" if _is_int(chunk_size) and chunk_size > 1 else ""
            raise ValueError(f"Standardizer: chunk_size must be a positive int{bound}. Received: chunk_size={echo(chunk_size)}")
        self.per_feature, self.chunk_size = per_feature, int(chunk_size)
        self.mean = self.std = self.feature_shape = None

    def fit(self, x) -> "Standardizer":
        """Learn mean and std from the training samples x (N, ...); returns self."""
        x = self._check_input("fit", x, fitted=False)
        if len(x) == 0:
            raise ValueError("Standardizer.fit: x must hold at least one sample. Received: shape=(0, ...)")
        if int(np.prod(x.shape[1:])) == 0:
            raise ValueError(f"Standardizer.fit: x has no features. Received: shape={x.shape}")
        mean, std = _chunked_mean_std(x, self.per_feature, self.chunk_size)
        self.mean = mean.astype(np.float32)
        std = std.astype(np.float32)
        self.std = np.where(std > 0, std, np.float32(1))  # constant features (or spreads below float32's) are only centred
        self.feature_shape = x.shape[1:]
        return self

    def transform(self, x, copy: bool = True) -> np.ndarray:
        """(x - mean) / std as float32; copy=False overwrites x, which must be a writable float32 array."""
        out = self._output("transform", x, copy)
        out -= self.mean
        out /= self.std
        return out

    def fit_transform(self, x, copy: bool = True) -> np.ndarray:
        return self.fit(x).transform(x, copy=copy)

    def inverse_transform(self, x, copy: bool = True) -> np.ndarray:
        """x * std + mean as float32: undoes `transform`."""
        out = self._output("inverse_transform", x, copy)
        out *= self.std
        out += self.mean
        return out

    def _check_input(self, caller: str, x, fitted: bool = True) -> np.ndarray:
        name = f"Standardizer.{caller}"
        if fitted and self.mean is None:
            raise RuntimeError(f"{name}: this Standardizer is not fitted yet; call fit(x_train) first.")
        x = _as_array(name, "x", x)
        if x.ndim < 2 or x.dtype.kind not in "iuf":
            raise ValueError(f"{name}: x must be a numeric array of shape (N, ...). Received: shape={x.shape}, dtype={x.dtype}")
        if fitted and x.shape[1:] != self.feature_shape:
            raise ValueError(f"{name}: x has feature shape {x.shape[1:]}, but the Standardizer was fitted "
                             f"on {self.feature_shape}. Received: shape={x.shape}")
        return x

    def _output(self, caller: str, x, copy: bool) -> np.ndarray:
        if not isinstance(copy, bool):
            raise TypeError(f"Standardizer.{caller}: copy must be True or False. Received: copy={echo(copy)}")
        checked = self._check_input(caller, x)
        if copy:
            return np.array(checked, dtype=np.float32)
        if not (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.writeable):
            raise TypeError(f"Standardizer.{caller}: copy=False works in place, so x must be a writable float32 "
                            f"numpy array. Received: {type(x).__name__} with dtype={checked.dtype}")
        return x


def _check_values(chunk: np.ndarray, start: int) -> None:
    """Statistics and the float32 output need finite values within float32's range."""
    bad = ~np.isfinite(chunk) | (np.abs(chunk) > np.finfo(np.float32).max)
    if bad.any():
        index = np.argwhere(bad)[0]
        index[0] += start
        raise ValueError(f"Standardizer.fit: x must be finite and within float32's range (the output is float32). "
                         f"Received x[{', '.join(map(str, index))}] = {chunk[tuple(np.argwhere(bad)[0])]!r}")


def _chunked_mean_std(x: np.ndarray, per_feature: bool, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std in float64, merging chunk statistics (Chan et al.'s parallel update)."""
    axis = 0 if per_feature else None
    count, mean, m2 = 0, np.float64(0.0), np.float64(0.0)
    for start in range(0, len(x), chunk_size):
        chunk = np.asarray(x[start:start + chunk_size], dtype=np.float64)  # one chunk in float64 at a time
        _check_values(chunk, start)
        chunk_count = chunk.shape[0] if per_feature else chunk.size
        chunk_mean = chunk.mean(axis=axis)
        chunk_m2 = np.square(chunk - chunk_mean).sum(axis=axis)
        delta, total = chunk_mean - mean, count + chunk_count
        mean = mean + delta * (chunk_count / total)
        m2 = m2 + chunk_m2 + np.square(delta) * (count * chunk_count / total)
        count = total
    return np.asarray(mean), np.sqrt(np.asarray(m2) / count)
