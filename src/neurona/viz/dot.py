"""Computational graphs as Graphviz DOT: forward values in black, gradients in red, rendered by `dot` when present."""

from __future__ import annotations

import html
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np

from .._files import atomic_write
from ..autodiff import Tensor

_RANKDIRS = ("LR", "TB", "RL", "BT")
_RENDERED = ("svg", "png", "pdf")
PNG_DPI = 192  # twice Graphviz's default 96, so PNG graphs stay sharp on high-density screens and in print
_INSTALL_HINT = (
    "install Graphviz to render it: `apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS), or see https://graphviz.org/download/"
)


class GraphvizNotFoundWarning(UserWarning):
    """The Graphviz `dot` program is not installed, so a graph was saved as DOT text instead of rendered."""


# ----- graph -> DOT text -----
def reading_order(t: Tensor) -> list:
    """Every node of the graph that produced ``t``, once each, parents before children.

    Like ``autodiff.topological_order`` but visiting each node's parents first to last,
    so the order reads like the formula (w0, x0, w0*x0, w1, ...): drawings and tables
    list nodes in it. Iterative, so deep graphs are fine.
    """
    order, visited, stack = [], set(), [(t, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((parent, False) for parent in reversed(node._parents) if id(parent) not in visited)
    return order


def _number(value: float, precision: int) -> str:
    """A number with ``precision`` decimals (no "-0.000"); scientific notation where that would hide it."""
    value = float(value)
    if value == 0 or not np.isfinite(value) or 10.0 ** -precision <= abs(value) < 1e6:
        text = f"{value:.{precision}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    return f"{value:.{precision}e}"


def summarize(array, precision: int = 3) -> str:
    """One short line for a value: the number, up to 4 numbers, or shape + mean [min, max].

    What a graph node shows, so a conv layer's thousands of values read as one line:
    ``(2, 8, 8, 4) mean 0.012 [min -2.100, max 3.400]``.
    """
    array = np.asarray(array)
    if array.size == 1:
        return _number(array.item(), precision)
    if array.size == 0:
        return f"{array.shape} empty"
    if array.size <= 4:
        text = np.array2string(array, separator=", ", formatter={"float_kind": lambda v: _number(v, precision)})
        return text.replace("\n", "")
    return f"{array.shape} {_statistics(array, precision)}"


def _statistics(array: np.ndarray, precision: int) -> str:
    mean, low, high = (_number(f(array), precision) for f in (np.mean, np.min, np.max))
    return f"mean {mean} [min {low}, max {high}]"


def _title(node: Tensor) -> str:
    """What a node is: a leaf's name (or 'const'/'input'), an op's label (with its name, if it has one)."""
    if node._op:
        return f"{node.name} = {node._op}" if node.name and node.name != node._op else node._op
    if node.name:
        return node.name
    return "const" if node.data.ndim == 0 and not node.requires_grad else "input"


def _label(node: Tensor, precision: int, show_grad: bool) -> str:
    """An HTML-like label: title in bold, forward value in black, gradient (if computed) in red.

    A summarized array's shape is written once, after the title (its gradient has the same shape),
    so a conv node reads ``conv2d (2, 8, 8, 4)`` / ``mean … [min …, max …]`` / the same for its gradient.
    """
    title, show = f"<B>{html.escape(_title(node))}</B>", summarize
    if node.data.size > 4:
        title += f" {node.data.shape}"
        show = _statistics
    lines = [title, html.escape(show(node.data, precision))]
    if show_grad and node.grad is not None:
        lines.append(f'<FONT COLOR="red">{html.escape(show(node.grad, precision))}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


def _check_options(t, rankdir, precision) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"to_dot: t must be a Tensor. Received: t={t!r:.80} ({type(t).__name__})")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"to_dot: rankdir must be one of {', '.join(_RANKDIRS)}. Received: rankdir={rankdir!r}")
    if not isinstance(precision, int) or isinstance(precision, bool) or not 0 <= precision <= 12:
        raise ValueError(f"to_dot: precision must be an int in [0, 12]. Received: precision={precision!r}")


def to_dot(t: Tensor, *, rankdir: str = "LR", show_grad: bool = True, precision: int = 3) -> str:
    """Graphviz DOT source of the computational graph that produced ``t``.

    One node per leaf (input, parameter, constant) and per op, in topological
    order (ids n0, n1, ... so the output is deterministic); edges go parent -> child.
    Each node shows its name or op and its forward value in black and, once
    ``backward()`` has filled ``.grad``, its gradient in red — the practical's
    convention. Arrays with more than 4 elements are summarised as shape + mean/min/max.

    Args:
        t: the output tensor whose graph is drawn.
        rankdir: layout direction, "LR" (left to right), "TB", "RL" or "BT".
        show_grad: whether to show gradients (when computed).
        precision: decimals shown for each number.

    Returns:
        The DOT text (a ``digraph``), to save as .dot or pipe into ``dot -Tsvg``.

    Example:
        >>> w = Tensor(2.0, requires_grad=True, name="w")
        >>> y = (w * 3.0).sigmoid(); y.backward()
        >>> print(to_dot(y))
    """
    _check_options(t, rankdir, precision)
    order = reading_order(t)
    ids = {id(node): f"n{i}" for i, node in enumerate(order)}
    lines = ["digraph neurona {", f"  rankdir={rankdir};", '  node [fontname="Helvetica", fontsize=11];']
    for node in order:
        shape = "ellipse" if node._op else "box"
        lines.append(f"  {ids[id(node)]} [shape={shape}, label={_label(node, precision, show_grad)}];")
    for node in order:
        lines.extend(f"  {ids[id(parent)]} -> {ids[id(node)]};" for parent in node._parents)
    lines.append("}")
    return "\n".join(lines) + "\n"


# ----- rendering and files -----
def _render(source: str, fmt: str, timeout: float) -> bytes:
    """Run Graphviz's `dot -T<fmt>` on ``source``; raise RuntimeError if it fails or hangs."""
    program = shutil.which("dot")
    if program is None:
        raise FileNotFoundError(f"Graphviz's `dot` program was not found; {_INSTALL_HINT}")
    try:
        options = [f"-Gdpi={PNG_DPI}"] if fmt == "png" else []  # SVG and PDF are vectors
        done = subprocess.run([program, f"-T{fmt}", *options], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"draw: `dot -T{fmt}` did not finish within timeout={timeout} s") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"draw: `dot -T{fmt}` failed (exit code {done.returncode}): {message}")
    return done.stdout


