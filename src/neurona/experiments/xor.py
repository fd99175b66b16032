"""Exercise 6: XOR on ±1 inputs with a 2-2-1 tanh network, plain (A) or with the input concatenated (B).

Each architecture is trained from ``seeds`` different initialisations with the practical's
settings (MSE, BGD with lr 0.01 on the full batch, 3,000 epochs); the summary says which
fraction of seeds reach 100% accuracy and how many epochs that took.

Example:
    >>> from neurona.experiments import xor
    >>> summary = xor.run(xor.Config.quick(), "runs/xor")
    >>> summary["results"]["architectures"]["B"]["fraction_reached"]
"""

from __future__ import annotations

import csv
import dataclasses
import io
import statistics
import time

from .. import layers, losses, models, optimizers
from .._signals import StopOnSignal
from ..datasets import synthetic
from ..parallel import Task, make_executor
from ._common import (history_stats, prepare_output, records_outputs, run_summary, stop_requested, warm_up_plotting,
                      write_history_csv, write_json, write_text)

# name → description; "B" joins the network's input to the hidden layer's output before the output layer.
ARCHITECTURES = {"A": "2-2-1 tanh", "B": "2-2-1 tanh, input concatenated before the output layer"}


@dataclasses.dataclass
class Config:
    """Exercise 6's settings; the defaults are the practical's.

    Args:
        epochs: full-batch steps per run.
        lr: the BGD learning rate (the step is lr times the gradient summed over the 4 patterns).
        seeds: how many initialisations per architecture; run k uses seed ``seed + k``.
        seed: the first seed; it is also the run drawn in xor.png and history.csv.
        hidden: hidden units (the practical's 2).
    """

    epochs: int = 3000
    lr: float = 0.01
    seeds: int = 20
    seed: int = 0
    hidden: int = 2

    @classmethod
    def quick(cls) -> "Config":
        return cls(epochs=1000, seeds=5)

    def __post_init__(self):
        for name in ("epochs", "seeds", "hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"xor.Config: {name} must be a positive int. Received: {name}={value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"xor.Config: seed must be a non-negative int. Received: seed={self.seed!r}")
        if not isinstance(self.lr, (int, float)) or isinstance(self.lr, bool) or not self.lr > 0:
            raise ValueError(f"xor.Config: lr must be a positive number. Received: lr={self.lr!r}")


def build_network(architecture: str, hidden: int = 2, input_dim: int = 2) -> models.Network:
    """The practical's listing: Dense(hidden, tanh), [Concatenate(input_dim) for "B"], Dense(1, tanh)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"xor: architecture must be one of {', '.join(ARCHITECTURES)}. "
                         f"Received: architecture={architecture!r}")
    model = models.Network(name=f"xor-{architecture}")
    model.add(layers.Dense(units=hidden, activation="tanh", input_dim=input_dim))
    if architecture == "B":
        model.add(layers.Concatenate(input_dim))
    model.add(layers.Dense(units=1, activation="tanh"))
    return model


def train(model, x, y, epochs: int, lr: float, seed: int):
    """One full-batch BGD run with MSE, silent; returns the History."""
    return model.fit(x, y, epochs=epochs, loss=losses.MSE(), opt=optimizers.BGD(lr=lr, bs=None),
                     verbose=0, seed=seed)


def epochs_to_perfect(history, target: float = 1.0):
    """The first epoch (1-based) whose training accuracy is at least ``target``, or None if none is.

    With a full batch, epoch e's accuracy is that of the network after e - 1 updates.
    """
    accuracy = history.history.get("accuracy", []) if hasattr(history, "history") else history
    return next((epoch for epoch, value in enumerate(accuracy, start=1) if value >= target), None)


def summarize_seeds(first_epochs: list) -> dict:
    """How many runs reached 100% (``first_epochs`` holds an epoch or None per run), and when.

    Example:
        >>> summarize_seeds([10, None, 30, None])["fraction_reached"]
        0.5
    """
    reached = [e for e in first_epochs if e is not None]
    return {"runs": len(first_epochs), "reached": len(reached),
            "fraction_reached": len(reached) / len(first_epochs) if first_epochs else 0.0,
            "median_epoch": statistics.median(reached) if reached else None,
            "mean_epoch": statistics.fmean(reached) if reached else None,
            "min_epoch": min(reached, default=None), "max_epoch": max(reached, default=None)}


def progress_bar(total: int, verbose: int, desc: str):
    """A tqdm bar when verbose and tqdm is installed; otherwise None."""
    if not verbose:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc)


@dataclasses.dataclass
class SeedRun:
    """One finished training run as a worker returns it: per-epoch ``history`` and why it stopped early."""

    history: dict
    stopped: str | None = None
    interrupted: str | None = None

    @property
    def last(self) -> dict:
        return {key: values[-1] for key, values in self.history.items() if values}


def train_one(params: dict) -> SeedRun:
    """One task of the exercise: architecture, hidden, epochs, lr and seed in; its SeedRun out."""
    x, y = synthetic.xor()
    model = build_network(params["architecture"], params["hidden"])
    history = train(model, x, y, params["epochs"], params["lr"], params["seed"])
    return SeedRun(dict(history.history), history.stopped, history.interrupted)


def sweep_run(params: dict) -> dict:
    """One point of ``neurona sweep xor``: final and best metrics, epochs, and epochs_to_100."""
    run = train_one(params)
    stats = history_stats(run)
    stats["epochs_to_100"] = epochs_to_perfect(run)
    return {**stats, "interrupted": run.interrupted} if run.interrupted else stats


# What `neurona sweep xor` may vary (one run's parameters, with their defaults) and the metric it plots.
SWEEP = {"defaults": {"architecture": "B", "hidden": 2, "epochs": 3000, "lr": 0.01, "seed": 0},
         "metric": "final_accuracy", "run": sweep_run}


def tasks(config: Config) -> list:
    """Every (seed, architecture) run as an independent Task; its seed is fixed here, not by run order."""
    return [Task(f"{name}_seed{config.seed + k}", {"architecture": name, "hidden": config.hidden,
                                                  "epochs": config.epochs, "lr": config.lr, "seed": config.seed + k})
            for k in range(config.seeds) for name in ARCHITECTURES]


def _train_all(config: Config, verbose: int, stop: StopOnSignal, executor) -> tuple:
    """({architecture: {seed: SeedRun}}, signal or None); on SIGINT/SIGTERM only seeds with both runs are kept."""
    finished, failed, interrupted = {}, [], None
    bar = progress_bar(config.seeds * len(ARCHITECTURES), verbose, "xor (runs)")
    for outcome in executor.run(train_one, tasks(config)):
        if outcome.error:
            failed.append(f"{outcome.task.params}: {outcome.error}")
            continue
        interrupted = stop_requested(outcome.result, stop)
        if interrupted:
            break
        finished[(outcome.task.params["architecture"], outcome.task.params["seed"])] = outcome.result
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if failed:  # the other runs finished; a failing run is a bug to see, not a result to average over
        raise RuntimeError(f"{len(failed)} xor run(s) failed, e.g. " + "; ".join(failed[:3]))
    seeds = [s for s in range(config.seed, config.seed + config.seeds) if all((a, s) in finished for a in ARCHITECTURES)]
    return {name: {s: finished[(name, s)] for s in seeds} for name in ARCHITECTURES}, interrupted


def _seed_rows(config: Config, histories: dict) -> list:
    rows = []
    for name, runs in histories.items():
        for seed, run in runs.items():
            last = run.last
            rows.append({"architecture": name, "seed": seed, "epochs_to_100": epochs_to_perfect(run),
                         "final_accuracy": last.get("accuracy"), "final_loss": last.get("loss"),
                         "stopped": run.stopped or ""})
    return rows


def _rows_csv(rows: list) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def _results(config: Config, rows: list) -> dict:
    results = {"data": "x = [[-1,-1],[-1,1],[1,-1],[1,1]], y = [[1],[-1],[-1],[1]] (the practical's listing)",
               "architectures": {}}
    for name, description in ARCHITECTURES.items():
        mine = [r for r in rows if r["architecture"] == name]
        stats = summarize_seeds([r["epochs_to_100"] for r in mine])
        stats["fraction_final_100"] = sum(r["final_accuracy"] == 1.0 for r in mine) / len(mine)
        losses = [r["final_loss"] for r in mine if r["final_loss"] is not None]  # None: diverged in epoch 1
        stats["median_final_loss"] = statistics.median(losses) if losses else None
        stats["parameters"] = _count_parameters(name, config.hidden)
        results["architectures"][name] = {"description": description, **stats}
    return results


def _count_parameters(architecture: str, hidden: int) -> int:
    model = build_network(architecture, hidden)
    model.build(seed=0)
    return sum(w.size for w in model.parameters)


def _headline(config: Config, results: dict) -> list:
    lines = []
    for name, stats in results["architectures"].items():
        when = f", median epoch {stats['median_epoch']:g}" if stats["median_epoch"] is not None else ""
        lines.append(f"{name} ({ARCHITECTURES[name]}): {stats['reached']}/{stats['runs']} seeds reach 100% "
                     f"accuracy within {config.epochs} epochs{when}")
    return lines


def _plots(config: Config, histories: dict, out) -> list:
    from ..viz.plots import plot_comparison, plot_runs

    first = {f"{name}: {ARCHITECTURES[name]}": runs[0] for name, runs in histories.items()}
    plot_comparison(first, out / "xor.png", metrics=("accuracy", "loss"), logy_loss=True,
                    title=f"XOR, seed {config.seed}: accuracy and MSE loss (BGD lr={config.lr:g}, full batch)")
    plot_runs({name: runs for name, runs in histories.items()}, out / "xor-seeds.png", logy_loss=True,
              title=f"XOR, {config.seeds} seeds per architecture (A: plain, B: input concatenated)")
    solved = {name: {"fraction of seeds at 100% so far": solved_curve(runs, config.epochs)}
              for name, runs in histories.items()}
    plot_comparison(solved, out / "xor-solved.png", metrics=("fraction of seeds at 100% so far",),
                    title=f"XOR: seeds that have reached 100% accuracy ({config.seeds} per architecture)")
    return ["xor.png", "xor-seeds.png", "xor-solved.png"]


def solved_curve(histories: list, epochs: int) -> list:
    """For each epoch e = 1..epochs, the fraction of runs whose accuracy has reached 100% by epoch e."""
    firsts = [epochs_to_perfect(h) for h in histories]
    return [sum(f is not None and f <= e for f in firsts) / len(firsts) for e in range(1, epochs + 1)]


@records_outputs
def run(config: Config | None = None, out_dir="runs/xor", verbose: int = 1, overwrite: bool = False,
        resume: bool = False, jobs: int = 1, scheduler: str | None = None) -> dict:
    """Train both architectures from every seed; write figures, CSVs and summary.json into ``out_dir``.

    The runs take well under a minute, so ``resume`` simply runs them again. ``jobs`` worker processes
    (or the Dask cluster at ``scheduler``) train them in parallel, with the same results as ``jobs=1``.

    Returns:
        The summary written to summary.json: ``config``, ``results`` (per architecture: runs, reached,
        fraction_reached, median_epoch, …), ``seconds``, ``files``, ``headline``.
    """
    config = config or Config()
    started = time.perf_counter()
    executor = make_executor(jobs, scheduler)
    out = prepare_output(out_dir, overwrite=overwrite, resume=resume)
    with StopOnSignal() as stop, executor:  # a signal while the results are written is deferred until they are
        warm_up_plotting(executor)
        return _train_and_write(config, out, verbose, stop, started, executor)


def _train_and_write(config: Config, out, verbose: int, stop: StopOnSignal, started: float, executor) -> dict:
    by_seed, interrupted = _train_all(config, verbose, stop, executor)
    histories = {name: list(runs.values()) for name, runs in by_seed.items()}
    train_seconds = time.perf_counter() - started
    if not histories[next(iter(ARCHITECTURES))]:
        summary = run_summary(config, {"interrupted": interrupted, "seeds_completed": 0}, started)
        summary["headline"] = [f"interrupted by {interrupted} before the first seed finished; nothing to report"]
        write_json(out / "summary.json", summary)
        return summary
    rows = _seed_rows(config, by_seed)
    write_text(out / "seeds.csv", _rows_csv(rows))
    write_history_csv(out / "history.csv", {name: runs[0] for name, runs in histories.items()})
    files = _plots(config, histories, out) + ["seeds.csv", "history.csv", "summary.json"]
    results = _results(config, rows)
    results["train_seconds"] = round(train_seconds, 3)
    results["interrupted"] = interrupted
    results["seeds_completed"] = len(histories[next(iter(ARCHITECTURES))])
    summary = run_summary(config, results, started)
    summary["files"] = files
    summary["headline"] = _headline(config, results)
    if interrupted:
        summary["headline"].insert(0, f"INTERRUPTED by {interrupted} after {results['seeds_completed']} of "
                                      f"{config.seeds} seeds; the results below cover those seeds only")
    write_json(out / "summary.json", summary)
    return summary
