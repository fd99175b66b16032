"""Tensor: a NumPy array that remembers how it was computed, so it can be differentiated."""

from __future__ import annotations

import numbers

import numpy as np

from . import graph

DEFAULT_DTYPE = np.float32
_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def _as_float_array(data, dtype, what: str = "data") -> np.ndarray:
    """Validate ``data`` and return it as a floating ndarray (no copy when it already is one)."""
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"Tensor: dtype must be float16, float32 or float64. Received: dtype={dtype!r}") from exc
        if dtype not in _FLOAT_DTYPES:
            raise TypeError(f"Tensor: dtype must be float16, float32 or float64. Received: dtype={dtype}")
    if isinstance(data, (str, bytes)):
        raise TypeError(f"Tensor: {what} must be numeric. Received: {data!r} ({type(data).__name__})")
    try:
        array = np.asarray(data)
    except ValueError as exc:  # ragged nested lists
        raise TypeError(f"Tensor: {what} must be a rectangular numeric array. Received: {data!r:.80}") from exc
    kind = array.dtype.kind
    if kind not in "biuf":
        detail = {"c": "complex numbers are not supported", "U": "strings", "S": "bytes", "O": "Python objects"}
        raise TypeError(
            f"Tensor: {what} must be real numbers (bool, int or float). Received dtype={array.dtype}"
            f" ({detail.get(kind, 'not numeric')}): {data!r:.80}"
        )
    if dtype is None:  # a float ndarray keeps its dtype; lists, Python numbers, ints and bools get the default
        keeps = kind == "f" and isinstance(data, (np.ndarray, np.generic))
        dtype = array.dtype if keeps else DEFAULT_DTYPE
    return array if array.dtype == dtype else _cast(array, dtype, what)


