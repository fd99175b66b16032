"""cifar10: formats and search order, download (fake server), checksum, safety, corruption, cache."""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import OFFICIAL_NAMES, TinyCifar, images_to_rows, md5, py3_pickle

from neurona.datasets import _cifar10_source, cifar10
from neurona.datasets.cifar10 import ChecksumError, CorruptDatasetError, DownloadError, UnsafePickleError

FORMATS = ["folder", "tar.gz", "tar.xz"]


# --- reading the accepted layouts -------------------------------------------------------------

@pytest.mark.parametrize("style", ["py3", "py2"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_load_reads_every_accepted_layout(tmp_path, fmt, style):
    data = TinyCifar(per_batch=4, style=style)  # py2: written like the official archive
    data.write(tmp_path, fmt)
    loaded = cifar10.load(data_dir=tmp_path, download=False)
    data.assert_loaded(loaded)
    (x_train, y_train), (x_test, _) = loaded
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (4, 32, 32, 3)  # 5 batches x 4, 1 x 4
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64


def test_pixel_layout_worked_example(tmp_path):
    # One image whose row is 0..3071 mod 256: row index k holds k % 256.
    # Red plane = k in [0, 1024), green = [1024, 2048), blue = [2048, 3072), each row-major 32x32.
    # Pixel (row 1, col 2): red at k = 1*32 + 2 = 34; green at 1024 + 34 = 1058 -> 1058 % 256 = 34;
    # blue at 2048 + 34 = 2082 -> 2082 % 256 = 34. Pixel (row 0, col 1): 1, 1025 % 256 = 1, 2049 % 256 = 1.
    # Pixel (row 31, col 31): k = 1023 -> 255; 2047 % 256 = 255; 3071 % 256 = 255.
    # Pixel (row 8, col 0): k = 256 -> 0, green 1280 % 256 = 0, blue 2304 % 256 = 0.
    row = (np.arange(3072) % 256).astype(np.uint8)[None, :]
    data = TinyCifar(per_batch=1)
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        data.files[name] = py3_pickle({b"data": row, b"labels": [3]})
    data.write_archive(tmp_path)
    (x_train, _), _ = cifar10.load(data_dir=tmp_path, download=False)
    assert x_train[0, 1, 2].tolist() == [34, 34, 34]
    assert x_train[0, 0, 1].tolist() == [1, 1, 1]
    assert x_train[0, 31, 31].tolist() == [255, 255, 255]
    assert x_train[0, 8, 0].tolist() == [0, 0, 0]


def test_images_to_rows_helper_matches_the_format():
    # The fixture helper itself, checked by hand: a single green pixel of value 7 at (row 2, col 5)
    # must land at k = 1024 + 2*32 + 5 = 1093 and nowhere else.
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[0, 2, 5, 1] = 7
    row = images_to_rows(image)[0]
    assert row[1093] == 7 and row.sum() == 7


def test_search_order_folder_then_tar_gz_then_tar_xz(tmp_path):
    in_folder, in_gz, in_xz = TinyCifar(seed=1), TinyCifar(seed=2), TinyCifar(seed=3)
    in_xz.write(tmp_path, "tar.xz")
    in_gz.write(tmp_path, "tar.gz")
    in_folder.write(tmp_path, "folder")
    in_folder.assert_loaded(cifar10.load(tmp_path, download=False))
    shutil.rmtree(tmp_path / "cifar-10-batches-py")
    in_gz.assert_loaded(cifar10.load(tmp_path, download=False))
    (tmp_path / "cifar-10-python.tar.gz").unlink()
    in_xz.assert_loaded(cifar10.load(tmp_path, download=False))


def test_data_dir_may_be_the_batches_folder_itself(tmp_path, tiny):
    batches = tiny.write_folder(tmp_path)
    tiny.assert_loaded(cifar10.load(batches, download=False))


def test_label_names_come_from_batches_meta(tmp_path):
    names = [f"class{i}" for i in range(10)]
    TinyCifar(names=names).write(tmp_path, "tar.gz")
    assert cifar10.label_names(tmp_path, download=False) == tuple(names)
    assert cifar10.CLASS_NAMES == OFFICIAL_NAMES


# --- where it looks ---------------------------------------------------------------------------

def test_neurona_data_env_var_is_used_when_no_data_dir(tmp_path, tiny, monkeypatch):
    tiny.write(tmp_path / "shared", "tar.gz")
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "shared"))
    tiny.assert_loaded(cifar10.load(download=False))
    assert cifar10.data_location() == (tmp_path / "shared", "NEURONA_DATA environment variable")


def test_data_dir_argument_overrides_env_var(tmp_path, tiny, monkeypatch):
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path / "empty"))
    tiny.write(tmp_path / "mine", "folder")
    tiny.assert_loaded(cifar10.load(tmp_path / "mine", download=False))


