"""Hostile files are read within bounds, and paths that cannot be written are refused before any training.

Every hostile file is built in the test: zip bombs, lying headers, deep or huge descriptions, wrongly
typed fields, non-finite weights, FIFOs and devices. Memory is measured with tracemalloc, which sees
NumPy's allocations too.
"""

from __future__ import annotations

import errno
import io
import json
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

from neurona import callbacks, checkpoints, layers, models, optimizers, saving

X = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
Y = np.arange(12) % 3


def _model():
    return models.Network([layers.Dense(5, activation="tanh", input_dim=4), layers.Dense(3)], seed=0)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    _model().save(path)
    return path


def _members(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _write_members(path, members: dict, compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _description(path) -> dict:
    return json.loads(np.load(io.BytesIO(_members(path)["__config__.npy"])).tobytes())


def _with_description(path, description) -> None:
    members = _members(path)
    raw = description if isinstance(description, bytes) else json.dumps(description).encode()
    members["__config__.npy"] = _npy(np.frombuffer(raw, dtype=np.uint8))
    _write_members(path, members)


def _peak_while(call) -> int:
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# ----- zip bombs and lying sizes -----
def test_a_deflated_gigabyte_member_is_refused_at_a_few_megabytes(saved):
    members = _members(saved)
    zeros, gib = bytes(1 << 20), 1 << 30
    with zipfile.ZipFile(saved, "w") as z:
        for name, data in members.items():
            if name != "w0.npy":
                z.writestr(name, data)
        info = zipfile.ZipInfo("w0.npy")
        info.compress_type = zipfile.ZIP_DEFLATED  # ~1 MB on disk
        with z.open(info, "w", force_zip64=True) as member:
            member.write(np.lib.format.magic(1, 0))
            for _ in range(gib // len(zeros)):
                member.write(zeros)
    assert saved.stat().st_size < 4 << 20
    with pytest.raises(ValueError, match=r"weight dense_0/kernel declares 1,073,741,\d+ bytes, more than the 80 it "
                                         r"may hold; refused before reading"):
        models.load(saved)
    peak = _peak_while(lambda: pytest.raises(ValueError, models.load, saved))
    assert peak < 4 << 20


def test_a_small_member_whose_header_claims_a_huge_array_allocates_nothing(saved):
    members = _members(saved)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (4, 10**9)})
    members["w0.npy"] = header.getvalue()
    _write_members(saved, members)
    peak = _peak_while(lambda: pytest.raises(ValueError, models.load, saved))
    assert peak < 1 << 20
    with pytest.raises(ValueError, match=r"weight dense_0/kernel should be a float array of shape \(4, 5\) "
                                         r"\(float32\); the file has \(\(4, 1000000000\), 'float32'\)"):
        models.load(saved)


def test_a_member_longer_than_its_header_says_is_refused(saved):
    members = _members(saved)
    members["w1.npy"] += b"\0" * 64  # trailing bytes after the bias's 5 floats
    _write_members(saved, members)
    with pytest.raises(ValueError, match=r"the stored size does not match the array's header"):
        models.load(saved)


def test_a_huge_description_is_refused_before_it_is_read(saved):
    members = _members(saved)
    with zipfile.ZipFile(saved, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            if name != "__config__.npy":
                z.writestr(name, data)
        z.writestr("__config__.npy", _npy(np.zeros(saving.MAX_DESCRIPTION_BYTES + (1 << 20), np.uint8)))
    with pytest.raises(ValueError, match=r"the description declares [\d,]+ bytes, more than the [\d,]+ it may hold"):
        models.load(saved)


@pytest.mark.parametrize("depth", [65, 100_000])
def test_a_deeply_nested_description_is_a_value_error_not_a_recursion_error(saved, depth):
    _with_description(saved, b'{"format": "neurona.model", "x": ' + b"[" * depth + b"]" * depth + b"}")
    with pytest.raises(ValueError, match=r"nested deeper than 64 levels"):
        models.load(saved)


def test_brackets_inside_strings_do_not_count_as_nesting(saved):
    description = _description(saved)
    description["name"] = "[" * 500 + '"{' * 100
    _with_description(saved, description)
    assert models.load(saved).name == description["name"]


# ----- every field type-checked -----
@pytest.mark.parametrize("field, value, match", [
    ("version", True, r"written in model format version True, but this neurona reads versions 1, 2"),
    ("version", "2", r"format version '2'"),
    ("version", 2.0, r"format version 2.0"),
    ("version", 10**30, r"format version 1000000000000000000000000000000.*upgrade neurona"),
    ("input_shape", [4.9], r"field 'input_shape' must be a list of positive ints. Received: \[4.9\]"),
    ("input_shape", ["4"], r"field 'input_shape' must be a list of positive ints. Received: \['4'\]"),
    ("input_shape", [0], r"field 'input_shape'"),
    ("input_shape", [True], r"field 'input_shape'"),
    ("name", 5, r"field 'name' must be a string or null. Received: 5"),
    ("seed", -1, r"field 'seed' must be null or an int >= 0"),
    ("seed", True, r"field 'seed'"),
    ("steps", [[0, [0], "no"]], r"field 'steps' must be a list of \[layer index, \[value indices\], as_list\]"),
    ("weights", [{"shape": [4, "5"]}, {"shape": [5]}, {"shape": [5, 3]}, {"shape": [3]}], r"field 'weights'"),
    ("layers", [{"class": 7, "config": {}}], r"field 'layers'"),
])
def test_a_wrongly_typed_field_is_refused_naming_it(saved, field, value, match):
    description = _description(saved)
    description[field] = value
    _with_description(saved, description)
    with pytest.raises(ValueError, match=match):
        models.load(saved)


def test_a_layer_name_that_is_not_a_string_is_refused(saved):
    description = _description(saved)
    description["layers"][0]["config"]["name"] = ["dense"]
    _with_description(saved, description)
    with pytest.raises(ValueError, match=r"Dense: name must be a string. Received: name=\['dense'\]"):
        models.load(saved)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused_naming_the_weight(saved, bad):
    members = _members(saved)
    kernel = np.load(io.BytesIO(members["w2.npy"]))
    kernel[1, 2] = bad
    members["w2.npy"] = _npy(kernel)
    _write_members(saved, members)
    with pytest.raises(ValueError, match=r"model\.npz: weight dense_1/kernel holds NaN or inf; refused"):
        models.load(saved)


# ----- only regular files; errors of the system said as they are -----
def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    outcome = []

    def load():
        try:
            models.load(fifo)
        except ValueError as exc:
            outcome.append(str(exc))

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # unblock the reader so the test process can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("loading a FIFO hung")
    assert outcome and "cannot read a neurona model file from not a regular file (a FIFO" in outcome[0]


def test_a_device_and_a_folder_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"/dev/zero: cannot read a neurona model file from not a regular file"):
        models.load("/dev/zero")
    with pytest.raises(ValueError, match=r"cannot read a neurona model file from a folder"):
        models.load(tmp_path)


def test_a_permission_error_is_a_permission_error(saved, monkeypatch):
    def refuse(path, mode="r"):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(saving, "open", refuse, raising=False)
    with pytest.raises(PermissionError, match=r"Permission denied: '.*model\.npz'"):
        models.load(saved)


# ----- checkpoints: declared arrays bounded by what the model can hold -----
def _fit(checkpoint, **kwargs):
    settings = dict(epochs=2, loss="cce", opt=optimizers.Adam(lr=0.01), batch_size=4, verbose=0, seed=0,
                    checkpoint=checkpoint)
    settings.update(kwargs)
    return _model().fit(X, Y, **settings)


def _edit_checkpoint(path, edit) -> None:
    members = _members(path)
    meta = json.loads(np.load(io.BytesIO(members["__checkpoint__.npy"])).tobytes())
    edit(meta, members)
    members["__checkpoint__.npy"] = _npy(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    _write_members(path, members)


def test_a_checkpoint_declaring_more_arrays_than_the_model_can_hold_is_refused_before_reading(tmp_path):
    path = tmp_path / "ckpt.npz"
    _fit(path)

    def forge(meta, members):
        ref = meta["state"]["model"]["layers"][0]["weights"]["kernel"]
        ref["shape"] = [4, 10**9]  # 16 GB declared

    _edit_checkpoint(path, forge)
    peak = _peak_while(lambda: pytest.raises(ValueError, _fit, path))
    assert peak < 4 << 20
    with pytest.raises(ValueError, match=r"ckpt\.npz: the checkpoint declares [\d,]+ bytes of arrays, more than a "
                                         r"run of this model can hold"):
        _fit(path)


@pytest.mark.parametrize("edit, match", [
    (lambda m, a: m["state"]["run"].update(epochs_done=True), r"run: run epochs_done must be an int >= 0"),
    (lambda m, a: m["state"]["run"].update(epochs_done=1.5), r"run epochs_done must be an int >= 0"),
    (lambda m, a: m["state"]["history"].update(epoch=[0, "1"]), r"history epoch\[1\] must be an int"),
    (lambda m, a: m["state"]["optimizer"].update(iterations=-3), r"optimizer Adam iterations must be an int >= 0"),
    (lambda m, a: m["state"]["shuffle"].update(generator={"bit_generator": "MT19937"}),
     r"shuffle generator is not a valid PCG64 state"),
    (lambda m, a: m["state"].pop("history"), r"the checkpoint's state must hold"),
    (lambda m, a: m["state"]["model"]["layers"][0]["weights"]["kernel"].update(dtype="object"),
     r"a malformed array reference"),
    (lambda m, a: m.update(state=json.loads("[" * 60 + "]" * 60)), r"the checkpoint's state must hold"),
])
def test_a_malformed_checkpoint_field_is_a_value_error_naming_it(tmp_path, edit, match):
    path = tmp_path / "ckpt.npz"
    _fit(path)
    _edit_checkpoint(path, edit)
    with pytest.raises(ValueError, match=r"ckpt\.npz: .*" + match):
        _fit(path)


def test_a_checkpoint_with_nan_in_an_optimizer_slot_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    _fit(path)
    meta = checkpoints.read(path)
    name = meta["state"]["optimizer"]["slots"][0]["m"]["__array__"]
    members = _members(path)
    slot = np.load(io.BytesIO(members[f"{name}.npy"]))
    slot[0, 0] = np.nan
    members[f"{name}.npy"] = _npy(slot)
    _write_members(path, members)
    with pytest.raises(ValueError, match=rf"ckpt\.npz: array {name} holds NaN or inf"):
        _fit(path)


# ----- writing fails early and clearly -----
class _Epochs(callbacks.Callback):
    def __init__(self):
        self.ran = 0

    def on_epoch_end(self, epoch, logs):
        self.ran += 1


@pytest.mark.parametrize("where, error, match", [
    (lambda p: p, IsADirectoryError, r"fit: checkpoint: .* is a folder; give a file path"),
    (lambda p: p / "missing" / "ckpt.npz", FileNotFoundError, r"the folder .*missing does not exist; create it first"),
])
def test_an_unwritable_checkpoint_path_is_refused_before_the_first_epoch(tmp_path, where, error, match):
    epochs = _Epochs()
    with pytest.raises(error, match=match):
        _fit(where(tmp_path), callbacks=[epochs])
    assert epochs.ran == 0


def test_a_read_only_folder_is_refused_before_the_first_epoch(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    epochs = _Epochs()
    try:
        with pytest.raises(PermissionError, match=r"fit: checkpoint: cannot write in .*ro \(read-only"):
            _fit(folder / "ckpt.npz", callbacks=[epochs])
        with pytest.raises(PermissionError, match=r"ModelCheckpoint: cannot write in .*ro \(read-only"):
            _fit(None, callbacks=[epochs, callbacks.ModelCheckpoint(folder / "best-{epoch}.npz")])
    finally:
        folder.chmod(0o755)
    assert epochs.ran == 0


@pytest.mark.parametrize("model_path", ["ckpt.npz", "ckpt{epoch}.npz"])
def test_the_checkpoint_and_a_model_checkpoint_on_one_path_are_refused(tmp_path, model_path):
    target = tmp_path / "ckpt.npz" if "{" not in model_path else tmp_path / "ckpt2.npz"
    with pytest.raises(ValueError, match=r"fit: checkpoint=.* is also where ModelCheckpoint writes"):
        _fit(target, callbacks=[callbacks.ModelCheckpoint(tmp_path / model_path)])


def test_a_full_disk_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    _model().save(path)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(OSError, match=r"No space left on device: could not write .*model\.npz \(the previous file is "
                                      r"intact\)"):
        _model().save(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_the_next_write_removes_temporaries_a_killed_write_left(tmp_path):
    path = tmp_path / "model.npz"
    stale = [tmp_path / ".model.npz.abcd1234.tmp", tmp_path / ".model.npz.zz_9yy8x.tmp"]
    unrelated = [tmp_path / ".other.npz.abcd1234.tmp", tmp_path / "model.npz.abcd1234.tmp"]
    for p in stale + unrelated:
        p.write_bytes(b"half a file")
    _model().save(path)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in unrelated)