def _cast(array: np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    """``array`` as ``dtype``; finite values too large for it are refused instead of becoming inf."""
    dtype, kind = np.dtype(dtype), array.dtype.kind
    largest = np.finfo(array.dtype).max if kind == "f" else np.iinfo(array.dtype).max if kind in "iu" else 1
    limit = float(np.finfo(dtype).max)
    # Nothing can overflow: a plain cast (for a scalar, e.g. a lifted 0.5, compared directly: 3x faster than the check).
    if float(largest) <= limit or (array.ndim == 0 and abs(float(array)) <= limit):
        return array.astype(dtype)
    with np.errstate(over="ignore"):  # checked just below, with a message that says what to do
        out = array.astype(dtype)
    overflowed = np.isinf(out) & np.isfinite(array)
    if overflowed.any():
        raise ValueError(f"Tensor: {what} has values too large for {dtype.name} (largest {np.finfo(dtype).max:.4g}). "
                         f"Received e.g. {array[overflowed][0].item()!r}; use dtype=float64, or rescale the data")
    return out


class Tensor:
    """An n-dimensional array of floats with reverse-mode automatic differentiation.

    Every operation on Tensors records a node in a computational graph — the same
    graphs the practical draws by hand. ``backward()`` walks that graph from the
    output to the inputs and leaves dOutput/dNode in each node's ``.grad``.

    Args:
        data: numbers, nested lists or an ndarray. Lists, Python numbers, booleans and
            integers become the default float dtype (float32); a float ndarray keeps its
            dtype and is not copied.
        requires_grad: whether gradients should flow to (and be stored in) this tensor.
        name: a label, shown when the graph is drawn.
        dtype: float16, float32 or float64 to force a dtype.

    Comparisons (``==``, ``<``, ...) are elementwise and return bool ndarrays: masks, with no gradient.
    ``bool(t)`` needs exactly one element. Tensors hash by identity. Data an op recorded is read-only.

    Example:
        >>> w = Tensor([1.45, -0.35], requires_grad=True, name="w")
        >>> x = Tensor([2.8, -1.8], name="x")
        >>> y = (w * x).sum().sigmoid()
        >>> y.backward()
        >>> w.grad  # dy/dw
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_parents", "_seen", "_op", "_backward", "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__  # identity, as before __eq__ was defined: Tensors stay usable as dict keys and in sets

    def __init__(self, data, requires_grad: bool = False, name: str | None = None, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if not isinstance(requires_grad, bool):
            raise TypeError(f"Tensor: requires_grad must be a bool. Received: requires_grad={requires_grad!r}")
        self.data = _as_float_array(data, dtype)
        self.grad = None
        self.requires_grad = requires_grad
        self.name = name
        self._parents = self._seen = ()
        self._op = ""
        self._backward = None

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: tuple, op: str, backward) -> "Tensor":
        """The output of an op: linked to its parents only while the graph is being recorded."""
        out = cls.__new__(cls)  # np.asarray: NumPy returns 0-d results as scalars, not arrays
        out.data, out.grad, out.name, out._op = np.asarray(data), None, None, op
        if graph.is_grad_enabled() and any(p.requires_grad for p in parents):
            if any(out.data is p.data for p in parents):
                out.data = out.data.view()  # never freeze an input's own array
            out.data.setflags(write=False)  # a backward may read it: no write may change it first
            out.requires_grad, out._parents, out._backward = True, parents, backward
            out._seen = tuple(p.data for p in parents)  # graph.backward refuses a parent whose .data was replaced
        else:
            out.requires_grad, out._parents, out._seen, out._backward = False, (), (), None
        return out

    # ----- array-like properties -----
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __bool__(self) -> bool:
        """The truth of a one-element tensor; ambiguous (ValueError) otherwise, as for an ndarray."""
        if self.data.size != 1:
            raise ValueError(f"The truth value of a Tensor with {self.data.size} elements (shape {self.shape}) is "
                             "ambiguous. Compare elementwise and use .any() or .all(), e.g. (t > 0).all()")
        return bool(self.data)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d Tensor")
        return len(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted. Received shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def detach(self) -> "Tensor":
        """The same data (shared, so read-only if an op recorded it), cut from the graph."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        extras = "".join(
            [f", name={self.name!r}" if self.name else "", f", op={self._op!r}" if self._op else "",
             ", requires_grad=True" if self.requires_grad else ""]
        )
        body = np.array2string(self.data, precision=4, threshold=20, edgeitems=2, separator=", ")
        return f"Tensor({body}, dtype={self.dtype}{extras})"

    # ----- differentiation -----
    def backward(self, grad=None) -> None:
        """Compute d(self)/d(node) for every node of the graph and add it to ``node.grad``.

        Args:
            grad: dL/dself, needed when self is not a scalar; defaults to 1 for a scalar.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad — it was computed under no_grad() "
                "or only from tensors with requires_grad=False, so there is no graph to differentiate"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: grad must be given for a non-scalar tensor. Received a tensor of shape "
                    f"{self.shape} and grad=None (call .sum() first, or pass grad of shape {self.shape})"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
            if grad.dtype.kind not in "biuf":
                raise TypeError(f"backward: grad must be real numbers. Received dtype={grad.dtype}"
                                + (" (complex gradients are not supported)" if grad.dtype.kind == "c" else ""))
            grad = np.array(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward: grad must have the tensor's shape {self.shape}. Received shape {grad.shape}")
        graph.backward(self, grad)

    # ----- operators (the ops live in ops.py) -----
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.sub(self, other)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __mul__(self, other): return _ops.mul(self, other)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __truediv__(self, other): return _ops.div(self, other)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __pow__(self, exponent): return _ops.power(self, exponent)
    def __rpow__(self, base): return _ops.rpow(base, self)
    def __neg__(self): return _ops.neg(self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __getitem__(self, index): return _ops.getitem(self, index)

    # Comparisons are elementwise, as in NumPy, and return a bool ndarray: not differentiable, usable as a mask.
    def __eq__(self, other): return _compare(self, other, np.equal, "==")
    def __ne__(self, other): return _compare(self, other, np.not_equal, "!=")
    def __lt__(self, other): return _compare(self, other, np.less, "<")
    def __le__(self, other): return _compare(self, other, np.less_equal, "<=")
    def __gt__(self, other): return _compare(self, other, np.greater, ">")
    def __ge__(self, other): return _compare(self, other, np.greater_equal, ">=")

    def sum(self, axis=None, keepdims=False): return _ops.sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return _ops.max(self, axis, keepdims)
    def exp(self): return _ops.exp(self)
    def log(self): return _ops.log(self)
    def abs(self): return _ops.abs(self)
    def tanh(self): return _ops.tanh(self)
    def sigmoid(self): return _ops.sigmoid(self)
    def relu(self): return _ops.relu(self)
    def leaky_relu(self, alpha=0.1): return _ops.leaky_relu(self, alpha)
    def elu(self, alpha=1.0): return _ops.elu(self, alpha)
    def softmax(self, axis=-1): return _ops.softmax(self, axis)
    def log_softmax(self, axis=-1): return _ops.log_softmax(self, axis)
    def clip(self, low, high): return _ops.clip(self, low, high)

    def reshape(self, *shape):
        return _ops.reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)

    def transpose(self, *axes):
        return _ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes or None)

    @property
    def T(self) -> "Tensor":
        return _ops.transpose(self, None)


def _compare(t: Tensor, other, ufunc, symbol: str):
    """``t <symbol> other`` elementwise as a bool ndarray; NotImplemented for what is not real numbers."""
    values = other.data if isinstance(other, Tensor) else other
    if not (is_scalar(values) or isinstance(values, (np.ndarray, list, tuple))):
        return NotImplemented  # Python then falls back: == is identity (False), < raises TypeError
    try:
        values = np.asarray(values)
    except ValueError:  # a ragged list
        return NotImplemented
    if values.dtype.kind not in "biuf":
        return NotImplemented
    try:
        return ufunc(t.data, values)
    except ValueError as exc:
        raise ValueError(f"Tensor {symbol}: cannot broadcast shapes {t.shape} and {values.shape}") from exc


def is_scalar(value) -> bool:
    """A Python or NumPy real number (not an array)."""
    return isinstance(value, numbers.Real) or (isinstance(value, np.generic) and value.dtype.kind in "biuf")


# The module of primitive ops that the operators above call. ops.py imports this module (it builds Tensors)
# and hands itself over once defined, so the two modules do not import each other.
_ops = None
