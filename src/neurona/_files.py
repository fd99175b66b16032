"""Atomic file writing: a crash leaves either the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file beside ``path``; if the block succeeds, flush, fsync and rename it onto ``path``.

    Readers never see a half-written ``path``; on any error the temporary file is deleted. The new
    file keeps the old one's permissions (0644 for a new file).

    Example:
        >>> with atomic_write("model.npz") as f:
        ...     f.write(data)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise
    _fsync_folder(path.parent)


def _naming(exc: OSError, path: Path) -> OSError:
    """The same kind of OSError, saying which file could not be written and that the old one is intact."""
    kept = "the previous file is intact" if path.exists() else "nothing was written"
    message = f"{exc.strerror or exc}: could not write {path} ({kept})"
    try:
        return type(exc)(exc.errno, message)
    except TypeError:
        return OSError(exc.errno, message)


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of ``path`` left by a write that was killed (SIGKILL, power loss) are deleted."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            match = _TEMPORARY.fullmatch(entry.name)
            if match and match["name"] == path.name and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def check_writable(path, where: str) -> Path:
    """Refuse, before any work, a path that cannot be written: a folder, a missing or read-only parent."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{where}: {path} is a folder; give a file path")
    if path.exists() and not path.is_file():
        raise ValueError(f"{where}: {path} exists and is not a regular file")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{where}: the folder {path.parent} does not exist; create it first")
    if not is_writable(path.parent):
        raise PermissionError(f"{where}: cannot write in {path.parent} (read-only or not permitted)")
    return path


def is_writable(folder) -> bool:
    """True if we may create files in ``folder``: permitted, and not marked read-only by its mode bits.

    The mode check matters for root, whom os.access() lets write into an r-x folder; the read-only
    marking is honoured anyway (shared data folders are read-only on purpose).
    """
    try:
        marked_writable = os.stat(folder).st_mode & 0o222
    except OSError:
        return False
    return bool(marked_writable) and os.access(folder, os.W_OK)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); skipped where folders can't be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
