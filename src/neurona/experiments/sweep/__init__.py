"""``neurona sweep``: a grid or random search over one experiment's hyperparameters, one tidy runs.csv, and plots.

Every point of the search times every seed is one Task; an executor (in-process, local processes or
a Dask cluster) runs them. Each finished run is appended to ``runs.jsonl`` at once, so an interrupted
or partly failed sweep continues with ``resume=True`` and trains only the runs that are missing.

Example:
    $ neurona sweep parity --grid n=2:10 hidden=1,2,3,5,10,15 --seeds 10 --jobs 2
    >>> config = Config("parity", grid={"n": (2, 3), "hidden": (1, 2)}, seeds=2)
    >>> run(config, "runs/sweep-parity", jobs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import math
import sys
import time

import numpy as np

from ..._signals import StopOnSignal
from ...parallel import Progress, Task, make_executor
from .._common import prepare_output, records_outputs, run_summary, write_json, write_text
from .table import csv_text, rows_of, summarize

# experiment → module offering SWEEP (defaults of one run's parameters, the default metric) and sweep_run(params)
SWEEPABLE = {"xor": "neurona.experiments.xor", "parity": "neurona.experiments.parity",
             "ex4": "neurona.experiments.sweep.cifar", "ex8": "neurona.experiments.sweep.cifar"}


def spec(experiment: str):
    """The module that runs one point of ``experiment``; an unknown name lists the sweepable ones."""
    if experiment not in SWEEPABLE:
        raise ValueError(f"sweep: experiment must be one of {', '.join(SWEEPABLE)}. Received: {experiment!r}")
    module = importlib.import_module(SWEEPABLE[experiment])
    return module.sweep_spec(experiment) if hasattr(module, "sweep_spec") else module.SWEEP


@dataclasses.dataclass
class Config:
    """What to search.

    Args:
        experiment: one of SWEEPABLE.
        grid: {parameter: values}; every combination is a point (one value fixes a parameter).
        random: {parameter: (low, high, "log" or "linear")}, drawn ``samples`` times (ints when both bounds are).
        samples: random points; each is combined with every grid point.
        seeds: runs per point, seeds ``seed`` .. ``seed + seeds - 1``.
        seed: the first seed; it also draws the random points.
        metric: the column plotted (default: the experiment's, e.g. final_accuracy).
    """

    experiment: str
    grid: dict = dataclasses.field(default_factory=dict)
    random: dict = dataclasses.field(default_factory=dict)
    samples: int = 0
    seeds: int = 3
    seed: int = 0
    metric: str | None = None

    def __post_init__(self):
        defaults = spec(self.experiment)["defaults"]
        self.grid, self.random = _canonical(self.experiment, self.grid), _canonical(self.experiment, self.random)
        for name in (*self.grid, *self.random):
            if name not in defaults or name == "seed":
                raise ValueError(f"sweep {self.experiment}: unknown parameter {name!r}. "
                                 f"Valid parameters: {', '.join(n for n in defaults if n != 'seed')}")
        for name, values in self.grid.items():
            if not values:
                raise ValueError(f"sweep: --grid {name} needs at least one value. Received: {name}={values!r}")
        self.grid = {name: tuple(_typed(name, v, defaults[name]) for v in values) for name, values in self.grid.items()}
        for name in ("seeds", "samples", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "seeds" else 0):
                kind = "a positive" if name == "seeds" else "a non-negative"
                raise ValueError(f"sweep: {name} must be {kind} int. Received: {name}={value!r}")
        if self.random and not self.samples:
            raise ValueError(f"sweep: random parameters need samples >= 1. Received: samples={self.samples}")


def _canonical(experiment: str, given: dict) -> dict:
    """``given`` with each parameter under its documented name (``lam`` → ``reg`` for ex4 and ex8)."""
    aliases, named = spec(experiment).get("aliases", {}), {}
    for name, values in given.items():
        canonical = aliases.get(name, name)
        if canonical in named:
            raise ValueError(f"sweep {experiment}: {name} is another name for {canonical}; give one of them. "
                             f"Received: {', '.join(given)}")
        named[canonical] = values
    return named


def _value(text: str):
    """A grid value: an int, else a finite float, else the text itself (e.g. an architecture's name)."""
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if not math.isfinite(value):
            raise ValueError(f"must be finite. Received: {text!r}")
        return value
    return text


def parse_grid_item(text: str) -> tuple:
    """``NAME=a,b,c`` or ``NAME=LOW:HIGH`` (integers, inclusive) → (NAME, values), as --grid takes them."""
    name, sep, values = text.partition("=")
    if not sep or not name or not values:
        raise ValueError(f"must be NAME=a,b,c or NAME=LOW:HIGH. Received: {text!r}")
    if ":" not in values:
        return name, tuple(_value(v) for v in values.split(","))
    low, _, high = values.partition(":")
    try:
        low, high = int(low), int(high)
    except ValueError:
        raise ValueError(f"a range LOW:HIGH takes integers. Received: {text!r}") from None
    if high < low or high - low > 10000:
        raise ValueError(f"needs LOW <= HIGH, at most 10001 values. Received: {text!r}")
    return name, tuple(range(low, high + 1))


def parse_random_item(text: str) -> tuple:
    """``NAME=LOW:HIGH`` or ``NAME=LOW:HIGH:log`` → (NAME, (low, high, scale)), as --random takes them."""
    name, sep, spec_text = text.partition("=")
    parts = spec_text.split(":")
    if not sep or not name or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "linear")):
        raise ValueError(f"must be NAME=LOW:HIGH or NAME=LOW:HIGH:log. Received: {text!r}")
    low, high = (_value(p) for p in parts[:2])
    if not all(isinstance(v, (int, float)) for v in (low, high)):
        raise ValueError(f"LOW and HIGH must be numbers. Received: {text!r}")
    scale = parts[2] if len(parts) == 3 else "linear"
    if not low < high or (scale == "log" and low <= 0):
        raise ValueError(f"needs LOW < HIGH (and LOW > 0 for log). Received: {text!r}")
    return name, (low, high, scale)


