"""cifar10 integrity: refused pickles (payload never runs), corrupt or incomplete sources, the cache."""

from __future__ import annotations

import os
import pickle
import re
import shlex
import shutil
import stat

import numpy as np
import pytest
from conftest import TinyCifar, py3_pickle

from neurona import _files
from neurona.datasets import _cifar10_source, _safe_pickle, cifar10
from neurona.datasets.cifar10 import CorruptDatasetError, UnsafePickleError


# --- restricted unpickling ----------------------------------------------------------------------

class _Payload:
    """Unpickling this calls function(*args): the classic pickle exploit."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _payload(kind: str, marker):
    if kind == "mkdir":
        return _Payload(os.mkdir, str(marker)), r"(posix|nt|os)\.mkdir"
    if shutil.which("touch") is None:
        pytest.skip("no `touch` command here")
    return _Payload(os.system, f"touch {shlex.quote(str(marker))}"), r"(posix|nt|os)\.system"


@pytest.mark.parametrize("kind", ["mkdir", "system"])
def test_forbidden_global_is_refused_and_its_payload_never_runs(tmp_path, kind):
    marker = tmp_path / "PAYLOAD_RAN"
    evil, forbidden = _payload(kind, marker)
    # Control: an ordinary unpickler really would run it (proves the payload is live).
    pickle.loads(pickle.dumps(evil, protocol=2))
    assert marker.exists()
    shutil.rmtree(marker) if marker.is_dir() else marker.unlink()

    data = TinyCifar()
    data.files["data_batch_2"] = py3_pickle({b"data": evil, b"labels": [1]})
    data.write(tmp_path / "d", "tar.gz")
    with pytest.raises(UnsafePickleError, match=rf"data_batch_2\): forbidden global '{forbidden}'.*"
                                               r"Delete it and run `neurona data cifar10`"):
        cifar10.load(tmp_path / "d", download=False)
    assert not marker.exists()
    assert not list((tmp_path / "xdg-cache").rglob("*.npz"))  # nothing half-loaded was cached


def test_forbidden_global_in_extracted_folder_names_the_file(tmp_path):
    data = TinyCifar()
    data.files["batches.meta"] = py3_pickle({b"label_names": _Payload(print, "hi")})
    batches = data.write_folder(tmp_path)
    with pytest.raises(UnsafePickleError, match=re.escape(str(batches / "batches.meta"))
                       + r": forbidden global '(__builtin__|builtins)\.print'"):
        cifar10.load(tmp_path, download=False)


def test_unsafe_pickle_error_is_a_value_error_like_the_other_bad_data_errors():
    assert issubclass(UnsafePickleError, pickle.UnpicklingError) and issubclass(UnsafePickleError, ValueError)
    assert issubclass(CorruptDatasetError, ValueError)


def test_object_arrays_are_refused():
    raw = pickle.dumps({b"data": np.array([1, "a"], dtype=object)}, protocol=2)
    with pytest.raises(UnsafePickleError, match=r"f: object dtypes are not allowed\. Received: dtype=object"):
        _safe_pickle.loads(raw, "f")


def test_codecs_encode_is_limited_to_latin1():
    # encode('abc', 'rot13') hand-written: GLOBAL _codecs.encode, two BINUNICODE args, TUPLE2, REDUCE.
    raw = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    with pytest.raises(UnsafePickleError, match=r"only allowed as encode\(str, 'latin1'\)\. Received: encoding='rot13'"):
        _safe_pickle.loads(raw, "f")
    latin = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x06\x00\x00\x00latin1\x86R."
    assert _safe_pickle.loads(latin, "f") == b"abc"


def test_reconstruct_only_builds_plain_ndarrays():
    raw = pickle.dumps(np.ma.masked_array([1, 2]), protocol=2)  # asks for numpy.ma.core classes
    with pytest.raises(UnsafePickleError, match=r"forbidden global 'numpy\.ma\.core\._mareconstruct'"):
        _safe_pickle.loads(raw, "f")


# --- corrupt, truncated or incomplete sources ---------------------------------------------------

@pytest.mark.parametrize("compression", ["gz", "xz"])
def test_truncated_archive_is_an_error_not_a_partial_load(tmp_path, tiny, compression):
    path = tiny.write_archive(tmp_path, compression)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(CorruptDatasetError, match=rf"{path}.*(truncated or corrupt|missing).*Delete it and run "
                                                   r"`neurona data cifar10`"):
        cifar10.load(tmp_path, download=False)
    assert not list(tmp_path.glob("*.npz"))


def test_a_file_that_is_not_an_archive(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(CorruptDatasetError, match=r"Could not read .*cifar-10-python\.tar\.gz: ReadError"):
        cifar10.load(tmp_path, download=False)


@pytest.mark.parametrize("fmt", ["folder", "tar.gz"])
def test_missing_batch_is_named(tmp_path, tiny, fmt):
    if fmt == "folder":
        tiny.write_folder(tmp_path, omit=("data_batch_3",))
        hint = "Delete the folder"
    else:
        tiny.write_archive(tmp_path, "gz", omit=("data_batch_3", "test_batch"))
        hint = "Delete it"
    with pytest.raises(CorruptDatasetError, match=rf"is missing data_batch_3.*{hint} and run `neurona data cifar10`"):
        cifar10.load(tmp_path, download=False)


def _bad_batch(data=np.zeros((2, 3072), np.uint8), labels=(0, 9)):
    return py3_pickle({b"data": data, b"labels": list(labels)})


@pytest.mark.parametrize("raw, match", [
    (_bad_batch(data=np.zeros((2, 3071), np.uint8)),
     r"\): b'data' must be a uint8 array of shape \(N, 3072\)\. Received: shape=\(2, 3071\), dtype=uint8"),
    (_bad_batch(data=np.zeros((2, 3072), np.uint16)), r"\): b'data' .* Received: shape=\(2, 3072\), dtype=uint16"),
    (_bad_batch(data=[1, 2]), r"\): b'data' must be a uint8 array .* Received: list"),
    (_bad_batch(labels=[0, 10]), r"\): b'labels' must be in 0\.\.9\. Received: min=0, max=10"),
    (_bad_batch(labels=[0]), r"\): b'labels' must be 2 ints \(one per image\)\. Received: 1 labels"),
    (_bad_batch(labels=[0.5, 1.0]), r"\): b'labels' must be 2 ints .*Received: not a list of ints"),
    (py3_pickle([1, 2, 3]), r"\): expected a dict, got list"),
    (b"\x80\x02}q\x00(X\x04", r"\) is not a readable CIFAR-10 pickle"),
    (b"garbage", r"\) is not a readable CIFAR-10 pickle"),
])
def test_wrong_batch_contents_are_errors(tmp_path, raw, match):
    data = TinyCifar()
    data.files["data_batch_4"] = raw
    data.write_archive(tmp_path)
    with pytest.raises(CorruptDatasetError, match=r"member cifar-10-batches-py/data_batch_4" + match
                                                   + r".*Delete it and run `neurona data cifar10`"):
        cifar10.load(tmp_path, download=False)


def test_meta_must_hold_ten_names(tmp_path):
    data = TinyCifar()
    data.files["batches.meta"] = py3_pickle({b"label_names": [b"cat", b"dog"]})
    data.write_folder(tmp_path)
    with pytest.raises(CorruptDatasetError, match=r"b'label_names' must be a list of 10 names"):
        cifar10.load(tmp_path, download=False)


def test_oversized_member_is_refused(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr(_cifar10_source, "_MAX_MEMBER_BYTES", 100)
    tiny.write_archive(tmp_path)
    with pytest.raises(CorruptDatasetError, match=r"bytes, far larger than a CIFAR-10 batch"):
        cifar10.load(tmp_path, download=False)


# --- the cache ----------------------------------------------------------------------------------

@pytest.fixture
def count_decodes(monkeypatch):
    """Spy on the slow path: how many times the source itself is decoded."""
    calls = []
    real = cifar10.read_source
    monkeypatch.setattr(cifar10, "read_source", lambda source: calls.append(source) or real(source))
    return calls


@pytest.mark.parametrize("fmt", ["folder", "tar.gz", "tar.xz"])
def test_second_load_comes_from_the_cache(tmp_path, tiny, count_decodes, fmt):
    tiny.write(tmp_path, fmt)
    tiny.assert_loaded(cifar10.load(tmp_path, download=False))
    tiny.assert_loaded(cifar10.load(tmp_path, download=False))
    assert len(count_decodes) == 1
    assert (tmp_path / "cifar-10-cache.npz").is_file()


def test_cache_is_rebuilt_when_the_archive_changes(tmp_path, count_decodes):
    first, second = TinyCifar(seed=1), TinyCifar(seed=2)
    path = first.write_archive(tmp_path)
    first.assert_loaded(cifar10.load(tmp_path, download=False))
    mtime = path.stat().st_mtime_ns
    second.write_archive(tmp_path)
    os.utime(path, ns=(mtime + 10**9, mtime + 10**9))  # a different mtime even on coarse clocks
    second.assert_loaded(cifar10.load(tmp_path, download=False))
    second.assert_loaded(cifar10.load(tmp_path, download=False))
    assert len(count_decodes) == 2


def test_corrupt_cache_is_silently_rebuilt(tmp_path, tiny, count_decodes):
    tiny.write(tmp_path, "tar.gz")
    cifar10.load(tmp_path, download=False)
    cache = tmp_path / "cifar-10-cache.npz"
    cache.write_bytes(cache.read_bytes()[:1000])  # a torn file
    tiny.assert_loaded(cifar10.load(tmp_path, download=False))
    tiny.assert_loaded(cifar10.load(tmp_path, download=False))
    assert len(count_decodes) == 2


def test_cache_goes_to_the_user_cache_when_the_data_folder_is_read_only(tmp_path, tiny, count_decodes):
    data_dir = tmp_path / "readonly"
    tiny.write(data_dir, "tar.gz")
    data_dir.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)  # r-x: read-only, even for root
    try:
        cifar10.load(data_dir, download=False)
        tiny.assert_loaded(cifar10.load(data_dir, download=False))
        assert sorted(p.name for p in data_dir.iterdir()) == ["cifar-10-python.tar.gz"]
    finally:
        data_dir.chmod(0o755)
    assert len(list((tmp_path / "xdg-cache" / "neurona").glob("cifar-10-cache-*.npz"))) == 1
    assert len(count_decodes) == 1


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"):
        with _files.atomic_write(target) as file:
            file.write(b"half of the new")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    with _files.atomic_write(target) as file:
        file.write(b"new")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]


# --- info ---------------------------------------------------------------------------------------

def test_info_when_nothing_is_there(tmp_path):
    report = cifar10.info(tmp_path)
    assert report["found"] is None and report["parses"] is None
    assert report["searched"] == [str(tmp_path / n) for n in
                                  ("cifar-10-batches-py", "cifar-10-python.tar.gz", "cifar-10-python.tar.xz")]
    assert report["cache"] == {"status": "missing", "path": None}
    assert report["location_from"] == "data_dir argument"


def test_info_on_a_good_archive(tmp_path, tiny):
    path = tiny.write(tmp_path, "tar.xz")
    report = cifar10.info(tmp_path)
    assert report["found"] == str(path) and report["format"] == "tar.xz"
    assert report["size_bytes"] == path.stat().st_size
    assert (report["parses"], report["error"]) == (True, None)
    assert (report["train_batches"], report["train_images"], report["test_images"]) == (5, 20, 4)  # 5 x 4, 1 x 4
    assert report["cache"] == {"status": "fresh", "path": str(tmp_path / "cifar-10-cache.npz")}


def test_info_reports_a_stale_cache_and_a_broken_source(tmp_path, tiny):
    path = tiny.write(tmp_path, "tar.gz")
    cifar10.load(tmp_path, download=False)
    path.write_bytes(path.read_bytes()[:500])
    report = cifar10.info(tmp_path)
    assert report["parses"] is False and "truncated or corrupt" in report["error"]
    assert report["cache"]["status"] == "stale"
