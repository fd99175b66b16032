"""Exercise 7: N-bit parity (the product of N inputs of ±1) with an N-N'-1 tanh network, in three sweeps.

The sweeps: N' varied with N fixed (one figure per N in ``width_n``), N varied with N' fixed
(``n_values``, ``hidden``), and N' much smaller than N (``narrow_n``, ``narrow_hidden``). Every
(N, N') is trained from ``seeds`` initialisations on all 2**N patterns with the practical's
settings (MSE, BGD full batch, lr 0.01, 3,000 epochs); the table says how many seeds reach 100%
accuracy and after how many epochs.

Example:
    $ neurona run parity --n-values 2 4 6 --hidden 15
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import statistics
import time
from types import SimpleNamespace

import numpy as np

from .. import layers, models
from .._files import atomic_write
from .._signals import StopOnSignal
from ..datasets import synthetic
from ..parallel import Task, make_executor
from ._common import (history_stats, prepare_output, records_outputs, run_summary, stop_requested, warm_up_plotting,
                      write_history_csv, write_json, write_text)
from .xor import epochs_to_perfect, progress_bar, summarize_seeds, train

_TUPLES = ("width_n", "hidden_values", "n_values", "narrow_hidden")
SAVE_EVERY = 2.0  # seconds between saves of histories.npz while runs finish (and once at the end)


@dataclasses.dataclass
class Config:
    """Exercise 7's settings; epochs, lr and the N' = 15 sweep are the practical's, the rest our choice.

    Args:
        epochs: full-batch steps per run.
        lr: the BGD learning rate (the step is lr times the gradient summed over all 2**N patterns).
        seeds: initialisations per (N, N'); run k uses seed ``seed + k``.
        seed: the first seed.
        width_n: sweep 1, N' varied: the fixed N (one figure each).
        hidden_values: sweep 1: the N' values.
        n_values: sweep 2, N varied: the N values.
        hidden: sweep 2: the fixed N'.
        narrow_n: sweep 3, N' ≪ N: the N.
        narrow_hidden: sweep 3: the (small) N' values.
    """

    epochs: int = 3000
    lr: float = 0.01
    seeds: int = 5
    seed: int = 0
    width_n: tuple[int, ...] = (2, 5)
    hidden_values: tuple[int, ...] = (1, 2, 3, 5, 10, 15)
    n_values: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10)
    hidden: int = 15
    narrow_n: int = 10
    narrow_hidden: tuple[int, ...] = (1, 2, 3)

    @classmethod
    def quick(cls) -> "Config":
        return cls(epochs=1000, seeds=3, width_n=(2,), hidden_values=(1, 2, 5, 15), n_values=(2, 4, 6),
                   narrow_n=8, narrow_hidden=(1, 2))

    def __post_init__(self):
        bits = synthetic.MAX_PARITY_BITS
        for name in _TUPLES:
            if not isinstance(getattr(self, name), (tuple, list)):
                raise ValueError(f"parity.Config: {name} must be a tuple of ints. Received: {name}={getattr(self, name)!r}")
            setattr(self, name, tuple(getattr(self, name)))
        for name, low, high in (("epochs", 1, None), ("seeds", 1, None), ("seed", 0, None), ("hidden", 1, None),
                                ("narrow_n", 1, bits)):
            _check_int(name, getattr(self, name), low, high)
        for name, high in (("width_n", bits), ("hidden_values", None), ("n_values", bits), ("narrow_hidden", None)):
            for index, value in enumerate(getattr(self, name)):
                _check_int(f"{name}[{index}]", value, 1, high)
        if not isinstance(self.lr, (int, float)) or isinstance(self.lr, bool) or not self.lr > 0:
            raise ValueError(f"parity.Config: lr must be a positive number. Received: lr={self.lr!r}")


def _check_int(name: str, value, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or \
            (high is not None and value > high):
        bounds = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
        raise ValueError(f"parity.Config: {name} must be {bounds}. Received: {name}={value!r}")


def sweeps(config: Config) -> list:
    """``[(key, title, varied, [(N, N'), ...]), ...]``: the three sweeps (the first once per N in width_n);
    ``varied`` is "N" or "N'"."""
    out = [(f"width-N{n}", f"N = {n}, N' varied", "N'", [(n, h) for h in config.hidden_values])
           for n in config.width_n]
    out.append((f"inputs-H{config.hidden}", f"N' = {config.hidden}, N varied", "N",
                [(n, config.hidden) for n in config.n_values]))
    out.append((f"narrow-N{config.narrow_n}", f"N' << N = {config.narrow_n}", "N'",
                [(config.narrow_n, h) for h in config.narrow_hidden]))
    return [s for s in out if s[3]]


def build_network(n_inputs: int, hidden: int) -> models.Network:
    """N-N'-1 with tanh everywhere: Dense(hidden, tanh, input_dim=n_inputs), Dense(1, tanh)."""
    model = models.Network(name=f"parity-N{n_inputs}-H{hidden}")
    model.add(layers.Dense(units=hidden, activation="tanh", input_dim=n_inputs))
    model.add(layers.Dense(units=1, activation="tanh"))
    return model


def _settings(config: Config) -> list:
    """Every distinct (N, N') of the sweeps, in order of first appearance."""
    return list(dict.fromkeys(pair for *_, pairs in sweeps(config) for pair in pairs))


def _key(n: int, hidden: int, seed: int) -> str:
    return f"N{n}_H{hidden}_seed{seed}"


# ----- training, with every history kept in histories.npz (what --resume continues from) -----
def _load_store(path, config: Config, resume: bool) -> dict:
    """{key: {"loss": [...], "accuracy": [...], "stopped": str|None}} from a previous run's histories.npz."""
    if not (resume and path.exists()):
        return {}
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if (meta["epochs"], meta["lr"]) != (config.epochs, config.lr):
            raise ValueError(f"{path} holds runs with epochs={meta['epochs']}, lr={meta['lr']}, not "
                             f"epochs={config.epochs}, lr={config.lr}; use --overwrite or another folder")
        return {key: {"loss": data[f"{key}/loss"].tolist(), "accuracy": data[f"{key}/accuracy"].tolist(),
                      "stopped": meta["stopped"].get(key)} for key in meta["keys"]}


def _save_store(path, config: Config, store: dict) -> None:
    meta = {"epochs": config.epochs, "lr": config.lr, "keys": list(store),
            "stopped": {k: v["stopped"] for k, v in store.items() if v["stopped"]}}
    arrays = {"meta": np.array(json.dumps(meta))}
    for key, run in store.items():
        arrays.update({f"{key}/{m}": np.asarray(run[m], dtype=np.float64) for m in ("loss", "accuracy")})
    with atomic_write(path) as f:
        np.savez_compressed(f, **arrays)


def train_one(params: dict) -> dict:
    """One task: N, N' (hidden), epochs, lr and seed in; {"loss", "accuracy", "stopped", "interrupted"} out."""
    x, y = synthetic.parity(params["n"])
    history = train(build_network(params["n"], params["hidden"]), x, y, params["epochs"], params["lr"], params["seed"])
    return {"loss": history.history.get("loss", []), "accuracy": history.history.get("accuracy", []),
            "stopped": history.stopped, "interrupted": history.interrupted}


def sweep_run(params: dict) -> dict:
    """One point of ``neurona sweep parity``: final and best metrics, epochs, and epochs_to_100."""
    run = train_one(params)
    stats = history_stats({"loss": run["loss"], "accuracy": run["accuracy"]})
    stats["epochs_to_100"] = epochs_to_perfect(run["accuracy"])
    for key in ("stopped", "interrupted"):
        if run[key]:
            stats[key] = run[key]
    return stats


# What `neurona sweep parity` may vary (one run's parameters, with their defaults) and the metric it plots.
SWEEP = {"defaults": {"n": 4, "hidden": 15, "epochs": 3000, "lr": 0.01, "seed": 0},
         "metric": "final_accuracy", "run": sweep_run}


def tasks(config: Config, done=()) -> list:
    """Every (N, N', seed) run not in ``done`` as an independent Task, its seed fixed by the task."""
    return [Task(_key(n, hidden, config.seed + k), {"n": n, "hidden": hidden, "epochs": config.epochs,
                                                    "lr": config.lr, "seed": config.seed + k})
            for n, hidden in _settings(config) for k in range(config.seeds) if _key(n, hidden, config.seed + k) not in done]


def _train_all(config: Config, out, verbose: int, resume: bool, stop: StopOnSignal, executor) -> tuple:
    """Train every (N, N', seed) not already in histories.npz, saving it at most every SAVE_EVERY seconds.

    Returns (store, signal or None): on SIGINT/SIGTERM the unfinished run is not stored, so
    ``--resume`` trains it again from its start and the results equal an uninterrupted run's.
    """
    path = out / "histories.npz"
    store, interrupted, failed = _load_store(path, config, resume), None, []
    todo, saved = tasks(config, store), time.monotonic()
    bar = progress_bar(len(_settings(config)) * config.seeds, verbose, "parity (runs)")
    if bar is not None:
        bar.update(len(store))
    try:
        for outcome in executor.run(train_one, todo):
            if outcome.error:
                failed.append(f"{outcome.task.params}: {outcome.error}")
                continue
            interrupted = stop_requested(SimpleNamespace(**outcome.result), stop)
            if interrupted:
                break
            store[outcome.task.key] = {k: outcome.result[k] for k in ("loss", "accuracy", "stopped")}
            if time.monotonic() - saved > SAVE_EVERY:
                _save_store(path, config, store)
                saved = time.monotonic()
            if bar is not None:
                bar.update(1)
    finally:
        if todo:  # kept in task order, so the file does not depend on which run finished first
            order = [task.key for task in tasks(config)]
            _save_store(path, config, {key: store[key] for key in order if key in store})
        if bar is not None:
            bar.close()
    if failed:  # the other runs finished and are kept; a failing run is a bug to see, not a result to average
        raise RuntimeError(f"{len(failed)} parity run(s) failed, e.g. " + "; ".join(failed[:3]))
    return store, interrupted


# ----- tables -----
def setting_stats(runs: list) -> dict:
    """Seeds reaching 100%, epochs to it, and final accuracy/loss, over the runs of one (N, N')."""
    stats = summarize_seeds([epochs_to_perfect(r["accuracy"]) for r in runs])
    stats["fraction_final_100"] = sum(bool(r["accuracy"]) and r["accuracy"][-1] == 1.0 for r in runs) / len(runs)
    stats["mean_final_accuracy"] = statistics.fmean(r["accuracy"][-1] if r["accuracy"] else 0.0 for r in runs)
    stats["median_final_loss"] = statistics.median(r["loss"][-1] if r["loss"] else float("nan") for r in runs)
    stats["diverged"] = sum(bool(r["stopped"]) for r in runs)
    return stats


def _table(config: Config, store: dict) -> list:
    """One row per (N, N'), sorted by N then N'."""
    rows = []
    for n, hidden in sorted(_settings(config)):
        runs = [store[_key(n, hidden, config.seed + k)] for k in range(config.seeds)]
        rows.append({"N": n, "hidden": hidden, **setting_stats(runs)})
    return rows


_COLUMNS = ("N", "hidden", "runs", "reached", "fraction_reached", "mean_epoch", "median_epoch", "min_epoch", "max_epoch",
            "fraction_final_100", "mean_final_accuracy", "median_final_loss", "diverged")


def _csv(rows: list, columns) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else (f"{row[c]:.6g}" if isinstance(row[c], float) else row[c])
                         for c in columns])
    return buffer.getvalue()


def markdown_table(rows: list, epochs: int) -> str:
    """The epochs-to-100% table in Markdown: one line per (N, N')."""
    lines = [f"| N | N' | seeds at 100% | mean epochs to 100% | median | at 100% after {epochs} | "
             "mean final accuracy | median final loss |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        mean = "—" if r["mean_epoch"] is None else f"{r['mean_epoch']:.1f}"
        median = "—" if r["median_epoch"] is None else f"{r['median_epoch']:g}"
        lines.append(f"| {r['N']} | {r['hidden']} | {r['reached']}/{r['runs']} | {mean} | {median} | "
                     f"{r['fraction_final_100']:.0%} | {r['mean_final_accuracy']:.3f} | {r['median_final_loss']:.3g} |")
    return "\n".join(lines)


def _run_rows(config: Config, store: dict) -> list:
    rows = []
    for n, hidden in _settings(config):
        for k in range(config.seeds):
            run = store[_key(n, hidden, config.seed + k)]
            rows.append({"N": n, "hidden": hidden, "seed": config.seed + k,
                         "epochs_to_100": epochs_to_perfect(run["accuracy"]),
                         "final_accuracy": run["accuracy"][-1] if run["accuracy"] else None,
                         "final_loss": run["loss"][-1] if run["loss"] else None, "stopped": run["stopped"] or ""})
    return rows


# ----- figures and headline -----
def _curves(run: dict) -> dict:
    return {"loss": run["loss"], "accuracy": run["accuracy"]}


def _mean_curves(runs: list) -> dict:
    """Per-epoch means over seeds (a run that stopped early counts while it lasted)."""
    curves = {}
    for metric in ("accuracy", "loss"):
        length = max(len(r[metric]) for r in runs)
        table = np.full((len(runs), length), np.nan)
        for row, run in zip(table, runs):
            row[:len(run[metric])] = run[metric]
        curves[metric] = np.nanmean(table, axis=0).tolist()
    return curves


def _plots(config: Config, store: dict, out) -> list:
    from ..viz.plots import plot_comparison

    files = []
    for key, title, _, pairs in sweeps(config):
        curves = {f"N={n}, N'={h}": _mean_curves([store[_key(n, h, config.seed + k)] for k in range(config.seeds)])
                  for n, h in pairs}
        plot_comparison(curves, out / f"parity-{key}.png", metrics=("accuracy", "loss"), logy_loss=True,
                        title=f"Parity, {title}: mean of {config.seeds} seeds (BGD lr={config.lr:g}, full batch)")
        files.append(f"parity-{key}.png")
    return files


def _headline(config: Config, rows: list) -> list:
    by_pair = {(r["N"], r["hidden"]): r for r in rows}
    lines = []
    for _, title, varied, pairs in sweeps(config):
        parts = []
        for n, h in pairs:
            r = by_pair[(n, h)]
            when = f" (median {r['median_epoch']:g} ep.)" if r["median_epoch"] is not None else ""
            parts.append(f"{varied}={n if varied == 'N' else h}: {r['reached']}/{r['runs']}{when}")
        lines.append(f"{title}: seeds at 100% within {config.epochs} epochs — " + "; ".join(parts))
    return lines


@records_outputs
def run(config: Config | None = None, out_dir="runs/parity", verbose: int = 1, overwrite: bool = False,
        resume: bool = False, jobs: int = 1, scheduler: str | None = None) -> dict:
    """Run the three sweeps; write a figure per sweep, table.csv, runs.csv, history.csv,
    histories.npz (every run) and summary.json into ``out_dir``.

    ``resume`` keeps the runs already in the folder's histories.npz and trains the rest. ``jobs``
    worker processes (or the Dask cluster at ``scheduler``) train them in parallel, with the same
    results as ``jobs=1``.

    Returns:
        The summary written to summary.json: ``config``, ``results`` (``table``: one row per (N, N');
        ``table_markdown``), ``seconds``, ``files``, ``headline``.
    """
    config = config or Config()
    if not _settings(config):
        raise ValueError("parity: every sweep is empty; give n_values, or width_n with hidden_values, "
                         "or narrow_hidden")
    started = time.perf_counter()
    executor = make_executor(jobs, scheduler)
    out = prepare_output(out_dir, overwrite=overwrite, resume=resume)
    with StopOnSignal() as stop, executor:  # a signal while the results are written is deferred until they are
        warm_up_plotting(executor)
        return _train_and_write(config, out, verbose, resume, stop, started, executor)


def _train_and_write(config: Config, out, verbose: int, resume: bool, stop: StopOnSignal, started: float,
                     executor) -> dict:
    store, interrupted = _train_all(config, out, verbose, resume, stop, executor)
    if interrupted:
        done, total = len(store), len(_settings(config)) * config.seeds
        summary = run_summary(config, {"interrupted": interrupted, "runs_completed": done, "runs_total": total},
                              started)
        summary["headline"] = [f"INTERRUPTED by {interrupted} after {done} of {total} runs (kept in histories.npz); "
                               f"the tables and figures come when it completes: neurona run parity --resume "
                               f"-o {out}"]
        write_json(out / "summary.json", summary)
        return summary
    rows = _table(config, store)
    write_text(out / "table.csv", _csv(rows, _COLUMNS))
    run_rows = _run_rows(config, store)
    write_text(out / "runs.csv", _csv(run_rows, list(run_rows[0])))
    write_history_csv(out / "history.csv", {f"N={n} N'={h} seed={config.seed}": _curves(store[_key(n, h, config.seed)])
                                            for n, h in _settings(config)})
    files = _plots(config, store, out) + ["table.csv", "runs.csv", "history.csv", "histories.npz", "summary.json"]
    results = {"sweeps": [{"key": k, "title": t, "varied": v, "settings": p} for k, t, v, p in sweeps(config)],
               "table": rows, "table_markdown": markdown_table(rows, config.epochs)}
    summary = run_summary(config, results, started)
    summary["files"] = files
    summary["headline"] = _headline(config, rows)
    write_json(out / "summary.json", summary)
    return summary
