"""The command line never loses user data, and a bad value never gets past the parser.

Every numeric flag of every subcommand is tried with hostile values: each must end as an argparse
error (exit status 2, a message naming the flag and echoing the value, no traceback) before any
folder exists. --overwrite deletes only what neurona wrote; --resume works only in neurona's folders.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from neurona import cli, experiments
from neurona.datasets import cifar10
from neurona.experiments import report
from neurona.experiments.cifar import data as _cifar_data, runs as _cifar_runs
from neurona.experiments._output_folder import MARKER, prepare_output, written_files

SRC = Path(cli.__file__).parent


def _exit_code(argv, capsys) -> tuple:
    """Run the CLI in-process; (exit status, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """No network, no real data or cache, and the current folder is the test's, so stray folders show."""
    def no_network(*args, **kwargs):
        raise OSError("no network in tests")

    monkeypatch.setattr(cifar10, "_urlopen", no_network)
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    _cifar_data.clear_cache()
    yield
    _cifar_data.clear_cache()


# ----- every invalid value is an argparse error, and nothing is created -----------------------------------

def _numeric_flags():
    """(experiment, --flag, kind) for every int and float field (and tuples of them) of every Config."""
    for name in experiments.REGISTRY:
        for field in dataclasses.fields(experiments.get(name).Config):
            default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
            sample = default[0] if isinstance(default, tuple) and default else default
            if isinstance(sample, bool) or not isinstance(sample, (int, float)):
                continue
            yield name, "--" + field.name.replace("_", "-"), type(sample).__name__


NUMERIC_FLAGS = list(_numeric_flags())
BAD_FOR_ALL = ["nan", "inf", "-inf", "NaN", "true", "", "1e400", "-1e400", "-3", "0x10", "five", "1,5"]


def test_every_numeric_flag_of_every_experiment_is_covered():
    flags = {(name, flag) for name, flag, _ in NUMERIC_FLAGS}
    assert ("xor", "--seeds") in flags and ("ex4", "--lr") in flags and ("cifar-best", "--dropout") in flags
    assert len(flags) > 50


@pytest.mark.parametrize("name, flag, kind", NUMERIC_FLAGS)
def test_a_bad_numeric_value_is_a_usage_error_and_creates_nothing(name, flag, kind, tmp_path, capsys):
    bad = BAD_FOR_ALL + (["2.5", "1e3", "9" * 40, "9" * 5000] if kind == "int" else [])
    if flag not in ("--seed", "--warmup-epochs", "--lam", "--alt-lam", "--alt-lr", "--dropout"):
        bad += ["0", "1e-400"]  # counts, sizes, learning rates and factors must be positive (1e-400 is 0.0)
    for value in bad:  # --flag=value, so argparse reads "-inf" as a value, not as an option
        code, err = _exit_code(["run", name, "-o", "out", f"{flag}={value}"], capsys)
        assert code == 2, (flag, value)
        assert f"argument {flag}" in err and repr(value) in err, (flag, value, err)
        assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "no folder may be created"


@pytest.mark.parametrize("argv, flag", [
    (["run", "ex4", "--n-train", "50001"], "--n-train"),       # more than CIFAR-10's training set
    (["run", "ex8", "--hidden", "100", "100000"], "--hidden"),  # a layer that would not fit in memory
    (["run", "cifar-best", "--dropout", "1"], "--dropout"),
    (["run", "ex5", "--losses", "mse", "hinge"], "--losses"),
    (["run", "ex5", "--engine", "torch"], "--engine"),
    (["run", "xor", "-o", ""], "-o/--output"),
    (["reproduce", "-o", " "], "-o/--output"),
    (["graph", "ex1", "--activation", "softplus"], "--activation"),
    (["graph", "ex2", "--activation", "tanh"], "--activation"),
    (["graph", "ex1", "-o", ""], "-o/--output"),
    (["data", "--dir", ""], "--dir"),
    (["run", "xor", "--overwrite", "--resume"], "--resume"),
    (["reproduce", "--overwrite", "--resume"], "--resume"),
])
def test_other_bad_values_are_usage_errors(argv, flag, tmp_path, capsys):
    code, err = _exit_code(argv, capsys)
    assert code == 2 and f"argument {flag}" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_negative_number_after_a_space_is_read_as_the_value(tmp_path, capsys):
    code, err = _exit_code(["run", "xor", "--seeds", "-3"], capsys)
    assert code == 2 and "argument --seeds: must be an integer from 1" in err and "'-3'" in err
    assert list(tmp_path.iterdir()) == []


def test_a_value_the_config_refuses_is_a_usage_error(tmp_path, capsys):
    code, err = _exit_code(["run", "parity", "--narrow-n", "99"], capsys)  # parity has at most 20 bits
    assert code == 2 and "narrow_n" in err and "99" in err and "usage:" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text, expected", [("1", 1), ("2147483647", 2**31 - 1), (" 7 ", 7), ("1_000", 1000)])
def test_positive_int_accepts_integers(text, expected):
    assert cli.positive_int(text) == expected


@pytest.mark.parametrize("text, expected", [("1e-3", 1e-3), ("5E-4", 5e-4), ("2", 2.0)])
def test_positive_float_accepts_finite_positive_numbers(text, expected):
    assert cli.positive_float(text) == expected


# ----- --resume only where neurona ran, and it never marks a folder ---------------------------------------

def test_resume_in_a_folder_of_the_user_s_is_refused_and_leaves_it_unmarked(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    for argv in (["run", "xor", "--resume", "-o", "mine"], ["run", "ex4", "--resume", "-o", "mine"],
                 ["reproduce", "--resume", "-o", "mine"]):
        code, err = _exit_code(argv, capsys)
        assert code == 2 and "holds no neurona run" in err and "without --resume" in err
        assert [p.name for p in mine.iterdir()] == ["thesis.tex"]  # no marker, nothing else


def test_resume_in_a_missing_folder_is_refused_and_creates_nothing(tmp_path, capsys):
    code, err = _exit_code(["run", "xor", "--resume", "-o", "nowhere"], capsys)
    assert code == 2 and "does not exist" in err and not (tmp_path / "nowhere").exists()


# ----- --overwrite deletes only what neurona wrote --------------------------------------------------------

def test_overwrite_keeps_the_user_s_files_and_replaces_neurona_s(tmp_path, capsys):
    argv = ["run", "xor", "-o", "out", "--epochs", "3", "--seeds", "1", "-q"]
    assert _exit_code(argv, capsys)[0] == 0
    out = tmp_path / "out"
    assert "summary.json" in written_files(out) and "xor.png" in written_files(out)
    (out / "summary.json").write_text("stale")
    (out / "notes.txt").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "data.csv").write_text("1,2")
    assert _exit_code(argv + ["--overwrite"], capsys)[0] == 0
    assert json.loads((out / "summary.json").read_text())["config"]["epochs"] == 3
    assert (out / "notes.txt").read_text() == "mine" and (out / "mine" / "data.csv").read_text() == "1,2"
    assert "notes.txt" not in written_files(out)  # a file neurona did not write is never claimed


def test_a_folder_of_the_user_s_is_refused_without_being_walked(tmp_path, monkeypatch, capsys):
    from neurona.experiments import _output_folder

    (tmp_path / "home" / "deep").mkdir(parents=True)
    (tmp_path / "home" / "deep" / "photo.jpg").write_text("mine")
    monkeypatch.setattr(_output_folder, "_files_in", lambda out: pytest.fail(f"walked {out}"))
    for flags in ([], ["--overwrite"], ["--resume"]):
        assert _exit_code(["run", "xor", "-o", "home", *flags], capsys)[0] == 2
    assert [p.name for p in (tmp_path / "home").iterdir()] == ["deep"]


def test_overwrite_of_a_folder_of_the_user_s_is_refused(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    code, err = _exit_code(["run", "xor", "-o", "out", "--overwrite"], capsys)
    assert code == 2 and "not created by neurona" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["thesis.tex"]


@pytest.mark.parametrize("entry", ["../outside.txt", "/etc/hostname", "a/../../outside.txt", "./x/../../outside.txt",
                                   "link/keep.txt", "", 7, None])
def test_a_tampered_manifest_cannot_delete_outside_the_folder(tmp_path, entry):
    (tmp_path / "outside.txt").write_text("keep")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    out = prepare_output(tmp_path / "out")
    os.symlink(elsewhere, out / "link")
    (out / MARKER).write_text(json.dumps({"written": [entry]}))
    prepare_output(out, overwrite=True)
    assert (tmp_path / "outside.txt").read_text() == "keep" and (elsewhere / "keep.txt").read_text() == "keep"
    assert (out / "link").is_symlink()  # the user's link stays too


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b'{"written": "summary.json"}', b"\xff\xfe"])
def test_an_unreadable_manifest_claims_nothing(tmp_path, content):
    out = prepare_output(tmp_path / "out")
    (out / "summary.json").write_text("x")
    (out / MARKER).write_bytes(content)
    prepare_output(out, overwrite=True)
    assert (out / "summary.json").read_text() == "x"


