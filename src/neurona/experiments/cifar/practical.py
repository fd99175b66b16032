"""The practical's reported CIFAR-10 test accuracies: constants quoted from its report, each with its source."""

# The practical's reported test accuracies (constants, read from its report; "measure" says whether
# the number is the value after the last epoch or the highest reached).
PRACTICAL = {
    "ex3": {
        "mse": {"accuracy": 0.30, "measure": "final", "source": "report §3, Fig. 8: MSE equals SVM at 50 epochs, 30%"},
        "svm": {"accuracy": 0.30, "measure": "final", "source": "report §3, Fig. 8: MSE equals SVM at 50 epochs, 30%"},
        "cce": {"accuracy": 0.38, "measure": "peak", "source": "report §3, Fig. 8: CCE reaches a maximum of 38% in 50 epochs"},
    },
    "ex4": {
        "bgd": {"accuracy": 0.38, "measure": "final", "peak": 0.40,
                "source": "report §4, Fig. 9 (≈ 38% at epoch 50, peak ≈ 40%, read off the figure)"},
    },
    "ex5": {
        "relu-sigmoid-mse": {"accuracy": 0.32, "measure": "peak", "source": "report §5: ReLU+Sigmoid, MSE reached 32%"},
        "relu-sigmoid-cce": {"accuracy": 0.27, "measure": "peak", "source": "report §5: ReLU+Sigmoid, CCE 27%"},
        "relu-linear-mse": {"accuracy": 0.35, "measure": "peak", "source": "report §5: ReLU+Linear, MSE reached 35%"},
        "relu-linear-cce": {"accuracy": 0.25, "measure": "peak", "source": "report §5: ReLU+Linear, CCE 25%"},
    },
    "ex8": {
        loss: {"accuracy": 0.33, "measure": "peak", "source": "report §8, Fig. 23: a maximum of 33% for MSE, SVM and CCE"}
        for loss in ("mse", "svm", "cce")
    },
    "linear": {
        "svm": {"accuracy": 0.25, "measure": "final", "source": "report §8 (TP1 Ex. 5, Fig. 25): ≈ 25% after 1000 epochs"},
        "cce": {"accuracy": 0.23, "measure": "final", "source": "report §8 (TP1 Ex. 5, Fig. 25): ≈ 23% after 1000 epochs"},
    },
}
EXERCISES = tuple(PRACTICAL)
