"""The reproduction report: one self-contained HTML page, the practical-vs-neurona table, skipped CIFAR-10 exercises."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from neurona.experiments import report
from neurona.experiments.cifar import data as _cifar_data
from neurona.experiments.report import drawings, sections
from test_cifar_experiments import ONE_PIXEL_PNG, write_tiny_cifar

CIFAR = ("ex3", "ex4", "ex5", "ex8", "linear")
TINY = {name: {"n_train": 50, "n_test": 20, "epochs": 2} for name in CIFAR}
TINY["ex8"]["epochs"] = 1
TINY["ex3"]["listing_epochs"] = 2
TINY["ex5"]["outputs"] = ("linear",)  # fewer runs: the exercises' own tests cover the rest
TINY["ex8"]["baselines"] = False


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No real data, no user cache, no matplotlib (figures are one-pixel PNGs): fast and offline."""
    from neurona.viz import plots

    def fake(history, path=None, *args, **kwargs):
        Path(path).write_bytes(ONE_PIXEL_PNG)

    monkeypatch.setattr(plots, "plot_history", fake)
    monkeypatch.setattr(plots, "plot_comparison", fake)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _cifar_data.clear_cache()
    yield
    _cifar_data.clear_cache()


def _fake_experiments(monkeypatch):
    """xor runs and writes a figure; parity fails: the report shows the first and survives the second."""
    import neurona.experiments as experiments

    @dataclass_config
    class Config:
        epochs: int = 3

        @classmethod
        def quick(cls):
            return cls(epochs=1)

    def run_xor(config, out_dir, verbose=1, overwrite=False, resume=False):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "xor.png").write_bytes(ONE_PIXEL_PNG)
        return {"results": {}, "headline": [f"fake xor ran {config.epochs} epoch"]}

    def run_parity(config, out_dir, verbose=1, overwrite=False, resume=False):
        raise RuntimeError("parity exploded")

    fakes = {"xor": SimpleNamespace(Config=Config, run=run_xor), "parity": SimpleNamespace(Config=Config, run=run_parity)}
    real_get = experiments.get
    monkeypatch.setattr(report, "get", lambda name: fakes.get(name) or real_get(name))


def dataclass_config(cls):
    import dataclasses

    return dataclasses.dataclass(frozen=True)(cls)


def _html(path: Path) -> str:
    """The page with its entities decoded, so tests can look for plain text."""
    return html.unescape(path.read_text(encoding="utf-8"))


def test_quick_report_is_one_self_contained_page(tmp_path, monkeypatch):
    write_tiny_cifar(tmp_path / "data")
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "data"))
    _fake_experiments(monkeypatch)
    path = report.reproduce(tmp_path / "report", quick=True, verbose=0, download=False, changes=TINY)
    assert path == tmp_path / "report" / "report.html"
    assert [p.name for p in (tmp_path / "report").glob("*.html")] == ["report.html"]
    page = _html(path)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)  # nothing fetched from outside
    assert page.count("data:image/png;base64,") >= 4 + 3 + 6 + 6 + 2  # at least one figure per CIFAR run
    assert "The practical against neurona" in page and "The practical's learning rates" in page
    for label in ("Ex. 3 · MSE", "Ex. 4 · CCE", "Ex. 5 · ReLU+linear · CCE", "Ex. 8 · SVM", "Linear · SVM"):
        assert label in page
    assert "fake xor ran 1 epoch" in page  # quick() config of the (fake) xor experiment
    assert "parity exploded" in page and 'class="box failed"' in page
    assert "Exercise 1: f = tanh" in page and "Exercise 2" in page
    assert '<section id="cnn-graph"><h2>Beyond the practical: a conv net\'s graph</h2>' in page
    assert 'href="#cnn-graph"' in page and "max_pool2d" in page
    for name in CIFAR:
        assert (tmp_path / "report" / name / "summary.json").exists()
        assert f'href="{name}/summary.json"' in page
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["exercises"]["ex4"]["status"] == "done" and saved["exercises"]["parity"]["status"] == "failed"
    rows = {(r["exercise"], r["run"], r["measure"]): r for r in saved["practical_vs_neurona"]}
    assert rows[("ex4", "bgd", "final")]["practical"] == 0.38 and rows[("ex4", "bgd", "peak")]["practical"] == 0.40
    assert rows[("ex5", "relu-linear-mse-alt", "peak")]["epochs"] == 2
    assert {r["verdict"] for r in rows.values() if "final" in r} == {"not compared (quick)"}  # tiny runs prove nothing
    assert rows[("ex3", "mse-listing", "final")]["epochs"] == 2


def test_the_page_shows_commands_as_code_notes_as_notes_and_speaks_of_no_issues(tmp_path, monkeypatch):
    _fake_experiments(monkeypatch)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "empty"))
    raw = report.reproduce(tmp_path / "r", quick=True, verbose=0, download=False).read_text(encoding="utf-8")
    text = re.sub(r"<svg.*?</svg>|<style>.*?</style>", "", raw, flags=re.S)
    assert "`" not in text  # every `command` became <code>command</code>
    assert "<code>neurona data cifar10</code>" in text and "<code>neurona reproduce</code>" in text
    assert "<strong>Quick mode.</strong>" in text and "<strong>Skipped.</strong> Quick" not in text
    assert not re.search(r"\bissues?\b", html.unescape(text), re.I)


