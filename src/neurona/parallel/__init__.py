"""Many independent runs, one way: describe them as Tasks, and an executor runs them here or on a cluster.

    from neurona.parallel import Task, make_executor
    tasks = [Task(f"seed{s}", {"seed": s}) for s in range(8)]
    with make_executor(jobs=2) as executor:          # or jobs=1, or scheduler="tcp://host:8786"
        for outcome in executor.run(train_one, tasks):   # as they finish, in any order
            ...                                          # outcome.task, .result, .error, .seconds, .host

Each task carries its own seed, so results do not depend on which worker ran it or when.
This package imports NumPy and the standard library only; Dask is imported when a scheduler is given.
"""

from .executors import (DaskCluster, InProcess, LocalProcesses, Outcome, Task, blas_threads, make_executor,
                        scheduler_address, usable_cores)
from .progress import Progress

__all__ = ["Task", "Outcome", "InProcess", "LocalProcesses", "DaskCluster", "make_executor", "scheduler_address",
           "blas_threads", "usable_cores", "Progress"]
