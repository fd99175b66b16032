"""conv2d, max_pool2d and avg_pool2d against naive loops over output pixels written here, forward and backward."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurona import Tensor, gradcheck
from neurona.autodiff import avg_pool2d, conv2d, max_pool2d


# ----- naive references: one output pixel at a time, straight from the definitions -----
def naive_conv2d(x, kernel, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1)):
    """out[n, i, j, o] = Σ_a,b,c x_padded[n, i·s + a·d, j·s + b·d, c] · kernel[a, b, c, o]."""
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, c_in, c_out = kernel.shape
    out_h = (xp.shape[1] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (xp.shape[2] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, c_out))
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                for a in range(kh):
                    for b in range(kw):
                        pixel = xp[n, i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]]  # (C_in,)
                        out[n, i, j] += pixel @ kernel[a, b]
    return out


def naive_pool(x, reduce, size, stride, pads=((0, 0), (0, 0))):
    """reduce() over each window's pixels that lie on the image (padding is skipped, not counted)."""
    h, w = x.shape[1:3]
    out_h = (h + sum(pads[0]) - size[0]) // stride[0] + 1
    out_w = (w + sum(pads[1]) - size[1]) // stride[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, x.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            top, left = i * stride[0] - pads[0][0], j * stride[1] - pads[1][0]
            rows = range(max(top, 0), min(top + size[0], h))
            cols = range(max(left, 0), min(left + size[1], w))
            pixels = np.stack([x[:, r, c] for r in rows for c in cols])  # (pixels, N, C)
            out[:, i, j] = reduce(pixels, axis=0)
    return out


def numeric_gradient(f, x, weights, eps=1e-3):
    """d Σ(f(x)·weights) / dx by central differences, one element at a time. Convolution is linear and pooling
    piecewise linear with kinks 0.1 apart (see _inputs), so a large step is exact and keeps rounding small.
    The outputs are subtracted before they are summed: the ones the step does not reach cancel exactly,
    so the estimate is good to ~1e-11 and the tests can hold the gradients to 1e-10."""
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = ((f(x + step) - f(x - step)) * weights).sum() / (2 * eps)
    return grad


# ----- the cases: (id, neurona call, naive call, input shapes) -----
X = (2, 5, 6, 3)  # two 5x6 images with 3 channels
CASES = [
    ("conv 3x2 valid", lambda x, k: conv2d(x, k), lambda x, k: naive_conv2d(x, k), X, (3, 2, 3, 4)),
    ("conv stride 2 pad 1", lambda x, k: conv2d(x, k, stride=2, padding=1),
     lambda x, k: naive_conv2d(x, k, (2, 2), ((1, 1), (1, 1))), X, (3, 3, 3, 2)),
    ("conv stride (1,2) pad (2,0) dilation (2,1)", lambda x, k: conv2d(x, k, stride=(1, 2), padding=(2, 0), dilation=(2, 1)),
     lambda x, k: naive_conv2d(x, k, (1, 2), ((2, 2), (0, 0)), (2, 1)), X, (2, 2, 3, 2)),
    # 'same', stride 1, 3x3: one zero each side. 'same', stride 2, H=5: ceil(5/2) = 3 outputs need (3−1)·2 + 3 − 5
    # = 2 pads (1 before, 1 after); W=6: ceil(6/2) = 3 outputs need (3−1)·2 + 3 − 6 = 1 pad, after.
    ("conv same", lambda x, k: conv2d(x, k, padding="same"), lambda x, k: naive_conv2d(x, k, pads=((1, 1), (1, 1))),
     X, (3, 3, 3, 2)),
    ("conv same stride 2", lambda x, k: conv2d(x, k, stride=2, padding="same"),
     lambda x, k: naive_conv2d(x, k, (2, 2), ((1, 1), (0, 1))), X, (3, 3, 3, 2)),
    ("conv 1x1", lambda x, k: conv2d(x, k), lambda x, k: naive_conv2d(x, k), X, (1, 1, 3, 2)),
]
POOLS = [
    ("max 2x2", lambda x: max_pool2d(x, 2), lambda x: naive_pool(x, np.max, (2, 2), (2, 2)), X),
    ("max 3x3 stride 1", lambda x: max_pool2d(x, 3, stride=1), lambda x: naive_pool(x, np.max, (3, 3), (1, 1)), X),
    ("max (2,3) stride (1,2) pad 1", lambda x: max_pool2d(x, (2, 3), stride=(1, 2), padding=1),
     lambda x: naive_pool(x, np.max, (2, 3), (1, 2), ((1, 1), (1, 1))), X),
    # 'same', 2x2 stride 2: H=5 → 3 outputs, (3−1)·2 + 2 − 5 = 1 pad after; W=6 → 3 outputs, no pad
    ("max same", lambda x: max_pool2d(x, 2, padding="same"),
     lambda x: naive_pool(x, np.max, (2, 2), (2, 2), ((0, 1), (0, 0))), X),
    ("avg 2x2", lambda x: avg_pool2d(x, 2), lambda x: naive_pool(x, np.mean, (2, 2), (2, 2)), X),
    ("avg 3x2 stride 1", lambda x: avg_pool2d(x, (3, 2), stride=1), lambda x: naive_pool(x, np.mean, (3, 2), (1, 1)), X),
    ("avg same", lambda x: avg_pool2d(x, 2, padding="same"),
     lambda x: naive_pool(x, np.mean, (2, 2), (2, 2), ((0, 1), (0, 0))), X),
    ("avg 3x3 stride 2 pad 1", lambda x: avg_pool2d(x, 3, stride=2, padding=1),
     lambda x: naive_pool(x, np.mean, (3, 3), (2, 2), ((1, 1), (1, 1))), X),
]


