"""Exercise 6 (XOR): the two architectures, the seed statistics, and what run() writes."""

import csv
import json

import numpy as np
import pytest

from neurona import cli, layers
from neurona.experiments import xor

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = xor.Config(epochs=60, seeds=2)


@pytest.fixture(scope="module")
def xor_tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("xor")
    return out, xor.run(TINY, out, verbose=0)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_xor_run_writes_figures_csvs_and_summary(xor_tiny_run):
    out, summary = xor_tiny_run
    for name in ("xor.png", "xor-seeds.png", "xor-solved.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000, name
    on_disk = json.loads((out / "summary.json").read_text())
    assert {"config", "results", "seconds", "headline", "files"} <= set(on_disk)
    assert on_disk["config"] == {"epochs": 60, "lr": 0.01, "seeds": 2, "seed": 0, "hidden": 2}
    assert set(on_disk["results"]["architectures"]) == {"A", "B"}
    assert on_disk["seconds"] > 0
    assert 2 <= len(summary["headline"]) <= 3 and all(isinstance(s, str) for s in summary["headline"])
    # seeds.csv: 2 architectures x 2 seeds; history.csv: the seed-0 run of each architecture, 60 epochs each
    seeds = _rows(out / "seeds.csv")
    assert [(r["architecture"], r["seed"]) for r in seeds] == [("A", "0"), ("A", "1"), ("B", "0"), ("B", "1")]
    history = _rows(out / "history.csv")
    assert len(history) == 2 * 60
    assert {r["run"] for r in history} == {"A", "B"}
    assert set(history[0]) == {"run", "epoch", "loss", "accuracy"}


def test_xor_fraction_and_median_agree_with_seeds_csv(xor_tiny_run):
    out, summary = xor_tiny_run
    for arch in ("A", "B"):
        mine = [r for r in _rows(out / "seeds.csv") if r["architecture"] == arch]
        epochs = sorted(int(r["epochs_to_100"]) for r in mine if r["epochs_to_100"])
        stats = summary["results"]["architectures"][arch]
        assert stats["runs"] == 2 and stats["reached"] == len(epochs)
        assert stats["fraction_reached"] == len(epochs) / 2
        if epochs:
            assert stats["median_epoch"] == (epochs[0] + epochs[-1]) / 2  # the median of 1 or 2 values


def test_xor_summarize_seeds_by_hand():
    # 4 runs, 2 reached (epochs 10 and 30): fraction 2/4, median = mean = (10 + 30) / 2 = 20
    stats = xor.summarize_seeds([10, None, 30, None])
    assert stats == {"runs": 4, "reached": 2, "fraction_reached": 0.5, "median_epoch": 20, "mean_epoch": 20,
                     "min_epoch": 10, "max_epoch": 30}
    # 3 runs reached at 5, 7, 100: median 7, mean 112 / 3
    stats = xor.summarize_seeds([100, 5, 7])
    assert stats["fraction_reached"] == 1.0 and stats["median_epoch"] == 7
    assert stats["mean_epoch"] == pytest.approx(112 / 3)
    none = xor.summarize_seeds([None, None])
    assert none["fraction_reached"] == 0.0 and none["median_epoch"] is None and none["min_epoch"] is None


def test_xor_epochs_to_perfect_on_a_synthetic_history():
    assert xor.epochs_to_perfect([0.5, 0.75, 1.0, 0.75, 1.0]) == 3  # the first 100%, even if it is lost later
    assert xor.epochs_to_perfect([1.0]) == 1
    assert xor.epochs_to_perfect([0.5, 0.75, 0.75]) is None
    assert xor.epochs_to_perfect([]) is None

    class FakeHistory:
        history = {"loss": [1.0, 0.5], "accuracy": [0.25, 1.0]}

    assert xor.epochs_to_perfect(FakeHistory()) == 2


def test_xor_solved_curve_counts_runs_by_epoch():
    # runs first at 100% at epochs 2 and 3, one never: after epoch 1: 0/3, 2: 1/3, 3 and 4: 2/3
    runs = [[0.5, 1.0, 1.0, 1.0], [0.5, 0.5, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5]]
    assert xor.solved_curve(runs, 4) == [0.0, 1 / 3, 2 / 3, 2 / 3]


def test_xor_architecture_b_contains_concatenate_and_has_11_parameters():
    model = xor.build_network("B")
    model.build(seed=0)
    assert any(isinstance(layer, layers.Concatenate) for layer in model.layers)
    # hidden 2·2 + 2 = 6; the output layer sees 2 hidden + 2 inputs: 4·1 + 1 = 5; total 11
    assert sum(w.size for w in model.parameters) == 11
    plain = xor.build_network("A")
    plain.build(seed=0)
    assert not any(isinstance(layer, layers.Concatenate) for layer in plain.layers)
    assert sum(w.size for w in plain.parameters) == 6 + 3  # 2·2 + 2, then 2·1 + 1


def test_xor_architecture_b_output_reads_hidden_and_input():
    model = xor.build_network("B")
    model.build(seed=3)
    hidden, output = [layer for layer in model.layers if not isinstance(layer, layers.Concatenate)]
    x = np.array([[-1.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    w1, b1 = hidden.kernel.numpy(), hidden.bias.numpy()
    w2, b2 = output.kernel.numpy(), output.bias.numpy()
    assert w2.shape == (4, 1)
    h = np.tanh(x @ w1 + b1)
    expected = np.tanh(np.concatenate([h, x], axis=1) @ w2 + b2)  # the Network joins [previous, input]
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_xor_unknown_architecture_is_named():
    with pytest.raises(ValueError, match="architecture must be one of A, B. Received: architecture='C'"):
        xor.build_network("C")


@pytest.mark.parametrize("field, value", [("epochs", 0), ("seeds", -1), ("hidden", 1.5), ("seed", -2), ("lr", 0)])
def test_xor_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=f"{field} must be .* Received: {field}={value}"):
        xor.Config(**{field: value})


def test_xor_same_seed_same_results(xor_tiny_run, tmp_path):
    out, _ = xor_tiny_run
    xor.run(TINY, tmp_path / "again", verbose=0)
    for name in ("seeds.csv", "history.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name


def test_xor_refuses_a_non_empty_folder_without_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    config = xor.Config(epochs=5, seeds=1)
    with pytest.raises(FileExistsError, match="not empty"):
        xor.run(config, tmp_path, verbose=0)
    # A folder neurona did not create is never emptied, even with overwrite.
    with pytest.raises(FileExistsError, match="not created by neurona"):
        xor.run(config, tmp_path, verbose=0, overwrite=True)
    assert not (tmp_path / "summary.json").exists() and (tmp_path / "notes.txt").read_text() == "keep me"


def test_xor_overwrite_replaces_what_neurona_wrote_and_keeps_the_user_s_files(tmp_path):
    config = xor.Config(epochs=5, seeds=1)
    xor.run(config, tmp_path, verbose=0)
    (tmp_path / "summary.json").write_text("from an earlier run")
    (tmp_path / "my-notes.txt").write_text("mine")
    xor.run(config, tmp_path, verbose=0, overwrite=True)
    assert (tmp_path / "summary.json").read_text() != "from an earlier run"  # rewritten by this run
    assert (tmp_path / "my-notes.txt").read_text() == "mine"  # never written by neurona, so kept


def test_xor_cli_run_with_overrides(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli.main(["run", "xor", "-o", str(out), "--quick", "--epochs", "20", "--seeds", "1", "-q"]) == 0
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["epochs"] == 20 and config["seeds"] == 1  # --quick, then the flags on top
    assert "seeds reach 100%" in capsys.readouterr().out
