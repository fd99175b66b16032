"""Every documented error: it names the op (or argument) and echoes what was received."""

import numpy as np
import pytest

import neurona
from neurona import Tensor, no_grad

A = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)  # shape (2, 3)
B4 = Tensor(np.ones(4))  # shape (4,)


def _backward_under_no_grad():
    with no_grad():
        y = (A * 2).sum()
    y.backward()


ERRORS = [
    # shapes
    ("matmul", lambda: A @ A, ValueError, r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned: 3 .* != 2"),
    ("matmul 1-d", lambda: B4 @ A, ValueError, r"matmul: shapes \(4,\) and \(2, 3\) are not aligned"),
    ("matmul 0-d", lambda: Tensor(2.0) @ A, ValueError,
     r"matmul: operands must be at least 1-D. Received shapes \(\) and \(2, 3\)"),
    ("matmul 3-d", lambda: A @ Tensor(np.ones((2, 2, 2))), ValueError,
     r"matmul: shapes \(2, 3\) and \(2, 2, 2\) are not aligned: 3 .* != 2 \(second-to-last dim of the right\)"),
    ("matmul batch", lambda: Tensor(np.ones((2, 2, 3))) @ Tensor(np.ones((3, 3, 4))), ValueError,
     r"matmul: the batch dims of shapes \(2, 2, 3\) and \(3, 3, 4\) cannot be broadcast"),
    ("add", lambda: A + B4, ValueError, r"add: cannot broadcast shapes \(2, 3\) and \(4,\)"),
    ("sub", lambda: B4 - A, ValueError, r"sub: cannot broadcast shapes \(4,\) and \(2, 3\)"),
    ("mul", lambda: A * np.ones(4), ValueError, r"mul: cannot broadcast shapes \(2, 3\) and \(4,\)"),
    ("div", lambda: np.ones((3, 2)) / A, ValueError, r"div: cannot broadcast shapes \(3, 2\) and \(2, 3\)"),
    ("maximum", lambda: neurona.maximum(A, B4), ValueError, r"maximum: cannot broadcast shapes \(2, 3\) and \(4,\)"),
    ("concat", lambda: neurona.concat([A, Tensor(np.ones((2, 2)))], axis=0), ValueError,
     r"concat: shapes \(2, 3\), \(2, 2\) must match except on axis 0"),
    ("concat empty", lambda: neurona.concat([]), ValueError,
     r"concat: tensors must be a non-empty list.*Received: \[\]"),
    ("reshape", lambda: A.reshape(4, 2), ValueError,
     r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)"),
    ("getitem out of range", lambda: A[5], IndexError, r"getitem: index 5 is invalid for a tensor of shape \(2, 3\)"),
    ("getitem too many", lambda: A[0, 1, 2], IndexError, r"getitem: index \(0, 1, 2\) is invalid for .*\(2, 3\)"),
    ("getitem string", lambda: A["a"], IndexError, r"getitem: index 'a' is invalid"),
    ("getitem int array", lambda: A[[0, 7]], IndexError, r"getitem: index \[0, 7\] is invalid"),
    # backward
    ("backward non-scalar", lambda: (A * 2).backward(), ValueError,
     r"backward: grad must be given for a non-scalar tensor. Received a tensor of shape \(2, 3\) and grad=None"),
    ("backward wrong grad shape", lambda: (A * 2).backward(np.ones(3)), ValueError,
     r"backward: grad must have the tensor's shape \(2, 3\). Received shape \(3,\)"),
    ("backward under no_grad", _backward_under_no_grad, RuntimeError,
     r"backward: this tensor does not require grad .*no_grad\(\)"),
    ("backward of a constant", lambda: Tensor(1.0).backward(), RuntimeError, r"backward: .*requires_grad=False"),
    # axes
    ("sum axis", lambda: A.sum(axis=2), ValueError,
     r"sum: axis must be an int in \[-2, 2\) for a 2-d tensor. Received: axis=2"),
    ("mean axis", lambda: A.mean(axis=-3), ValueError, r"mean: axis must be an int in \[-2, 2\).*Received: axis=-3"),
    ("max axis float", lambda: A.max(axis=1.0), ValueError, r"max: axis must be an int .*Received: axis=1.0"),
    ("sum axis bool", lambda: A.sum(axis=True), ValueError, r"sum: axis must be an int .*Received: axis=True"),
    ("sum axis tuple", lambda: A.sum(axis=(0, 5)), ValueError, r"sum: axis must be an int .*Received: axis=\(0, 5\)"),
    ("sum axis repeated", lambda: A.sum(axis=(0, -2)), ValueError, r"sum: axis must not name an axis twice. "
                                                                      r"Received: axis=\(0, -2\)"),
    ("sum axis on 0-d", lambda: Tensor(1.0).sum(axis=0), ValueError, r"sum: axis must be an int in \[0, 0\) for a 0-d"),
    ("softmax axis", lambda: A.softmax(axis=2), ValueError, r"softmax: axis must be an int .*Received: axis=2"),
    ("softmax axis None", lambda: A.softmax(axis=None), ValueError, r"softmax: axis must be a single int. "
                                                                      r"Received: axis=None"),
    ("log_softmax axis tuple", lambda: A.log_softmax(axis=(0, 1)), ValueError,
     r"log_softmax: axis must be a single int. Received: axis=\(0, 1\)"),
    ("concat axis", lambda: neurona.concat([A, A], axis=3), ValueError, r"concat: axis must be an int .*axis=3"),
    ("transpose not a permutation", lambda: A.transpose(0, 0), ValueError, r"transpose: .*axis.*\(0, 0\)"),
    ("transpose too few", lambda: Tensor(np.ones((2, 3, 4))).transpose(1, 0), ValueError,
     r"transpose: axes must be a permutation of \(0, 1, 2\). Received: axes=\(1, 0\)"),
    ("transpose out of range", lambda: A.transpose(0, 5), ValueError, r"transpose: axis must be an int .*\(0, 5\)"),
    # operands and arguments
    ("pow tensor exponent", lambda: A ** A, TypeError, r"pow: the exponent must be a real number. Received: Tensor\("),
    ("pow list exponent", lambda: A ** [2], TypeError,
     r"pow: the exponent must be a real number. Received: \[2\] \(list\)"),
    ("add string", lambda: A + "a", TypeError, r"add: operands must be Tensors, arrays or real numbers. Received: 'a'"),
    ("mul None", lambda: A * None, TypeError, r"mul: operands must be .*Received: None"),
    ("clip reversed", lambda: A.clip(1.0, -1.0), ValueError, r"clip: low and high .*Received: low=1.0, high=-1.0"),
    ("clip tensor bound", lambda: A.clip(A, 1.0), ValueError, r"clip: low and high must be real numbers"),
    ("max of empty", lambda: Tensor(np.zeros((0, 3))).max(), ValueError,
     r"max: cannot reduce over an empty axis \(axis=None of a tensor of shape \(0, 3\)\)"),
    ("max over an empty axis", lambda: Tensor(np.zeros((3, 0))).max(axis=1), ValueError,
     r"max: cannot reduce over an empty axis \(axis=1 of a tensor of shape \(3, 0\)\)"),
    ("leaky_relu alpha", lambda: A.leaky_relu("0.1"), TypeError,
     r"leaky_relu: alpha must be a real number. Received: alpha='0.1' \(str\)"),
    ("elu alpha complex", lambda: A.elu(1j), TypeError, r"elu: alpha must be a real number. Received: alpha=1j"),
    ("rpow negative base", lambda: (-2.0) ** A, ValueError, r"rpow: the base must be >= 0 .*Received: base=-2.0"),
    ("rpow complex base", lambda: 1j ** A, TypeError, r"rpow: base must be a real number. Received: base=1j \(complex\)"),
    # constructing a Tensor
    ("string", lambda: Tensor("1.5"), TypeError, r"Tensor: data must be numeric. Received: '1.5' \(str\)"),
    ("bytes", lambda: Tensor(b"12"), TypeError, r"Tensor: data must be numeric. Received: b'12' \(bytes\)"),
    ("list of strings", lambda: Tensor(["a", "b"]), TypeError,
     r"Tensor: data must be real numbers .*strings.*\['a', 'b'\]"),
    ("object", lambda: Tensor(object()), TypeError,
     r"Tensor: data must be real numbers .*Python objects.*<object object"),
    ("None", lambda: Tensor(None), TypeError, r"Tensor: data must be real numbers .*Python objects.*None"),
    ("list with None", lambda: Tensor([1.0, None]), TypeError, r"Tensor: data must be real numbers .*\[1.0, None\]"),
    ("complex", lambda: Tensor([1 + 2j]), TypeError, r"Tensor: .*complex numbers are not supported.*\(1\+2j\)"),
    ("complex ndarray", lambda: Tensor(np.ones(2, dtype=np.complex64)), TypeError, r"complex64 \(complex numbers"),
    ("ragged", lambda: Tensor([[1, 2], [3]]), TypeError,
     r"Tensor: data must be a rectangular numeric array. Received: \[\[1, 2\], \[3\]\]"),
    ("dtype int", lambda: Tensor([1.0], dtype=np.int32), TypeError,
     r"Tensor: dtype must be float16, float32 or float64. Received: dtype=int32"),
    ("dtype complex", lambda: Tensor([1.0], dtype=complex), TypeError,
     r"Tensor: dtype must be .*Received: dtype=complex128"),
    ("dtype unknown", lambda: Tensor([1.0], dtype="float33"), TypeError,
     r"Tensor: dtype must be .*Received: dtype='float33'"),
    ("requires_grad int", lambda: Tensor([1.0], requires_grad=1), TypeError,
     r"Tensor: requires_grad must be a bool. Received: requires_grad=1"),
    ("requires_grad string", lambda: Tensor([1.0], requires_grad="yes"), TypeError, r"requires_grad=.yes."),
    ("requires_grad None", lambda: Tensor([1.0], requires_grad=None), TypeError, r"requires_grad=None"),
    ("item", lambda: A.item(), ValueError, r"item: only one-element tensors .*Received shape \(2, 3\)"),
]


@pytest.mark.parametrize("call, error, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_names_the_op_and_echoes_the_input(call, error, match):
    with pytest.raises(error, match=match):
        call()



def test_getitem_refuses_a_tensor_index():
    # A Tensor holds floats, so Tensor([True, False]) and Tensor([1, 0]) would be the same index.
    x = Tensor(np.ones((4, 5)))
    with pytest.raises(TypeError, match=r"getitem: .*not a Tensor. Received a Tensor of shape \(3,\)"):
        x[Tensor([2, 0, 2])]
