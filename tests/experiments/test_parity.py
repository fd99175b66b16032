"""Exercise 7 (N-bit parity): the data, the sweeps, the epochs-to-100% table, what run() writes, resume."""

import csv
import itertools
import json

import numpy as np
import pytest

from neurona import cli
from neurona.datasets import synthetic
from neurona.experiments import parity
from neurona.experiments._common import prepare_output

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# settings: width sweep (2,1), (2,3); inputs sweep (2,3) again, (3,3); narrow sweep (4,1) -> 4 distinct
TINY = parity.Config(epochs=40, seeds=2, width_n=(2,), hidden_values=(1, 3), n_values=(2, 3), hidden=3,
                     narrow_n=4, narrow_hidden=(1,))


@pytest.fixture(scope="module")
def parity_tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("parity")
    return out, parity.run(TINY, out, verbose=0)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("n_bits", [1, 2, 3, 5])
def test_parity_targets_are_the_product_of_the_inputs(n_bits):
    x, y = synthetic.parity(n_bits)
    assert x.shape == (2**n_bits, n_bits) and y.shape == (2**n_bits, 1)
    assert {tuple(row) for row in x.tolist()} == set(itertools.product([-1.0, 1.0], repeat=n_bits))
    # the product of ±1 entries is -1 exactly when an odd number of them are -1
    odd = (x == -1).sum(axis=1) % 2 == 1
    np.testing.assert_array_equal(y[:, 0], np.where(odd, -1.0, 1.0))


def test_parity_sweeps_and_their_settings():
    assert parity.sweeps(TINY) == [
        ("width-N2", "N = 2, N' varied", "N'", [(2, 1), (2, 3)]),
        ("inputs-H3", "N' = 3, N varied", "N", [(2, 3), (3, 3)]),
        ("narrow-N4", "N' << N = 4", "N'", [(4, 1)]),
    ]
    assert parity._settings(TINY) == [(2, 1), (2, 3), (3, 3), (4, 1)]  # (2, 3) is trained once


def test_parity_network_shape_and_parameters():
    model = parity.build_network(5, 3)
    model.build(seed=0)
    # 5·3 + 3 hidden, 3·1 + 1 output = 22
    assert sum(w.size for w in model.parameters) == 22
    assert model.predict(synthetic.parity(5)[0]).shape == (32, 1)


def test_parity_setting_stats_on_synthetic_histories():
    runs = [{"accuracy": [0.5, 1.0, 1.0], "loss": [1.0, 0.2, 0.1], "stopped": None},
            {"accuracy": [0.5, 0.75, 0.75], "loss": [1.0, 0.6, 0.5], "stopped": None},
            {"accuracy": [0.5, 0.75, 1.0], "loss": [1.0, 0.4, 0.3], "stopped": None}]
    stats = parity.setting_stats(runs)
    # first 100% at epochs 2 and 3 (the second run never): 2 of 3, mean = median = 2.5
    assert stats["reached"] == 2 and stats["fraction_reached"] == pytest.approx(2 / 3)
    assert stats["mean_epoch"] == 2.5 and stats["median_epoch"] == 2.5
    assert stats["fraction_final_100"] == pytest.approx(2 / 3)
    assert stats["mean_final_accuracy"] == pytest.approx((1 + 0.75 + 1) / 3)
    assert stats["median_final_loss"] == 0.3  # median of 0.1, 0.5, 0.3
    assert stats["diverged"] == 0


def test_parity_markdown_table_by_hand():
    row = {"N": 4, "hidden": 2, "runs": 3, "reached": 1, "mean_epoch": 120.0, "median_epoch": 120,
           "fraction_final_100": 1 / 3, "mean_final_accuracy": 0.875, "median_final_loss": 0.25}
    never = {**row, "reached": 0, "mean_epoch": None, "median_epoch": None, "fraction_final_100": 0.0}
    lines = parity.markdown_table([row, never], epochs=500).splitlines()
    assert lines[0].startswith("| N | N' | seeds at 100% |") and "after 500" in lines[0]
    assert lines[2] == "| 4 | 2 | 1/3 | 120.0 | 120 | 33% | 0.875 | 0.25 |"
    assert lines[3] == "| 4 | 2 | 0/3 | — | — | 0% | 0.875 | 0.25 |"


