"""Turn the workers' raw timings into summaries (medians, rates, ratios, memory) and text tables."""

from __future__ import annotations

import statistics

from .peers.matmul_peer import shapes as matmul_shapes
from .workloads import epoch_flops, flops


def _median(values):
    return statistics.median(values) if values else None


def _row(w, workload, warmup: int) -> dict:
    """One peer's numbers: timed rounds are those after the warm-up."""
    row = {"peer": w.peer, "status": "ok" if w.failure is None else w.failure.strip().splitlines()[-1],
           "data": w.info.get("data"), "versions": w.info.get("versions", {}),
           "rss_data_mb": w.info.get("rss_data_mb"), "rss_ready_mb": w.info.get("rss_ready_mb"),
           "peak_train_mb": w.result.get("peak_train_mb"), "peak_total_mb": w.result.get("peak_total_mb"),
           "accuracy": w.result.get("accuracy"), "setup_seconds": w.info.get("setup_seconds"),
           "warmup_seconds": [a["seconds"] for a in w.answers[:warmup]],
           "seconds": [a["seconds"] for a in w.answers[warmup:]],
           "cpu_seconds": [a.get("cpu_seconds") for a in w.answers[warmup:]],
           "losses": [a["loss"] for a in w.answers]}
    if w.failure and w.failure.startswith("skipped"):
        row["status"] = w.failure
    median = _median(row["seconds"])
    row["median_seconds"] = median
    row["median_cpu_seconds"] = _median([c for c in row["cpu_seconds"] if c is not None])
    if median:
        row["min_seconds"], row["max_seconds"] = min(row["seconds"]), max(row["seconds"])
        if workload.per_step:
            row["steps_per_second"] = workload.steps_per_round / median
            row["microseconds_per_step"] = 1e6 * median / workload.steps_per_round
        else:
            row["images_per_second"] = w.info.get("n_train", workload.n_train) / median
            row["gflops"] = epoch_flops(workload.with_(n_train=w.info.get("n_train", workload.n_train))) / median / 1e9
    return row


def _paired_ratio(reference: list, other: list):
    """Median over rounds of other/reference: >1 means the reference (neurona) was faster."""
    pairs = [b / a for a, b in zip(reference, other) if a and b]
    return _median(pairs)


def summarize(name: str, workload, workers: list, warmup: int) -> dict:
    """The workload's rows, and neurona's speed ratio to each peer from the same rounds."""
    if name == "matmul":
        return _summarize_matmul(workload, workers, warmup)
    rows = [_row(w, workload, warmup) for w in workers]
    by_peer = {r["peer"]: r for r in rows}
    reference = by_peer.get("neurona", {}).get("seconds", [])
    for row in rows:
        if row["peer"] != "neurona" and row["seconds"] and reference:
            row["neurona_speedup"] = _paired_ratio(reference, row["seconds"])
    data = next((r["data"] for r in rows if r["data"]), None)
    return {"name": name, "title": workload.title, "data": data, "rounds_timed": workload.rounds,
            "warmup": warmup, "steps_per_round": workload.steps_per_round, "per_step": workload.per_step,
            "n_train": workload.n_train, "epoch_gflop": None if workload.per_step else epoch_flops(workload) / 1e9,
            "rows": rows}


def _summarize_matmul(workload, workers: list, warmup: int) -> dict:
    products = matmul_shapes()
    for product in products:
        product["gflop"] = flops([(product["kind"], product["left"], product["right"])]) / 1e9
    rows = []
    for w in workers:
        per_round = [a["per_call"] for a in w.answers[warmup:]]
        library = w.peer.split("-", 1)[1]
        rows.append({"peer": w.peer, "status": "ok" if w.failure is None else w.failure.strip().splitlines()[-1],
                     "versions": w.info.get("versions", {})})
        for index, product in enumerate(products):
            seconds = _median([r[index] for r in per_round])
            product[f"{library}_seconds"] = seconds
            product[f"{library}_gflops"] = product["gflop"] / seconds if seconds else None
    return {"name": "matmul", "title": workload.title, "rounds_timed": workload.rounds, "warmup": warmup,
            "products": products, "rows": rows}