def _inputs(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.permutation(math.prod(s)).reshape(s) * 0.1 - 1.0 if len(s) == 4 and s[0] == 2 else rng.normal(size=s)
            for s in shapes]  # images: distinct values 0.1 apart, so a max never ties and has a derivative


@pytest.mark.parametrize("fn, naive, x_shape, k_shape", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_conv2d_forward_and_backward_match_the_naive_loops(fn, naive, x_shape, k_shape):
    x, k = _inputs(1, x_shape, k_shape)
    xt, kt = Tensor(x, requires_grad=True), Tensor(k, requires_grad=True)
    out = fn(xt, kt)
    expected = naive(x, k)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    weights = np.random.default_rng(2).uniform(0.5, 1.5, size=expected.shape)
    out.backward(weights)
    np.testing.assert_allclose(xt.grad, numeric_gradient(lambda v: naive(v, k), x, weights), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(kt.grad, numeric_gradient(lambda v: naive(x, v), k, weights), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("fn, naive, x_shape", [c[1:] for c in POOLS], ids=[c[0] for c in POOLS])
def test_pooling_forward_and_backward_match_the_naive_loops(fn, naive, x_shape):
    (x,) = _inputs(3, x_shape)
    xt = Tensor(x, requires_grad=True)
    out = fn(xt)
    expected = naive(x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    weights = np.random.default_rng(4).uniform(0.5, 1.5, size=expected.shape)
    out.backward(weights)
    np.testing.assert_allclose(xt.grad, numeric_gradient(naive, x, weights), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("fn, x_shape, k_shape", [(c[1], c[3], c[4]) for c in CASES[:3]], ids=[c[0] for c in CASES[:3]])
def test_conv2d_passes_gradcheck(fn, x_shape, k_shape):
    assert gradcheck(fn, *(Tensor(a) for a in _inputs(5, x_shape, k_shape)))


@pytest.mark.parametrize("fn", [POOLS[2][1], POOLS[7][1]], ids=[POOLS[2][0], POOLS[7][0]])
def test_pooling_passes_gradcheck(fn):
    assert gradcheck(fn, Tensor(_inputs(6, X)[0]))


@pytest.mark.parametrize("op", [lambda x: conv2d(x, np.ones((2, 2, 3, 2), np.float32), padding="same"),
                                lambda x: max_pool2d(x, 2, padding="same"), lambda x: avg_pool2d(x, 3, 1, 1)],
                         ids=["conv2d", "max_pool2d", "avg_pool2d"])
def test_float32_stays_float32(op):
    x = Tensor(np.linspace(-1, 1, 2 * 5 * 6 * 3, dtype=np.float32).reshape(X), requires_grad=True)
    out = op(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


@settings(max_examples=15, deadline=None)
@given(data=st.data(), size=st.tuples(st.integers(1, 6), st.integers(1, 6)),
       kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
       pad=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_conv2d_of_any_geometry_matches_the_naive_loops(data, size, kernel, stride, dilation, pad):
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(n + 2 * p < span for n, p, span in zip(size, pad, spans)):
        with pytest.raises(ValueError, match="conv2d: the window"):
            conv2d(np.ones((1, *size, 2)), np.ones((*kernel, 2, 1)), stride, pad, dilation)
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x, k = rng.normal(size=(1, *size, 2)), rng.normal(size=(*kernel, 2, 2))
    expected = naive_conv2d(x, k, stride, tuple((p, p) for p in pad), dilation)
    np.testing.assert_allclose(conv2d(Tensor(x), Tensor(k), stride, pad, dilation).data, expected, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda a, b: conv2d(a, b, stride, pad, dilation), Tensor(x), Tensor(k))


# ----- worked examples -----
def test_conv2d_worked_example():
    # 3x3 image 1..9, 2x2 kernel [[1, 0], [0, −1]]: each output is top-left − bottom-right = −4
    x = Tensor(np.arange(1.0, 10.0).reshape(1, 3, 3, 1), requires_grad=True)
    kernel = Tensor(np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(2, 2, 1, 1), requires_grad=True)
    out = conv2d(x, kernel)
    out.sum().backward()
    np.testing.assert_array_equal(out.data.reshape(2, 2), [[-4.0, -4.0], [-4.0, -4.0]])
    # each pixel's gradient: +1 per window it is the top-left of, −1 per window it is the bottom-right of
    np.testing.assert_array_equal(x.grad.reshape(3, 3), [[1, 1, 0], [1, 0, -1], [0, -1, -1]])
    # d/dkernel[a, b] = Σ over the 4 windows of the pixel under tap (a, b): 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9
    np.testing.assert_array_equal(kernel.grad.reshape(2, 2), [[12, 16], [24, 28]])


def test_max_pool_gives_a_tie_gradient_to_the_first_maximum_only():
    # one 2x2 window of equal values: the whole gradient goes to the first (row by row), none is split
    x = Tensor(np.array([[5.0, 5.0], [5.0, 1.0]]).reshape(1, 2, 2, 1), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.reshape(2, 2), [[1.0, 0.0], [0.0, 0.0]])


def test_overlapping_max_windows_add_their_gradients():
    # 1x3 image [1, 9, 2], windows of 2 with stride 1: both pick the 9
    x = Tensor(np.array([1.0, 9.0, 2.0]).reshape(1, 1, 3, 1), requires_grad=True)
    out = max_pool2d(x, (1, 2), stride=1)
    out.sum().backward()
    np.testing.assert_array_equal(out.data.ravel(), [9.0, 9.0])
    np.testing.assert_array_equal(x.grad.ravel(), [0.0, 2.0, 0.0])


def test_avg_pool_same_counts_only_the_pixels_on_the_image():
    # 1x3 image [2, 4, 9], 1x2 windows, stride 2, 'same': windows [2, 4] and [9, pad] → 3 and 9 (not 4.5)
    x = Tensor(np.array([2.0, 4.0, 9.0]).reshape(1, 1, 3, 1), requires_grad=True)
    out = avg_pool2d(x, (1, 2), padding="same")
    out.sum().backward()
    np.testing.assert_array_equal(out.data.ravel(), [3.0, 9.0])
    np.testing.assert_array_equal(x.grad.ravel(), [0.5, 0.5, 1.0])


@pytest.mark.parametrize("x_shape, k_shape", [((0, 4, 4, 3), (2, 2, 3, 2)), ((2, 4, 4, 0), (2, 2, 0, 2)),
                                              ((2, 4, 4, 3), (2, 2, 3, 0))], ids=["no images", "no channels", "no filters"])
def test_empty_sides_give_empty_outputs_and_zero_gradients(x_shape, k_shape):
    x, kernel = Tensor(np.ones(x_shape), requires_grad=True), Tensor(np.ones(k_shape), requires_grad=True)
    out = conv2d(x, kernel)
    out.sum().backward()
    assert out.shape == (x_shape[0], 3, 3, k_shape[3])  # a sum over no channels is 0, as in NumPy's matmul
    np.testing.assert_array_equal(out.data, np.zeros(out.shape))
    assert x.grad.shape == x_shape and kernel.grad.shape == k_shape and not x.grad.any() and not kernel.grad.any()
    for pool in (max_pool2d, avg_pool2d):
        assert pool(Tensor(np.ones(x_shape)), 2).shape == (x_shape[0], 2, 2, x_shape[3])


def test_cifar_shaped_batch():
    x = Tensor(np.zeros((4, 32, 32, 3), np.float32))
    h = conv2d(x, np.zeros((3, 3, 3, 16), np.float32), padding="same")
    assert h.shape == (4, 32, 32, 16) and max_pool2d(h, 2).shape == (4, 16, 16, 16)


# ----- errors name the argument and echo the value -----
IMAGES, KERNEL = Tensor(np.ones((1, 4, 4, 3))), Tensor(np.ones((2, 2, 3, 5)))
ERRORS = [
    ("stride 0", lambda: conv2d(IMAGES, KERNEL, stride=0),
     r"conv2d: stride must be a positive int or pair. Received: stride=0"),
    ("stride float", lambda: conv2d(IMAGES, KERNEL, stride=1.5),
     r"stride must be a positive int or pair. Received: stride=1.5"),
    ("stride bool", lambda: conv2d(IMAGES, KERNEL, stride=True), r"Received: stride=True"),
    ("stride triple", lambda: conv2d(IMAGES, KERNEL, stride=(1, 1, 1)), r"Received: stride=\(1, 1, 1\)"),
    ("dilation", lambda: conv2d(IMAGES, KERNEL, dilation=(1, 0)), r"conv2d: dilation must be a positive int or pair. "
                                                                  r"Received: dilation=\(1, 0\)"),
    ("padding name", lambda: conv2d(IMAGES, KERNEL, padding="full"),
     r"conv2d: padding must be 'valid', 'same', or a non-negative int or pair. Received: padding='full'"),
    ("padding negative", lambda: conv2d(IMAGES, KERNEL, padding=-1),
     r"conv2d: padding must be a non-negative int or pair. Received: padding=-1"),
    ("x 3-d", lambda: conv2d(Tensor(np.ones((4, 4, 3))), KERNEL),
     r"conv2d: x must be 4-D \(batch, height, width, channels\). Received shape \(4, 4, 3\)"),
    ("channels", lambda: conv2d(IMAGES, Tensor(np.ones((2, 2, 1, 5)))),
     r"conv2d: kernel must be 4-D .* Received x of shape \(1, 4, 4, 3\) and kernel of shape \(2, 2, 1, 5\)"),
    ("kernel too big", lambda: conv2d(IMAGES, Tensor(np.ones((3, 3, 3, 1))), dilation=2),
     r"conv2d: the window \(3x3, dilation \(2, 2\)\) spans 5 pixels, more than the padded input's 4"),
    ("pool size", lambda: max_pool2d(IMAGES, 0),
     r"max_pool2d: pool_size must be a positive int or pair. Received: pool_size=0"),
    ("pool stride", lambda: avg_pool2d(IMAGES, 2, stride=-1), r"avg_pool2d: stride must be a positive int .*stride=-1"),
    ("pool padding too big", lambda: max_pool2d(IMAGES, 2, padding=2),
     r"max_pool2d: padding must be at most half the pool size. Received: padding=2, pool_size=2"),
    ("pool too big", lambda: avg_pool2d(IMAGES, 5), r"avg_pool2d: the window \(5x5, dilation \(1, 1\)\) spans 5 pixels"),
]


@pytest.mark.parametrize("call, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_name_the_argument_and_echo_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()
