"""A CIFAR-10 exercise's runs as tasks on one executor; the RunBook keeps each finished run as it finishes.

Every exercise lists its runs ({key: settings}, each with its seed), and ``run_exercise`` hands those
not finished yet to an executor (``--jobs 1``: here, one after another; ``--jobs N``: N worker
processes, longest first; ``--scheduler``: a Dask cluster). Each finished run is saved to
``out/runs/<key>.json`` at once, so an interrupted or partly failed exercise resumes with only the
missing runs; the outputs list the runs in the exercise's order, so they do not depend on the executor.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Callable

from ..._signals import StopOnSignal
from ...parallel import Progress, Task, make_executor
from . import data as cifar_data
from .runs import describe, estimated_seconds, result, train_task
from .._common import RunInterrupted, RunsFailed, prepare_output, write_json


@dataclasses.dataclass(frozen=True)
class Exercise:
    """A CIFAR-10 exercise: ``runs(config)`` lists its runs ({key: settings}, in the order its outputs show
    them); ``finish(config, out, book, started)`` writes its figures, history.csv and summary.json."""

    name: str
    runs: Callable
    finish: Callable


class RunBook:
    """One exercise's runs: which are finished (kept in ``out/runs/<key>.json`` for --resume), failed or stopped.

    ``histories`` and ``results`` hold the finished runs in the exercise's order, whatever order they finished in.
    """

    def __init__(self, exercise: Exercise, config, out, data, resume: bool, verbose: int, started=None):
        self.exercise, self.config, self.out, self.data = exercise, config, Path(out), data
        self.folder, self.resume, self.verbose = self.out / "runs", resume, verbose
        self.runs = exercise.runs(config)
        self.started = started  # None: from the start of the first run trained (an exercise of a report)
        self._records, self._results, self.failed, self.interrupted = {}, {}, {}, None

    @property
    def histories(self) -> dict:
        return {key: self._records[key]["history"] for key in self.runs if key in self._records}

    @property
    def results(self) -> dict:
        return {key: self._results[key] for key in self.runs if key in self._results}

    @property
    def complete(self) -> bool:
        return len(self._records) == len(self.runs)

    def tasks(self, executor) -> list:
        """A Task for each run not finished yet (resuming, a saved run with the same settings is reused)."""
        self.folder.mkdir(parents=True, exist_ok=True)  # fit refuses a checkpoint path whose folder is missing
        todo = []
        for key, run in self.runs.items():
            record = self._saved(key, run)
            if record is not None:
                self._keep(key, record)
                if self.verbose:
                    print(f"{key}: reused from {self.folder / (key + '.json')}", file=sys.stderr)
                continue
            checkpoint = self.folder / f"{key}.checkpoint.npz" if executor.shares_files else None
            todo.append(Task(key, {"key": key, "run": run, "n_train": len(self.data.x_train),
                                   "n_test": len(self.data.x_test), "resume": self.resume,
                                   "checkpoint": None if checkpoint is None else str(checkpoint),
                                   "verbose": self.verbose if executor.in_process else 0}))
        return todo

    def estimate(self, task: Task) -> float:
        return estimated_seconds(task.params["run"], task.params["n_train"], task.params["n_test"])

    def take(self, outcome) -> None:
        """Keep what a task gave: a finished run (saved at once), its error, or the signal that stopped it."""
        key = outcome.task.params["key"]
        if self.started is None:
            self.started = time.perf_counter() - outcome.seconds
        if outcome.error:
            self.failed[key] = outcome.error
        elif "interrupted" in outcome.result:
            self.interrupted = self.interrupted or {**outcome.result, "run": key}
        else:
            write_json(self.folder / f"{key}.json", {"settings": self.runs[key], "n_train": len(self.data.x_train),
                                                     "n_test": len(self.data.x_test), "record": outcome.result})
            (self.folder / f"{key}.checkpoint.npz").unlink(missing_ok=True)
            self._keep(key, outcome.result)

    def train(self, executor) -> None:
        """Train the runs not finished yet on ``executor`` (longest first when they run side by side).

        Raises:
            RunInterrupted: SIGINT or SIGTERM; the finished runs are kept and summary.json says so.
            RunsFailed: some runs raised; the others finished and are kept (--resume trains the rest).
        """
        tasks = self.tasks(executor)
        if not executor.in_process:
            tasks.sort(key=self.estimate, reverse=True)
        shown = sys.stderr if self.verbose and not executor.in_process else None  # in-process: fit's own bars
        progress = Progress(len(self.runs), len(self._records), shown)
        with StopOnSignal(at_once=not executor.in_process) as stop:  # a parent that only waits stops at once
            finished = executor.run(train_task, tasks)
            try:
                for outcome in finished:
                    self.take(outcome)
                    progress.update(ok=not outcome.error)
                    if outcome.error and shown:
                        print(f"\nrun {self.describe_failure(outcome.task.key)}", file=shown)
                    if self.interrupted or stop.received:
                        break
            except KeyboardInterrupt:  # at once (in parallel), or a second Ctrl-C inside a run here
                pass
            finally:
                finished.close()
        progress.close()
        self.check(stop.name or "SIGINT")

    def check(self, signal_name: str = "SIGINT") -> None:
        """Raise if the runs did not all finish: RunInterrupted (summary.json marked) or RunsFailed."""
        if self.complete:
            return
        if self.interrupted or not self.failed:
            self.interrupted = self.interrupted or {"interrupted": signal_name, "message": f"interrupted by {signal_name}"}
            self.mark_interrupted()
            raise RunInterrupted(self.interrupted["interrupted"], self.interrupted["message"])
        raise RunsFailed(self.failure_message())

    def describe_failure(self, key: str) -> str:
        return f"{key} ({describe(self.runs[key])}) failed: {self.failed[key]}"

    def failure_message(self) -> str:
        done, keys = len(self._records), sorted(self.failed)
        return (f"{self.exercise.name}: {len(keys)} of {len(self.runs)} runs failed; the {done} finished are kept "
                f"in {self.folder}, so --resume trains only the missing ones. "
                + "; ".join(self.describe_failure(key) for key in keys[:3]))

    def mark_interrupted(self) -> None:
        """summary.json says the exercise was stopped, which runs finished, and how to continue."""
        signal_name, during = self.interrupted["interrupted"], self.interrupted.get("run")
        results = {"interrupted": signal_name, "runs_completed": sorted(self._records)}
        where = f"during run {during}; finished runs and its last epoch are kept" if during else \
            (f"after {len(self._records)} of {len(self.runs)} runs finished; those and each unfinished run's last "
             "epoch are kept")
        if during:
            results["interrupted_run"] = during
        write_json(self.out / "summary.json", {"results": results, "headline": [
            f"INTERRUPTED by {signal_name} {where}: add --resume to the same command to continue"]})

    def finish(self) -> dict:
        """Write the exercise's outputs from its finished runs; return the summary."""
        return self.exercise.finish(self.config, self.out, self, self.started or time.perf_counter())

    def _keep(self, key: str, record: dict) -> None:
        self._records[key] = record
        self._results[key] = result(self.runs[key], record, self.data)

    def _saved(self, key: str, run: dict):
        path = self.folder / f"{key}.json"
        if not (self.resume and path.exists()):
            return None
        saved = json.loads(path.read_text())
        same = saved.get("settings") == run and saved.get("n_train") == len(self.data.x_train) \
            and saved.get("n_test") == len(self.data.x_test)
        if not same:
            return None
        record = saved["record"]  # JSON holds NaN as null
        record["history"] = {k: [float("nan") if v is None else v for v in values]
                             for k, values in record["history"].items()}
        return record


def start(exercise: Exercise, config, out_dir, overwrite: bool, resume: bool, verbose: int, started=None) -> RunBook:
    """The output folder and a RunBook of the exercise's runs over the prepared data: how every exercise begins."""
    out = prepare_output(out_dir, overwrite, resume)
    data = cifar_data.prepare(config.n_train, config.n_test, download=config.download)
    return RunBook(exercise, config, out, data, resume, verbose, started)


def run_exercise(exercise: Exercise, config, out_dir, verbose: int, overwrite: bool, resume: bool, jobs: int = 1,
                 scheduler: str | None = None) -> dict:
    """Train the exercise's runs on the executor ``jobs`` / ``scheduler`` ask for, then write its outputs."""
    started = time.perf_counter()
    executor = make_executor(jobs, scheduler)
    book = start(exercise, config, out_dir, overwrite, resume, verbose, started)
    with executor:
        book.train(executor)
    return book.finish()
