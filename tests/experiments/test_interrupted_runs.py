"""neurona run under SIGINT/SIGTERM: the run stops, says so in summary.json, and --resume completes it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = """
import sys
from neurona.experiments import parity, xor
name, out, resume = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
module = {"xor": xor, "parity": parity}[name]
config = {"xor": xor.Config(epochs=4000, seeds=40),  # long enough to be running when the signal comes
          "parity": parity.Config(epochs=1500, seeds=3, width_n=(2,), hidden_values=(2, 3), n_values=(3, 4, 5, 6),
                                  narrow_hidden=())}[name]
print("started", flush=True)
module.run(config, out, verbose=0, resume=resume)
"""


def _run(name, out, resume=False, signal_after=None):
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, name, str(out), "1" if resume else "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "started"
        if signal_after is not None:
            time.sleep(signal_after[1])
            process.send_signal(signal_after[0])
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, err
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_xor_interrupted_writes_a_summary_that_says_so(tmp_path, sig):
    summary = _run("xor", tmp_path / "xor", signal_after=(sig, 1.5))
    assert summary["results"]["interrupted"] == signal.Signals(sig).name
    assert summary["results"]["seeds_completed"] < 40
    assert summary["headline"][0].startswith("INTERRUPTED")


def test_parity_interrupted_then_resumed_equals_an_uninterrupted_run(tmp_path):
    stopped = _run("parity", tmp_path / "a", signal_after=(signal.SIGINT, 1.0))
    assert stopped["results"]["interrupted"] == "SIGINT"
    assert stopped["results"]["runs_completed"] < stopped["results"]["runs_total"]
    resumed = _run("parity", tmp_path / "a", resume=True)
    straight = _run("parity", tmp_path / "b")
    assert resumed["results"]["table"] == straight["results"]["table"]
    assert "interrupted" not in resumed["results"]
