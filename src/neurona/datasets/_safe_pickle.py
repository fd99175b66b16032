"""Restricted unpickling for CIFAR-10 batch files: admits only the globals a numpy array needs."""

from __future__ import annotations

import codecs
import io
import pickle

import numpy as np

# The real reconstructor, whatever module numpy keeps it in (numpy.core in 1.x, numpy._core in 2.x).
_NUMPY_RECONSTRUCT = np.zeros(1).__reduce__()[0]


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for something a CIFAR-10 batch never needs (possibly a malicious file).

    Also a ValueError, like every other "this file holds the wrong thing" error of the loader.
    """


class _Refused(Exception):
    """Raised by the admitted callables; loads() turns it into an UnsafePickleError naming the file."""


def _reconstruct(subtype, shape, dtype):
    """numpy's ndarray._reconstruct, limited to plain ndarrays."""
    if subtype is not np.ndarray:
        raise _Refused(f"_reconstruct may only build numpy.ndarray, not {subtype!r}")
    return _NUMPY_RECONSTRUCT(subtype, shape, dtype)


def _dtype(*args):
    """numpy.dtype, refusing object dtypes (their elements would be arbitrary Python objects)."""
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise _Refused(f"object dtypes are not allowed. Received: dtype={dtype}")
    return dtype


def _encode_latin1(text, encoding="latin1"):
    """_codecs.encode as Python 3 protocol-2 pickles use it for bytes: str -> latin-1 bytes only."""
    if not isinstance(text, str) or encoding != "latin1":
        raise _Refused(
            f"_codecs.encode is only allowed as encode(str, 'latin1'). Received: encoding={encoding!r}"
        )
    return codecs.encode(text, "latin1")


# (module, name) -> the object handed to the unpickler. Everything else is refused.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy 1.x (official archive)
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # written by numpy 2.x
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode_latin1,  # Python 3 writes bytes this way at protocol 2
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str):
        # encoding="bytes": the official batches were written by Python 2; their str become bytes.
        super().__init__(file, encoding="bytes")
        self._source = source

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(_refusal(self._source, f"forbidden global '{module}.{name}'")) from None


def _refusal(source: str, what: str) -> str:
    return (
        f"{source}: {what} in pickle. A CIFAR-10 batch holds only numpy arrays, lists and "
        "strings, so this file is not a genuine batch (it may be malicious); it was not run. "
        "Delete it and run `neurona data cifar10`."
    )


def loads(data: bytes, source: str):
    """Unpickle `data` allowing only numpy-array globals; `source` names the file in errors."""
    try:
        return _RestrictedUnpickler(io.BytesIO(data), source).load()
    except _Refused as exc:
        raise UnsafePickleError(_refusal(source, str(exc))) from None