def test_graphs_scale_to_the_column_and_wide_ones_are_drawn_top_to_bottom(tmp_path):
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    section = drawings.graphs_section(tmp_path / "graphs")
    assert "figure.graph svg { display: block; max-width: 100%; height: auto; }" in sections.H.STYLE
    assert "overflow-x" not in sections.H.STYLE.split(".graph")[1].split("}")[0]
    widths = [float(w) for w in re.findall(r'<svg[^>]*\swidth="([\d.]+)pt"', section)]
    assert len(widths) == 5 and max(widths) <= drawings.WIDE_PT  # ELU and Ex. 2 are drawn top to bottom
    assert ">f = " in section and ">mse = " in section  # each output node is in the drawing
    cnn = drawings.conv_net_section(tmp_path / "graphs")
    (width,) = [float(w) for w in re.findall(r'<svg[^>]*\swidth="([\d.]+)pt"', cnn)]
    assert width <= drawings.WIDE_PT and ">conv2d<" in cnn and ">batch_norm<" in cnn  # drawn top to bottom
    assert (tmp_path / "graphs" / "cnn.svg").exists() and "<details><summary>Values and gradients" in cnn


def test_graphs_are_drawn_or_tabulated(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)  # as on a machine without Graphviz
    section = drawings.graphs_section(tmp_path / "graphs")
    assert "Graphviz" in section and "<svg" not in section and "gradient" in section
    assert (tmp_path / "graphs" / "ex2.dot").exists()
    cnn = drawings.conv_net_section(tmp_path / "graphs")
    assert "<svg" not in cnn and "graphs/cnn.dot" in cnn and (tmp_path / "graphs" / "cnn.dot").exists()
    conv_row = next(line for line in cnn.splitlines() if line.startswith("conv2d "))  # the table, one row per node
    assert conv_row.count("(2, 8, 8, 4) mean") == 2 and len(cnn) < 6000  # value and gradient summarized


def test_missing_cifar_is_skipped_with_the_fix_and_the_rest_runs(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "empty"))
    _fake_experiments(monkeypatch)
    loads = []
    real_load = _cifar_data._load
    monkeypatch.setattr(_cifar_data, "_load", lambda download: loads.append(download) or real_load(download))
    path = report.reproduce(tmp_path / "report", quick=True, verbose=0, download=False)
    page = _html(path)
    assert "skipped" in page.lower() and "neurona data cifar10" in page and "NEURONA_DATA" in page
    assert "fake xor ran 1 epoch" in page
    assert loads == [False]  # one look for the data, no download, then every CIFAR exercise is skipped
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert all(saved["exercises"][name]["status"] == "skipped" for name in CIFAR)


def test_a_non_empty_folder_needs_overwrite(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "old.txt").write_text("x")
    with pytest.raises(FileExistsError, match="--overwrite"):
        report.reproduce(tmp_path / "report", quick=True, verbose=0, download=False)


def test_unknown_setting_in_changes_is_reported(tmp_path, monkeypatch):
    _fake_experiments(monkeypatch)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "empty"))
    report.reproduce(tmp_path / "r", quick=True, verbose=0, download=False, exercises=("xor",),
                     changes={"xor": {"nope": 1}})
    assert "has no setting nope" in _html(tmp_path / "r" / "report.html")


def _entry(peak, final, lr=1e-3, lam=1e-3):
    return {"best_val_accuracy": peak, "final_val_accuracy": final, "best_val_accuracy_epoch": 7, "epochs": 50,
            "seconds": 1.0, "description": "d", "n_train": 5000, "n_test": 10000,
            "settings": {"lr": lr, "batch_size": 128, "epochs": 50, "lam": lam}}


def _outcome(peak, final):
    entry = _entry(peak, final)
    return report.Outcome("ex3", "done", Path("."), {"results": {"cce": entry, "mse": entry, "svm": entry}})


@pytest.mark.parametrize("peak, final, verdicts", [
    # ex3: CCE is compared by its peak (practical 38%), MSE and SVM by their final value (practical 30%)
    (0.40, 0.35, {"cce": "beats", "mse": "beats", "svm": "beats"}),     # 40 > 38 + 1;  35 > 30 + 1
    (0.375, 0.295, {"cce": "matches", "mse": "matches", "svm": "matches"}),  # 37.5 and 29.5: within 1 point
    (0.36, 0.25, {"cce": "below", "mse": "below", "svm": "below"}),     # 36 < 37; 25 < 29
])
def test_verdicts(peak, final, verdicts):
    rows = [r for r in sections.comparison_rows({"ex3": _outcome(peak, final)}) if r["exercise"] == "ex3"]
    assert {r["run"]: r["verdict"] for r in rows} == verdicts
    ex4 = [r for r in sections.comparison_rows({"ex3": _outcome(peak, final)}) if r["exercise"] == "ex4"]
    assert {r["verdict"] for r in ex4} == {"not run"}


def test_a_shortfall_is_explained_with_the_variants_measured():
    results = {"relu-linear-cce": _entry(0.20, 0.20, lr=1e-6, lam=0.1),
               "relu-linear-cce-alt": _entry(0.39, 0.38, lr=1e-4, lam=0.1)}
    rows = sections.comparison_rows({"ex5": report.Outcome("ex5", "done", Path("."), {"results": results})})
    below, alt = [r for r in rows if r["run"] in results]
    assert (below["verdict"], alt["verdict"]) == ("below", "beats")  # 20% and 39% against the practical's 25%
    assert "0.00013" in below["why"]  # the step on the mean gradient: 1e-6 x 128 = 1.28e-4
    assert "39.0% (beats)" in below["why"] and "why" not in alt
