"""The captured step: kernels planned per batch shape, parameters in one flat array, the optimizer's own update.

The parameters, their gradients and the optimizer's slots each live in one contiguous array, and
every Tensor's ``.data`` (and ``.grad``, and each slot) becomes a view of it. So checking for NaN,
saving the last finite weights and the update are one NumPy call each, not one per parameter,
while layers, optimizers, checkpoints and callbacks still see their own arrays.
"""

from __future__ import annotations

import concurrent.futures
import math

import numpy as np

from .. import layers, optimizers
from . import heads
from .kernels import Unsupported, layer_kernel


# Batches of at least this many bytes are gathered in a thread while the step before runs: NumPy's take
# releases the GIL, and the gather (random rows of a big array) is memory-bound work the step need not wait for.
_PREFETCH_BYTES = 1 << 18


class _Concatenate:
    """The previous output, then the network's input, side by side (``Concatenate(input_dim)`` in a Network)."""

    def __init__(self, layer, in_shapes, batch, dtype, grads):
        if layer.axis not in (-1, 1):
            raise Unsupported(f"Concatenate(axis={layer.axis}) is captured along the feature axis only")
        self.width = int(np.prod(in_shapes[0]))
        self.out = np.empty((batch, self.width + int(np.prod(in_shapes[1]))), dtype)

    def forward(self, xs, training):
        h, x = (a.reshape(len(a), -1) for a in xs)
        self.out[:, :self.width] = h
        self.out[:, self.width:] = x
        return self.out

    def backward(self, g, input_grad, skip_activation=False):
        return g[:, :self.width] if input_grad else None  # the network's input needs no gradient


class _Program:
    """The kernels of one batch size: forward, loss, penalties, backward."""

    def __init__(self, model, plan, batch: int, grads: dict):
        dtype, self.kernels, self.joins = model.dtype, [], []
        for position, ((index, sources, as_list), (_, in_shape)) in enumerate(zip(model.steps, model._walk_shapes())):
            layer = model.layers[index]
            if sources[0] != position or any(s != 0 for s in sources[1:]):
                raise Unsupported("a model whose layers branch (other than a Concatenate of the input) is not captured")
            if as_list:
                if type(layer) is not layers.Concatenate or len(sources) != 2:
                    raise Unsupported(f"the layer {layer.name} ({type(layer).__name__}) takes several inputs")
                self.kernels.append(_Concatenate(layer, in_shape, batch, dtype, grads))
            else:
                self.kernels.append(layer_kernel(layer, in_shape, batch, dtype, grads))
            self.joins.append(as_list)
        if not self.kernels:
            raise Unsupported("the model has no layers")
        weights = [id(w) for index, _, _ in model.steps for w in model.layers[index].weights]
        if len(set(weights)) != len(weights):
            raise Unsupported("a layer (or a weight) used twice sums two gradients into one; not captured")
        for position, kernel in enumerate(self.kernels):
            if getattr(kernel, "stops_gradient", False) and any(
                    model.layers[index].weights for index, _, _ in model.steps[:position]):
                raise Unsupported("an augmentation layer after a layer with weights stops its gradient; not captured")
        last = model.layers[model.steps[-1][0]]
        out_shape = (batch, int(np.prod(model.output_shapes()[-1])))
        self.head, self.reads_scores = heads.head(plan.loss, getattr(last, "activation", None), out_shape, dtype)
        self.penalties = heads.penalties(model, plan.reg, grads)

    def forward(self, x: np.ndarray, y: np.ndarray):
        """The loss value (the penalty included) as a 0-d array, and the network's output."""
        h = x
        for kernel, joins in zip(self.kernels, self.joins):
            h = kernel.forward([h, x] if joins else h, True)
        scores = self.kernels[-1].scores if self.reads_scores else h
        value = self.head.value(scores.reshape(len(scores), -1), y)
        penalty = heads.total(self.penalties)
        return (value if penalty is None else value + penalty), h

    def backward(self) -> None:
        g = self.head.gradient()
        last = len(self.kernels) - 1
        for position in range(last, -1, -1):
            kernel = self.kernels[position]
            g = kernel.backward(g, position > 0, skip_activation=self.reads_scores and position == last)
        for penalty in self.penalties:
            penalty.add_gradient()


class _Flat:
    """Arrays of one dtype stored end to end in one buffer; each Tensor's array becomes a view of it."""

    def __init__(self, arrays: list, dtype):
        self.sizes = [a.size for a in arrays]
        self.buffer = np.empty(sum(self.sizes), dtype)
        self.views, start = [], 0
        for a in arrays:
            view = self.buffer[start:start + a.size].reshape(a.shape)
            np.copyto(view, a)
            self.views.append(view)
            start += a.size


