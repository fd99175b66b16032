"""Training callbacks and the History they fill: progress display, early stopping, checkpoints."""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from . import _checks, _state
from ._files import check_writable


class History(_state.Stateful):
    """Per-epoch metrics of one ``fit``: ``history.history["loss"]``, ``["accuracy"]``, ``["val_loss"]``, …

    Attributes:
        history: dict of metric name → list, one value per completed epoch.
        epoch: the epoch numbers (0-based) those values belong to.
        stopped: None, or why training stopped early (the loss became NaN, or a signal).
        interrupted: None, or the signal ("SIGINT", "SIGTERM") that interrupted training.
    """

    def __init__(self, name: str | None = None):
        self.name, self.history, self.epoch, self.stopped, self.interrupted = name, {}, [], None, None

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def state_dict(self) -> dict:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def check_state(self, state) -> None:
        _state.fields(state, ("epoch", "history"), "history state")
        epochs, metrics = state["epoch"], state["history"]
        if not isinstance(epochs, list) or not isinstance(metrics, dict):
            raise _state.StateError("history state: epoch must be a list and history a dict")
        for i, e in enumerate(epochs):
            _state.integer(e, f"history epoch[{i}]")
        for key, values in metrics.items():
            if not isinstance(values, list) or len(values) != len(epochs):
                raise _state.StateError(f"history {key!r:.40} must be a list of {len(epochs)} numbers")
            for i, v in enumerate(values):  # a validation metric may be inf or NaN (outputs that overflowed)
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise _state.StateError(f"history {key!r:.40}[{i}] must be a number. Received: {v!r:.40}")

    def set_state(self, state: dict) -> None:
        self.epoch[:] = state["epoch"]
        self.history.clear()
        self.history.update({k: [float(v) for v in values] for k, values in state["history"].items()})

    @property
    def last(self) -> dict:
        """The latest epoch's metrics."""
        return {k: v[-1] for k, v in self.history.items() if v}

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def plot(self, path=None, title: str | None = None):
        """Accuracy and loss against epochs, train and test; saved to ``path`` if given. Needs matplotlib."""
        from .viz.plots import plot_history  # plotting is a view; imported only when asked for

        return plot_history(self, path, title=title or self.name)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items()) if self.epoch else "empty"
        return f"History({len(self)} epochs: {last})"


class Callback(_state.Stateful):
    """Base class: override any of the hooks; ``self.model`` is set when training starts.

    A callback that remembers something across epochs gives and takes it through the state
    protocol (``state_dict``/``check_state``/``set_state``), so checkpoints resume it exactly;
    ``get_config`` names its settings, so a checkpoint of a run with other settings is refused.
    """

    model = None
    planned_epochs = None  # a callback that will end training after a known number of epochs says so here

    def get_config(self) -> dict:
        return {}

    def output_paths(self) -> list:
        """The files this callback writes (fit refuses a checkpoint path among them)."""
        return []

    def on_train_begin(self): pass
    def on_batch_end(self, step: int, logs: dict): pass
    def on_epoch_end(self, epoch: int, logs: dict): pass
    def on_diverged(self, message: str): pass
    def on_train_end(self): pass


class CallbackList(_state.Composite):
    """Calls each hook on every callback in order; its state is the list of theirs."""

    def __init__(self, callbacks: list, model):
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: callbacks must be Callback instances. Received: {cb!r:.80}")
            cb.model = model
        self.callbacks, self.model = callbacks, model

    def append(self, callback: Callback) -> None:
        callback.model = self.model
        self.callbacks.append(callback)

    def get_config(self) -> list:
        return [{"class": type(cb).__qualname__, "config": cb.get_config()} for cb in self.callbacks]

    _state_key = "callbacks"

    def _state_parts(self) -> list:
        return self.callbacks

    def _each(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self): self._each("on_train_begin")
    def on_batch_end(self, step, logs): self._each("on_batch_end", step, logs)
    def on_epoch_end(self, epoch, logs): self._each("on_epoch_end", epoch, logs)
    def on_diverged(self, message): self._each("on_diverged", message)
    def on_train_end(self): self._each("on_train_end")


