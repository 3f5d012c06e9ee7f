"""Rate limits for log lines a client can cause in bulk (auth failures, cancelled and refused RPCs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from registry_server.metrics import count_suppressed_log_lines


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0


class LogRateLimit:
    """Allows `per_window` lines per key every `window_s` seconds; counts the lines it leaves out.

    The first line allowed after some were left out says how many, so nothing goes unaccounted for.
    """

    def __init__(
        self,
        kind: str,
        per_window: int = 10,
        window_s: float = 10.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kind = kind
        self._per_window = per_window
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def admit(self, key: str) -> int | None:
        """None when this line must be left out; else how many lines for `key` were left out before it."""
        now = self._clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= self._window_s:
            carried = window.suppressed if window else 0
            window = self._start(key, now)
            window.logged = 1
            return carried
        if window.logged < self._per_window:
            window.logged += 1
            return 0
        window.suppressed += 1
        count_suppressed_log_lines(self._kind, 1)
        return None

    def _start(self, key: str, now: float) -> _Window:
        if len(self._windows) >= self._max_keys:  # many peers: forget the windows that have ended
            self._windows = {k: w for k, w in self._windows.items() if now - w.started < self._window_s}
            if len(self._windows) >= self._max_keys:
                self._windows.clear()
        window = self._windows[key] = _Window(now)
        return window
