"""The op table: every primitive op, forward against NumPy written here and backward against gradcheck."""

import operator
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import neurona
from neurona import Tensor, gradcheck
from neurona.autodiff import avg_pool2d, conv2d, max_pool2d, ops

from .test_conv import naive_conv2d, naive_pool


# ----- input samplers (float64; the dtype test casts them) -----
def _real(rng, shape):
    return rng.uniform(-2.0, 2.0, size=shape)


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def _nonzero(rng, shape):
    """|x| in [0.2, 2]: far from the kinks at 0 (abs, relu, leaky_relu, elu) and safe as a denominator."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, size=shape)


def _distinct(rng, shape):
    """Values 0.3 apart in random order: no ties, so max has a derivative everywhere."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.3 - 0.15 * n).reshape(shape)


@dataclass(frozen=True)
class Case:
    """One row: the op through neurona, the same math in NumPy, and the inputs to try it on."""

    id: str
    fn: Callable  # Tensors -> Tensor
    ref: Callable  # ndarrays -> ndarray, written independently of the engine
    shapes: tuple  # one shape per differentiable input
    domains: tuple  # one sampler per input

    def inputs(self, dtype=np.float64) -> list:
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))  # stable per case, unlike hash()
        return [np.asarray(sample(rng, shape)).astype(dtype) for sample, shape in zip(self.domains, self.shapes)]


def case(id, fn, ref, *shapes, domain=_real):
    domains = domain if isinstance(domain, tuple) else (domain,) * len(shapes)
    return Case(id, fn, ref, shapes, domains)


def _fmt(shape):
    return "x".join(map(str, shape)) if shape else "scalar"


# Constants used as the non-Tensor operand. float32, so the float32 test sees no upcast; no zeros (denominators).
C34 = ((np.arange(12).reshape(3, 4) - 5.5) / 4).astype(np.float32)  # -1.375 ... 1.375 in steps of 0.25
MASK45 = np.array([[1, 0, 0, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 0, 1]], dtype=bool)
LABELS = np.array([2, 0, 2, 1])  # class 2 twice
PROBS = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.1, 0.8, 0.1]], dtype=np.float32)


def _binary_cases():
    """+ - * / and maximum between Tensors of every broadcasting pattern."""
    shapes = [((3, 4), (3, 4)), ((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
              ((), (3, 4)), ((3, 4), ())]
    table = [("add", operator.add, np.add, _real), ("sub", operator.sub, np.subtract, _real),
             ("mul", operator.mul, np.multiply, _real), ("div", operator.truediv, np.divide, _nonzero),
             ("maximum", neurona.maximum, np.maximum, _real)]
    return [case(f"{name}[{_fmt(sa)},{_fmt(sb)}]", fn, ref, sa, sb, domain=(_real, second))
            for name, fn, ref, second in table for sa, sb in shapes]


def _mixed_cases():
    """+ - * / with a Python number, a NumPy scalar or an ndarray on either side."""
    out = []
    for name, op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul), ("div", operator.truediv)]:
        x = _nonzero if name == "div" else _real  # the Tensor may be a denominator
        variants = [
            ("tensor,2.5", lambda t, op=op: op(t, 2.5), (3, 4)),
            ("2.5,tensor", lambda t, op=op: op(2.5, t), (3, 4)),
            ("tensor,np.float64", lambda t, op=op: op(t, np.float64(-1.5)), (3, 4)),
            ("np.float64,tensor", lambda t, op=op: op(np.float64(-1.5), t), (3, 4)),
            ("ndarray,tensor", lambda t, op=op: op(C34, t), (3, 4)),
            ("ndarray,tensor4", lambda t, op=op: op(C34, t), (4,)),
            ("tensor,ndarray", lambda t, op=op: op(t, C34), (3, 4)),
            ("tensor3x1,ndarray", lambda t, op=op: op(t, C34), (3, 1)),
        ]
        out += [case(f"{name}[{label}]", fn, fn, shape, domain=x) for label, fn, shape in variants]
    return out


