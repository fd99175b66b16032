"""Atomic file writes: a temp file in the target's folder, flushed, fsynced, then os.replace()d."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike):
    """Yield a binary file that becomes `path` only if the block finishes without an exception.

    Readers never see a half-written `path`; on any error the temp file is deleted.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a data file should be readable like any other
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


def is_writable(folder: str | os.PathLike) -> bool:
    """True if we may create files in `folder`: permitted, and not marked read-only by its mode bits.

    The mode check matters for root, whom os.access() lets write into an r-x folder; we honour
    the read-only marking anyway (shared data folders are read-only on purpose).
    """
    try:
        marked_writable = os.stat(folder).st_mode & 0o222
    except OSError:
        return False
    return bool(marked_writable) and os.access(folder, os.W_OK)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); silently skipped where folders can't be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
