"""``reproduce --jobs N``: every CIFAR-10 run a task of its own, xor and parity one task each, longest first.

The workers train. This process keeps each finished run at once (``<exercise>/runs/<key>.json``, what
--resume reuses) and writes an exercise's figures, history.csv and summary.json as soon as its last
run is in, listing the runs in the exercise's order, so the files are those of ``--jobs 1`` (times
apart). A failing run is reported with its settings and the others go on; Ctrl-C stops at once (the
workers are ended) and every exercise not finished is marked interrupted, its finished runs kept.
"""

from __future__ import annotations

import sys
import time
import traceback

from ..._signals import StopOnSignal
from ...parallel import Task
from .. import get
from ..cifar import book as cifar_book, data as cifar_data, runs as cifar_runs
from ..cifar.practical import EXERCISES as CIFAR
from .._common import RunInterrupted, RunsFailed
from .._output_folder import claim, is_neurona_folder, users_files

STEP_SECONDS = 2e-4  # one full-batch step of xor's or parity's small networks, measured on the 2-core build machine


class Schedule:
    """Runs a report's exercises side by side on one executor.

    Args:
        task: the workers' function (module-level): a CIFAR-10 run's params have "run", an exercise's "name".
        config: ``config(name, quick, download, changes)``, an exercise's Config.
        outcome: ``outcome(name, status, folder, summary={}, message="", seconds=0.0)``, what the report keeps.
    """

    def __init__(self, task, config, outcome):
        self.task, self.config, self.outcome = task, config, outcome

    def run(self, names: list, out, quick: bool, download: bool, changes: dict, executor, after_each,
            verbose: int) -> dict:
        """Run the exercises ``names`` into ``out/<name>`` on ``executor``; return {name: outcome}."""
        before = {name: users_files(out / name) for name in names if name in CIFAR}
        outcomes, books = {}, {}
        try:
            tasks = self._plan(names, out, quick, download, changes, executor, outcomes, books)
            self._collect(names, tasks, books, outcomes, out, executor, after_each, verbose)
        finally:
            for name, files in before.items():  # what was written in an exercise's folder is neurona's
                claim(out / name, files)
        return outcomes

    def _plan(self, names: list, out, quick: bool, download: bool, changes: dict, executor, outcomes: dict,
              books: dict) -> list:
        """The tasks, longest first: each CIFAR-10 exercise's runs not finished yet (its RunBook goes into
        ``books``), and xor and parity whole. An exercise that cannot start gets its outcome at once.

        CIFAR-10 is prepared here (downloaded if asked, once), before any worker starts: forked workers
        inherit it, and none downloads.
        """
        tasks, missing = [], None
        for name in names:
            if name not in CIFAR:
                tasks.append(Task(name, {"name": name, "out": str(out), "quick": quick, "download": False,
                                         "changes": changes.get(name, {})}))
            elif missing is not None:  # CIFAR-10 was looked for once and is missing
                outcomes[name] = self.outcome(name, "skipped", out / name, message=missing)
            else:
                try:
                    config = self.config(name, quick, download, changes.get(name, {}))
                    books[name] = cifar_book.start(get(name).exercise, config, out / name, overwrite=True,
                                                    resume=is_neurona_folder(out / name), verbose=0)
                except cifar_data.DataUnavailable as exc:
                    missing = str(exc)
                    outcomes[name] = self.outcome(name, "skipped", out / name, message=missing)
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. a setting the Config refuses: shown in the report
                    outcomes[name] = self.outcome(name, "failed", out / name, message=_one_line(exc))
                    continue
                tasks += [Task(f"{name}/{t.key}", t.params) for t in books[name].tasks(executor)]
        return sorted(tasks, key=lambda t: self._estimate(t, quick), reverse=True)

    def _estimate(self, task: Task, quick: bool) -> float:
        params = task.params
        if "run" in params:
            return cifar_runs.estimated_seconds(params["run"], params["n_train"], params["n_test"])
        try:
            config = self.config(params["name"], quick, False, params["changes"])
            return len(get(params["name"]).tasks(config)) * config.epochs * STEP_SECONDS
        except (AttributeError, TypeError, ValueError):  # nothing to count (e.g. a test's stand-in): start it first
            return float("inf")

    def _collect(self, names: list, tasks: list, books: dict, outcomes: dict, out, executor, after_each,
                 verbose: int) -> None:
        """Take every task's outcome as it comes; settle an exercise when its last task is in."""
        left = {name: sum(t.key.split("/")[0] == name for t in tasks) for name in books}
        for name in [n for n in books if not left[n]]:  # every run reused from an earlier report
            outcomes[name] = self._settle(name, books[name], out)
        with StopOnSignal(at_once=True) as stop:  # this process only waits: a signal stops it at once
            finished = executor.run(self.task, tasks)
            try:
                for done in finished:
                    name = done.task.key.split("/")[0]
                    if name in books:
                        books[name].take(done)
                        left[name] -= 1
                        _say_run(name, done, books[name], verbose)
                        if left[name]:
                            continue
                        outcomes[name] = self._settle(name, books[name], out)
                    else:
                        outcomes[name] = done.result if not done.error else \
                            self.outcome(name, "failed", out / name, message=done.error)
                    _say_exercise(outcomes, name, len(names), executor, verbose)
                    if after_each is not None:
                        after_each(outcomes)
            except KeyboardInterrupt:
                self._stopped(names, books, outcomes, out, stop.name or "SIGINT")
            finally:
                finished.close()  # ends the workers still training

    def _settle(self, name: str, book, out):
        """An exercise whose tasks are all in: its outputs written ("done"), or why not ("failed", "interrupted")."""
        started = book.started or time.perf_counter()
        try:
            book.check()
            summary = book.finish()
            return self.outcome(name, "done", out / name, summary, seconds=time.perf_counter() - started)
        except RunInterrupted as exc:
            status, message = "interrupted", str(exc)
        except RunsFailed as exc:
            status, message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - e.g. a figure that cannot be drawn: shown in the report
            status, message = "failed", _one_line(exc)
        return self.outcome(name, status, out / name, message=message, seconds=time.perf_counter() - started)

    def _stopped(self, names: list, books: dict, outcomes: dict, out, signal_name: str) -> None:
        """Ctrl-C: every exercise not finished is interrupted; a CIFAR-10 one's summary.json says what is kept."""
        for name in names:
            if name in outcomes:
                continue
            if name in books:
                books[name].interrupted = {"interrupted": signal_name, "message": f"interrupted by {signal_name}"}
                books[name].mark_interrupted()
            outcomes[name] = self.outcome(name, "interrupted", out / name, message=f"interrupted by {signal_name}")


def _say_run(name: str, done, book, verbose: int) -> None:
    if verbose:
        what = f"failed: {done.error}" if done.error else f"{done.seconds:.0f} s"
        print(f"   {name}/{done.task.params['key']}: {what} ({len(book.results)}/{len(book.runs)} runs)",
              file=sys.stderr, flush=True)


def _say_exercise(outcomes: dict, name: str, total: int, executor, verbose: int) -> None:
    if verbose:
        print(f"== {name}: {outcomes[name].status} in {outcomes[name].seconds:.1f} s ({len(outcomes)}/{total}, "
              f"{executor.description})", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