def _elementwise_cases():
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def tanh(x):
        return (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1)

    def softmax(x, axis):
        return np.exp(x) / np.exp(x).sum(axis=axis, keepdims=True)

    def log_softmax(x, axis):
        return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))

    return [
        case("neg", operator.neg, lambda x: 0 - x, (3, 4)),
        case("neg[scalar]", operator.neg, lambda x: 0 - x, ()),
        case("pow2", lambda x: x ** 2, lambda x: x * x, (3, 4)),
        case("pow3", lambda x: x ** 3, lambda x: x * x * x, (2, 3, 4)),
        case("pow0.5", lambda x: x ** 0.5, np.sqrt, (3, 4), domain=_positive),
        case("pow-1.5", lambda x: x ** -1.5, lambda x: 1 / (x * np.sqrt(x)), (3, 4), domain=_positive),
        case("pow[np.float64]", lambda x: x ** np.float64(2), lambda x: x * x, (4,)),
        case("pow0", lambda x: x ** 0, lambda x: np.ones_like(x), (3, 4)),
        case("rpow[2.5]", lambda x: 2.5 ** x, lambda x: np.exp(x * np.log(2.5)), (3, 4)),
        case("rpow[np.float64(0.5)]", lambda x: np.float64(0.5) ** x, lambda x: np.exp(-x * np.log(2.0)), (2, 3, 4)),
        case("rpow[int 3,scalar]", lambda x: 3 ** x, lambda x: np.exp(x * np.log(3.0)), ()),
        case("exp", Tensor.exp, lambda x: np.e ** x, (3, 4)),
        case("exp[scalar]", Tensor.exp, lambda x: np.e ** x, ()),
        case("log", Tensor.log, np.log, (3, 4), domain=_positive),
        case("abs", Tensor.abs, lambda x: np.where(x < 0, -x, x), (3, 4), domain=_nonzero),
        case("tanh", Tensor.tanh, tanh, (3, 4)),
        case("tanh[3d]", Tensor.tanh, tanh, (2, 3, 4)),
        case("sigmoid", Tensor.sigmoid, sigmoid, (3, 4)),
        case("sigmoid[scalar]", Tensor.sigmoid, sigmoid, ()),
        case("relu", Tensor.relu, lambda x: x * (x > 0), (3, 4), domain=_nonzero),
        case("leaky_relu[default]", Tensor.leaky_relu, lambda x: np.where(x > 0, x, 0.1 * x), (3, 4), domain=_nonzero),
        case("leaky_relu[0.3]", lambda x: x.leaky_relu(0.3), lambda x: np.where(x > 0, x, 0.3 * x), (3, 4),
             domain=_nonzero),
        case("elu[default]", Tensor.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), (3, 4), domain=_nonzero),
        case("elu[0.5]", lambda x: x.elu(0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), (3, 4),
             domain=_nonzero),
        case("clip", lambda x: x.clip(-0.7, 0.9), lambda x: np.minimum(np.maximum(x, -0.7), 0.9), (3, 4)),
        case("maximum[tensor,0.0]", lambda x: neurona.maximum(x, 0.0), lambda x: x * (x > 0), (3, 4), domain=_nonzero),
        case("maximum[0.0,tensor]", lambda x: neurona.maximum(0.0, x), lambda x: x * (x > 0), (3, 4), domain=_nonzero),
        case("maximum[ndarray,tensor]", lambda x: neurona.maximum(C34, x), lambda x: np.where(C34 > x, C34, x), (3, 4)),
        case("softmax[-1]", Tensor.softmax, lambda x: softmax(x, -1), (3, 4)),
        case("softmax[0]", lambda x: x.softmax(axis=0), lambda x: softmax(x, 0), (3, 4)),
        case("softmax[1d]", Tensor.softmax, lambda x: softmax(x, 0), (5,)),
        case("log_softmax[-1]", Tensor.log_softmax, lambda x: log_softmax(x, -1), (3, 4)),
        case("log_softmax[0]", lambda x: x.log_softmax(axis=0), lambda x: log_softmax(x, 0), (3, 4)),
        case("log_softmax[3d,1]", lambda x: x.log_softmax(axis=1), lambda x: log_softmax(x, 1), (2, 3, 4)),
    ]


