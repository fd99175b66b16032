"""Exercise 8 (two hidden layers, with one-hidden-layer and linear baselines) and the linear classifiers."""

from __future__ import annotations

from dataclasses import dataclass

from .book import Exercise, run_exercise
from .output import finish
from .._common import records_outputs
from .practical import PRACTICAL
from .runs import quick_config, settings


# ----------------------------------------------------------------------------- Ex. 8
@dataclass(frozen=True)
class Ex8Config:
    """Ex. 8: 3072–100–100–10 (sigmoid, sigmoid, linear) on the framework, as the practical's listing.

    Factors 1e-2/1e-3/1e-2, BGD(lr=1e-4, bs=64), L2(1e-3), 100 epochs; MSE, SVM and CCE.
    ``baselines`` also trains, under the same settings, the Ex. 3 network (one hidden layer) and a
    linear classifier (no hidden layer), for the depth comparison the practical draws. With the
    listing's initialisation the network starts on a plateau that lr 1e-4 leaves slowly (CCE not
    within 100 epochs), so the two-hidden-layer network is also trained at ``alt_lr`` ("-alt" runs;
    0 turns them off).
    """

    n_train: int = 5000
    n_test: int = 10000
    hidden: tuple = (100, 100)
    factors: tuple = (1e-2, 1e-3, 1e-2)
    losses: tuple = ("mse", "svm", "cce")
    lr: float = 1e-4
    batch_size: int = 64
    epochs: int = 100
    lam: float = 1e-3
    alt_lr: float = 1e-3
    baselines: bool = True
    seed: int = 0
    download: bool = True

    @classmethod
    def quick(cls):
        return quick_config(cls)


def _ex8_architectures(config: Ex8Config) -> dict:
    if len(config.factors) != len(config.hidden) + 1:
        raise ValueError(f"ex8: factors needs one value per layer ({len(config.hidden) + 1}). "
                         f"Received: factors={config.factors}")
    deep = tuple((units, "sigmoid", f) for units, f in zip(config.hidden, config.factors)) + \
        ((10, "linear", config.factors[-1]),)
    archs = {"": deep}
    if config.baselines:
        archs["1hidden-"] = ((config.hidden[0], "sigmoid", config.factors[0]), (10, "linear", config.factors[-1]))
        archs["linear-"] = ((10, "linear", config.factors[-1]),)
    return archs


def _losses_for(prefix: str, config: Ex8Config) -> tuple:
    """The linear baseline is the practical's linear SVM and Softmax: MSE on 3072 raw inputs diverges at this lr."""
    return tuple(loss for loss in config.losses if loss != "mse") if prefix == "linear-" else config.losses


def _ex8_runs(config: Ex8Config) -> dict:
    """{run key: settings}: the listing's network per loss, then its -alt runs, then the baselines."""
    archs, runs = _ex8_architectures(config), {}
    for prefix, arch in archs.items():
        for loss in _losses_for(prefix, config):
            runs[prefix + loss] = settings("framework", arch, loss, config.lr, config.batch_size, config.epochs,
                                           config.lam, config.seed)
        if prefix == "" and config.alt_lr > 0:
            for loss in config.losses:
                runs[f"{loss}-alt"] = settings("framework", arch, loss, config.alt_lr, config.batch_size,
                                               config.epochs, config.lam, config.seed)
    return runs


def _ex8_comparisons(config: Ex8Config) -> dict:
    comparisons = {"comparison": (config.losses, "Ex. 8: 3072-100-100-10 with MSE, SVM and CCE")}
    if config.alt_lr > 0:
        comparisons["comparison-alt"] = (tuple(f"{loss}-alt" for loss in config.losses),
                                         f"Ex. 8 at lr {config.alt_lr:g} (summed gradient)")
    if config.baselines:
        comparisons["depth"] = (tuple(p + loss for p in _ex8_architectures(config) for loss in _losses_for(p, config)),
                                "Ex. 8 against one hidden layer (Ex. 3's network) and no hidden layer")
    return comparisons