def test_overwrite_of_a_report_keeps_user_files_in_the_exercise_folders(tmp_path):
    out = prepare_output(tmp_path / "report")
    ex = prepare_output(out / "xor")
    for folder, name in ((out, "report.html"), (ex, "summary.json")):
        (folder / name).write_text("old")
    (ex / MARKER).write_text(json.dumps({"written": ["summary.json"]}))
    (out / MARKER).write_text(json.dumps({"written": ["report.html"]}))
    (ex / "my-analysis.ipynb").write_text("mine")
    prepare_output(out, overwrite=True)
    assert not (out / "report.html").exists() and not (ex / "summary.json").exists()
    assert (ex / "my-analysis.ipynb").read_text() == "mine" and (ex / MARKER).exists()
    prepare_output(ex, overwrite=True)  # the exercise's own run can still reuse its folder
    assert (ex / "my-analysis.ipynb").read_text() == "mine"


# ----- reproduce: offline, it says why CIFAR-10 was skipped; --resume then completes the report ----------

def _write_tiny_cifar(folder: Path, per_batch: int = 12, n_test: int = 20) -> None:
    rng = np.random.default_rng(0)
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name, count in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        rows = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=count)]
        (batches / name).write_bytes(pickle.dumps({b"data": rows, b"labels": labels}, protocol=2))
    names = [n.encode() for n in cifar10.CLASS_NAMES]
    (batches / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))