class CapturedStep:
    """One model's training step, captured: the same interface as training's eager step.

    ``gather`` picks the batch's rows into a preallocated buffer; ``forward`` returns the loss value
    and the outputs; ``backward`` writes every gradient; ``update`` is the optimizer's own update,
    applied once to the flat arrays. Raises Unsupported (saying what) for what it cannot capture.
    """

    def __init__(self, model, plan):
        self.model, self.plan, self.opt = model, plan, plan.opt
        _check_optimizer(self.opt)
        self.params = list(self.opt.params)
        if len({p.dtype for p in self.params} | {np.dtype(model.dtype)}) != 1:
            raise Unsupported("the parameters do not all have the model's dtype")
        _Program(model, plan, plan.batch_size, {})  # raises Unsupported before any array is moved
        self._bind()
        self.programs, self.buffers, self.pool = {}, {}, None

    def _bind(self) -> None:
        """Move the parameters, their gradients and the optimizer's slots into flat arrays (values kept)."""
        dtype = self.model.dtype
        self.weights = _Flat([p.data for p in self.params], dtype)
        self.grads = _Flat([np.zeros_like(p.data) for p in self.params], dtype)
        self.previous = np.empty_like(self.weights.buffer)
        names = list(self.opt.slots[0]) if self.opt.slots else []
        self.slots = {name: _Flat([s[name] for s in self.opt.slots], dtype) for name in names}
        for i, p in enumerate(self.params):
            p.data, p.grad = self.weights.views[i], self.grads.views[i]
            for name, flat in self.slots.items():
                self.opt.slots[i][name] = flat.views[i]
        self.grad_of = {id(p): g for p, g in zip(self.params, self.grads.views)}

    def _bound(self) -> bool:
        """Whether every parameter and slot is still the view it was given (a rebind or load replaces arrays)."""
        return (list(self.opt.params) == self.params
                and all(p.data is v for p, v in zip(self.params, self.weights.views))
                and all(s[name] is flat.views[i] for name, flat in self.slots.items()
                        for i, s in enumerate(self.opt.slots)))

    def program(self, batch: int) -> _Program:
        program = self.programs.get(batch)
        if program is None:
            program = self.programs[batch] = _Program(self.model, self.plan, batch, self.grad_of)
        return program

    # ----- the step, as training drives it -----
    def batches(self, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int):
        """(rows, x rows, y rows) per step; a big batch's rows are gathered in a thread during the step before."""
        starts = range(0, len(x), batch_size)
        prefetch = batch_size * x[:1].nbytes >= _PREFETCH_BYTES and len(starts) > 1
        pending = None
        try:
            for k, start in enumerate(starts):
                rows = order[start:start + batch_size]
                if pending is None:
                    xb = self._gather(x, rows, k % 2)
                else:
                    xb, pending = pending.result(), None
                if prefetch and k + 1 < len(starts):
                    following = order[starts[k + 1]:starts[k + 1] + batch_size]
                    pending = self._pool().submit(self._gather, x, following, (k + 1) % 2)
                yield rows, xb, y[rows]
        finally:
            if pending is not None:  # an epoch cut short: the buffer must not be written after it ends
                pending.result()

    def _gather(self, x, rows, slot: int) -> np.ndarray:
        key = (len(rows), slot)
        buffer = self.buffers.get(key)
        if buffer is None or buffer.dtype != x.dtype:
            buffer = self.buffers[key] = np.empty((len(rows), *x.shape[1:]), x.dtype)
        np.take(x, rows, axis=0, out=buffer, mode="clip")  # rows are valid; "clip" writes out= unbuffered
        return buffer if x.dtype == self.model.dtype else buffer.astype(self.model.dtype)

    def _pool(self):
        if self.pool is None:
            self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="neurona-gather")
        return self.pool

    def close(self) -> None:
        """Stop the gathering thread (fit calls this when it ends)."""
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def forward(self, xb: np.ndarray, yb: np.ndarray):
        if not self._bound():  # a user rebound the optimizer, or replaced arrays, between steps
            self._bind()
            self.programs.clear()
        self.current = self.program(len(xb))
        value, out = self.current.forward(xb, yb)
        return value.item(), out

    def backward(self) -> None:
        self.current.backward()

    def first_bad_gradient(self):
        return _first_non_finite(self.grads, self.params)

    def save_weights(self) -> None:
        np.copyto(self.previous, self.weights.buffer)

    def restore_weights(self) -> None:
        np.copyto(self.weights.buffer, self.previous)

    def update(self, batch_size: int) -> None:
        """Optimizer.step on the flat arrays: the same clipping, learning rate, count and elementwise update."""
        opt, flat_grad = self.opt, self.grads.buffer
        if opt.clipnorm is not None:
            norm = math.sqrt(sum(float(np.vdot(g, g)) for g in self.grads.views))
            if norm > opt.clipnorm:
                np.multiply(flat_grad, opt.clipnorm / norm, out=flat_grad)
        lr = opt.current_lr(batch_size)
        opt.iterations += 1
        slots = {name: flat.buffer for name, flat in self.slots.items()}
        for piece in opt._pieces(self.weights.buffer, flat_grad, slots):
            opt._update(*piece, lr)

    def first_bad_weight(self):
        return _first_non_finite(self.weights, self.params)


def _first_non_finite(flat: _Flat, params: list):
    """The first parameter whose array (in ``flat``) holds NaN or inf; one BLAS pass when all are finite."""
    if math.isfinite(np.vdot(flat.buffer, flat.buffer)):
        return None
    for p, view in zip(params, flat.views):  # the dot product can overflow: the exact test confirms
        if not np.isfinite(view).all():
            return p
    return None


def _check_optimizer(opt) -> None:
    kind = type(opt)
    if not opt.elementwise:
        raise Unsupported(f"the optimizer {kind.__name__} does not update element by element")
    for method in ("step", "_clipped", "_pieces", "current_lr"):
        if getattr(kind, method) is not getattr(optimizers.Optimizer, method):
            raise Unsupported(f"the optimizer {kind.__name__} overrides {method}()")
    if len({tuple(s) for s in opt.slots}) > 1:
        raise Unsupported(f"the optimizer {kind.__name__} keeps different slots per parameter")
