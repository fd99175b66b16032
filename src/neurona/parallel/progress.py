"""Progress of many runs on one line: runs done out of the total, failures, elapsed time and an ETA."""

from __future__ import annotations

import sys
import time


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"


class Progress:
    """``12/200 runs done (1 failed), 0m41s elapsed, ETA 10m23s`` on stderr, redrawn at most every ``every`` s.

    Runs already done before it starts (resumed) count as done but not in the rate, so the ETA is honest.

    Args:
        total: runs in all.
        done: runs already finished (kept from an earlier, interrupted sweep).
        stream: where to write; None writes nothing.
    """

    def __init__(self, total: int, done: int = 0, stream=sys.stderr, label: str = "runs", every: float = 0.5):
        self.total, self.done, self.failed, self.label, self.stream, self.every = total, done, 0, label, stream, every
        self._resumed, self._started, self._drawn = done, time.perf_counter(), 0.0
        self._draw(force=True)

    def line(self) -> str:
        elapsed = time.perf_counter() - self._started
        new = self.done + self.failed - self._resumed
        left = self.total - self.done - self.failed
        eta = _clock(elapsed / new * left) if new and left else ("0m00s" if not left else "?")
        failed = f" ({self.failed} failed)" if self.failed else ""
        return f"{self.done}/{self.total} {self.label} done{failed}, {_clock(elapsed)} elapsed, ETA {eta}"

    def update(self, ok: bool = True) -> None:
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self._draw(force=self.done + self.failed >= self.total)

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.stream is None or (not force and now - self._drawn < self.every):
            return
        self._drawn = now
        end = "\n" if self.done + self.failed >= self.total else ""
        print("\r" + self.line(), end=end, file=self.stream, flush=True)

    def close(self) -> None:
        if self.stream is not None and self.done + self.failed < self.total:
            print("\r" + self.line(), file=self.stream, flush=True)
