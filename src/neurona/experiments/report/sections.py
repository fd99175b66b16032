"""The sections of the reproduction report: the practical-vs-neurona table, the lr convention, each exercise."""

from __future__ import annotations

import platform
import time

import numpy as np

from .. import REGISTRY, cifar
from ..cifar import data as cifar_data
from . import html as H

TITLES = {
    "graphs": "Exercises 1–2: computational graphs", "cnn-graph": "Beyond the practical: a conv net's graph",
    "ex3": "Exercise 3: two layers in plain NumPy",
    "ex4": "Exercise 4: cross-entropy", "ex5": "Exercise 5: ReLU hidden layer", "xor": "Exercise 6: XOR",
    "parity": "Exercise 7: parity", "ex8": "Exercise 8: two hidden layers", "linear": "Linear classifiers (TP1)",
}
# (exercise, run key, label) of every number the practical reported; "-alt" rows are ex5 at its alternative lr.
ROWS = (
    ("ex3", "mse", "Ex. 3 · MSE"), ("ex3", "svm", "Ex. 3 · SVM"), ("ex3", "cce", "Ex. 3 · CCE"),
    ("ex4", "bgd", "Ex. 4 · CCE"),
    ("ex5", "relu-sigmoid-mse", "Ex. 5 · ReLU+sigmoid · MSE"), ("ex5", "relu-sigmoid-cce", "Ex. 5 · ReLU+sigmoid · CCE"),
    ("ex5", "relu-linear-mse", "Ex. 5 · ReLU+linear · MSE"), ("ex5", "relu-linear-cce", "Ex. 5 · ReLU+linear · CCE"),
    ("ex8", "mse", "Ex. 8 · MSE"), ("ex8", "svm", "Ex. 8 · SVM"), ("ex8", "cce", "Ex. 8 · CCE"),
    ("linear", "svm", "Linear · SVM"), ("linear", "cce", "Linear · Softmax (CCE)"),
)
# Runs that are variants of a row: ex5 at its alternative lr, and ex3's MSE with the report's listing as printed.
VARIANTS = {"-alt": "lr {lr:g}, the alternative", "-lam": "lr {lr:g}, lam {lam:g}",
            "-listing": "the report's listing: lr {lr:g}, batch {batch_size}, {epochs} epochs"}
# Why a row falls short, where the cause is known ((exercise, variant suffix) -> sentence, formatted with the
# run's settings and step = lr x batch size); the report adds what the other variants of the run measured.
CAUSES = {
    ("ex3", "-listing"): "As printed, the listing's lr {lr:g} on the summed gradient is a step of {step:.2g} on the "
                         "mean gradient: after {epochs} epochs the network is still near its initialisation.",
    ("ex5", ""): "lr {lr:g} on the summed gradient is a step of {step:.2g} on the mean gradient: in {epochs} epochs "
                 "the weights barely move from their initialisation.",
    ("ex5", "-alt"): "With lam {lam:g} on ΣW² (the L2 of the practical's text, added to the mean loss) the penalty is "
                     "most of the objective; it holds back the sigmoid output most.",
    ("ex8", ""): "The listing's second layer, N(0, 1)·1e-3, gives almost the same second hidden layer output for "
                 "every image: a plateau that lr {lr:g} leaves slowly (the Ex. 8 figure shows when each loss "
                 "leaves it). An independent plain-NumPy run of the listing with CCE stays on it too (docs/report.md).",
}
TOLERANCE = 0.01  # within one percentage point of a number read off the practical's figures "matches"


