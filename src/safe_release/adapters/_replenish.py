"""The refill rate that a server's replenish headers reveal (Walmart's bucket headers).

Walmart says how many tokens are left (``x-current-token-count``) and when the
next one comes (``x-next-replenish-time``), not how fast they come. While the
bucket is drained, the answers name successive refill times; the shortest step
between two different ones is one refill interval (a longer step spans several).
`RefillRates` turns those steps into a rate the adapter can pace at, so that an
account whose real quota is below the declared one is paced by the headers
instead of by 429s.

The estimate only ever lowers the pace: a step can span several refills, and
the server rounds its times to the millisecond, so an estimate near the
declared rate is taken as agreement, and one above it is ignored. A low
estimate is withdrawn (the declared rate restored) once the steps say so.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

__all__ = ["AGREE", "STEPS", "RefillRates"]

STEPS = 8
"""Refill steps remembered per quota key (the shortest one is the interval)."""
MIN_STEPS = 2
"""Steps needed before the estimate is used."""
AGREE = 0.9
"""An estimate at or above this share of the declared rate agrees with it."""
_NOISE = 1e-3
"""Steps shorter than this (seconds) are the same refill time, rounded differently."""


@dataclass
class _Trail:
    last: float | None = None
    steps: deque[float] = field(default_factory=lambda: deque(maxlen=STEPS))
    lowered: bool = False


class RefillRates:
    """Refill steps seen per quota key, in this process; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trails: dict[str, _Trail] = {}

    def observe(self, key: str, tokens: float, next_at: float, declared: float) -> float | None:
        """Record one answer's headers; the rate to pace ``key`` at, if it should change.

        Returns the estimate while it is clearly below ``declared``, ``declared``
        once an earlier low estimate no longer holds, else None.
        """
        with self._lock:
            trail = self._trails.setdefault(key, _Trail())
            if tokens >= 1:
                trail.last = None  # not drained: the next refill time says nothing
                return None
            if trail.last is not None and next_at - trail.last > _NOISE:
                trail.steps.append(next_at - trail.last)
            if trail.last is None or next_at > trail.last:
                trail.last = next_at
            if len(trail.steps) < MIN_STEPS:
                return None
            rate = 1.0 / min(trail.steps)
            if rate < AGREE * declared:
                trail.lowered = True
                return rate
            if trail.lowered:
                trail.lowered = False
                return declared
            return None
