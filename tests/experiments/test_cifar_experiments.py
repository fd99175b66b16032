"""CIFAR-10 exercises on a tiny fake archive: files written, the reference engine used for Ex. 3, the data
preparation, the missing-data error, and Ex. 3's hand-derived gradients against the engine's in float64."""

from __future__ import annotations

import csv
import json
import pickle
import struct
import zlib

import numpy as np
import pytest

from neurona import layers, losses, models, reference, regularizers
from neurona.autodiff import Tensor
from neurona.experiments import cifar, get
from neurona.experiments.cifar import data as _cifar_data

N_TRAIN, N_TEST = 50, 20
TINY = {"n_train": N_TRAIN, "n_test": N_TEST, "epochs": 2, "download": False}


def write_tiny_cifar(folder, per_batch: int = 10, n_test: int = 20, seed: int = 0):
    """CIFAR-10's python layout (cifar-10-batches-py/ with five training batches, a test batch and
    batches.meta, each a protocol-2 pickle of a dict with byte keys) holding random images."""
    rng = np.random.default_rng(seed)
    batches = folder / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    arrays = {}
    for name, count in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        rows = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=count)]
        arrays[name] = (rows, labels)
        (batches / name).write_bytes(pickle.dumps({b"data": rows, b"labels": labels, b"batch_label": name.encode(),
                                                   b"filenames": [b"x.png"] * count}, protocol=2))
    meta = {b"label_names": [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                                  "horse", "ship", "truck")], b"num_cases_per_batch": per_batch}
    (batches / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return arrays


@pytest.fixture
def tiny_cifar(tmp_path, monkeypatch):
    """NEURONA_DATA at a tiny official-layout data set; no test may reach the network or the real cache."""
    arrays = write_tiny_cifar(tmp_path / "data")
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _cifar_data.clear_cache()
    yield arrays
    _cifar_data.clear_cache()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A valid 1x1 grey PNG: what the stubbed plots write, so most tests skip matplotlib's ~1 s per figure.
ONE_PIXEL_PNG = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
                 + _png_chunk(b"IDAT", zlib.compress(b"\x00\x80")) + _png_chunk(b"IEND", b""))


@pytest.fixture
def fast_plots(monkeypatch):
    """Replace the matplotlib figures by a one-pixel PNG; test_linear_classifiers keeps the real ones."""
    from neurona.viz import plots

    def fake(history, path=None, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(ONE_PIXEL_PNG)

    monkeypatch.setattr(plots, "plot_history", fake)
    monkeypatch.setattr(plots, "plot_comparison", fake)


def _tiny(name, **changes):
    return get(name).Config(**{**TINY, **changes})


def _check_outputs(out, summary, keys):
    assert (out / "summary.json").exists() and (out / "history.csv").exists()
    on_disk = json.loads((out / "summary.json").read_text())
    assert set(on_disk["results"]) == set(keys) == set(summary["results"])
    with open(out / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["run"] for r in rows} == set(keys)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    for key in keys:
        assert (out / f"{key}.png").stat().st_size > 0
        assert summary["results"][key]["epochs"] == 2
        assert 0.0 <= summary["results"][key]["final_val_accuracy"] <= 1.0
        assert summary["results"][key]["n_test"] == N_TEST
    assert summary["headline"] and all(isinstance(line, str) for line in summary["headline"])


# ----- data preparation -----
def test_prepare_standardizes_with_the_training_statistics(tiny_cifar):
    data = _cifar_data.prepare(N_TRAIN, N_TEST, download=False)
    assert data.x_train.shape == (N_TRAIN, 3072) and data.x_test.shape == (N_TEST, 3072)
    assert data.x_train.dtype == np.float32
    # the training rows are the five batches in order; standardized per feature with their own mean/std
    raw = np.concatenate([tiny_cifar[f"data_batch_{i}"][0] for i in range(1, 6)]).astype(np.float64)
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-3)
    np.testing.assert_array_equal(data.y_train, sum((tiny_cifar[f"data_batch_{i}"][1] for i in range(1, 6)), []))
    # the test set uses the *training* mean and std (the image order differs from the rows: check one value)
    test_raw = tiny_cifar["test_batch"][0].astype(np.float64)
    assert data.x_test.shape[0] == len(test_raw)
    assert data.y_test_hot.shape == (N_TEST, 10) and (data.y_test_hot.argmax(1) == data.y_test).all()
    assert np.isclose(data.x_test.mean(), ((test_raw.mean() - raw.mean()) / raw.std()), atol=0.2)


def test_prepare_is_cached_and_read_only(tiny_cifar):
    first = _cifar_data.prepare(N_TRAIN, N_TEST, download=False)
    assert _cifar_data.prepare(N_TRAIN, N_TEST, download=False) is first
    with pytest.raises(ValueError):
        first.x_train[0, 0] = 1.0


def test_missing_data_names_the_command_that_fixes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _cifar_data.clear_cache()
    with pytest.raises(FileNotFoundError, match="neurona data cifar10"):
        cifar.run_ex4(_tiny("ex4"), tmp_path / "out", verbose=0)


