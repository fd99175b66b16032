"""Download a file with a progress bar, check its MD5 while streaming, and write it atomically."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from .._files import atomic_write

_CHUNK = 1 << 20  # 1 MiB


class DownloadError(OSError):
    """A download could not be completed (network error, unwritable folder)."""


class ChecksumError(DownloadError):
    """A downloaded file's MD5 differs from the published one; the file was not kept."""


def download(url: str, dest: Path, md5: str, *, opener, progress: bool = True) -> Path:
    """Fetch `url` into `dest` through `opener` (urlopen-like), keeping it only if its MD5 is `md5`."""
    try:
        with atomic_write(dest) as file, opener(url, timeout=60) as response:
            received = _stream(response, file, _progress(response, dest.name, progress))
            if received != md5:
                raise ChecksumError(
                    f"Download of {url} failed its checksum: expected MD5 {md5}, received {received}. "
                    f"The file was deleted, not saved as {dest}. Run `neurona data cifar10` to try again."
                )
    except DownloadError:
        raise
    except OSError as exc:  # urllib.error.URLError, socket timeouts and unwritable folders are all OSError
        raise DownloadError(
            f"Could not download {url} to {dest}: {exc}. Check the connection and that the folder "
            "is writable, or download the file by hand and point NEURONA_DATA at its folder."
        ) from exc
    return dest


def _stream(response, file, bar) -> str:
    """Copy response -> file in chunks, updating `bar`; return the MD5 hex digest of what was read."""
    digest = hashlib.md5(usedforsecurity=False)  # an integrity check against the published sum
    try:
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            file.write(chunk)
            bar.update(len(chunk))
    finally:
        bar.close()
    return digest.hexdigest()


def _progress(response, name: str, enabled: bool):
    """A tqdm bar when tqdm is installed, else a plain-text one on stderr; a no-op if disabled."""
    if not enabled:
        return _NoProgress()
    length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
    total = int(length) if length and length.isdigit() else None
    try:
        from tqdm import tqdm
    except ImportError:
        return _TextProgress(total, name)
    return tqdm(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _TextProgress:
    """Fallback progress: one line on stderr, rewritten at each whole percent (or every 10 MB)."""

    def __init__(self, total: int | None, name: str, stream=None):
        self.total, self.name, self.done, self._shown = total, name, 0, -1
        self.stream = stream if stream is not None else sys.stderr

    def update(self, n: int) -> None:
        self.done += n
        step = self.done * 100 // self.total if self.total else self.done // 10_000_000
        if step != self._shown:
            self._shown = step
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def _line(self) -> str:
        mb = self.done / 1e6
        if not self.total:
            return f"{self.name}: {mb:.1f} MB"
        return f"{self.name}: {mb:.1f}/{self.total / 1e6:.1f} MB ({self.done * 100 // self.total}%)"

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
