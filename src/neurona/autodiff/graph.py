"""The graph machinery: gradient mode, topological order, and the backward pass."""

from __future__ import annotations

import functools
import threading

import numpy as np

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph for backward()."""
    return getattr(_state, "enabled", True)


class no_grad:
    """Context manager (and decorator) that stops recording the graph.

    Tensors computed inside have no parents and ``requires_grad=False``: inference
    builds no graph and keeps no intermediate arrays alive.

    Example:
        >>> with no_grad():
        ...     y = model_output(x)
    """

    def __init__(self):
        self._previous = []  # a stack: the same instance may be entered again before it exits

    def __enter__(self):
        self._previous.append(is_grad_enabled())
        _state.enabled = False
        return self

    def __exit__(self, *exc_info):
        _state.enabled = self._previous.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper


def _frozen(array) -> bool:
    """Whether nothing can write to ``array``: it and every array it views are read-only."""
    while isinstance(array, np.ndarray):
        if array.flags.writeable:
            return False
        array = array.base
    return True


def saved(t, needed: bool = True) -> np.ndarray:
    """``t``'s value for a backward to read later: its array if frozen, else a copy (only while recording)."""
    if not needed or not is_grad_enabled() or _frozen(t.data):
        return t.data
    return t.data.copy()


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` back down to ``shape``, undoing NumPy broadcasting.

    Broadcasting adds leading axes and stretches axes of length 1; the gradient of
    a broadcast value is the sum over every place it was copied to. This is the one
    place in the engine that deals with it, so no op's backward juggles shapes.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad if grad.shape == shape else grad.reshape(shape)


def topological_order(root, only_requiring_grad: bool = False) -> list:
    """Every node the root depends on, each after all of its parents.

    Iterative depth-first search (no recursion limit: a chain of 100,000 ops is
    fine); a node reached along many paths appears once.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if id(parent) not in visited and (parent.requires_grad or not only_requiring_grad):
                stack.append((parent, False))
    return order


def backward(root, grad: np.ndarray) -> None:
    """Reverse-mode pass: push ``grad`` (dL/droot) to every node that requires grad.

    Each node's gradient is complete before its own backward runs, because nodes
    are visited in reverse topological order. Gradients accumulate into ``.grad``
    (zeroing is the caller's job, e.g. ``optimizer.zero_grad()``); every node of
    the graph keeps its gradient, so drawn graphs can show all of them.
    """
    pending, stored = {id(root): grad}, set()
    for node in reversed(topological_order(root, only_requiring_grad=True)):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        g = np.asarray(g)  # NumPy returns 0-d results as scalars; every .grad is an ndarray
        if node.grad is None:
            # Each .grad must be safe to update in place: a gradient already stored on another node
            # (add passes one array to both parents) or a view is copied; fresh arrays are kept as they are.
            node.grad = g.copy() if id(g) in stored or g.base is not None or not g.flags.writeable else g
            stored.add(id(node.grad))
        else:
            node.grad = np.asarray(node.grad + g)
        if node._backward is None:
            continue
        _check_unchanged(node)
        for parent, parent_grad in zip(node._parents, node._backward(g)):
            if parent_grad is None or not parent.requires_grad:
                continue
            parent_grad = unbroadcast(parent_grad, parent.data.shape)
            if parent_grad.dtype != parent.data.dtype:
                parent_grad = parent_grad.astype(parent.data.dtype)
            seen = pending.get(id(parent))
            pending[id(parent)] = parent_grad if seen is None else seen + parent_grad


def _check_unchanged(node) -> None:
    """Refuse to differentiate through an input whose ``.data`` was replaced after ``node`` was computed from it."""
    for position, (parent, seen) in enumerate(zip(node._parents, node._seen)):
        if parent.data is not seen:
            raise RuntimeError(
                f"backward: input {position} of op {node._op!r} had its .data replaced (shape {seen.shape} then "
                f"{parent.data.shape}) after the op used it, so the gradient would belong to neither value. "
                "Recompute the forward pass after changing a tensor")
