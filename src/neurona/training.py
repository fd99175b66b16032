"""The training loop: ``fit`` and ``evaluate`` on any model, and what one ``fit`` call resolves.

A model (``neurona.models``) is structure; this module only drives it: it shuffles, steps the
optimizer, calls the callbacks, stops on divergence or a signal, and writes and restores
checkpoints, whose contents are the state of everything that changes while training.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np

from . import _checks, _conventions, _inputs, _state, capture, checkpoints, losses, metrics, optimizers, regularizers
from ._files import check_writable
from ._signals import StopOnSignal
from .autodiff import Tensor, no_grad
from .callbacks import Callback, CallbackList, History, ProgressBar

PREDICT_BATCH = 2048


class TrainingDiverged(ArithmeticError):
    """The loss or a gradient became NaN or inf."""


class _Interrupted(Exception):
    """SIGINT or SIGTERM arrived during a training step."""


class DivergenceWarning(UserWarning):
    """fit stopped because the loss, a gradient or a weight became NaN or inf (issued whatever ``verbose``)."""


FIT_KEYWORDS = ("test_data", "epochs", "loss", "opt", "reg", "name", "batch_size", "callbacks", "verbose", "seed",
                "checkpoint", "validation_data", "validation_split", "shuffle")


def fit(model, x, y=None, test_data=None, epochs: int = 1, loss=None, opt=None, reg=None, name: str | None = None,
        batch_size: int | None = None, callbacks=None, verbose: int = 1, seed: int | None = None,
        checkpoint=None, *, validation_data=None, validation_split: float = 0.0, shuffle: bool = True,
        **unknown) -> History:
    """Train on (x, y) for ``epochs`` passes, in shuffled mini-batches.

    Args:
        x: inputs, (N, features) or (N, d1, d2, …). y: integer labels (N,) or rows (N, outputs).
        test_data: optional (x_test, y_test), evaluated after every epoch (``val_loss``, ``val_accuracy``).
        epochs: passes over the data.
        loss, opt, reg: a Loss, Optimizer and Regularizer (or their names). Without ``loss`` the one
            given to ``model.compile`` is used (there is no silent default); ``opt`` defaults to the
            compiled optimizer, else SGD(lr=0.01).
        name: a label for the progress bar and the history.
        batch_size: samples per step, unless the optimizer says (``BGD(bs=…)``); default 32.
        callbacks: e.g. ``[EarlyStopping(...), ModelCheckpoint(...)]``.
        verbose: 1 shows a progress bar, 0 is silent.
        seed: initialises an unbuilt model and drives the shuffling: same seed, same history.
        checkpoint: a file path. The state of the whole run (weights, optimizer, generators,
            callbacks, history) is saved there after every epoch; if the file exists when fit
            starts, training resumes from it, bit for bit as if never stopped. A checkpoint of
            another run (other data, model, loss, optimizer, batch size, seed or callbacks) is refused.
        validation_data: Keras's name for ``test_data``.
        validation_split: a fraction in [0, 1): the last samples of (x, y), before shuffling, validate.
        shuffle: False keeps the samples' order in every epoch.

    SIGINT (Ctrl-C) or SIGTERM ends the current step and then training; the history so far
    is returned with ``history.stopped`` saying so (``history.interrupted`` names the signal).

    Returns:
        A History: ``history.history["loss"]``, ``["accuracy"]`` (fractions), and with test data
        ``["val_loss"]``, ``["val_accuracy"]``. Loss and accuracy are running means over the
        epoch's batches (the penalty included); validation ones are measured after the epoch.
    """
    _conventions.refuse_unknown("fit", unknown, FIT_KEYWORDS)
    x, y = _inputs.check_pair("fit", x, y)
    x, y, test_data = _conventions.split_validation(x, y, test_data, validation_data, validation_split)
    test = _inputs.check_test_data("fit", test_data)
    epochs = _checks.positive_int("fit", "epochs", epochs, high=10**9)
    if not isinstance(shuffle, bool):
        raise ValueError(f"fit: shuffle must be True or False. Received: shuffle={_checks.echo(shuffle)}")
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"fit: verbose must be 0 (silent) or 1 (progress bar). Received: verbose={verbose!r:.80}")
    if name is not None and not isinstance(name, str):
        raise ValueError(f"fit: name must be a string. Received: name={name!r:.80}")
    user_callbacks = CallbackList(_callbacks(callbacks), model)
    if checkpoint is not None:
        _check_checkpoint_path(checkpoint, user_callbacks.callbacks)
    plan = _Plan.make(model, x, y, loss, opt, reg, batch_size, seed)
    plan.shuffle = shuffle
    if test is not None:
        _check_test(model, plan, test)
    history = model.history = History(name or model.name)
    run = _Run()
    model.stop_training = False
    user_callbacks.on_train_begin()
    if checkpoint is not None and Path(checkpoint).exists():
        checkpoints.restore(checkpoint, _signature(model, plan, user_callbacks, x, y, test, epochs),
                            _participants(model, plan, history, user_callbacks, run), _budget(model))
        model.stop_training = run.stop_training
    if run.finished:  # a finished run started again changes nothing
        return history
    hooks = CallbackList(list(user_callbacks.callbacks), model)
    if verbose:
        hooks.append(ProgressBar(epochs, name, initial=min(run.epochs_done, epochs), plans=user_callbacks.callbacks))
        hooks.callbacks[-1].on_train_begin()
    save = None if checkpoint is None else lambda: checkpoints.save(
        checkpoint, _signature(model, plan, user_callbacks, x, y, test, epochs),
        _participants(model, plan, history, user_callbacks, run))
    try:
        completed = _loop(model, plan, x, y, test, epochs, history, hooks, run, save)
    finally:
        plan.engine.close()
    hooks.on_train_end()
    if history.stopped is not None and history.interrupted is None:
        warnings.warn(f"Training stopped: {history.stopped}. The model keeps its last finite weights",
                      DivergenceWarning, stacklevel=3)
    if completed and save is not None:
        run.finished = True
        save()
    return history


def _loop(model, plan, x, y, test, epochs, history, hooks, run, save) -> bool:
    """The epochs still to run; False if a signal or divergence stopped them."""
    with StopOnSignal() as plan.stop:
        for epoch in range(run.epochs_done, epochs):
            if model.stop_training:
                break
            if not _run_epoch(model, plan, x, y, test, epoch, history, hooks):
                return False
            hooks.on_epoch_end(epoch, history.last)
            run.epochs_done, run.stop_training = epoch + 1, model.stop_training
            if save is not None:
                save()
    return True


def _callbacks(callbacks) -> list:
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"fit: callbacks must be a list of Callback instances. Received: callbacks={callbacks!r:.80}")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances. Received: {cb!r:.80}")
    if len({id(cb) for cb in callbacks}) != len(callbacks):
        raise ValueError("fit: the same callback object appears twice in callbacks")
    return list(callbacks)


def _check_checkpoint_path(checkpoint, callbacks: list) -> None:
    """A checkpoint path that can be written, and that no callback writes too."""
    if not isinstance(checkpoint, (str, os.PathLike)) or not str(checkpoint):
        raise ValueError(f"fit: checkpoint must be a file path. Received: checkpoint={_checks.echo(checkpoint)}")
    path = check_writable(checkpoint, "fit: checkpoint")
    for cb in callbacks:
        for other in cb.output_paths():
            pattern = re.escape(os.path.abspath(other)).replace(re.escape("{epoch}"), r"\d+")
            if re.fullmatch(pattern, os.path.abspath(path)):
                raise ValueError(f"fit: checkpoint={str(checkpoint)!r} is also where {type(cb).__name__} writes "
                                 f"({other!r}); the two would overwrite each other. Give them different paths")


def _check_test(model, plan, test) -> None:
    _inputs.check_width("fit (test_data)", test[0], model.input_shape)
    _inputs.check_range("fit (test_data)", test[0], model.dtype)
    try:
        plan.loss.check_targets(test[1], plan.n_outputs, dtype=model.dtype)
    except ValueError as exc:  # say which y: the same message for the training labels would mislead
        raise ValueError(f"fit (test_data): {exc}") from None


def evaluate(model, x, y=None, loss=None, reg=None, batch_size: int | None = None, verbose: int = 0,
             return_dict: bool | None = None, **unknown):
    """The loss and accuracy on (x, y), in batches, without recording a graph.

    Args:
        loss: default the last fit's loss, else the compiled one. reg: a regularizer whose penalty to add.
        batch_size: samples per batch (memory only; the result is the same).
        verbose: accepted for Keras's sake; evaluation shows no progress bar.
        return_dict: True gives ``{"loss": …, "accuracy": …}`` (the default, unless the model was
            compiled); False gives Keras's form: the loss alone, or ``[loss, accuracy]`` when
            ``compile`` named the accuracy metric (the default after compile).
    """
    _conventions.refuse_unknown("evaluate", unknown, ("loss", "reg", "batch_size", "verbose", "return_dict"))
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"evaluate: verbose must be 0, 1 or 2. Received: verbose={_checks.echo(verbose)}")
    if return_dict is not None and not isinstance(return_dict, bool):
        raise ValueError(f"evaluate: return_dict must be True or False. Received: {_checks.echo(return_dict)}")
    x, y = _inputs.check_pair("evaluate", x, y)
    model.require_built("evaluate", x)
    loss = model.loss if loss is None and model.loss is not None else _conventions.resolve_loss(
        "evaluate", loss, model.compiled)
    n_outputs = int(np.prod(model.output_shapes()[-1]))
    loss.check_targets(y, n_outputs, dtype=model.dtype)
    accuracy = metrics.Accuracy()
    accuracy.adapt(y, n_outputs)
    batch_size = PREDICT_BATCH if batch_size is None else _checks.positive_int("evaluate", "batch_size", batch_size)
    result = _evaluate(model, x, y, loss, regularizers.get(reg), accuracy, batch_size, where="evaluate")
    if return_dict or (return_dict is None and model.compiled is None):
        return result
    return [result["loss"], result["accuracy"]] if model.compiled and model.compiled.metrics else result["loss"]


def _evaluate(model, x, y, loss, reg, accuracy, batch_size, where: str | None = None) -> dict:
    """Loss and accuracy over batches; with ``where`` (public evaluate) non-finite outputs are an error."""
    total_loss = total_correct = 0.0
    with no_grad(), np.errstate(over="ignore", invalid="ignore"):  # overflow is reported, with advice
        for i in range(0, len(x), batch_size):
            xb, yb = model.batch(x[i:i + batch_size]), y[i:i + batch_size]
            out = model.forward(xb)
            if where is not None:
                model.check_outputs(where, out.data, xb.data)
            total_loss += loss(out, yb).item() * len(xb)
            total_correct += accuracy.total(out.data, yb)
        penalty = model.penalty(reg)
        penalty = 0.0 if penalty is None else penalty.item()
    return {"loss": total_loss / len(x) + penalty, "accuracy": total_correct / len(x)}


def _run_epoch(model, plan, x, y, test, epoch, history, hooks) -> bool:
    """Train one epoch and record it; False when training must stop (diverged or interrupted)."""
    try:
        logs = _train_epoch(model, plan, x, y, epoch, hooks)
    except (TrainingDiverged, _Interrupted) as exc:
        history.stopped = str(exc)
        history.interrupted = plan.stop.name if isinstance(exc, _Interrupted) else None
        hooks.on_diverged(str(exc))
        return False
    if test is not None:
        val = _evaluate(model, *test, plan.loss, plan.reg, plan.accuracy, PREDICT_BATCH)
        logs.update({"val_loss": val["loss"], "val_accuracy": val["accuracy"]})
    history.append(epoch, logs)
    return True


def _train_epoch(model, plan: "_Plan", x, y, epoch: int, hooks) -> dict:
    order = plan.rng.permutation(len(x)) if plan.shuffle else np.arange(len(x))
    total_loss = total_correct = 0.0
    seen = 0
    with contextlib.closing(plan.engine.batches(x, y, order, plan.batch_size)) as batches:
        for step, (rows, xb, yb) in enumerate(batches):
            value, out = _train_step(plan, xb, yb, epoch, step)
            seen += len(rows)
            total_loss += value * len(rows)
            total_correct += plan.accuracy.total(out, yb)
            hooks.on_batch_end(step, {"loss": total_loss / seen, "accuracy": total_correct / seen})
            if plan.stop.received is not None:
                raise _Interrupted(f"interrupted by {plan.stop.name} at epoch {epoch + 1}, step {step + 1}; "
                                   f"the history holds the {epoch} complete epochs")
    return {"loss": total_loss / len(x), "accuracy": total_correct / len(x)}


def _train_step(plan: "_Plan", xb: np.ndarray, yb: np.ndarray, epoch: int, step: int) -> tuple:
    """One step on a batch, by the captured or the eager step (the same numbers either way)."""
    engine = plan.engine
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite values are caught below, with context
        loss_value, out = engine.forward(xb, yb)
        if not math.isfinite(loss_value):
            raise TrainingDiverged(_non_finite_loss(plan, loss_value, out, xb, epoch, step))
        engine.backward()
        bad = engine.first_bad_gradient()
        if bad is not None:
            raise TrainingDiverged(f"the gradient of {bad.name} became NaN or inf at epoch {epoch + 1}, "
                                   f"step {step + 1}; try a smaller learning rate (or clipnorm=...)")
        engine.save_weights()  # the last finite weights, put back if this update overflows
        engine.update(len(xb))
        bad = engine.first_bad_weight()  # finite gradients can still make an update beyond the dtype's range
        if bad is not None:
            engine.restore_weights()
            raise TrainingDiverged(f"the update made {bad.name} NaN or inf at epoch {epoch + 1}, step {step + 1}; "
                                   "try a smaller learning rate (or clipnorm=...)")
    plan.stepped = True
    return loss_value, out


def _non_finite_loss(plan, loss_value: float, out: np.ndarray, x: np.ndarray, epoch: int, step: int) -> str:
    where = f"the loss became {loss_value} at epoch {epoch + 1}, step {step + 1}"
    if not plan.stepped and not np.isfinite(out).all():  # before any update: the weights are as they started
        return (f"{where}, before any update: the network's outputs overflowed on inputs up to "
                f"|x| = {float(np.abs(x).max()):.4g}; the input scale is too large for the network. "
                "Rescale x (e.g. with Standardizer)")
    return f"{where}; try a smaller learning rate (or clipnorm=...)"


class _EagerStep:
    """The reference step: record the graph, backward through it, ``Optimizer.step``."""

    def __init__(self, model, plan):
        self.model, self.plan, self.params = model, plan, plan.opt.params
        self.previous = [np.empty_like(p.data) for p in self.params]

    def batches(self, x, y, order, batch_size: int):
        for start in range(0, len(x), batch_size):
            rows = order[start:start + batch_size]
            yield rows, x[rows].astype(self.model.dtype, copy=False), y[rows]

    def close(self) -> None:
        pass

    def forward(self, xb, yb) -> tuple:
        self.plan.opt.zero_grad()
        out = self.model.forward(Tensor(xb), training=True)
        value = self.plan.loss(out, yb)
        penalty = self.model.penalty(self.plan.reg)
        self.value = value if penalty is None else value + penalty
        return self.value.item(), out.data

    def backward(self) -> None:
        value, self.value = self.value, None  # the graph is freed once its gradients are out
        value.backward()

    def first_bad_gradient(self):
        for p in self.params:
            # g·g is a cheap first test (one BLAS pass, ~5x faster than a float32 sum; NaN and inf propagate,
            # and an overflow to inf only costs the exact test, which confirms).
            if p.grad is not None and not np.isfinite(np.vdot(p.grad, p.grad)) and not np.isfinite(p.grad).all():
                return p
        return None

    def save_weights(self) -> None:
        for p, keep in zip(self.params, self.previous):
            np.copyto(keep, p.data)

    def restore_weights(self) -> None:
        for p, keep in zip(self.params, self.previous):
            np.copyto(p.data, keep)

    def update(self, batch_size: int) -> None:
        self.plan.opt.step(batch_size=batch_size)

    def first_bad_weight(self):
        for p in self.params:
            if not np.isfinite(np.vdot(p.data, p.data)) and not np.isfinite(p.data).all():
                return p
        return None


class _Plan:
    """Everything one fit() call resolved from its arguments."""

    @classmethod
    def make(cls, model, x, y, loss, opt, reg, batch_size, seed) -> "_Plan":
        plan = cls()
        seed = model.seed if seed is None else _checks.seed("fit", seed)
        model.check_seed(seed)
        if not model.built:
            model.build(model.input_shape or x.shape[1:], seed=seed)
        _inputs.check_width("fit", x, model.input_shape)
        _inputs.check_range("fit", x, model.dtype)
        if not model.trainable_weights:
            raise ValueError(f"fit: the model has no trainable parameters (layers: "
                             f"{', '.join(type(layer).__name__ for layer in model.layers)}); add a Dense layer")
        plan.seed, plan.n_outputs = seed, int(np.prod(model.output_shapes()[-1]))
        compiled = model.compiled
        plan.loss = model.loss = _conventions.resolve_loss("fit", loss, compiled)
        plan.loss.check_targets(y, plan.n_outputs, dtype=model.dtype)
        if opt is None:
            opt = compiled.optimizer if compiled is not None else optimizers.SGD(lr=0.01)
        plan.opt = optimizers.get(opt)
        plan.reg = regularizers.get(reg)
        plan.batch_size = _batch_size(plan.opt, batch_size, len(x))
        plan.accuracy = metrics.Accuracy()
        plan.accuracy.adapt(y, plan.n_outputs)
        if [id(p) for p in plan.opt.params] != [id(p) for p in model.trainable_weights]:
            plan.opt.bind(model.trainable_weights)
        plan.stepped = False
        plan.rng = np.random.default_rng(_state.streams(seed)[1])
        captured, plan.capture_reason = capture.capture(model, plan)
        plan.engine = captured or _EagerStep(model, plan)
        return plan


def _batch_size(opt, batch_size, n: int) -> int:
    if batch_size is not None:
        batch_size = _checks.positive_int("fit", "batch_size", batch_size)
        if opt.batch_size is not None and opt.batch_size != batch_size:
            raise ValueError(f"fit: batch_size={batch_size} conflicts with the optimizer's bs={opt.batch_size}; give one")
        return batch_size
    if opt.batch_size is not None:
        return opt.batch_size
    return n if opt.whole_set_by_default else 32


# ----- what a checkpoint holds and what it must match -----
class _Run(_state.Stateful):
    """The run's progress: epochs done, whether a callback stopped it, whether it finished."""

    def __init__(self):
        self.epochs_done, self.stop_training, self.finished = 0, False, False

    def state_dict(self) -> dict:
        return {"epochs_done": self.epochs_done, "stop_training": self.stop_training, "finished": self.finished}

    def check_state(self, state) -> None:
        _state.fields(state, ("epochs_done", "stop_training", "finished"), "run state")
        _state.integer(state["epochs_done"], "run epochs_done")
        for key in ("stop_training", "finished"):
            if not isinstance(state[key], bool):
                raise _state.StateError(f"run {key} must be true or false. Received: {state[key]!r:.40}")

    def set_state(self, state: dict) -> None:
        self.epochs_done, self.stop_training, self.finished = (state["epochs_done"], state["stop_training"],
                                                               state["finished"])


