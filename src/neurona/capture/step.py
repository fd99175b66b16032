"""The captured step: one program of kernels per batch size, replayed on each batch with no graph.

A program runs the layers' kernels forward, the loss and penalties, then the kernels backward,
all writing into buffers planned once; the update phase (``update.FlatState``) works on the
flat arrays that hold every parameter, gradient and optimizer slot.
"""

from __future__ import annotations

import concurrent.futures

import numpy as np

from .. import layers, optimizers
from . import heads
from .kernels import Unsupported, layer_kernel
from .update import FlatState, spare_core


# With a spare core, batches of at least this many bytes are gathered in a thread while the step before runs:
# NumPy's take releases the GIL, and the gather (random rows of a big array) is memory-bound work.
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

    def __init__(self, model, plan, batch: int, grads: dict, penalties: list):
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
                self.kernels[-1].needs_input_grad = position > 0
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
        self.penalties = penalties

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
        _Program(model, plan, plan.batch_size, {}, heads.penalties(model, plan.reg, {}))  # raises before arrays move
        self.programs, self.buffers, self.pool = {}, {}, None
        self._bind()

    def _bind(self) -> None:
        """Parameters, gradients and slots into flat arrays; the programs are planned anew around them."""
        self.state = FlatState(self.params, self.opt, self.model.dtype)
        self.penalties = heads.penalties(self.model, self.plan.reg, self.state.grad_of)
        self.state.use_penalties(self.penalties)
        self.programs.clear()

    def program(self, batch: int) -> _Program:
        program = self.programs.get(batch)
        if program is None:
            program = self.programs[batch] = _Program(self.model, self.plan, batch, self.state.grad_of, self.penalties)
        return program

    # ----- the step, as training drives it -----
    def batches(self, x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int):
        """(rows, x rows, y rows) per step; with a spare core, a big batch's rows are gathered in a thread
        during the step before."""
        starts = range(0, len(x), batch_size)
        prefetch = batch_size * x[:1].nbytes >= _PREFETCH_BYTES and len(starts) > 1 and spare_core()
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
            self.pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="neurona-step")
        return self.pool

    def close(self) -> None:
        """Stop the helper threads (fit calls this when it ends)."""
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def forward(self, xb: np.ndarray, yb: np.ndarray):
        if not self.state.bound():  # a user rebound the optimizer, or replaced arrays, between steps
            self._bind()
        self.current = self.program(len(xb))
        value, out = self.current.forward(xb, yb)
        return value.item(), out

    def backward(self) -> None:
        self.current.backward()
        self.state.add_penalties(self._pool)  # the pool is started only if the update is split

    def first_bad_gradient(self):
        return self.state.first_bad_gradient()

    def save_weights(self) -> None:
        pass  # update() saves each half of the weights just before updating it

    def update(self, batch_size: int) -> None:
        self.state.update(self._pool, batch_size)

    def first_bad_weight(self):
        return self.state.first_bad_weight()

    def restore_weights(self) -> None:
        self.state.restore_weights()


def _check_optimizer(opt) -> None:
    kind = type(opt)
    if not opt.elementwise:
        raise Unsupported(f"the optimizer {kind.__name__} does not update element by element")
    for method in ("step", "_clipped", "_clip_scale", "_pieces", "current_lr"):
        if getattr(kind, method) is not getattr(optimizers.Optimizer, method):
            raise Unsupported(f"the optimizer {kind.__name__} overrides {method}()")
    if len({tuple(s) for s in opt.slots}) > 1:
        raise Unsupported(f"the optimizer {kind.__name__} keeps different slots per parameter")
