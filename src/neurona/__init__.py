"""neurona: a readable deep-learning framework on NumPy — autodiff you can see, a Keras-like network library."""

from .autodiff import GradcheckError, Tensor, concat, gradcheck, maximum, no_grad

__version__ = "0.1.0"

__all__ = ["Tensor", "concat", "maximum", "no_grad", "gradcheck", "GradcheckError", "__version__"]
