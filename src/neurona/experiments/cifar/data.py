"""CIFAR-10 as the practical prepared it: the first n training images, flattened, standardized, cached per process."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...datasets import cifar10
from ...datasets.preprocessing import Standardizer, flatten, one_hot, take_first

FIX_COMMAND = "neurona data cifar10"
_CACHE: dict = {}  # (n_train, n_test, data folder) -> CifarData; the report reuses it across exercises
_CACHE_SIZE = 3


class DataUnavailable(FileNotFoundError):
    """CIFAR-10 could be neither found nor downloaded; the message names the command that fixes it."""


class CifarData(NamedTuple):
    """Flattened float32 images standardized with the training mean/std, integer labels, one-hot rows.

    Shape:
        x_train (n_train, 3072), y_train (n_train,), x_test (n_test, 3072), y_test (n_test,),
        y_train_hot (n_train, 10), y_test_hot (n_test, 10).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    y_train_hot: np.ndarray
    y_test_hot: np.ndarray


def fix_hint() -> str:
    """The one-line remedy printed wherever CIFAR-10 is missing."""
    return (f"run `{FIX_COMMAND}` (downloads the 163 MB official archive), or set "
            f"{cifar10.ENV_VAR}=/path/to/folder holding cifar-10-python.tar.gz or cifar-10-batches-py/")


def _where_looked() -> str:
    where = cifar10.info()  # never downloads; returns at once when nothing is there
    names = ", ".join(Path(path).name for path in where["searched"])
    return f"not found in {where['location']} (the {where['location_from']}; looked for {names})"


def _load(download: bool):
    try:
        return cifar10.load(download=download, progress=True)
    except cifar10.DownloadError as exc:
        raise DataUnavailable(f"CIFAR-10 was {_where_looked()}, and downloading it failed: {exc} "
                              f"To fix it, {fix_hint()}.") from exc
    except FileNotFoundError as exc:
        why = "downloading is turned off" if not download else str(exc)
        raise DataUnavailable(f"CIFAR-10 was {_where_looked()}, and {why}. To fix it, {fix_hint()}.") from exc


def _readonly(*arrays):
    for array in arrays:
        array.flags.writeable = False
    return arrays


def _prepare(n_train: int, n_test: int, download: bool) -> CifarData:
    (x_train, y_train), (x_test, y_test) = _load(download)
    x_train, y_train = take_first(x_train, y_train, n_train)
    x_test, y_test = take_first(x_test, y_test, n_test)
    scaler = Standardizer().fit(flatten(x_train))  # the training set's statistics, applied to both
    x_train, x_test = scaler.transform(flatten(x_train)), scaler.transform(flatten(x_test))
    classes = len(cifar10.CLASS_NAMES)
    arrays = (x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64),
              one_hot(y_train, classes), one_hot(y_test, classes))
    return CifarData(*_readonly(*arrays))


def prepare(n_train: int = 5000, n_test: int = 10000, *, download: bool = True) -> CifarData:
    """CIFAR-10 as the practical used it: the first ``n_train`` training and ``n_test`` test images.

    Loaded once per process for each (n_train, n_test, data folder); the arrays are read-only,
    so exercises can share them.

    Args:
        n_train: training images, the first of the training set (the practical used 5000 or 10000).
        n_test: test images (default the whole 10,000-image test set).
        download: fetch the official archive when CIFAR-10 is not found.

    Returns:
        A CifarData of float32 images standardized with the training mean and std.

    Raises:
        DataUnavailable: CIFAR-10 is neither found nor downloadable (the message says how to fix it).

    Example:
        >>> data = prepare(5000)  # doctest: +SKIP
        >>> data.x_train.shape, data.x_test.shape  # doctest: +SKIP
        ((5000, 3072), (10000, 3072))
    """
    folder, _ = cifar10.data_location()
    key = (int(n_train), int(n_test), str(folder))
    if key not in _CACHE:
        data = _prepare(n_train, n_test, download)
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))  # the oldest entry: a report needs at most three sizes at once
        _CACHE[key] = data
    return _CACHE[key]


def clear_cache() -> None:
    """Forget the prepared arrays (tests use it after changing NEURONA_DATA)."""
    _CACHE.clear()
