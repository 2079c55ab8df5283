"""Backoff delays, ``Retry-After`` parsing, the retry policy and the retry budget.

This is the only module that imports tenacity (``import tenacity as _t``): no
tenacity type appears in a signature or escapes as an exception. Delays are plain
numbers; the adapter core sleeps them on its own clock and re-raises the last real
marketplace error when retries run out.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import tenacity as _t
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from safe_release._clock import Clock, SystemClock
from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    import random

    from typing_extensions import Self

__all__ = [
    "MAX_RETRY_AFTER",
    "ROUNDED_FLOOR",
    "RetryBudget",
    "RetryPolicy",
    "full_jitter",
    "parse_retry_after",
    "retry_delay",
    "seconds",
    "unround_retry_after",
]

MAX_RETRY_AFTER = 86_400.0
"""A ``Retry-After`` further away than a day is treated as garbage."""

ROUNDED_FLOOR = 0.02
"""The shortest pause an integer ``Retry-After: 1`` stands for (see `unround_retry_after`)."""

_WHOLE_SECONDS = re.compile(r"\s*[0-9]{1,12}\s*")
_DELTA_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
_MAX_HEADER = 64  # longer than any delta-seconds or IMF-fixdate: not worth parsing
_RETRYING = _t.Retrying()  # only the owner of the RetryCallState we build; never run


def seconds(value: float | timedelta, what: str, *, zero: bool = False) -> float:
    """``value`` as finite seconds > 0 (>= 0 with ``zero=True``), else `InvalidArgumentError`."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{what} must be a number of seconds or a timedelta, not {type(value).__name__}"
        raise InvalidArgumentError(msg)
    low_ok = value >= 0 if zero else value > 0
    if not (math.isfinite(value) and low_ok):
        bound = ">= 0" if zero else "> 0"
        msg = f"{what} must be a finite number of seconds {bound}, not {value!r}"
        raise InvalidArgumentError(msg)
    return float(value)


class _SeededFullJitter(_t.wait_random_exponential):
    """tenacity's full jitter, drawing from a given `random.Random` (for reproducible tests)."""

    def __init__(self, *, base: float, cap: float, rng: random.Random) -> None:
        super().__init__(multiplier=base, max=cap)
        self._rng = rng

    def __call__(self, retry_state: _t.RetryCallState) -> float:
        high = _t.wait_exponential.__call__(self, retry_state)
        return self._rng.uniform(0.0, high)


