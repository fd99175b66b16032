"""Files that cannot hurt: malicious and damaged model files, checkpoints and CIFAR-10 batches are refused.

Every payload here would create a marker file if it ran; each test proves it is live (an ordinary
unpickler runs it) and then that neurona refused the file without running it.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import shlex
import shutil
import tarfile

import numpy as np
import pytest

from neurona import checkpoints, layers, losses, models, optimizers, saving
from neurona.datasets import cifar10

pytestmark = pytest.mark.skipif(shutil.which("touch") is None, reason="the payloads use the `touch` command")


class Payload:
    """Unpickling this runs ``touch marker``: the classic pickle exploit."""

    def __init__(self, marker):
        self.command = f"touch {shlex.quote(str(marker))}"

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.fixture
def marker(tmp_path):
    """The file a payload would create; the fixture checks the payload is live first."""
    path = tmp_path / "PAYLOAD_RAN"
    pickle.loads(pickle.dumps(Payload(path), protocol=2))  # control: an ordinary unpickler runs it
    assert path.exists()
    path.unlink()
    yield path
    assert not path.exists(), "the payload ran"


def _model() -> models.Network:
    model = models.Network(seed=0)
    model.add(layers.Dense(4, activation="tanh", input_dim=3))
    model.add(layers.Dense(2))
    model.build()
    model.loss = losses.CCE()
    return model


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    model = _model()
    model.save(path)
    return path, model


def _write_npz(path, config: dict | None, arrays: dict) -> None:
    """An .npz like a model file, with whatever config and arrays a test wants (object arrays allowed)."""
    if config is not None:
        arrays = {**arrays, "__config__": np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _contents(path) -> tuple:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return json.loads(arrays.pop("__config__").tobytes().decode()), arrays


# ----- model files ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["weight", "config", "extra"])
def test_a_model_file_with_a_pickled_object_array_is_refused(saved, marker, where):
    path, _ = saved
    config, arrays = _contents(path)
    evil = np.array([Payload(marker)], dtype=object)
    if where == "weight":
        arrays["w0"] = evil
    elif where == "extra":
        arrays["w9"] = evil
    else:
        arrays["__config__"], config = evil, None
    _write_npz(path, config, arrays)
    # an extra entry is refused unread, as one the description does not list
    match = r"the file holds 5 weight arrays" if where == "extra" else r"not a readable neurona model file"
    with pytest.raises(ValueError, match=r"model\.npz: " + match):
        models.load(path)


@pytest.mark.parametrize("kind", ["raw pickle", "npy object array"])
def test_a_pickle_disguised_as_a_model_file_is_refused(tmp_path, marker, kind):
    path = tmp_path / "model.npz"
    if kind == "raw pickle":
        path.write_bytes(pickle.dumps(Payload(marker)))
    else:
        with open(path, "wb") as f:
            np.save(f, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"not a readable neurona model file"):
        models.load(path)


@pytest.mark.parametrize("edit, match", [
    (lambda c: c["layers"][0].update({"class": "os.system"}), r"Unknown layer in model file"),
    (lambda c: c["layers"][0].update({"class": "__import__"}), r"Unknown layer in model file"),
    (lambda c: c["layers"][0]["config"].update({"activation": {"class": "builtins.eval", "config": {}}}),
     r"Unknown activation in model file"),
    (lambda c: c["layers"][0]["config"].update({"kernel_initializer": {"class": "subprocess.Popen", "config": {}}}),
     r"Unknown initializer in model file"),
    (lambda c: c.update({"loss": {"class": "os.system", "config": {"command": "touch x"}}}),
     r"Unknown loss in model file"),
    (lambda c: c.update({"class": "subprocess.Popen"}), r"field 'class' must be 'Network' or 'Model'"),
    (lambda c: c["layers"][0]["config"].update({"__class__": "os.system"}), r"unexpected keyword"),
    (lambda c: c["layers"][0].update({"config": "touch x"}), r""),
    (lambda c: c.update({"layers": "os.system"}), r"field 'layers' must be a list"),
])
def test_a_config_naming_a_foreign_class_is_refused(saved, marker, edit, match):
    path, _ = saved
    config, arrays = _contents(path)
    edit(config)
    _write_npz(path, config, arrays)
    with pytest.raises(ValueError, match=r"model\.npz: the model description is invalid: .*" + match):
        models.load(path)


def test_a_model_file_from_a_newer_format_is_refused(saved):
    path, _ = saved
    config, arrays = _contents(path)
    config["version"] = saving.MODEL_VERSION + 1
    _write_npz(path, config, arrays)
    with pytest.raises(ValueError, match=rf"model format version {saving.MODEL_VERSION + 1}.*upgrade neurona"):
        models.load(path)


@pytest.mark.parametrize("damage, match", [
    (lambda a: a.update(w0=a["w0"].T.copy()), r"weight dense_0/kernel should be a float array of shape \(3, 4\)"),
    (lambda a: a.pop("w3"), r"holds 3 weight arrays.*need 4"),
    (lambda a: a.update(w4=np.zeros(2, np.float32)), r"holds 5 weight arrays.*need 4"),
    (lambda a: a.update(w1=np.zeros(4, np.int64)), r"weight dense_0/bias should be a float array"),
    (lambda a: a.update(w2=a.pop("w0")), r"holds 3 weight arrays.*need 4"),
])
def test_arrays_that_do_not_match_the_config_are_refused(saved, damage, match):
    path, _ = saved
    config, arrays = _contents(path)
    damage(arrays)
    _write_npz(path, config, arrays)
    with pytest.raises(ValueError, match=match):
        models.load(path)


def test_every_truncated_copy_of_a_model_file_is_refused(saved, tmp_path):
    path, _ = saved
    data = path.read_bytes()
    copy = tmp_path / "cut.npz"
    # Every 5th prefix, and every one of the last 300 (the zip directory at the end is what np.load reads first).
    for length in sorted({*range(0, len(data), 5), *range(max(0, len(data) - 300), len(data))}):
        copy.write_bytes(data[:length])
        with pytest.raises(ValueError, match=r"cut\.npz: "):
            models.load(copy)


def test_truncated_copies_of_a_malicious_model_file_are_refused_without_running_it(saved, marker, tmp_path):
    path, _ = saved
    config, arrays = _contents(path)
    arrays["w0"] = np.array([Payload(marker)], dtype=object)
    _write_npz(path, config, arrays)
    data = path.read_bytes()
    copy = tmp_path / "cut.npz"
    for length in range(0, len(data), 7):
        copy.write_bytes(data[:length])
        with pytest.raises(ValueError):
            models.load(copy)


def test_the_good_file_loads_exactly(saved):  # the control for everything above
    path, model = saved
    loaded = models.load(path)
    assert [p.name for p in loaded.parameters] == [p.name for p in model.parameters]
    for a, b in zip(loaded.parameters, model.parameters):
        assert a.dtype == b.dtype and np.array_equal(a.data, b.data)
    assert isinstance(loaded.loss, losses.CCE)


# ----- checkpoints ----------------------------------------------------------------------------------------

def _fit(checkpoint, epochs: int = 2, lr: float = 0.05):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 3)).astype(np.float32), rng.integers(0, 2, size=12)
    model = models.Network([layers.Dense(4, activation="tanh", input_dim=3), layers.Dense(2)], seed=0)
    return model.fit(x, y, epochs=epochs, loss="cce", opt=optimizers.Adam(lr=lr), batch_size=4, verbose=0, seed=0,
                     checkpoint=checkpoint)


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    _fit(path)
    return path


def test_every_truncated_copy_of_a_checkpoint_is_refused_not_restarted(checkpoint):
    data = checkpoint.read_bytes()
    for length in range(0, len(data), 13):
        checkpoint.write_bytes(data[:length])
        with pytest.raises(ValueError, match=r"ckpt\.npz: not a readable neurona checkpoint"):
            _fit(checkpoint)


def test_a_checkpoint_with_a_pickled_object_array_is_refused(checkpoint, marker):
    with np.load(checkpoint, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["a0"] = np.array([Payload(marker)], dtype=object)  # in place of the first array the description names
    with open(checkpoint, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError, match=r"not a readable neurona checkpoint"):
        _fit(checkpoint)


def _edit_checkpoint(path, edit) -> None:
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(arrays["__checkpoint__"].tobytes().decode())
    edit(meta, arrays)
    arrays["__checkpoint__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("edit, match", [
    (lambda m, a: m.update(version=99), r"written in checkpoint format version 99, but this neurona reads versions 2; "
                                        r"upgrade neurona"),
    (lambda m, a: m.update(format="something.else"), r"not a neurona checkpoint"),
    (lambda m, a: a.update(a0=np.zeros((2, 2), np.float32)),
     r"array a0 should be a float array of shape \(3, 4\) \(float32\); the file has \(\(2, 2\), 'float32'\)"),
    (lambda m, a: a.pop("a1"), r"the checkpoint's arrays do not match its description"),
])
def test_a_tampered_checkpoint_is_refused(checkpoint, edit, match):
    _edit_checkpoint(checkpoint, edit)
    with pytest.raises(ValueError, match=match):
        _fit(checkpoint)


def test_a_checkpoint_of_another_run_is_refused(checkpoint):
    with pytest.raises(ValueError, match=r"belongs to a different run"):
        _fit(checkpoint, lr=0.01)  # another optimizer configuration


# ----- CIFAR-10 batches -----------------------------------------------------------------------------------

NAMES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


def _batches(per_batch: int = 2) -> dict:
    """Pickled batches in the official layout (protocol 2, byte keys), a few random images each."""
    rng = np.random.default_rng(1)
    files = {name: pickle.dumps({b"batch_label": name.encode(),
                                 b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
                                 b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                                 b"filenames": [b"x.png"] * per_batch}, protocol=2) for name in NAMES}
    files["batches.meta"] = pickle.dumps({b"label_names": [n.encode() for n in cifar10.CLASS_NAMES],
                                          b"num_cases_per_batch": per_batch, b"num_vis": 3072}, protocol=2)
    return files


def _archive(folder, files: dict):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, raw in files.items():
            member = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            member.size = len(raw)
            tar.addfile(member, io.BytesIO(raw))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cifar-10-python.tar.gz"
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture(autouse=True)
def _no_user_data(monkeypatch, tmp_path):
    monkeypatch.delenv("NEURONA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _evil_batches(marker) -> dict:
    """Four ways to smuggle a payload into a batch; each goes into its own batch file."""
    subclass = pickle.dumps(np.zeros(2).view(np.recarray), protocol=2)  # a numpy global, but not a plain ndarray
    return {"data_batch_2": pickle.dumps({b"data": Payload(marker), b"labels": [1]}, protocol=2),
            "data_batch_3": pickle.dumps(np.array([Payload(marker)], dtype=object), protocol=2),
            "data_batch_4": subclass,
            "test_batch": pickle.dumps({b"data": eval, b"labels": [0]}, protocol=2)}  # builtins.eval


@pytest.mark.parametrize("member", ["data_batch_2", "data_batch_3", "data_batch_4", "test_batch"])
def test_a_malicious_cifar_batch_is_refused_and_never_runs(tmp_path, marker, member):
    files = _batches()
    files[member] = _evil_batches(marker)[member]
    _archive(tmp_path / "data", files)
    with pytest.raises(cifar10.UnsafePickleError, match=rf"{member}\).*(forbidden global|not allowed|only build)"):
        cifar10.load(tmp_path / "data", download=False)
    assert not list((tmp_path / "xdg").rglob("*.npz"))  # nothing half-decoded was cached


def test_truncated_copies_of_a_malicious_cifar_archive_are_refused_and_never_run(tmp_path, marker):
    files = _batches()
    files["data_batch_1"] = _evil_batches(marker)["data_batch_2"]
    data = _archive(tmp_path / "full", files).read_bytes()
    for length in range(0, len(data), max(1, len(data) // 40)):
        _archive(tmp_path / "cut", {}).write_bytes(data[:length])
        with pytest.raises(ValueError):  # CorruptDatasetError and UnsafePickleError are both ValueErrors
            cifar10.load(tmp_path / "cut", download=False)


def test_truncated_copies_of_a_good_cifar_archive_are_refused(tmp_path):
    data = _archive(tmp_path / "full", _batches()).read_bytes()
    (x_train, y_train), (x_test, y_test) = cifar10.load(tmp_path / "full", download=False)  # the control
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    for length in [*range(0, len(data), len(data) // 150), *range(len(data) - 80, len(data))]:  # and the whole tail
        cut = tmp_path / f"cut{length}"
        _archive(cut, {}).write_bytes(data[:length])
        try:
            loaded = cifar10.load(cut, download=False)
        except cifar10.CorruptDatasetError as exc:
            assert re.search(r"truncated or corrupt|not a readable|is missing", str(exc)), exc
            continue
        # Loaded anyway: only the archive's trailing padding was cut, and every byte of every batch is there.
        for got, want in zip(loaded, ((x_train, y_train), (x_test, y_test))):
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_a_truncated_batch_inside_a_whole_archive_is_refused(tmp_path):
    files = _batches()
    files["data_batch_5"] = files["data_batch_5"][:-100]
    _archive(tmp_path / "data", files)
    with pytest.raises(cifar10.CorruptDatasetError, match=r"data_batch_5\) is not a readable CIFAR-10 pickle"):
        cifar10.load(tmp_path / "data", download=False)


def test_a_checkpoint_with_a_tampered_zip_directory_is_a_value_error(checkpoint):
    # The same reader as model files: zipfile's NotImplementedError (an unknown compression method)
    # must not escape as anything but the documented ValueError.
    data = bytearray(open(checkpoint, "rb").read())
    central = data.rfind(b"PK\x01\x02")
    data[central + 10:central + 12] = (99).to_bytes(2, "little")  # compression method 99
    open(checkpoint, "wb").write(bytes(data))
    with pytest.raises(ValueError, match=r"not a readable neurona checkpoint"):
        checkpoints.restore(checkpoint, {}, {}, 0)
