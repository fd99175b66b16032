"""Training curves with matplotlib (imported only here): accuracy and loss against epochs, train and test."""

from __future__ import annotations

import textwrap
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


# What each history key shows: fit's test_data gives the val_* series, measured on the test set.
LABELS = {"accuracy": "train accuracy", "loss": "train loss", "val_accuracy": "test accuracy", "val_loss": "test loss"}
# One marker and line style per run, so curves that overlap stay distinguishable (also in grey print).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")
FONT = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 10, "figure.titlesize": 13}
# plot_history's figures usually sit two to a row (half the size), so their text is larger.
HISTORY_FONT = {"font.size": 15, "axes.labelsize": 15, "legend.fontsize": 13, "figure.titlesize": 14,
                "xtick.labelsize": 13, "ytick.labelsize": 13}


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
    with plt.rc_context(HISTORY_FONT):
        fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6))
        for ax, metric, label in ((axes[0], "accuracy", "accuracy"), (axes[1], "loss", "loss")):
            for key, style, marker, name in ((metric, "-", "o", "train"), (f"val_{metric}", "--", "s", "test")):
                if series.get(key):
                    _line(ax, series[key], label=name, linestyle=style, marker=marker)
            _epochs_axis(ax)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend()
        return _finish(plt, fig, path, title)


def _line(ax, values, **style):
    """One curve against epochs 1..n; markers on at most ~12 epochs, so long runs stay readable."""
    epochs = range(1, len(values) + 1)
    ax.plot(epochs, values, markevery=max(1, len(values) // 12), markersize=5, linewidth=1.6, **style)


def _epochs_axis(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _panels(plt, metrics):
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4), squeeze=False)
    return fig, axes[0]


def _style(ax, metric: str, logy_loss: bool) -> None:
    _epochs_axis(ax)
    ax.set_ylabel(LABELS.get(metric, metric.replace("_", " ")))
    if logy_loss and "loss" in metric:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # a panel whose runs all stopped before epoch 1 has no lines
        ax.legend()


def _finish(plt, fig, path, title):
    if title:
        fig.suptitle(textwrap.fill(title, 80))  # long run descriptions wrap instead of leaving the figure
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
    with plt.rc_context(FONT):
        fig, axes = _panels(plt, metrics)
        for ax, metric in zip(axes, metrics):
            for i, (label, history) in enumerate(histories.items()):
                values = _series(history).get(metric)
                if values:
                    _line(ax, values, label=label, color=f"C{i % 10}", marker=MARKERS[i % len(MARKERS)],
                          linestyle=LINESTYLES[i % len(LINESTYLES)])
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
    plt = _pyplot()
    with plt.rc_context(FONT):
        return _finish(plt, _draw_runs(plt, groups, metrics, logy_loss), path, title)


def _draw_runs(plt, groups: dict, metrics, logy_loss: bool):
    import numpy as np

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
                    linestyle=LINESTYLES[colour % len(LINESTYLES)], label=f"{label} (median of {len(runs)})")
        _style(ax, metric, logy_loss)
    return fig
