"""Model files: save/load round trips predict identically; truncated or tampered files give a clear ValueError;
a pickled payload inside a file is never run."""

import json
import pathlib
import pickle

import numpy as np
import pytest

from neurona import layers, losses, models, optimizers

RNG = np.random.default_rng(61)
X = RNG.normal(size=(8, 4))
LABELS = np.array([0, 1, 2, 1, 0, 2, 1, 0])


class _Payload:
    """Unpickling this touches ``marker``: the proof that a pickle was (or was not) run."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def _network(dtype="float32"):
    model = models.Network(seed=1, dtype=dtype, name="net")
    model.add(layers.Dense(5, activation="tanh", input_dim=4, factor=0.5))
    model.add(layers.Concatenate(4))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(3, activation=None, use_bias=False))
    return model


def _functional(dtype="float32"):
    x = layers.Input(4)
    h = layers.Dense(6, activation="relu", kernel_initializer="he_normal")(x)
    h2 = layers.Dense(3, activation="leaky_relu")(h)
    y = layers.Dense(3)(layers.Concatenate()([x, h, h2]))
    return models.Model(x, y, dtype=dtype, seed=2, name="functional")


@pytest.fixture
def saved(tmp_path):
    model = _network()
    model.fit(X, LABELS, epochs=2, loss="svm", opt=optimizers.SGD(lr=0.1), verbose=0, seed=0)
    path = tmp_path / "model.npz"
    model.save(path)
    return model, path


# ----- round trips -----
@pytest.mark.parametrize("make", [_network, _functional], ids=["Network", "Model"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_reloaded_model_predicts_identically(tmp_path, make, dtype):
    model = make(dtype)
    model.fit(X, LABELS, epochs=2, loss="cce", opt=optimizers.Adam(lr=0.01), batch_size=3, verbose=0, seed=0)
    model.save(tmp_path / "m.npz")
    again = models.load(tmp_path / "m.npz")
    assert type(again) is type(model) and again.dtype == np.dtype(dtype) and again.name == model.name
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert [type(layer) for layer in again.layers] == [type(layer) for layer in model.layers]
    assert [layer.get_config() for layer in again.layers] == [layer.get_config() for layer in model.layers]
    assert type(again.loss) is losses.CCE
    assert again.evaluate(X, LABELS) == model.evaluate(X, LABELS)
    assert again.summary() == model.summary()


def test_an_unbuilt_network_with_input_dim_can_be_saved(tmp_path):
    model = _network()
    model.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(models.load(tmp_path / "m.npz").predict(X), model.predict(X))


def test_saving_leaves_only_the_file_and_holds_no_pickle(saved):
    _, path = saved
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.npz"]
    with np.load(path, allow_pickle=False) as archive:  # every entry loads without pickle
        arrays = {name: archive[name] for name in archive.files}
    assert all(a.dtype != object for a in arrays.values())
    config = json.loads(arrays["__config__"].tobytes().decode())
    assert config["format"] == "neurona.model" and config["version"] == 2
    assert config["class"] == "Network" and [entry["class"] for entry in config["layers"]] == [
        "Dense", "Concatenate", "Dropout", "Dense"]


def test_saving_over_an_existing_file_replaces_it(saved):
    model, path = saved
    model.layers[0].kernel.data[...] = 0.0
    model.save(path)
    np.testing.assert_array_equal(models.load(path).layers[0].kernel.data, 0.0)


# ----- damaged and tampered files -----
def _rewrite(src, dst, config=None, arrays=None):
    """Copy a model file, changing its JSON config and/or arrays (np.savez, as a tamperer would)."""
    with np.load(src, allow_pickle=False) as archive:
        contents = {name: archive[name] for name in archive.files}
    description = json.loads(contents.pop("__config__").tobytes().decode())
    if config:
        config(description)
    if arrays:
        arrays(contents)
    contents["__config__"] = np.frombuffer(json.dumps(description).encode(), dtype=np.uint8)
    np.savez(dst, **contents)
    return dst


@pytest.mark.parametrize("cut", ["half", "last byte", "middle 100 bytes", "first 10 bytes"])
def test_a_truncated_file(saved, cut):
    _, path = saved
    data = path.read_bytes()
    damaged = {"half": data[:len(data) // 2], "last byte": data[:-1],
               "middle 100 bytes": data[:len(data) // 2] + data[len(data) // 2 + 100:],
               "first 10 bytes": data[:10]}[cut]
    path.write_bytes(damaged)
    with pytest.raises(ValueError, match=r"model.npz: not a readable neurona model file \(truncated or corrupt\?\)"):
        models.load(path)


def test_a_config_edited_in_place_is_caught_by_the_zip_checksum(saved):
    _, path = saved
    data = path.read_bytes()
    assert data.count(b'"units": 5') == 1  # the JSON is stored uncompressed
    path.write_bytes(data.replace(b'"units": 5', b'"units": 6'))
    with pytest.raises(ValueError, match=r"model.npz: not a readable neurona model file .*CRC"):
        models.load(path)


@pytest.mark.parametrize("offset, value, what", [(10, 99, "an unknown compression method"),
                                                 (8, 1, "the 'encrypted' flag"),
                                                 (6, 99, "a newer zip version")])
def test_a_tampered_zip_directory(saved, offset, value, what):
    _, path = saved
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central-directory record
    data[entry + offset] = value
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"model.npz: not a readable neurona model file"):
        models.load(path)


def test_an_empty_file(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.npz: not a readable neurona model file"):
        models.load(tmp_path / "empty.npz")


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        models.load(tmp_path / "nothing.npz")


@pytest.mark.parametrize("change, match", [
    (lambda c: c["layers"][0].update({"class": "Lambda"}),
     r"the model description is invalid: Unknown layer in model file: .*'Lambda'.*Valid: Dense"),
    (lambda c: c["layers"][0].update({"class": "os.system"}), r"Unknown layer in model file: .*'os.system'"),
    (lambda c: c["layers"][0]["config"]["activation"].update({"class": "eval"}),
     r"the model description is invalid: Unknown activation in model file"),
    (lambda c: c["layers"][0]["config"].update({"units": -5}),
     r"the model description is invalid: Dense: units must be a positive int. Received: units=-5"),
    (lambda c: c["layers"][0]["config"].update({"callback": "print"}), r"the model description is invalid: "),
    (lambda c: c.update({"class": "Sequential"}),
     r"the model description is invalid: field 'class' must be 'Network' or 'Model'. Received: 'Sequential'"),
    (lambda c: c.update({"version": 3}), r"written in model format version 3, but this neurona reads versions "
                                         r"1, 2; upgrade neurona"),
    (lambda c: c.update({"version": "1"}), r"model format version '1'"),
    (lambda c: c.update({"format": "keras"}), r"not a neurona model file \(format='keras'\)"),
    (lambda c: c.pop("layers"), r"the model description is invalid: field 'layers' must be a list"),
    (lambda c: c.update({"dtype": "float16"}), r"field 'dtype' must be 'float32' or 'float64'. Received: 'float16'"),
    (lambda c: c["weights"].pop(), r"the file holds 5 weight arrays, but its layers need 5|weight arrays"),
])
def test_a_tampered_config(saved, tmp_path, change, match):
    _, path = saved
    with pytest.raises(ValueError, match=match):
        models.load(_rewrite(path, tmp_path / "tampered.npz", config=change))


def test_a_tampered_functional_model_whose_steps_point_nowhere(tmp_path):
    model = _functional()
    model.save(tmp_path / "f.npz")

    def change(c):
        c["steps"][1][1] = [7]  # the second step now reads value 7, which does not exist yet

    with pytest.raises(ValueError, match=r"the model description is invalid: step 1 refers to layer 1 or values \[7\]"):
        models.load(_rewrite(tmp_path / "f.npz", tmp_path / "t.npz", config=change))


@pytest.mark.parametrize("change, match", [
    (lambda a: a.update({"w0": np.zeros((5, 4), dtype=np.float32)}),
     r"weight dense_0/kernel should be a float array of shape \(4, 5\) \(float32\); the file has \(\(5, 4\), 'float32'\)"),
    (lambda a: a.update({"w1": np.zeros(5, dtype=np.int64)}),
     r"weight dense_0/bias should be a float array of shape \(5,\) \(float32\); the file has \(\(5,\), 'int64'\)"),
    (lambda a: a.pop("w2"), r"the file holds 2 weight arrays .*but its layers need 3"),
    (lambda a: a.update({"w9": np.zeros(3, dtype=np.float32)}), r"the file holds 4 weight arrays .*but its layers need 3"),
    (lambda a: a.update({"w2": a.pop("w0")}) or a.update({"w0": np.zeros((4, 5), np.float32)})
     and None, None),  # a swap that keeps every shape right is not an error (shapes are all that can be checked)
])
def test_arrays_of_the_wrong_shape_or_kind(saved, tmp_path, change, match):
    _, path = saved
    tampered = _rewrite(path, tmp_path / "tampered.npz", arrays=change)
    if match is None:
        with pytest.raises(ValueError, match=r"weight dense_3/kernel should be a float array of shape \(9, 3\)"):
            models.load(tampered)
        return
    with pytest.raises(ValueError, match=match):
        models.load(tampered)


def test_a_zip_without_a_config(tmp_path):
    np.savez(tmp_path / "plain.npz", w0=np.zeros(3))
    with pytest.raises(ValueError, match=r"plain.npz: not a neurona model file \(no __config__ entry\)"):
        models.load(tmp_path / "plain.npz")


def test_a_config_that_is_not_json(saved, tmp_path):
    _, path = saved
    with np.load(path) as archive:
        contents = {name: archive[name] for name in archive.files}
    contents["__config__"] = np.frombuffer(b"{not json", dtype=np.uint8)
    np.savez(tmp_path / "bad.npz", **contents)
    with pytest.raises(ValueError, match=r"bad.npz: the model description is corrupt"):
        models.load(tmp_path / "bad.npz")


# ----- pickles are refused and never run -----
def test_the_payload_used_below_really_runs_when_unpickled(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


@pytest.mark.parametrize("where", ["weight", "config"])
def test_an_npz_holding_an_object_array_is_refused_without_running_it(saved, tmp_path, where):
    _, path = saved
    marker = tmp_path / "pwned"
    with np.load(path) as archive:
        contents = {name: archive[name] for name in archive.files}
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    contents["w0" if where == "weight" else "__config__"] = evil
    np.savez(tmp_path / "evil.npz", **contents)  # np.save pickles object arrays
    with pytest.raises(ValueError, match=r"evil.npz: not a readable neurona model file .*pickle"):
        models.load(tmp_path / "evil.npz")
    assert not marker.exists()


def test_a_plain_pickle_file_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ValueError, match=r"model.npz: not a readable neurona model file .*pickle"):
        models.load(path)
    assert not marker.exists()


def test_a_forged_huge_layer_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    # A config claiming Dense(units=10**9) over the same small arrays must fail on shapes alone,
    # without building (which would allocate 4·10**9 floats).
    model = models.Network(seed=0)
    model.add(layers.Dense(3, input_dim=4))
    model.save(tmp_path / "m.npz")

    def change(c):
        c["layers"][0]["config"]["units"] = 10**9

    tampered = _rewrite(tmp_path / "m.npz", tmp_path / "t.npz", config=change)
    monkeypatch.setattr(layers.Dense, "build", lambda *a, **k: pytest.fail("build ran on a forged file"))
    with pytest.raises(ValueError, match=r"weight dense_0/kernel should be a float array of shape \(4, 1000000000\)"):
        models.load(tampered)
