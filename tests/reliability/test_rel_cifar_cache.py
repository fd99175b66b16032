"""Hostile CIFAR-10 sources and caches: forged caches, special files, bombs, huge or deep structures.

Everything is built from tiny fake archives (tests/datasets/conftest.py); the real CIFAR-10 is never needed.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import stat
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "datasets"))
from conftest import TinyCifar, py3_pickle  # noqa: E402

from neurona.datasets import _cache, _cifar10_source, _safe_pickle, cifar10  # noqa: E402
from neurona.datasets.cifar10 import CorruptDatasetError, UnsafePickleError  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_locations(monkeypatch, tmp_path):
    monkeypatch.delenv("NEURONA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture
def tiny():
    return TinyCifar()


def _load(folder):
    return cifar10.load(folder, download=False)


def _labels(loaded) -> np.ndarray:
    (_, y_train), (_, y_test) = loaded
    return np.concatenate([y_train, y_test])


# --- a forged cache next to a real archive ------------------------------------------------------------

def _forge(cache: Path, **changes) -> None:
    """Rewrite the cache's arrays, keeping its stored key (as an attacker copying a good cache would)."""
    with np.load(cache, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays.update(changes)
    with open(cache, "wb") as file:
        np.savez(file, **arrays)


@pytest.mark.parametrize("label", [99, -5, 10])
def test_a_forged_cache_with_labels_out_of_range_is_never_used(tmp_path, tiny, label):
    tiny.write_archive(tmp_path)
    _load(tmp_path)
    cache = tmp_path / "cifar-10-cache.npz"
    y_train = tiny.y_train.copy()
    y_train[0] = label
    _forge(cache, y_train=y_train)
    loaded = _load(tmp_path)
    tiny.assert_loaded(loaded)  # decoded again from the archive
    assert _labels(loaded).min() >= 0 and _labels(loaded).max() <= 9


@pytest.mark.parametrize("change", [
    {"x_train": np.zeros((20, 32, 32, 4), np.uint8)},           # wrong image shape
    {"x_test": np.zeros((4, 32, 32, 3), np.float32)},            # wrong dtype
    {"y_test": np.zeros(4, np.int32)},                           # wrong label dtype
    {"y_train": np.zeros(19, np.int64)},                         # one label short
    {"label_names": np.array(["a"] * 9)},                        # nine names
    {"label_names": np.array([""] * 10)},                        # empty names
    {"batch_sizes": np.array([4, 4, 4, 4, 3, 4], np.int64)},     # sizes that do not add up
    {"key": np.array(b"not a str key")},                         # a key of the wrong type
], ids=lambda change: next(iter(change)))
def test_a_forged_cache_that_fails_the_batch_checks_is_rebuilt(tmp_path, tiny, change):
    tiny.write_archive(tmp_path)
    _load(tmp_path)
    _forge(tmp_path / "cifar-10-cache.npz", **change)
    tiny.assert_loaded(_load(tmp_path))
    tiny.assert_loaded(_load(tmp_path))  # and the rebuilt cache is good


def test_a_plausible_forged_cache_is_bound_to_the_source_by_its_digest(tmp_path, tiny):
    # Labels still in 0..9, so only the content digest can tell: the key names the archive's SHA-256.
    path = tiny.write_archive(tmp_path)
    _load(tmp_path)
    cache = tmp_path / "cifar-10-cache.npz"
    other = TinyCifar(seed=5)
    other.write_archive(tmp_path / "other")
    cifar10.load(tmp_path / "other", download=False)
    os.replace(tmp_path / "other" / "cifar-10-cache.npz", cache)  # a valid cache, of other data
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same name, size and mtime as before
    tiny.assert_loaded(_load(tmp_path))


def test_the_cache_key_is_the_sha256_of_the_source(tmp_path, tiny):
    path = tiny.write_archive(tmp_path)
    _load(tmp_path)
    # The digest, computed here independently: the member name, a NUL, then the bytes.
    expected = hashlib.sha256(path.name.encode() + b"\0" + path.read_bytes()).hexdigest()
    with np.load(tmp_path / "cifar-10-cache.npz", allow_pickle=False) as npz:
        assert str(npz["key"]) == f"v{_cache.FORMAT_VERSION}\nsha256:{expected}"


def test_a_compressed_cache_member_is_never_inflated(tmp_path, tiny, monkeypatch):
    tiny.write_archive(tmp_path)
    _load(tmp_path)
    cache = tmp_path / "cifar-10-cache.npz"
    with np.load(cache, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    np.savez_compressed(cache, **arrays)  # deflated members: a zip bomb would be one
    decoded = []
    real_read = cifar10.read_source
    monkeypatch.setattr(cifar10, "read_source", lambda source: decoded.append(source) or real_read(source))
    tiny.assert_loaded(_load(tmp_path))
    assert len(decoded) == 1  # the compressed cache was a miss: the archive was decoded again
    with zipfile.ZipFile(cache) as rebuilt:
        assert {info.compress_type for info in rebuilt.infolist()} == {zipfile.ZIP_STORED}


# --- special files and permissions ---------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("where", ["archive", "batch"])
def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path, tiny, where):
    if where == "archive":
        fifo = tmp_path / "cifar-10-python.tar.gz"
    else:
        fifo = tiny.write_folder(tmp_path, omit=("data_batch_2",)) / "data_batch_2"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(CorruptDatasetError, match=rf"{re.escape(str(fifo))} is not a regular file \(it is a FIFO\)"):
        _load(tmp_path)
    assert time.monotonic() - start < 5


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_place_of_the_cache_is_not_waited_on(tmp_path, tiny, monkeypatch):
    tiny.write_archive(tmp_path)
    os.mkfifo(tmp_path / "cifar-10-cache.npz")
    monkeypatch.setattr(Path, "is_file", lambda self: os.path.exists(self))  # as if it changed after the check
    start = time.monotonic()
    tiny.assert_loaded(_load(tmp_path))
    assert time.monotonic() - start < 5


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_linked_as_the_archive_is_refused(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").symlink_to("/dev/zero")
    with pytest.raises(CorruptDatasetError, match=r"is not a regular file \(it is a character device\)"):
        _load(tmp_path)


@pytest.mark.parametrize("fmt", ["tar.gz", "folder"])
def test_a_permission_error_is_reported_as_one_naming_the_file(tmp_path, tiny, monkeypatch, fmt):
    source = tiny.write(tmp_path, fmt)
    target = source / "data_batch_1" if fmt == "folder" else source
    if os.geteuid() == 0:  # root reads anything: simulate the refusal the OS gives other users
        real_open = os.open
        monkeypatch.setattr(_cifar10_source.os, "open", lambda path, *a, **k: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied", str(path))) if Path(path) == target else real_open(path, *a, **k))
    else:
        target.chmod(0)
    try:
        with pytest.raises(PermissionError, match=rf"Cannot read {re.escape(str(target))}: permission denied"):
            _load(tmp_path)
    finally:
        target.chmod(stat.S_IRUSR | stat.S_IWUSR)


# --- bombs and huge or deep structures -------------------------------------------------------------------

def test_a_memo_index_bomb_costs_no_memory():
    # PROTO 2, NONE, LONG_BINPUT 0x1fffffff, STOP: the C unpickler sizes its memo array by the index (8 GB).
    raw = b"\x80\x02Nr" + (0x1FFFFFFF).to_bytes(4, "little") + b"."
    assert _safe_pickle.loads(raw, "f") is None


def test_an_array_shape_without_its_data_is_refused():
    # _reconstruct(ndarray, (10**12,), b'b') would allocate a terabyte before any data is read.
    raw = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
           b"\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85C\x01b\x87R.")  # LONG1 10**12, TUPLE1, SHORT_BINBYTES b'b'
    with pytest.raises(UnsafePickleError, match=r"_reconstruct may only start an empty numpy\.ndarray"):
        _safe_pickle.loads(raw, "f")


def test_ndarray_itself_cannot_be_called_to_allocate():
    raw = b"\x80\x02cnumpy\nndarray\n\x8a\x05\x00\xe8v\x48\x17\x85\x85R."  # ndarray((10**11,))
    with pytest.raises(Exception) as info:
        _safe_pickle.loads(raw, "f")
    assert not isinstance(info.value, MemoryError)


def test_an_array_state_must_match_its_bytes():
    good = pickle.dumps(np.zeros((2, 3), np.uint8), protocol=2)
    forged = good.replace(b"K\x02K\x03\x86", b"J\x00\x00\x00\x10K\x03\x86")  # shape (2**28, 3), 6 bytes of data
    assert forged != good
    with pytest.raises(UnsafePickleError, match=r"needs 805306368 bytes\. Received: 6"):
        _safe_pickle.loads(forged, "f")


def test_a_dtype_cannot_be_turned_into_an_object_dtype_by_its_state():
    state = (3, "|", None, ("a",), {"a": (np.dtype("u1"), 0)}, 1, 1, 0x3F)  # fields and the object flag
    raw = b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00u1\x89\x88\x87R" + pickle.dumps(state, protocol=2)[2:-1] + b"b."
    with pytest.raises(UnsafePickleError, match=r"a dtype's state must be that of a plain number type"):
        _safe_pickle.loads(raw, "f")


def _nested(depth: int) -> bytes:
    """A pickle of a list nested ``depth`` deep, written iteratively (EMPTY_LIST, then APPENDs)."""
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


@pytest.mark.parametrize("label_names", [
    "deep", "million", "huge string", "shared sub-lists",
])
def test_hostile_label_names_give_a_short_corrupt_dataset_error(tmp_path, label_names):
    data = TinyCifar()
    if label_names == "deep":  # {b'label_names': [[[[...]]]]} 100 000 levels deep
        raw = b"\x80\x02}X\x0b\x00\x00\x00label_names" + _nested(100_000)[2:-1] + b"s."
    elif label_names == "million":
        raw = py3_pickle({b"label_names": [b"cat"] * 1_000_000})
    elif label_names == "huge string":
        raw = py3_pickle({b"label_names": ["x" * 10_000_000]})
    else:  # 40 levels, each a list of the level below twice: 2**40 leaves if walked
        level = [b"cat"]
        for _ in range(40):
            level = [level, level]
        raw = pickle.dumps({b"label_names": level}, protocol=2)  # pickle's memo shares each level: small bytes
    data.files["batches.meta"] = raw
    data.write_folder(tmp_path)
    start = time.monotonic()
    with pytest.raises(CorruptDatasetError, match=r"b'label_names' must be a list of 10 names") as info:
        _load(tmp_path)
    assert len(str(info.value)) < 600 and time.monotonic() - start < 5


def test_shared_sub_lists_as_labels_are_refused_before_numpy_expands_them(tmp_path):
    level = [1]
    for _ in range(40):
        level = [level, level]  # np.asarray would build 2**40 elements
    data = TinyCifar()
    data.files["data_batch_1"] = py3_pickle({b"data": np.zeros((2, 3072), np.uint8), b"labels": level})
    data.write_folder(tmp_path)
    with pytest.raises(CorruptDatasetError, match=r"b'labels' must be 2 ints \(one per image\)\. Received: not a list"):
        _load(tmp_path)


def test_a_nested_tuple_key_is_refused_before_hashing_overflows_the_stack(tmp_path):
    depth = 200_000  # hashing it as a dict key recurses
    raw = b"\x80\x02}" + b")" + b"\x85" * depth + b"Ns."
    data = TinyCifar()
    data.files["test_batch"] = raw
    data.write_folder(tmp_path)
    with pytest.raises(UnsafePickleError, match=r"test_batch: dict keys and set members must be plain str, bytes or numbers\. Received: a tuple"):
        _load(tmp_path)


def _tar_gz(members: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (size, payload) in members.items():
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, payload)
    return buffer.getvalue()


def test_a_huge_member_is_refused_without_inflating_it(tmp_path, monkeypatch):
    monkeypatch.setattr(_cifar10_source, "_MAX_MEMBER_BYTES", 10_000)
    big = 10**6  # zeros: inflating or skipping it would take 100 times the limit
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(_tar_gz({"readme.html": (big, io.BytesIO(bytes(big)))}))
    with pytest.raises(CorruptDatasetError, match=r"\(member readme\.html\) is 1000000 bytes, far larger"):
        _load(tmp_path)


def test_inflating_stops_at_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(_cifar10_source, "_MAX_INFLATED_BYTES", 50_000)
    members = {f"junk_{i}": (9_000, io.BytesIO(bytes(9_000))) for i in range(10)}
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(_tar_gz(members))
    with pytest.raises(CorruptDatasetError, match=r"inflates to more than 50000 bytes"):
        _load(tmp_path)


def test_too_many_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_cifar10_source, "_MAX_MEMBERS", 5)
    members = {f"junk_{i}": (0, io.BytesIO()) for i in range(10)}
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(_tar_gz(members))
    with pytest.raises(CorruptDatasetError, match=r"holds more than 5 members"):
        _load(tmp_path)


def test_a_huge_member_name_is_echoed_briefly(tmp_path, monkeypatch):
    monkeypatch.setattr(_cifar10_source, "_MAX_MEMBER_BYTES", 10)
    name = "cifar-10-batches-py/" + "n" * 100_000
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(_tar_gz({name: (20, io.BytesIO(bytes(20)))}))
    with pytest.raises(CorruptDatasetError) as info:
        _load(tmp_path)
    assert len(str(info.value)) < 500


def test_a_batch_file_far_too_large_is_not_read(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr(_cifar10_source, "_MAX_MEMBER_BYTES", 1000)
    batches = tiny.write_folder(tmp_path)
    with pytest.raises(CorruptDatasetError, match=rf"{re.escape(str(batches))}/\w+ is \d+ bytes, far larger"):
        _load(tmp_path)


# --- any damage to a batch's bytes is a clean error -------------------------------------------------------

def _batch_pickles() -> list:
    from conftest import py2_pickle
    content = {b"labels": [3, 7], b"data": np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251}
    return [py3_pickle(content), py2_pickle(content)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 1), edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255),
                                                         st.sampled_from(["set", "insert", "delete"])), max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_damaged_batch_pickle_is_decoded_or_refused_cleanly(which, edits, cut):
    raw = bytearray(_batch_pickles()[which])
    for position, byte, how in edits:
        position %= len(raw) + 1
        if how == "insert":
            raw[position:position] = bytes([byte])
        elif position < len(raw):
            raw[position:position + 1] = b"" if how == "delete" else bytes([byte])
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    try:
        data, labels = _cifar10_source._decode("data_batch_1", bytes(raw), "f", "fix")
    except (CorruptDatasetError, UnsafePickleError) as exc:
        assert len(str(exc)) < 600
    else:
        assert data.dtype == np.uint8 and data.shape[1] == 3072 and labels.min() >= 0 and labels.max() <= 9
