"""Argument checks shared by the public API: each names the argument and echoes what it received."""

from __future__ import annotations

import numbers

import numpy as np


def positive_int(where: str, name: str, value) -> int:
    """``value`` as an int ≥ 1 (NumPy integers accepted; bools and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive int. Received: {name}={value!r}")
    return int(value)


def real(where: str, name: str, value, *, low: float | None = None, low_open: bool = False,
         high: float | None = None) -> float:
    """``value`` as a finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)) or not np.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite real number. Received: {name}={value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{where}: {name} must be {bound}. Received: {name}={value!r}")
    if high is not None and value > high:
        raise ValueError(f"{where}: {name} must be <= {high}. Received: {name}={value!r}")
    return float(value)


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
    raise ValueError(f"Unknown {family}: {identifier!r}. Valid {family} names: {valid}")


def to_config(family: str, obj, table: dict) -> dict:
    """``{"class": registered name, "config": obj.get_config()}``, the form stored in model files."""
    name = next((k for k, v in table.items() if type(obj) is v), None)
    if name is None:
        raise ValueError(f"Cannot save {family} {obj!r}: only the built-in ones ({', '.join(table)}) can be stored")
    return {"class": name, "config": obj.get_config()}


def from_config(family: str, config, table: dict):
    """The inverse of :func:`to_config`; only registered classes can be created, so loading runs no foreign code."""
    cls = table.get(config.get("class")) if isinstance(config, dict) else None
    if cls is None:
        raise ValueError(f"Unknown {family} in model file: {config!r:.80}. Valid: {', '.join(table)}")
    return cls(**config.get("config", {}))


def seed(where: str, value):
    """None (fresh entropy) or a non-negative int."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 0):
        raise ValueError(f"{where}: seed must be None or a non-negative int. Received: seed={value!r}")
    return None if value is None else int(value)


class Configurable:
    """Base of every configurable family (activations, losses, optimizers, …): ``get_config()`` and a repr from it."""

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
