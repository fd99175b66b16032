"""The practical's CIFAR-10 exercises 3, 4, 5 and 8 and the linear baselines: a Config and a run() for each.

Every exercise trains on the first ``n_train`` training images, standardized with their own mean and
std, and tests on the whole 10,000-image test set after every epoch. Each run writes a figure of
accuracy and loss against epochs (train and test), and each exercise a comparison figure,
``history.csv`` and ``summary.json``. Learning rates follow the practical's convention: ``BGD``
steps by lr × the batch-*summed* gradient (see the report's section on learning rates).

Each exercise lists its runs (every one with its seed) and trains them as tasks on one executor:
in this process (``jobs=1``), in local worker processes side by side (``jobs=N``) or on a Dask
cluster (``scheduler=``), with the same outputs (see cifar.book).

    neurona run ex3 | ex4 | ex5 | ex8 | linear   [--quick] [--jobs N] [--<field> value ...]
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from .book import Exercise, run_exercise
from .ex8 import EX8, LINEAR, Ex8Config, LinearConfig, run_ex8, run_linear
from .output import finish
from .._common import records_outputs
from .practical import EXERCISES, PRACTICAL
from .runs import quick_config, settings

__all__ = ["PRACTICAL", "EXERCISES", "Ex3Config", "Ex4Config", "Ex5Config", "Ex8Config", "LinearConfig",
           "run_ex3", "run_ex4", "run_ex5", "run_ex8", "run_linear", "experiment"]

def _two_layer(hidden: int, hidden_activation: str, output_activation: str, factor: float) -> tuple:
    return ((hidden, hidden_activation, factor), (10, output_activation, factor))


# ----------------------------------------------------------------------------- Ex. 3
@dataclass(frozen=True)
class Ex3Config:
    """Ex. 3: 3072–100 (sigmoid)–10 (linear) with hand-derived gradients (neurona.reference), MSE/SVM/CCE + L2.

    The report's listing (lr 1e-7, batch 256, 100 epochs) does not learn; its Fig. 8 needs the Ex. 4
    settings, which are the defaults here: BGD-style summed gradients, lr 1e-3, batch 128, lam 1e-3,
    50 epochs. MSE on a linear output diverges at lr 1e-3 (summed), so it uses ``mse_lr``.
    """

    n_train: int = 5000
    n_test: int = 10000
    hidden: int = 100
    losses: tuple = ("mse", "svm", "cce")
    lr: float = 1e-3
    mse_lr: float = 2e-4
    batch_size: int = 128
    epochs: int = 50
    lam: float = 1e-3
    factor: float = 1e-2
    sum_gradients: bool = True
    listing: bool = True
    listing_lr: float = 1e-7
    listing_batch_size: int = 256
    listing_epochs: int = 100
    seed: int = 0
    download: bool = True

    @classmethod
    def quick(cls):
        return quick_config(cls, listing_epochs=3)


def _ex3_runs(config: Ex3Config) -> dict:
    """{run key: settings}: one run per loss, then the report's listing as printed (to show that it does not learn)."""
    arch = _two_layer(config.hidden, "sigmoid", "linear", config.factor)
    optimizer = "bgd" if config.sum_gradients else "sgd"
    runs = {loss: settings("reference", arch, loss, config.mse_lr if loss == "mse" else config.lr, config.batch_size,
                           config.epochs, config.lam, config.seed, optimizer) for loss in config.losses}
    if config.listing:
        runs["mse-listing"] = settings("reference", arch, "mse", config.listing_lr, config.listing_batch_size,
                                       config.listing_epochs, config.lam, config.seed, optimizer)
    return runs


def _ex3_finish(config: Ex3Config, out, book, started: float) -> dict:
    notes = [
        "Trained with neurona.reference: plain NumPy functions with hand-derived gradients, no framework.",
        f"Settings follow the practical's Ex. 4 (lr {config.lr:g} on the batch-summed gradient, batch "
        f"{config.batch_size}, lam {config.lam:g}, {config.epochs} epochs): the report's Ex. 3 listing "
        "(lr 1e-7, batch 256, 100 epochs) does not learn (run mse-listing measures it), so Fig. 8 was evidently "
        "made with other settings.",
        f"MSE uses lr {config.mse_lr:g}: with a linear output it diverges at lr 1e-3 and 5e-4 (summed gradient); "
        "at 3e-4 its loss stays finite but oscillates; 2e-4 is the largest of 1e-3, 5e-4, 3e-4, 2e-4, 1e-4 whose "
        "loss falls steadily (a sweep made while choosing the defaults: docs/report.md).",
    ]
    return finish(out, "ex3", config, book, started, practical=PRACTICAL["ex3"], notes=notes,
                  comparisons={"comparison": (config.losses, "Ex. 3: MSE, SVM and CCE (plain NumPy)")})


