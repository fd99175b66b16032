"""One CIFAR-10 run of Ex. 4 or Ex. 8 from a flat dict of parameters, for ``neurona sweep ex4`` / ``ex8``.

Each worker loads (and caches, once per process) the images it needs; CIFAR-10 must be found there
(NEURONA_DATA or the user cache): a sweep never downloads from every worker at once.
"""

from __future__ import annotations

from ..cifar import data as cifar_data
from ..cifar.runs import settings, train
from .._common import history_stats

_COMMON = {"n_train": 5000, "n_test": 10000, "lr": 1e-3, "batch_size": 128, "epochs": 50, "reg": 1e-3,
           "loss": "cce", "seed": 0}
ALIASES = {"lam": "reg"}  # reg: the L2 strength (fit's reg=L2(reg)); lam, the exercises' name for it, also works
# Ex. 4: 3072-hidden(sigmoid)-10(linear), factor 1e-2; Ex. 8: 3072-hidden-hidden2(sigmoid)-10(linear).
DEFAULTS = {"ex4": {**_COMMON, "hidden": 100, "factor": 1e-2},
            "ex8": {**_COMMON, "hidden": 100, "hidden2": 100, "factor": 1e-2, "lr": 1e-4, "batch_size": 64,
                    "epochs": 100}}


def _layers(params: dict) -> tuple:
    if "hidden2" in params:
        return ((params["hidden"], "sigmoid", params["factor"]), (params["hidden2"], "sigmoid", params["factor"]),
                (10, "linear", params["factor"]))
    return (params["hidden"], "sigmoid", params["factor"]), (10, "linear", params["factor"])


def sweep_run(params: dict) -> dict:
    """Train one run on the framework (BGD, L2); its final and best train/test metrics and epochs."""
    data = cifar_data.prepare(params["n_train"], params["n_test"], download=False)
    run = settings("framework", _layers(params), params["loss"], params["lr"], params["batch_size"],
                   params["epochs"], params["reg"], params["seed"])
    record = train(data, run, "sweep", verbose=0)
    stats = history_stats(record["history"])
    return {**stats, "stopped": record["stopped"]} if record.get("stopped") else stats


def sweep_spec(experiment: str) -> dict:
    """What ``neurona sweep ex4`` / ``ex8`` may vary, with defaults (and other names), and the metric it plots."""
    return {"defaults": DEFAULTS[experiment], "aliases": ALIASES, "metric": "best_val_accuracy", "run": sweep_run}