def _format(logs: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in logs.items())


class ProgressBar(Callback):
    """A progress bar over epochs with the latest loss and accuracy (tqdm if installed, else text lines).

    Epochs with many steps also get an inner bar with the running loss and accuracy. A resumed
    run's bar starts at ``initial``, the epochs already done. Where one of ``plans`` (callbacks)
    knows the epoch it will stop training after (``planned_epochs``), that is the bar's total.
    """

    def __init__(self, epochs: int, name: str | None = None, stream=None, initial: int = 0, plans=()):
        self.epochs, self.name, self.stream, self.initial = epochs, name, stream or sys.stderr, initial
        self.plans = list(plans)
        self._bar = self._inner = None

    def _follow_plans(self) -> None:
        planned = [cb.planned_epochs for cb in self.plans if cb.planned_epochs is not None]
        total = min([self.epochs, *planned])
        if total != self.epochs:
            self.epochs = total
            if self._bar is not None:
                self._bar.total = total
            else:
                self._every = max(1, math.ceil(total / 20))

    def on_train_begin(self):
        self._follow_plans()
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._tqdm = None
            self._every = max(1, math.ceil(self.epochs / 20))
            return
        self._tqdm = tqdm
        self._bar = tqdm(total=self.epochs, initial=self.initial, desc=self.name or "fit", unit="epoch",
                         file=self.stream, dynamic_ncols=True)

    def on_batch_end(self, step, logs):
        if self._tqdm is None or step < 20:
            return
        if self._inner is None:
            self._inner = self._tqdm(desc="  steps", unit="step", leave=False, file=self.stream, dynamic_ncols=True)
        self._inner.update(1)
        if step % 10 == 0:
            self._inner.set_postfix_str(_format(logs), refresh=False)

    def on_epoch_end(self, epoch, logs):
        if self._inner is not None:
            self._inner.close()
            self._inner = None
        self._follow_plans()
        if self._tqdm is None:
            if (epoch + 1) % self._every == 0 or epoch + 1 == self.epochs:
                print(f"{self.name or 'fit'} epoch {epoch + 1}/{self.epochs}  {_format(logs)}", file=self.stream)
            return
        self._bar.set_postfix_str(_format(logs), refresh=False)
        self._bar.update(1)

    def on_diverged(self, message):  # fit warns with the message (DivergenceWarning), whatever verbose says
        if self._inner is not None:
            self._inner.close()
            self._inner = None

    def on_train_end(self):
        if self._bar is not None:
            self._bar.close()
        history = getattr(self.model, "history", None)
        if history is not None and history.interrupted:  # after the bars are closed, once
            print(f"Training stopped: {history.stopped}", file=self.stream)


def _sign(where: str, mode, monitor) -> int:
    if not isinstance(monitor, str):
        raise ValueError(f"{where}: monitor must be a metric name (a string). Received: monitor={monitor!r:.80}")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{where}: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r:.80}")
    return 1 if mode == "max" or (mode == "auto" and "acc" in monitor) else -1


