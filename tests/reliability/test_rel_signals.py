"""Interrupt and resume: SIGINT/SIGTERM at random steps, SIGKILL during checkpoint writes, then resume bit for bit.

Every run is a subprocess of ``_train_script.py`` (6 epochs × 6 steps of a tiny Dense → Dropout →
Dense network with Adam). The reference is the same run, uninterrupted and without checkpoints.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurona import checkpoints, models

SCRIPT = Path(__file__).with_name("_train_script.py")
EPOCHS, STEPS = 6, 6  # _train_script: 48 samples, batch 8
TIMEOUT = 60

sys.path.insert(0, str(SCRIPT.parent))
from _train_script import read_result  # noqa: E402


_STARTED: list = []


@pytest.fixture(autouse=True)
def _no_stray_processes():
    """A failing test must not leave its training subprocess running."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _start(folder: Path, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-u", str(SCRIPT), *args], cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _STARTED.append(proc)
    return proc


def _run(folder: Path, *args: str) -> tuple:
    """Run the script to the end; (weights, history record)."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", "result.npz", *args], cwd=folder,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return read_result(folder / "result.npz")


def _wait_for(proc: subprocess.Popen, prefix: str, count: int) -> None:
    """Read stdout until the ``count``-th line starting with ``prefix``."""
    seen = 0
    while seen < count:
        line = proc.stdout.readline()
        assert line, f"the script ended before {count} '{prefix}' lines: {proc.stderr.read()}"
        seen += line.startswith(prefix)


def _assert_same_run(got: tuple, want: tuple) -> None:
    (got_w, got_record), (want_w, want_record) = got, want
    assert len(got_w) == len(want_w)
    for a, b in zip(got_w, want_w):
        assert a.dtype == b.dtype and np.array_equal(a, b)  # bit for bit, not approximately
    assert got_record["epoch"] == want_record["epoch"]
    assert got_record["history"] == want_record["history"]  # floats through JSON round-trip exactly


def _assert_no_torn_files(folder: Path) -> list:
    """Every checkpoint/model file present loads; anything else is a leftover temporary file. Returns those."""
    leftovers = []
    for path in folder.iterdir():
        if path.name == "ckpt.npz":
            assert checkpoints.read(path)["state"]["run"]["epochs_done"] >= 1
        elif path.name == "model.npz":
            assert len(models.load(path).parameters) == 4
        elif path.name in ("result.npz", "interrupted.npz"):
            read_result(path)
        else:
            # a kill can also land in the script's own atomic write of its result once training is done
            assert re.fullmatch(r"\.(ckpt|model|result)\.npz\.\w+\.tmp", path.name), path.name
            leftovers.append(path.name)
    return leftovers


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple:
    """The uninterrupted run: no checkpoint file at all."""
    return _run(tmp_path_factory.mktemp("reference"), "--epochs", str(EPOCHS))


@pytest.mark.parametrize("trial", range(2))
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_at_a_random_step_then_resume_equals_the_uninterrupted_run(tmp_path, reference, sig, trial):
    after = random.Random(f"{sig.name}-{trial}").randint(1, EPOCHS * STEPS - 2)  # seeded: reproducible
    proc = _start(tmp_path, "--out", "interrupted.npz", "--checkpoint", "ckpt.npz", "--epochs", str(EPOCHS),
                  "--step-delay", "0.005")
    _wait_for(proc, "step", after)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err  # a clean return from fit, not a traceback
    assert f"interrupted={sig.name}" in out

    weights, record = read_result(tmp_path / "interrupted.npz")
    epoch, step = map(int, re.search(r"at epoch (\d+), step (\d+)", record["stopped"]).groups())
    assert (epoch - 1) * STEPS + step >= after  # it stopped after the step the signal arrived in
    assert record["epoch"] == list(range(epoch - 1))  # only complete epochs are kept …
    want = {k: v[:epoch - 1] for k, v in reference[1]["history"].items() if epoch > 1}
    assert record["history"] == want  # … and they are the uninterrupted run's
    if epoch > 1:
        meta = checkpoints.read(tmp_path / "ckpt.npz")["state"]["run"]
        assert meta["epochs_done"] == epoch - 1
    else:  # stopped within the first epoch: no checkpoint was due yet
        assert not (tmp_path / "ckpt.npz").exists()

    resumed = _run(tmp_path, "--checkpoint", "ckpt.npz", "--epochs", str(EPOCHS))
    _assert_same_run(resumed, reference)
    assert resumed[1]["stopped"] is None
    assert _assert_no_torn_files(tmp_path) == []


def test_a_finished_run_started_again_changes_nothing(tmp_path, reference):
    first = _run(tmp_path, "--checkpoint", "ckpt.npz", "--epochs", str(EPOCHS))
    again = _run(tmp_path, "--checkpoint", "ckpt.npz", "--epochs", str(EPOCHS))
    _assert_same_run(first, reference)  # checkpointing itself does not change the run
    _assert_same_run(again, reference)


def test_sigkill_during_checkpoint_writes_never_leaves_a_torn_file(tmp_path, reference):
    rng = random.Random(20240601)
    killed_mid_write = 0
    for trial in range(4):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        # Each epoch writes the model file (ModelCheckpoint), then the checkpoint: 2 writes per epoch,
        # each slowed to ~30 pieces with a 1 ms pause, so a kill shortly after "writing" lands inside one.
        proc = _start(folder, "--out", "result.npz", "--checkpoint", "ckpt.npz", "--model-file", "model.npz",
                      "--epochs", str(EPOCHS), "--slow-write", "0.001")
        _wait_for(proc, "writing", rng.randint(1, 2 * EPOCHS - 1))
        time.sleep(rng.uniform(0.0, 0.02))
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == -signal.SIGKILL
        killed_mid_write += bool(_assert_no_torn_files(folder))

        _assert_same_run(_run(folder, "--checkpoint", "ckpt.npz", "--model-file", "model.npz", "--epochs",
                              str(EPOCHS)), reference)
    assert killed_mid_write >= 1  # the kills really did interrupt writes (their temporary files were left)


def test_sigkill_at_random_moments_of_a_fast_run(tmp_path, reference):
    rng = random.Random(7)
    for trial in range(3):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        proc = _start(folder, "--out", "result.npz", "--checkpoint", "ckpt.npz", "--model-file", "model.npz",
                      "--epochs", str(EPOCHS))
        _wait_for(proc, "step", 1)
        time.sleep(rng.uniform(0.0, 0.05))
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
        _assert_no_torn_files(folder)
        _assert_same_run(_run(folder, "--checkpoint", "ckpt.npz", "--model-file", "model.npz", "--epochs",
                              str(EPOCHS)), reference)


def test_a_second_ctrl_c_during_a_write_aborts_and_removes_the_temporary_file(tmp_path):
    proc = _start(tmp_path, "--out", "result.npz", "--checkpoint", "ckpt.npz", "--epochs", str(EPOCHS),
                  "--slow-write", "0.002")
    _wait_for(proc, "writing", 2)  # the second checkpoint write: the first one is on disk
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)  # a run that does not stop: the second Ctrl-C raises KeyboardInterrupt
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert _assert_no_torn_files(tmp_path) == []  # the interrupted write cleaned up after itself
    meta = checkpoints.read(tmp_path / "ckpt.npz")["state"]["run"]
    assert meta["epochs_done"] == 1  # the old checkpoint, intact


def test_the_script_really_is_interruptible_only_inside_fit(tmp_path):
    # Control: without StopOnSignal (before fit starts), SIGTERM kills the process outright.
    proc = subprocess.Popen([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
                            stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGTERM
