"""Fixtures for the autodiff tests: strict floating-point checking."""

import warnings

import numpy as np
import pytest


@pytest.fixture
def strict_numerics():
    """Turn every warning into an error and make NumPy raise on overflow, divide-by-zero and invalid values.

    Underflow stays ignored on purpose: exp(-2e4) flushing to 0 is the correct answer
    of a stable softmax, not a failure.
    """
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        warnings.simplefilter("error")
        yield
