"""neurona: a readable deep-learning framework on NumPy — autodiff you can see, a Keras-like network library."""

from . import (activations, callbacks, initializers, layers, losses, metrics, models, optimizers, regularizers,
               schedules, viz)
from .autodiff import GradcheckError, Tensor, concat, gradcheck, maximum, no_grad

__version__ = "0.1.0"

__all__ = ["Tensor", "concat", "maximum", "no_grad", "gradcheck", "GradcheckError", "activations", "callbacks",
           "initializers", "layers", "losses", "metrics", "models", "optimizers", "regularizers", "schedules", "viz",
           "__version__"]
