"""Shared helpers for the network-library tests: central differences over a model's weights, tiny models."""

from __future__ import annotations

import numpy as np

from neurona import Tensor, no_grad
from neurona import layers, models


def analytic_grads(model, objective) -> list:
    """``param.grad`` of every parameter after one backward pass of ``objective()`` (a scalar Tensor)."""
    for p in model.parameters:
        p.grad = None
    objective().backward()
    return [np.zeros_like(p.data) if p.grad is None else p.grad.copy() for p in model.parameters]


def numeric_grads(model, objective, eps: float = 1e-6) -> list:
    """Central differences (f(w+eps) − f(w−eps)) / 2eps of ``objective()`` for each element of each parameter."""
    grads = []
    with no_grad():
        for p in model.parameters:
            g = np.zeros_like(p.data)
            for index in np.ndindex(*p.shape):
                original = p.data[index]
                p.data[index] = original + eps
                plus = objective().item()
                p.data[index] = original - eps
                minus = objective().item()
                p.data[index] = original
                g[index] = (plus - minus) / (2 * eps)
            grads.append(g)
    return grads


def assert_grads_match(model, objective, rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """Every parameter's backward gradient equals its central-difference estimate (float64 models)."""
    assert model.dtype == np.float64, "gradient checks need a float64 model"
    analytic, numeric = analytic_grads(model, objective), numeric_grads(model, objective)
    assert len(analytic) == len(model.parameters) > 0
    for p, a, n in zip(model.parameters, analytic, numeric):
        np.testing.assert_allclose(a, n, rtol=rtol, atol=atol, err_msg=f"gradient of {p.name}")
        assert np.any(n != 0), f"{p.name}: the check is vacuous, the loss does not depend on it"


def mlp(sizes=(3, 4, 2), hidden="tanh", output="linear", seed=0, dtype="float64", **dense_kwargs):
    """A Network of Dense layers: ``sizes`` = (input_dim, hidden..., outputs), built with ``seed``."""
    model = models.Network(seed=seed, dtype=dtype)
    model.add(layers.Dense(sizes[1], activation=hidden if len(sizes) > 2 else output, input_dim=sizes[0],
                           **dense_kwargs))
    for i, units in enumerate(sizes[2:]):
        model.add(layers.Dense(units, activation=output if i == len(sizes) - 3 else hidden, **dense_kwargs))
    model.build()
    return model


def forward(model, x, training: bool = False) -> Tensor:
    return model.forward(Tensor(np.asarray(x, dtype=model.dtype)), training=training)


def shuffle_order(seed: int):
    """The generator fit() shuffles with, written out independently of training._streams."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