EX3 = Exercise("ex3", _ex3_runs, _ex3_finish)


@records_outputs
def run_ex3(config: Ex3Config, out_dir, verbose: int = 1, overwrite: bool = False, resume: bool = False,
            jobs: int = 1, scheduler: str | None = None) -> dict:
    """Train the Ex. 3 network once per loss with the plain-NumPy reference; return the summary."""
    return run_exercise(EX3, config, out_dir, verbose, overwrite, resume, jobs, scheduler)


# ----------------------------------------------------------------------------- Ex. 4
@dataclass(frozen=True)
class Ex4Config:
    """Ex. 4: the Ex. 3 network with CCE, on the framework: BGD(lr=1e-3, bs=128), L2(1e-3), 50 epochs.

    ``compare_conventions`` adds SGD(lr) (the mean-gradient reading of the same number) and
    SGD(lr × batch_size) (the same step as BGD), which the report uses to show the lr convention.
    """

    n_train: int = 5000
    n_test: int = 10000
    hidden: int = 100
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 50
    lam: float = 1e-3
    factor: float = 1e-2
    compare_conventions: bool = True
    seed: int = 0
    download: bool = True

    @classmethod
    def quick(cls):
        return quick_config(cls)


def _ex4_runs(config: Ex4Config) -> dict:
    """{run key: settings}: BGD, then (to compare the conventions) SGD at lr and at lr × batch size."""
    arch = _two_layer(config.hidden, "sigmoid", "linear", config.factor)
    variants = {"bgd": (config.lr, "bgd")}
    if config.compare_conventions:
        variants.update({"sgd-same-lr": (config.lr, "sgd"), "sgd-lr-x-batch": (config.lr * config.batch_size, "sgd")})
    return {key: settings("framework", arch, "cce", lr, config.batch_size, config.epochs, config.lam, config.seed,
                          optimizer) for key, (lr, optimizer) in variants.items()}


def _ex4_finish(config: Ex4Config, out, book, started: float) -> dict:
    notes = [
        "Trained with the framework: models.Network, Dense(100, sigmoid, factor=1e-2), Dense(10, linear, "
        f"factor=1e-2), losses.CCE(), optimizers.BGD(lr={config.lr:g}, bs={config.batch_size}), "
        f"regularizers.L2({config.lam:g}).",
        f"sgd-same-lr: SGD(lr={config.lr:g}) steps by lr × the mean gradient, the literal reading of the "
        f"practical's number; sgd-lr-x-batch: SGD(lr={config.lr * config.batch_size:g}) takes the same step as BGD.",
    ]
    comparisons = {"comparison": (("bgd", "sgd-same-lr", "sgd-lr-x-batch"),
                                  "Ex. 4: the practical's lr convention (BGD) against SGD")}
    return finish(out, "ex4", config, book, started, practical=PRACTICAL["ex4"], notes=notes,
                  comparisons=comparisons if config.compare_conventions else {})


EX4 = Exercise("ex4", _ex4_runs, _ex4_finish)


@records_outputs
def run_ex4(config: Ex4Config, out_dir, verbose: int = 1, overwrite: bool = False, resume: bool = False,
            jobs: int = 1, scheduler: str | None = None) -> dict:
    """Train Ex. 4 with BGD (and, to compare, SGD at lr and at lr × batch size); return the summary."""
    return run_exercise(EX4, config, out_dir, verbose, overwrite, resume, jobs, scheduler)


# ----------------------------------------------------------------------------- Ex. 5
@dataclass(frozen=True)
class Ex5Config:
    """Ex. 5: ReLU hidden layer with a sigmoid or a linear output, MSE and CCE: four runs.

    The practical's settings are the defaults (lr 1e-6 on the batch-summed gradient, batch 128,
    lam 0.1, 50 epochs, 10,000 training images). With them the network barely moves from its
    initialisation, so every combination is also trained at ``alt_lr`` ("-alt" runs; 0 turns them
    off), and at ``alt_lr`` with ``alt_lam`` ("-lam" runs; 0 turns them off).
    """

    n_train: int = 10000
    n_test: int = 10000
    hidden: int = 100
    outputs: tuple = ("sigmoid", "linear")
    losses: tuple = ("mse", "cce")
    lr: float = 1e-6
    alt_lr: float = 1e-4
    alt_lam: float = 1e-3
    batch_size: int = 128
    epochs: int = 50
    lam: float = 0.1
    factor: float = 1e-2
    engine: str = "framework"
    seed: int = 0
    download: bool = True

    @classmethod
    def quick(cls):
        return quick_config(cls)


