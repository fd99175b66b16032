"""The state protocol: everything that changes while training gives its state and takes it back.

A state is a dict whose leaves are JSON values (numbers, strings, bools, None, lists) or
NumPy arrays. Loading is two-phase so that a checkpoint restores all or nothing:
``check_state(state)`` validates (a ValueError naming the field) and changes nothing,
``set_state(state)`` then assigns. ``load_state_dict`` does both.

    >>> state = optimizer.state_dict()
    >>> optimizer.load_state_dict(state)
"""

from __future__ import annotations

import numbers

import numpy as np


class StateError(ValueError):
    """A state (from a checkpoint, usually) that does not fit the object it is loaded into."""


class Stateful:
    """Mixin: ``state_dict()``, ``check_state(state)``, ``set_state(state)``, ``load_state_dict(state)``.

    The default is stateless: an empty dict, and only an empty dict is accepted.
    """

    def state_dict(self) -> dict:
        return {}

    def check_state(self, state) -> None:
        fields(state, (), "state")

    def set_state(self, state: dict) -> None:
        pass

    def load_state_dict(self, state) -> None:
        """Check ``state`` whole, then assign it: a bad state changes nothing."""
        self.check_state(state)
        self.set_state(state)


def fields(state, names, where: str) -> dict:
    """``state`` must be a dict with exactly the keys ``names``."""
    if not isinstance(state, dict):
        raise StateError(f"{where} must be a dict. Received: {type(state).__name__}")
    if set(state) != set(names):
        missing, extra = sorted(set(names) - set(state)), sorted(map(str, set(state) - set(names)))[:5]
        raise StateError(f"{where}: expected the fields {sorted(names)}; missing {missing}, unexpected {extra}")
    return state


class Composite(Stateful):
    """The state of a list of parts, each with the protocol, under one key: ``{key: [part states]}``."""

    _state_key = "parts"

    def _state_parts(self) -> list:
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {self._state_key: [part.state_dict() for part in self._state_parts()]}

    def check_state(self, state) -> None:
        key, parts = self._state_key, self._state_parts()
        fields(state, (key,), f"{key} state")
        if not isinstance(state[key], list) or len(state[key]) != len(parts):
            raise StateError(f"{key} state: expected the states of {len(parts)} {key}")
        for part, part_state in zip(parts, state[key]):
            part.check_state(part_state)

    def set_state(self, state: dict) -> None:
        for part, part_state in zip(self._state_parts(), state[self._state_key]):
            part.set_state(part_state)


def array(value, shape: tuple, dtype, where: str, finite: bool = True) -> np.ndarray:
    """``value`` must be an array of exactly ``shape`` and ``dtype`` (and finite, by default)."""
    if not isinstance(value, np.ndarray) or value.shape != tuple(shape) or value.dtype != np.dtype(dtype):
        got = (value.shape, str(value.dtype)) if isinstance(value, np.ndarray) else type(value).__name__
        raise StateError(f"{where} must be a {np.dtype(dtype).name} array of shape {tuple(shape)}. Received: {got}")
    if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
        raise StateError(f"{where} holds NaN or inf")
    return value


def integer(value, where: str, low: int = 0) -> int:
    """``value`` must be an int ≥ ``low`` (bools are not ints here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise StateError(f"{where} must be an int >= {low}. Received: {value!r:.80}")
    return int(value)


def real(value, where: str, allow_inf: bool = False) -> float:
    """``value`` must be a real number (finite, unless ``allow_inf``; never NaN)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != value:
        raise StateError(f"{where} must be a real number. Received: {value!r:.80}")
    if not allow_inf and not np.isfinite(value):
        raise StateError(f"{where} must be finite. Received: {value!r}")
    return float(value)


def optional(check, value, where: str, *args):
    """None, or what ``check(value, where, *args)`` accepts."""
    return None if value is None else check(value, where, *args)


def generator_state(rng: np.random.Generator) -> dict:
    """The JSON-able state of a generator's bit generator."""
    return rng.bit_generator.state


def check_generator(rng: np.random.Generator, value, where: str) -> None:
    """``value`` must be a valid state for ``rng``'s kind of bit generator; tried on a scratch copy."""
    scratch = type(rng.bit_generator)()
    try:
        scratch.state = value
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise StateError(f"{where} is not a valid {type(rng.bit_generator).__name__} state: {exc}"[:300]) from None


def set_generator(rng: np.random.Generator, value) -> None:
    rng.bit_generator.state = value


def streams(seed: int | None) -> tuple:
    """Two independent random streams from one seed: weight initialisation, and shuffling."""
    init_stream, shuffle_stream = np.random.SeedSequence(seed).spawn(2)
    return init_stream, shuffle_stream
