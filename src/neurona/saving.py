"""The file format of model files and checkpoints: a zip (``.npz``) of a JSON description and ``.npy`` arrays.

Writing is atomic. Reading runs no code (no pickle) and stays within bounds: only regular
files are opened, the description is limited in bytes and nesting depth, and every array's
declared size, dtype and shape are checked against what the description requires before a
byte of it is allocated, so a small forged file cannot make neurona allocate gigabytes.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import re
import stat
import zipfile

import numpy as np

from ._files import atomic_write

MODEL_FORMAT, MODEL_VERSION = "neurona.model", 2
_MODEL_KEY = "__config__"
MAX_DESCRIPTION_BYTES = 32 << 20
MAX_DEPTH = 64
_HEADER_ALLOWANCE = 1 << 16  # an .npy header is at most 64 KiB
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


# ----- writing -----
def write_archive(path, key: str, description: dict, arrays: dict) -> None:
    """Write ``description`` (as JSON under ``key``) and ``arrays`` into one ``.npz`` at ``path``, atomically."""
    members = dict(arrays)
    members[key] = np.frombuffer(json.dumps(description).encode(), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **members)


def save_model(path, config: dict, weights: list) -> None:
    """A model file: ``config`` (``model.get_config()``) plus ``weights``, a list of (name, array)."""
    description = {"format": MODEL_FORMAT, "version": MODEL_VERSION, **config,
                   "weights": [{"name": name, "shape": list(a.shape), "dtype": a.dtype.name} for name, a in weights]}
    write_archive(path, _MODEL_KEY, description, {f"w{i}": a for i, (_, a) in enumerate(weights)})


# ----- reading -----
class Archive:
    """An open ``.npz`` read within bounds: ``description`` (checked format and version), then ``array(...)``.

    Use as a context manager. Every problem with the file is a ValueError that names it;
    a missing file, a folder or a permission problem are the usual OSErrors, naming it too.
    """

    def __init__(self, path, key: str, fmt: str, versions: tuple, noun: str):
        self.path, self.noun = path, noun
        self._owned = not hasattr(path, "read")
        self._file = _open_regular(path, noun)
        try:
            self._zip = zipfile.ZipFile(self._file)
            self._members = {info.filename: info for info in self._zip.infolist()}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            hint = _pickle_hint(self._file)
            self.close()
            raise ValueError(f"{path}: not a readable neurona {noun} (truncated or corrupt?): {exc}{hint}") from None
        try:
            self.description = self._read_description(key, fmt, versions)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self) -> None:
        if self._owned:
            with contextlib.suppress(Exception):
                self._file.close()

    @property
    def names(self) -> set:
        """The array names the file holds (the description's key excluded)."""
        return {name[:-4] if name.endswith(".npy") else name for name in self._members}

    def _read_description(self, key: str, fmt: str, versions: tuple) -> dict:
        if f"{key}.npy" not in self._members:
            raise ValueError(f"{self.path}: not a neurona {self.noun} (no {key} entry)")
        raw = self._member(key, lambda shape, dtype: dtype == np.uint8 and len(shape) == 1,
                           MAX_DESCRIPTION_BYTES, "the description", "a byte string").tobytes()
        _check_depth(raw, self.path, self.noun)
        try:
            meta = json.loads(raw.decode())
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ValueError(f"{self.path}: the {self.noun.split()[0]} description is corrupt: {exc}"[:500]) from None
        found = meta.get("format") if isinstance(meta, dict) else None
        if found != fmt:
            raise ValueError(f"{self.path}: not a neurona {self.noun} (format={found!r:.80})")
        version = meta.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version not in versions:
            newer = isinstance(version, int) and not isinstance(version, bool) and version > max(versions)
            hint = "; upgrade neurona" if newer else ""
            raise ValueError(f"{self.path}: written in {self.noun.split()[0]} format version {version!r:.40}, but this "
                             f"neurona reads versions {', '.join(map(str, versions))}{hint}")
        return meta

    def array(self, name: str, shape: tuple, dtype, what: str = "") -> np.ndarray:
        """The array ``name``, which must be exactly ``shape`` and ``dtype`` and finite (checked before reading)."""
        dtype, what = np.dtype(dtype), what or f"array {name}"
        nbytes = math.prod(shape) * dtype.itemsize
        value = self._member(name, lambda s, d: s == tuple(shape) and d == dtype, nbytes, what,
                             f"a float array of shape {tuple(shape)} ({dtype.name})")
        if dtype.kind == "f" and not np.isfinite(value).all():
            raise ValueError(f"{self.path}: {what} holds NaN or inf; refused")
        return value

    def _member(self, name: str, accept, limit: int, what: str, expected: str) -> np.ndarray:
        info = self._members.get(f"{name}.npy")
        if info is None:
            raise ValueError(f"{self.path}: not a complete neurona {self.noun} (no {what})")
        if info.file_size > limit + _HEADER_ALLOWANCE:
            raise ValueError(f"{self.path}: {what} declares {info.file_size:,} bytes, more than the "
                             f"{limit:,} it may hold; refused before reading")
        try:
            with self._zip.open(info) as f:
                return _read_npy(f, accept, nbytes_limit=limit)
        except _Mismatch as exc:
            shape, dtype = exc.args
            if dtype.hasobject:
                raise ValueError(f"{self.path}: not a readable neurona {self.noun} ({what} holds pickled Python "
                                 "objects, which neurona never loads)") from None
            raise ValueError(f"{self.path}: {what} should be {expected}; the file has "
                             f"({tuple(shape)!r:.80}, {dtype.name!r})") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ValueError(f"{self.path}: not a readable neurona {self.noun} (truncated or corrupt?): "
                             f"{exc}"[:500]) from None


class _Mismatch(Exception):
    """An .npy header whose shape or dtype is not the expected one: (shape, dtype)."""


def _pickle_hint(f) -> str:
    with contextlib.suppress(Exception):
        f.seek(0)
        if f.read(1) == b"\x80":
            return " (it looks like a Python pickle, which neurona never loads)"
    return ""


def _open_regular(path, noun: str):
    """An open binary file; only regular files (a FIFO or device would hang or never end)."""
    if hasattr(path, "read") and hasattr(path, "seek"):
        return path
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"load: path must be a file path (a str or pathlib.Path). Received: path={path!r:.80}")
    mode = os.stat(path).st_mode  # FileNotFoundError / PermissionError name the path
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise ValueError(f"{path}: cannot read a neurona {noun} from {kind}")
    return open(path, "rb")