def _ex8_notes(config: Ex8Config) -> list:
    notes = ["Trained with the framework, as the practical's listing: factors "
             f"{'/'.join(f'{f:g}' for f in config.factors)}, BGD(lr={config.lr:g}, bs={config.batch_size}), "
             f"L2({config.lam:g}), {config.epochs} epochs."]
    if config.alt_lr > 0:
        notes.append(f"Runs ending in -alt use lr {config.alt_lr:g}, everything else the same: the second layer's "
                     "N(0, 1)·1e-3 weights give almost the same second hidden layer output for every image, a "
                     f"plateau that lr {config.lr:g} leaves slowly.")
    if config.baselines:
        notes.append("Runs 1hidden-* (3072-100-10, Ex. 3's network) and linear-* (3072-10) use the same "
                     "settings, so only the depth differs. The linear baseline is the practical's linear SVM and "
                     "Softmax: with MSE a linear layer on the 3072 inputs diverges at this lr.")
    return notes


def _ex8_finish(config: Ex8Config, out, book, started: float) -> dict:
    depth = {prefix.rstrip("-") or "2hidden": {loss: book.results[prefix + loss] for loss in _losses_for(prefix, config)}
             for prefix in _ex8_architectures(config)}
    return finish(out, "ex8", config, book, started, practical=PRACTICAL["ex8"], notes=_ex8_notes(config),
                  comparisons=_ex8_comparisons(config), extra={"depth_table": _depth_table(depth)})


EX8 = Exercise("ex8", _ex8_runs, _ex8_finish)


@records_outputs
def run_ex8(config: Ex8Config, out_dir, verbose: int = 1, overwrite: bool = False, resume: bool = False,
            jobs: int = 1, scheduler: str | None = None) -> dict:
    """Train Ex. 8 with each loss (and its -alt runs and baselines); return the summary."""
    return run_exercise(EX8, config, out_dir, verbose, overwrite, resume, jobs, scheduler)


def _depth_table(depth: dict) -> list:
    """Rows {architecture, loss, final, peak} for the depth comparison."""
    return [{"architecture": name, "loss": loss, "final_val_accuracy": entry.get("final_val_accuracy"),
             "best_val_accuracy": entry.get("best_val_accuracy")}
            for name, by_loss in depth.items() for loss, entry in by_loss.items()]


# ----------------------------------------------------------------------------- linear baselines
@dataclass(frozen=True)
class LinearConfig:
    """The practical's linear SVM and Softmax classifiers (TP1): a Network with one Dense(10) layer.

    Defaults: BGD(lr=1e-4, bs=64) (= mean-gradient lr 6.4e-3), L2(1e-3), 100 epochs, weights
    N(0, 1)·1e-2: the settings of Ex. 8, so the three depths compare directly.
    """

    n_train: int = 5000
    n_test: int = 10000
    losses: tuple = ("svm", "cce")
    lr: float = 1e-4
    batch_size: int = 64
    epochs: int = 100
    lam: float = 1e-3
    factor: float = 1e-2
    seed: int = 0
    download: bool = True

    @classmethod
    def quick(cls):
        return quick_config(cls)


def _linear_runs(config: LinearConfig) -> dict:
    return {loss: settings("framework", ((10, "linear", config.factor),), loss, config.lr, config.batch_size,
                           config.epochs, config.lam, config.seed) for loss in config.losses}


def _linear_finish(config: LinearConfig, out, book, started: float) -> dict:
    notes = [f"A Network with a single Dense(10, linear, factor={config.factor:g}) on the 3072 pixels: the "
             f"practical's TP1 linear classifiers. BGD(lr={config.lr:g}, bs={config.batch_size}), "
             f"L2({config.lam:g}), {config.epochs} epochs (the practical ran 1000 epochs with its own settings)."]
    return finish(out, "linear", config, book, started, practical=PRACTICAL["linear"], notes=notes,
                  comparisons={"comparison": (config.losses, "Linear classifiers: SVM and Softmax (CCE)")})


LINEAR = Exercise("linear", _linear_runs, _linear_finish)


@records_outputs
def run_linear(config: LinearConfig, out_dir, verbose: int = 1, overwrite: bool = False, resume: bool = False,
               jobs: int = 1, scheduler: str | None = None) -> dict:
    """Train the linear classifiers; return the summary."""
    return run_exercise(LINEAR, config, out_dir, verbose, overwrite, resume, jobs, scheduler)
