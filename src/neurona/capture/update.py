"""After a captured backward: penalties, NaN checks, the saved weights and the update, over flat arrays.

The parameters, their gradients and the optimizer's slots each live in one contiguous array, and
every Tensor's ``.data`` (and ``.grad``, and each slot) is a view of it, so layers, optimizers,
checkpoints and callbacks still see their own arrays. Everything here is elementwise (or a sum
only tested for being finite), so where a core is spare (``spare_core``) a big model's arrays are
cut in two halves that two threads treat at once (NumPy releases the GIL): the same numbers.
"""

from __future__ import annotations

import math
import os

import numpy as np

# Models with at least this many parameters split the update phase across two threads (where a core is
# spare); below it the split cost more than it saved (W1, 0.3M parameters: 1.94 → 2.15 ms per step).
_PARALLEL_SIZE = 1 << 20
_BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def spare_core() -> bool:
    """Whether a core sits idle beside the BLAS: it was capped to one thread, in a process that is not one of
    neurona's workers (those share the cores among themselves). Only then do helper threads pay. Measured
    on 2 cores, medians of alternated runs: with the BLAS on both cores, W1 takes 1.72 ms per step without
    them, 1.80 with the gathering thread, 1.83 with the split update; with one BLAS thread, the gathering
    thread takes W1 from 1.94 to 1.84 ms, and the split takes W3 (Adam, 3.7M parameters) from 39.1 to 32.6."""
    capped = any(os.environ.get(name, "").strip() == "1" for name in _BLAS_VARIABLES)
    return capped and _cores() >= 2 and os.environ.get("NEURONA_WORKER") != "1"


class _Flat:
    """Arrays of one dtype stored end to end in one buffer; ``views`` are the arrays, in place.

    ``move(i, view)`` hands each view to its owner as soon as it holds the array's values, so the
    old array is freed before the next is copied: moving never holds two copies of the model.
    """

    def __init__(self, shapes: list, dtype, get=None, move=None):
        self.buffer = np.empty(sum(int(np.prod(shape)) for shape in shapes), dtype)
        self.views, self.offsets, start = [], [], 0
        for i, shape in enumerate(shapes):
            size = int(np.prod(shape))
            view = self.buffer[start:start + size].reshape(shape)
            if get is None:
                view[...] = 0
            else:
                np.copyto(view, get(i))
            if move is not None:
                move(i, view)
            self.views.append(view)
            self.offsets.append(start)
            start += size


class FlatState:
    """The parameters, gradients and optimizer slots of one fit, moved into flat arrays (values kept)."""

    def __init__(self, params: list, opt, dtype):
        self.params, self.opt = params, opt
        shapes = [p.shape for p in params]
        self.weights = _Flat(shapes, dtype, lambda i: params[i].data, lambda i, v: setattr(params[i], "data", v))
        self.grads = _Flat(shapes, dtype, move=lambda i, v: setattr(params[i], "grad", v))
        self.previous = np.empty_like(self.weights.buffer)
        self.slots = {}
        for name in list(opt.slots[0]) if opt.slots else []:
            self.slots[name] = _Flat(shapes, dtype, lambda i, n=name: opt.slots[i][n],
                                     lambda i, v, n=name: opt.slots[i].__setitem__(n, v))
        self.grad_of = {id(p): g for p, g in zip(params, self.grads.views)}
        self.bound_params, self.bound_slots = opt.params, opt.slots
        self.penalties = []  # (penalty, its weight's offset in the flat array), set by use_penalties
        size = self.weights.buffer.size
        middle = (size // 2) & ~15  # a multiple of 16 elements: both halves start on a cache line
        self.halves = [(0, middle), (middle, size)] if size >= _PARALLEL_SIZE and spare_core() else [(0, size)]
        self.finite_grads = self.finite_weights = True

    def use_penalties(self, penalties: list) -> None:
        """The penalties whose gradients the update phase adds (those on parameters)."""
        offset_of = {id(p): offset for p, offset in zip(self.params, self.weights.offsets)}
        self.penalties = [(pen, offset_of[id(pen.weight)]) for pen in penalties if id(pen.weight) in offset_of]

    def bound(self) -> bool:
        """Whether every parameter and slot is still the view it was given (``opt.bind`` replaces the lists)."""
        if self.opt.params is not self.bound_params or self.opt.slots is not self.bound_slots:
            return False
        for p, view in zip(self.params, self.weights.views):
            if p.data is not view:
                return False
        return True

    def _both_halves(self, pool, work) -> list:
        """``work(start, stop)`` on each half, the second in a thread of ``pool()``; the results in order."""
        if len(self.halves) == 1:
            return [work(*self.halves[0])]
        other = pool().submit(work, *self.halves[1])
        first = work(*self.halves[0])
        return [first, other.result()]

    # ----- the phases, in the order training calls them -----
    def add_penalties(self, pool) -> None:
        """Each penalty's gradient added to its weight's; then whether every gradient is finite (one dot product)."""
        def work(start, stop):
            for penalty, offset in self.penalties:
                size = penalty.weight.data.size
                low, high = max(start - offset, 0), min(stop - offset, size)
                if low < high:
                    penalty.add_gradient(low, high)
            part = self.grads.buffer[start:stop]
            return math.isfinite(np.vdot(part, part))
        self.finite_grads = all(self._both_halves(pool, work))

    def first_bad_gradient(self):
        return None if self.finite_grads else _first_non_finite(self.grads.views, self.params)

    def update(self, pool, batch_size: int) -> None:
        """Optimizer.step on the flat arrays, after saving the weights: the same clipping, rate, count and update."""
        opt, grads = self.opt, self.grads.buffer
        scale = opt._clip_scale(self.grads.views)  # the norm over the parameters, as Optimizer.step takes it
        if scale is not None:
            np.multiply(grads, scale, out=grads)
        lr = opt.current_lr(batch_size)
        opt.iterations += 1

        def work(start, stop):
            weights = self.weights.buffer[start:stop]
            np.copyto(self.previous[start:stop], weights)  # the last finite weights, put back if this update overflows
            slots = {name: flat.buffer[start:stop] for name, flat in self.slots.items()}
            for piece in opt._pieces(weights, grads[start:stop], slots):
                opt._update(*piece, lr)
            return math.isfinite(np.vdot(weights, weights))
        self.finite_weights = all(self._both_halves(pool, work))

    def first_bad_weight(self):
        return None if self.finite_weights else _first_non_finite(self.weights.views, self.params)

    def restore_weights(self) -> None:
        np.copyto(self.weights.buffer, self.previous)


def _first_non_finite(views: list, params: list):
    """The first parameter whose array holds NaN or inf (the dot product that flagged them can overflow)."""
    for p, view in zip(params, views):
        if not np.isfinite(view).all():
            return p
    return None