def _read_npy(f, accept, nbytes_limit: int) -> np.ndarray:
    """One ``.npy`` stream: the header is checked by ``accept(shape, dtype)`` before the data are read."""
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"unsupported .npy version {version}")
    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = reader(f)
    if dtype.hasobject or not accept(shape, dtype):
        raise _Mismatch(shape, dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > nbytes_limit:
        raise ValueError(f"the header declares {nbytes:,} bytes, more than {nbytes_limit:,}")
    data = f.read(nbytes)
    if len(data) != nbytes or f.read(1):
        raise ValueError("the stored size does not match the array's header")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


def _check_depth(raw: bytes, path, noun: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH before parsing it (the parser would recurse)."""
    skeleton = np.frombuffer(_STRING.sub(b"", raw), dtype=np.uint8)
    steps = np.isin(skeleton, (ord("["), ord("{"))).astype(np.int32) - np.isin(skeleton, (ord("]"), ord("}")))
    if steps.size and int(np.cumsum(steps).max()) > MAX_DEPTH:
        raise ValueError(f"{path}: the {noun} description is nested deeper than {MAX_DEPTH} levels")


# ----- model files -----
class ModelFile(Archive):
    """A model file opened for ``models.load``: ``config`` (checked), then ``weights(expected)``."""

    def __init__(self, path):
        super().__init__(path, _MODEL_KEY, MODEL_FORMAT, (1, MODEL_VERSION), "model file")
        self.config = self.description

    def weights(self, expected: list) -> list:
        """The weight arrays, checked against ``expected`` [(name, shape)] from the layers' own shapes."""
        listed = self.config.get("weights")
        if not isinstance(listed, list) or len(listed) != len(expected) or \
                self.names - {_MODEL_KEY} != {f"w{i}" for i in range(len(expected))}:
            count = len(listed) if isinstance(listed, list) else listed
            raise ValueError(f"{self.path}: the file holds {len(self.names) - 1} weight arrays (its description "
                             f"lists {count!r:.40}), but its layers need {len(expected)}")
        dtype = np.dtype(self.config["dtype"])
        arrays = []
        for i, (name, shape) in enumerate(expected):
            entry = listed[i]
            if not isinstance(entry, dict) or entry.get("shape") != list(shape):
                raise ValueError(f"{self.path}: weight {name} should be a float array of shape {tuple(shape)}; "
                                 f"the description lists {entry!r:.120}")
            arrays.append(self.array(f"w{i}", shape, dtype, what=f"weight {name}"))
        return arrays


def check_description(config: dict) -> None:
    """Type-check a model description's fields before any is used; a ValueError names the field."""
    _expect(config.get("class"), lambda v: v in ("Network", "Model"), "class", "'Network' or 'Model'")
    _expect(config.get("name"), lambda v: v is None or isinstance(v, str), "name", "a string or null")
    _expect(config.get("dtype"), lambda v: v in ("float32", "float64"), "dtype", "'float32' or 'float64'")
    _expect(config.get("seed"), lambda v: v is None or _is_int(v, 0), "seed", "null or an int >= 0")
    _expect(config.get("input_shape"), lambda v: _is_shape(v) and len(v) > 0, "input_shape",
            "a list of positive ints")
    _expect(config.get("layers"), lambda v: isinstance(v, list) and v and all(
        isinstance(e, dict) and isinstance(e.get("class"), str) and isinstance(e.get("config", {}), dict)
        for e in v), "layers", 'a list of {"class": name, "config": {...}}')
    _expect(config.get("steps"), lambda v: isinstance(v, list) and v and all(
        isinstance(s, list) and len(s) == 3 and _is_int(s[0], 0) and isinstance(s[1], list)
        and all(_is_int(i, 0) for i in s[1]) and isinstance(s[2], bool) for s in v), "steps",
        "a list of [layer index, [value indices], as_list]")
    _expect(config.get("weights"), lambda v: isinstance(v, list) and all(
        isinstance(e, dict) and _is_shape(e.get("shape")) for e in v), "weights",
        'a list of {"shape": [positive ints], ...}')


def _expect(value, ok, field: str, what: str) -> None:
    if not ok(value):
        raise ValueError(f"field {field!r} must be {what}. Received: {value!r:.80}")


def _is_int(value, low: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= low


def _is_shape(value) -> bool:
    return isinstance(value, list) and all(_is_int(d, 1) for d in value)
