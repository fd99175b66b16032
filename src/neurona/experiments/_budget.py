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

from .. import callbacks, losses, optimizers, schedules
from . import _common

MAX_EPOCHS = 1000  # fit's epochs; the plan (or a fixed number of epochs) stops the run long before


class PlannedDecay(schedules.Schedule):
    """Linear warm-up over the first epoch, then a cosine decay to 0 over ``decay_steps``.

    The decay's length is set once the first epoch has been timed (``PlanFromFirstEpoch``); until
    then the rate stays at ``lr``. A plan shortened later (the machine slowed down) restarts the
    cosine where it stood: from the rate reached at that step down to 0 at the new end, so the rate
    neither jumps nor stops short. ``restarts`` lists each such (step, decay_steps before it).
    """

    def __init__(self, lr: float, warmup_steps: int, decay_steps: int | None = None, restarts=()):
        self.lr, self.warmup_steps, self.decay_steps = lr, warmup_steps, decay_steps
        self.restarts = [(int(step), int(before)) for step, before in restarts]

    def at(self, step):
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if not self.decay_steps:
            return self.lr
        start, rate = self.warmup_steps, self.lr
        for restart, before in self.restarts:
            end = self.warmup_steps + before
            if step < restart:
                return _cosine(rate, step - start, end - start)
            start, rate = restart, _cosine(rate, restart - start, end - start)
        return _cosine(rate, step - start, self.warmup_steps + self.decay_steps - start)

    def shorten(self, step: int, decay_steps: int) -> None:
        """From ``step`` on, decay from the current rate to 0 over what is left of ``decay_steps``."""
        self.restarts.append((step, self.decay_steps))
        self.decay_steps = decay_steps

    def get_config(self):
        return {"lr": self.lr, "warmup_steps": self.warmup_steps, "decay_steps": self.decay_steps,
                "restarts": [list(r) for r in self.restarts]}


def _cosine(rate: float, done: int, length: int) -> float:
    """Half a cosine from ``rate`` to 0 over ``length`` steps, ``done`` of them done."""
    return rate * 0.5 * (1 + math.cos(math.pi * min(done, length) / max(length, 1)))