def _fake_exercises(monkeypatch, ran: list):
    """xor and parity replaced by instant fakes that count their runs; figures by an empty file."""
    from neurona.viz import plots

    @dataclasses.dataclass(frozen=True)
    class Config:
        epochs: int = 1

    def fake_run(name):
        def run(config, out_dir, verbose=1, overwrite=False, resume=False):
            ran.append(name)
            summary = {"results": {}, "headline": [f"{name} ran"]}
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            (Path(out_dir) / "summary.json").write_text(json.dumps(summary))
            return summary
        return run

    real_get = report.get
    fakes = {n: SimpleNamespace(Config=Config, run=fake_run(n)) for n in ("xor", "parity")}
    monkeypatch.setattr(report, "get", lambda name: fakes.get(name) or real_get(name))
    monkeypatch.setattr(plots, "plot_history", lambda h, path=None, **k: Path(path).write_bytes(b""))
    monkeypatch.setattr(plots, "plot_comparison", lambda h, path=None, **k: Path(path).write_bytes(b""))
    for key, value in {"n_train": 60, "n_test": 20, "epochs": 1}.items():
        monkeypatch.setitem(_cifar_runs.QUICK, key, value)


def test_offline_reproduce_says_why_once_then_resume_completes_it(tmp_path, monkeypatch, capsys):
    ran = []
    _fake_exercises(monkeypatch, ran)
    assert cli.main(["reproduce", "--quick", "-q", "-j", "1", "-o", "rep"]) == 0  # -j 1: `ran` counts in this process
    out = capsys.readouterr().out
    assert out.count("not found in") == 1 and "downloading it failed: " in out and "no network in tests" in out
    assert str(tmp_path / "no-data") in out and "cifar-10-python.tar.gz" in out  # where it looked
    assert "neurona data cifar10" in out and "NEURONA_DATA=" in out  # how to fix it
    assert "neurona reproduce --quick --resume -o rep" in out  # the next command, spelled out
    state = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {n: e["status"] for n, e in state["exercises"].items()} == {
        "ex3": "skipped", "ex4": "skipped", "ex5": "skipped", "xor": "done", "parity": "done", "ex8": "skipped",
        "linear": "skipped"}
    (tmp_path / "rep" / "my-notes.md").write_text("mine")

    _write_tiny_cifar(tmp_path / "data")
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "data"))
    _cifar_data.clear_cache()
    assert cli.main(["reproduce", "--quick", "--resume", "-q", "-j", "1", "-o", "rep"]) == 0
    out = capsys.readouterr().out
    assert "Skipped" not in out and "--resume" not in out
    state = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert {e["status"] for e in state["exercises"].values()} == {"done"} and state["complete"]
    assert ran == ["xor", "parity"]  # what had finished was kept, not run again
    assert (tmp_path / "rep" / "my-notes.md").read_text() == "mine"
    code, err = _exit_code(["reproduce", "--resume", "-q", "-o", "rep"], capsys)  # a full resume of a quick one
    assert code == 2 and "--quick --resume" in err