def _matmul_cases():
    return [
        case("matmul[4,4]", operator.matmul, lambda a, b: (a * b).sum(), (4,), (4,)),
        case("matmul[4,4x3]", operator.matmul, lambda a, b: (a[:, None] * b).sum(axis=0), (4,), (4, 3)),
        case("matmul[2x4,4]", operator.matmul, lambda a, b: (a * b).sum(axis=1), (2, 4), (4,)),
        case("matmul[2x4,4x3]", operator.matmul, lambda a, b: (a[:, :, None] * b[None]).sum(axis=1), (2, 4), (4, 3)),
        case("matmul[ndarray,tensor]", lambda b: C34 @ b, lambda b: (C34[:, :, None] * b[None]).sum(axis=1), (4, 2)),
        case("matmul[tensor,ndarray]", lambda a: a @ C34, lambda a: (a[:, :, None] * C34[None]).sum(axis=1), (2, 3)),
        # batched, broadcasting the leading axes like NumPy's @
        case("matmul[2x3x4,2x4x5]", operator.matmul, lambda a, b: np.einsum("bik,bkj->bij", a, b), (2, 3, 4), (2, 4, 5)),
        case("matmul[2x3x4,4x5]", operator.matmul, lambda a, b: np.einsum("bik,kj->bij", a, b), (2, 3, 4), (4, 5)),
        case("matmul[3x4,2x4x5]", operator.matmul, lambda a, b: np.einsum("ik,bkj->bij", a, b), (3, 4), (2, 4, 5)),
        case("matmul[2x1x3x4,3x4x2]", operator.matmul, lambda a, b: np.einsum("bik,ckj->bcij", a[:, 0], b),
             (2, 1, 3, 4), (3, 4, 2)),
        case("matmul[4,2x4x3]", operator.matmul, lambda a, b: np.einsum("k,bkj->bj", a, b), (4,), (2, 4, 3)),
        case("matmul[2x3x4,4]", operator.matmul, lambda a, b: np.einsum("bik,k->bi", a, b), (2, 3, 4), (4,)),
    ]


def _conv_cases():
    """NHWC images (N, H, W, C) and HWIO kernels; references are the naive loops of test_conv.py."""
    return [
        case("conv2d[valid]", conv2d, naive_conv2d, (2, 4, 5, 2), (2, 3, 2, 3)),
        case("conv2d[stride 2,same]", lambda x, k: conv2d(x, k, stride=2, padding="same"),
             lambda x, k: naive_conv2d(x, k, (2, 2), ((1, 1), (1, 1))), (1, 5, 5, 2), (3, 3, 2, 2)),  # 3 outputs: 2 pads
        case("conv2d[dilation 2,pad 1]", lambda x, k: conv2d(x, k, padding=1, dilation=2),
             lambda x, k: naive_conv2d(x, k, pads=((1, 1), (1, 1)), dilation=(2, 2)), (1, 4, 4, 1), (2, 2, 1, 2)),
        case("max_pool2d[2]", lambda x: max_pool2d(x, 2), lambda x: naive_pool(x, np.max, (2, 2), (2, 2)), (2, 4, 6, 2)),
        case("max_pool2d[3,stride 1,pad 1]", lambda x: max_pool2d(x, 3, stride=1, padding=1),
             lambda x: naive_pool(x, np.max, (3, 3), (1, 1), ((1, 1), (1, 1))), (1, 4, 3, 2)),
        case("avg_pool2d[2]", lambda x: avg_pool2d(x, 2), lambda x: naive_pool(x, np.mean, (2, 2), (2, 2)), (2, 4, 6, 2)),
        case("avg_pool2d[same]", lambda x: avg_pool2d(x, 2, padding="same"),
             lambda x: naive_pool(x, np.mean, (2, 2), (2, 2), ((0, 1), (0, 1))), (1, 5, 5, 2)),  # 3 outputs: 1 pad after
    ]


