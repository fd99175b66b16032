"""Restricted unpickling for CIFAR-10 batch files: admits only what a numpy array of numbers needs.

Bounded in memory: the pure-Python unpickler keeps its memo in a dict (the C one sizes an array
by the largest memo index, so a 9-byte pickle can ask for gigabytes), arrays are rebuilt only from
their raw bytes (no shape without data), and no admitted callable allocates more than its input.
"""

from __future__ import annotations

import codecs
import io
import pickle

import numpy as np

from ._messages import clip, echo

# The real reconstructor, whatever module numpy keeps it in (numpy.core in 1.x, numpy._core in 2.x).
_NUMPY_RECONSTRUCT = np.zeros(1).__reduce__()[0]
MAX_PICKLE_BYTES = 256 * 2**20  # a real batch is 30-45 MB
_MAX_NDIM = 2  # a batch's arrays are (N, 3072) images or (N,) labels


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for something a CIFAR-10 batch never needs (possibly a malicious file).

    Also a ValueError, like every other "this file holds the wrong thing" error of the loader.
    """


class _Refused(Exception):
    """Raised by the admitted callables; loads() turns it into an UnsafePickleError naming the file."""


class _NdarrayClass:
    """Stands for numpy.ndarray as _reconstruct's first argument; not callable, so no pickle can build with it."""

    def __repr__(self) -> str:
        return "numpy.ndarray"


_NDARRAY = _NdarrayClass()


_BYTE_CODES = (b"b", "b")  # numpy pickles an array as _reconstruct(ndarray, (0,), b'b'), then its state


def _reconstruct(subtype, shape, dtype):
    """numpy's ndarray._reconstruct exactly as numpy pickles it: an empty plain ndarray, filled by BUILD."""
    if subtype is not _NDARRAY or type(shape) is not tuple or shape != (0,) \
            or type(dtype) not in (bytes, str) or dtype not in _BYTE_CODES:
        raise _Refused(f"_reconstruct may only start an empty numpy.ndarray. Received: ({echo(subtype, 40)}, "
                       f"{echo(shape, 40)}, {echo(dtype, 40)})")
    return _NUMPY_RECONSTRUCT(np.ndarray, (0,), b"b")


def _dtype(name, align=False, copy=True):
    """numpy.dtype of a plain number type only (bool, int, uint, float): no objects, fields or sub-arrays."""
    if not (type(name) in (str, bytes) and len(name) <= 8 and type(align) in (bool, int) and type(copy) in (bool, int)):
        raise _Refused(f"numpy.dtype is only allowed for a short type code. Received: {echo(name, 40)}")
    try:
        dtype = np.dtype(name.decode("ascii") if isinstance(name, bytes) else name)
    except (TypeError, ValueError, UnicodeDecodeError) as exc:
        raise _Refused(f"not a numpy type code: {echo(name, 40)}") from exc
    if dtype.hasobject:
        raise _Refused(f"object dtypes are not allowed. Received: dtype={dtype}")
    if dtype.kind not in "biuf":
        raise _Refused(f"only number dtypes are allowed (no structures, strings or dates). Received: dtype={dtype}")
    return dtype


