"""Sweeps on real Dask clusters on 127.0.0.1: a LocalCluster, and a `dask scheduler` with two `dask worker`s.

The same sweep gives the same runs.csv on every executor (only the seconds and host columns differ),
and a worker killed mid-sweep loses no finished run: --resume completes the sweep. Skipped only
where the `neurona[cluster]` extra (dask.distributed) is not installed.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed", reason="the neurona[cluster] extra is not installed")

from neurona.experiments import sweep  # noqa: E402

GRID = ["n=2,3", "hidden=1,3", "epochs=60"]
CONFIG = sweep.Config("parity", grid={"n": (2, 3), "hidden": (1, 3), "epochs": (60,)}, seeds=2)
LONG = ["n=3,4", "hidden=1,2,3,4,5", "epochs=400"]  # 40 runs of about 0.05 s: time to kill a worker in


def _table(path):
    """runs.csv without the columns that say where and how fast a run went."""
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in ("seconds", "host")} for row in csv.DictReader(f)]


def _sweep_cli(args, out, **popen):
    command = [sys.executable, "-m", "neurona.cli", "sweep", "parity", *args, "-q", "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweeps run with --jobs 1, in this process."""
    out = tmp_path_factory.mktemp("jobs1")
    sweep.run(CONFIG, out / "small", verbose=0, jobs=1)
    long = sweep.Config("parity", grid={"n": (3, 4), "hidden": (1, 2, 3, 4, 5), "epochs": (400,)}, seeds=4)
    sweep.run(long, out / "long", verbose=0, jobs=1)
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`dask scheduler` and two `dask worker` processes (one thread each, no nanny), on 127.0.0.1 only."""
    folder = tmp_path_factory.mktemp("cluster")
    scheduler_file = folder / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], **quiet)]
    try:
        _wait_for(scheduler_file.exists, "the scheduler file")
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file),
                  "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        workers = [subprocess.Popen(worker, **quiet) for _ in range(2)]
        processes += workers
        address = json.loads(scheduler_file.read_text())["address"]
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for process in reversed(processes):
            process.kill()
            process.wait()


def _wait_for(condition, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


def test_a_local_cluster_sweep_equals_jobs_1(reference, tmp_path):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local:
        summary = sweep.run(CONFIG, tmp_path, verbose=0, scheduler=local.scheduler_address)
    assert summary["results"]["executor"].startswith("on the Dask cluster at tcp://127.0.0.1:")
    assert _table(tmp_path / "runs.csv") == _table(reference / "small" / "runs.csv")


def test_a_scheduler_and_two_workers_give_the_same_runs_csv_as_jobs_1(cluster, reference, tmp_path):
    address, _ = cluster
    process = _sweep_cli(["--grid", *GRID, "--seeds", "2", "--scheduler", address], tmp_path / "dask")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert f"8/8 runs of parity done on the Dask cluster at {address}" in out
    assert _table(tmp_path / "dask" / "runs.csv") == _table(reference / "small" / "runs.csv")


def test_a_worker_killed_mid_sweep_loses_no_finished_run_and_resume_completes_it(cluster, reference, tmp_path):
    address, workers = cluster
    out, env = tmp_path / "killed", {**os.environ, "DASK_SCHEDULER_ADDRESS": address}  # the variable, this time
    process = _sweep_cli(["--grid", *LONG, "--seeds", "4"], out, env=env)
    try:
        _wait_for(lambda: (out / "runs.jsonl").exists() and (out / "runs.jsonl").read_text().count("\n") >= 5,
                  "five finished runs")
        workers[1].kill()  # mid-sweep, mid-run most likely
        before = (out / "runs.jsonl").read_text().splitlines()
        process.send_signal(signal.SIGINT)  # and the sweep itself stops before it ends
        process.communicate(timeout=120)
    finally:
        process.kill()
    kept = (out / "runs.jsonl").read_text().splitlines()
    assert kept[:len(before)] == before  # nothing finished was lost or rewritten
    assert len(kept) < 40, "the sweep finished before it could be interrupted; make LONG longer"
    resumed = _sweep_cli(["--grid", *LONG, "--seeds", "4", "--resume"], out, env=env)
    stdout, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err
    assert "40/40 runs of parity done" in stdout
    assert _table(out / "runs.csv") == _table(reference / "long" / "runs.csv")


def test_a_cluster_without_workers_is_named_instead_of_waited_on_forever():
    from neurona.parallel import DaskCluster

    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None) as empty:
        with pytest.raises(OSError, match=f"the Dask scheduler at {empty.scheduler_address} has no workers"):
            with DaskCluster(empty.scheduler_address, timeout=1):
                pass