class _Shuffle(_state.Stateful):
    """The generator that orders each epoch's samples."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def state_dict(self) -> dict:
        return {"generator": _state.generator_state(self.rng)}

    def check_state(self, state) -> None:
        _state.fields(state, ("generator",), "shuffle state")
        _state.check_generator(self.rng, state["generator"], "shuffle generator")

    def set_state(self, state: dict) -> None:
        _state.set_generator(self.rng, state["generator"])


def _participants(model, plan, history, callbacks, run) -> dict:
    return {"model": model, "optimizer": plan.opt, "shuffle": _Shuffle(plan.rng), "callbacks": callbacks,
            "history": history, "run": run}


def _signature(model, plan, callbacks, x, y, test, epochs) -> dict:
    """Everything that decides the run's result; a checkpoint must match it to be resumed."""
    return {"model": model.get_config() | {"loss": None, "name": None},
            "loss": checkpoints.describe(plan.loss), "optimizer": checkpoints.describe(plan.opt),
            "regularizer": checkpoints.describe(plan.reg), "batch_size": plan.batch_size, "seed": plan.seed, "epochs": epochs, "shuffle": plan.shuffle,
            "callbacks": checkpoints.describe(callbacks.get_config()),
            "data": {"x": checkpoints.fingerprint(x), "y": checkpoints.fingerprint(y),
                     "test": None if test is None else [checkpoints.fingerprint(a) for a in test]}}


def _budget(model) -> int:
    """The most array bytes a checkpoint of this model may declare: weights, slots, best weights, with room."""
    return 16 * sum(w.data.nbytes for w in model.weights) + (1 << 20)
