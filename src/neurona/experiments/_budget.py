"""A training budget in minutes, kept on any machine: the first epoch is timed, the schedule sized from it.

A run with a fixed number of epochs and a time limit stops where the limit falls: on a slower machine,
before its learning rate has decayed. Here the first epoch (at the warm-up rate) is timed, the number
of epochs the budget allows is fixed from it, and the cosine decay is stretched over exactly those,
so a slower machine trains fewer epochs but still finishes its schedule.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from .. import callbacks, schedules
from . import _common

MAX_EPOCHS = 1000  # fit's epochs; the plan (or a fixed number of epochs) stops the run long before


class PlannedDecay(schedules.Schedule):
    """Linear warm-up over the first epoch, then a cosine decay to 0 over ``decay_steps``.

    The decay's length is set once the first epoch has been timed (``PlanFromFirstEpoch``);
    until then the rate stays at ``lr``.
    """

    def __init__(self, lr: float, warmup_steps: int, decay_steps: int | None = None):
        self.lr, self.warmup_steps, self.decay_steps = lr, warmup_steps, decay_steps

    def at(self, step):
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if not self.decay_steps:
            return self.lr
        progress = min(step - self.warmup_steps, self.decay_steps) / self.decay_steps
        return self.lr * 0.5 * (1 + math.cos(math.pi * progress))

    def get_config(self):
        return {"lr": self.lr, "warmup_steps": self.warmup_steps, "decay_steps": self.decay_steps}


class PlanFromFirstEpoch(callbacks.Callback):
    """Times the first epoch, fixes the number of epochs the budget allows, and stops training after them.

    The plan is written to ``plan.json`` (and read back on --resume), so a resumed run follows the same
    schedule; ``Config.epochs`` fixes it instead, for a run that the seed alone decides bit for bit.
    The plan is at least 2 epochs (warm-up, then decay): where one epoch takes more than half the
    budget, the run overruns it.
    """

    def __init__(self, schedule: PlannedDecay, steps_per_epoch: int, budget_seconds: float, path: Path,
                 epochs: int | None = None):
        self.schedule, self.steps_per_epoch, self.budget, self.path = schedule, steps_per_epoch, budget_seconds, path
        self.epochs, self.first_epoch_seconds = None, None
        if epochs is not None:
            self._fix(epochs)

    def _fix(self, epochs: int) -> None:
        self.epochs = epochs
        self.schedule.decay_steps = max(epochs - 1, 1) * self.steps_per_epoch

    def on_train_begin(self):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        if self.epochs is None:
            self.first_epoch_seconds = time.perf_counter() - self.started
            self._fix(max(2, min(MAX_EPOCHS, int(self.budget // self.first_epoch_seconds))))
            _common.write_json(self.path, {"epochs": self.epochs, "first_epoch_seconds": self.first_epoch_seconds,
                                           "budget_seconds": self.budget})
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def planned_epochs(config, plan_path: Path, resume: bool) -> int | None:
    """``config.epochs`` if fixed; on --resume the plan.json of the interrupted run; else None (time the first epoch)."""
    if config.epochs is not None:
        return config.epochs
    if resume and plan_path.exists():
        return int(json.loads(plan_path.read_text())["epochs"])
    return None