def test_default_location_is_the_user_cache(tmp_path, monkeypatch):
    assert cifar10.data_location() == (tmp_path / "xdg-cache" / "neurona", "default cache folder")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cifar10.default_data_dir() == tmp_path / "home" / ".cache" / "neurona"


def test_nothing_found_without_download_names_places_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"Looked for: .*cifar-10-batches-py, .*tar\.gz, .*tar\.xz"
                                                r".*run `neurona data cifar10`"):
        cifar10.load(download=False)


def test_nothing_found_with_data_dir_argument_gives_a_command_for_that_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"`neurona data cifar10 --dir {tmp_path}`")):
        cifar10.load(tmp_path, download=False)


@pytest.mark.parametrize("call, match", [
    (lambda: cifar10.load(data_dir=3), r"cifar10\.load: data_dir must be a path or None\. Received: data_dir=3"),
    (lambda: cifar10.load(download="yes"), r"download must be True or False\. Received: download='yes'"),
    (lambda: cifar10.fetch(progress=1), r"cifar10\.fetch: progress must be True or False\. Received: progress=1"),
    (lambda: cifar10.info(data_dir=[1]), r"cifar10\.info: data_dir must be a path or None"),
])
def test_arguments_are_validated(call, match):
    with pytest.raises(TypeError, match=match):
        call()


# --- download -----------------------------------------------------------------------------------

def test_download_keeps_an_archive_with_the_published_md5(tmp_path, tiny, file_server, monkeypatch):
    archive = tiny.archive_bytes("gz")
    monkeypatch.setattr(cifar10, "URL", file_server("/cifar-10-python.tar.gz", archive))
    monkeypatch.setattr(cifar10, "MD5", md5(archive))
    target = tmp_path / "new" / "data"  # does not exist yet: created
    tiny.assert_loaded(cifar10.load(target, progress=False))
    assert (target / "cifar-10-python.tar.gz").read_bytes() == archive
    assert not list(target.glob("*.part"))


def test_download_with_wrong_md5_is_deleted_and_reported(tmp_path, tiny, file_server, monkeypatch):
    archive = tiny.archive_bytes("gz")
    url = file_server("/cifar-10-python.tar.gz", archive)
    monkeypatch.setattr(cifar10, "URL", url)  # MD5 stays the official one, which this file cannot match
    expected = re.escape(f"Download of {url} failed its checksum: expected MD5 "
                         f"c58f30108f718f92721af3b95e74349a, received {md5(archive)}")
    with pytest.raises(ChecksumError, match=expected):
        cifar10.load(tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []  # neither the archive nor a temp file was left behind


def test_download_error_is_reported_with_the_url(tmp_path, file_server, monkeypatch):
    url = file_server("/elsewhere", b"")  # the archive path itself answers 404
    monkeypatch.setattr(cifar10, "URL", url.replace("/elsewhere", "/missing.tar.gz"))
    with pytest.raises(DownloadError, match=r"Could not download http://127\.0\.0\.1:\d+/missing\.tar\.gz"):
        cifar10.load(tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


class _FakeResponse(io.BytesIO):
    def __init__(self, body: bytes):
        super().__init__(body)
        self.headers = {"Content-Length": str(len(body))}


def test_patched_opener_and_plain_text_progress_without_tqdm(tmp_path, tiny, monkeypatch, capsys):
    archive = tiny.archive_bytes("gz")
    requested = []
    monkeypatch.setattr(cifar10, "_urlopen", lambda url, timeout: requested.append(url) or _FakeResponse(archive))
    monkeypatch.setattr(cifar10, "MD5", md5(archive))
    monkeypatch.setitem(sys.modules, "tqdm", None)  # makes `from tqdm import tqdm` fail
    assert cifar10.fetch(tmp_path) == tmp_path / "cifar-10-python.tar.gz"
    assert requested == [cifar10.URL]
    err = capsys.readouterr().err
    assert "cifar-10-python.tar.gz:" in err and "(100%)" in err


def test_fetch_uses_a_local_copy_without_downloading(tmp_path, tiny, monkeypatch):
    tiny.write(tmp_path, "tar.xz")
    monkeypatch.setattr(cifar10, "_urlopen", lambda *a, **k: pytest.fail("must not download"))
    assert cifar10.fetch(tmp_path, progress=False) == tmp_path / "cifar-10-python.tar.xz"


def test_local_files_are_not_checksummed(tmp_path, tiny):
    # The MD5 guards downloads only: a local archive (like the team's rebuilt copy) loads as it is.
    path = tiny.write(tmp_path, "tar.gz")
    assert md5(path.read_bytes()) != cifar10.MD5
    tiny.assert_loaded(cifar10.load(tmp_path, download=False))
