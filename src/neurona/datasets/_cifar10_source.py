"""Read and validate the official CIFAR-10 python batches from a tar archive or an extracted folder."""

from __future__ import annotations

import contextlib
import lzma
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from . import _safe_pickle
from ._safe_pickle import UnsafePickleError

FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
REQUIRED = (*TRAIN_BATCHES, TEST_BATCH, META)
_PIXELS = 3 * 32 * 32  # one row: 1024 red values, then 1024 green, then 1024 blue
_MAX_MEMBER_BYTES = 256 * 2**20  # a real batch is 30-45 MB; refuse to inflate anything far larger


class CorruptDatasetError(ValueError):
    """The CIFAR-10 source is truncated, incomplete, or holds something other than the batches."""


def source_files(source: Path) -> list[Path]:
    """The files whose identity keys the cache: the archive, or each batch file of the folder."""
    if source.is_dir():
        return [source / name for name in REQUIRED if (source / name).is_file()]
    return [source]


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
            if (source / name).is_file():
                yield name, (source / name).read_bytes(), str(source / name)
        return
    try:
        with tarfile.open(source, "r:*") as tar:
            for member in tar:  # one sequential pass: no seeking back in a compressed stream
                name = _batch_name(member)
                if name is not None:
                    yield name, _read_member(tar, member, source, fix), f"{source} (member {member.name})"
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error) as exc:
        raise CorruptDatasetError(
            f"Could not read {source}: {type(exc).__name__}: {exc}. The archive looks truncated or "
            f"corrupt. {fix}"
        ) from exc


def _batch_name(member: tarfile.TarInfo) -> str | None:
    """'cifar-10-batches-py/data_batch_1' (or a bare 'data_batch_1') -> 'data_batch_1'; else None."""
    parts = [part for part in PurePosixPath(member.name).parts if part != "."]
    in_folder = len(parts) == 1 or (len(parts) == 2 and parts[0] == FOLDER_NAME)
    if member.isfile() and in_folder and parts[-1] in REQUIRED:
        return parts[-1]
    return None


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, source: Path, fix: str) -> bytes:
    if member.size > _MAX_MEMBER_BYTES:
        raise CorruptDatasetError(
            f"{source} (member {member.name}) is {member.size} bytes, far larger than a CIFAR-10 batch. {fix}"
        )
    return tar.extractfile(member).read()


def _decode(name: str, raw: bytes, where: str, fix: str):
    """Unpickle (restricted) and validate one file: (data, labels) for a batch, names for the meta."""
    try:
        content = _safe_pickle.loads(raw, where)
    except UnsafePickleError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever fails while parsing untrusted bytes means "corrupt"
        raise CorruptDatasetError(
            f"{where} is not a readable CIFAR-10 pickle ({type(exc).__name__}: {exc}). {fix}"
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
    if not isinstance(labels, (list, tuple, np.ndarray)):
        return None
    try:
        array = np.asarray(labels)
    except (ValueError, TypeError):
        return None
    return array.astype(np.int64) if array.dtype.kind in "iu" and array.ndim == 1 else None


def _check_meta(content: dict, where: str, fix: str) -> tuple[str, ...]:
    names = _get(content, "label_names")
    if not (isinstance(names, list) and len(names) == 10 and all(isinstance(n, (bytes, str)) for n in names)):
        raise CorruptDatasetError(f"{where}: b'label_names' must be a list of 10 names. Received: {names!r:.80}. {fix}")
    return tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names)


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