def _write(path: Path, data: bytes) -> None:
    with atomic_write(path) as f:
        f.write(data)


class Drawing:
    """A drawn graph: where it was written, its DOT source, and an inline view for Jupyter.

    Args:
        source: the DOT text.
        path: the file written, or None when nothing was written.
        note: why the file differs from the one asked for (empty when it does not).

    Example:
        >>> drawing = draw(loss, "loss.svg")
        >>> drawing.path   # loss.svg, or loss.dot when Graphviz is missing
        >>> drawing        # in a notebook: the graph, inline
    """

    def __init__(self, source: str, path: Path | None = None, note: str = "", svg: str | None = None):
        self.source, self.path, self.note, self._svg = source, path, note, svg

    def _repr_svg_(self) -> str | None:
        """The graph as SVG text, or None when Graphviz is not installed."""
        if self._svg is None and shutil.which("dot") is not None:
            self._svg = _render(self.source, "svg", timeout=60).decode("utf-8")
        return self._svg

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """SVG when Graphviz can render it, otherwise the DOT text as plain text."""
        svg = self._repr_svg_()
        return {"image/svg+xml": svg} if svg is not None else {"text/plain": self.source}

    def __repr__(self) -> str:
        path = str(self.path) if self.path is not None else None
        return f"Drawing(path={path!r}, note={self.note!r})" if self.note else f"Drawing(path={path!r})"


def draw(t: Tensor, path=None, *, timeout: float = 60, **dot_options) -> Drawing:
    """Draw the graph that produced ``t`` to a file chosen by extension; return a :class:`Drawing`.

    ``.dot``/``.gv`` get the DOT text. ``.svg``/``.png``/``.pdf`` are rendered by Graphviz's
    `dot` program; if it is not installed, ``<path without extension>.dot`` is written
    instead and a :class:`GraphvizNotFoundWarning` says how to install it. Files are
    written atomically. With ``path=None`` nothing is written (a notebook shows the result inline).

    Args:
        t: the output tensor whose graph is drawn.
        path: the file to write (str or PathLike), or None.
        timeout: seconds allowed for `dot` to render.
        **dot_options: passed to :func:`to_dot` (rankdir, show_grad, precision).

    Returns:
        A Drawing with ``.path`` (the file actually written), ``.source`` (DOT) and ``.note``.
    """
    source = to_dot(t, **dot_options)
    if path is None:
        return Drawing(source)
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("dot", "gv") + _RENDERED:
        raise ValueError(f"draw: path must end in .dot, .gv, .svg, .png or .pdf. Received: path={str(path)!r}")
    if fmt in ("dot", "gv"):
        _write(path, source.encode("utf-8"))
        return Drawing(source, path)
    if shutil.which("dot") is None:
        fallback = path.with_suffix(".dot")
        note = f"Graphviz's `dot` was not found, so the DOT source was written to {fallback}; {_INSTALL_HINT}"
        warnings.warn(note, GraphvizNotFoundWarning, stacklevel=2)
        _write(fallback, source.encode("utf-8"))
        return Drawing(source, fallback, note)
    image = _render(source, fmt, timeout)
    _write(path, image)
    return Drawing(source, path, svg=image.decode("utf-8") if fmt == "svg" else None)
