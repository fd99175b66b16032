"""Three executors with one interface: in this process, in local worker processes, or on a Dask cluster.

``executor.run(fn, tasks)`` calls ``fn(task.params)`` for every task and yields an ``Outcome`` as each
one finishes. A task that raises gives an Outcome with ``error`` set (its configuration is the
task's params) and the others go on. ``fn`` must be a module-level function, so worker processes
and Dask workers can import it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import time
import traceback
import uuid

CLUSTER_EXTRA = "pip install 'neurona[cluster]'"
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclasses.dataclass(frozen=True)
class Task:
    """One independent run: a unique ``key`` and the ``params`` (JSON-able, seed included) that decide its result."""

    key: str
    params: dict


@dataclasses.dataclass
class Outcome:
    """What became of a task: ``result`` (what fn returned) or ``error`` (a one-line description), where and how long."""

    task: Task
    result: object = None
    error: str | None = None
    seconds: float = 0.0
    host: str = ""


def call(fn, task: Task) -> Outcome:
    """Run one task where it lands (a worker); an exception becomes the Outcome's error, never a crash."""
    started = time.perf_counter()
    try:
        result, error = fn(dict(task.params)), None
    except Exception as exc:  # noqa: BLE001 - one failing run must not stop the others; it is reported
        result, error = None, "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Outcome(task, result, error, round(time.perf_counter() - started, 3), socket.gethostname())


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform says, else all of them)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def blas_threads(workers: int, cores: int | None = None) -> int:
    """BLAS threads per worker so that workers × threads ≤ cores (default the usable cores; at least 1)."""
    cores = cores or usable_cores()
    return max(1, cores // max(1, workers))


def limit_blas_threads(threads: int) -> None:
    """Cap this process's BLAS/OpenMP threads: environment variables for libraries loaded later, and
    threadpoolctl (when installed) for those already loaded, such as NumPy's OpenBLAS."""
    for name in BLAS_VARIABLES:
        os.environ[name] = str(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=threads)


def _worker_init(threads: int) -> None:
    """Ctrl-C reaches the whole process group; the parent decides what stops, so a worker never sees SIGINT.

    Blocked as well as ignored: a run's fit() installs its own SIGINT handler, which must not
    take the signal either (the parent ends its workers when it stops).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    limit_blas_threads(threads)
    os.environ["NEURONA_WORKER"] = "1"  # the cores are the workers': a captured step starts no helper threads


class InProcess:
    """Runs the tasks one after another in this process (``--jobs 1``): today's behaviour, nothing to start.

    Every executor declares ``in_process`` (the tasks run in this process, so a run's own Ctrl-C
    handling applies) and ``shares_files`` (the workers see this machine's files, e.g. checkpoints).
    """

    workers, in_process, shares_files = 1, True, True
    description = "in this process"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def run(self, fn, tasks):
        for task in tasks:
            yield call(fn, task)


class LocalProcesses:
    """Runs the tasks in ``jobs`` worker processes on this machine (concurrent.futures).

    Workers are forked where the platform can (no ``if __name__ == "__main__"`` guard needed in a
    script, nothing imported twice), spawned elsewhere. Each caps its BLAS threads at
    ``blas_threads(jobs)``. Stopping early (leaving the loop, or an exception such as Ctrl-C in it)
    cancels the tasks not yet started and ends the workers still running one: nobody would collect
    their results. What they had written atomically (checkpoints) stays.
    """

    in_process, shares_files = False, True

    def __init__(self, jobs: int):
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be a positive int. Received: jobs={jobs!r}")
        self.workers, self.description, self._pool = jobs, f"on {jobs} local worker processes", None

    def __enter__(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method),
                                         initializer=_worker_init, initargs=(blas_threads(self.workers),))
        return self

    def __exit__(self, exc_type, *exc_info):
        if exc_type is not None:  # e.g. Ctrl-C in the parent: do not wait for runs that may take minutes
            self._end_workers()
        self._pool.shutdown(wait=True, cancel_futures=True)
        return False

    def _end_workers(self) -> None:
        """Kill the worker processes (SIGKILL: a run's fit would take SIGTERM as "stop after this step",
        then start the next queued task)."""
        processes = getattr(self._pool, "_processes", None) or {}  # private, so looked up with care
        for process in list(processes.values()):
            process.kill()

    def run(self, fn, tasks):
        from concurrent.futures import as_completed

        futures = {self._pool.submit(call, fn, task): task for task in tasks}
        try:
            for future in as_completed(futures):
                yield _outcome_of(future, futures[future])
        finally:
            for future in futures:
                future.cancel()
            if not all(future.done() for future in futures):  # left early with runs under way
                self._end_workers()


class DaskCluster:
    """Runs the tasks on the Dask cluster whose scheduler is at ``address`` (``tcp://HOST:8786``).

    Needs ``dask.distributed`` (the ``neurona[cluster]`` extra) here and neurona on every worker.
    Each worker caps its BLAS threads so that its threads × the worker threads on its host ≤ its cores.
    """

    def __init__(self, address: str, timeout: float = 20):
        if not isinstance(address, str) or not address.strip():
            raise ValueError(f"scheduler must be an address such as tcp://HOST:8786. Received: scheduler={address!r}")
        self.address, self.timeout, self.client, self.workers = address, timeout, None, 0
        self.description = f"on the Dask cluster at {address}"
        self.in_process, self.shares_files = False, False  # workers may be other machines

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError:
            raise ValueError(f"a Dask scheduler was given ({self.address}) but dask.distributed is not installed; "
                             f"install it with  {CLUSTER_EXTRA}") from None
        try:
            self.client = Client(self.address, timeout=self.timeout)
        except OSError as exc:
            raise OSError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        if not self.client.scheduler_info(n_workers=-1)["workers"]:
            try:
                self.client.wait_for_workers(1, timeout=self.timeout)
            except TimeoutError:
                self.client.close()
                raise OSError(f"the Dask scheduler at {self.address} has no workers (waited {self.timeout:g} s); "
                              "start some with  dask worker " + self.address) from None
        per_host = _threads_per_host(self.client.scheduler_info(n_workers=-1)["workers"].values())
        self.workers = sum(per_host.values())
        self.client.run(_limit_on_dask_worker, per_host)
        return self

    def __exit__(self, *exc_info):
        self.client.close()
        return False

    def run(self, fn, tasks):
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        futures = {self.client.submit(call, fn, task, key=f"neurona-{task.key}-{token}", pure=False): task
                   for task in tasks}
        try:
            for future in as_completed(futures):
                yield _outcome_of(future, futures[future])
        finally:
            self.client.cancel([f for f in futures if not f.done()])


def _threads_per_host(workers) -> dict:
    per_host = {}
    for info in workers:
        host = info.get("host") or info.get("address", "")
        per_host[host] = per_host.get(host, 0) + int(info.get("nthreads") or 1)
    return per_host


def _limit_on_dask_worker(per_host: dict, dask_worker=None) -> int:
    threads = blas_threads(per_host.get(dask_worker.address.split("://")[-1].rsplit(":", 1)[0], 1)
                           if dask_worker is not None else 1)
    limit_blas_threads(threads)
    return threads


def _outcome_of(future, task: Task) -> Outcome:
    """The Outcome a future holds; a lost worker or a broken pool becomes that task's error."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - e.g. BrokenProcessPool, distributed.KilledWorker
        return Outcome(task, error=f"{type(exc).__name__}: {exc}")


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The Dask scheduler to use: ``scheduler`` if given, else $DASK_SCHEDULER_ADDRESS, else None (local)."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


def make_executor(jobs: int | None = 1, scheduler: str | None = None):
    """The executor for ``--jobs`` / ``--scheduler``: a Dask cluster when a scheduler is given (or set in
    $DASK_SCHEDULER_ADDRESS), else ``jobs`` local processes (None: one per usable core), in-process for 1."""
    address = scheduler_address(scheduler)
    if address:
        return DaskCluster(address)
    jobs = usable_cores() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive int. Received: jobs={jobs!r}")
    return InProcess() if jobs == 1 else LocalProcesses(jobs)
