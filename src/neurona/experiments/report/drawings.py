"""The report's graph sections, exercises 1-2 and a small conv net: inline SVG when Graphviz is present, and values."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .. import graphs
from ...viz import draw
from . import html as H

INTRO = ("<p>Forward values in black and gradients in red, as in the practical's figures; each graph is built by "
         "the autodiff engine in float64 and differentiated with output gradient 1 (Exercise 1) or from the MSE "
         "(Exercise 2). The activations of Exercise 1 are drawn as their elementary operations; each graph is scaled "
         "to the width of the page.</p>")


def _graphs():
    for activation in graphs.PRACTICAL_ACTIVATIONS:
        out, rows = graphs.exercise1(activation, decompose=True)
        yield f"ex1-{activation}", out, rows, f"Exercise 1: f = {activation}(w·x + b)"
    loss, rows = graphs.exercise2()
    yield "ex2", loss, rows, "Exercise 2: a = sigmoid(W x + b), MSE against y = (0, 0)"


WIDE_PT = 1200  # a left-to-right graph wider than this would shrink below ~70% in the page's column


def _width_pt(svg: str) -> float:
    match = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', svg)
    return float(match.group(1)) if match else 0.0


def _drawn(tensor, folder: Path, stem: str, caption: str) -> str:
    """Inline SVG from Graphviz (top to bottom when left to right is too wide to read), or "" and a .dot file."""
    if shutil.which("dot") is None:
        draw(tensor, folder / f"{stem}.dot")
        return ""
    try:
        svg = draw(tensor, folder / f"{stem}.svg")._repr_svg_()  # the SVG text Jupyter would show
        if svg and _width_pt(svg) > WIDE_PT:
            svg = draw(tensor, folder / f"{stem}.svg", rankdir="TB")._repr_svg_()
    except (OSError, RuntimeError, ValueError, TimeoutError):
        draw(tensor, folder / f"{stem}.dot")
        return ""
    return H.inline_svg(svg, caption) if svg else ""


def graphs_section(folder) -> str:
    """HTML for exercises 1-2; writes each graph to ``folder`` as .svg (Graphviz) or .dot."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [INTRO]
    if shutil.which("dot") is None:
        parts.append(H.status_box("note", "Graphviz's `dot` program is not installed, so the graphs are shown as "
                                  "value tables (their DOT source is in the graphs folder). Install Graphviz "
                                  "(e.g. apt install graphviz, brew install graphviz) to draw them."))
    for stem, tensor, rows, caption in _graphs():
        svg = _drawn(tensor, folder, stem, caption)
        table = f"<pre>{H.esc(graphs.format_table(rows))}</pre>"
        parts.append(f"<h3>{H.esc(caption)}</h3>")
        parts.append(svg + f"<details><summary>Values and gradients</summary>{table}</details>" if svg else table)
    return "".join(parts)


CONV_INTRO = ("<p>The same engine and the same drawing, one chapter further: a training step of a small "
              "convolutional network on two random 8×8 RGB images, {network}. Its nodes hold whole batches, so each "
              "shows its shape and the mean [min, max] of its values (black) and of its gradient (red) instead of "
              "hundreds of numbers. <code>conv2d</code>, <code>max_pool2d</code> and <code>batch_norm</code> are "
              "single primitives of the engine, each with its backward beside it (docs/engine.md); the graph comes "
              "from <code>neurona.experiments.graphs.conv_net()</code> and is drawn by "
              "<code>neurona.viz.draw(loss, \"cnn.svg\")</code>.</p>")


def conv_net_section(folder) -> str:
    """HTML for the conv net's graph; writes it to ``folder`` as cnn.svg (Graphviz) or cnn.dot, else a table."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    loss, rows = graphs.conv_net()
    svg = _drawn(loss, folder, "cnn", f"One training step: {graphs.CONV_NET}")
    table = f"<pre>{H.esc(graphs.format_table(rows))}</pre>"
    parts = [CONV_INTRO.format(network=H.esc(graphs.CONV_NET))]
    if not svg:
        parts.append(H.status_box("note", "Graphviz's `dot` program is not installed, so the graph is shown as a "
                                  "table of its nodes (its DOT source is graphs/cnn.dot)."))
    parts.append(svg + f"<details><summary>Values and gradients</summary>{table}</details>" if svg else table)
    return "".join(parts)
