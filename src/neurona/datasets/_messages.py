"""Bounded echoes of untrusted values for error messages (datasets import only numpy and the stdlib)."""

from __future__ import annotations

import reprlib

import numpy as np

LIMIT = 80
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 60, 60, 40


def echo(value, limit: int = LIMIT) -> str:
    """A repr of ``value`` of at most ``limit`` characters that never builds the whole repr, and never raises."""
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
            text = f"<an int of {value.bit_length()} bits>"  # repr of a huge int is slow, or refused
        elif isinstance(value, (bytes, bytearray)):
            text = repr(value[:60]) + ("..." if len(value) > 60 else "")
        elif isinstance(value, np.ndarray) and value.size > 8:
            text = f"<array of shape {value.shape} and dtype {value.dtype}>"
        else:
            text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    return clip(text, limit)


def clip(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters: names and messages from a file are echoed, never whole."""
    return text if len(text) <= limit else text[:limit - 3] + "..."