# ----------------------------------------------------------------------------- practical vs neurona
def _row(outcomes, ex, key, label, practical, measure, source) -> dict:
    outcome = outcomes.get(ex)
    entry = outcome.summary.get("results", {}).get(key) if outcome and outcome.status == "done" else None
    row = {"exercise": ex, "run": key, "label": label, "practical": practical, "measure": measure, "source": source,
           "status": outcome.status if outcome else "not run"}
    if entry is None or "best_val_accuracy" not in entry:
        row["verdict"] = row["status"] if row["status"] != "done" else "no result"
        return row
    row.update(final=entry["final_val_accuracy"], peak=entry["best_val_accuracy"],
               peak_epoch=entry["best_val_accuracy_epoch"], epochs=entry["epochs"], seconds=entry["seconds"],
               settings=entry["description"], n_train=entry["n_train"], n_test=entry["n_test"],
               run_settings=entry["settings"])
    compared = row["final"] if measure == "final" else row["peak"]
    diff = compared - practical
    row["verdict"] = "beats" if diff > TOLERANCE else "matches" if diff >= -TOLERANCE else "below"
    return row


def comparison_rows(outcomes: dict, quick: bool = False) -> list:
    """One row per number the practical reported, with neurona's measured final/peak and a verdict.

    A quick run's numbers come from less data and fewer epochs, so they get no verdict.
    """
    rows = []
    for ex, key, label in ROWS:
        ref = cifar.PRACTICAL[ex][key]
        rows.append(_row(outcomes, ex, key, label, ref["accuracy"], ref["measure"], ref["source"]))
        if "peak" in ref:
            rows.append(_row(outcomes, ex, key, f"{label} (its peak)", ref["peak"], "peak", ref["source"]))
        results = outcomes[ex].summary.get("results", {}) if ex in outcomes else {}
        for suffix, note in VARIANTS.items():
            if key + suffix in results:
                s = results[key + suffix]["settings"]
                rows.append(_row(outcomes, ex, key + suffix, f"{label} ({note.format(**s)})", ref["accuracy"],
                                 ref["measure"], ref["source"]))
    for row in rows:
        if quick and "final" in row:
            row["verdict"] = "not compared (quick)"
        elif row["verdict"] == "below":
            row["why"] = _why(row, rows)
    return rows


def _suffix(key: str) -> tuple:
    """("relu-linear-mse", "-alt") from "relu-linear-mse-alt"."""
    for suffix in VARIANTS:
        if key.endswith(suffix):
            return key.removesuffix(suffix), suffix
    return key, ""


def _why(row: dict, rows: list) -> str:
    """The known cause of a shortfall, and what the other variants of the same run measured."""
    base, suffix = _suffix(row["run"])
    s = row["run_settings"]
    cause = CAUSES.get((row["exercise"], suffix), "")
    text = [cause.format(step=s["lr"] * s["batch_size"], **s)] if cause else []
    if row["peak_epoch"] == row["epochs"]:
        text.append("Its test accuracy was still rising at the last epoch.")
    for other in rows:
        if other is not row and other["exercise"] == row["exercise"] and _suffix(other["run"])[0] == base \
                and other["measure"] == row["measure"] and "final" in other:
            value = other["final"] if other["measure"] == "final" else other["peak"]
            text.append(f"{other['label']}: {H.pct(value)} ({other['verdict']}).")
    return " ".join(text)


def _comparison_table(rows: list) -> str:
    header = ("Exercise · run", "Practical", "neurona final", "neurona peak (epoch)", "Verdict", "Epochs",
              "Train / test images", "Time", "neurona's settings")
    cells, classes, sources = [], [], []
    for row in rows:
        if row["source"] not in sources:
            sources.append(row["source"])
        mark = f" [{sources.index(row['source']) + 1}]"
        practical = f"≈ {H.pct(row['practical'], 0)} ({row['measure']}){mark}"
        if "final" not in row:
            cells.append((row["label"], practical, "–", "–", row["verdict"], "–", "–", "–", "–"))
        else:
            cells.append((row["label"], practical, H.pct(row["final"]), f"{H.pct(row['peak'])} ({row['peak_epoch']})",
                          row["verdict"], row["epochs"], f"{row['n_train']} / {row['n_test']}",
                          H.seconds(row["seconds"]), row["settings"]))
        classes.append(row["verdict"] if row["verdict"] in ("beats", "matches", "below") else "")
    notes = "".join(f"<li>[{i + 1}] {H.esc(s)}</li>" for i, s in enumerate(sources))
    why = "".join(f"<li><strong>{H.esc(r['label'])}</strong>: {H.prose(r['why'])}</li>" for r in rows if r.get("why"))
    why = f"<h3>Where neurona falls short, and why</h3><ul>{why}</ul>" if why else ""
    return (H.table(header, cells, classes) + f'<p class="note">The verdict compares the practical\'s number with '
            f"neurona's value of the same kind (final: after the last epoch; peak: the highest test accuracy over the "
            f"epochs); within ±{TOLERANCE:.0%} (one point) it matches. Sources:</p><ul class=\"muted\">{notes}</ul>"
            + why)


