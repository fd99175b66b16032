"""Atomic file writing: a crash leaves either the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import os
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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(path.parent)


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
