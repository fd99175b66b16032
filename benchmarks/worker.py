"""One peer in its own process: load the data, build the model, then train one timed unit per go-ahead.

Memory is read from /proc/self/status (Linux): VmRSS after loading the data and after building
the model; then VmHWM (the peak resident set) is reset through /proc/self/clear_refs, so the
peak read after training is the training's own peak (the resident dataset included). The peak
over the whole process (loading included) is ``ru_maxrss``.
"""

from __future__ import annotations

import resource
import sys
import time
import traceback

_MB = 1024.0  # /proc and ru_maxrss report kB on Linux


def _status_mb(field: str):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) / _MB
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Make VmHWM start again from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _versions() -> dict:
    """Versions of the frameworks this process imported."""
    out = {}
    for name in ("numpy", "torch", "sklearn", "neurona"):
        module = sys.modules.get(name)
        if module is not None:
            out[name] = getattr(module, "__version__", "?")
    return out


class Gate:
    """Waits for the parent's go-ahead, then times the unit of work until ``done``."""

    def __init__(self, conn):
        self.conn, self.started, self.cpu_started = conn, None, None

    def start(self) -> None:
        message = self.conn.recv()
        if message != "go":
            raise RuntimeError(f"worker: expected 'go', got {message!r}")
        self.started, self.cpu_started = time.perf_counter(), time.process_time()

    def done(self, loss, **extra) -> None:
        seconds = time.perf_counter() - self.started
        cpu = time.process_time() - self.cpu_started  # CPU time of all this process's threads (spinning included)
        self.conn.send({"seconds": seconds, "cpu_seconds": cpu, "loss": float(loss), **extra})


def _setup(spec: dict) -> tuple:
    from . import data as data_module
    from . import peers
    from .workloads import WORKLOADS, initial_weights

    workload = WORKLOADS[spec["workload"]].with_(**spec["overrides"])
    started = time.perf_counter()
    if workload.data == "none":
        data = None
    else:
        data = data_module.load(workload.data, workload.n_train, spec["synthetic"], spec["data_dir"])
        workload = workload.with_(n_train=len(data.x))
    rss_data = _status_mb("VmRSS")
    peer = peers.get(spec["peer"])(workload, data, initial_weights(workload, spec["seed"]), spec["seed"])
    info = {"ok": True, "setup_seconds": time.perf_counter() - started, "rss_data_mb": rss_data,
            "rss_ready_mb": _status_mb("VmRSS"), "data": None if data is None else data.source,
            "n_train": workload.n_train, "versions": _versions()}
    info["peak_reset"] = _reset_peak()
    return peer, info


def main(conn, spec: dict) -> None:
    """Process entry point: ``spec`` names the workload (with overrides), the peer, seed and data options."""
    try:
        peer, info = _setup(spec)
    except NotImplementedError as exc:
        conn.send({"ok": False, "skipped": str(exc)})
        return
    except Exception:  # noqa: BLE001 (reported to the parent, which goes on with the other peers)
        conn.send({"ok": False, "error": traceback.format_exc()})
        return
    conn.send(info)
    try:
        peer.train(spec["rounds"], Gate(conn))
    except Exception:  # noqa: BLE001
        conn.send({"error": traceback.format_exc()})
        return
    if conn.recv() != "finish":
        return
    result = {"peak_train_mb": _status_mb("VmHWM") if info["peak_reset"] else None,
              "peak_total_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / _MB}
    try:
        result["accuracy"] = peer.accuracy()
    except Exception:  # noqa: BLE001
        result["accuracy_error"] = traceback.format_exc()
    conn.send(result)
