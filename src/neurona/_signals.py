"""Graceful stops: SIGINT (Ctrl-C) or SIGTERM during training end the current step, then training."""

from __future__ import annotations

import signal
import threading


class StopOnSignal:
    """Within ``with StopOnSignal() as stop:``, SIGINT/SIGTERM set ``stop.received`` instead of killing.

    The training loop checks it after every step. A second Ctrl-C raises KeyboardInterrupt
    at once, for a run that does not stop. With ``at_once=True`` the first signal raises it (after
    setting ``received``): for a process that only waits for its workers, with no step to finish.
    Outside the main thread it does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, at_once: bool = False):
        self.received, self.at_once, self._previous = None, at_once, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received == signal.SIGINT and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum
        if self.at_once:
            raise KeyboardInterrupt

    @property
    def name(self) -> str | None:
        return None if self.received is None else signal.Signals(self.received).name

    def __exit__(self, *exc_info):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False
