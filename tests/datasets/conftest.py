"""Fixtures for the datasets tests: isolated data/cache folders and tiny CIFAR-10 look-alikes.

The tiny data sets follow the official python layout (cifar-10-batches-py/ with data_batch_1..5,
test_batch, batches.meta; each batch a protocol-2 pickle of a dict with byte keys) but hold a few
images per batch, so the tests never need the network or the real 160 MB archive.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import pickle
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

OFFICIAL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


@pytest.fixture(autouse=True)
def _isolated_locations(monkeypatch, tmp_path):
    """No test sees the user's NEURONA_DATA or writes to the real ~/.cache."""
    monkeypatch.delenv("NEURONA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def images_to_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) -> official rows: all red values row by row, then green, then blue.

    Written with explicit per-channel ravel (not the loader's reshape/transpose) so the tests
    check the loader against an independent statement of the format.
    """
    return np.stack([
        np.concatenate([img[:, :, 0].ravel(), img[:, :, 1].ravel(), img[:, :, 2].ravel()])
        for img in images
    ]).astype(np.uint8)


def py3_pickle(obj) -> bytes:
    """How Python 3 writes protocol 2: bytes go through _codecs.encode, arrays via numpy._core."""
    return pickle.dumps(obj, protocol=2)


def py2_pickle(obj) -> bytes:
    """How the official archive was written (Python 2 + numpy 1.x): STRING opcodes, numpy.core."""
    return b"\x80\x02" + _py2(obj) + b"."


def _py2(obj) -> bytes:
    if isinstance(obj, dict):
        return b"}(" + b"".join(_py2(k) + _py2(v) for k, v in obj.items()) + b"u"
    if isinstance(obj, list):
        return b"](" + b"".join(_py2(item) for item in obj) + b"e"
    if isinstance(obj, (bytes, str)):
        raw = obj.encode() if isinstance(obj, str) else obj
        return b"T" + struct.pack("<i", len(raw)) + raw  # BINSTRING: a py2 str
    if isinstance(obj, (int, np.integer)):
        return b"J" + struct.pack("<i", int(obj))
    if isinstance(obj, np.ndarray) and obj.dtype == np.uint8 and obj.ndim == 2:
        return _py2_uint8_matrix(obj)
    raise TypeError(type(obj))


def _py2_uint8_matrix(array: np.ndarray) -> bytes:
    dtype = (b"cnumpy\ndtype\n" + _py2(b"u1") + b"K\x00K\x01\x87R"                 # dtype('u1', 0, 1)
             + b"(K\x03" + _py2(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")  # its state
    shape = _py2(array.shape[0]) + _py2(array.shape[1]) + b"\x86"
    return (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + _py2(b"b") + b"\x87R"
            + b"(K\x01" + shape + dtype + b"\x89" + _py2(array.tobytes()) + b"tb")


class TinyCifar:
    """A small data set in the official layout plus the arrays a correct loader must return."""

    def __init__(self, per_batch: int = 4, seed: int = 0, names=OFFICIAL_NAMES, style: str = "py3"):
        rng = np.random.default_rng(seed)
        self.x_train = rng.integers(0, 256, size=(5 * per_batch, 32, 32, 3), dtype=np.uint8)
        self.y_train = rng.integers(0, 10, size=5 * per_batch).astype(np.int64)
        self.x_test = rng.integers(0, 256, size=(per_batch, 32, 32, 3), dtype=np.uint8)
        self.y_test = rng.integers(0, 10, size=per_batch).astype(np.int64)
        self.names, self.dump = tuple(names), (py2_pickle if style == "py2" else py3_pickle)
        self.files = {}  # member name -> pickled bytes
        for i, name in enumerate(TRAIN):
            part = slice(i * per_batch, (i + 1) * per_batch)
            self.files[name] = self.batch(self.x_train[part], self.y_train[part], f"training batch {i + 1} of 5")
        self.files["test_batch"] = self.batch(self.x_test, self.y_test, "testing batch 1 of 1")
        self.files["batches.meta"] = self.dump({
            b"label_names": [n.encode() for n in self.names], b"num_cases_per_batch": per_batch, b"num_vis": 3072,
        })

    def batch(self, images, labels, title: str) -> bytes:
        return self.dump({
            b"batch_label": title.encode(), b"labels": [int(v) for v in labels],
            b"data": images_to_rows(images), b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
        })

    def write_folder(self, folder: Path, omit=()) -> Path:
        batches = Path(folder) / "cifar-10-batches-py"
        batches.mkdir(parents=True, exist_ok=True)
        for name, raw in self.files.items():
            if name not in omit:
                (batches / name).write_bytes(raw)
        return batches

    def archive_bytes(self, compression: str = "gz", omit=()) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as tar:
            folder = tarfile.TarInfo("cifar-10-batches-py")
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(folder)
            for name, raw in self.files.items():
                if name not in omit:
                    member = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                    member.size = len(raw)
                    tar.addfile(member, io.BytesIO(raw))
        return buffer.getvalue()

    def write_archive(self, folder: Path, compression: str = "gz", omit=()) -> Path:
        path = Path(folder) / f"cifar-10-python.tar.{compression}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.archive_bytes(compression, omit))
        return path

    def write(self, folder: Path, fmt: str) -> Path:
        """fmt: 'folder', 'tar.gz' or 'tar.xz'."""
        return self.write_folder(folder) if fmt == "folder" else self.write_archive(folder, fmt.split(".")[1])

    def assert_loaded(self, loaded) -> None:
        (x_train, y_train), (x_test, y_test) = loaded
        for got, want in ((x_train, self.x_train), (y_train, self.y_train), (x_test, self.x_test), (y_test, self.y_test)):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)


@pytest.fixture
def tiny():
    return TinyCifar()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def file_server():
    """A local HTTP server on 127.0.0.1: serve(path, body) -> URL. Never touches the network."""
    routes = {}
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def serve(path: str, body: bytes) -> str:
        routes[path] = body
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield serve
    server.shutdown()
    server.server_close()
    thread.join()