def _reduction_cases():
    out = []
    for name, ref, domain in [("sum", np.sum, _real), ("mean", np.mean, _real), ("max", np.max, _distinct)]:
        method = getattr(Tensor, name)
        for axis in [None, 0, 2, -1, (0, 2), (-1, 0)]:
            for keepdims in [False, True]:
                out.append(case(f"{name}[axis={axis},keepdims={keepdims}]",
                                lambda x, m=method, a=axis, k=keepdims: m(x, axis=a, keepdims=k),
                                lambda x, r=ref, a=axis, k=keepdims: r(x, axis=a, keepdims=k),
                                (2, 3, 4), domain=domain))
        out.append(case(f"{name}[1d]", method, ref, (5,), domain=domain))
        out.append(case(f"{name}[scalar]", method, ref, (), domain=domain))
        out.append(case(f"{name}[axis=-1,1d]", lambda x, m=method: m(x, axis=-1), ref, (5,), domain=domain))
    return out


def _shape_cases():
    return [
        case("reshape[6x4]", lambda x: x.reshape(6, 4), lambda x: np.reshape(x, (6, 4)), (2, 3, 4)),
        case("reshape[-1]", lambda x: x.reshape(-1), np.ravel, (2, 3, 4)),
        case("reshape[tuple]", lambda x: x.reshape((4, 3, 2)), lambda x: np.reshape(x, (4, 3, 2)), (2, 3, 4)),
        case("reshape[scalar]", lambda x: x.reshape(1, 1), lambda x: np.reshape(x, (1, 1)), ()),
        case("T[2d]", lambda x: x.T, lambda x: np.swapaxes(x, 0, 1), (3, 4)),
        case("T[3d]", lambda x: x.T, lambda x: np.einsum("ijk->kji", x), (2, 3, 4)),
        case("T[1d]", lambda x: x.T, lambda x: x, (4,)),
        case("transpose[]", lambda x: x.transpose(), lambda x: np.einsum("ijk->kji", x), (2, 3, 4)),
        case("transpose[1,0,2]", lambda x: x.transpose(1, 0, 2), lambda x: np.einsum("ijk->jik", x), (2, 3, 4)),
        case("transpose[(2,0,1)]", lambda x: x.transpose((2, 0, 1)), lambda x: np.einsum("ijk->kij", x), (2, 3, 4)),
        case("transpose[-1,0,1]", lambda x: x.transpose(-1, 0, 1), lambda x: np.einsum("ijk->kij", x), (2, 3, 4)),
        case("concat[axis=0]", lambda a, b: neurona.concat([a, b], axis=0), lambda a, b: np.vstack([a, b]),
             (2, 3), (4, 3)),
        case("concat[axis=1,three]", lambda a, b, c: neurona.concat([a, b, c], axis=1),
             lambda a, b, c: np.hstack([a, b, c]), (2, 3), (2, 1), (2, 2)),
        case("concat[axis=-1,3d]", lambda a, b: neurona.concat((a, b), axis=-1), lambda a, b: np.dstack([a, b]),
             (2, 3, 2), (2, 3, 1)),
        case("concat[with ndarray]", lambda a: neurona.concat([a, C34]), lambda a: np.vstack([a, C34]), (2, 4)),
    ]


def _index_cases():
    def index(label, key):
        return case(f"getitem[{label}]", lambda x: x[key], lambda x: x[key], (4, 5))

    return [
        index("int", 1), index("int,int", (-1, 2)), index("slices", (slice(1, 3), slice(None, None, 2))),
        index("reversed", (slice(None, None, -1), slice(1, None))), index("ellipsis", (Ellipsis, 0)),
        index("newaxis", (None, slice(None), 1)),
        index("repeated ints", [0, 2, 0]), index("2d int array", np.array([[0, 1], [3, 3]])),
        index("paired ints", ([0, 1, 1], [2, 0, 0])),  # element (1, 0) picked twice
        index("slice,repeated ints", (slice(1, None), [4, 4, 0])),
        index("bool mask", MASK45), index("bool rows", np.array([True, False, True, True])),
    ]


