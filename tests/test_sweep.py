"""neurona sweep: the points and tasks of a search, runs.csv, plots, failures that don't stop the others, --resume."""

import csv
import json

import pytest

from neurona import cli
from neurona.experiments import sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = dict(grid={"n": (2, 3), "hidden": (1, 3), "epochs": (30,)}, seeds=2)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return out, sweep.run(sweep.Config("parity", **SMALL), out, verbose=0, jobs=1)


def test_grid_points_vary_the_first_parameter_slowest_and_each_task_fixes_its_seed():
    config = sweep.Config("parity", grid={"n": (2, 3), "hidden": (1, 5)}, seeds=2, seed=7)
    assert sweep.points(config) == [{"n": 2, "hidden": 1}, {"n": 2, "hidden": 5}, {"n": 3, "hidden": 1},
                                    {"n": 3, "hidden": 5}]
    tasks = sweep.tasks(config)
    assert [t.key for t in tasks[:2]] == ["n=2,hidden=1,seed=7", "n=2,hidden=1,seed=8"]
    assert tasks[0].params == {"n": 2, "hidden": 1, "epochs": 3000, "lr": 0.01, "seed": 7}  # defaults fill the rest


def test_random_points_are_drawn_from_the_seed_within_their_bounds():
    config = sweep.Config("parity", random={"lr": (1e-3, 1e-1, "log"), "hidden": (1, 9, "linear")}, samples=5)
    first, again = sweep.points(config), sweep.points(config)
    assert first == again and len(first) == 5
    assert all(1e-3 <= p["lr"] <= 1e-1 and isinstance(p["hidden"], int) and 1 <= p["hidden"] <= 9 for p in first)


@pytest.mark.parametrize("changes, message", [
    ({"grid": {"width": (1,)}}, "unknown parameter 'width'. Valid parameters: n, hidden, epochs, lr"),
    ({"grid": {"hidden": (2.5,)}}, r"hidden takes whole numbers. Received: hidden=2.5"),
    ({"grid": {"n": ()}}, r"needs at least one value"),
    ({"seeds": 0}, r"seeds must be a positive int. Received: seeds=0"),
    ({"random": {"lr": (0.1, 1.0, "linear")}}, r"random parameters need samples >= 1"),
])
def test_config_refuses_bad_searches(changes, message):
    with pytest.raises(ValueError, match=message):
        sweep.Config("parity", **changes)


def test_unknown_experiment_lists_the_sweepable_ones():
    with pytest.raises(ValueError, match="experiment must be one of xor, parity"):
        sweep.Config("mnist")


def test_runs_csv_has_one_row_per_run_with_parameters_metrics_time_and_host(small_sweep):
    out, summary = small_sweep
    rows = _rows(out / "runs.csv")
    assert len(rows) == 2 * 2 * 2 == summary["results"]["runs_done"] == summary["results"]["runs_total"]
    assert list(rows[0])[:4] == ["n", "hidden", "epochs", "seed"]
    for column in ("final_accuracy", "best_accuracy", "final_loss", "epochs_trained", "seconds", "host"):
        assert column in rows[0]
    assert [(r["n"], r["hidden"], r["seed"]) for r in rows[:3]] == [("2", "1", "0"), ("2", "1", "1"), ("2", "3", "0")]


def test_plots_show_the_metric_against_each_parameter_and_a_heatmap(small_sweep):
    out, summary = small_sweep
    pngs = [f for f in summary["files"] if f.endswith(".png")]
    assert pngs == ["final_accuracy-vs-n.png", "final_accuracy-vs-hidden.png", "final_accuracy-n-hidden.png"]
    assert all((out / f).read_bytes()[:8] == PNG_MAGIC for f in pngs)


def test_a_failing_run_is_reported_with_its_configuration_and_the_others_finish(tmp_path):
    config = sweep.Config("parity", grid={"n": (2,), "hidden": (0, 2), "epochs": (20,)}, seeds=2)
    summary = sweep.run(config, tmp_path, verbose=0, jobs=2)
    assert summary["results"]["runs_done"] == 2
    failed = summary["results"]["failed"]
    assert [f["params"]["hidden"] for f in failed] == [0, 0]
    assert "units must be a positive int. Received: units=0" in failed[0]["error"]
    assert any(line.startswith("INCOMPLETE") for line in summary["headline"])


