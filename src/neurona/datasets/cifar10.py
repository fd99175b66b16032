"""CIFAR-10: find the official python batches, download them (MD5-checked), decode safely, cache."""

from __future__ import annotations

import hashlib
import os
import shlex
import urllib.request
from pathlib import Path

from . import _cache
from .._files import is_writable
from ._cifar10_source import FOLDER_NAME, CorruptDatasetError, read_source, source_digest, source_files
from ._download import ChecksumError, DownloadError, download
from ._messages import echo
from ._safe_pickle import UnsafePickleError

__all__ = [
    "CLASS_NAMES", "URL", "MD5", "ENV_VAR", "load", "label_names", "fetch", "info",
    "data_location", "find_source", "default_data_dir",
    "CorruptDatasetError", "UnsafePickleError", "DownloadError", "ChecksumError",
]

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # published next to the archive on the CIFAR page
ARCHIVE_NAMES = ("cifar-10-python.tar.gz", "cifar-10-python.tar.xz")
ENV_VAR = "NEURONA_DATA"
CACHE_NAME = "cifar-10-cache.npz"
CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

# The opener used for downloads; tests replace it (or URL and MD5) to serve a fake archive.
_urlopen = urllib.request.urlopen


def default_data_dir() -> Path:
    """The per-user cache folder: $XDG_CACHE_HOME/neurona, else ~/.cache/neurona."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "neurona"


def data_location(data_dir=None) -> tuple[Path, str]:
    """The folder to search and why: the `data_dir` argument, else $NEURONA_DATA, else the user cache."""
    if data_dir is not None:
        return _expand(data_dir, "data_dir"), "data_dir argument"
    if os.environ.get(ENV_VAR):
        return _expand(os.environ[ENV_VAR], ENV_VAR), f"{ENV_VAR} environment variable"
    return default_data_dir(), "default cache folder"


def _expand(path, what: str) -> Path:
    """``path`` with ~ expanded; a ~user that does not exist is a ValueError naming ``what``."""
    try:
        return Path(path).expanduser()
    except RuntimeError as exc:  # pathlib: "Could not determine home directory"
        raise ValueError(f"{what}: cannot expand ~ in {echo(str(path))}: {exc}") from None


def _candidates(folder: Path) -> list[Path]:
    """Search order: the extracted folder, then the .tar.gz, then the .tar.xz."""
    found = [folder] if folder.name == FOLDER_NAME else []  # data_dir may be the batches folder itself
    return found + [folder / FOLDER_NAME, *(folder / name for name in ARCHIVE_NAMES)]


def find_source(folder) -> Path | None:
    """The first CIFAR-10 source in `folder` (see _candidates for the order), or None.

    An archive name that exists but is no regular file (a FIFO, a device) is returned too, so that
    reading it fails at once with a message saying what it is, instead of "not found".
    """
    for path in _candidates(Path(folder)):
        is_archive = path.name in ARCHIVE_NAMES
        try:
            if (is_archive and path.exists() and not path.is_dir()) or (not is_archive and path.is_dir()):
                return path
        except OSError:  # e.g. a name too long for the file system: nothing usable there
            continue
    return None


def _cache_candidates(folder: Path) -> list[Path]:
    """Next to the data when writable, else in the user cache under a name tied to the data folder."""
    tag = hashlib.sha1(str(folder.resolve()).encode(), usedforsecurity=False).hexdigest()[:12]
    return [folder / CACHE_NAME, default_data_dir() / f"cifar-10-cache-{tag}.npz"]


def _check_args(caller: str, data_dir, **flags) -> None:
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"{caller}: data_dir must be a path or None. Received: data_dir={echo(data_dir)}")
    if data_dir is not None and not _usable_path(data_dir):
        raise ValueError(f"{caller}: data_dir must be a non-empty path without NUL characters. "
                         f"Received: data_dir={echo(data_dir)}")
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{caller}: {name} must be True or False. Received: {name}={echo(value)}")


def _usable_path(data_dir) -> bool:
    try:
        text = os.fspath(data_dir)
    except Exception:  # noqa: BLE001 - a PathLike whose __fspath__ fails or returns something else
        return False
    return isinstance(text, str) and text != "" and "\0" not in text and len(text) <= 4096


def _not_found(folder: Path, origin: str) -> FileNotFoundError:
    looked = ", ".join(str(path) for path in _candidates(folder))
    command = "neurona data cifar10"
    if origin == "data_dir argument":  # the command-line tool's --dir is the same folder
        command += f" --dir {shlex.quote(str(folder))}"
    return FileNotFoundError(
        f"CIFAR-10 not found in {folder} (from the {origin}). Looked for: {looked}. "
        f"To fix it, run `{command}` to download it, or set {ENV_VAR} to a folder that holds "
        f"{FOLDER_NAME}/ or {ARCHIVE_NAMES[0]}."
    )


def _source_or_download(folder: Path, origin: str, download_missing: bool, progress: bool) -> Path:
    source = find_source(folder)
    if source is not None:
        return source  # local files are used as they are: the checksum guards downloads only
    if not download_missing:
        raise _not_found(folder, origin)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"Cannot create {folder} to download CIFAR-10 into: {exc}. "
                            f"Set {ENV_VAR} to a writable folder.") from exc
    if not is_writable(folder):
        raise DownloadError(f"Cannot download CIFAR-10 into {folder}: the folder is read-only. "
                            f"Set {ENV_VAR} to a writable folder, or put the archive there by hand.")
    return download(URL, folder / ARCHIVE_NAMES[0], MD5, opener=_urlopen, progress=progress)


def _load_arrays(data_dir, download_missing: bool, progress: bool) -> tuple[dict, Path]:
    """The decoded arrays, from the cache when it matches the source, else decoded and cached."""
    folder, origin = data_location(data_dir)
    source = _source_or_download(folder, origin, download_missing, progress)
    key = _cache.source_key(source_digest(source))
    arrays = _cache.read(_cache_candidates(folder), key)
    if arrays is None:
        arrays = read_source(source)
        if _cache.source_key(source_digest(source)) == key:  # unchanged while decoding: the cache is true to it
            _cache.write(_cache_candidates(folder), arrays, key)
    return arrays, source


def load(data_dir=None, download: bool = True, *, progress: bool = True):
    """Load CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        data_dir: folder holding the data; default $NEURONA_DATA, else ~/.cache/neurona.
        download: fetch the official archive (MD5-checked) when nothing is found.
        progress: show a progress bar while downloading.

    Returns:
        Images as uint8 arrays and labels as int64 arrays (class ids 0-9, see CLASS_NAMES).

    Shape:
        x_train (50000, 32, 32, 3), y_train (50000,), x_test (10000, 32, 32, 3), y_test (10000,).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = cifar10.load()  # doctest: +SKIP
        >>> cifar10.CLASS_NAMES[y_train[0]]  # doctest: +SKIP
        'frog'
    """
    _check_args("cifar10.load", data_dir, download=download, progress=progress)
    arrays, _ = _load_arrays(data_dir, download, progress)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def label_names(data_dir=None, download: bool = True, *, progress: bool = True) -> tuple[str, ...]:
    """The 10 class names as stored in the data's batches.meta (same order as the labels)."""
    _check_args("cifar10.label_names", data_dir, download=download, progress=progress)
    arrays, _ = _load_arrays(data_dir, download, progress)
    return tuple(arrays["label_names"])


