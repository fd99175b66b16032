"""The captured training step: one step recorded as kernels over preallocated buffers, replayed with no graph.

``fit`` captures the step when it can (a chain of Dense, Activation, Dropout, Flatten layers, a
Concatenate of the input; MSE, CCE or SVM loss; L2 or L1 penalties; SGD, BGD, RMSprop, Adam, with
clipnorm and schedules) and otherwise trains with the eager engine, which stays the reference:
the captured step gives its numbers bit for bit. ``NEURONA_CAPTURE=off`` always trains eagerly;
``NEURONA_CAPTURE=debug`` says on stderr, for every fit, which step it uses and why.
"""

from __future__ import annotations

import os
import sys

from .kernels import Unsupported
from .step import CapturedStep

__all__ = ["CapturedStep", "Unsupported", "capture", "mode"]

_MODES = ("auto", "off", "debug")


def mode() -> str:
    """``NEURONA_CAPTURE``: auto (default), off or debug; anything else is an error naming the value."""
    value = os.environ.get("NEURONA_CAPTURE", "auto").strip().lower() or "auto"
    if value not in _MODES:
        raise ValueError(f"NEURONA_CAPTURE must be one of {', '.join(_MODES)}. "
                         f"Received: NEURONA_CAPTURE={os.environ['NEURONA_CAPTURE']!r:.80}")
    return value


def capture(model, plan):
    """(a CapturedStep, None), or (None, why not) when the model, loss or optimizer has no captured form."""
    current = mode()
    if current == "off":
        return None, "NEURONA_CAPTURE=off"
    try:
        step, reason = CapturedStep(model, plan), None
    except Unsupported as exc:
        step, reason = None, str(exc)
    if current == "debug":
        print(f"neurona: fit uses the {'captured' if step else 'eager'} step"
              + (f" ({reason})" if reason else ""), file=sys.stderr)
    return step, reason
