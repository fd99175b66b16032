"""A tiny training run for the reliability tests to start, interrupt, kill and resume as a subprocess.

It prints ``step <epoch> <step>`` after every training step (so a test can send a signal after
a chosen number of steps), ``writing`` when a slowed-down checkpoint write begins, and at the
end ``done stopped=<reason> interrupted=<signal>``. The final weights and history go to --out
(an .npz of float arrays plus the history as JSON bytes, no pickle).

    python tests/reliability/_train_script.py --out result.npz --checkpoint ckpt.npz [--epochs 6]
        [--model-file model.npz] [--step-delay 0.01] [--slow-write 0.002]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time

import numpy as np

from neurona import callbacks, layers, losses, models, optimizers

N_SAMPLES, N_FEATURES, N_CLASSES, BATCH_SIZE = 48, 6, 3, 8  # 6 steps per epoch


def data() -> tuple:
    """Fixed tiny data: 48 training and 12 test samples, 6 features, 3 classes."""
    rng = np.random.default_rng(123)
    x = rng.normal(size=(N_SAMPLES + 12, N_FEATURES)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, size=N_SAMPLES + 12)
    return (x[:N_SAMPLES], y[:N_SAMPLES]), (x[N_SAMPLES:], y[N_SAMPLES:])


def build(width: int = 16) -> models.Network:
    """Dense → Dropout → Dense: weights, optimizer slots and a dropout generator all need restoring."""
    model = models.Network(seed=7)
    model.add(layers.Dense(width, activation="tanh", input_dim=N_FEATURES))
    model.add(layers.Dropout(0.25))
    model.add(layers.Dense(N_CLASSES))
    return model


class PrintSteps(callbacks.Callback):
    """One line per step, flushed at once; optionally a pause so signals land mid-training."""

    def __init__(self, delay: float):
        self.delay, self.epoch = delay, 0

    def on_batch_end(self, step, logs):
        print(f"step {self.epoch + 1} {step + 1}", flush=True)
        if self.delay:
            time.sleep(self.delay)

    def on_epoch_end(self, epoch, logs):
        self.epoch = epoch + 1


def slow_down_writes(pause: float):
    """Make every np.savez (checkpoints, model files) trickle out in 256-byte pieces; returns the real one."""
    real_savez = np.savez

    def slow_savez(file, **arrays):
        buffer = io.BytesIO()
        real_savez(buffer, **arrays)
        raw = buffer.getvalue()
        print("writing", flush=True)
        for start in range(0, len(raw), 256):
            file.write(raw[start:start + 256])
            file.flush()
            time.sleep(pause)

    np.savez = slow_savez
    return real_savez


def train(epochs: int, checkpoint=None, model_file=None, step_delay: float = 0.0, width: int = 16):
    """Train the tiny model; returns (model, history)."""
    (x, y), test = data()
    model = build(width)
    extra = [callbacks.ModelCheckpoint(model_file)] if model_file else []
    history = model.fit(x, y, test_data=test, epochs=epochs, loss=losses.CCE(), opt=optimizers.Adam(lr=0.01),
                        batch_size=BATCH_SIZE, callbacks=[PrintSteps(step_delay), *extra], verbose=0, seed=11,
                        checkpoint=checkpoint)
    return model, history


def write_result(path, model, history) -> None:
    from neurona._files import atomic_write

    arrays = {f"w{i}": p.data for i, p in enumerate(model.parameters)}
    record = {"epoch": history.epoch, "history": history.history, "stopped": history.stopped,
              "interrupted": history.interrupted}
    arrays["history"] = np.frombuffer(json.dumps(record).encode(), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def read_result(path) -> tuple:
    """(list of weight arrays, history record dict) from a --out file."""
    with np.load(path, allow_pickle=False) as archive:
        record = json.loads(archive["history"].tobytes().decode())
        weights = [archive[f"w{i}"] for i in range(len(archive.files) - 1)]
    return weights, record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--model-file", default=None)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--step-delay", type=float, default=0.0)
    parser.add_argument("--slow-write", type=float, default=0.0, help="seconds to pause per 256 bytes written")
    args = parser.parse_args(argv)
    real_savez = slow_down_writes(args.slow_write) if args.slow_write else np.savez
    model, history = train(args.epochs, args.checkpoint, args.model_file, args.step_delay, args.width)
    np.savez = real_savez
    write_result(args.out, model, history)
    print(f"done stopped={history.stopped} interrupted={history.interrupted}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