def test_resume_trains_only_the_missing_runs(small_sweep, tmp_path, monkeypatch):
    out, _ = small_sweep
    folder = tmp_path / "resumed"
    sweep.run(sweep.Config("parity", **SMALL), folder, verbose=0)
    lines = (folder / "runs.jsonl").read_text().splitlines()
    (folder / "runs.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:10])  # 5 runs kept, one torn line
    trained = []
    real = sweep.run_point
    monkeypatch.setattr(sweep, "run_point", lambda params: trained.append(params) or real(params))
    sweep.run(sweep.Config("parity", **SMALL), folder, verbose=0, resume=True)
    assert len(trained) == 3
    assert (folder / "runs.csv").read_text().count("\n") == (out / "runs.csv").read_text().count("\n")
    assert _drop_time(folder / "runs.csv") == _drop_time(out / "runs.csv")
    assert len(sweep._load_done(folder / "runs.jsonl", resume=True)) == 8  # the torn line ended, not glued to


def _drop_time(path):
    return [{k: v for k, v in row.items() if k not in ("seconds", "host")} for row in _rows(path)]


def test_cli_sweep_parses_grids_ranges_and_writes_runs_csv(tmp_path, capsys):
    code = cli.main(["sweep", "xor", "--grid", "architecture=A,B", "hidden=2:3", "epochs=20", "--seeds", "1",
                     "--jobs", "1", "-q", "-o", str(tmp_path / "s")])
    assert code == 0
    rows = _rows(tmp_path / "s" / "runs.csv")
    assert [(r["architecture"], r["hidden"]) for r in rows] == [("A", "2"), ("A", "3"), ("B", "2"), ("B", "3")]
    assert "4/4 runs of xor done in this process" in capsys.readouterr().out
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["config"]["grid"] == {"architecture": ["A", "B"], "hidden": [2, 3], "epochs": [20]}


@pytest.mark.parametrize("argv, message", [
    (["--grid", "n"], "must be NAME=a,b,c or NAME=LOW:HIGH. Received: 'n'"),
    (["--grid", "n=5:2"], "needs LOW <= HIGH"),
    (["--random", "lr=0:1:log"], "LOW > 0 for log"),
    (["--seeds", "0"], "argument --seeds: must be an integer from 1"),
])
def test_cli_sweep_refuses_bad_arguments_before_anything_runs(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["sweep", "parity", *argv, "-o", str(tmp_path / "never")])
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_an_interrupted_sweep_keeps_what_finished_and_says_so(tmp_path, monkeypatch):
    calls = []
    real = sweep.run_point

    def stopped_at_the_third(params):  # what a run returns when Ctrl-C stops its fit
        calls.append(params)
        return {"interrupted": "SIGINT"} if len(calls) == 3 else real(params)

    monkeypatch.setattr(sweep, "run_point", stopped_at_the_third)
    summary = sweep.run(sweep.Config("parity", **SMALL), tmp_path, verbose=0)
    assert summary["results"]["interrupted"] == "SIGINT" and summary["results"]["runs_done"] == 2
    assert (tmp_path / "runs.jsonl").read_text().count("\n") == 2
    assert "INTERRUPTED by SIGINT; every run that finished is kept in runs.jsonl" in summary["headline"]


def test_ex4_and_ex8_call_the_l2_strength_reg_and_take_lam_as_another_name():
    config = sweep.Config("ex4", grid={"lr": (1e-4, 3e-4, 1e-3), "reg": (0, 1e-3)}, seeds=1)
    assert [t.key for t in sweep.tasks(config)[:2]] == ["lr=0.0001,reg=0.0,seed=0", "lr=0.0001,reg=0.001,seed=0"]
    assert all("lam" not in t.params for t in sweep.tasks(config))
    assert sweep.Config("ex8", grid={"lam": (0, 1e-3)}).grid == {"reg": (0.0, 1e-3)}
    with pytest.raises(ValueError, match="lam is another name for reg; give one of them"):
        sweep.Config("ex4", grid={"reg": (0,), "lam": (1e-3,)})


def test_the_issue_s_ex4_sweep_runs_from_the_command_line(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent / "experiments"))
    from test_cifar_experiments import write_tiny_cifar
    from neurona.experiments.cifar import data as _cifar_data

    write_tiny_cifar(tmp_path / "data")
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _cifar_data.clear_cache()
    code = cli.main(["sweep", "ex4", "--grid", "lr=1e-4,3e-4,1e-3", "reg=0,1e-3", "n_train=50", "n_test=20",
                     "epochs=2", "--seeds", "1", "-j", "1", "-q", "-o", str(tmp_path / "s")])
    _cifar_data.clear_cache()
    assert code == 0, capsys.readouterr().err
    rows = _rows(tmp_path / "s" / "runs.csv")
    assert [(r["lr"], r["reg"]) for r in rows] == [(lr, reg) for lr in ("0.0001", "0.0003", "0.001")
                                                   for reg in ("0", "0.001")]
    assert rows[0]["final_loss"] != rows[1]["final_loss"]  # the penalty is part of the loss: reg reached the run