def fetch(data_dir=None, *, progress: bool = True) -> Path:
    """Download CIFAR-10 if it is missing, check that it loads (building the cache), return its path."""
    _check_args("cifar10.fetch", data_dir, progress=progress)
    _, source = _load_arrays(data_dir, True, progress)
    return source


def info(data_dir=None) -> dict:
    """Where CIFAR-10 is looked for, what was found, whether it parses, and the cache's state.

    Never downloads. Parsing goes through the cache (and builds it when the source is good).
    Keys: location, location_from, searched, found, format, size_bytes, parses, error,
    train_batches, train_images, test_images, label_names, cache ({"status", "path"}; status is
    "fresh", "stale", "corrupt" or "missing").
    """
    _check_args("cifar10.info", data_dir)
    folder, origin = data_location(data_dir)
    source = find_source(folder)
    report = {
        "location": str(folder), "location_from": origin,
        "searched": [str(path) for path in _candidates(folder)],
        "found": None, "format": None, "size_bytes": None, "parses": None, "error": None,
        "train_batches": None, "train_images": None, "test_images": None, "label_names": None,
        "cache": {"status": "missing", "path": None},
    }
    if source is None:
        return report
    report.update(found=str(source), format="folder" if source.is_dir() else source.name.split(".", 1)[1],
                  size_bytes=sum(path.stat().st_size for path in source_files(source) if path.exists()))
    try:
        arrays, _ = _load_arrays(data_dir, False, False)
        report.update(parses=True, train_batches=len(arrays["batch_sizes"]) - 1,
                      train_images=len(arrays["x_train"]), test_images=len(arrays["x_test"]),
                      label_names=list(arrays["label_names"]))
    except (CorruptDatasetError, UnsafePickleError, OSError) as exc:
        report.update(parses=False, error=str(exc))
    try:
        status, path = _cache.status(_cache_candidates(folder), _cache.source_key(source_digest(source)))
    except (CorruptDatasetError, OSError):  # the source cannot be read: already reported in "error"
        status, path = "missing", None
    report["cache"] = {"status": status, "path": None if path is None else str(path)}
    return report