# ----- text -----
def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def table(summary: dict) -> str:
    if summary["name"] == "matmul":
        return _matmul_table(summary)
    per_step = summary["per_step"]
    unit = f"rounds of {summary['steps_per_round']} full-batch steps" if per_step else "epochs"
    lines = [f"data: {summary['data']}",
             f"{summary['rounds_timed']} timed {unit} per peer after {summary['warmup']} warm-up, alternating; medians"]
    head = ["peer", "µs/step" if per_step else "s/epoch", "min-max", "CPU", "steps/s" if per_step else "images/s",
            "" if per_step else "GFLOP/s", "peak MB", "data MB", "acc", "neurona ×"]
    body = []
    for r in summary["rows"]:
        if r["median_seconds"] is None:
            body.append([r["peer"], r["status"][:90]])
            continue
        scale = 1e6 / summary["steps_per_round"] if per_step else 1
        speed = r.get("steps_per_second") if per_step else r.get("images_per_second")
        body.append([r["peer"], _fmt(r["median_seconds"] * scale, ".1f" if per_step else ".3f"),
                     f"{r['min_seconds'] * scale:.{1 if per_step else 2}f}-{r['max_seconds'] * scale:.{1 if per_step else 2}f}",
                     _fmt(r["median_cpu_seconds"] and r["median_cpu_seconds"] * scale, ".1f" if per_step else ".3f"),
                     _fmt(speed, ",.0f"), "" if per_step else _fmt(r.get("gflops"), ".1f"),
                     _fmt(r["peak_train_mb"], ",.0f"), _fmt(r["rss_data_mb"], ",.0f"),
                     "" if r["accuracy"] is None or r["accuracy"] != r["accuracy"] else f"{r['accuracy']:.3f}",
                     _ratio_text(r)])
    return _layout(head, body, lines)


def _ratio_text(row: dict) -> str:
    ratio = row.get("neurona_speedup")
    if ratio is None:
        return "" if row["peer"] != "neurona" else "1"
    if row["peer"] == "floor":
        return f"{ratio:.0%} of floor"
    return f"{ratio:.2f}"


def _matmul_table(summary: dict) -> str:
    head = ["product", "(m,k) @ (k,n)", "used by", "NumPy GFLOP/s", "torch GFLOP/s"]
    body = [[p["kind"], f"{tuple(p['left'])} @ {tuple(p['right'])}", " ".join(p["workloads"]),
             _fmt(p.get("numpy_gflops"), ".1f"), _fmt(p.get("torch_gflops"), ".1f")] for p in summary["products"]]
    return _layout(head, body, [f"median of {summary['rounds_timed']} rounds per shape, alternating NumPy and torch"])


def _layout(head: list, body: list, preamble: list) -> str:
    widths = [max(len(str(row[i])) for row in [head] + [b for b in body if len(b) > i]) for i in range(len(head))]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join(preamble + [line(head)] + [line(b) if len(b) == len(head) else "  ".join(b) for b in body])


def versions(results: dict) -> dict:
    """Framework versions as the workers reported them."""
    out = {}
    for summary in results["workloads"].values():
        for row in summary["rows"]:
            out.update(row.get("versions") or {})
    return out


def footer(results: dict) -> str:
    m = results["machine"]
    return (f"\nmachine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, NumPy {m['numpy']} ({m['numpy_blas']}), "
            f"threads per peer: {m['threads']}; "
            f"versions {m['versions']}; load average {m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} "
            f"at end; {results['seconds']:.0f} s in all\n"
            "neurona × = the peer's time / neurona's time, median over the same rounds (> 1: neurona is faster); "
            "CPU = median CPU time of the peer's process per epoch/step, all its threads (BLAS spin-waits included); "
            "floor = the epoch's matmuls alone; peak MB = peak RSS while training (dataset included); "
            "data MB = RSS after loading the data, before the framework")
