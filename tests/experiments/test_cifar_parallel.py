"""The CIFAR-10 exercises' runs as tasks: --jobs 2 writes the files of --jobs 1, reproduce schedules run by run,
a failing run names its settings and the others are kept, Ctrl-C stops the parent at once and --resume completes.

All on a tiny fake CIFAR-10 (test_cifar_experiments.write_tiny_cifar); figures are one-pixel PNGs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurona.experiments import cifar, get, report
from neurona.experiments.cifar import data as _cifar_data, runs as _cifar_runs
from neurona.experiments._common import RunsFailed
from neurona.parallel.executors import InProcess, call
from test_cifar_experiments import TINY, fast_plots, tiny_cifar, write_tiny_cifar  # noqa: F401 - fixtures

SMALL = {  # every exercise's runs, each tiny; ex5 without its -lam variant to save time
    "ex3": {"listing_epochs": 2}, "ex4": {}, "ex5": {"alt_lam": 0.0}, "ex8": {}, "linear": {}}


def _without_times(value):
    """A summary (or run record) with every time left out: what must not depend on the executor."""
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in ("seconds", "train_seconds")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    if isinstance(value, str):
        return re.sub(r", \d+ s\b", ", N s", value)  # the headline's "…, 3 s; practical …"
    return value


def _same_files(one: Path, two: Path) -> None:
    assert (one / "history.csv").read_bytes() == (two / "history.csv").read_bytes()
    first, second = (json.loads((f / "summary.json").read_text()) for f in (one, two))
    assert _without_times(first) == _without_times(second)
    assert list(first["results"]) == list(second["results"])  # the exercise's order, not the finishing order
    assert sorted(p.name for p in one.glob("*.png")) == sorted(p.name for p in two.glob("*.png"))
    for run in (one / "runs").glob("*.json"):
        assert _without_times(json.loads(run.read_text())) == \
            _without_times(json.loads((two / "runs" / run.name).read_text()))


@pytest.mark.parametrize("name", list(SMALL))
def test_an_exercise_on_two_processes_writes_the_files_of_one_process(name, tiny_cifar, fast_plots, tmp_path):
    config = get(name).Config(**{**TINY, **SMALL[name]})
    for jobs in (1, 2):
        get(name).run(config, tmp_path / f"j{jobs}", verbose=0, jobs=jobs)
    _same_files(tmp_path / "j1", tmp_path / "j2")
    assert not list((tmp_path / "j2" / "runs").glob("*.checkpoint.npz"))


class Recording(InProcess):
    """Runs the tasks here, in the order given, but says it is not in-process (as a pool would): records them."""

    in_process, workers, description = False, 2, "recorded"

    def __init__(self):
        self.keys = []

    def run(self, fn, tasks):
        self.keys = [task.key for task in tasks]
        for task in tasks:
            yield call(fn, task)


def test_reproduce_schedules_every_cifar_run_as_a_task_longest_first(tiny_cifar, fast_plots, tmp_path):
    changes = {name: {**TINY, **SMALL[name]} for name in ("ex4", "ex8")}
    changes["ex8"]["epochs"] = 4  # twice ex4's epochs: its two-hidden-layer runs are the longest
    changes["xor"] = {"epochs": 5, "seeds": 1}
    executor = Recording()
    outcomes = report.run_exercises(tmp_path, quick=True, download=False, verbose=0, exercises=["ex4", "xor", "ex8"],
                                    changes=changes, executor=executor)
    assert {name: o.status for name, o in outcomes.items()} == {"ex4": "done", "xor": "done", "ex8": "done"}
    ex8 = [k for k in executor.keys if k.startswith("ex8/")]
    assert len(ex8) == 11 and len([k for k in executor.keys if k.startswith("ex4/")]) == 3
    assert executor.keys[:6] == ["ex8/" + k for k in ("mse", "svm", "cce", "mse-alt", "svm-alt", "cce-alt")]
    assert ex8[-2:] == ["ex8/linear-svm", "ex8/linear-cce"]  # 3072-10: the shortest of ex8
    assert executor.keys.index("ex8/1hidden-cce") < executor.keys.index("ex4/bgd")  # ex8: twice the epochs
    cifar.run_ex8(dataclasses.replace(cifar.Ex8Config.quick(), **changes["ex8"]), tmp_path / "seq-ex8", verbose=0)
    _same_files(tmp_path / "ex8", tmp_path / "seq-ex8")


def test_reproduce_with_two_processes_gives_the_report_of_one(tmp_path, monkeypatch):
    from neurona.viz import plots

    monkeypatch.setattr(plots, "plot_history", lambda h, path=None, *a, **k: Path(path).write_bytes(b""))
    monkeypatch.setattr(plots, "plot_comparison", lambda h, path=None, *a, **k: Path(path).write_bytes(b""))
    write_tiny_cifar(tmp_path / "data")
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _cifar_data.clear_cache()
    changes = {name: {**{k: v for k, v in TINY.items() if k != "download"}, **SMALL[name]} for name in SMALL}
    changes.update(xor={"epochs": 20, "seeds": 2}, parity={"epochs": 20, "seeds": 1, "width_n": (2,),
                   "hidden_values": (2,), "n_values": (3,), "narrow_hidden": ()})
    for jobs in (1, 2):
        report.reproduce(tmp_path / f"r{jobs}", quick=True, verbose=0, download=False, changes=changes, jobs=jobs)
    states = [json.loads((tmp_path / f"r{jobs}" / "report.json").read_text()) for jobs in (1, 2)]
    assert {e["status"] for e in states[1]["exercises"].values()} == {"done"}
    assert _without_times(states[0]["practical_vs_neurona"]) == _without_times(states[1]["practical_vs_neurona"])
    for name in SMALL:
        _same_files(tmp_path / "r1" / name, tmp_path / "r2" / name)
    for name in ("xor/seeds.csv", "parity/table.csv"):
        assert (tmp_path / "r1" / name).read_bytes() == (tmp_path / "r2" / name).read_bytes()
    _cifar_data.clear_cache()


def test_a_failing_run_names_its_settings_the_others_are_kept_and_resume_trains_only_it(
        tiny_cifar, fast_plots, tmp_path, monkeypatch):
    broken = cifar.Ex8Config(**{**TINY, "hidden": (8, 0), "alt_lr": 0.0})  # Dense(0) raises in the worker
    with pytest.raises(RunsFailed) as failure:
        cifar.run_ex8(broken, tmp_path / "ex8", verbose=0, jobs=2)
    message = str(failure.value)
    assert message.startswith("ex8: 3 of 8 runs failed; the 5 finished are kept in ")
    assert "cce (3072-8(sigmoid)-0(sigmoid)-10(linear), CCE, BGD lr=0.0001 bs=64, L2 0.001, 2 epochs, framework) " \
           "failed: ValueError: Dense: units must be a positive int. Received: units=0" in message
    kept = sorted(p.stem for p in (tmp_path / "ex8" / "runs").glob("*.json"))
    assert kept == ["1hidden-cce", "1hidden-mse", "1hidden-svm", "linear-cce", "linear-svm"]

    fixed = cifar.Ex8Config(**{**TINY, "hidden": (8, 4), "alt_lr": 0.0})
    trained, real = [], _cifar_runs.train
    monkeypatch.setattr("neurona.experiments.cifar.runs.train", lambda data, run, name, *a, **k:
                        trained.append(name) or real(data, run, name, *a, **k))
    resumed = cifar.run_ex8(fixed, tmp_path / "ex8", verbose=0, resume=True)
    assert sorted(trained) == ["cce", "mse", "svm"]
    straight = cifar.run_ex8(fixed, tmp_path / "straight", verbose=0)
    assert _without_times(resumed["results"]) == _without_times(straight["results"])


# A CLI run of ex4 on two workers; with "block", its run sgd-lr-x-batch waits inside a SIGINT/SIGTERM handler
# like fit's, so the test can press Ctrl-C while it is under way and see that the worker never took SIGINT.
SCRIPT = """
import sys, time
from pathlib import Path
from neurona import cli
from neurona._signals import StopOnSignal
from neurona.experiments.cifar import runs as _cifar_runs

