"""What every experiment shares: its output folder, and the history.csv / summary.json it writes."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import platform
import threading
import time
from pathlib import Path

import numpy as np

from .._files import atomic_write
from ._output_folder import MARKER, FolderRefused, prepare_output, records_outputs  # noqa: F401 - re-exported


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped an experiment; what finished is kept for --resume."""

    def __init__(self, signal_name: str, message: str):
        super().__init__(message)
        self.signal_name = signal_name


class RunsFailed(RuntimeError):
    """Some runs of an experiment raised; the others finished and are kept, so --resume trains only the failed ones."""


def warm_up_plotting(executor) -> None:
    """While worker processes train, import matplotlib in this idle process (a third of a second on 2 cores),
    so the figures start as soon as the last run is in. In-process runs need the core themselves: nothing."""
    if not executor.in_process:
        threading.Thread(target=_import_pyplot, name="neurona-matplotlib", daemon=True).start()


def _import_pyplot() -> None:
    from ..viz import plots

    try:
        plots._pyplot()
    except ImportError:  # the figures will say how to install it
        pass


def stop_requested(history, stop) -> str | None:
    """The signal that interrupted a run of several fits: inside the last fit, or between two."""
    return getattr(history, "interrupted", None) or (stop.name if stop is not None else None)


def write_text(path, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def write_json(path, data) -> None:
    write_text(path, json.dumps(_jsonable(data), indent=2) + "\n")


def write_history_csv(path, histories: dict) -> None:
    """One row per (run, epoch) with every metric: ``run,epoch,loss,accuracy,val_loss,val_accuracy``."""
    keys = sorted({k for h in histories.values() for k in _series(h)})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["run", "epoch", *keys])
    for run, history in histories.items():
        series = _series(history)
        for epoch in range(max((len(v) for v in series.values()), default=0)):
            writer.writerow([run, epoch + 1, *(_cell(series.get(k), epoch) for k in keys)])
    write_text(path, buffer.getvalue())


def _cell(values, epoch):
    return "" if values is None or epoch >= len(values) else f"{values[epoch]:.6g}"


def _series(history) -> dict:
    return history.history if hasattr(history, "history") else dict(history)


def run_summary(config, results: dict, started: float) -> dict:
    """The common skeleton of summary.json: the configuration, the results, timing and machine."""
    import neurona

    return {"config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config,
            "results": results, "seconds": round(time.perf_counter() - started, 3),
            "neurona": neurona.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "machine": platform.machine()}


def history_stats(history) -> dict:
    """Final and best values of a run, for summaries and the report."""
    series = _series(history)
    stats = {"epochs": len(series.get("loss", []))}
    for key, values in series.items():
        if values:
            stats[f"final_{key}"] = values[-1]
            best = max(values) if "accuracy" in key else min(values)
            stats[f"best_{key}"] = best
            stats[f"best_{key}_epoch"] = values.index(best) + 1
    if getattr(history, "stopped", None):
        stats["stopped"] = history.stopped
    return stats


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return value
