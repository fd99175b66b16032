"""Where neurona's training time goes: cProfile of ``fit`` and a phase-by-phase timing of its steps.

Run from the repository root::

    NEURONA_DATA=/work/shared/data python -m benchmarks.profile W1 --epochs 2
    python -m benchmarks.profile W4-xor --top 30

The phase timing replays exactly the calls of ``Trainer._train_epoch``/``_train_step``
(gather, forward, loss + penalty, backward, gradient check, optimizer step, accuracy)
with a clock around each; the matmul share comes from timing the same products alone.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time

import numpy as np

from . import data as data_module
from .peers import neurona_peer
from .peers.floor_peer import Peer as FloorPeer
from .workloads import WORKLOADS, initial_weights


_clock = time.perf_counter  # --cpu-time: time.thread_time, this thread's CPU time (needs 1 BLAS thread)


class _Clock:
    def __init__(self):
        self.totals, self.last = {}, _clock()

    def lap(self, phase: str) -> None:
        now = _clock()
        self.totals[phase] = self.totals.get(phase, 0.0) + now - self.last
        self.last = now


def phases(peer, epochs: int) -> dict:
    """Seconds per epoch in each phase of neurona's training step (the body of Trainer._train_step)."""
    from neurona.training import _check_gradients, _Plan

    w, d, model = peer.workload, peer.data, peer.model
    plan = _Plan.make(model, d.x, d.y, peer.loss, peer.opt, peer.reg, w.batch, peer.seed)
    clock = _Clock()
    for epoch in range(epochs):
        clock.last = _clock()
        for _ in range(w.steps_per_round):
            order = plan.rng.permutation(len(d.x))
            for step, start in enumerate(range(0, len(d.x), plan.batch_size)):
                rows = order[start:start + plan.batch_size]
                xb, yb = model.batch(d.x[rows]), d.y[rows]
                clock.lap("gather the batch")
                plan.opt.zero_grad()
                out = model.forward(xb, training=True)
                clock.lap("forward")
                value = plan.loss(out, yb)
                if plan.reg is not None:
                    value = value + plan.reg(model.regularized_weights)
                value.item()
                clock.lap("loss (+ penalty)")
                value.backward()
                clock.lap("backward")
                _check_gradients(model.parameters, epoch, step)
                clock.lap("gradient check")
                plan.opt.step(batch_size=len(xb))
                clock.lap("optimizer step")
                plan.accuracy.total(out.data, yb)
                clock.lap("accuracy")
    return {phase: seconds / epochs for phase, seconds in clock.totals.items()}


def floor_seconds(peer, epochs: int) -> float:
    """Seconds per epoch of the same matmuls alone."""
    floor = FloorPeer(peer.workload, None, None, 0)

    class _Gate:
        def start(self): self.t = _clock()
        def done(self, loss): self.seconds = _clock() - self.t

    gate, total = _Gate(), 0.0
    for _ in range(epochs):
        floor.train(1, gate)
        total += gate.seconds
    return total / epochs


def profile(peer, epochs: int, top: int) -> str:
    """cProfile of ``fit`` for ``epochs`` rounds, the ``top`` functions by own time."""
    w, d = peer.workload, peer.data
    profiler = cProfile.Profile()
    profiler.enable()
    peer.model.fit(d.x, d.y, epochs=epochs * w.steps_per_round, loss=peer.loss, opt=peer.opt, reg=peer.reg,
                   batch_size=w.batch, verbose=0, seed=peer.seed)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=[n for n in WORKLOADS if n != "matmul"])
    parser.add_argument("--epochs", type=int, default=2, help="epochs (rounds for W4) per measurement")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-cprofile", action="store_true")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time phases by this thread's CPU time (steadier on a busy machine; set OPENBLAS_NUM_THREADS=1)")
    args = parser.parse_args(argv)
    if args.cpu_time:
        global _clock
        _clock = time.thread_time
    workload = WORKLOADS[args.workload]
    if args.n_train:
        workload = workload.with_(n_train=args.n_train)
    data = data_module.load(workload.data, workload.n_train)
    workload = workload.with_(n_train=len(data.x))
    peer = neurona_peer.Peer(workload, data, initial_weights(workload, 0), 0)
    print(f"{workload.name}: {workload.title}\ndata: {data.source}")
    peer.model.fit(data.x, data.y, epochs=1, loss=peer.loss, opt=peer.opt, reg=peer.reg, batch_size=workload.batch,
                   verbose=0, seed=1)  # warm-up
    unit = "round" if workload.per_step else "epoch"
    timed = phases(peer, args.epochs)
    total = sum(timed.values())
    print(f"\nphases of the training step, seconds per {unit} (total {total:.4f} s):")
    for phase, seconds in sorted(timed.items(), key=lambda item: -item[1]):
        print(f"  {phase:<18} {seconds:9.4f} s  {seconds / total:6.1%}")
    if not workload.per_step:
        matmuls = floor_seconds(peer, args.epochs)
        print(f"  (the same matmuls alone: {matmuls:.4f} s = {matmuls / total:.1%} of the step time)")
    if not args.no_cprofile:
        print(profile(peer, args.epochs, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
