"""Fault injection for `FakeEbay`: errors, latency, outages, storms, lost and garbled answers."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from datetime import datetime, timedelta

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._ebay._ebay_routes import check_operation

__all__ = ["FakeEbayFaults"]


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
    return value.timestamp() if isinstance(value, datetime) else _seconds(value, what=what)


def _count(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        msg = f"times must be a whole number >= 1, not {times!r}"
        raise InvalidArgumentError(msg)
    return times


class FakeEbayFaults:
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set ``error_rate`` (share of API calls answered with the API's 500 system
    error), ``latency`` (seconds each request takes, on the fake clock) and
    ``token_endpoint_throttled`` (the token endpoint answers 429) directly; call
    the methods for the rest. `clear` turns everything off.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"ebay-faults-{seed}")  # noqa: S311 - not cryptography
        self._error_rate = self._storm = self._latency = 0.0
        self.token_endpoint_throttled = False
        """When true, ``POST /identity/v1/oauth2/token`` answers 429 with an errors[] body."""
        self.outages: list[tuple[float, float, bool]] = []
        self._pending: dict[str, Counter[str]] = {
            "ambiguous": Counter(),
            "garbage": Counter(),
            "concurrent": Counter(),
        }
        self.revocations = 0

    @property
    def error_rate(self) -> float:
        """Share of API calls (after auth and quota) answered 500 (25001, 30500, 105000)."""
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
        """Answer 429 errorId 2001 with ``probability`` even with quota left (not counted)."""
        self._storm = _probability(probability, what="faults.throttle_storm(probability)")

    def outage(
        self, start: float | datetime, end: float | datetime, *, system_error: bool = False
    ) -> None:
        """While ``start <= clock.time() < end`` every API call fails.

        By default the edge answers 503 with an HTML page; with ``system_error``
        the API answers its own 500 (errorId 25001 on Inventory, 30500 on
        Fulfillment, 105000 on Analytics).
        """
        begin, finish = _epoch(start, what="outage start"), _epoch(end, what="outage end")
        if finish <= begin:
            msg = f"an outage must end after it starts (start={begin}, end={finish})"
            raise InvalidArgumentError(msg)
        self.outages.append((begin, finish, system_error))

    def outage_at(self, now: float) -> bool | None:
        """``None`` outside an outage; else whether it answers a system error."""
        return next((kind for begin, end, kind in self.outages if begin <= now < end), None)

    def revoke_auth(self) -> None:
        """Every access token issued so far is invalid (403 1100 on Inventory, else 401 1001)."""
        self.revocations += 1

    def ambiguous_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` 2xx answers of ``operation`` are lost after the write applied.

        The client sees `httpx.ReadTimeout` (through ``serve()``: the server
        hangs up without an answer).
        """
        self._pending["ambiguous"][check_operation(operation)] += _count(times)

    def garbage_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get a 502 HTML page from the edge."""
        self._pending["garbage"][check_operation(operation)] += _count(times)

    def concurrent_access_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get 500 errorId 25025, not applied."""
        self._pending["concurrent"][check_operation(operation)] += _count(times)

    def take(self, kind: str, operation: str) -> bool:
        """Consume one pending fault (ambiguous, garbage, concurrent) for ``operation``."""
        pending = self._pending[kind]
        if pending[operation] <= 0:
            return False
        pending[operation] -= 1
        return True

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
        for pending in self._pending.values():
            pending.clear()

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
        return f"<FakeEbayFaults {' '.join(active) or 'none'}>"
