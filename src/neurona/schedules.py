"""Learning-rate schedules: callables from the step number (0, 1, 2, …) to a learning rate."""

from __future__ import annotations

import math

from . import _checks


MAX_STEPS = 10**12  # more optimizer steps than any run takes: a larger count is a mistake


class Schedule(_checks.Configurable):
    """Base class: ``schedule(step)`` returns the learning rate for that optimizer step (an int >= 0)."""

    def __call__(self, step: int) -> float:
        return self.at(_checks.integer(type(self).__name__, "step", step, low=0, high=2**63 - 1))

    def at(self, step: int) -> float:
        """The learning rate at a validated step (subclasses define it)."""
        raise NotImplementedError


class CosineDecay(Schedule):
    """From ``lr`` down to ``lr·alpha`` along half a cosine over ``decay_steps``, then flat.

    Args:
        lr: the initial learning rate.
        decay_steps: steps to reach the final rate (epochs × steps per epoch for a whole run).
        alpha: the final rate as a fraction of ``lr``.
        warmup_steps: steps of linear warm-up from 0 before the decay starts.
    """

    def __init__(self, lr: float, decay_steps: int, alpha: float = 0.0, warmup_steps: int = 0):
        self.lr = _checks.real("CosineDecay", "lr", lr, low=0.0, low_open=True)
        self.decay_steps = _checks.positive_int("CosineDecay", "decay_steps", decay_steps, high=MAX_STEPS)
        self.alpha = _checks.real("CosineDecay", "alpha", alpha, low=0.0, high=1.0)
        self.warmup_steps = _checks.integer("CosineDecay", "warmup_steps", warmup_steps, low=0, high=MAX_STEPS)

    def at(self, step):
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        progress = min(step - self.warmup_steps, self.decay_steps) / self.decay_steps
        return self.lr * (self.alpha + (1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * progress)))

    def get_config(self):
        return {"lr": self.lr, "decay_steps": self.decay_steps, "alpha": self.alpha, "warmup_steps": self.warmup_steps}


class ExponentialDecay(Schedule):
    """lr · rate^(step / decay_steps).

    Args:
        lr: the initial learning rate.
        decay_steps: steps over which the rate multiplies the learning rate once.
        rate: the factor, in (0, 1].
    """

    def __init__(self, lr: float, decay_steps: int, rate: float):
        self.lr = _checks.real("ExponentialDecay", "lr", lr, low=0.0, low_open=True)
        self.decay_steps = _checks.positive_int("ExponentialDecay", "decay_steps", decay_steps, high=MAX_STEPS)
        self.rate = _checks.real("ExponentialDecay", "rate", rate, low=0.0, low_open=True, high=1.0)

    def at(self, step):
        return self.lr * self.rate ** (step / self.decay_steps)

    def get_config(self):
        return {"lr": self.lr, "decay_steps": self.decay_steps, "rate": self.rate}
