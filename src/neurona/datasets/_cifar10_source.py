"""Read and validate the official CIFAR-10 python batches from a tar archive or an extracted folder."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import lzma
import os
import stat
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from . import _safe_pickle
from ._messages import clip as _clip, echo
from ._safe_pickle import UnsafePickleError

FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
REQUIRED = (*TRAIN_BATCHES, TEST_BATCH, META)
_PIXELS = 3 * 32 * 32  # one row: 1024 red values, then 1024 green, then 1024 blue
_MAX_MEMBER_BYTES = 256 * 2**20  # a real batch is 30-45 MB; refuse to inflate anything far larger
_MAX_ARCHIVE_BYTES = 1 << 30  # the real archives are 140-163 MB
_MAX_NAME_CHARS = 100  # a class name in batches.meta
_MAX_INFLATED_BYTES = 512 * 2**20  # the real archive's tar is about 185 MB
_MAX_MEMBERS = 1000  # the real archive holds 8 (the folder, 7 files)


class CorruptDatasetError(ValueError):
    """The CIFAR-10 source is truncated, incomplete, or holds something other than the batches."""


def source_files(source: Path) -> list[Path]:
    """The files whose content keys the cache: the archive, or each batch file of the folder."""
    if source.is_dir():
        return [source / name for name in REQUIRED if os.path.lexists(source / name)]
    return [source]


def source_digest(source: Path) -> str:
    """SHA-256 of every source file's content (with its name): what a cache of decoded arrays is bound to."""
    digest = hashlib.sha256()
    limit = _MAX_MEMBER_BYTES if source.is_dir() else _MAX_ARCHIVE_BYTES
    for path in source_files(source):
        digest.update(path.name.encode() + b"\0")
        with open_regular(path, limit, _fix_hint(source)) as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def open_regular(path: Path, max_bytes: int, fix: str):
    """Open ``path`` for reading if it is a regular file of at most ``max_bytes``.

    A FIFO, device or socket is refused at once (O_NONBLOCK: opening a FIFO never waits for a
    writer); a permission problem stays a PermissionError naming the file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except PermissionError as exc:
        raise PermissionError(exc.errno, f"Cannot read {path}: permission denied. Give this user read access "
                                         "(chmod) or point NEURONA_DATA at a readable copy", str(path)) from None
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = f"is not a regular file (it is a {_kind(info.st_mode)}), so it is not read"
    elif info.st_size > max_bytes:
        problem = f"is {info.st_size} bytes, far larger than CIFAR-10"
    if problem:
        os.close(fd)
        raise CorruptDatasetError(f"{path} {problem}. {fix}")
    return os.fdopen(fd, "rb")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")


def read_source(source: Path) -> dict:
    """Decode every batch of `source` into the arrays `cifar10.load` returns; all or nothing."""
    fix = _fix_hint(source)
    decoded = {}
    with contextlib.closing(_raw_members(source, fix)) as members:
        for name, raw, where in members:
            decoded[name] = _decode(name, raw, where, fix)
    missing = [name for name in REQUIRED if name not in decoded]
    if missing:
        found = ", ".join(sorted(decoded)) or "none of them"
        raise CorruptDatasetError(f"{source} is missing {', '.join(missing)} (found: {found}). {fix}")
    return _assemble(decoded)


def _fix_hint(source: Path) -> str:
    what = "the folder" if source.is_dir() else "it"
    return f"Delete {what} and run `neurona data cifar10` to download a fresh copy."


def _raw_members(source: Path, fix: str):
    """Yield (batch name, raw bytes, description for errors) for each wanted file of `source`."""
    if source.is_dir():
        for name in REQUIRED:
            if os.path.lexists(source / name):
                with open_regular(source / name, _MAX_MEMBER_BYTES, fix) as file:
                    yield name, file.read(), str(source / name)
        return
    with open_regular(source, _MAX_ARCHIVE_BYTES, fix) as file:
        yield from _archive_members(source, file, fix)


def _archive_members(source: Path, file, fix: str):
    try:
        stream = _Inflated(_decompressor(file), source, fix)
        with tarfile.open(fileobj=io.BufferedReader(stream, 1 << 20), mode="r|") as tar:
            for count, member in enumerate(tar, 1):  # one sequential pass: no seeking back in a compressed stream
                _check_member(member, count, source, fix)
                name = _batch_name(member)
                if name is not None:
                    yield name, tar.extractfile(member).read(), f"{source} (member {_clip(member.name)})"
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error, ValueError) as exc:
        if isinstance(exc, CorruptDatasetError):
            raise
        raise CorruptDatasetError(
            f"Could not read {source}: {type(exc).__name__}: {_brief(exc)}. The archive looks truncated or "
            f"corrupt. {fix}"
        ) from exc


def _decompressor(file):
    """The archive's bytes inflated by what its magic number says (gzip, xz, bzip2), or as they are."""
    magic = file.read(6)
    file.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=file, mode="rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(file)
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(file)
    return file


class _Inflated(io.RawIOBase):
    """A read-only stream that stops with CorruptDatasetError past _MAX_INFLATED_BYTES (a compression bomb)."""

    def __init__(self, stream, source: Path, fix: str):
        self._stream, self._source, self._fix, self._total = stream, source, fix, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._stream.readinto(buffer)
        self._total += count
        if self._total > _MAX_INFLATED_BYTES:
            raise CorruptDatasetError(f"{self._source} inflates to more than {_MAX_INFLATED_BYTES} bytes; the "
                                      f"CIFAR-10 archive holds about 185 MB. {self._fix}")
        return count