def _flag(where: str, name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {name} must be True or False. Received: {name}={value!r:.80}")
    return value


class EarlyStopping(Callback):
    """Stop when a monitored metric has not improved for ``patience`` epochs.

    Args:
        monitor: a history key, e.g. "val_loss" or "val_accuracy".
        patience: epochs without improvement to tolerate.
        min_delta: the smallest change that counts as an improvement.
        mode: "min", "max", or "auto" (max for accuracies, min otherwise).
        restore_best_weights: put back the best epoch's weights (all of them, trainable or not) when training ends.

    Its memory (best value and epoch, epochs waited, the best weights) is part of a checkpoint.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True):
        self.sign = _sign("EarlyStopping", mode, monitor)
        self.monitor, self.mode = monitor, mode
        self.patience = _checks.positive_int("EarlyStopping", "patience", patience)
        self.min_delta = _checks.real("EarlyStopping", "min_delta", min_delta, low=0.0)
        self.restore_best_weights = _flag("EarlyStopping", "restore_best_weights", restore_best_weights)
        self.on_train_begin()
        self.stopped_epoch = None

    def get_config(self) -> dict:
        return {"monitor": self.monitor, "patience": self.patience, "min_delta": self.min_delta, "mode": self.mode,
                "restore_best_weights": self.restore_best_weights}

    def on_train_begin(self):
        self.best, self.best_epoch, self.wait, self.best_weights, self.stopped_epoch = -math.inf, None, 0, None, None

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: monitor={self.monitor!r} is not among the metrics {sorted(logs)}"
                             " (val_* metrics need test_data)")
        score = self.sign * logs[self.monitor]
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self.best_weights = [w.data.copy() for w in self.model.weights]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch, self.model.stop_training = epoch, True

    def on_train_end(self):
        if self.restore_best_weights and self.best_weights is not None:
            for w, best in zip(self.model.weights, self.best_weights):
                np.copyto(w.data, best)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def check_state(self, state) -> None:
        _state.fields(state, ("best", "best_epoch", "wait", "stopped_epoch", "best_weights"), "EarlyStopping state")
        _state.real(state["best"], "EarlyStopping best", allow_inf=True)
        _state.optional(_state.integer, state["best_epoch"], "EarlyStopping best_epoch")
        _state.integer(state["wait"], "EarlyStopping wait")
        _state.optional(_state.integer, state["stopped_epoch"], "EarlyStopping stopped_epoch")
        best = state["best_weights"]
        if best is not None:
            weights = self.model.weights
            if not isinstance(best, list) or len(best) != len(weights):
                raise _state.StateError(f"EarlyStopping best_weights must be a list of {len(weights)} arrays")
            for w, value in zip(weights, best):
                _state.array(value, w.shape, w.dtype, f"EarlyStopping best weight {w.name}")

    def set_state(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = float(state["best"]), state["best_epoch"], state["wait"]
        self.stopped_epoch = state["stopped_epoch"]
        best = state["best_weights"]
        self.best_weights = None if best is None else [value.copy() for value in best]


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) after each epoch, or only when the monitored metric improves.

    Args:
        path: file to write; ``{epoch}`` in it is replaced by the epoch number (1-based).
        monitor, mode: as in EarlyStopping (used with save_best_only).
        save_best_only: write only when ``monitor`` improves.

    The best value so far is part of a checkpoint, so a resumed run never overwrites a better file.
    """

    def __init__(self, path, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "auto"):
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ValueError(f"ModelCheckpoint: path must be a file path. Received: path={path!r:.80}")
        self.sign = _sign("ModelCheckpoint", mode, monitor)
        self.path, self.monitor, self.mode = str(path), monitor, mode
        self.save_best_only = _flag("ModelCheckpoint", "save_best_only", save_best_only)
        self.best = -math.inf

    def get_config(self) -> dict:
        return {"path": self.path, "monitor": self.monitor, "save_best_only": self.save_best_only, "mode": self.mode}

    def output_paths(self) -> list:
        return [self.path]

    def on_train_begin(self):
        self.best = -math.inf
        check_writable(self.path, "ModelCheckpoint")  # before the first epoch, not after it

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            if self.monitor not in logs:
                raise ValueError(f"ModelCheckpoint: monitor={self.monitor!r} is not among the metrics {sorted(logs)}")
            score = self.sign * logs[self.monitor]
            if score <= self.best:
                return
            self.best = score
        self.model.save(self.path.replace("{epoch}", str(epoch + 1)))

    def state_dict(self) -> dict:
        return {"best": self.best}

    def check_state(self, state) -> None:
        _state.fields(state, ("best",), "ModelCheckpoint state")
        _state.real(state["best"], "ModelCheckpoint best", allow_inf=True)

    def set_state(self, state: dict) -> None:
        self.best = float(state["best"])