def test_cli_prints_the_fix(tmp_path, monkeypatch, capsys):
    from neurona import cli

    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _cifar_data.clear_cache()
    code = cli.main(["run", "linear", "-q", "-o", str(tmp_path / "out"), "--no-download", "--epochs", "1"])
    assert code == 2 and "neurona data cifar10" in capsys.readouterr().err


# ----- each exercise on the tiny data -----
def test_ex3_trains_with_the_reference_module(tiny_cifar, fast_plots, tmp_path, monkeypatch):
    calls = []
    real_train = reference.train

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(reference, "train", spy)
    summary = cifar.run_ex3(_tiny("ex3", listing_epochs=2), tmp_path / "ex3", verbose=0)
    assert [c["loss"] for c in calls] == ["mse", "svm", "cce", "mse"]  # the last: the listing
    assert [c["lr"] for c in calls] == [cifar.Ex3Config.mse_lr, 1e-3, 1e-3, 1e-7]
    assert [c["batch_size"] for c in calls] == [128, 128, 128, 256]
    assert all(c["sum_gradients"] and c["hidden_activation"] == "sigmoid"
               and c["output_activation"] == "linear" for c in calls)
    _check_outputs(tmp_path / "ex3", summary, ["mse", "svm", "cce", "mse-listing"])
    assert (tmp_path / "ex3" / "comparison.png").exists()


def test_ex4_compares_the_lr_conventions(tiny_cifar, fast_plots, tmp_path):
    summary = cifar.run_ex4(_tiny("ex4"), tmp_path / "ex4", verbose=0)
    _check_outputs(tmp_path / "ex4", summary, ["bgd", "sgd-same-lr", "sgd-lr-x-batch"])
    settings = {k: v["settings"] for k, v in summary["results"].items()}
    assert settings["bgd"]["engine"] == "framework" and settings["bgd"]["optimizer"] == "bgd"
    assert settings["sgd-lr-x-batch"]["lr"] == pytest.approx(1e-3 * 128)  # 0.128: the same step as BGD
    assert settings["sgd-same-lr"]["lr"] == 1e-3


def test_bgd_equals_sgd_at_lr_times_batch(tiny_cifar, fast_plots, tmp_path):
    # Same seed, full batches (50 = 2 x 25): BGD(lr) and SGD(lr x 25) take identical steps.
    config = _tiny("ex4", batch_size=25, epochs=1)
    results = cifar.run_ex4(config, tmp_path / "ex4", verbose=0)["results"]
    assert results["bgd"]["final_loss"] == pytest.approx(results["sgd-lr-x-batch"]["final_loss"], rel=1e-4)
    assert results["bgd"]["final_val_loss"] == pytest.approx(results["sgd-lr-x-batch"]["final_val_loss"], rel=1e-4)


def test_ex5_runs_four_combinations_at_the_practicals_settings_and_the_alternatives(tiny_cifar, fast_plots, tmp_path):
    summary = cifar.run_ex5(_tiny("ex5", epochs=2), tmp_path / "ex5", verbose=0)
    keys = [f"relu-{o}-{loss}{s}" for s in ("", "-alt", "-lam") for o in ("sigmoid", "linear") for loss in ("mse", "cce")]
    _check_outputs(tmp_path / "ex5", summary, keys)
    settings = {key: entry["settings"] for key, entry in summary["results"].items()}
    assert (settings["relu-linear-cce"]["lr"], settings["relu-linear-cce"]["lam"]) == (1e-6, 0.1)  # the practical's
    assert (settings["relu-linear-cce-alt"]["lr"], settings["relu-linear-cce-alt"]["lam"]) == (1e-4, 0.1)
    assert (settings["relu-sigmoid-mse-lam"]["lr"], settings["relu-sigmoid-mse-lam"]["lam"]) == (1e-4, 1e-3)
    assert settings["relu-sigmoid-cce"]["layers"] == [[100, "relu", 1e-2], [10, "sigmoid", 1e-2]]
    for stem in ("comparison", "comparison-alt", "comparison-lam"):
        assert (tmp_path / "ex5" / f"{stem}.png").exists()


def test_ex5_alternatives_can_be_turned_off(tiny_cifar, fast_plots, tmp_path):
    summary = cifar.run_ex5(_tiny("ex5", epochs=2, alt_lr=0.0, outputs=("linear",)), tmp_path / "ex5", verbose=0)
    assert list(summary["results"]) == ["relu-linear-mse", "relu-linear-cce"]


def test_ex8_and_its_depth_baselines(tiny_cifar, fast_plots, tmp_path):
    summary = cifar.run_ex8(_tiny("ex8"), tmp_path / "ex8", verbose=0)
    keys = [p + loss for p in ("", "1hidden-") for loss in ("mse", "svm", "cce")] + ["linear-svm", "linear-cce"]
    keys += ["mse-alt", "svm-alt", "cce-alt"]
    _check_outputs(tmp_path / "ex8", summary, keys)
    assert summary["results"]["cce"]["settings"]["layers"] == [[100, "sigmoid", 1e-2], [100, "sigmoid", 1e-3],
                                                               [10, "linear", 1e-2]]
    assert summary["results"]["linear-svm"]["settings"]["layers"] == [[10, "linear", 1e-2]]
    assert len(summary["depth_table"]) == 8 and (tmp_path / "ex8" / "depth.png").exists()
    assert summary["results"]["svm-alt"]["settings"]["lr"] == 1e-3
    assert summary["results"]["svm-alt"]["settings"]["layers"] == summary["results"]["svm"]["settings"]["layers"]


