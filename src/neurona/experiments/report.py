"""``neurona reproduce``: run exercises 1-8 and the linear baselines, then write one self-contained HTML report.

The page puts what the practical reported beside what neurona measured (accuracy, epochs, time),
with every figure embedded and the graphs of exercises 1-2 drawn. Each exercise's own folder
(figures, history.csv, summary.json) sits under the report folder. Numbers are measured when the
report is built; only the practical's reported numbers are constants (``cifar.PRACTICAL``).

Example:
    >>> from neurona.experiments import report
    >>> report.reproduce("report", quick=True)  # doctest: +SKIP
    PosixPath('report/report.html')
"""

from __future__ import annotations

import dataclasses
import sys
import time
import traceback
from pathlib import Path

from . import _cifar_data, _report_graphs, _report_sections, get
from ._common import prepare_output, write_json, write_text

CIFAR = ("ex3", "ex4", "ex5", "ex8", "linear")
ORDER = ("ex3", "ex4", "ex5", "xor", "parity", "ex8", "linear")  # the practical's numbering, baselines last


@dataclasses.dataclass
class Outcome:
    """What happened to one exercise: status "done", "skipped" (no data) or "failed"; its summary and folder."""

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
    folder = out / name
    started = time.perf_counter()
    try:
        config = _config(name, quick, download, changes)
        summary = get(name).run(config, folder, verbose=verbose, overwrite=True)
        return Outcome(name, "done", folder, summary, seconds=time.perf_counter() - started)
    except _cifar_data.DataUnavailable as exc:
        return Outcome(name, "skipped", folder, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken exercise must not sink the report; its error is shown
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if verbose:
            traceback.print_exc()
        return Outcome(name, "failed", folder, message=detail, seconds=time.perf_counter() - started)


def _skip(name: str, out: Path, reason: Outcome) -> Outcome:
    """Skip a CIFAR-10 exercise without another download attempt once one found the data missing."""
    return Outcome(name, "skipped", out / name, message=reason.message)


def run_exercises(out: Path, quick: bool = False, download: bool = True, verbose: int = 1,
                  exercises=None, changes: dict | None = None) -> dict:
    """Run the exercises (default all, in the practical's order) into ``out/<name>``; return {name: Outcome}."""
    outcomes, missing_data = {}, None
    for name in exercises or ORDER:
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
    return outcomes


def reproduce(out_dir="report", quick: bool = False, overwrite: bool = False, verbose: int = 1, *,
              download: bool = True, exercises=None, changes: dict | None = None) -> Path:
    """Run every exercise and write ``out_dir/report.html``, one page that opens offline; return its path.

    Args:
        out_dir: the report folder; each exercise writes its files into a sub-folder.
        quick: run each exercise's reduced ``Config.quick()`` (the whole report in a few minutes).
        overwrite: allow a non-empty ``out_dir`` (its previous results are replaced).
        verbose: 1 prints progress to stderr, 0 is silent.
        download: fetch CIFAR-10 when it is missing; with False (or no network) its exercises
            are marked skipped, with the command that fixes it, and the rest still runs.
        exercises: names to run (default all of ``ORDER``); the graphs of exercises 1-2 always are.
        changes: {name: {field: value}} applied on top of each Config (e.g. a tiny run for tests).

    Returns:
        The path of report.html.
    """
    started = time.perf_counter()
    out = prepare_output(out_dir, overwrite)
    graphs_started = time.perf_counter()
    graphs = _report_graphs.graphs_section(out / "graphs")
    graphs_seconds = time.perf_counter() - graphs_started
    outcomes = run_exercises(out, quick, download, verbose, exercises, changes)
    rows = _report_sections.comparison_rows(outcomes, quick)
    page = _report_sections.render(out, outcomes, rows, graphs, graphs_seconds, quick,
                                   time.perf_counter() - started)
    write_text(out / "report.html", page)
    write_json(out / "report.json", {
        "quick": quick, "seconds": round(time.perf_counter() - started, 1),
        "exercises": {n: {"status": o.status, "message": o.message, "seconds": round(o.seconds, 1),
                          "headline": o.summary.get("headline", [])} for n, o in outcomes.items()},
        "practical_vs_neurona": rows})
    return out / "report.html"
