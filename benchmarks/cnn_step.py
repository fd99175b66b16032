"""Time single training steps of W5's CNN in neurona (random data, batch 128): a quick probe of the machine's state.

    python -m benchmarks.cnn_step                          # BLAS threads: OpenBLAS's default (every core)
    OPENBLAS_NUM_THREADS=1 python -m benchmarks.cnn_step   # one thread: far faster when other jobs hold the cores
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from neurona import Tensor, losses, optimizers

from .peers.neurona_peer import build_cnn
from .workloads import WORKLOADS, initial_weights


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cnn_step", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    workload = WORKLOADS["W5"]
    model = build_cnn(workload, initial_weights(workload, 0))
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((workload.batch, 32, 32, 3), dtype=np.float32))
    y = rng.integers(0, 10, workload.batch)
    opt, loss = optimizers.Adam(lr=workload.lr), losses.get("cce")
    opt.bind(model.trainable_weights)
    times = []
    for _ in range(args.steps + 1):  # the first step is a warm-up
        started = time.perf_counter()
        opt.zero_grad()
        loss(model.forward(x, training=True), y).backward()
        opt.step(batch_size=workload.batch)
        times.append(time.perf_counter() - started)
    ms = [round(t * 1000) for t in times[1:]]
    print(f"W5 training step, batch {workload.batch}: {ms} ms; {workload.batch / min(times[1:]):.0f} images/s at best")
    return 0


if __name__ == "__main__":
    sys.exit(main())
