"""Argument checks shared by the public API: each names the argument and echoes what it received, briefly."""

from __future__ import annotations

import math
import numbers
import reprlib

import numpy as np

ECHO_LIMIT = 80  # characters of a received value shown in an error message
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 60, 60, 40


def echo(value, limit: int = ECHO_LIMIT) -> str:
    """A repr of ``value`` for error messages: at most ``limit`` characters, and it never raises.

    Unlike ``f"{value!r:.80}"`` it never builds the whole repr first, so a list of a million
    entries, a deeply nested list, a 100 MB string or a 10**100000 int costs no time or memory.
    """
    try:
        text = _bounded_repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ (or a RecursionError inside one) must not hide the real error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _bounded_repr(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an int of {value.bit_length()} bits>"  # repr of a huge int is slow, or refused beyond 4300 digits
    if isinstance(value, (bytes, bytearray)):
        return repr(value[:60]) + ("..." if len(value) > 60 else "")
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return repr(value)
        head = np.array2string(value.ravel()[:4], separator=", ", precision=6)[1:-1]
        return f"array([{head}, ...], shape={value.shape}, dtype={value.dtype})"
    return _REPR.repr(value)


def _is_number(value) -> bool:
    return (not isinstance(value, (bool, np.bool_))
            and isinstance(value, (numbers.Real, np.floating, np.integer)))


def positive_int(where: str, name: str, value, *, high: int | None = None) -> int:
    """``value`` as an int ≥ 1 (and ≤ ``high`` when given); NumPy integers accepted, bools and floats refused."""
    return integer(where, name, value, low=1, high=high, what="a positive int")


def integer(where: str, name: str, value, *, low: int | None = None, high: int | None = None,
            what: str | None = None) -> int:
    """``value`` as an int within [low, high]; NumPy integers accepted, bools, floats and strings refused."""
    what = what or _int_range(low, high)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{where}: {name} must be {what}. Received: {name}={echo(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        bound = f" (at most {high:,})" if high is not None and value > high else ""
        raise ValueError(f"{where}: {name} must be {what}{bound}. Received: {name}={echo(value)}")
    return int(value)


def _int_range(low, high) -> str:
    if low is not None and high is not None:
        return f"an int in [{low}, {high}]"
    if low == 0:
        return "a non-negative int"
    return "an int" if low is None and high is None else (f"an int >= {low}" if high is None else f"an int <= {high}")


def real(where: str, name: str, value, *, low: float | None = None, low_open: bool = False,
         high: float | None = None, high_open: bool = False) -> float:
    """``value`` as a finite float within the given bounds; bools, strings, complex and ints too large for a float refused."""
    number = _as_float(value) if _is_number(value) else None
    if number is None or not math.isfinite(number):
        raise ValueError(f"{where}: {name} must be a finite real number. Received: {name}={echo(value)}")
    if low is not None and (number < low or (low_open and number == low)):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{where}: {name} must be {bound}. Received: {name}={echo(value)}")
    if high is not None and (number > high or (high_open and number == high)):
        bound = f"< {high}" if high_open else f"<= {high}"
        raise ValueError(f"{where}: {name} must be {bound}. Received: {name}={echo(value)}")
    return number


def _as_float(value) -> float | None:
    try:
        return float(value)
    except (OverflowError, ValueError, TypeError):  # 10**400 overflows a float: not a usable number
        return None


def real_array(where: str, name: str, value) -> np.ndarray:
    """``value`` as a NumPy array of real numbers (bool, int or float), or a ValueError naming it briefly.

    Converting first, with a bounded echo, keeps a ragged, deeply nested or huge input from
    reaching code that would repr it whole.
    """
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, RecursionError) as exc:  # ragged, or nested deeper than NumPy's 64 dimensions
        raise ValueError(f"{where}: {name} must be a rectangular array of real numbers. Received: {name}={echo(value)}") from exc
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {name} must hold real numbers. Received dtype={array.dtype}: {name}={echo(value)}")
    return array


def boolean(where: str, name: str, value) -> bool:
    """``value`` when it is True or False (NumPy bools accepted); 0, 1, strings and None refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where}: {name} must be True or False. Received: {name}={echo(value)}")
    return bool(value)


def name_or_none(where: str, value, argument: str = "name") -> str | None:
    """``value`` when it is a str or None."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}: {argument} must be a str or None. Received: {argument}={echo(value)}")
    return value


def lookup(family: str, identifier, table: dict, base: type):
    """Resolve a registry entry: an instance of ``base`` as is, a name (case-insensitive) to a new instance."""
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.lower().replace("_", "")
        for name, cls in table.items():
            if name.lower().replace("_", "") == key:
                return cls()
    valid = ", ".join(sorted(table))
    raise ValueError(f"Unknown {family}: {echo(identifier)}. Valid {family} names: {valid}")


def to_config(family: str, obj, table: dict) -> dict:
    """``{"class": registered name, "config": obj.get_config()}``, the form stored in model files."""
    name = next((k for k, v in table.items() if type(obj) is v), None)
    if name is None:
        raise ValueError(f"Cannot save {family} {echo(obj)}: only the built-in ones ({', '.join(table)}) can be stored")
    return {"class": name, "config": obj.get_config()}


def from_config(family: str, config, table: dict):
    """The inverse of :func:`to_config`; only registered classes can be created, so loading runs no foreign code."""
    cls = table.get(config.get("class")) if isinstance(config, dict) and _hashable(config.get("class")) else None
    if cls is None:
        raise ValueError(f"Unknown {family} in model file: {echo(config)}. Valid: {', '.join(table)}")
    arguments = config.get("config", {})
    if not isinstance(arguments, dict) or not all(isinstance(key, str) for key in arguments):
        raise ValueError(f"Bad {family} config in model file: {echo(arguments)} is not a dict of named arguments")
    try:
        return cls(**arguments)
    except TypeError as exc:  # an unknown or missing argument name
        raise ValueError(f"Bad {family} config in model file: {echo(config)}. {exc}") from None


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


MAX_SEED = 2**128  # numpy's SeedSequence takes any int; one this large is a mistake, not a seed


def seed(where: str, value):
    """None (fresh entropy) or a non-negative int."""
    if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer))
                              or not 0 <= value <= MAX_SEED):
        raise ValueError(f"{where}: seed must be None or a non-negative int. Received: seed={echo(value)}")
    return None if value is None else int(value)


class Configurable:
    """Base of every configurable family (activations, losses, optimizers, …): ``get_config()`` and a repr from it."""

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={echo(v)}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
