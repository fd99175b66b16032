"""2-D convolution and pooling over NHWC images: primitives whose heavy work is one matmul over a window view.

Layout: images are (batch, height, width, channels) — CIFAR-10's natural (N, 32, 32, 3) and Keras's
default, so data needs no transpose — and kernels are (kernel_h, kernel_w, in_channels, out_channels),
so the convolution reads like Dense's ``x @ W``: every window, flattened, times the flattened kernel.

The windows are a strided view (no copy, no loop over images or pixels). A backward folds window
gradients back onto the image with one slice-add per kernel offset (kernel_h × kernel_w of them);
conv2d's computes each offset's share with its own matmul, so no matrix of window gradients is built.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import arguments as args
from . import graph
from .tensor import Tensor


# ----- geometry: padding, output size, windows, and their inverse -----
def _padding(padding, size: int, window: int, stride: int) -> tuple:
    """(before, after) padding of one spatial axis. 'same' is Keras's: ceil(size / stride) outputs."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        outputs = (size + stride - 1) // stride  # ceil(size / stride)
        total = max((outputs - 1) * stride + window - size, 0)  # what the last window needs beyond the image
        return total // 2, total - total // 2
    return padding, padding


def _geometry(op: str, shape: tuple, window: tuple, stride, padding, dilation) -> tuple:
    """Check an image shape and the window arguments.

    Returns stride, dilation, ((top, bottom), (left, right)) padding and (out_h, out_w).
    """
    if len(shape) != 4:
        raise ValueError(f"{op}: x must be 4-D (batch, height, width, channels). Received shape {shape}")
    stride, dilation = args.pair(op, "stride", stride), args.pair(op, "dilation", dilation)
    if isinstance(padding, str) and padding not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid', 'same', or a non-negative int or pair. "
                         f"Received: padding={padding!r}")
    per_axis = (padding, padding) if isinstance(padding, str) else args.pair(op, "padding", padding, smallest=0)
    pads, out = [], []
    for axis in range(2):
        span = dilation[axis] * (window[axis] - 1) + 1  # the window's extent, holes included
        pad = _padding(per_axis[axis], shape[1 + axis], span, stride[axis])
        padded = shape[1 + axis] + pad[0] + pad[1]
        if padded < span:
            raise ValueError(f"{op}: the window ({window[0]}x{window[1]}, dilation {dilation}) spans {span} pixels, "
                             f"more than the padded input's {padded}. Received x of shape {shape}, padding={padding!r}")
        pads.append(pad)
        out.append((padded - span) // stride[axis] + 1)
    return stride, dilation, tuple(pads), tuple(out)


def output_size(op: str, image_shape: tuple, window, stride=1, padding="valid", dilation=1) -> tuple:
    """(out_h, out_w) of conv2d or a pooling on images of ``image_shape`` (height, width, channels), without data.

    Layers use it for ``compute_output_shape``; the same checks (and messages) as the op itself.
    """
    if op != "conv2d":
        _pool_padding(op, padding, window)
    window = args.pair(op, "pool_size" if op != "conv2d" else "kernel_size", window)
    return _geometry(op, (1, *image_shape), window, stride, padding, dilation)[3]


def _pad(x: np.ndarray, pads: tuple, value: float = 0.0) -> np.ndarray:
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _windows(x: np.ndarray, window: tuple, stride: tuple, dilation: tuple, out: tuple) -> np.ndarray:
    """A read-only view (N, out_h, out_w, kernel_h, kernel_w, C) of every window of the padded image x."""
    n, _, _, c = x.shape
    s_n, s_h, s_w, s_c = x.strides
    return as_strided(x, shape=(n, out[0], out[1], window[0], window[1], c), writeable=False,
                      strides=(s_n, s_h * stride[0], s_w * stride[1], s_h * dilation[0], s_w * dilation[1], s_c))


def _tap(i: int, j: int, stride: tuple, dilation: tuple, out: tuple) -> tuple:
    """The index of what kernel offset (i, j) reads in every window: a strided slice of the padded image."""
    top, left = i * dilation[0], j * dilation[1]
    return (slice(None), slice(top, top + stride[0] * (out[0] - 1) + 1, stride[0]),
            slice(left, left + stride[1] * (out[1] - 1) + 1, stride[1]))


def _fold(windows: np.ndarray, padded_shape: tuple, stride: tuple, dilation: tuple, pads: tuple) -> np.ndarray:
    """The inverse of _windows for gradients: add each window's values back where they came from, then unpad."""
    image = np.zeros(padded_shape, dtype=windows.dtype)
    n, out_h, out_w, kernel_h, kernel_w, c = windows.shape
    if stride == (kernel_h, kernel_w) and dilation == (1, 1):  # windows side by side (pooling): one copy, no adds
        tiles = windows.transpose(0, 1, 3, 2, 4, 5).reshape(n, out_h * kernel_h, out_w * kernel_w, c)
        image[:, :out_h * kernel_h, :out_w * kernel_w] = tiles
        return _unpad(image, pads)
    for i in range(kernel_h):  # one slice-add per kernel offset, over all images and windows at once
        for j in range(kernel_w):
            image[_tap(i, j, stride, dilation, (out_h, out_w))] += windows[:, :, :, i, j]
    return _unpad(image, pads)


def _fold_taps(g: np.ndarray, kernel: np.ndarray, padded_shape: tuple, stride: tuple, dilation: tuple,
               pads: tuple) -> np.ndarray:
    """conv2d's input gradient: _fold(g @ W.T) computed one kernel offset at a time, g @ W[i, j].T each.

    The same sums, but the (pixels, kh·kw·C_in) matrix of window gradients is never made: less memory traffic.
    """
    image = np.zeros(padded_shape, dtype=g.dtype)
    n, out_h, out_w, c_out = g.shape
    rows, c_in = g.reshape(n * out_h * out_w, c_out), kernel.shape[2]  # explicit sizes: an empty batch reshapes too
    share = np.empty((n * out_h * out_w, c_in), dtype=g.dtype)  # one buffer for every tap: no new array each time
    for i in range(kernel.shape[0]):
        for j in range(kernel.shape[1]):
            np.matmul(rows, kernel[i, j].T, out=share)  # what the tap (i, j) read gets back
            image[_tap(i, j, stride, dilation, (out_h, out_w))] += share.reshape(n, out_h, out_w, c_in)
    return _unpad(image, pads)


def _unpad(image: np.ndarray, pads: tuple) -> np.ndarray:
    (top, bottom), (left, right) = pads
    return image[:, top:image.shape[1] - bottom, left:image.shape[2] - right]


# ----- the primitives -----
def conv2d(x, kernel, stride=1, padding="valid", dilation=1) -> Tensor:
    """2-D cross-correlation (what deep learning calls convolution) of NHWC images with an HWIO kernel.

    Args:
        x: images, shape (N, H, W, C_in).
        kernel: shape (kernel_h, kernel_w, C_in, C_out). Add a bias with ``+ b`` (shape (C_out,) broadcasts).
        stride: step between windows, an int or (step_h, step_w).
        padding: 'valid' (none), 'same' (Keras's: ceil(H / stride) outputs, zeros split evenly, the extra
            one after), or zeros on each side as an int or (pad_h, pad_w).
        dilation: spacing between kernel taps, an int or pair.

    Returns:
        A Tensor of shape (N, out_h, out_w, C_out), out = (H + pads − dilation·(k − 1) − 1) // stride + 1.

    Example:
        >>> conv2d(Tensor(np.ones((1, 5, 5, 3))), Tensor(np.ones((3, 3, 3, 8))), padding="same").shape
        (1, 5, 5, 8)
    """
    x, kernel = args.lift(x, op="conv2d"), args.lift(kernel, op="conv2d")
    if kernel.ndim != 4 or x.ndim == 4 and kernel.shape[2] != x.shape[3]:
        raise ValueError(f"conv2d: kernel must be 4-D (kernel_h, kernel_w, in_channels, out_channels) with in_channels "
                         f"= x's channels. Received x of shape {x.shape} and kernel of shape {kernel.shape}")
    window = kernel.shape[:2]
    stride, dilation, pads, out = _geometry("conv2d", x.shape, window, stride, padding, dilation)
    padded, w = _pad(x.data, pads), graph.saved(kernel, x.requires_grad)
    n, c_out, taps = x.shape[0], kernel.shape[3], window[0] * window[1] * kernel.shape[2]  # taps: one window's values
    patches = _windows(padded, window, stride, dilation, out).reshape(n * out[0] * out[1], taps)  # im2col: one copy
    if np.may_share_memory(patches, x.data):  # a 1x1 kernel's windows are x itself; backward must see x as it was
        patches = patches.copy()
    result = (patches @ w.reshape(taps, c_out)).reshape(n, out[0], out[1], c_out)  # the one large matmul

    def backward(g):
        g2 = g.reshape(n * out[0] * out[1], c_out)
        grad_kernel = (patches.T @ g2).reshape(kernel.shape) if kernel.requires_grad else None
        grad_x = _fold_taps(g, w, padded.shape, stride, dilation, pads) if x.requires_grad else None
        return grad_x, grad_kernel

    return Tensor._from_op(result, (x, kernel), "conv2d", backward)


def _pool_arguments(op: str, x, pool_size, stride, padding) -> tuple:
    """Check a pooling call: x, window, stride, pads and output size."""
    x = args.lift(x, op=op)
    window = args.pair(op, "pool_size", pool_size)
    stride, _, pads, out = _geometry(op, x.shape, window, window if stride is None else stride, padding, 1)
    _pool_padding(op, padding, pool_size)
    return x, window, stride, pads, out


def _pool_padding(op: str, padding, pool_size) -> None:
    """An int padding of a pool may be at most half the window, so every window covers the image."""
    if not isinstance(padding, str):
        per_axis = args.pair(op, "padding", padding, smallest=0)
        if any(pad > size // 2 for pad, size in zip(per_axis, args.pair(op, "pool_size", pool_size))):
            raise ValueError(f"{op}: padding must be at most half the pool size. Received: padding={padding!r}, "
                             f"pool_size={pool_size!r}")


def max_pool2d(x, pool_size=2, stride=None, padding="valid") -> Tensor:
    """The max of each window, per channel. NHWC; stride defaults to pool_size; 'same' pads with −inf.

    Ties: the whole gradient goes to the first maximum in the window (row by row), as in PyTorch
    and TensorFlow — unlike ``Tensor.max``, which shares it — so a window passes on exactly what it received.

    Returns:
        A Tensor of shape (N, out_h, out_w, C).
    """
    x, window, stride, pads, out = _pool_arguments("max_pool2d", x, pool_size, stride, padding)
    padded = _pad(x.data, pads, -np.inf)
    offsets = [(i, j) for i in range(window[0]) for j in range(window[1])]  # row by row, as ties are broken
    # One strided view per kernel offset (what that tap sees in every window), no copy; a running maximum.
    taps = [padded[_tap(i, j, stride, (1, 1), out)] for i, j in offsets]
    result = taps[0].copy()
    for tap in taps[1:]:
        np.maximum(result, tap, out=result)

    def backward(g):
        grad = np.zeros_like(padded)
        unclaimed = np.ones(result.shape, dtype=bool)  # windows whose maximum has not been found yet
        for (i, j), tap in zip(offsets, taps):
            first = (tap == result) & unclaimed
            grad[_tap(i, j, stride, (1, 1), out)] += np.where(first, g, 0)
            unclaimed &= ~first
        return (_unpad(grad, pads),)

    return Tensor._from_op(result, (x,), "max_pool2d", backward)


def avg_pool2d(x, pool_size=2, stride=None, padding="valid") -> Tensor:
    """The mean of each window, per channel. NHWC; stride defaults to pool_size.

    Padding is not counted: a window that overhangs the image averages the pixels it covers (Keras's 'same').

    Returns:
        A Tensor of shape (N, out_h, out_w, C).
    """
    x, window, stride, pads, out = _pool_arguments("avg_pool2d", x, pool_size, stride, padding)
    padded = _pad(x.data, pads)
    covered = _pad(np.ones((1, *x.shape[1:3], 1), dtype=x.dtype), pads)  # 1 on the image, 0 on the padding
    count = _windows(covered, window, stride, (1, 1), out).sum(axis=(3, 4))  # (1, out_h, out_w, 1)
    result = _windows(padded, window, stride, (1, 1), out).sum(axis=(3, 4)) / count

    def backward(g):
        share = (g / count)[:, :, :, None, None, :]  # each covered pixel of a window gets 1/count of its gradient
        grad_windows = np.broadcast_to(share, (*g.shape[:3], *window, g.shape[3]))
        return (_fold(grad_windows, padded.shape, stride, (1, 1), pads),)

    return Tensor._from_op(result, (x,), "avg_pool2d", backward)