def test_parity_run_writes_figures_tables_and_summary(parity_tiny_run):
    out, summary = parity_tiny_run
    for name in ("parity-width-N2.png", "parity-inputs-H3.png", "parity-narrow-N4.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000, name
    on_disk = json.loads((out / "summary.json").read_text())
    assert {"config", "results", "seconds", "headline", "files"} <= set(on_disk)
    assert on_disk["config"]["n_values"] == [2, 3] and on_disk["config"]["epochs"] == 40
    assert len(summary["headline"]) == 3
    table = _rows(out / "table.csv")
    assert [(r["N"], r["hidden"]) for r in table] == [("2", "1"), ("2", "3"), ("3", "3"), ("4", "1")]
    assert all(r["runs"] == "2" for r in table)
    assert len(summary["results"]["table_markdown"].splitlines()) == 2 + 4
    runs = _rows(out / "runs.csv")
    assert len(runs) == 4 * 2
    assert len(_rows(out / "history.csv")) == 4 * 40  # the seed-0 run of each setting
    with np.load(out / "histories.npz", allow_pickle=False) as data:
        assert data["N4_H1_seed1/loss"].shape == (40,)
        assert json.loads(str(data["meta"]))["epochs"] == 40


def test_parity_table_agrees_with_runs_csv(parity_tiny_run):
    out, _ = parity_tiny_run
    runs = _rows(out / "runs.csv")
    for row in _rows(out / "table.csv"):
        mine = [r for r in runs if (r["N"], r["hidden"]) == (row["N"], row["hidden"])]
        assert int(row["reached"]) == sum(bool(r["epochs_to_100"]) for r in mine)


def test_parity_same_seed_same_results(parity_tiny_run, tmp_path):
    out, _ = parity_tiny_run
    config = parity.Config(epochs=40, seeds=2, width_n=(2,), hidden_values=(3,), n_values=(), narrow_hidden=())
    parity.run(config, tmp_path, verbose=0)
    with np.load(out / "histories.npz") as first, np.load(tmp_path / "histories.npz") as second:
        for seed in (0, 1):
            np.testing.assert_array_equal(first[f"N2_H3_seed{seed}/loss"], second[f"N2_H3_seed{seed}/loss"])
        assert not np.array_equal(second["N2_H3_seed0/loss"], second["N2_H3_seed1/loss"])


def test_parity_resume_reuses_the_saved_runs(parity_tiny_run, tmp_path, monkeypatch):
    out, _ = parity_tiny_run
    folder = prepare_output(tmp_path / "resume")  # a folder neurona prepared: --resume refuses any other
    (folder / "histories.npz").write_bytes((out / "histories.npz").read_bytes())

    def no_training(*args, **kwargs):
        raise AssertionError("resume trained a run that histories.npz already holds")

    monkeypatch.setattr(parity, "train", no_training)
    parity.run(TINY, folder, verbose=0, resume=True)
    assert (folder / "table.csv").read_bytes() == (out / "table.csv").read_bytes()
    with pytest.raises(ValueError, match="epochs=40, lr=0.01, not epochs=41"):
        parity.run(parity.Config(**{**TINY.__dict__, "epochs": 41}), folder, verbose=0, resume=True)


def test_parity_refuses_a_non_empty_folder_without_overwrite(tmp_path):
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not empty"):
        parity.run(TINY, tmp_path, verbose=0)


@pytest.mark.parametrize("changes, message", [
    ({"n_values": (2, 0)}, r"n_values\[1\] must be an int in \[1, 20\]. Received: n_values\[1\]=0"),
    ({"narrow_n": 21}, r"narrow_n must be an int in \[1, 20\]. Received: narrow_n=21"),
    ({"hidden_values": (2, -1)}, r"hidden_values\[1\] must be an int >= 1. Received: hidden_values\[1\]=-1"),
    ({"epochs": 0}, "epochs must be an int >= 1. Received: epochs=0"),
    ({"lr": -0.1}, "lr must be a positive number. Received: lr=-0.1"),
])
def test_parity_config_rejects_bad_values(changes, message):
    with pytest.raises(ValueError, match=message):
        parity.Config(**changes)


def test_parity_config_accepts_lists_as_tuples():
    assert parity.Config(n_values=[2, 4]).n_values == (2, 4)
    with pytest.raises(ValueError, match="n_values must be a tuple of ints. Received: n_values=5"):
        parity.Config(n_values=5)


def test_parity_run_refuses_empty_sweeps(tmp_path):
    empty = parity.Config(width_n=(), n_values=(), narrow_hidden=())
    with pytest.raises(ValueError, match="every sweep is empty"):
        parity.run(empty, tmp_path / "empty", verbose=0)
    assert not (tmp_path / "empty").exists()


def test_parity_cli_run_with_tuple_overrides(tmp_path):
    out = tmp_path / "cli"
    argv = ["run", "parity", "-o", str(out), "--quick", "--epochs", "15", "--seeds", "1", "--n-values", "2", "3",
            "--hidden", "2", "--width-n", "2", "--hidden-values", "1", "--narrow-n", "3", "--narrow-hidden", "1", "-q"]
    assert cli.main(argv) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["n_values"] == [2, 3] and config["hidden"] == 2 and config["epochs"] == 15
    assert (out / "parity-inputs-H2.png").exists() and (out / "parity-narrow-N3.png").exists()
