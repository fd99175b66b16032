"""``neurona reproduce``: run exercises 1-8 and the linear baselines, then write one self-contained HTML report.

The page puts what the practical reported beside what neurona measured (accuracy, epochs, time),
with every figure embedded, the graphs of exercises 1-2 drawn, and one of a small conv net. Each
exercise's own folder (figures, history.csv, summary.json) sits under the report folder. Numbers are measured when the
report is built; only the practical's reported numbers are constants (``cifar.PRACTICAL``).

Example:
    >>> from neurona.experiments import report
    >>> report.reproduce("report", quick=True)  # doctest: +SKIP
    PosixPath('report/report.html')
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import traceback
from pathlib import Path

from ...parallel import make_executor
from .. import get
from ..cifar import data as cifar_data
from .._common import RunInterrupted, prepare_output, records_outputs, write_json, write_text
from ..cifar.runs import train_task
from .._output_folder import is_neurona_folder
from . import drawings, sections
from .schedule import Schedule

CIFAR = ("ex3", "ex4", "ex5", "ex8", "linear")
ORDER = ("ex3", "ex4", "ex5", "xor", "parity", "ex8", "linear")  # the practical's numbering, baselines last
_REPORT_JSON_MAX_BYTES = 16 * 1024 * 1024  # report.json and summary.json are a few kB; far larger is not ours


@dataclasses.dataclass
class Outcome:
    """What happened to one exercise: "done", "skipped" (no data), "failed" or "interrupted"; its summary and folder."""

    name: str
    status: str
    folder: Path
    summary: dict = dataclasses.field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0


def _config(name: str, quick: bool, download: bool, changes: dict):
    """The exercise's Config: quick() or the defaults, downloads as asked, then ``changes`` (tests use tiny ones)."""
    config_cls = get(name).Config
    config = config_cls.quick() if quick and hasattr(config_cls, "quick") else config_cls()
    fields = {f.name for f in dataclasses.fields(config)}
    if "download" in fields:
        config = dataclasses.replace(config, download=download)
    unknown = set(changes) - fields
    if unknown:
        raise ValueError(f"reproduce: {name} has no setting {', '.join(sorted(unknown))}. Received: {changes}")
    return dataclasses.replace(config, **changes)


def _run_one(name: str, out: Path, quick: bool, download: bool, changes: dict, verbose: int) -> Outcome:
    """Run one exercise into ``out/<name>``, continuing what an earlier report left there (its runs are reused)."""
    folder = out / name
    started = time.perf_counter()
    try:
        config = _config(name, quick, download, changes)
        summary = get(name).run(config, folder, verbose=verbose, overwrite=True, resume=is_neurona_folder(folder))
        return Outcome(name, "done", folder, summary, seconds=time.perf_counter() - started)
    except cifar_data.DataUnavailable as exc:
        return Outcome(name, "skipped", folder, message=str(exc))
    except (RunInterrupted, KeyboardInterrupt) as exc:
        return Outcome(name, "interrupted", folder, message=str(exc) or "interrupted",
                       seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - one broken exercise must not sink the report; its error is shown
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if verbose:
            traceback.print_exc()
        return Outcome(name, "failed", folder, message=detail, seconds=time.perf_counter() - started)


def _skip(name: str, out: Path, reason: Outcome) -> Outcome:
    """Skip a CIFAR-10 exercise without another download attempt once one found the data missing."""
    return Outcome(name, "skipped", out / name, message=reason.message)


def _earlier(out: Path, quick: bool) -> dict:
    """The exercises an earlier report in ``out`` finished ({name: Outcome}), for --resume to keep.

    Skipped, failed and interrupted exercises are not kept, so they run again.
    """
    path = out / "report.json"
    if not path.is_file() or path.stat().st_size > _REPORT_JSON_MAX_BYTES:
        return {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict) or not isinstance(saved.get("exercises"), dict):
        return {}
    if saved.get("quick") is not quick:
        mode = "quick" if saved.get("quick") else "full"
        raise ValueError(f"{out} holds a {mode} report, so it can only be resumed in {mode} mode: "
                         f"neurona reproduce {'--quick ' if saved.get('quick') else ''}--resume -o {out}")
    kept = {}
    for name, entry in saved["exercises"].items():
        done = isinstance(entry, dict) and entry.get("status") == "done"
        summary = _finished_summary(out / str(name)) if done else None
        if summary is not None:
            kept[name] = Outcome(name, "done", out / name, summary, seconds=float(entry.get("seconds") or 0.0))
    return kept


def _finished_summary(folder: Path) -> dict | None:
    path = folder / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size < _REPORT_JSON_MAX_BYTES else None
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("results"), dict) \
            or summary["results"].get("interrupted"):
        return None
    return summary


def _exercise_task(params: dict) -> Outcome:
    """One exercise as a worker's task (module-level, so it pickles); its own runs train in that worker."""
    return _run_one(params["name"], Path(params["out"]), params["quick"], params["download"], params["changes"], 0)


def _report_task(params: dict):
    """One task of the report in a worker (module-level, so it pickles): a CIFAR-10 run, or xor or parity whole."""
    return train_task(params) if "run" in params else _exercise_task(params)