# ----------------------------------------------------------------------------- the lr convention
LR_TEXT = """<p>The practical's code summed the per-example gradients over each batch while it reported the
<em>mean</em> loss. Its step was therefore lr × Σ<sub>i</sub>∇ℓ<sub>i</sub> = (lr × batch size) × ∇(mean loss):
its "lr 1e-3, batch 128" is a step of 0.128 on the gradient of the mean loss that every modern library uses.
neurona's losses are means over the batch; <code>optimizers.BGD(lr, bs)</code> keeps the practical's meaning
(its step is lr × the batch-summed gradient), so the exercises use the practical's own numbers with BGD.
A run with <code>SGD</code>, <code>Adam</code> or <code>RMSprop</code> (mean-gradient convention) needs
lr × batch size for the same step; taking the number literally makes the steps 128 times smaller.
The L2 penalty is lam × ΣW² added once
to the mean loss. The three runs below are Ex. 4 with each reading, measured here.</p>"""
PARTIAL = """<p class="note">BGD and SGD(lr × batch size) take the same steps on every full batch. The last batch of
each epoch holds {last} of the {n} images: there BGD's step shrinks with the batch (lr × {last}) while SGD's stays
lr × {bs}, a large step on few images just before each evaluation, so SGD's test curve is noisier while the
training curves coincide.</p>"""


def lr_section(outcomes: dict, out) -> str:
    ex4 = outcomes.get("ex4")
    if ex4 is None or ex4.status != "done" or "sgd-same-lr" not in ex4.summary["results"]:
        why = ("Ex. 4 was not part of this report" if ex4 is None else
               f"Ex. 4 was {ex4.status} (its section says why)" if ex4.status != "done" else
               "Ex. 4 ran without compare_conventions")
        return LR_TEXT + H.status_box("note", f"{why}, so the three readings were not measured in this report.")
    results = ex4.summary["results"]
    meaning = {"bgd": "BGD: the practical's (summed gradient)", "sgd-same-lr": "SGD, same number (literal reading)",
               "sgd-lr-x-batch": "SGD, lr × batch size"}
    cells = []
    for key, label in meaning.items():
        entry = results[key]
        s = entry["settings"]
        step = s["lr"] * (s["batch_size"] if s["optimizer"] == "bgd" else 1)
        cells.append((label, f"{s['optimizer'].upper()}(lr={s['lr']:g})", f"{step:g}",
                      H.pct(entry.get("final_val_accuracy")), H.pct(entry.get("best_val_accuracy")),
                      H.seconds(entry["seconds"])))
    header = ("Reading", "Optimizer", "Step on ∇(mean loss)", "Final test accuracy", "Peak", "Time")
    figure = ex4.folder / "comparison.png"
    n, bs = results["bgd"]["n_train"], results["bgd"]["settings"]["batch_size"]
    partial = PARTIAL.format(last=n % bs, n=n, bs=bs) if n % bs else ""
    return (LR_TEXT + H.table(header, cells) + partial
            + (H.png(figure, "Ex. 4 under the three readings") if figure.exists() else ""))


