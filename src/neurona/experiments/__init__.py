"""One module per exercise of the practical: a ``Config`` dataclass of hyperparameters and ``run(config, out_dir)``.

Each module defines:
    Config          a dataclass; its defaults are the practical's settings.
    Config.quick()  a reduced configuration that finishes in seconds to a minute.
    run(config, out_dir, verbose=1) -> dict
                    trains, writes figures, history.csv and summary.json into out_dir, returns the summary.
"""

from __future__ import annotations

import importlib

# name → (module, one-line description); modules are imported only when asked for.
REGISTRY = {
    "xor": ("neurona.experiments.xor", "Ex. 6: XOR with two architectures (plain and input-concatenated)"),
    "parity": ("neurona.experiments.parity", "Ex. 7: N-bit parity, sweeping N and the hidden width N'"),
    "ex3": ("neurona.experiments.cifar", "Ex. 3: 3072-100-10 in plain NumPy (MSE, SVM, CCE)"),
    "ex4": ("neurona.experiments.cifar", "Ex. 4: the Ex. 3 network with CCE"),
    "ex5": ("neurona.experiments.cifar", "Ex. 5: ReLU hidden layer, sigmoid or linear output, MSE and CCE"),
    "ex8": ("neurona.experiments.cifar", "Ex. 8: 3072-100-100-10 with the framework (MSE, SVM, CCE)"),
    "linear": ("neurona.experiments.cifar", "Linear SVM and Softmax classifiers on CIFAR-10"),
    "cifar-best": ("neurona.experiments.cifar_best", "The best plain MLP on CIFAR-10 within 10 minutes"),
    "cifar-cnn": ("neurona.experiments.cifar_cnn", "A small CNN (conv-BN-ReLU-pool blocks) on CIFAR-10 within 15 minutes"),
}


def names() -> list:
    return list(REGISTRY)


def get(name: str):
    """The experiment's module (it has Config and run); an unknown name lists the valid ones."""
    if name not in REGISTRY:
        raise ValueError(f"Unknown experiment: {name!r}. Valid experiments: {', '.join(REGISTRY)}")
    module = importlib.import_module(REGISTRY[name][0])
    return module.experiment(name) if hasattr(module, "experiment") else module