def _typed(name: str, value, default):
    """``value`` as the type of the parameter's default (an int parameter refuses 2.5)."""
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return value if isinstance(default, str) else type(default)(value)
    if isinstance(default, int) and not (isinstance(value, int) or float(value).is_integer()):
        raise ValueError(f"sweep: {name} takes whole numbers. Received: {name}={value!r}")
    return int(value) if isinstance(default, int) else float(value)


def points(config: Config) -> list:
    """Every point of the search as {parameter: value}, grid order (first parameter slowest), random ones after."""
    grid = [dict(zip(config.grid, combo)) for combo in itertools.product(*config.grid.values())]
    if not config.random:
        return grid
    rng, defaults = np.random.default_rng(config.seed), spec(config.experiment)["defaults"]
    drawn = [{name: _draw(rng, *bounds, integer=isinstance(defaults[name], int)) for name, bounds in config.random.items()}
             for _ in range(config.samples)]
    return [{**g, **r} for r in drawn for g in grid]


def _draw(rng, low, high, scale="linear", integer=False):
    if scale == "log":
        value = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    else:
        value = float(rng.uniform(low, high))
    return int(round(value)) if integer else float(f"{value:.6g}")


def tasks(config: Config) -> list:
    """One Task per (point, seed); its key names what varies, its params are everything the run needs."""
    defaults = spec(config.experiment)["defaults"]
    out = []
    for point in points(config):
        for seed in range(config.seed, config.seed + config.seeds):
            params = {**defaults, **point, "seed": seed}
            key = ",".join(f"{k}={v}" for k, v in {**point, "seed": seed}.items())
            out.append(Task(key, params))
    return out


def run_point(experiment_and_params: dict) -> dict:
    """A worker's task: import the experiment's sweep module and train one run (module-level, so it pickles)."""
    params = dict(experiment_and_params)
    experiment = params.pop("experiment")
    return spec(experiment)["run"](params)


# ----- the store of finished runs: one JSON line each, appended as it finishes -----
def _load_done(path, resume: bool) -> dict:
    """{key: record} of the runs an earlier sweep in this folder finished (a torn last line is ignored)."""
    if not (resume and path.exists()):
        return {}
    done = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            done[record["key"]] = record
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _end_torn_line(path) -> None:
    """A run killed while appending leaves a torn last line; end it, so the next record starts on its own line."""
    if path.exists() and path.stat().st_size:
        with open(path, "rb+") as f:
            f.seek(-1, 2)
            if f.read(1) != b"\n":
                f.write(b"\n")


