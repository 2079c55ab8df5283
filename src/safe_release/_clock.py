"""The clock seam: real time in production, a fake clock in tests."""

from __future__ import annotations

import time as _time
from datetime import datetime, timezone
from typing import Protocol, overload, runtime_checkable

__all__ = ["Clock", "SystemClock", "as_utc", "utc_now"]


@runtime_checkable
class Clock(Protocol):
    """What safe_release needs from a clock.

    ``monotonic`` measures intervals (cache staleness, pacing), ``time`` stamps
    records (seconds since the epoch), ``sleep`` waits.
    """

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...  # pragma: no cover

    def time(self) -> float:
        """Seconds since the Unix epoch."""
        ...  # pragma: no cover

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...  # pragma: no cover


class SystemClock:
    """The real clock (``time.monotonic``, ``time.time``, ``time.sleep``)."""

    __slots__ = ()

    monotonic = staticmethod(_time.monotonic)
    time = staticmethod(_time.time)
    sleep = staticmethod(_time.sleep)

    def __repr__(self) -> str:
        return "<SystemClock>"


def utc_now(clock: Clock) -> datetime:
    """``clock``'s time as an aware UTC datetime: how the store stamps its records."""
    return datetime.fromtimestamp(clock.time(), tz=timezone.utc)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored timestamp made aware: SQLite hands back naive datetimes (they are UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)
