"""Tiny synthetic problems from the practical: XOR on ±1 inputs and its n-bit generalisation (parity)."""

from __future__ import annotations

import numpy as np

from ._messages import echo

MAX_PARITY_BITS = 20  # 2**20 rows x 20 columns of float32 is already 80 MB


def xor(encoding: str = "pm1") -> tuple[np.ndarray, np.ndarray]:
    """The XOR data set of the practical's exercise 6: four inputs and their targets, float32.

    encoding="pm1" (default) reproduces the practical's code listing exactly::

        x = [[-1, -1], [-1, 1], [1, -1], [1, 1]]
        y = [[1], [-1], [-1], [1]]

    that is, y is the *product* of the two inputs: equal inputs give 1, different inputs give -1.
    (The practical's prose states the opposite sign, "equal inputs give -1"; we follow its code.
    Reading -1 as "true", the product is exactly XOR.)

    encoding="01" gives the classic truth table: x in {0, 1}, y = x1 XOR x2 = [[0], [1], [1], [0]].

    Returns:
        (x, y) with shapes (4, 2) and (4, 1).
    """
    if not isinstance(encoding, str) or encoding not in ("pm1", "01"):
        raise ValueError(f"xor: encoding must be 'pm1' or '01'. Received: encoding={echo(encoding)}")
    if encoding == "pm1":
        return parity(2)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return x, np.array([[0], [1], [1], [0]], dtype=np.float32)


def parity(n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """All 2**n_bits inputs in {-1, 1}^n_bits with target the product of their entries (exercise 7).

    Rows count in binary with -1 for 0 and the first column most significant, so parity(2) is
    exactly xor(). Float32.

    Returns:
        (x, y) with shapes (2**n_bits, n_bits) and (2**n_bits, 1).

    Example:
        >>> x, y = parity(3)   # x[5] = [1, -1, 1] (binary 101), y[5] = [-1] (1 * -1 * 1)
    """
    if not isinstance(n_bits, (int, np.integer)) or isinstance(n_bits, bool) or not 1 <= n_bits <= MAX_PARITY_BITS:
        raise ValueError(f"parity: n_bits must be an int in [1, {MAX_PARITY_BITS}]. Received: n_bits={echo(n_bits)}")
    n_bits = int(n_bits)
    shifts = np.arange(n_bits - 1, -1, -1)  # first column holds the most significant bit
    bits = (np.arange(2**n_bits)[:, None] >> shifts) & 1
    x = (2 * bits - 1).astype(np.float32)  # 0 -> -1, 1 -> +1
    return x, np.prod(x, axis=1, keepdims=True)