def _brief(exc: BaseException) -> str:
    """An exception's text, bounded (parsers of untrusted bytes may quote them)."""
    return _clip(str(exc), 200)



def _batch_name(member: tarfile.TarInfo) -> str | None:
    """'cifar-10-batches-py/data_batch_1' (or a bare 'data_batch_1') -> 'data_batch_1'; else None."""
    parts = [part for part in PurePosixPath(member.name).parts if part != "."]
    in_folder = len(parts) == 1 or (len(parts) == 2 and parts[0] == FOLDER_NAME)
    if member.isfile() and in_folder and parts[-1] in REQUIRED:
        return parts[-1]
    return None


def _check_member(member: tarfile.TarInfo, count: int, source: Path, fix: str) -> None:
    """Every member, wanted or not, is bounded: inflating or skipping it must not take hours or fill memory."""
    if member.size > _MAX_MEMBER_BYTES:
        raise CorruptDatasetError(f"{source} (member {_clip(member.name)}) is {member.size} bytes, far "
                                  f"larger than a CIFAR-10 batch. {fix}")
    if count > _MAX_MEMBERS:
        raise CorruptDatasetError(f"{source} holds more than {_MAX_MEMBERS} members; the CIFAR-10 archive holds 8. {fix}")


def _decode(name: str, raw: bytes, where: str, fix: str):
    """Unpickle (restricted) and validate one file: (data, labels) for a batch, names for the meta."""
    try:
        content = _safe_pickle.loads(raw, where)
    except UnsafePickleError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever fails while parsing untrusted bytes means "corrupt"
        raise CorruptDatasetError(
            f"{where} is not a readable CIFAR-10 pickle ({type(exc).__name__}: {_brief(exc)}). {fix}"
        ) from exc
    if not isinstance(content, dict):
        raise CorruptDatasetError(f"{where}: expected a dict, got {type(content).__name__}. {fix}")
    if name == META:
        return _check_meta(content, where, fix)
    return _check_batch(content, where, fix)


def _get(content: dict, key: str):
    """Python 2 pickles (read with encoding='bytes') have byte keys; accept str keys too."""
    return content.get(key.encode(), content.get(key))


def _check_batch(content: dict, where: str, fix: str) -> tuple[np.ndarray, np.ndarray]:
    data, labels = _get(content, "data"), _get(content, "labels")
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[0] >= 1 and data.shape[1] == _PIXELS):
        got = f"shape={data.shape}, dtype={data.dtype}" if isinstance(data, np.ndarray) else type(data).__name__
        raise CorruptDatasetError(f"{where}: b'data' must be a uint8 array of shape (N, 3072). Received: {got}. {fix}")
    labels = _labels_array(labels)
    if labels is None or len(labels) != len(data):
        count = "not a list of ints" if labels is None else f"{len(labels)} labels"
        raise CorruptDatasetError(f"{where}: b'labels' must be {len(data)} ints (one per image). Received: {count}. {fix}")
    if labels.min() < 0 or labels.max() > 9:
        raise CorruptDatasetError(
            f"{where}: b'labels' must be in 0..9. Received: min={labels.min()}, max={labels.max()}. {fix}"
        )
    return data, labels


def _labels_array(labels) -> np.ndarray | None:
    """Labels as int64 from a flat list of ints (bools refused) or a 1-D int array; else None.

    The flat check comes first: np.asarray of nested lists that share sub-lists could build an
    array exponentially larger than the pickle.
    """
    if isinstance(labels, np.ndarray):
        return labels.astype(np.int64) if labels.dtype.kind in "iu" and labels.ndim == 1 else None
    if not isinstance(labels, (list, tuple)) or not all(type(label) is int for label in labels):
        return None
    try:
        return np.array(labels, dtype=np.int64)
    except OverflowError:  # an int beyond int64: certainly not in 0..9
        return None


def _check_meta(content: dict, where: str, fix: str) -> tuple[str, ...]:
    names = _get(content, "label_names")
    if not (isinstance(names, list) and len(names) == 10 and all(_is_name(n) for n in names)):
        raise CorruptDatasetError(f"{where}: b'label_names' must be a list of 10 names (1 to {_MAX_NAME_CHARS} "
                                  f"characters each). Received: {echo(names)}. {fix}")
    return tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names)


def _is_name(name) -> bool:
    return isinstance(name, (bytes, str)) and 1 <= len(name) <= _MAX_NAME_CHARS


def _to_images(rows: np.ndarray) -> np.ndarray:
    """(N, 3072) rows of R-plane, G-plane, B-plane -> (N, 32, 32, 3) height-width-channel images."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _assemble(decoded: dict) -> dict:
    train = [decoded[name] for name in TRAIN_BATCHES]
    x_test, y_test = decoded[TEST_BATCH]
    return {
        "x_train": _to_images(np.concatenate([data for data, _ in train])),
        "y_train": np.concatenate([labels for _, labels in train]),
        "x_test": _to_images(x_test),
        "y_test": y_test,
        "label_names": decoded[META],
        "batch_sizes": np.array([len(data) for data, _ in train] + [len(x_test)], dtype=np.int64),
    }