def _encode_latin1(text, encoding="latin1"):
    """_codecs.encode as Python 3 protocol-2 pickles use it for bytes: str -> latin-1 bytes only."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _Refused(
            f"_codecs.encode is only allowed as encode(str, 'latin1'). Received: encoding={echo(encoding, 40)}"
        )
    return codecs.encode(text, "latin1")


# (module, name) -> the object handed to the unpickler. Everything else is refused.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy 1.x (official archive)
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy 2.x
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode_latin1,  # Python 3 writes bytes this way at protocol 2
}


def _set_array_state(array: np.ndarray, state) -> None:
    """ndarray.__setstate__ only for (1, shape, number dtype, fortran, raw bytes) whose sizes agree."""
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        raise _Refused("an array's state must be (1, shape, dtype, is_fortran, raw bytes)")
    _, shape, dtype, fortran, raw = state
    if not (isinstance(shape, tuple) and len(shape) <= _MAX_NDIM and all(type(n) is int and n >= 0 for n in shape)):
        raise _Refused(f"an array's shape must be at most {_MAX_NDIM} sizes. Received: {echo(shape, 60)}")
    if not (isinstance(dtype, np.dtype) and dtype.kind in "biuf" and not dtype.fields and dtype.subdtype is None):
        raise _Refused(f"an array's dtype must be a number type. Received: {echo(dtype, 60)}")
    if not (isinstance(raw, bytes) and isinstance(fortran, bool)):
        raise _Refused("an array's data must be bytes")
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(raw):
        raise _Refused(f"an array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes. "
                       f"Received: {len(raw)}")
    array.__setstate__(state)


def _set_dtype_state(dtype: np.dtype, state) -> None:
    """dtype.__setstate__ only with the state numpy writes for a plain number type (no fields, no object flag)."""
    plain = (type(state) is tuple and len(state) == 8 and all(type(v) in _FLAT_KEYS for v in state) and state[0] == 3 and state[1] in ("<", ">", "|", "=", b"<",
             b">", b"|", b"=") and state[2:5] == (None, None, None) and state[5:] == (-1, -1, 0))
    if not plain:
        raise _Refused(f"a dtype's state must be that of a plain number type. Received: {echo(state, 80)}")
    dtype.__setstate__(state if isinstance(state[1], str) else (3, state[1].decode(), *state[2:]))


class _RestrictedUnpickler(pickle._Unpickler):  # noqa: SLF001 - the Python unpickler: a dict memo, overridable BUILD
    dispatch = dict(pickle._Unpickler.dispatch)  # noqa: SLF001

    def __init__(self, file, source: str):
        # encoding="bytes": the official batches were written by Python 2; their str become bytes.
        super().__init__(file, encoding="bytes")
        self._source = source

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            what = f"{clip(str(module), 60)}.{clip(str(name), 60)}"
            raise UnsafePickleError(_refusal(self._source, f"forbidden global '{what}'")) from None

    def load_build(self):
        state = self.stack.pop()
        target = self.stack[-1]
        if type(target) is np.ndarray:
            _set_array_state(target, state)
        elif isinstance(target, np.dtype):
            _set_dtype_state(target, state)
        else:
            raise _Refused(f"setting the state of a {type(target).__name__}")

    dispatch[pickle.BUILD[0]] = load_build

    # Keys and set members are hashed, and hashing a tuple nested 100 000 deep overflows the C stack
    # (a segfault, not a RecursionError): only flat keys are admitted, as a batch's dicts have.
    def load_setitem(self):
        _check_keys(self.stack[-2:-1])
        super().load_setitem()

    def load_setitems(self):
        _check_keys(self._items_after_mark()[::2])
        super().load_setitems()

    def load_dict(self):
        _check_keys(self._items_after_mark()[::2])
        super().load_dict()

    def load_additems(self):
        _check_keys(self._items_after_mark())
        super().load_additems()

    def load_frozenset(self):
        _check_keys(self._items_after_mark())
        super().load_frozenset()

    def _items_after_mark(self) -> list:
        """The items a MARK-terminated opcode is about to take: after MARK, pickle starts a fresh ``self.stack``."""
        return self.stack

    for _opcode, _method in ((pickle.SETITEM, load_setitem), (pickle.SETITEMS, load_setitems), (pickle.DICT, load_dict),
                             (pickle.ADDITEMS, load_additems), (pickle.FROZENSET, load_frozenset)):
        dispatch[_opcode[0]] = _method


def _check_keys(keys) -> None:
    for key in keys:
        if type(key) not in _FLAT_KEYS:
            raise _Refused(f"dict keys and set members must be plain str, bytes or numbers. Received: a "
                           f"{type(key).__name__}")


_FLAT_KEYS = (str, bytes, int, float, bool, type(None))


def _refusal(source: str, what: str) -> str:
    return (
        f"{source}: {what} in pickle. A CIFAR-10 batch holds only numpy arrays, lists and "
        "strings, so this file is not a genuine batch (it may be malicious); it was not run. "
        "Delete it and run `neurona data cifar10`."
    )


def loads(data: bytes, source: str):
    """Unpickle `data` allowing only numpy arrays of numbers; `source` names the file in errors."""
    if len(data) > MAX_PICKLE_BYTES:
        raise UnsafePickleError(_refusal(source, f"{len(data)} bytes, far more than a CIFAR-10 batch,"))
    try:
        return _RestrictedUnpickler(io.BytesIO(data), source).load()
    except _Refused as exc:
        raise UnsafePickleError(_refusal(source, str(exc))) from None
