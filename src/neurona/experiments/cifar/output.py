"""What a CIFAR-10 exercise writes: a figure per run, comparison figures, history.csv, summary.json, headline."""

from __future__ import annotations

from pathlib import Path

from .._common import run_summary, write_history_csv, write_json


def _plots():
    """neurona.viz.plots, or None when matplotlib is missing (the numbers are still written)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return None
    from ...viz import plots

    return plots


def headline(key: str, entry: dict, practical: dict | None = None) -> str:
    """'cce: test accuracy 38.1% final, 40.2% peak (epoch 31), 52 s; practical ≈ 38% (peak)'."""
    if "best_val_accuracy" not in entry:
        return f"{key}: no epoch finished ({entry.get('stopped', 'no history')})"
    line = (f"{key}: test accuracy {entry['final_val_accuracy']:.1%} final, {entry['best_val_accuracy']:.1%} peak "
            f"(epoch {entry['best_val_accuracy_epoch']}), {entry['seconds']:.0f} s")
    if entry.get("stopped"):
        line += f" [stopped: {entry['stopped']}]"
    if practical:
        line += f"; practical ≈ {practical['accuracy']:.0%} ({practical['measure']})"
    return line


def _figures(out: Path, histories: dict, results: dict, comparisons: dict) -> list:
    plots = _plots()
    if plots is None:
        return []
    written = []
    for key, history in histories.items():
        if history.get("loss"):
            plots.plot_history(history, out / f"{key}.png", title=f"{key}: {results[key]['description']}")
            written.append(f"{key}.png")
    for name, (keys, title) in comparisons.items():
        chosen = {key: histories[key] for key in keys if key in histories}
        if chosen:
            plots.plot_comparison(chosen, out / f"{name}.png", metrics=("val_accuracy", "accuracy"), title=title)
            written.append(f"{name}.png")
    return written


def finish(out: Path, exercise: str, config, book, started: float, *, comparisons: dict, practical: dict,
           notes: list, extra: dict | None = None) -> dict:
    """Write figures, history.csv and summary.json for ``book``'s runs; return the summary.

    Args:
        comparisons: {file stem: (run keys, title)}, each drawn as test and train accuracy of those runs.
        practical: {run key: {"accuracy", "measure", "source"}}, the practical's reported numbers.
        notes: sentences on the choices made (written to the summary and shown by the report).
    """
    figures = _figures(out, book.histories, book.results, comparisons)
    write_history_csv(out / "history.csv", book.histories)
    summary = run_summary(config, book.results, started)
    summary.update(exercise=exercise, figures=figures, notes=list(notes),
                   practical={k: v for k, v in practical.items() if k in book.results},
                   headline=[headline(k, v, practical.get(k)) for k, v in book.results.items()])
    if not figures:
        summary["notes"].append("No figures: matplotlib is not installed (pip install 'neurona[plot]').")
    summary.update(extra or {})
    write_json(out / "summary.json", summary)
    return summary