real, out, block = _cifar_runs.train, Path(sys.argv[1]), sys.argv[2] == "block"

def train(data, run, name, verbose=1, checkpoint=None):
    if block and name == "sgd-lr-x-batch":
        with StopOnSignal() as stop:
            while stop.received is None:
                time.sleep(0.02)
        (out.parent / f"worker-took-{stop.name}").write_text("")
    return real(data, run, name, verbose, checkpoint)

_cifar_runs.train = train
argv = ["run", "ex4", "--quick", "-q", "--no-download", "--n-train", "50", "--n-test", "20", "--epochs", "2",
        "-j", "2", "-o", str(out)]
sys.exit(cli.main(argv + sys.argv[3:]))
"""


def _cli(tmp_path, *args, env):
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "ex4"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups (POSIX)")
def test_ctrl_c_stops_the_parent_at_once_keeps_finished_runs_and_resume_completes(tmp_path):
    write_tiny_cifar(tmp_path / "data")
    env = {**os.environ, "NEURONA_DATA": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "ex4"), "block"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        runs, deadline = tmp_path / "ex4" / "runs", time.monotonic() + 90
        while not ((runs / "bgd.json").exists() and (runs / "sgd-same-lr.json").exists()):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole process group
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert f"continue with  neurona run ex4 --resume -o {tmp_path / 'ex4'}" in err
    assert not list(tmp_path.glob("worker-took-*"))  # the workers ignore SIGINT; the parent ended them
    marked = json.loads((tmp_path / "ex4" / "summary.json").read_text())
    assert marked["results"]["interrupted"] == "SIGINT"
    # both files were written before Ctrl-C; the parent may not have counted the second one yet
    assert marked["results"]["runs_completed"] in (["bgd", "sgd-same-lr"], ["bgd"], ["sgd-same-lr"])
    assert marked["headline"][0].startswith("INTERRUPTED by SIGINT after ")

    resumed = _cli(tmp_path, "go", "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    straight = _cli(tmp_path / "straight", "go", "-j", "1", env=env)  # later flags win: one process
    assert straight.returncode == 0, straight.stderr
    _same_files(tmp_path / "ex4", tmp_path / "straight" / "ex4")