def _ex5_variants(config: Ex5Config) -> list:
    """(key suffix, lr, lam) of each set of four runs: the practical's, then the alternatives that are on."""
    variants = [("", config.lr, config.lam)]
    if config.alt_lr > 0:
        variants.append(("-alt", config.alt_lr, config.lam))
        if config.alt_lam > 0:
            variants.append(("-lam", config.alt_lr, config.alt_lam))
    return variants


def _ex5_keys(config: Ex5Config, suffix: str) -> list:
    return [f"relu-{output}-{loss}{suffix}" for output in config.outputs for loss in config.losses]


def _ex5_runs(config: Ex5Config) -> dict:
    """{run key: settings}: the four combinations at the practical's settings, then at the alternatives."""
    runs = {}
    for suffix, lr, lam in _ex5_variants(config):
        for output in config.outputs:
            arch = _two_layer(config.hidden, "relu", output, config.factor)
            for loss in config.losses:
                runs[f"relu-{output}-{loss}{suffix}"] = settings(config.engine, arch, loss, lr, config.batch_size,
                                                                 config.epochs, lam, config.seed)
    return runs


def _ex5_finish(config: Ex5Config, out, book, started: float) -> dict:
    comparisons = {f"comparison{suffix}": (tuple(_ex5_keys(config, suffix)),
                                           f"Ex. 5: ReLU hidden layer, lr {lr:g} (summed), lam {lam:g}")
                   for suffix, lr, lam in _ex5_variants(config)}
    notes = [f"Defaults are the practical's: lr {config.lr:g} on the batch-summed gradient (BGD), batch "
             f"{config.batch_size}, lam {config.lam:g}, {config.epochs} epochs, {config.n_train} training images."]
    if config.alt_lr > 0:
        notes.append(f"Runs ending in -alt use lr {config.alt_lr:g}, everything else the same: at the practical's lr "
                     f"the weights barely move in {config.epochs} epochs.")
    if config.alt_lr > 0 and config.alt_lam > 0:
        notes.append(f"Runs ending in -lam use lr {config.alt_lr:g} and lam {config.alt_lam:g}: with lam "
                     f"{config.lam:g} on ΣW² (the L2 of the practical's text, added to the mean loss) the penalty "
                     "is most of the objective, which holds the sigmoid outputs back.")
    return finish(out, "ex5", config, book, started, practical=PRACTICAL["ex5"], notes=notes, comparisons=comparisons)


EX5 = Exercise("ex5", _ex5_runs, _ex5_finish)


@records_outputs
def run_ex5(config: Ex5Config, out_dir, verbose: int = 1, overwrite: bool = False, resume: bool = False,
            jobs: int = 1, scheduler: str | None = None) -> dict:
    """Train ReLU + sigmoid/linear outputs with MSE and CCE: the practical's settings, then the alternatives."""
    return run_exercise(EX5, config, out_dir, verbose, overwrite, resume, jobs, scheduler)


_EXPERIMENTS = {
    "ex3": (Ex3Config, run_ex3, EX3), "ex4": (Ex4Config, run_ex4, EX4), "ex5": (Ex5Config, run_ex5, EX5),
    "ex8": (Ex8Config, run_ex8, EX8), "linear": (LinearConfig, run_linear, LINEAR),
}


def experiment(name: str) -> SimpleNamespace:
    """The exercise ``name`` ("ex3", "ex4", "ex5", "ex8", "linear") as an object with ``.Config`` and ``.run``
    (and ``.exercise``, its runs and outputs, which ``neurona reproduce`` schedules run by run)."""
    if name not in _EXPERIMENTS:
        raise ValueError(f"cifar.experiment: name must be one of {', '.join(_EXPERIMENTS)}. Received: name={name!r}")
    config_cls, run, exercise = _EXPERIMENTS[name]
    return SimpleNamespace(name=name, Config=config_cls, run=run, practical=PRACTICAL[name], exercise=exercise)
