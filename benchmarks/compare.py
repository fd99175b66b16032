"""Train the same networks with neurona, PyTorch, scikit-learn and plain NumPy, alternating, and compare.

Run from the repository root (see benchmarks/README.md)::

    NEURONA_DATA=/work/shared/data python -m benchmarks.compare --json results.json
    python -m benchmarks.compare --workloads W1 W4 --epochs 3
    python -m benchmarks.compare --quick          # a smoke test of every workload and peer

Each peer runs in its own process (its own peak memory, its own thread pools). The parent
alternates them: epoch 1 of every peer, then epoch 2 of every peer, …, rotating who goes
first, so a drift in the machine's speed hits all peers alike. Times are medians over the
timed epochs; neurona's speed ratio to a peer is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from . import report, worker
from .workloads import WORKLOADS, expand

DEFAULT_PEERS = {"W1": ("neurona", "neurona-eager", "torch", "sklearn", "numpy", "floor"),
                 "W2": ("neurona", "neurona-eager", "torch", "sklearn", "numpy", "floor"),
                 "W3": ("neurona", "neurona-eager", "torch", "sklearn", "numpy", "floor"),
                 "W4-xor": ("neurona", "neurona-eager", "neurona-loop", "torch", "numpy"),
                 "W4-parity": ("neurona", "neurona-eager", "neurona-loop", "torch", "numpy"),
                 "W5": ("neurona", "torch"),
                 "matmul": ("matmul-numpy", "matmul-torch")}
SETUP_TIMEOUT, UNIT_TIMEOUT = 900, 1800  # seconds a worker may take to load / to run one timed unit


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["W1", "W2", "W3", "W4", "matmul"],
                        help="any of W1 W2 W3 W4 (= W4-xor W4-parity) W5 matmul (default: all but W5)")
    parser.add_argument("--peers", nargs="+", default=None, help="restrict to these peers (default: all that apply)")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per peer for W1-W3 (default 5, 20, 3)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds for W4 and matmul (default 10, 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    parser.add_argument("--n-train", type=int, default=None, help="training images for W1 and W3 (W2: at most 5,000)")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds of rest between two peers' rounds (default 0.2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads per peer (default: every core); 1 compares single cores on a busy machine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synthetic", action="store_true", help="use synthetic data even if CIFAR-10 is there")
    parser.add_argument("--data-dir", default=None, help="CIFAR-10 folder (default: $NEURONA_DATA, else the cache)")
    parser.add_argument("--json", type=Path, default=None, help="write every number to this JSON file")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 2,000 images, 2 epochs, short W4")
    return parser.parse_args(argv)


def overrides(name: str, args) -> dict:
    """Changes to a workload's defaults from the command line."""
    workload, out = WORKLOADS[name], {}
    if args.quick:
        out = {"n_train": min(workload.n_train, 2000), "rounds": 2, "steps_per_round": min(workload.steps_per_round, 50)}
        if name == "matmul":
            out = {"rounds": 2}
    if args.n_train is not None and workload.data.startswith("cifar10"):
        out["n_train"] = min(args.n_train, 5000) if name == "W2" else args.n_train
    if args.epochs is not None and workload.data.startswith("cifar10"):
        out["rounds"] = args.epochs
    if args.repeats is not None and not workload.data.startswith("cifar10"):
        out["rounds"] = args.repeats
    return out


class Worker:
    """A peer's process and the parent's end of its pipe."""

    def __init__(self, context, spec: dict):
        self.peer, (self.conn, child) = spec["peer"], context.Pipe()
        self.process = context.Process(target=worker.main, args=(child, spec), daemon=True)
        self.process.start()
        child.close()
        self.info, self.answers, self.result, self.failure = {}, [], {}, None

    def receive(self, timeout: float) -> dict:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"{self.peer}: no answer within {timeout:.0f} s")
        return self.conn.recv()

    def close(self) -> None:
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()


def _start(name: str, peers: list, args, overrides_: dict) -> list:
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no framework leaks into another peer
    rounds = overrides_.get("rounds", WORKLOADS[name].rounds) + args.warmup
    workers = []
    for peer in peers:
        spec = {"workload": name, "overrides": overrides_, "peer": peer, "seed": args.seed, "rounds": rounds,
                "synthetic": args.synthetic, "data_dir": args.data_dir}
        workers.append(Worker(context, spec))
    ready = []
    for w in workers:
        try:
            w.info = w.receive(SETUP_TIMEOUT)
        except (TimeoutError, EOFError) as exc:
            w.info = {"ok": False, "error": str(exc)}
        if w.info.get("ok"):
            ready.append(w)
        else:
            w.failure = w.info.get("skipped") and "skipped: " + w.info["skipped"] or w.info.get("error")
            print(f"  {w.peer}: {w.failure.strip().splitlines()[-1]}", file=sys.stderr)
            w.close()
    return workers, ready, rounds


def _alternate(ready: list, rounds: int, gap: float) -> None:
    """Round r: every live peer runs one unit, starting with peer r mod n."""
    for r in range(rounds):
        live = [w for w in ready if w.failure is None]
        shift = r % max(len(live), 1)
        for w in live[shift:] + live[:shift]:
            w.conn.send("go")
            try:
                answer = w.receive(UNIT_TIMEOUT)
            except (TimeoutError, EOFError) as exc:
                answer = {"error": str(exc)}
            if "error" in answer:
                w.failure = answer["error"]
                print(f"  {w.peer} failed: {w.failure.strip().splitlines()[-1]}", file=sys.stderr)
                continue
            w.answers.append(answer)
            time.sleep(gap)  # idle BLAS/OpenMP threads of the last peer stop spinning before the next one starts


def _finish(ready: list) -> None:
    for w in ready:
        if w.failure is None:
            w.conn.send("finish")
            try:
                w.result = w.receive(SETUP_TIMEOUT)
            except (TimeoutError, EOFError) as exc:
                w.failure = str(exc)
        w.close()


def run_workload(name: str, args) -> dict:
    """Alternate the peers on one workload; return its summary (see report.summarize)."""
    changes = overrides(name, args)
    workload = WORKLOADS[name].with_(**changes)
    peers = [p for p in DEFAULT_PEERS[name] if args.peers is None or p in args.peers]
    print(f"\n{name}: {workload.title}", flush=True)
    workers, ready, rounds = _start(name, peers, args, changes)
    _alternate(ready, rounds, args.gap)
    _finish(ready)
    return report.summarize(name, workload, workers, args.warmup)


def machine() -> dict:
    """What the numbers were measured on."""
    model = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                  if line.startswith("model name")), platform.processor())
    blas = {}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # noqa: BLE001 (older NumPy: no dict mode)
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform(), "numpy": np.__version__,
            "numpy_blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
            "threads": os.environ.get("OPENBLAS_NUM_THREADS", "all cores"),
            "loadavg_start": os.getloadavg()}


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:  # read by OpenBLAS, MKL and OpenMP when a peer's process loads them
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(args.threads)
    try:
        names = expand(args.workloads)
    except ValueError as exc:
        print(f"benchmarks.compare: {exc}", file=sys.stderr)
        return 2
    command = "python -m benchmarks.compare " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    results = {"command": command.strip(), "machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
               "workloads": {}}
    started = time.perf_counter()
    for name in names:
        results["workloads"][name] = summary = run_workload(name, args)
        print(report.table(summary), flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["versions"] = report.versions(results)
    print(report.footer(results))
    if args.json is not None:
        from neurona._files import atomic_write

        with atomic_write(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
