"""Optimizers, simplest first. Each keeps its state per parameter and updates ``param.data`` in place.

All but BGD follow the usual convention: the step uses the gradient of the *mean*
loss over the batch. BGD keeps the practical's convention (the gradient *summed*
over the batch), so the practical's learning rates train as they did there.
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks, _state
from .schedules import Schedule

# Elements of each array updated at a time, for arrays of at least 4 such pieces: the piece of param, grad and
# state stays in cache across the update's passes instead of streaming a big kernel from memory ~10 times.
_PIECE = 1 << 18


class Optimizer(_checks.Configurable, _state.Stateful):
    """Base class. Bind the parameters once, then ``zero_grad()`` / backward / ``step()`` each batch.

    Args:
        lr: learning rate, a positive number or a Schedule (a function of the step number).
        clipnorm: if given, gradients are rescaled so their global L2 norm is at most this.
        learning_rate: Keras's name for ``lr``, accepted by every optimizer (it wins when both are given).
    """

    sums_over_batch = False
    batch_size = None  # an optimizer that fixes the batch size says so here (BGD's bs)
    whole_set_by_default = False  # True: without a batch size, one batch is the whole training set (BGD)
    elementwise = False  # True when _update treats each element on its own (big arrays then go in pieces)

    def __init__(self, lr, clipnorm: float | None = None, learning_rate=None):
        where = type(self).__name__
        name, lr = ("lr", lr) if learning_rate is None else ("learning_rate", learning_rate)  # Keras's name
        self.lr = lr if isinstance(lr, Schedule) else _checks.real(where, name, lr, low=0.0, low_open=True)
        self.clipnorm = None if clipnorm is None else _checks.real(where, "clipnorm", clipnorm, low=0.0, low_open=True)
        self.params, self.slots, self.iterations = [], [], 0

    def bind(self, params: list) -> "Optimizer":
        """Attach the parameters (Tensors) to update; state is created per parameter."""
        self.params = list(params)
        self.slots = [{name: np.zeros_like(p.data) for name in self._slot_names()} for p in self.params]
        self.iterations = 0
        return self

    def zero_grad(self) -> None:
        """Forget the gradients of the last step (backward accumulates otherwise)."""
        for p in self.params:
            p.grad = None

    def current_lr(self, batch_size: int | None = None) -> float:
        lr = self.lr(self.iterations) if isinstance(self.lr, Schedule) else self.lr
        return lr * batch_size if self.sums_over_batch and batch_size else lr

    def step(self, batch_size: int | None = None) -> None:
        """Update every bound parameter that has a gradient.

        Args:
            batch_size: samples in this batch; only BGD uses it (its step is lr × the batch-summed gradient).
        """
        grads = self._clipped([p.grad for p in self.params])
        lr = self.current_lr(batch_size)
        self.iterations += 1
        for p, g, slots in zip(self.params, grads, self.slots):
            if g is not None:
                for piece in self._pieces(p.data, g, slots):
                    self._update(*piece, lr)

    def _pieces(self, param: np.ndarray, grad: np.ndarray, slots: dict):
        """(param, grad, slots) whole, or for a big elementwise update, as flat slices of _PIECE elements."""
        arrays = [param, grad, *slots.values()]
        if not self.elementwise or param.size < 4 * _PIECE or not all(a.flags.c_contiguous for a in arrays):
            yield param, grad, slots
            return
        flat = [a.reshape(-1) for a in arrays]
        for start in range(0, param.size, _PIECE):
            piece = [a[start:start + _PIECE] for a in flat]
            yield piece[0], piece[1], dict(zip(slots, piece[2:]))

    def _clipped(self, grads: list) -> list:
        scale = self._clip_scale(grads)
        return grads if scale is None else [None if g is None else g * scale for g in grads]

    def _clip_scale(self, grads: list) -> float | None:
        """The factor clipnorm scales this step's gradients by (None: no clipping); a Python float, so the
        scaled gradient keeps its dtype."""
        if self.clipnorm is None:
            return None
        norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads if g is not None))
        return None if norm <= self.clipnorm else self.clipnorm / norm

    def _slot_names(self) -> tuple:
        return ("scratch",)

    def _update(self, param: np.ndarray, grad: np.ndarray, slots: dict, lr: float) -> None:
        raise NotImplementedError

    # ----- the state protocol: the step count and every slot but the scratch space -----
    def state_dict(self) -> dict:
        """The step count and each bound parameter's slots (momentum, averages): what resuming needs."""
        return {"iterations": self.iterations,
                "slots": [{k: v for k, v in slots.items() if k != "scratch"} for slots in self.slots]}

    def check_state(self, state) -> None:
        where = f"optimizer {type(self).__name__}"
        _state.fields(state, ("iterations", "slots"), f"{where} state")
        _state.integer(state["iterations"], f"{where} iterations")
        if not isinstance(state["slots"], list) or len(state["slots"]) != len(self.slots):
            raise _state.StateError(f"{where}: expected slots for {len(self.slots)} parameters")
        for i, (p, slots, stored) in enumerate(zip(self.params, self.slots, state["slots"])):
            names = [k for k in slots if k != "scratch"]
            _state.fields(stored, names, f"{where} slots of {p.name}")
            for k in names:
                _state.array(stored[k], p.shape, p.dtype, f"{where} slot {k} of {p.name}")

    def set_state(self, state: dict) -> None:
        self.iterations = int(state["iterations"])
        for slots, stored in zip(self.slots, state["slots"]):
            for k, value in stored.items():
                np.copyto(slots[k], value)

    def get_config(self) -> dict:
        return {"lr": self.lr, "clipnorm": self.clipnorm}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    v ← momentum·v − lr·g;  w ← w + v   (Nesterov: w ← w + momentum·v − lr·g).
    With momentum=0 this is plain w ← w − lr·g.

    Args:
        lr: learning rate for the gradient of the mean batch loss.
        momentum: in [0, 1).
        nesterov: use Nesterov's look-ahead form.
        clipnorm: see Optimizer.

    Example:
        >>> model.fit(x, y, loss="cce", opt=optimizers.SGD(lr=0.1, momentum=0.9), batch_size=128)
    """

    elementwise = True

    def __init__(self, lr=0.01, momentum: float = 0.0, nesterov: bool = False, clipnorm=None, *, learning_rate=None):
        super().__init__(lr, clipnorm, learning_rate)
        self.momentum = _checks.real("SGD", "momentum", momentum, low=0.0)
        if self.momentum >= 1:
            raise ValueError(f"SGD: momentum must be in [0, 1). Received: momentum={momentum!r}")
        if not isinstance(nesterov, bool):
            raise ValueError(f"SGD: nesterov must be a bool. Received: nesterov={nesterov!r}")
        self.nesterov = nesterov

    def _slot_names(self):
        return ("scratch", "velocity") if self.momentum else ("scratch",)

    def _update(self, param, grad, slots, lr):
        step = np.multiply(grad, lr, out=slots["scratch"])  # preallocated: the update allocates nothing
        if not self.momentum:
            param -= step
            return
        velocity = slots["velocity"]
        velocity *= self.momentum
        velocity -= step
        if self.nesterov:
            param -= step
            param += self.momentum * velocity
        else:
            param += velocity

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class BGD(SGD):
    """The practical's mini-batch gradient descent: a step is lr × the gradient *summed* over the batch.

    The practical's code summed per-example gradients while reporting the mean loss,
    so its ``BGD(lr=1e-3, bs=128)`` moves the weights by (lr·n)·∇(mean loss) per batch
    of n samples (the last, partial batch uses its own n). The regularization penalty is
    part of the loss, so its gradient is scaled the same way. ``clipnorm`` bounds the
    mean gradient, before the scaling by n. For SGD/Adam with a mean
    loss, the same step needs lr × batch size.

    Args:
        lr: learning rate for the batch-summed gradient.
        bs: samples per batch; None means the whole training set in one batch.
        momentum, nesterov, clipnorm: as in SGD.

    Example:
        >>> model.fit(x, y, epochs=3000, loss=losses.MSE(), opt=optimizers.BGD(lr=0.01, bs=4))
    """

    sums_over_batch = True
    whole_set_by_default = True

    def __init__(self, lr=0.01, bs: int | None = None, momentum: float = 0.0, nesterov: bool = False, clipnorm=None,
                 *, learning_rate=None):
        super().__init__(lr, momentum, nesterov, clipnorm, learning_rate=learning_rate)
        self.batch_size = None if bs is None else _checks.positive_int("BGD", "bs", bs)

    @property
    def bs(self):
        return self.batch_size

    def get_config(self):
        return {**super().get_config(), "bs": self.batch_size}


class RMSprop(Optimizer):
    """s ← rho·s + (1 − rho)·g²;  w ← w − lr·g / (√s + eps).

    Args:
        lr: learning rate. rho: decay of the squared-gradient average. eps: for stability.
    """

    elementwise = True

    def __init__(self, lr=1e-3, rho: float = 0.9, eps: float = 1e-7, clipnorm=None, *, learning_rate=None):
        super().__init__(lr, clipnorm, learning_rate)
        self.rho = _checks.real("RMSprop", "rho", rho, low=0.0, high=1.0)
        if self.rho >= 1:  # rho = 1 never updates the average: every step would be lr·g/eps, ~1e7·lr·g
            raise ValueError(f"RMSprop: rho must be in [0, 1). Received: rho={rho!r}")
        self.eps = _checks.real("RMSprop", "eps", eps, low=0.0, low_open=True)

    def _slot_names(self):
        return ("scratch", "square_avg")

    def _update(self, param, grad, slots, lr):
        scratch, square_avg = slots["scratch"], slots["square_avg"]
        square_avg *= self.rho
        np.multiply(grad, grad, out=scratch)
        square_avg += (1 - self.rho) * scratch
        np.sqrt(square_avg, out=scratch)
        scratch += self.eps
        np.divide(grad, scratch, out=scratch)
        scratch *= lr
        param -= scratch

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """Adam (Kingma & Ba): moving averages of g and g², bias-corrected.

    m ← b1·m + (1 − b1)·g;  v ← b2·v + (1 − b2)·g²;  w ← w − lr·√(1 − b2ᵗ)/(1 − b1ᵗ) · m / (√v + eps)

    Args:
        lr: learning rate. beta1, beta2: decay rates in [0, 1). eps: for stability.
    """

    elementwise = True

    def __init__(self, lr=1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-7, clipnorm=None, *,
                 learning_rate=None):
        super().__init__(lr, clipnorm, learning_rate)
        self.beta1 = _checks.real("Adam", "beta1", beta1, low=0.0, high=0.999999)
        self.beta2 = _checks.real("Adam", "beta2", beta2, low=0.0, high=0.999999)
        self.eps = _checks.real("Adam", "eps", eps, low=0.0, low_open=True)

    def _slot_names(self):
        return ("scratch", "m", "v")

    def _update(self, param, grad, slots, lr):
        scratch, m, v = slots["scratch"], slots["m"], slots["v"]
        t = self.iterations  # already counts this step
        m *= self.beta1
        m += np.multiply(grad, 1 - self.beta1, out=scratch)
        v *= self.beta2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.beta2
        v += scratch
        np.sqrt(v, out=scratch)
        scratch += self.eps
        np.divide(m, scratch, out=scratch)
        scratch *= lr * np.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)
        param -= scratch

    def get_config(self):
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


_REGISTRY = {"sgd": SGD, "bgd": BGD, "rmsprop": RMSprop, "adam": Adam}


def get(identifier) -> Optimizer:
    """An Optimizer from an instance, a class or a name (with its default learning rate)."""
    return _checks.lookup("optimizer", identifier, _REGISTRY, Optimizer)