def _loss_and_composite_cases():
    def nll(z, probs):  # −Σ t·log softmax(z), written from scratch
        return -(probs * (z - np.log(np.exp(z).sum(axis=1, keepdims=True)))).sum(axis=1)

    return [
        case("softmax_cross_entropy[labels]", lambda z: ops.softmax_cross_entropy(z, LABELS),
             lambda z: nll(z, np.eye(3)[LABELS]), (4, 3)),
        case("softmax_cross_entropy[probability rows]", lambda z: ops.softmax_cross_entropy(z, PROBS),
             lambda z: nll(z, PROBS), (4, 3)),
        case("softmax_cross_entropy[one-hot float64]", lambda z: ops.softmax_cross_entropy(z, np.eye(3)[LABELS]),
             lambda z: nll(z, np.eye(3)[LABELS]), (4, 3)),
        case("sum_of_squares[matrix]", ops.sum_of_squares, lambda a: np.sum(a * a), (4, 3)),
        case("sum_of_squares[vector]", ops.sum_of_squares, lambda a: np.sum(a * a), (5,)),
        case("dense+tanh", lambda x, w, b: (x @ w + b).tanh(), lambda x, w, b: np.tanh(x @ w + b),
             (5, 3), (3, 4), (4,)),
        case("mse", lambda p, y: ((p - y) ** 2).mean(), lambda p, y: np.mean((p - y) ** 2), (6, 2), (6, 2)),
    ]


CASES = (_binary_cases() + _mixed_cases() + _elementwise_cases() + _matmul_cases() + _conv_cases() + _reduction_cases()
         + _shape_cases() + _index_cases() + _loss_and_composite_cases())


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case):
    arrays = case.inputs()
    out = case.fn(*(Tensor(a) for a in arrays))
    expected = np.asarray(case.ref(*arrays))
    assert isinstance(out, Tensor) and isinstance(out.data, np.ndarray)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_backward_passes_gradcheck(case):
    assert gradcheck(case.fn, *(Tensor(a) for a in case.inputs())) is True


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_float32_graph_keeps_float32(case):
    tensors = [Tensor(a, requires_grad=True) for a in case.inputs(np.float32)]
    out = case.fn(*tensors)
    out.sum().backward()
    assert out.dtype == np.float32
    for t in tensors:
        assert t.grad.dtype == np.float32 and t.grad.shape == t.shape


# ----- the conventions at points where the derivative does not exist -----
def test_max_splits_the_gradient_between_ties():
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])  # two maxima share dmax = 1


def test_max_ties_are_counted_per_reduced_slice():
    x = Tensor([[2.0, 2.0, 1.0], [0.0, 5.0, 4.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])


def test_maximum_splits_the_gradient_where_equal():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([3.0, 2.0, 1.0], requires_grad=True)
    neurona.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0, 0.5, 0.0])


def test_relu_and_abs_have_zero_gradient_at_zero():
    for fn in (Tensor.relu, Tensor.abs):
        x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
        fn(x).sum().backward()
        assert x.grad[1] == 0.0


def test_clip_passes_the_gradient_inside_bounds_inclusive():
    x = Tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    y = x.clip(-1.0, 1.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_softmax_cross_entropy_worked_example():
    # logits [0, ln 3]: softmax = [1/4, 3/4]; label 1 → loss −ln(3/4); gradient softmax − onehot = [1/4, −1/4]
    z = Tensor([[0.0, np.log(3.0)]], requires_grad=True, dtype=np.float64)
    loss = ops.softmax_cross_entropy(z, np.array([1]))
    loss.backward()
    np.testing.assert_allclose(loss.data, [-np.log(0.75)])
    np.testing.assert_allclose(z.grad, [[0.25, -0.25]])