def _append(path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()


@records_outputs
def run(config: Config, out_dir="runs/sweep", verbose: int = 1, overwrite: bool = False, resume: bool = False,
        jobs: int | None = 1, scheduler: str | None = None) -> dict:
    """Run every (point, seed) not finished yet; write runs.jsonl (as runs finish), runs.csv, plots, summary.json.

    Returns:
        The summary: ``config``, ``results`` (runs_total, runs_done, failed: [{params, error}], best),
        ``files``, ``headline``.
    """
    started = time.perf_counter()
    executor = make_executor(jobs, scheduler)
    out = prepare_output(out_dir, overwrite=overwrite, resume=resume)
    with StopOnSignal() as stop, executor:
        return _sweep_and_write(config, out, verbose, resume, stop, executor, started)


def _sweep_and_write(config: Config, out, verbose: int, resume: bool, stop, executor, started: float) -> dict:
    all_tasks = tasks(config)
    done = {k: r for k, r in _load_done(out / "runs.jsonl", resume).items()
            if any(t.key == k and t.params == r["params"] for t in all_tasks)}
    todo = [Task(t.key, {**t.params, "experiment": config.experiment}) for t in all_tasks if t.key not in done]
    _end_torn_line(out / "runs.jsonl")
    failed, interrupted = _run_tasks(todo, out / "runs.jsonl", done, len(all_tasks), verbose, stop, executor)
    finished = [done[t.key] for t in all_tasks if t.key in done]
    write_text(out / "runs.csv", csv_text(rows_of(finished, list(config.grid) + list(config.random))))
    metric = config.metric or spec(config.experiment)["metric"]
    files = ["runs.jsonl", "runs.csv", "summary.json"]
    if finished:
        from .plots import plot_sweep

        files += plot_sweep(finished, list(config.grid) + list(config.random), metric, out)
    results = {"runs_total": len(all_tasks), "runs_done": len(finished), "failed": failed,
               "interrupted": interrupted, "executor": executor.description, "metric": metric,
               **summarize(finished, list(config.grid) + list(config.random), metric)}
    summary = run_summary(config, results, started)
    summary.update(files=files, headline=_headline(config, results, out))
    write_json(out / "summary.json", summary)
    return summary


def _run_tasks(todo, store, done: dict, total: int, verbose: int, stop, executor) -> tuple:
    """Run ``todo``, appending each finished run to ``store`` and ``done``; returns (failures, signal or None)."""
    progress, failed, interrupted = Progress(total, len(done), sys.stderr if verbose else None), [], None
    for outcome in executor.run(run_point, todo):
        params = {k: v for k, v in outcome.task.params.items() if k != "experiment"}
        result = dict(outcome.result or {})
        interrupted = result.pop("interrupted", None) or stop.name
        if outcome.error:
            failed.append({"key": outcome.task.key, "params": params, "error": outcome.error})
            if verbose:
                print(f"\nrun {outcome.task.key} failed: {outcome.error}", file=sys.stderr)
        elif not interrupted:
            done[outcome.task.key] = {"key": outcome.task.key, "params": params, "result": result,
                                      "seconds": outcome.seconds, "host": outcome.host}
            _append(store, done[outcome.task.key])
        progress.update(ok=not outcome.error)
        if interrupted:
            break
    progress.close()
    return failed, interrupted


def _headline(config: Config, results: dict, out) -> list:
    lines = [f"{results['runs_done']}/{results['runs_total']} runs of {config.experiment} done {results['executor']}"]
    if results.get("best"):
        lines.append(f"best mean {results['metric']} over seeds: {results['best']['mean']:.4g} at "
                     + ", ".join(f"{k}={v}" for k, v in results["best"]["point"].items()))
    if results["failed"]:
        lines.append(f"{len(results['failed'])} run(s) failed, e.g. {results['failed'][0]['key']}: "
                     f"{results['failed'][0]['error']}")
    if results["interrupted"]:
        lines.append(f"INTERRUPTED by {results['interrupted']}; every run that finished is kept in runs.jsonl")
    if results["runs_done"] < results["runs_total"]:
        lines.append(f"INCOMPLETE: add --resume to the same command to train only the missing runs (-o {out})")
    return lines