def _attempt_state(attempt: int) -> _t.RetryCallState:
    state = _t.RetryCallState(retry_object=_RETRYING, fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    return state


def full_jitter(
    attempt: int,
    *,
    base: float | timedelta,
    cap: float | timedelta,
    rng: random.Random | None = None,
) -> float:
    """A delay drawn uniformly from ``[0, min(cap, base * 2 ** (attempt - 1))]``.

    "Full jitter" (AWS Architecture Blog): callers that failed together spread
    out instead of retrying in lock-step. ``attempt`` counts from 1 (the delay
    after the first failed attempt). Pass ``rng`` for reproducible delays.
    """
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        msg = f"attempt must be a whole number >= 1 (1 = after the first try), not {attempt!r}"
        raise InvalidArgumentError(msg)
    low, high = seconds(base, "base"), seconds(cap, "cap")
    if rng is None:
        wait: _t.wait_random_exponential = _t.wait_random_exponential(multiplier=low, max=high)
    else:
        wait = _SeededFullJitter(base=low, cap=high, rng=rng)
    return float(wait(_attempt_state(attempt)))


def retry_delay(
    attempt: int,
    *,
    base: float | timedelta,
    cap: float | timedelta,
    hint: float | None,
    rng: random.Random | None = None,
) -> float:
    """How long to wait before retry number ``attempt``.

    A server hint (``Retry-After``, a replenish time) is a floor: the delay is
    ``max(hint, full_jitter(...))``, so it may exceed ``cap`` only by following
    the server. A negative or non-finite hint is ignored (as if ``None``).
    """
    delay = full_jitter(attempt, base=base, cap=cap, rng=rng)
    if hint is None or isinstance(hint, bool) or not math.isfinite(hint) or hint < 0:
        return delay
    return min(max(float(hint), delay), max(seconds(cap, "cap"), float(hint)))


def parse_retry_after(value: str | None, now_wall: float) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or ``None`` if unusable.

    Accepts delta-seconds (``"5"``, and ``"0.5"`` although the RFC wants an
    integer) and an HTTP-date, compared with ``now_wall`` (seconds since the
    epoch; a date in the past means "now", 0.0). Garbage, negative numbers,
    NaN and anything more than a day away give ``None``: the caller falls back
    to its own backoff.
    """
    if not isinstance(value, str) or len(value) > _MAX_HEADER:
        return None
    text = value.strip()
    delay = float(text) if _DELTA_SECONDS.fullmatch(text) else _http_date_delay(text, now_wall)
    if delay is None or not 0.0 <= delay <= MAX_RETRY_AFTER:
        return None
    return delay


def unround_retry_after(header: str | None, parsed: float | None, *, gap: float) -> float | None:
    """The wait an integer ``Retry-After: 1`` stands for: "under a second".

    Delta-seconds are integers, so servers round a wait up: ``1`` stands for
    anything in ``(0, 1]``, most often one token gap (25 ms at 40/s). It gives one
    token gap of the operation (``gap``: one over its declared rate), between
    `ROUNDED_FLOOR` and 1 s; a 429 that follows simply pauses again. A larger
    integer ``n`` is honoured in full (rounding costs at most ``1/n`` of it); a
    decimal, an HTTP date or a value the adapter did not read from this header
    comes back as ``parsed``.
    """
    if parsed != 1.0 or not isinstance(header, str) or not _WHOLE_SECONDS.fullmatch(header):
        return parsed
    if float(header) != parsed:
        return parsed
    return min(1.0, max(gap, ROUNDED_FLOOR))


def _http_date_delay(text: str, now_wall: float) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=timezone.utc)
    try:
        delay = (when - datetime.fromtimestamp(now_wall, tz=timezone.utc)).total_seconds()
    except (OverflowError, OSError, ValueError):
        return None
    return max(delay, 0.0)


class RetryPolicy(BaseModel):
    """How an adapter retries: attempts, deadline, backoff and the retry budget.

    Durations are seconds (a number or a `datetime.timedelta`). Bad values raise
    `InvalidArgumentError`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    max_attempts: int = Field(default=6, ge=1, description="tries per call, the first included")
    deadline: float = Field(default=120.0, gt=0, description="seconds per call, retries included")
    base: float = Field(default=0.25, gt=0, description="backoff window after the first failure")
    cap: float = Field(default=30.0, gt=0, description="largest backoff window")
    budget_ratio: float = Field(
        default=0.2, ge=0, le=1, description="retries at most this share of requests"
    )
    budget_window: float = Field(default=60.0, gt=0, description="seconds the budget looks back")
    budget_min_per_window: int = Field(
        default=10, ge=0, description="retries always allowed per window, however quiet"
    )

    def __init__(
        self,
        *,
        max_attempts: int = 6,
        deadline: float | timedelta = 120.0,
        base: float | timedelta = 0.25,
        cap: float | timedelta = 30.0,
        budget_ratio: float = 0.2,
        budget_window: float | timedelta = 60.0,
        budget_min_per_window: int = 10,
    ) -> None:
        try:
            super().__init__(
                max_attempts=max_attempts,
                deadline=deadline,
                base=base,
                cap=cap,
                budget_ratio=budget_ratio,
                budget_window=budget_window,
                budget_min_per_window=budget_min_per_window,
            )
        except ValidationError as exc:
            raise _invalid_policy(exc) from exc

    @field_validator("deadline", "base", "cap", "budget_window", mode="before")
    @classmethod
    def _timedelta_to_seconds(cls, value: Any) -> Any:
        return value.total_seconds() if isinstance(value, timedelta) else value

    @model_validator(mode="after")
    def _cap_not_below_base(self) -> Self:
        if self.cap < self.base:
            msg = (
                f"cap={self.cap:g} is below base={self.base:g}; the largest backoff "
                "window must be at least the first one"
            )
            raise ValueError(msg)
        return self

    def __repr__(self) -> str:
        return (
            f"<RetryPolicy {self.max_attempts} attempts within {self.deadline:g}s, "
            f"backoff {self.base:g}..{self.cap:g}s, budget {self.budget_ratio:.0%} "
            f"(min {self.budget_min_per_window}) per {self.budget_window:g}s>"
        )


def _invalid_policy(exc: ValidationError) -> InvalidArgumentError:
    listed = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '$'}: {err['msg']}" for err in exc.errors()
    )
    return InvalidArgumentError(
        f"invalid RetryPolicy: {listed}; durations are seconds (a number or a timedelta) "
        "and counts are whole numbers"
    )


class RetryBudget:
    """Caps retries at a share of requests over a sliding window (thread-safe).

    Call `record_request` once per call (its first attempt) and `try_spend`
    before each retry: over the last ``policy.budget_window`` seconds, retries
    stay within ``max(budget_min_per_window, budget_ratio * requests)``. When a
    marketplace fails for everyone, retries stop adding load to it.
    """

    def __init__(self, policy: RetryPolicy | None = None, clock: Clock | None = None) -> None:
        self._policy = policy if policy is not None else RetryPolicy()
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.Lock()
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()

    def record_request(self) -> None:
        """Count one call (its first attempt) in the window."""
        with self._lock:
            now = self._clock.monotonic()
            self._prune(now)
            self._requests.append(now)

    def try_spend(self) -> bool:
        """Whether a retry may be sent now; if so it is counted against the budget."""
        with self._lock:
            now = self._clock.monotonic()
            self._prune(now)
            if len(self._retries) + 1 > self._allowance():
                return False
            self._retries.append(now)
            return True

    def _allowance(self) -> float:
        policy = self._policy
        return max(float(policy.budget_min_per_window), policy.budget_ratio * len(self._requests))

    def _prune(self, now: float) -> None:
        horizon = now - self._policy.budget_window
        for stamps in (self._requests, self._retries):
            while stamps and stamps[0] <= horizon:
                stamps.popleft()

    def __repr__(self) -> str:
        with self._lock:
            self._prune(self._clock.monotonic())
            retries, allowed = len(self._retries), self._allowance()
            requests = len(self._requests)
        return (
            f"<RetryBudget {retries}/{allowed:g} retries for {requests} requests "
            f"in {self._policy.budget_window:g}s>"
        )
