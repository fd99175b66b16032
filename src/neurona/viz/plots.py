"""Training curves with matplotlib (imported only here): accuracy and loss against epochs, train and test."""

from __future__ import annotations

from pathlib import Path

from .._files import atomic_write


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("Plotting needs matplotlib: pip install 'neurona[plot]' (or pip install matplotlib)") from exc
    return plt


def _save(fig, path) -> None:
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_write(path) as f:
        fig.savefig(f, format=fmt, dpi=120, bbox_inches="tight")


def _series(history) -> dict:
    return history.history if hasattr(history, "history") else dict(history)


def plot_history(history, path=None, title: str | None = None):
    """Two panels, accuracy and loss against epochs; train solid, test (val_*) dashed.

    Args:
        history: a History or a dict of metric lists.
        path: where to save the figure (png, svg, pdf); None keeps it open.
        title: figure title.

    Returns:
        The matplotlib Figure.
    """
    plt = _pyplot()
    series = _series(history)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric, label in ((axes[0], "accuracy", "Accuracy"), (axes[1], "loss", "Loss")):
        for key, style, name in ((metric, "-", "train"), (f"val_{metric}", "--", "test")):
            if series.get(key):
                ax.plot(range(1, len(series[key]) + 1), series[key], style, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(plt, fig, path, title)


def _panels(plt, metrics):
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.8), squeeze=False)
    return fig, axes[0]


def _style(ax, metric: str, logy_loss: bool) -> None:
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    if logy_loss and "loss" in metric:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _finish(plt, fig, path, title):
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        _save(fig, path)
        plt.close(fig)
    return fig


def plot_comparison(histories: dict, path=None, metrics=("accuracy", "loss"), title: str | None = None,
                    logy_loss: bool = False):
    """Several runs on shared axes: one panel per metric, one line per run (``{label: history}``).

    ``metrics`` names history keys (e.g. "val_accuracy"); loss panels can use a log scale.
    """
    plt = _pyplot()
    fig, axes = _panels(plt, metrics)
    for ax, metric in zip(axes, metrics):
        for label, history in histories.items():
            values = _series(history).get(metric)
            if values:
                ax.plot(range(1, len(values) + 1), values, label=label)
        _style(ax, metric, logy_loss)
    return _finish(plt, fig, path, title)


def plot_runs(groups: dict, path=None, metrics=("accuracy", "loss"), title: str | None = None,
              logy_loss: bool = False):
    """Many runs per group (e.g. one per seed): thin lines for the runs, a bold line for their median.

    Args:
        groups: ``{label: [history, ...]}``; each group gets one colour. Runs may differ in length
            (one that stopped early counts in the median only while it lasted).
        path: where to save the figure; None keeps it open.
        metrics: history keys, one panel each.
        title: figure title.
        logy_loss: log scale on loss panels.

    Returns:
        The matplotlib Figure.
    """
    import numpy as np

    plt = _pyplot()
    fig, axes = _panels(plt, metrics)
    for ax, metric in zip(axes, metrics):
        for colour, (label, histories) in enumerate(groups.items()):
            runs = [_series(h).get(metric) or [] for h in histories]
            length = max((len(r) for r in runs), default=0)
            if length == 0:
                continue
            table = np.full((len(runs), length), np.nan)
            for row, values in zip(table, runs):
                row[:len(values)] = values
                ax.plot(range(1, len(values) + 1), values, color=f"C{colour}", alpha=0.35, linewidth=0.7)
            ax.plot(range(1, length + 1), np.nanmedian(table, axis=0), color=f"C{colour}", linewidth=2,
                    label=f"{label} (median of {len(runs)})")
        _style(ax, metric, logy_loss)
    return _finish(plt, fig, path, title)
