"""neurona.parallel: one interface for in-process, local-process and Dask runs; failures are reported, not fatal."""

import os
import signal
import time

import pytest

from neurona import cli
from neurona.experiments import parity, xor
from neurona.parallel import InProcess, LocalProcesses, Progress, Task, blas_threads, make_executor
from neurona.parallel.executors import DaskCluster, call, usable_cores


def square_or_fail(params):
    """A task function for the tests: fails on a negative x, as a run with a bad setting would."""
    if params["x"] < 0:
        raise ValueError(f"x must be >= 0. Received: x={params['x']}")
    return params["x"] ** 2


TASKS = [Task(f"x{x}", {"x": x}) for x in (3, -1, 2, 5)]


@pytest.mark.parametrize("executor", [InProcess(), LocalProcesses(2)], ids=["in-process", "2 processes"])
def test_every_task_gives_one_outcome_and_a_failure_names_its_configuration(executor):
    with executor:
        outcomes = {o.task.key: o for o in executor.run(square_or_fail, TASKS)}
    assert {k: o.result for k, o in outcomes.items() if not o.error} == {"x3": 9, "x2": 4, "x5": 25}
    assert outcomes["x-1"].error == "ValueError: x must be >= 0. Received: x=-1"
    assert outcomes["x-1"].task.params == {"x": -1}
    assert all(o.host for o in outcomes.values())


def test_call_times_the_task_and_never_raises():
    outcome = call(square_or_fail, Task("bad", {"x": -2}))
    assert outcome.result is None and "x=-2" in outcome.error and outcome.seconds >= 0


@pytest.mark.parametrize("workers, cores, threads", [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8), (4, 16, 4)])
def test_blas_threads_keep_workers_times_threads_within_the_cores(workers, cores, threads):
    assert blas_threads(workers, cores) == threads
    assert workers * threads <= max(cores, workers)


def test_make_executor_chooses_by_jobs_and_scheduler(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert isinstance(make_executor(1), InProcess)
    assert isinstance(make_executor(3), LocalProcesses) and make_executor(3).workers == 3
    assert isinstance(make_executor(None), (InProcess, LocalProcesses))  # one worker per core
    assert make_executor(1, scheduler="tcp://10.0.0.1:8786").address == "tcp://10.0.0.1:8786"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.0.0.2:8786")
    assert isinstance(make_executor(2), DaskCluster) and make_executor(2).address == "tcp://10.0.0.2:8786"


@pytest.mark.parametrize("jobs", [0, -2, 1.5, True])
def test_make_executor_refuses_bad_jobs(jobs, monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with pytest.raises(ValueError, match=f"jobs must be a positive int. Received: jobs={jobs!r}"):
        make_executor(jobs)


def test_progress_says_runs_done_of_total_and_an_eta():
    progress = Progress(total=4, done=1, stream=None)
    assert progress.line().startswith("1/4 runs done, ") and progress.line().endswith("ETA ?")
    progress.update()
    progress.update(ok=False)
    assert progress.line().startswith("2/4 runs done (1 failed), ") and "ETA " in progress.line()


def test_xor_with_two_processes_equals_one_process(tmp_path):
    config = xor.Config(epochs=50, seeds=3)
    one = xor.run(config, tmp_path / "one", verbose=0, jobs=1)
    two = xor.run(config, tmp_path / "two", verbose=0, jobs=2)
    assert one["results"]["architectures"] == two["results"]["architectures"]
    assert (tmp_path / "one" / "seeds.csv").read_bytes() == (tmp_path / "two" / "seeds.csv").read_bytes()


def test_parity_with_two_processes_equals_one_process(tmp_path):
    config = parity.Config(epochs=40, seeds=2, width_n=(2,), hidden_values=(1, 3), n_values=(3,), narrow_hidden=())
    parity.run(config, tmp_path / "one", verbose=0, jobs=1)
    parity.run(config, tmp_path / "two", verbose=0, jobs=2)
    for name in ("runs.csv", "table.csv", "history.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_reproduce_s_exercises_on_two_processes_give_the_same_numbers(tmp_path, monkeypatch):
    from neurona.experiments import report

    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "no-data"))  # CIFAR exercises are skipped, the rest run
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    tiny = {"xor": {"epochs": 30, "seeds": 2},
            "parity": {"epochs": 30, "seeds": 1, "width_n": (2,), "hidden_values": (2,), "n_values": (3,),
                       "narrow_hidden": ()}}
    statuses = []
    for jobs in (1, 2):
        with make_executor(jobs) as executor:
            outcomes = report.run_exercises(tmp_path / f"j{jobs}", quick=True, download=False, verbose=0,
                                            exercises=["xor", "parity", "ex4"], changes=tiny, executor=executor)
        statuses.append({name: outcome.status for name, outcome in outcomes.items()})
    assert statuses == [{"xor": "done", "parity": "done", "ex4": "skipped"}] * 2
    for name in ("xor/seeds.csv", "parity/runs.csv", "parity/table.csv"):
        assert (tmp_path / "j1" / name).read_bytes() == (tmp_path / "j2" / name).read_bytes()


def test_run_and_reproduce_default_to_one_worker_per_usable_core(monkeypatch):
    for argv in (["run", "ex8"], ["run", "xor"], ["reproduce"], ["sweep", "xor"]):
        assert cli._parse(argv).jobs is None
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    assert usable_cores() == 3
    executor = make_executor(None)
    assert isinstance(executor, LocalProcesses) and executor.workers == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1}, raising=False)
    assert isinstance(make_executor(None), InProcess)


def test_the_signal_of_a_waiting_parent_stops_it_at_once():
    from neurona._signals import StopOnSignal

    with pytest.raises(KeyboardInterrupt):
        with StopOnSignal(at_once=True) as stop:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # never reached: the handler raises first
    assert stop.name == "SIGTERM"


def test_leaving_the_loop_early_ends_the_runs_under_way():
    with LocalProcesses(2) as executor:
        finished = executor.run(_sleep_or_return, [Task("quick", {"seconds": 0}), Task("slow", {"seconds": 600})])
        first = next(finished)
        finished.close()  # the slow run is ended, not waited for (or this test would hang)
    assert first.task.key == "quick" and first.result == 0


def _sleep_or_return(params: dict) -> float:
    time.sleep(params["seconds"])
    return params["seconds"]