def run_exercises(out: Path, quick: bool = False, download: bool = True, verbose: int = 1,
                  exercises=None, changes: dict | None = None, earlier: dict | None = None,
                  after_each=None, executor=None) -> dict:
    """Run the exercises (default all, in the practical's order) into ``out/<name>``; return {name: Outcome}.

    ``earlier`` ({name: Outcome}) are kept as they are; CIFAR-10 is looked for once, and an interruption
    stops the loop. ``after_each(outcomes)`` is called after every exercise (the report saves its state).
    An ``executor`` other than in-process trains them side by side: each CIFAR-10 run is a task of its
    own, xor and parity one each, longest first (see schedule.py).
    """
    if executor is not None and not executor.in_process:
        todo = [name for name in exercises or ORDER if name not in (earlier or {})]
        ran = Schedule(_report_task, _config, Outcome).run(todo, out, quick, download, changes or {}, executor,
                                                           after_each, verbose)
        return {name: (earlier or {}).get(name) or ran[name] for name in exercises or ORDER}
    outcomes, missing_data = {}, None
    for name in exercises or ORDER:
        if name in (earlier or {}):
            outcomes[name] = earlier[name]
            if verbose:
                print(f"== {name}: finished earlier, kept", file=sys.stderr, flush=True)
            continue
        if verbose:
            print(f"== {name} {'(quick)' if quick else ''}", file=sys.stderr, flush=True)
        if name in CIFAR and missing_data is not None:
            outcomes[name] = _skip(name, out, missing_data)
        else:
            outcomes[name] = _run_one(name, out, quick, download, (changes or {}).get(name, {}), verbose)
        if name in CIFAR and outcomes[name].status == "skipped":
            missing_data = outcomes[name]
        if verbose:
            print(f"== {name}: {outcomes[name].status} in {outcomes[name].seconds:.1f} s", file=sys.stderr)
        if after_each is not None:
            after_each(outcomes)
        if outcomes[name].status == "interrupted":
            break
    return outcomes


def _save_state(out: Path, quick: bool, started: float, outcomes: dict, rows=None) -> None:
    """report.json: each exercise's status (written after every exercise, so --resume knows what finished)."""
    write_json(out / "report.json", {
        "quick": quick, "complete": rows is not None, "seconds": round(time.perf_counter() - started, 1),
        "exercises": {n: {"status": o.status, "message": o.message, "seconds": round(o.seconds, 1),
                          "headline": o.summary.get("headline", [])} for n, o in outcomes.items()},
        "practical_vs_neurona": rows or []})


@records_outputs
def reproduce(out_dir="report", quick: bool = False, overwrite: bool = False, verbose: int = 1, *,
              resume: bool = False, download: bool = True, exercises=None, changes: dict | None = None,
              jobs: int = 1, scheduler: str | None = None) -> Path:
    """Run every exercise and write ``out_dir/report.html``, one page that opens offline; return its path.

    Args:
        out_dir: the report folder; each exercise writes its files into a sub-folder.
        quick: run each exercise's reduced ``Config.quick()`` (the whole report in a few minutes).
        overwrite: allow a non-empty ``out_dir``: the files an earlier report wrote there are replaced.
        verbose: 1 prints progress to stderr, 0 is silent.
        resume: continue the report in ``out_dir``: exercises it finished are kept, the ones skipped,
            failed or interrupted run again (a CIFAR-10 exercise reuses its finished runs).
        download: fetch CIFAR-10 when it is missing; with False (or no network) its exercises
            are marked skipped, with the command that fixes it, and the rest still runs.
        exercises: names to run (default all of ``ORDER``); the graphs of exercises 1-2 always are.
        changes: {name: {field: value}} applied on top of each Config (e.g. a tiny run for tests).
        jobs: worker processes that train side by side, each CIFAR-10 run a task of its own and xor
            and parity one each, longest first (1: one after another, here; None: one per usable
            core); ``scheduler`` runs them on that Dask cluster. The files are the same either way.

    Returns:
        The path of report.html.

    Raises:
        RunInterrupted: SIGINT or SIGTERM stopped an exercise; the page shows what finished, and
            ``resume=True`` continues.
    """
    started = time.perf_counter()
    executor = make_executor(jobs, scheduler)
    out = prepare_output(out_dir, overwrite, resume)
    earlier = _earlier(out, quick) if resume else {}
    graphs_started = time.perf_counter()
    graphs = drawings.graphs_section(out / "graphs")
    graphs_seconds = time.perf_counter() - graphs_started
    cnn = drawings.conv_net_section(out / "graphs")
    with executor:
        outcomes = run_exercises(out, quick, download, verbose, exercises, changes, earlier,
                                 after_each=lambda done: _save_state(out, quick, started, done), executor=executor)
    rows = sections.comparison_rows(outcomes, quick)
    page = sections.render(out, outcomes, rows, graphs, graphs_seconds, quick, time.perf_counter() - started, cnn)
    write_text(out / "report.html", page)
    _save_state(out, quick, started, outcomes, rows)
    stopped = [o for o in outcomes.values() if o.status == "interrupted"]
    if stopped:
        raise RunInterrupted("SIGINT", f"{stopped[0].name}: {stopped[0].message}")
    return out / "report.html"
