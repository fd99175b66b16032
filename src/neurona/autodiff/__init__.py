"""The autodiff engine: Tensor, its primitive ops, the backward pass and gradient checking (NumPy only)."""

from .conv import avg_pool2d, conv2d, max_pool2d
from .gradcheck import GradcheckError, gradcheck
from .graph import is_grad_enabled, no_grad, topological_order, unbroadcast
from .normalization import batch_norm
from .ops import concat, maximum
from .tensor import Tensor

__all__ = ["Tensor", "concat", "maximum", "conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "no_grad",
           "is_grad_enabled", "gradcheck", "GradcheckError", "topological_order", "unbroadcast"]
