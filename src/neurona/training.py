"""What every model can do: build its weights, run forward, fit, evaluate, predict, summarize and save."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import _checks, _inputs, checkpoints, losses, metrics, optimizers, regularizers, saving
from ._signals import StopOnSignal
from .autodiff import Tensor, no_grad
from .callbacks import CallbackList, History, ProgressBar

_PREDICT_BATCH = 2048


class TrainingDiverged(ArithmeticError):
    """The loss or a gradient became NaN or inf."""


class _Interrupted(Exception):
    """SIGINT or SIGTERM arrived during a training step."""


class Trainer:
    """Base of Model and Network: subclasses provide ``layers``, ``steps`` and ``input_shape``."""

    def __init__(self, name: str | None, dtype, seed: int | None):
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"{type(self).__name__}: dtype must be float32 or float64. Received: dtype={dtype!r}")
        self.name, self.dtype, self.seed = name, np.dtype(dtype), _checks.seed(type(self).__name__, seed)
        self.built, self.stop_training, self.loss, self.history = False, False, None, None

    # ----- structure -----
    def _check_step(self, layer, input_shapes) -> None:
        """A hook for subclasses to validate a step while building."""

    def output_shapes(self) -> list:
        """The per-sample shape after each step."""
        shapes = [tuple(self.input_shape)]
        for index, sources, as_list in self.steps:
            inputs = [shapes[i] for i in sources]
            shapes.append(tuple(self.layers[index].compute_output_shape(inputs if as_list else inputs[0])))
        return shapes[1:]

    def build(self, input_shape=None, seed=None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (per sample).

        Args:
            input_shape: one sample's shape; needed unless the first layer gave input_dim.
            seed: an int; default the model's seed. Each layer draws from its own stream,
                so ``build(seed=s)`` then ``fit(seed=s)`` equals ``fit(seed=s)`` alone.
        """
        if self.built:
            return
        if input_shape is not None:
            self.input_shape = tuple(int(d) for d in input_shape)
        if self.input_shape is None:
            raise ValueError(f"{type(self).__name__}: the input shape is unknown; give the first layer input_dim=..., "
                             "or call fit() / build(input_shape)")
        if not self.layers:
            raise ValueError(f"{type(self).__name__}: the model has no layers; add some with model.add(...)")
        init_stream, _ = _streams(self.seed if seed is None else _checks.seed("build", seed))
        streams = init_stream.spawn(len(self.layers))
        shapes = [tuple(self.input_shape)]
        for index, sources, as_list in self.steps:
            layer, inputs = self.layers[index], [shapes[i] for i in sources]
            self._check_step(layer, inputs)
            if layer.name is None:
                layer.name = f"{type(layer).__name__.lower()}_{index}"
            if not layer.built:
                layer.build(inputs if as_list else inputs[0], np.random.default_rng(streams[index]), self.dtype)
            shapes.append(tuple(layer.compute_output_shape(inputs if as_list else inputs[0])))
        self.built = True

    def weight_shapes(self) -> list:
        """``(name, shape)`` of every parameter, in ``parameters`` order, computed without building."""
        shapes, seen, inputs_of = [], set(), [tuple(self.input_shape)]
        for index, sources, as_list in self.steps:
            layer, inputs = self.layers[index], [inputs_of[i] for i in sources]
            if index not in seen:
                seen.add(index)
                prefix = layer.name or f"{type(layer).__name__.lower()}_{index}"
                shapes += [(f"{prefix}/{key}", shape)
                           for key, shape in layer.weight_shapes(inputs if as_list else inputs[0]).items()]
            inputs_of.append(tuple(layer.compute_output_shape(inputs if as_list else inputs[0])))
        return shapes

    @property
    def parameters(self) -> list:
        """Every trainable Tensor, layer by layer."""
        return [w for layer in self.layers for w in layer.weights]

    @property
    def regularized_weights(self) -> list:
        return [w for layer in self.layers for w in layer.regularized_weights]

    def forward(self, x, training: bool = False) -> Tensor:
        """Run the steps on a batch ``x`` (a Tensor or array) and return the output Tensor; builds on first use."""
        values = [x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=self.dtype))]
        if not self.built:
            self.build(self.input_shape or values[0].shape[1:])
        for index, sources, as_list in self.steps:
            args = [values[i] for i in sources]
            values.append(self.layers[index].call(args if as_list else args[0], training))
        return values[-1]

    __call__ = forward

    # ----- inference -----
    def predict(self, x, batch_size: int | None = None) -> np.ndarray:
        """The network's outputs for ``x``, computed in batches without recording a graph."""
        x = _inputs.as_samples("predict", "x", x, min_ndim=2)
        self._require_built("predict", x)
        batch_size = _PREDICT_BATCH if batch_size is None else _checks.positive_int("predict", "batch_size", batch_size)
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, with advice
            parts = [self.forward(self._batch(x[i:i + batch_size])).data for i in range(0, len(x), batch_size)]
        out = np.concatenate(parts)
        _inputs.check_outputs("predict", out, x)
        return out

    def evaluate(self, x, y, loss=None, reg=None, batch_size: int | None = None) -> dict:
        """``{"loss": …, "accuracy": …}`` on (x, y); the loss is the last fit's unless given."""
        x, y = _inputs.check_pair("evaluate", x, y)
        self._require_built("evaluate", x)
        loss = losses.get(loss if loss is not None else (self.loss or "mse"))
        n_outputs = int(np.prod(self.output_shapes()[-1]))
        loss.check_targets(y, n_outputs)
        accuracy = metrics.Accuracy()
        accuracy.adapt(y, n_outputs)
        batch_size = _PREDICT_BATCH if batch_size is None else _checks.positive_int("evaluate", "batch_size", batch_size)
        return self._evaluate(x, y, loss, regularizers.get(reg), accuracy, batch_size, where="evaluate")

    def _evaluate(self, x, y, loss, reg, accuracy, batch_size, where: str | None = None) -> dict:
        """Loss and accuracy over batches; with ``where`` (public evaluate) non-finite outputs are an error."""
        total_loss = total_correct = 0.0
        with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # overflow is reported, with advice
            for i in range(0, len(x), batch_size):
                xb, yb = self._batch(x[i:i + batch_size]), y[i:i + batch_size]
                out = self.forward(xb)
                if where is not None:
                    _inputs.check_outputs(where, out.data, xb.data)
                total_loss += loss(out, yb).item() * len(xb)
                total_correct += accuracy.total(out.data, yb)
            penalty = reg(self.regularized_weights).item() if reg and self.regularized_weights else 0.0
        return {"loss": total_loss / len(x) + penalty, "accuracy": total_correct / len(x)}

    def _batch(self, x: np.ndarray) -> Tensor:
        return Tensor(x.astype(self.dtype, copy=False))

    def _require_built(self, where: str, x: np.ndarray) -> None:
        if not self.built:
            if self.input_shape is None:
                raise ValueError(f"{where}: the model is not built yet; call fit() first, or give the first layer "
                                 "input_dim=..., or call build(input_shape)")
            self.build()
        _inputs.check_width(where, x, self.input_shape)
        _inputs.check_range(where, x, self.dtype)

    # ----- training -----
    def fit(self, x, y, test_data=None, epochs: int = 1, loss="mse", opt=None, reg=None, name: str | None = None,
            batch_size: int | None = None, callbacks=None, verbose: int = 1, seed: int | None = None,
            checkpoint=None) -> History:
        """Train on (x, y) for ``epochs`` passes, in shuffled mini-batches.

        Args:
            x: inputs, (N, features) or (N, d1, d2, …). y: integer labels (N,) or rows (N, outputs).
            test_data: optional (x_test, y_test), evaluated after every epoch (``val_loss``, ``val_accuracy``).
            epochs: passes over the data.
            loss, opt, reg: a Loss, Optimizer and Regularizer (or their names); ``opt`` defaults to SGD(lr=0.01).
            name: a label for the progress bar and the history.
            batch_size: samples per step, unless the optimizer says (``BGD(bs=…)``); default 32.
            callbacks: e.g. ``[EarlyStopping(...), ModelCheckpoint(...)]``.
            verbose: 1 shows a progress bar, 0 is silent.
            seed: initialises an unbuilt model and drives the shuffling: same seed, same history.
            checkpoint: a file path; the full training state is saved there after every epoch, and
                if the file exists when fit starts, training resumes from it (bit for bit).

        SIGINT (Ctrl-C) or SIGTERM ends the current step and then training; the history so far
        is returned with ``history.stopped`` saying so (``history.interrupted`` names the signal).

        Returns:
            A History: ``history.history["loss"]``, ``["accuracy"]`` (fractions), and with test data
            ``["val_loss"]``, ``["val_accuracy"]``. Loss and accuracy are running means over the
            epoch's batches (the penalty included); validation ones are measured after the epoch.
        """
        x, y = _inputs.check_pair("fit", x, y)
        test = _inputs.check_test_data("fit", test_data)
        epochs = _checks.positive_int("fit", "epochs", epochs)
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"fit: callbacks must be a list of Callback instances. Received: callbacks={callbacks!r:.80}")
        plan = _Plan.make(self, x, y, loss, opt, reg, batch_size, seed)
        if test is not None:
            _inputs.check_width("fit (test_data)", test[0], self.input_shape)
            _inputs.check_range("fit (test_data)", test[0], self.dtype)
            try:
                plan.loss.check_targets(test[1], plan.n_outputs)
            except ValueError as exc:  # say which y: the same message for the training labels would mislead
                raise ValueError(f"fit (test_data): {exc}") from None
        history = self.history = History(name or self.name)
        start = 0 if checkpoint is None or not Path(checkpoint).exists() else \
            checkpoints.restore(checkpoint, self, plan, history, len(x), epochs)
        callback_list = CallbackList(list(callbacks or []) + ([ProgressBar(epochs, name)] if verbose else []), self)
        self.stop_training = False
        callback_list.on_train_begin()
        with StopOnSignal() as plan.stop:
            for epoch in range(start, epochs):
                if not self._run_epoch(plan, x, y, test, epoch, history, callback_list):
                    break
                if checkpoint is not None:
                    checkpoints.save(checkpoint, self, plan, history, epoch + 1, len(x), epochs)
                callback_list.on_epoch_end(epoch, history.last)
                if self.stop_training:
                    break
        callback_list.on_train_end()
        return history

    def _run_epoch(self, plan, x, y, test, epoch, history, callback_list) -> bool:
        """Train one epoch and record it; False when training must stop (diverged or interrupted)."""
        try:
            logs = self._train_epoch(plan, x, y, epoch, callback_list)
        except (TrainingDiverged, _Interrupted) as exc:
            history.stopped = str(exc)
            history.interrupted = plan.stop.name if isinstance(exc, _Interrupted) else None
            callback_list.on_diverged(str(exc))
            return False
        if test is not None:
            val = self._evaluate(*test, plan.loss, plan.reg, plan.accuracy, _PREDICT_BATCH)
            logs.update({"val_loss": val["loss"], "val_accuracy": val["accuracy"]})
        history.append(epoch, logs)
        return True

    def _train_epoch(self, plan: "_Plan", x, y, epoch: int, callback_list) -> dict:
        order = plan.rng.permutation(len(x))
        total_loss = total_correct = 0.0
        for step, start in enumerate(range(0, len(x), plan.batch_size)):
            rows = order[start:start + plan.batch_size]
            xb, yb = self._batch(x[rows]), y[rows]
            value, out = self._train_step(plan, xb, yb, epoch, step)
            total_loss += value * len(rows)
            total_correct += plan.accuracy.total(out, yb)
            callback_list.on_batch_end(step, {"loss": total_loss / (start + len(rows)),
                                              "accuracy": total_correct / (start + len(rows))})
            if plan.stop.received is not None:
                raise _Interrupted(f"interrupted by {plan.stop.name} at epoch {epoch + 1}, step {step + 1}; "
                                   f"the history holds the {epoch} complete epochs")
        return {"loss": total_loss / len(x), "accuracy": total_correct / len(x)}

    def _train_step(self, plan: "_Plan", xb: Tensor, yb: np.ndarray, epoch: int, step: int) -> tuple:
        plan.opt.zero_grad()
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are caught below, with context
            out = self.forward(xb, training=True)
            value = plan.loss(out, yb)
            if plan.reg is not None and self.regularized_weights:
                value = value + plan.reg(self.regularized_weights)
            loss_value = value.item()
            if not math.isfinite(loss_value):
                raise TrainingDiverged(f"the loss became {loss_value} at epoch {epoch + 1}, step {step + 1}; "
                                       "try a smaller learning rate (or clipnorm=...)")
            value.backward()
        _check_gradients(self.parameters, epoch, step)
        with np.errstate(over="ignore", invalid="ignore"):  # an update too large for the dtype is caught below
            plan.opt.step(batch_size=len(xb))
        _check_weights(self.parameters, epoch, step)
        return loss_value, out.data

    # ----- description and persistence -----
    def summary(self) -> str:
        """Each layer with its output shape and parameter count (also printed)."""
        from .models import summary_table

        text = summary_table(self)
        print(text)
        return text

    def save(self, path) -> None:
        """Write config (JSON) and weights into one ``.npz`` file, atomically. No pickle."""
        saving.save_model(self, path)


