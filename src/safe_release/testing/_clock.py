"""``FakeClock``: time that only moves when a test says so."""

from __future__ import annotations

import threading
from datetime import timedelta

from safe_release.exceptions import InvalidArgumentError

__all__ = ["FakeClock"]

_EPOCH_2026 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakeClock:
    """A clock for tests: ``sleep`` and ``advance`` move time instantly.

    ``monotonic`` starts at 0, ``time`` at ``start`` (seconds since the epoch);
    both move together. Safe to share between threads.
    """

    def __init__(self, start: float = _EPOCH_2026) -> None:
        self._lock = threading.Lock()
        self._elapsed = 0.0
        self._start = float(start)
        self.slept: list[float] = []

    def monotonic(self) -> float:
        """Seconds since the clock was created (fake)."""
        return self._elapsed

    def time(self) -> float:
        """Seconds since the epoch (fake)."""
        return self._start + self._elapsed

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance time by ``seconds`` at once."""
        self.advance(seconds)
        self.slept.append(float(seconds))

    def advance(self, seconds: float | timedelta) -> None:
        """Move time forward by ``seconds``."""
        value = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if value < 0:
            msg = f"a FakeClock only moves forward; advance({value}) is negative"
            raise InvalidArgumentError(msg)
        with self._lock:
            self._elapsed += value

    def __repr__(self) -> str:
        return f"<FakeClock t={self._elapsed:.3f}s>"
