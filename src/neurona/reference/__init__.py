"""The practical's Exercises 3-5 without the framework: a two-layer network as plain NumPy functions with hand-derived gradients.

Graph (figure 6 of the practical):
    X -> @W1 -> +b1 -> hidden act -> @W2 -> +b2 -> output act -> loss(., y)  (+ L2 penalty)

Conventions:
    * Kernels are stored (in, out), so a layer reads ``X @ W + b``.
    * Losses return the *mean* over the N samples of the batch and dS = dloss/dscores.
      MSE is summed over the C outputs against one-hot targets: (1/N) sum_ij (S_ij - Y_ij)^2.
      SVM is the multiclass hinge with delta = 1. CCE is softmax cross-entropy on raw scores.
    * L2 penalty: lam * (sum W1^2 + sum W2^2), biases excluded, no factor 1/2 (gradient 2 lam W).
    * train(sum_gradients=True) steps by lr * n * grad(mean loss + penalty), n = this batch's
      size: the practical applied lr to the batch-summed gradient. sum_gradients=False steps by
      lr * grad. The penalty is inside the scaled gradient, so True is just lr -> lr * n
      (see neurona.reference.training).
    * float32 by default; pass dtype=np.float64 to init_params / train for gradient checks.

Example:
    >>> from neurona.reference import init_params, loss_and_grads
    >>> params = init_params(20, 8, 3, seed=0, dtype=np.float64)
    >>> value, grads = loss_and_grads(params, X, y, loss="cce", lam=1e-3)
"""

from neurona.reference.functions import (
    ACTIVATIONS,
    LOSSES,
    cce_loss,
    get_activation,
    get_loss,
    l2_penalty,
    linear,
    linear_grad,
    mse_loss,
    one_hot,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    svm_loss,
)
from neurona.reference.network import accuracy, backward, forward, init_params, loss_and_grads
from neurona.reference.training import train

__all__ = [
    "ACTIVATIONS", "LOSSES", "accuracy", "backward", "cce_loss", "forward", "get_activation", "get_loss",
    "init_params", "l2_penalty", "linear", "linear_grad", "loss_and_grads", "mse_loss", "one_hot", "relu",
    "relu_grad", "sigmoid", "sigmoid_grad", "softmax", "svm_loss", "train",
]