def _check_gradients(params: list, epoch: int, step: int) -> None:
    for p in params:
        # g·g is a cheap first test (one BLAS pass, ~5x faster than a float32 sum; NaN and inf propagate,
        # and an overflow to inf only costs the exact test, which confirms).
        if p.grad is not None and not np.isfinite(np.vdot(p.grad, p.grad)) and not np.isfinite(p.grad).all():
            raise TrainingDiverged(f"the gradient of {p.name} became NaN or inf at epoch {epoch + 1}, step {step + 1}; "
                                   "try a smaller learning rate (or clipnorm=...)")


def _check_weights(params: list, epoch: int, step: int) -> None:
    for p in params:  # finite gradients can still make an update beyond the dtype's range (lr · g > 3.4e38)
        if not np.isfinite(np.vdot(p.data, p.data)) and not np.isfinite(p.data).all():
            raise TrainingDiverged(f"the update made {p.name} NaN or inf at epoch {epoch + 1}, step {step + 1}; "
                                   "try a smaller learning rate (or clipnorm=...)")


class _Plan:
    """Everything one fit() call resolved from its arguments."""

    @classmethod
    def make(cls, model: Trainer, x, y, loss, opt, reg, batch_size, seed) -> "_Plan":
        plan = cls()
        seed = model.seed if seed is None else _checks.seed("fit", seed)
        if not model.built:
            model.build(model.input_shape or x.shape[1:], seed=seed)
        _inputs.check_width("fit", x, model.input_shape)
        _inputs.check_range("fit", x, model.dtype)
        if not model.parameters:
            raise ValueError(f"fit: the model has no trainable parameters (layers: "
                             f"{', '.join(type(layer).__name__ for layer in model.layers)}); add a Dense layer")
        plan.n_outputs = int(np.prod(model.output_shapes()[-1]))
        plan.loss = model.loss = losses.get(loss)
        plan.loss.check_targets(y, plan.n_outputs)
        plan.opt = optimizers.SGD(lr=0.01) if opt is None else optimizers.get(opt)
        plan.reg = regularizers.get(reg)
        plan.batch_size = _batch_size(plan.opt, batch_size, len(x))
        plan.accuracy = metrics.Accuracy()
        plan.accuracy.adapt(y, plan.n_outputs)
        if [id(p) for p in plan.opt.params] != [id(p) for p in model.parameters]:
            plan.opt.bind(model.parameters)
        plan.rng = np.random.default_rng(_streams(seed)[1])
        return plan


def _streams(seed: int | None) -> tuple:
    """Two independent random streams from one seed: weight initialisation, and shuffling."""
    init_stream, shuffle_stream = np.random.SeedSequence(seed).spawn(2)
    return init_stream, shuffle_stream


def _batch_size(opt, batch_size, n: int) -> int:
    if batch_size is not None:
        batch_size = _checks.positive_int("fit", "batch_size", batch_size)
        if opt.batch_size is not None and opt.batch_size != batch_size:
            raise ValueError(f"fit: batch_size={batch_size} conflicts with the optimizer's bs={opt.batch_size}; give one")
        return batch_size
    if isinstance(opt, optimizers.BGD):
        return opt.batch_size or n  # BGD(bs=None): the whole training set in one batch
    return 32
