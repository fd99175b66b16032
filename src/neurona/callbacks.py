"""Training callbacks and the History they fill: progress display, early stopping, checkpoints."""

from __future__ import annotations

import math
import sys

import numpy as np

from . import _checks


class History:
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


class Callback:
    """Base class: override any of the hooks; ``self.model`` is set when training starts."""

    model = None

    def on_train_begin(self): pass
    def on_batch_end(self, step: int, logs: dict): pass
    def on_epoch_end(self, epoch: int, logs: dict): pass
    def on_diverged(self, message: str): pass
    def on_train_end(self): pass


class CallbackList:
    """Calls each hook on every callback in order."""

    def __init__(self, callbacks: list, model):
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: callbacks must be Callback instances. Received: {cb!r:.80}")
            cb.model = model
        self.callbacks = callbacks

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

    Epochs with many steps also get an inner bar with the running loss and accuracy.
    """

    def __init__(self, epochs: int, name: str | None = None, stream=None):
        self.epochs, self.name, self.stream = epochs, name, stream or sys.stderr
        self._bar = self._inner = None

    def on_train_begin(self):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self._tqdm = None
            self._every = max(1, math.ceil(self.epochs / 20))
            return
        self._tqdm = tqdm
        self._bar = tqdm(total=self.epochs, desc=self.name or "fit", unit="epoch", file=self.stream, dynamic_ncols=True)

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
        if self._tqdm is None:
            if (epoch + 1) % self._every == 0 or epoch + 1 == self.epochs:
                print(f"{self.name or 'fit'} epoch {epoch + 1}/{self.epochs}  {_format(logs)}", file=self.stream)
            return
        self._bar.set_postfix_str(_format(logs), refresh=False)
        self._bar.update(1)

    def on_diverged(self, message):
        print(f"Training stopped: {message}", file=self.stream)

    def on_train_end(self):
        if self._bar is not None:
            self._bar.close()


class EarlyStopping(Callback):
    """Stop when a monitored metric has not improved for ``patience`` epochs.

    Args:
        monitor: a history key, e.g. "val_loss" or "val_accuracy".
        patience: epochs without improvement to tolerate.
        min_delta: the smallest change that counts as an improvement.
        mode: "min", "max", or "auto" (max for accuracies, min otherwise).
        restore_best_weights: put back the best epoch's weights when training ends.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        self.monitor, self.patience = monitor, _checks.positive_int("EarlyStopping", "patience", patience)
        self.min_delta = _checks.real("EarlyStopping", "min_delta", min_delta, low=0.0)
        self.sign = 1 if mode == "max" or (mode == "auto" and "acc" in monitor) else -1
        self.restore_best_weights = restore_best_weights
        self.best_epoch, self.stopped_epoch = None, None

    def on_train_begin(self):
        self.best, self.best_epoch, self.wait, self.best_weights = -math.inf, None, 0, None

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: monitor={self.monitor!r} is not among the metrics {sorted(logs)}"
                             " (val_* metrics need test_data)")
        score = self.sign * logs[self.monitor]
        if score > self.best + self.min_delta:
            self.best, self.best_epoch, self.wait = score, epoch, 0
            if self.restore_best_weights:
                self.best_weights = [w.data.copy() for w in self.model.parameters]
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch, self.model.stop_training = epoch, True

    def on_train_end(self):
        if self.restore_best_weights and self.best_weights is not None:
            for w, best in zip(self.model.parameters, self.best_weights):
                np.copyto(w.data, best)


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) after each epoch, or only when the monitored metric improves.

    Args:
        path: file to write; ``{epoch}`` in it is replaced by the epoch number (1-based).
        monitor, mode: as in EarlyStopping (used with save_best_only).
        save_best_only: write only when ``monitor`` improves.
    """

    def __init__(self, path, monitor: str = "val_loss", save_best_only: bool = False, mode: str = "auto"):
        self.path, self.monitor, self.save_best_only = str(path), monitor, save_best_only
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        self.sign = 1 if mode == "max" or (mode == "auto" and "acc" in monitor) else -1
        self.best = -math.inf

    def on_train_begin(self):
        self.best = -math.inf

    def on_epoch_end(self, epoch, logs):
        if self.save_best_only:
            if self.monitor not in logs:
                raise ValueError(f"ModelCheckpoint: monitor={self.monitor!r} is not among the metrics {sorted(logs)}")
            score = self.sign * logs[self.monitor]
            if score <= self.best:
                return
            self.best = score
        self.model.save(self.path.replace("{epoch}", str(epoch + 1)))