# ----------------------------------------------------------------------------- one exercise
def _runs_table(summary: dict) -> str:
    practical = summary.get("practical", {})
    cells = []
    for key, entry in summary["results"].items():
        ref = practical.get(_suffix(key)[0])
        cells.append((key, entry["description"], H.pct(entry.get("final_val_accuracy")),
                      f"{H.pct(entry.get('best_val_accuracy'))} ({entry.get('best_val_accuracy_epoch', '–')})",
                      H.pct(entry.get("final_accuracy")), entry["epochs"], H.seconds(entry["seconds"]),
                      f"≈ {H.pct(ref['accuracy'], 0)} ({ref['measure']})" if ref else "–"))
    header = ("Run", "Settings", "Final test acc.", "Peak test acc. (epoch)", "Final train acc.", "Epochs", "Time",
              "Practical")
    return H.table(header, cells)


def _figures(outcome) -> str:
    """Comparison figures full width, then one figure per run, two to a row."""
    names = outcome.summary.get("figures")
    if names is None:  # an experiment that does not list them: every PNG in its folder
        names = sorted(p.name for p in outcome.folder.glob("*.png"))
    names = [n for n in names if isinstance(n, str) and n.endswith(".png") and (outcome.folder / n).exists()]
    runs = outcome.summary.get("results", {}) if outcome.name in cifar.EXERCISES else {}
    comparisons = [n for n in names if n.removesuffix(".png") not in runs]
    per_run = [n for n in names if n not in comparisons]
    caption = "{}: test accuracy (val_accuracy, left) and train accuracy (right) of each run, against epochs"
    if not runs:  # not a CIFAR exercise: its figures as they are
        return H.grid([H.png(outcome.folder / n, n.removesuffix(".png")) for n in names])
    return ("".join(H.png(outcome.folder / n, caption.format(n.removesuffix(".png"))) for n in comparisons)
            + H.grid([H.png(outcome.folder / n, f"{n.removesuffix('.png')}: accuracy and loss, train (solid) and "
                            "test (dashed)") for n in per_run]))


def _ex8_extra(outcome, outcomes) -> str:
    rows = outcome.summary.get("depth_table") or []
    if not rows:
        return ""
    cells = [(r["architecture"], r["loss"], H.pct(r["final_val_accuracy"]), H.pct(r["best_val_accuracy"])) for r in rows]
    text = ("<h3>Depth: Ex. 8 against Ex. 3's network and a linear classifier, same settings</h3>"
            + H.table(("Architecture", "Loss", "Final test acc.", "Peak test acc."), cells))
    own = []
    for ex in ("ex3", "ex8", "linear"):
        other = outcomes.get(ex)
        if other is not None and other.status == "done":
            for key, entry in other.summary["results"].items():
                if ex != "ex8" or key in ("mse", "svm", "cce"):
                    own.append((TITLES[ex], key, entry["description"], H.pct(entry.get("final_val_accuracy")),
                                H.pct(entry.get("best_val_accuracy"))))
    if own:
        text += ("<h3>The same three, each with its own exercise's settings</h3>"
                 + H.table(("Exercise", "Run", "Settings", "Final test acc.", "Peak"), own))
    return text


CHANCE = 0.15  # ten classes: a test accuracy below 15% is near the 10% of guessing


def _quick_note(summary: dict) -> str:
    """Beside a quick run's table: what its size can show, and which runs it is too small for."""
    results = summary.get("results", {})
    first = next(iter(results.values()), {})
    size = f"{first.get('n_train', '?')} training images and {first.get('epochs', '?')} epochs"
    flat = [key for key, entry in results.items() if (entry.get("best_val_accuracy") or 0) < CHANCE]
    if not flat:
        return H.status_box("note", f"{size}: the accuracies show that learning has started, not where it ends.",
                            label="Quick mode")
    return H.status_box("note", f"{size} are too few for {', '.join(flat)}: their learning rates are the "
                        "practical's, set for the full runs, and in so few steps the weights barely move, so they stay "
                        "near chance (10%). The full report (`neurona reproduce`) shows them learn.", label="Quick mode")


