"""A circuit breaker: stop calling a marketplace that keeps failing, then probe it."""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import TYPE_CHECKING, Literal

from safe_release._backoff import seconds
from safe_release._clock import Clock, SystemClock
from safe_release.exceptions import CircuitOpenError, InvalidArgumentError

if TYPE_CHECKING:
    from datetime import timedelta

__all__ = ["BreakerState", "CircuitBreaker", "OutageMode"]

BreakerState = Literal["closed", "open", "half_open"]
OutageMode = Literal["fail_fast", "ride_out"]
RECOVERY = {"fail_fast": 30.0, "ride_out": 1.0}
"""The default ``recovery`` (seconds between probes) of each outage mode."""


class CircuitBreaker:
    """Opens after sustained server failures, then lets one probe through at a time.

    - **closed**: calls go through. `record_failure` (5xx and timeouts only, never
      429 or another 4xx) counts failures; ``failure_threshold`` of them within
      ``window`` seconds, with no success in between, open the circuit.
    - **open**: `before_call` raises `CircuitOpenError` without sending anything,
      until ``recovery`` seconds have passed.
    - **half_open**: exactly one caller (the probe) is let through; the others get
      `CircuitOpenError`. The probe's success closes the circuit, its failure opens
      it for another ``recovery`` seconds. A probe that never reports back is
      replaced after ``recovery`` seconds.

    Call `record_success` for every answer that is not a failure (a 2xx, but also
    a 4xx or 429: the server is up). Times are ``clock.monotonic()`` seconds;
    `CircuitOpenError.retry_at` is on that scale too. Thread-safe.

    ``outage`` is what an adapter's calls do while the circuit is open:

    - ``"fail_fast"`` (the default): raise `CircuitOpenError` (or the last real
      error) at once, so that a job in a release fails and trips its rollback.
      ``recovery`` defaults to 30 s.
    - ``"ride_out"``: wait behind the open circuit, within each call's deadline,
      and go on when a probe finds the marketplace back; failures while the
      circuit is open are not retried on their own (the probe does that for
      everybody). ``recovery`` defaults to 1 s, so the recovery is noticed within
      about a second.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        window: float | timedelta = 30.0,
        recovery: float | timedelta | None = None,
        clock: Clock | None = None,
        name: str = "",
        outage: OutageMode = "fail_fast",
    ) -> None:
        if (
            isinstance(failure_threshold, bool)
            or not isinstance(failure_threshold, int)
            or failure_threshold < 1
        ):
            msg = (
                "CircuitBreaker(failure_threshold=…) must be a whole number of failures "
                f">= 1, not {failure_threshold!r}"
            )
            raise InvalidArgumentError(msg)
        if outage not in RECOVERY:
            msg = f"CircuitBreaker(outage=…) must be 'fail_fast' or 'ride_out', not {outage!r}"
            raise InvalidArgumentError(msg)
        self._outage: OutageMode = outage
        self._threshold = failure_threshold
        self._window = seconds(window, "CircuitBreaker(window=…)")
        if recovery is None:
            recovery = RECOVERY[outage]
        self._recovery = seconds(recovery, "CircuitBreaker(recovery=…)")
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._name = name
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures: deque[float] = deque()
        self._retry_at = 0.0  # open: when the probe may go; half_open: when a lost probe expires
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half_open`` (open, and the probe may go now)."""
        with self._lock:
            now = self._clock.monotonic()
            if self._state == "open" and now >= self._retry_at:
                return "half_open"
            return self._state

    @property
    def outage(self) -> OutageMode:
        """``"fail_fast"`` or ``"ride_out"``: what calls do while the circuit is open."""
        return self._outage

    @property
    def rides_out(self) -> bool:
        """Whether calls wait behind an open circuit instead of failing."""
        return self._outage == "ride_out"

    def before_call(self, *, marketplace: str = "", operation: str = "") -> bool:
        """Return if a request may be sent now; raise `CircuitOpenError` if not.

        Returns True when the caller is the half-open circuit's probe.
        """
        with self._lock:
            now = self._clock.monotonic()
            if self._state == "closed":
                return False
            if self._state == "open" and now >= self._retry_at:
                self._state = "half_open"
                self._probing = False
            if self._state == "half_open" and (not self._probing or now >= self._retry_at):
                self._probing = True
                self._retry_at = now + self._recovery
                return True
            error = self._open_error(now, marketplace=marketplace, operation=operation)
        raise error

    def blocked(self) -> bool:
        """Whether a request other than the probe would be held now (no side effect)."""
        with self._lock:
            now = self._clock.monotonic()
            if self._state == "open":
                return now < self._retry_at
            return self._state == "half_open" and self._probing and now < self._retry_at

    def record_success(self) -> None:
        """The server answered: clear the failure streak, close a half-open circuit."""
        with self._lock:
            if self._state == "open":
                return  # a late answer to a call sent before the circuit opened
            self._state = "closed"
            self._failures.clear()
            self._probing = False

    def record_failure(self) -> None:
        """A 5xx or a timeout: count it; a failed probe re-opens the circuit."""
        with self._lock:
            now = self._clock.monotonic()
            if self._state == "half_open":
                self._trip(now)
                return
            if self._state == "open":
                return
            self._failures.append(now)
            while self._failures and self._failures[0] <= now - self._window:
                self._failures.popleft()
            if len(self._failures) >= self._threshold:
                self._trip(now)

    def trip(self, seconds: float) -> float:
        """Open the circuit at once for ``seconds`` (a declared outage); return ``retry_at``.

        For an answer that says the service is shut down (Lazada's campaign
        shutdown): no failures are counted first. An open circuit that would
        reopen later stays as it is. ``retry_at`` is on ``clock.monotonic()``.
        """
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not (math.isfinite(seconds) and seconds > 0)
        ):
            msg = f"CircuitBreaker.trip(seconds=…) must be a positive number, not {seconds!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            now = self._clock.monotonic()
            if self._state == "open" and self._retry_at >= now + seconds:
                return self._retry_at
            self._trip(now)
            self._retry_at = now + float(seconds)
            return self._retry_at

    def _trip(self, now: float) -> None:
        self._state = "open"
        self._retry_at = now + self._recovery
        self._failures.clear()
        self._probing = False

    def _open_error(self, now: float, *, marketplace: str, operation: str) -> CircuitOpenError:
        wait = max(self._retry_at - now, 0.0)
        who = f" for {self._name}" if self._name else ""
        if self._state == "half_open":
            head = (
                f"the circuit breaker{who} is half-open and its probe request is in flight; "
                "no request was sent. Retry once the probe answers (at the latest in "
                f"{wait:.1f} s)"
            )
        else:
            head = (
                f"the circuit breaker{who} is open after {self._threshold} server errors or "
                f"timeouts within {self._window:g} s; no request was sent. It lets one probe "
                f"through in {wait:.1f} s"
            )
        advice = (
            "; meanwhile check the marketplace's status page, your network and the "
            "adapter's base URL and region"
        )
        return CircuitOpenError(
            head + advice, marketplace=marketplace, operation=operation, retry_at=self._retry_at
        )

    def __repr__(self) -> str:
        with self._lock:
            now = self._clock.monotonic()
            state, failures, wait = self._state, len(self._failures), self._retry_at - now
        mode = "" if self._outage == "fail_fast" else " ride_out"
        if state == "closed":
            return f"<CircuitBreaker{mode} closed {failures}/{self._threshold} failures>"
        if state == "open" and wait > 0:
            return f"<CircuitBreaker{mode} open, probe in {wait:.1f}s>"
        return f"<CircuitBreaker{mode} half_open>"