class PlanFromFirstEpoch(callbacks.Callback):
    """Times the first epoch, fixes the number of epochs the budget allows, and stops training after them.

    After each later epoch it checks the pace: if the machine slowed down so that the plan would
    overrun the budget, it shortens the plan to the epochs that still fit (at the pace so far) and
    restarts the decay from where it stands. The plan is written to ``plan.json``
    (and read back on --resume, where it is followed as written), so a resumed run follows the same
    schedule; ``Config.epochs`` fixes it instead, for a run that the seed alone decides bit for bit.
    The plan is at least 2 epochs (warm-up, then decay): where one epoch takes more than half the
    budget, the run overruns it.
    """

    def __init__(self, schedule: PlannedDecay, steps_per_epoch: int, budget_seconds: float, path: Path,
                 epochs: int | None = None, restarts=()):
        self.schedule, self.steps_per_epoch, self.budget, self.path = schedule, steps_per_epoch, budget_seconds, path
        self.epochs, self.first_epoch_seconds, self.timed = None, None, False
        if epochs is not None:
            self._fix(epochs)
            self.schedule.restarts = [tuple(r) for r in restarts]

    @property
    def planned_epochs(self):
        """The epochs the plan trains (None until the first epoch is timed); the progress bar's total."""
        return self.epochs

    def _fix(self, epochs: int) -> None:
        self.epochs = epochs
        self.schedule.decay_steps = max(epochs - 1, 1) * self.steps_per_epoch

    def on_train_begin(self):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        elapsed = time.perf_counter() - self.started
        if self.epochs is None:
            self.first_epoch_seconds, self.timed = elapsed, True
            self._fix(max(2, min(MAX_EPOCHS, int(self.budget // elapsed))))
            self._write()
        elif self.timed and epoch + 1 < self.epochs:
            self._keep_pace(epoch + 1, elapsed)
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True

    def _keep_pace(self, done: int, elapsed: float) -> None:
        pace = elapsed / done
        if elapsed + (self.epochs - done) * pace <= self.budget:
            return
        epochs = max(done + 1, done + int((self.budget - elapsed) // pace))
        if epochs < self.epochs:
            step = done * self.steps_per_epoch
            self.schedule.shorten(step, max(epochs - 1, 1) * self.steps_per_epoch)
            self.epochs = epochs
            self._write()

    def _write(self) -> None:
        _common.write_json(self.path, {"epochs": self.epochs, "first_epoch_seconds": self.first_epoch_seconds,
                                       "budget_seconds": self.budget,
                                       "restarts": [list(r) for r in self.schedule.restarts]})


def saved_plan(config, plan_path: Path, resume: bool) -> dict:
    """``config.epochs`` if fixed; on --resume the plan.json of the interrupted run; else no plan (time the first epoch).

    Returns the keyword arguments ``epochs`` and ``restarts`` of PlanFromFirstEpoch.
    """
    if config.epochs is not None:
        return {"epochs": config.epochs}
    if resume and plan_path.exists():
        plan = json.loads(plan_path.read_text())
        return {"epochs": int(plan["epochs"]), "restarts": [tuple(r) for r in plan.get("restarts", [])]}
    return {}


def train_within_budget(config, out_dir, *, name: str, title: str, minutes: float, model, data, verbose: int,
                        overwrite: bool, resume: bool) -> dict:
    """One CIFAR-10 run sized by the first epoch (cifar-best, cifar-cnn): Adam on the planned decay, CCE,
    a checkpoint every epoch; writes model.npz, curves.png, history.csv, plan.json and summary.json.

    ``model`` and ``data`` build the network and load ``((x_train, y_train), (x_test, y_test))`` from ``config``
    (which gives ``lr``, ``batch_size``, ``seed`` and ``epochs``); ``minutes`` is the training budget.
    """
    started = time.perf_counter()
    out = Path(_common.prepare_output(out_dir, overwrite=overwrite, resume=resume))
    (x_train, y_train), (x_test, y_test) = data(config)
    steps_per_epoch = -(-len(x_train) // config.batch_size)
    checkpoint, plan_path = out / "checkpoint.npz", out / "plan.json"
    if not resume:
        checkpoint.unlink(missing_ok=True)
    schedule = PlannedDecay(config.lr, warmup_steps=steps_per_epoch)
    plan = PlanFromFirstEpoch(schedule, steps_per_epoch, minutes * 60, plan_path,
                              **saved_plan(config, plan_path, resume))
    network = model(config)
    train_started = time.perf_counter()
    history = network.fit(x_train, y_train, test_data=(x_test, y_test), epochs=MAX_EPOCHS, loss=losses.CCE(),
                          opt=optimizers.Adam(lr=schedule), batch_size=config.batch_size, verbose=verbose,
                          seed=config.seed, name=name, callbacks=[plan], checkpoint=checkpoint)
    train_seconds = time.perf_counter() - train_started
    network.save(out / "model.npz")
    history.plot(out / "curves.png", title=title)
    _common.write_history_csv(out / "history.csv", {name: history})
    stats = _common.history_stats(history)
    results = {**stats, "train_seconds": round(train_seconds, 1), "planned_epochs": plan.epochs,
               "first_epoch_seconds": plan.first_epoch_seconds,
               "parameters": sum(p.size for p in network.parameters), "interrupted": history.interrupted}
    summary = _common.run_summary(config, results, started)
    summary["headline"] = [f"test accuracy {stats.get('final_val_accuracy', float('nan')):.1%} after "
                           f"{stats['epochs']} epochs ({train_seconds / 60:.1f} min of training)"]
    _common.write_json(out / "summary.json", summary)
    return summary