def test_an_interrupted_report_says_how_to_continue_and_resume_reruns_only_that(tmp_path, monkeypatch, capsys):
    from neurona.experiments._common import RunInterrupted

    ran = []
    _fake_exercises(monkeypatch, ran)
    real_get = report.get

    def stopping_parity(config, out_dir, verbose=1, overwrite=False, resume=False):
        ran.append("parity")
        raise RunInterrupted("SIGINT", "interrupted by SIGINT after epoch 1")

    parity = SimpleNamespace(Config=real_get("parity").Config, run=stopping_parity)
    monkeypatch.setattr(report, "get", lambda name: parity if name == "parity" else real_get(name))
    code, err = _exit_code(["reproduce", "--quick", "-q", "-j", "1", "-o", "rep"], capsys)  # -j 1: stops at parity
    assert code == 130 and "neurona reproduce --quick --resume -o rep" in err
    state = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert state["exercises"]["parity"]["status"] == "interrupted" and "ex8" not in state["exercises"]
    assert (tmp_path / "rep" / "report.html").exists()  # the page shows what finished

    monkeypatch.setattr(report, "get", real_get)
    _fake_exercises(monkeypatch, ran)
    ran.clear()
    assert _exit_code(["reproduce", "--quick", "-q", "--resume", "-j", "1", "-o", "rep"], capsys)[0] == 0
    assert ran == ["parity"]  # xor had finished; the CIFAR-10 exercises (skipped: no data) were looked at again
    state = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert state["exercises"]["parity"]["status"] == "done" and state["exercises"]["ex8"]["status"] == "skipped"


def test_a_missing_matplotlib_is_found_before_any_work(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    for argv in (["run", "xor", "-o", "out"], ["reproduce", "--quick", "-o", "rep"]):
        code, err = _exit_code(argv, capsys)
        assert code == 2 and "matplotlib" in err and "pip install 'neurona[plot]'" in err
    assert list(tmp_path.iterdir()) == []


def test_data_info_reads_as_sentences(capsys):
    assert cli.main(["data", "--info"]) == 1
    out = capsys.readouterr().out
    assert "None" not in out and "{" not in out and "[" not in out
    assert out.startswith("CIFAR-10 was not found in") and "neurona data cifar10" in out


# ----- no message suggests a flag that does not exist -----------------------------------------------------

def _all_flags() -> set:
    parser, graph, run_parsers = cli._build_parser()
    for name, sub in run_parsers.items():
        cli._add_config_flags(sub, experiments.get(name).Config)
    parsers = [parser, graph, *run_parsers.values()]
    parsers += [sub for p in parsers for a in p._actions if isinstance(a.choices, dict) for sub in a.choices.values()]
    return {s for p in parsers for a in p._actions for s in a.option_strings}


def test_every_flag_a_message_mentions_exists():
    flags = _all_flags()
    sources = [SRC / "cli.py", *(SRC / "experiments").glob("*.py"), *(SRC / "datasets").glob("*.py")]
    mentioned = {}
    for path in sources:
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", path.read_text(encoding="utf-8")):
            mentioned.setdefault(flag, path.name)
    assert "--resume" in mentioned and "--overwrite" in mentioned
    unknown = {flag: where for flag, where in mentioned.items() if flag not in flags}
    assert unknown == {}
