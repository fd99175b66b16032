"""Memory flatness of training: peak and current RSS after every epoch, for XOR and for CIFAR-10.

Each step's graph must be released when the step ends, so memory stays flat from epoch to
epoch. This measures it on Linux from /proc/self/status: VmHWM (the peak resident set) is read
at the end of every epoch and then reset (``/proc/self/clear_refs``), so each number is that
epoch's own peak; VmRSS is the resident set at the epoch's end.

Run from the repository root::

    python -m benchmarks.memory                               # 200 XOR epochs + 20 CIFAR epochs
    NEURONA_DATA=/work/shared/data python -m benchmarks.memory --json memory.json
    python -m benchmarks.memory --skip-cifar                  # XOR only, a second

CIFAR-10 run: the practical's W1 network (3072-100-10, sigmoid hidden layer with
factor 1e-2, linear scores, CCE, SGD lr 0.01, batch 128) on the first ``--n-train`` images.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from neurona import callbacks, layers, losses, models, optimizers
from neurona.datasets import synthetic

from .worker import _reset_peak

_MB = 1024.0  # /proc reports kB


def _status_kb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


class RssPerEpoch(callbacks.Callback):
    """Record this epoch's peak RSS and end-of-epoch RSS (MB) and the epoch's wall time."""

    def __init__(self):
        self.rows, self.per_epoch_peak = [], True

    def on_train_begin(self):
        self.per_epoch_peak = _reset_peak()
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs):
        now = time.perf_counter()
        self.rows.append({"epoch": epoch + 1, "peak_rss_mb": round(_status_kb("VmHWM") / _MB, 2),
                          "rss_mb": round(_status_kb("VmRSS") / _MB, 2), "seconds": round(now - self.started, 6),
                          "loss": float(logs["loss"])})
        self.per_epoch_peak = _reset_peak() and self.per_epoch_peak
        self.started = time.perf_counter()


def _summary(rows: list, start: int) -> dict:
    """Growth of the per-epoch peak between epoch ``start`` and the last epoch (MB)."""
    peaks = [r["peak_rss_mb"] for r in rows]
    start = min(start, len(peaks))
    return {"epochs": len(rows), "first_peak_mb": peaks[0], "min_peak_mb": min(peaks), "max_peak_mb": max(peaks),
            f"peak_at_epoch_{start}_mb": peaks[start - 1], "last_peak_mb": peaks[-1],
            "growth_mb": round(peaks[-1] - peaks[start - 1], 2),
            "max_peak_after_start_mb": max(peaks[start - 1:]),
            "seconds_per_epoch": round(float(np.median([r["seconds"] for r in rows])), 6)}


def run_xor(epochs: int) -> dict:
    """The practical's XOR network (2-2-1 tanh, MSE, BGD lr 0.01 bs 4) for ``epochs`` epochs."""
    x, y = synthetic.xor()
    model = models.Network(seed=0)
    model.add(layers.Dense(2, activation="tanh", input_dim=2))
    model.add(layers.Dense(1, activation="tanh"))
    meter = RssPerEpoch()
    model.fit(x, y, epochs=epochs, loss=losses.MSE(), opt=optimizers.BGD(lr=0.01, bs=4), callbacks=[meter],
              verbose=0, seed=0)
    return {"rows": meter.rows, "summary": _summary(meter.rows, 10), "per_epoch_peak": meter.per_epoch_peak}


def run_cifar(epochs: int, n_train: int) -> dict:
    """The W1 network (3072-100-10) on the first ``n_train`` standardized CIFAR-10 training images."""
    from neurona.experiments.cifar import data as cifar_data

    loaded = time.perf_counter()
    data = cifar_data.prepare(n_train, 1000, download=False)
    load_seconds = time.perf_counter() - loaded
    after_load = _status_kb("VmRSS") / _MB
    model = models.Network(seed=0)
    model.add(layers.Dense(100, activation="sigmoid", input_dim=3072, factor=1e-2))
    model.add(layers.Dense(10, factor=1e-2))
    meter = RssPerEpoch()
    model.fit(data.x_train, data.y_train, epochs=epochs, loss=losses.CCE(), opt=optimizers.SGD(lr=0.01),
              batch_size=128, callbacks=[meter], verbose=0, seed=0)
    return {"rows": meter.rows, "summary": _summary(meter.rows, 2), "per_epoch_peak": meter.per_epoch_peak,
            "n_train": len(data.x_train), "rss_after_loading_mb": round(after_load, 2),
            "data_load_seconds": round(load_seconds, 2),
            "x_train_mb": round(data.x_train.nbytes / 2**20, 2)}


def _print(name: str, result: dict, every: int) -> None:
    print(f"\n{name}: per-epoch peak RSS (MB), RSS at epoch end (MB), epoch seconds")
    for row in result["rows"]:
        if row["epoch"] == 1 or row["epoch"] % every == 0 or row["epoch"] == len(result["rows"]):
            print(f"  epoch {row['epoch']:4d}  peak {row['peak_rss_mb']:9.1f}  rss {row['rss_mb']:9.1f}"
                  f"  {row['seconds'] * 1000:10.2f} ms  loss {row['loss']:.4f}")
    print("  summary:", json.dumps(result["summary"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.splitlines()[0])
    parser.add_argument("--xor-epochs", type=int, default=200)
    parser.add_argument("--cifar-epochs", type=int, default=20)
    parser.add_argument("--n-train", type=int, default=50000, help="CIFAR-10 training images (default 50000)")
    parser.add_argument("--skip-cifar", action="store_true", help="only the XOR run (no data needed)")
    parser.add_argument("--json", type=Path, default=None, help="also write every number to this JSON file")
    args = parser.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("benchmarks.memory needs Linux (/proc/self/status)", file=sys.stderr)
        return 2
    report = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
              "xor": run_xor(args.xor_epochs)}
    _print(f"XOR, {args.xor_epochs} epochs", report["xor"], 20)
    if not args.skip_cifar:
        report["cifar10"] = run_cifar(args.cifar_epochs, args.n_train)
        _print(f"CIFAR-10 W1 3072-100-10, {report['cifar10']['n_train']} images, {args.cifar_epochs} epochs",
               report["cifar10"], 1)
    if args.json is not None:
        from neurona._files import atomic_write

        with atomic_write(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
