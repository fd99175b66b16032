"""Read-only views of the core: computational graphs as Graphviz DOT, drawn to files or shown inline in Jupyter."""

from .dot import Drawing, GraphvizNotFoundWarning, draw, reading_order, summarize, to_dot

__all__ = ["to_dot", "draw", "Drawing", "GraphvizNotFoundWarning", "reading_order", "summarize"]
