"""A cache of decoded CIFAR-10 arrays in one uncompressed .npz, bound to the source by a content digest.

A cache is used only if its stored key (format version + SHA-256 of the source files) matches the
source, and its arrays pass the same checks as decoded batches (shapes, dtypes, labels 0..9, ten
class names, batch sizes). Anything else is a miss: the source is decoded again.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._files import atomic_write, is_writable
from ._cifar10_source import open_regular

# Bump when the cached layout changes, so old caches are rebuilt rather than misread.
FORMAT_VERSION = 2  # 2: keyed on a SHA-256 of the source's content (1: path, size and mtime)
_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "label_names", "batch_sizes")
_MAX_BYTES = {"x_train": 512 * 2**20, "x_test": 512 * 2**20, "y_train": 16 * 2**20, "y_test": 16 * 2**20,
              "label_names": 2**16, "batch_sizes": 2**12, "key": 2**12}  # real: 154 MB, 31 MB, 400 KB, 80 KB, …
_MAX_FILE_BYTES = sum(_MAX_BYTES.values()) + 2**20  # the arrays plus the zip's headers
_MAX_NAME_CHARS = 100


def source_key(digest: str) -> str:
    """The key stored with the cache: the format version and the source's content digest."""
    return f"v{FORMAT_VERSION}\nsha256:{digest}"


def status(candidates: list[Path], key: str) -> tuple[str, Path | None]:
    """("fresh", path) if a candidate's stored key matches, else ("stale"|"corrupt"|"missing", path|None)."""
    seen = []
    for path in candidates:
        if path.is_file():
            stored = _read_key(path)
            if stored == key:
                return "fresh", path
            seen.append(("corrupt" if stored is None else "stale", path))
    return seen[0] if seen else ("missing", None)


def _read_key(path: Path) -> str | None:
    try:
        with open_regular(path, _MAX_FILE_BYTES, "") as file:  # a FIFO put in its place is not waited on
            if not _members_look_right(file):
                return None
            file.seek(0)
            with np.load(file, allow_pickle=False) as npz:
                key = npz["key"]
        return str(key) if key.dtype.kind == "U" and key.ndim == 0 else None
    except Exception:  # noqa: BLE001 - unreadable means corrupt, nothing more
        return None


def _members_look_right(file) -> bool:
    """Exactly our arrays, stored uncompressed and of bounded size: no zip bomb is ever inflated."""
    with zipfile.ZipFile(file) as archive:
        infos = archive.infolist()
    sizes = {info.filename.removesuffix(".npy"): info.file_size for info in infos}
    return (sorted(info.filename for info in infos) == sorted(f"{name}.npy" for name in _MAX_BYTES)
            and all(info.compress_type == zipfile.ZIP_STORED for info in infos)
            and all(sizes[name] <= limit for name, limit in _MAX_BYTES.items()))


def read(candidates: list[Path], key: str) -> dict | None:
    """The cached arrays from the first candidate whose key matches, or None (any damage = a miss)."""
    for path in candidates:
        if path.is_file() and _read_key(path) == key:  # check the small key before reading 180 MB
            arrays = _read_arrays(path)
            if arrays is not None:
                return arrays
    return None


def _read_arrays(path: Path) -> dict | None:
    try:
        with open_regular(path, _MAX_FILE_BYTES, "") as file, np.load(file, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in _ARRAYS}
    except Exception:  # noqa: BLE001 - any damage (bad zip, short file, missing array) is just a miss
        return None
    if not is_valid(arrays):
        return None
    arrays["label_names"] = tuple(str(name) for name in arrays["label_names"])
    return arrays


def is_valid(arrays: dict) -> bool:
    """The checks the batches pass, applied to cached arrays: a forged cache yields nothing out of range."""
    x_train, y_train, x_test, y_test = (arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    images_ok = all(x.dtype == np.uint8 and x.ndim == 4 and x.shape[1:] == (32, 32, 3) for x in (x_train, x_test))
    labels_ok = all(y.dtype == np.int64 and y.ndim == 1 and (y.size == 0 or (y.min() >= 0 and y.max() <= 9))
                    for y in (y_train, y_test))
    if not (images_ok and labels_ok and len(x_train) == len(y_train) and len(x_test) == len(y_test)):
        return False
    return _names_ok(arrays["label_names"]) and _sizes_ok(arrays["batch_sizes"], len(x_train), len(x_test))


def _names_ok(names) -> bool:
    names = np.asarray(names)
    return (names.shape == (10,) and names.dtype.kind == "U"
            and all(1 <= len(str(name)) <= _MAX_NAME_CHARS for name in names))


def _sizes_ok(sizes: np.ndarray, n_train: int, n_test: int) -> bool:
    """Five training batches and the test batch, each non-empty, adding up to the arrays' lengths."""
    return (sizes.dtype == np.int64 and sizes.shape == (6,) and bool((sizes >= 1).all())
            and int(sizes[:5].sum()) == n_train and int(sizes[5]) == n_test)


def write(candidates: list[Path], arrays: dict, key: str) -> Path | None:
    """Write the cache atomically to the first writable candidate; warn and return None if none is."""
    payload = {name: arrays[name] for name in _ARRAYS}
    payload["label_names"] = np.array(arrays["label_names"], dtype=str)
    payload["key"] = np.array(key)
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not is_writable(path.parent):
                continue  # e.g. a read-only shared data folder: fall back to the user cache
            with atomic_write(path) as file:
                np.savez(file, **payload)  # uncompressed: loading is then a plain read
            return path
        except OSError:
            continue
    warnings.warn(f"Could not write the CIFAR-10 cache to any of {[str(p) for p in candidates]}; "
                  "later loads will decode the archive again.", RuntimeWarning, stacklevel=3)
    return None
