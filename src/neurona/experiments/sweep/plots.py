"""A sweep's figures: the metric against each varied parameter with a band over seeds, and a heatmap over two."""

from __future__ import annotations

import numpy as np

from ..._files import atomic_write
from .table import by_point


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _save(plt, fig, path) -> None:
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def plot_against(records: list, x: str, metric: str, path, group: str | None = None) -> None:
    """Mean of ``metric`` over seeds against ``x`` (one line per value of ``group``), a band of ± one std
    (clipped to the seeds' own range).

    Points that differ in other parameters are pooled with the seeds.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    groups = sorted({r["params"][group] for r in records}) if group else [None]
    for colour, value in enumerate(groups):
        mine = [r for r in records if group is None or r["params"][group] == value]
        pooled = {}
        for (xv,), values in by_point(mine, [x], metric).items():
            pooled.setdefault(xv, []).extend(values)
        xs = sorted(pooled)
        positions = xs if _numeric(xs) else list(range(len(xs)))
        mean = np.array([np.mean(pooled[v]) for v in xs])
        std = np.array([np.std(pooled[v]) for v in xs])
        low = np.maximum(mean - std, [min(pooled[v]) for v in xs])  # never beyond what a seed reached (acc ≤ 1)
        high = np.minimum(mean + std, [max(pooled[v]) for v in xs])
        label = f"{group}={value}" if group else f"mean over seeds (n={max(len(v) for v in pooled.values())})"
        ax.plot(positions, mean, marker="o", color=f"C{colour % 10}", label=label)
        ax.fill_between(positions, low, high, color=f"C{colour % 10}", alpha=0.2)
        if not _numeric(xs):
            ax.set_xticks(positions, [str(v) for v in xs])
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against {x}: mean, band ± std over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2 if len(groups) > 6 else 1)
    _save(plt, fig, path)


def plot_heatmap(records: list, x: str, y: str, metric: str, path) -> None:
    """Mean of ``metric`` over seeds (and any other parameter) for each (x, y), annotated."""
    pooled = {}
    for point, values in by_point(records, [x, y], metric).items():
        pooled.setdefault(point, []).extend(values)
    xs, ys = sorted({p[0] for p in pooled}), sorted({p[1] for p in pooled})
    table = np.full((len(ys), len(xs)), np.nan)
    for (xv, yv), values in pooled.items():
        table[ys.index(yv), xs.index(xv)] = np.mean(values)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(xs), 1.2 + 0.5 * len(ys)))
    image = ax.imshow(table, origin="lower", aspect="auto", cmap="viridis")
    for (row, col), value in np.ndenumerate(table):
        if np.isfinite(value):
            ax.text(col, row, f"{value:.2g}", ha="center", va="center", fontsize=7,
                    color="white" if value < np.nanmean(table) else "black")
    ax.set_xticks(range(len(xs)), [str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"mean {metric} over seeds")
    fig.colorbar(image, ax=ax)
    _save(plt, fig, path)


def plot_sweep(records: list, varied: list, metric: str, out) -> list:
    """The figures for the varied parameters (those with more than one value); returns their file names."""
    varied = [k for k in varied if len({r["params"][k] for r in records}) > 1]
    files = []
    for index, name in enumerate(varied):
        other = varied[1 - index] if len(varied) == 2 else None
        plot_against(records, name, metric, out / f"{metric}-vs-{name}.png", group=other)
        files.append(f"{metric}-vs-{name}.png")
    if len(varied) >= 2:
        plot_heatmap(records, varied[0], varied[1], metric, out / f"{metric}-{varied[0]}-{varied[1]}.png")
        files.append(f"{metric}-{varied[0]}-{varied[1]}.png")
    return files