def exercise_section(name: str, outcome, outcomes: dict, report_dir, quick: bool = False) -> str:
    description = REGISTRY[name][1] if name in REGISTRY else ""
    parts = [f"<p>{H.esc(description)}.</p>"]
    if outcome is None:
        return H.section(name, TITLES[name], "".join(parts) + H.status_box("skipped", "not run in this report"))
    if outcome.status != "done":
        return H.section(name, TITLES[name], "".join(parts) + H.status_box(outcome.status, outcome.message))
    summary = outcome.summary
    parts.append(f'<p class="muted">Ran in {H.seconds(outcome.seconds)}.</p>')
    if summary.get("notes"):
        parts.append("<ul class=\"note\">" + "".join(f"<li>{H.prose(n)}</li>" for n in summary["notes"]) + "</ul>")
    if name in cifar.EXERCISES:
        parts.append(_runs_table(summary))
        if quick:
            parts.append(_quick_note(summary))
    elif summary.get("headline"):
        parts.append("<ul>" + "".join(f"<li>{H.prose(line)}</li>" for line in summary["headline"]) + "</ul>")
    if name == "ex8":
        parts.append(_ex8_extra(outcome, outcomes))
    parts.append(_figures(outcome))
    files = sorted(p.name for p in outcome.folder.iterdir() if p.is_file() and not p.name.startswith(".")) \
        if outcome.folder.exists() else []
    parts.append(H.links(outcome.folder, report_dir, files))
    return H.section(name, TITLES[name], "".join(parts))


# ----------------------------------------------------------------------------- the page
def _intro(outcomes: dict, quick: bool) -> str:
    text = ("<p>The practical <em>Introducción a las Redes Neuronales</em> (TP2), reproduced with neurona, a "
            "deep-learning framework written from scratch on NumPy. Every neurona number on this page was measured "
            "when the page was built; the practical's numbers are quoted from its report, with the section they come "
            "from. CIFAR-10 runs train on the first images of the training set and are tested on the whole "
            "10,000-image test set after every epoch.</p>")
    if quick:
        text += H.status_box("note", "Every exercise ran a reduced version (fewer images and epochs), so its "
                             "numbers are not comparable with the practical's. Run `neurona reproduce` for the full "
                             "report.", label="Quick mode")
    skipped = [o for o in outcomes.values() if o.status == "skipped"]
    if skipped:
        text += H.status_box("skipped", f"CIFAR-10 exercises were skipped: {skipped[0].message}")
    return text


def _footer(quick: bool, total: float) -> str:
    import neurona

    return (f"Built {time.strftime('%Y-%m-%d %H:%M')} in {H.seconds(total)} ({'quick' if quick else 'full'} mode) "
            f"with neurona {H.esc(neurona.__version__)}, NumPy {H.esc(np.__version__)}, Python "
            f"{H.esc(platform.python_version())} on {H.esc(platform.machine())} ({H.esc(platform.platform())}). "
            f"Reproduce: <code>neurona reproduce{' --quick' if quick else ''} -o DIR</code>.")


def render(out, outcomes: dict, rows: list, graphs_html: str, graphs_seconds: float, quick: bool, total: float,
           cnn_html: str = "") -> str:
    """The whole report page; the conv net's graph section when ``cnn_html`` is given."""
    sections = [H.section("summary", "The practical against neurona", _comparison_table(rows)),
                H.section("learning-rates", "The practical's learning rates", lr_section(outcomes, out)),
                H.section("graphs", TITLES["graphs"], graphs_html
                          + f'<p class="muted">Built in {H.seconds(graphs_seconds)}.</p>')]
    nav = [("summary", "The practical against neurona"), ("learning-rates", "The practical's learning rates"),
           ("graphs", TITLES["graphs"])]
    if cnn_html:
        sections.append(H.section("cnn-graph", TITLES["cnn-graph"], cnn_html))
        nav.append(("cnn-graph", TITLES["cnn-graph"]))
    sections += [exercise_section(name, outcomes.get(name), outcomes, out, quick) for name in outcomes]
    nav += [(name, TITLES[name]) for name in outcomes]
    hint = f'<p class="muted">CIFAR-10: if missing, {H.prose(cifar_data.fix_hint())}.</p>'
    return H.page("neurona: the practical reproduced", _intro(outcomes, quick), nav, sections,
                  _footer(quick, total) + hint)
