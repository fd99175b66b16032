"""A sweep's finished runs as a tidy table (one row per run) and the statistics over seeds that its plots show."""

from __future__ import annotations

import csv
import io
import statistics


def lower_is_better(metric: str) -> bool:
    """Losses and epoch counts are minimised; accuracies maximised."""
    return "loss" in metric or "epoch" in metric


def rows_of(records: list, varied: list) -> list:
    """One row per run: the varied parameters, the seed, the fixed ones, then every metric, seconds and host."""
    rows = []
    for record in records:
        params, result = record["params"], record["result"]
        fixed = [k for k in params if k not in varied and k != "seed"]
        row = {**{k: params[k] for k in varied}, "seed": params["seed"], **{k: params[k] for k in fixed}}
        row.update({(f"{k}_trained" if k in params else k): result[k] for k in sorted(result)})  # epochs run
        row.update(seconds=record.get("seconds"), host=record.get("host", ""))
        rows.append(row)
    return rows


def csv_text(rows: list) -> str:
    """The rows as CSV; floats to 6 significant digits, None as an empty cell."""
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else (f"{row[c]:.6g}" if isinstance(row[c], float) else row[c])
                         for c in columns])
    return buffer.getvalue()


def by_point(records: list, varied: list, metric: str) -> dict:
    """{point (tuple of the varied values): [metric per seed]}; runs without the metric are left out."""
    groups = {}
    for record in records:
        value = record["result"].get(metric)
        if value is not None:
            groups.setdefault(tuple(record["params"][k] for k in varied), []).append(value)
    return groups


def summarize(records: list, varied: list, metric: str) -> dict:
    """The best point by the mean of ``metric`` over its seeds (``{"best": None}`` when nothing finished)."""
    groups = by_point(records, varied, metric)
    if not groups:
        return {"best": None}
    means = {point: statistics.fmean(values) for point, values in groups.items()}
    pick = min if lower_is_better(metric) else max
    point = pick(means, key=means.get)
    return {"best": {"point": dict(zip(varied, point)), "mean": means[point], "seeds": len(groups[point])}}
