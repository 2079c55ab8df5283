"""Fault injection for `FakeWalmart`: errors, latency, outages, storms, lost and odd answers."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._walmart._wm_buckets import check_operation

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["FakeWalmartFaults"]


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


def _count(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        msg = f"times must be a whole number >= 1, not {times!r}"
        raise InvalidArgumentError(msg)
    return times


class FakeWalmartFaults:
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set ``error_rate`` (share of calls answered 500 ``SYSTEM_ERROR.GMP_GATEWAY_API``),
    ``latency`` (seconds each request takes, on the fake clock),
    ``token_endpoint_throttled`` (``POST /v3/token`` answers 429),
    ``single_error_object`` (every error body's ``errors.error`` is one object, not a
    list) and ``garbage_replenish_headers`` (the replenish headers go missing, garbled
    or negative, in turn) directly; call the methods for the rest. `clear` turns
    everything off.
    """

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)  # noqa: S311 - test faults, not cryptography
        self._error_rate = self._storm = self._latency = 0.0
        self.token_endpoint_throttled = False
        """When true, ``POST /v3/token`` answers 429 REQUEST_THRESHOLD_VIOLATED."""
        self.single_error_object = False
        """When true, error bodies are ``{"errors": {"error": {...}}}`` (XML-converted JSON)."""
        self.garbage_replenish_headers = False
        """When true, answers cycle: no replenish headers, garbage values, negative values."""
        self.outages: list[tuple[float, float]] = []
        self.revocations = 0
        self._pending: dict[str, Counter[str]] = {
            kind: Counter() for kind in ("ambiguous", "garbage", "timeout", "xml")
        }
        self._failing: set[str] = set()

    @property
    def error_rate(self) -> float:
        """Share of calls (after auth and quota) answered 500 SYSTEM_ERROR."""
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
        """Answer 429 with ``probability`` even when the bucket has tokens."""
        self._storm = _probability(probability, what="faults.throttle_storm(probability)")

    def outage(self, start: float | datetime, end: float | datetime) -> None:
        """Answer 503 without a body while ``start <= clock.time() < end``."""
        begin, finish = _epoch(start, what="outage start"), _epoch(end, what="outage end")
        if finish <= begin:
            msg = f"an outage must end after it starts (start={begin}, end={finish})"
            raise InvalidArgumentError(msg)
        self.outages.append((begin, finish))

    def in_outage(self, now: float) -> bool:
        """Whether ``now`` falls in an outage window."""
        return any(begin <= now < end for begin, end in self.outages)

    def revoke_auth(self) -> None:
        """Every access token issued so far gets 401 UNAUTHORIZED.GMP_GATEWAY_API."""
        self.revocations += 1

    def ambiguous_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` are processed, then the answer is lost.

        Only calls the operation answers 2xx count (a write is applied). The client
        sees `httpx.ReadTimeout` (through ``serve()``: the server hangs up).
        """
        self._pending["ambiguous"][check_operation(operation)] += _count(times)

    def garbage_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get a 502 HTML page, not applied."""
        self._pending["garbage"][check_operation(operation)] += _count(times)

    def downstream_timeout_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` are processed, then answered 504.

        Only calls the operation answers 2xx count (a write is applied); the answer
        is ``DOWNSTREAM_SYSTEM_TIME_OUT.GMP_GATEWAY_API``, an ambiguous write.
        """
        self._pending["timeout"][check_operation(operation)] += _count(times)

    def xml_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` answers of ``operation`` are XML even when JSON was asked for."""
        self._pending["xml"][check_operation(operation)] += _count(times)

    def fail_feed_items(self, skus: Iterable[str]) -> None:
        """Items of these SKUs in feeds submitted from now on end ``DATA_ERROR``."""
        wanted = [skus] if isinstance(skus, str) else list(skus)
        if not all(isinstance(sku, str) and sku for sku in wanted):
            msg = f"fail_feed_items needs SKU strings, not {skus!r}"
            raise InvalidArgumentError(msg)
        self._failing.update(wanted)

    @property
    def failing_skus(self) -> frozenset[str]:
        """The SKUs `fail_feed_items` named."""
        return frozenset(self._failing)

    def take(self, kind: str, operation: str) -> bool:
        """Consume one pending fault of ``kind`` for ``operation``."""
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
        self.token_endpoint_throttled = self.single_error_object = False
        self.garbage_replenish_headers = False
        self.outages.clear()
        for pending in self._pending.values():
            pending.clear()
        self._failing.clear()

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
                ("single_error_object", self.single_error_object),
                ("garbage_replenish_headers", self.garbage_replenish_headers),
                ("failing_skus", len(self._failing)),
            )
            if value
        ]
        return f"<FakeWalmartFaults {' '.join(active) or 'none'}>"
