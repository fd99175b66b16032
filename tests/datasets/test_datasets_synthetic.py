"""synthetic: the practical's XOR (±1 inputs, target = product) and n-bit parity."""

from __future__ import annotations

import numpy as np
import pytest

from neurona.datasets.synthetic import parity, xor


def test_xor_is_the_practicals_listing():
    # The practical's code: x_train = [[-1,-1],[-1,1],[1,-1],[1,1]], y_train = [[1],[-1],[-1],[1]]
    # i.e. y = x1 * x2: (-1)(-1) = 1, (-1)(1) = -1, (1)(-1) = -1, (1)(1) = 1.
    x, y = xor()
    assert x.dtype == y.dtype == np.float32
    assert x.tolist() == [[-1, -1], [-1, 1], [1, -1], [1, 1]]
    assert y.tolist() == [[1], [-1], [-1], [1]]


def test_xor_zero_one_truth_table():
    x, y = xor(encoding="01")
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [[0], [1], [1], [0]]


def test_xor_rejects_unknown_encodings():
    with pytest.raises(ValueError, match=r"xor: encoding must be 'pm1' or '01'\. Received: encoding='bool'"):
        xor(encoding="bool")


def test_parity_worked_examples():
    x, y = parity(1)
    assert x.tolist() == [[-1], [1]] and y.tolist() == [[-1], [1]]
    x, y = parity(3)
    # Row 5 is binary 101 -> [1, -1, 1]; its product 1 * -1 * 1 = -1.
    assert x[5].tolist() == [1, -1, 1] and y[5].tolist() == [-1]
    # Row 0 is [-1, -1, -1] -> (-1)^3 = -1; row 7 is [1, 1, 1] -> 1.
    assert y[0].tolist() == [-1] and y[7].tolist() == [1]


def test_parity_two_bits_is_xor():
    for got, want in zip(parity(2), xor()):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n_bits", [4, 10])
def test_parity_covers_every_input_once(n_bits):
    x, y = parity(n_bits)
    assert x.shape == (2**n_bits, n_bits) and y.shape == (2**n_bits, 1) and x.dtype == np.float32
    assert len({tuple(row) for row in x.tolist()}) == 2**n_bits
    assert set(np.unique(x).tolist()) == {-1.0, 1.0}
    # Target by counting: the product is -1 exactly when the number of -1 entries is odd.
    odd = (x == -1).sum(axis=1) % 2 == 1
    assert (y[:, 0] == np.where(odd, -1, 1)).all()


@pytest.mark.parametrize("n_bits", [0, 21, -3, 2.0, True, "3"])
def test_parity_validates_n_bits(n_bits):
    with pytest.raises(ValueError, match=rf"parity: n_bits must be an int in \[1, 20\]\. Received: n_bits={n_bits!r}"):
        parity(n_bits)
