"""Where a captured W1 step's time goes: each phase of fit's step timed on its own, beside the matmuls alone.

    NEURONA_DATA=/path/to/cifar10 python -m benchmarks.capture_phases            # BLAS on every core
    OPENBLAS_NUM_THREADS=1 python -m benchmarks.capture_phases                    # one BLAS thread

It builds W1 (3072-100 sigmoid-10, CCE, L2 1e-3, SGD, batch 128) the way fit does (``training._Plan``),
then times 200 steps phase by phase: the gather of the batch's rows, forward, backward, the gradient
check, the update with its checks, and the accuracy; then the same five matmuls on their own.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurona import layers, models, optimizers, regularizers, training

from .data import load


def phases(x: np.ndarray, y: np.ndarray, steps: int = 200, batch: int = 128) -> dict:
    """Microseconds per step in each phase of the captured W1 step, and of its matmuls alone."""
    model = models.Network(seed=1)
    model.add(layers.Dense(100, activation="sigmoid", input_dim=x.shape[1]))
    model.add(layers.Dense(10))
    plan = training._Plan.make(model, x, y, "cce", optimizers.SGD(0.128), regularizers.L2(1e-3), batch, 0)
    engine, clock = plan.engine, time.perf_counter
    totals = dict.fromkeys(("forward", "backward", "gradient check", "update and checks", "accuracy"), 0.0)
    order = np.random.default_rng(1).permutation(len(x))
    for k, (_, xb, yb) in enumerate(engine.batches(x, y, order, batch)):
        if k == steps:
            break
        t0 = clock()
        _, out = engine.forward(xb, yb)
        t1 = clock()
        engine.backward()
        t2 = clock()
        engine.first_bad_gradient()
        t3 = clock()
        engine.save_weights()
        engine.update(batch)
        engine.first_bad_weight()
        t4 = clock()
        plan.accuracy.total(out, yb)
        t5 = clock()
        for key, seconds in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            totals[key] += seconds
    start = clock()
    for k in range(steps):
        engine._gather(x, order[k * batch:(k + 1) * batch], 0)
    result = {"gather": clock() - start, **totals}
    w1, w2 = model.layers[0].kernel.data, model.layers[1].kernel.data
    xb, h, g1, g2 = x[:batch], np.ones((batch, 100), x.dtype), np.ones((batch, 100), x.dtype), np.ones((batch, 10), x.dtype)
    start = clock()
    for _ in range(steps):
        xb @ w1, h @ w2, h.T @ g2, g2 @ w2.T, xb.T @ g1
    result["matmuls alone"] = clock() - start
    return {key: seconds / steps * 1e6 for key, seconds in result.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capture_phases", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--synthetic", action="store_true", help="synthetic data even if CIFAR-10 is there")
    args = parser.parse_args(argv)
    data = load("cifar10", n_train=50000, synthetic_data=args.synthetic)
    for key, micros in phases(data.x, data.y, args.steps).items():
        print(f"{key:18s} {micros:8.0f} µs per step")


if __name__ == "__main__":
    main()
