"""Keras's habits beside the practical's: each one an alias or a small adapter onto the same code path."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from . import _checks, losses, metrics, optimizers


def refuse_unknown(where: str, unknown: dict, known) -> None:
    """A TypeError for the first unknown keyword, from the public method's name, with a close match if any."""
    if not unknown:
        return
    name = next(iter(unknown))
    close = difflib.get_close_matches(str(name), list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f". Valid keywords: {', '.join(sorted(known))}"
    raise TypeError(f"{where}() got an unexpected keyword argument {name!r}{hint}")


_ACCURACY_NAMES = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy", "binary_accuracy")


@dataclass
class Compiled:
    """What ``model.compile(optimizer=, loss=, metrics=)`` fixed for later ``fit`` and ``evaluate`` calls."""

    optimizer: optimizers.Optimizer
    loss: losses.Loss | None
    metrics: tuple

    @classmethod
    def make(cls, optimizer, loss, metric_names) -> "Compiled":
        return cls(optimizers.get(optimizer), None if loss is None else losses.get(loss), _metrics(metric_names))


def _metrics(names) -> tuple:
    """The metrics a History holds besides the loss: accuracy (under any of Keras's names), always measured."""
    if names is None:
        return ()
    if not isinstance(names, (list, tuple)):
        raise TypeError(f"compile: metrics must be a list, e.g. ['accuracy']. Received: metrics={_checks.echo(names)}")
    for name in names:
        if not (isinstance(name, metrics.Accuracy) or name is metrics.Accuracy or name in _ACCURACY_NAMES):
            raise ValueError(f"compile: unknown metric {_checks.echo(name)}; neurona measures the loss and accuracy "
                             f"({', '.join(_ACCURACY_NAMES)}) of every fit")
    return ("accuracy",) if names else ()


def resolve_loss(where: str, loss, compiled: Compiled | None):
    """The loss to use: the one given, else the compiled one; never a silent default."""
    if loss is None and compiled is not None:
        loss = compiled.loss
    if loss is None:
        raise ValueError(f"{where}: no loss was given. Pass loss=... (e.g. loss='cce' for class labels, 'mse' for "
                         "values) or call model.compile(optimizer=..., loss=...) first")
    return losses.get(loss)


def split_validation(x, y, test_data, validation_data, validation_split) -> tuple:
    """(x, y, test_data) after Keras's validation_data (an alias) and validation_split (the last fraction)."""
    if validation_data is not None:
        if test_data is not None:
            raise ValueError("fit: give test_data or validation_data, not both (they are the same thing)")
        test_data = validation_data
    split = _checks.real("fit", "validation_split", validation_split, low=0.0)
    if split >= 1:
        raise ValueError(f"fit: validation_split must be in [0, 1). Received: validation_split={validation_split!r}")
    if not split:
        return x, y, test_data
    if test_data is not None:
        raise ValueError("fit: give validation_split or test_data/validation_data, not both")
    x, y = np.asarray(x), np.asarray(y)
    keep = len(x) - int(len(x) * split)  # as Keras: the last samples, taken before any shuffling
    if keep < 1 or keep == len(x):
        raise ValueError(f"fit: validation_split={validation_split!r} of {len(x)} samples leaves "
                         f"{keep} to train on and {len(x) - keep} to validate on; both need at least one")
    return x[:keep], y[:keep], (x[keep:], y[keep:])