def test_linear_classifiers(tiny_cifar, tmp_path):
    summary = cifar.run_linear(_tiny("linear"), tmp_path / "linear", verbose=0)
    _check_outputs(tmp_path / "linear", summary, ["svm", "cce"])


def test_resume_reuses_finished_runs(tiny_cifar, fast_plots, tmp_path, monkeypatch):
    config = _tiny("linear", losses=("svm",))
    first = cifar.run_linear(config, tmp_path / "linear", verbose=0)
    monkeypatch.setattr("neurona.experiments.cifar.runs.train", lambda *a, **k: pytest.fail("retrained"))
    again = cifar.run_linear(config, tmp_path / "linear", verbose=0, resume=True)
    assert again["results"]["svm"]["final_val_accuracy"] == first["results"]["svm"]["final_val_accuracy"]


def test_quick_configs_are_small():
    for name in cifar.EXERCISES:
        quick = get(name).Config.quick()
        assert quick.n_train <= 1000 and quick.n_test <= 2000 and quick.epochs <= 5


def test_unknown_experiment_name():
    with pytest.raises(ValueError, match="name must be one of.*Received: name='ex9'"):
        cifar.experiment("ex9")


# ----- Ex. 3's hand-derived gradients against the engine, float64 -----
def _engine_grads(params, x, y, loss, lam, hidden_activation, output_activation):
    model = models.Network(dtype="float64")
    model.add(layers.Dense(params["W1"].shape[1], activation=hidden_activation, input_dim=x.shape[1]))
    model.add(layers.Dense(params["W2"].shape[1], activation=output_activation))
    model.build()
    for layer, k in zip(model.layers, ("1", "2")):
        layer.kernel.data[...] = params["W" + k]
        layer.bias.data[...] = params["b" + k]
    value = losses.get(loss)(model.forward(Tensor(x)), y) + regularizers.L2(lam)(model.regularized_weights)
    value.backward()
    grads = {}
    for layer, k in zip(model.layers, ("1", "2")):
        grads["W" + k], grads["b" + k] = layer.kernel.grad, layer.bias.grad
    return value.item(), grads


@pytest.mark.parametrize("loss", ["mse", "svm", "cce"])
@pytest.mark.parametrize("hidden_activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("output_activation", ["linear", "sigmoid"])
def test_reference_gradients_equal_the_engines(loss, hidden_activation, output_activation):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((16, 12))
    y = rng.integers(0, 5, size=16)
    params = reference.init_params(12, 7, 5, factor=0.5, seed=3, dtype=np.float64)
    params["b1"] += rng.standard_normal(7) * 0.1  # non-zero biases, so their gradients are tested too
    targets = reference.one_hot(y, 5, dtype=np.float64) if loss == "mse" else y
    value, grads = reference.loss_and_grads(params, x, targets, loss=loss, lam=1e-2,
                                            hidden_activation=hidden_activation, output_activation=output_activation)
    engine_value, engine = _engine_grads(params, x, targets, loss, 1e-2, hidden_activation, output_activation)
    assert value == pytest.approx(engine_value, abs=1e-10)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(grads[key], engine[key], atol=1e-6, rtol=0, err_msg=key)
        assert np.abs(grads[key]).max() > 1e-6 or key == "b1" and hidden_activation == "relu"


def test_an_interrupted_exercise_is_marked_and_resumes_bit_for_bit(tiny_cifar, fast_plots, tmp_path, monkeypatch):
    # SIGINT arrives during the 5th training step of the first run: fit stops after that step,
    # summary.json says so, and --resume (from the run's epoch checkpoint) ends exactly where an
    # uninterrupted run ends.
    import json
    import os
    import signal

    from neurona import training
    from neurona.experiments._common import RunInterrupted

    config = _tiny("ex4", epochs=3)
    straight = cifar.run_ex4(config, tmp_path / "straight", verbose=0)
    original, calls = training._train_step, []

    def step_then_signal(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "_train_step", step_then_signal)
    with pytest.raises(RunInterrupted, match="interrupted by SIGINT"):
        cifar.run_ex4(config, tmp_path / "stopped", verbose=0)
    marked = json.loads((tmp_path / "stopped" / "summary.json").read_text())
    assert marked["results"]["interrupted"] == "SIGINT" and marked["headline"][0].startswith("INTERRUPTED")
    monkeypatch.setattr(training, "_train_step", original)
    resumed = cifar.run_ex4(config, tmp_path / "stopped", verbose=0, resume=True)
    for key, run in straight["results"].items():
        assert resumed["results"][key]["final_val_accuracy"] == run["final_val_accuracy"]
        assert resumed["results"][key]["final_loss"] == run["final_loss"]
    assert not list((tmp_path / "stopped" / "runs").glob("*.checkpoint.npz"))
