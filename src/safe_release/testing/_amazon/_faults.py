"""Fault injection for `FakeAmazon`: errors, latency, outages, throttle storms, lost answers."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from datetime import datetime, timedelta

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._amazon._buckets import check_operation

__all__ = ["FakeAmazonFaults"]


def _seconds(value: float | timedelta, *, what: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not (math.isfinite(seconds) and seconds >= 0)
    ):
        msg = f"{what} must be a non-negative number of seconds or a timedelta, not {value!r}"
        raise InvalidArgumentError(msg)
    return float(seconds)


def _probability(value: float, *, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        msg = f"{what} must be a probability between 0 and 1, not {value!r}"
        raise InvalidArgumentError(msg)
    return float(value)


def _epoch(value: float | datetime, *, what: str) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return _seconds(value, what=what)


class FakeAmazonFaults:
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set ``error_rate`` (share of SP-API calls answered 500 InternalFailure),
    ``latency`` (seconds each request takes, on the fake clock) and
    ``token_endpoint_throttled`` (LWA answers 429) directly; call the methods for
    the rest. `clear` turns everything off.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - test faults, not cryptography
        self._error_rate = 0.0
        self._storm = 0.0
        self._latency = 0.0
        self.token_endpoint_throttled = False
        """When true, ``POST /auth/o2/token`` answers 429."""
        self.outages: list[tuple[float, float]] = []
        self._ambiguous: Counter[str] = Counter()
        self._garbage: Counter[str] = Counter()
        self.revocations = 0

    @property
    def error_rate(self) -> float:
        """Share of SP-API calls (after auth and quota) answered 500 InternalFailure."""
        return self._error_rate

    @error_rate.setter
    def error_rate(self, value: float) -> None:
        self._error_rate = _probability(value, what="faults.error_rate")

    @property
    def latency(self) -> float:
        """Seconds every request takes; the fake clock advances by this much."""
        return self._latency

    @latency.setter
    def latency(self, value: float | timedelta) -> None:
        self._latency = _seconds(value, what="faults.latency")

    @property
    def storm(self) -> float:
        """The throttle-storm probability (0 when there is none)."""
        return self._storm

    def throttle_storm(self, probability: float) -> None:
        """Answer 429 QuotaExceeded with ``probability`` even when the bucket has tokens."""
        self._storm = _probability(probability, what="faults.throttle_storm(probability)")

    def outage(self, start: float | datetime, end: float | datetime) -> None:
        """Answer 503 to every SP-API call while ``start <= clock.time() < end``."""
        begin, finish = _epoch(start, what="outage start"), _epoch(end, what="outage end")
        if finish <= begin:
            msg = f"an outage must end after it starts (start={begin}, end={finish})"
            raise InvalidArgumentError(msg)
        self.outages.append((begin, finish))

    def in_outage(self, now: float) -> bool:
        """Whether ``now`` falls in an outage window."""
        return any(begin <= now < end for begin, end in self.outages)

    def revoke_auth(self) -> None:
        """Every access token issued so far gets 403 'revoked, malformed or invalid'."""
        self.revocations += 1

    def ambiguous_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` are processed, then the answer is lost.

        Only calls that get past auth, quota and validation count (those the
        operation answers 2xx). The client sees `httpx.ReadTimeout` (through
        ``serve()``: the server hangs up without an answer).
        """
        self._ambiguous[check_operation(operation)] += _count(times)

    def garbage_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get a 502 HTML page from the gateway."""
        self._garbage[check_operation(operation)] += _count(times)

    def take_ambiguous(self, operation: str) -> bool:
        """Consume one pending ambiguous fault for ``operation``."""
        return _take(self._ambiguous, operation)

    def take_garbage(self, operation: str) -> bool:
        """Consume one pending garbage fault for ``operation``."""
        return _take(self._garbage, operation)

    def roll_error(self) -> bool:
        """Draw whether this call fails with a 500."""
        return self._error_rate > 0 and self._draw() < self._error_rate

    def roll_storm(self) -> bool:
        """Draw whether this call is throttled by the storm."""
        return self._storm > 0 and self._draw() < self._storm

    def clear(self) -> None:
        """Turn every fault off (revoked tokens stay revoked)."""
        self._error_rate = self._storm = self._latency = 0.0
        self.token_endpoint_throttled = False
        self.outages.clear()
        self._ambiguous.clear()
        self._garbage.clear()

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def __repr__(self) -> str:
        active = [
            f"{name}={value}"
            for name, value in (
                ("error_rate", self._error_rate),
                ("latency", self._latency),
                ("storm", self._storm),
                ("outages", len(self.outages)),
                ("token_endpoint_throttled", self.token_endpoint_throttled),
            )
            if value
        ]
        return f"<FakeAmazonFaults {' '.join(active) or 'none'}>"


def _count(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        msg = f"times must be a whole number >= 1, not {times!r}"
        raise InvalidArgumentError(msg)
    return times


def _take(pending: Counter[str], operation: str) -> bool:
    if pending[operation] <= 0:
        return False
    pending[operation] -= 1
    return True
