"""A cache of decoded CIFAR-10 arrays in one uncompressed .npz, keyed on the source files' identity."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._files import atomic_write, is_writable

# Bump when the cached layout changes, so old caches are rebuilt rather than misread.
FORMAT_VERSION = 1
_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "label_names", "batch_sizes")


def source_key(files: list[Path]) -> str:
    """Identity of the source: each file's absolute path, size and modification time (ns)."""
    parts = [f"v{FORMAT_VERSION}"]
    for path in files:
        stat = path.stat()
        parts.append(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}")
    return "\n".join(parts)


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
        with np.load(path, allow_pickle=False) as npz:
            return str(npz["key"])
    except Exception:  # noqa: BLE001 - unreadable means corrupt, nothing more
        return None


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
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in _ARRAYS}
    except Exception:  # noqa: BLE001 - any damage (bad zip, short file, missing array) is just a miss
        return None
    arrays["label_names"] = tuple(str(name) for name in arrays["label_names"])
    return arrays if _looks_valid(arrays) else None


def _looks_valid(arrays: dict) -> bool:
    x_train, y_train, x_test, y_test = (arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    images_ok = all(x.dtype == np.uint8 and x.shape[1:] == (32, 32, 3) for x in (x_train, x_test))
    labels_ok = all(y.dtype == np.int64 and y.ndim == 1 for y in (y_train, y_test))
    return images_ok and labels_ok and len(x_train) == len(y_train) and len(x_test) == len(y_test)


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
