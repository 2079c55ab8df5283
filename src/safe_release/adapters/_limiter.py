"""Rate limiting: token buckets and daily budgets per key, behind one `LimiterBackend`.

The pure math on a `Bucket` (`reserve`, `penalize`, `reward`, `hint`, `replenish`,
`snapshot`) is written once, in `safe_release.adapters._bucket`, and that on a daily
budget's `Window` in `safe_release.adapters._quota`; a backend only loads a bucket
or window, applies one step and stores the result atomically
(`BucketLimiterBase._transact`, `BucketLimiterBase._transact_window`).
`MemoryLimiter` keeps them in this process; `StoreLimiter` and `RedisLimiter`
share them between processes.
"""

from __future__ import annotations

import abc
import logging
import math
import threading
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from safe_release._store import KEY_LENGTH
from safe_release.adapters import _quota
from safe_release.adapters._bucket import (
    MAX_HINT_SECONDS,
    PROBE_AFTER,
    Bucket,
    BucketState,
    Initial,
    Reservation,
    ceiling_of,
    hint,
    hint_band,
    hinted_ceiling,
    learned,
    max_pause,
    normalize,
    penalize,
    refund,
    repair,
    replenish,
    reserve,
    reward,
    snapshot,
)
from safe_release.adapters._operation import Limit
from safe_release.adapters._quota import (
    BudgetState,
    Daily,
    Spend,
    Window,
    check_count,
    check_daily,
    check_reset,
)
from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "KEY_MAX_LENGTH",
    "Bucket",
    "BucketLimiterBase",
    "BucketState",
    "BudgetState",
    "Daily",
    "Initial",
    "LimiterBackend",
    "MemoryLimiter",
    "Reservation",
    "Spend",
    "Window",
]

T = TypeVar("T")
log = logging.getLogger("safe_release.adapters")

KEY_MAX_LENGTH = KEY_LENGTH


@runtime_checkable
class LimiterBackend(Protocol):
    """Where token buckets live: in-process, in the store, or in Redis."""

    def reserve(self, key: str, limit: Limit, now: float) -> Reservation:
        """Take the next slot of ``key``'s bucket (``now``: ``clock.time()``, read just before).

        ``limit`` is the declared limit; the backend keeps each key's current rate.
        """
        ...  # pragma: no cover

    def epoch(self, key: str) -> int:
        """The bucket's epoch; it changes when reservations made before are void."""
        ...  # pragma: no cover

    def penalize(self, key: str, limit: Limit, now: float, *, retry_after: float | None) -> None:
        """A 429: drain and pause the bucket and lower its rate."""
        ...  # pragma: no cover

    def reward(self, key: str, limit: Limit, now: float) -> None:
        """A success: recover the rate a step toward the ceiling."""
        ...  # pragma: no cover

    def hint(self, key: str, limit: Limit, rate: float, now: float) -> None:
        """The server's rate becomes the ceiling."""
        ...  # pragma: no cover

    def replenish(self, key: str, limit: Limit, tokens: float, next_at: float, now: float) -> None:
        """The server has ``tokens`` left and refills at ``next_at``."""
        ...  # pragma: no cover

    def state(self, key: str, limit: Limit, now: float) -> BucketState:
        """The bucket as it stands at ``now``."""
        ...  # pragma: no cover

    def refund(self, key: str, limit: Limit, reservation: Reservation, now: float) -> None:
        """Give back a reserved slot that will not be used (the caller gave up)."""
        ...  # pragma: no cover

    def spend(
        self, key: str, daily: Daily, reset_at: float, now: float, *, count: int = 1
    ) -> Spend:
        """Take ``count`` calls from ``key``'s daily budget, or none if they do not fit.

        ``reset_at`` is when the current window ends (used for a key never seen).
        """
        ...  # pragma: no cover

    def give_back(
        self, key: str, daily: Daily, count: int, now: float, *, reset_at: float | None = None
    ) -> None:
        """Return calls taken by `spend` but never sent (``reset_at``: the spend's)."""
        ...  # pragma: no cover

    def exhausted(self, key: str, daily: Daily, reset_at: float, now: float) -> None:
        """The server says the budget is spent: refuse until the window ends."""
        ...  # pragma: no cover

    def sync_budget(
        self, key: str, daily: Daily, *, limit: int, remaining: int, reset_at: float, now: float
    ) -> None:
        """The server's figures for the budget: its limit, calls remaining, window end."""
        ...  # pragma: no cover

    def budget(self, key: str, daily: Daily, reset_at: float, now: float) -> BudgetState:
        """The budget as it stands at ``now``."""
        ...  # pragma: no cover


# -- argument checks -------------------------------------------------------------------


def check_key(key: object) -> str:
    """A quota key: a non-empty string of reasonable length."""
    if not isinstance(key, str) or not key or len(key) > KEY_MAX_LENGTH:
        shown = key if not isinstance(key, str) else f"a string of {len(key)} characters"
        msg = (
            f"a rate-limit key must be a non-empty string of at most {KEY_MAX_LENGTH} "
            f"characters, not {shown!r}; build it from operation, seller, app and region"
        )
        raise InvalidArgumentError(msg)
    return key


def check_limit(limit: object) -> Limit:
    """A `Limit` with a positive finite rate and a burst >= 1."""
    if not isinstance(limit, tuple) or len(limit) != 2:  # noqa: PLR2004 - (rate, burst)
        msg = f"limit must be a Limit(rate, burst), not {type(limit).__name__}"
        raise InvalidArgumentError(msg)
    return Limit.checked(limit[0], limit[1])


def check_time(value: object, what: str = "now") -> float:
    """A finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        msg = f"{what} must be a finite number of seconds (clock.time()), not {value!r}"
        raise InvalidArgumentError(msg)
    return float(value)


def check_hint(value: object, what: str) -> float:
    """A server-sent number: wrong types are refused, non-finite values pass (ignored later)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{what} must be a number or None, not {type(value).__name__}"
        raise InvalidArgumentError(msg)
    return float(value)


def check_initial(initial: object) -> Initial:
    """``'full'`` or ``'empty'``."""
    if initial == "full":
        return "full"
    if initial == "empty":
        return "empty"
    msg = f"initial must be 'full' or 'empty', not {initial!r}"
    raise InvalidArgumentError(msg)


# -- backends ------------------------------------------------------------------------


class BucketLimiterBase(abc.ABC):
    """The public limiter API over one atomic load-step-store primitive.

    The last bucket each process saw is remembered so that rewards at the
    ceiling and repeated hints cost no round trip to shared storage.
    """

    def __init__(self, *, initial: Initial = "full") -> None:
        self._initial: Initial = check_initial(initial)
        self._seen: dict[str, Bucket] = {}
        self._warned: set[tuple[str, str]] = set()
        self._warned_lock = threading.Lock()

    @property
    def initial(self) -> Initial:
        """Whether a key seen for the first time starts with a full or empty bucket."""
        return self._initial

    @abc.abstractmethod
    def _transact(
        self, key: str, limit: Limit, now: float, step: Callable[[Bucket], tuple[Bucket, T]]
    ) -> T:
        """Atomically load ``key`` (or `_fresh`), apply ``step``, store the bucket it returns."""

    @abc.abstractmethod
    def _load(self, key: str) -> Bucket | None:
        """The stored bucket, if any (no lock)."""

    def _fresh(self, limit: Limit, now: float) -> Bucket:
        return Bucket.new(limit, now, self._initial)

    def _run(self, key: str, limit: Limit, now: float, step: Callable[[Bucket], Bucket]) -> None:
        self._apply(key, limit, now, lambda b: (step(b), None))

    def _apply(
        self, key: str, limit: Limit, now: float, step: Callable[[Bucket], tuple[Bucket, T]]
    ) -> T:
        def recorded(b: Bucket) -> tuple[Bucket, T]:
            if repair(b, limit, now, self._initial) is not b:
                self._warn_once(
                    key,
                    "stored",
                    "the stored bucket for %s held numbers out of bounds (%r); it was repaired",
                    key,
                    b,
                )
            new, out = step(normalize(b, limit, now, self._initial))
            self._seen[key] = new
            return new, out

        return self._transact(key, limit, now, recorded)

    def _warn_once(self, key: str, kind: str, msg: str, *args: object) -> None:
        """Log a warning the first time ``kind`` happens for ``key`` in this limiter."""
        with self._warned_lock:
            if (key, kind) in self._warned:
                return
            self._warned.add((key, kind))
        log.warning(msg, *args)

    def reserve(self, key: str, limit: Limit, now: float) -> Reservation:
        """Take the next slot of ``key``'s bucket; ``delay`` says how long to wait."""
        key, limit, now = check_key(key), check_limit(limit), check_time(now)
        return self._apply(key, limit, now, lambda b: reserve(b, limit, now))

    def refund(self, key: str, limit: Limit, reservation: Reservation, now: float) -> None:
        """Give back a reserved slot the caller will not use."""
        key, limit, now = check_key(key), check_limit(limit), check_time(now)
        self._run(key, limit, now, lambda b: refund(b, reservation, now))

    def epoch(self, key: str) -> int:
        """The bucket's epoch (0 for a key never seen)."""
        bucket = self._load(check_key(key))
        return 0 if bucket is None else bucket.epoch

    def penalize(self, key: str, limit: Limit, now: float, *, retry_after: float | None) -> None:
        """A 429: drain, pause and slow the bucket; garbage ``retry_after`` is ignored."""
        key, limit, now = check_key(key), check_limit(limit), check_time(now)
        wait = None if retry_after is None else check_hint(retry_after, "retry_after")
        if wait is not None and max_pause(limit) < wait <= MAX_HINT_SECONDS:
            self._warn_once(
                key,
                "pause",
                "%s: the server asked for a %g s pause; pausing the %g s ceiling instead",
                key,
                wait,
                max_pause(limit),
            )
        self._run(key, limit, now, lambda b: penalize(b, limit, now, wait))

    def reward(self, key: str, limit: Limit, now: float) -> None:
        """A success: recover the rate a step toward the ceiling."""
        key, limit, now = check_key(key), check_limit(limit), check_time(now)
        seen = self._seen.get(key)
        if (
            seen is not None
            and seen.rate >= ceiling_of(seen, limit)
            and (not learned(seen) or now - seen.paused_until < PROBE_AFTER)
        ):
            return
        self._run(key, limit, now, lambda b: reward(b, limit, now))

    def hint(self, key: str, limit: Limit, rate: float, now: float) -> None:
        """The server's rate becomes the ceiling; non-positive or non-finite is ignored."""
        key, limit, now = check_key(key), check_limit(limit), check_time(now)
        rate = check_hint(rate, "rate")
        if not (math.isfinite(rate) and rate > 0):
            return
        ceiling, seen = hinted_ceiling(rate, limit), self._seen.get(key)
        if seen is not None and seen.ceiling == ceiling:
            return
        if abs(ceiling) != rate:
            low, high = hint_band(limit)
            self._warn_once(
                key,
                "hint",
                "%s: the server's rate hint %g/s is outside "
                "[%g, %g]/s around the declared %g/s; using %g/s",
                key,
                rate,
                low,
                high,
                limit.rate,
                abs(ceiling),
            )
        self._run(key, limit, now, lambda b: hint(b, limit, rate, now))

    def replenish(self, key: str, limit: Limit, tokens: float, next_at: float, now: float) -> None:
        """The server has ``tokens`` left and refills at ``next_at`` (garbage is ignored)."""
        key, limit, now = check_key(key), check_limit(limit), check_time(now)
        tokens, next_at = check_hint(tokens, "tokens"), check_hint(next_at, "next_at")
        if now + max_pause(limit) < next_at <= now + MAX_HINT_SECONDS:
            self._warn_once(
                key,
                "pause",
                "%s: the server's next refill is %g s away; waiting the %g s ceiling instead",
                key,
                next_at - now,
                max_pause(limit),
            )
        self._run(key, limit, now, lambda b: replenish(b, limit, tokens, next_at, now))

    def state(self, key: str, limit: Limit, now: float) -> BucketState:
        """The bucket as it stands at ``now`` (a key never seen: as it would start)."""
        key, limit, now = check_key(key), check_limit(limit), check_time(now)
        bucket = self._load(key) or self._fresh(limit, now)
        return snapshot(key, normalize(bucket, limit, now, self._initial), limit, now)

    # -- daily budgets -----------------------------------------------------------

    @abc.abstractmethod
    def _transact_window(
        self,
        key: str,
        fresh: Window | None,
        now: float,
        step: Callable[[Window | None], tuple[Window | None, T]],
    ) -> T:
        """Atomically load ``key``'s window (never seen: ``fresh``), apply ``step``...

        ...and store the window it returns, unless that is None or unchanged.
        """

    @abc.abstractmethod
    def _load_window(self, key: str) -> Window | None:
        """The stored window, if any (no lock)."""

    def _budget_step(
        self,
        key: str,
        daily: Daily,
        now: float,
        *,
        reset_at: float | None,
        step: Callable[[Window], tuple[Window, T]],
        default: T,
    ) -> T:
        """Run ``step`` on ``key``'s repaired window; ``default`` if there is none.

        ``reset_at`` None: a key never seen (or unreadable) is left alone.
        """
        fresh = None if reset_at is None else Window(used=0, reset_at=reset_at)

        def recorded(w: Window | None) -> tuple[Window | None, T]:
            fixed = None if w is None else _quota.repair(w, daily, now, reset_at)
            if w is not None and fixed is not w:
                self._warn_once(
                    key,
                    "window",
                    "the stored daily budget for %s held numbers out of bounds (%r); "
                    "it was repaired",
                    key,
                    w,
                )
            start = fixed or fresh
            return (None, default) if start is None else step(start)

        return self._transact_window(key, fresh, now, recorded)

    def spend(
        self, key: str, daily: Daily, reset_at: float, now: float, *, count: int = 1
    ) -> Spend:
        """Take ``count`` calls from ``key``'s daily budget, or none if they do not fit.

        A window whose end has passed starts again empty; ``reset_at`` (the end of
        the current window) starts a key never seen. Refused (``granted`` False,
        nothing taken) when ``used + count`` would exceed the limit: the server's
        once `sync_budget` set it, else ``daily.limit``.
        """
        key, daily, now = check_key(key), check_daily(daily), check_time(now)
        reset_at = check_reset(check_time(reset_at, "reset_at"), daily, now)
        count = check_count(count)
        refused = Spend(granted=False, used=0, limit=daily.limit, reset_at=reset_at)
        return self._budget_step(
            key,
            daily,
            now,
            reset_at=reset_at,
            step=lambda w: _quota.spend(w, daily, now, count),
            default=refused,
        )

    def give_back(
        self, key: str, daily: Daily, count: int, now: float, *, reset_at: float | None = None
    ) -> None:
        """Return ``count`` calls taken by `spend` but never sent.

        ``reset_at`` is the spend's (`Spend.reset_at`): calls taken from a window
        that has ended since are not given to the next one.
        """
        key, daily, now = check_key(key), check_daily(daily), check_time(now)
        count = check_count(count)
        if reset_at is not None:
            reset_at = check_time(reset_at, "reset_at")
        self._budget_step(
            key,
            daily,
            now,
            reset_at=None,
            step=lambda w: (_quota.give_back(w, daily, now, count, reset_at), None),
            default=None,
        )

    def exhausted(self, key: str, daily: Daily, reset_at: float, now: float) -> None:
        """The server says the budget is spent (eBay: 429 errorId 2001): refuse until it resets."""
        key, daily, now = check_key(key), check_daily(daily), check_time(now)
        reset_at = check_reset(check_time(reset_at, "reset_at"), daily, now)
        self._budget_step(
            key,
            daily,
            now,
            reset_at=reset_at,
            step=lambda w: (_quota.exhaust(w, daily, now), None),
            default=None,
        )

    def sync_budget(
        self, key: str, daily: Daily, *, limit: int, remaining: int, reset_at: float, now: float
    ) -> None:
        """Seed the budget from the server's figures (eBay: getRateLimits).

        The server's ``limit`` applies from now on, and its window end; the calls
        used are the larger of the local count (if the server's window is the one
        stored) and ``limit - remaining``.
        """
        key, daily, now = check_key(key), check_daily(daily), check_time(now)
        limit = check_count(limit, "limit", least=0)
        remaining = check_count(remaining, "remaining", least=0)
        reset_at = check_reset(check_time(reset_at, "reset_at"), daily, now)

        def step(w: Window) -> tuple[Window, None]:
            synced = _quota.sync(
                w, daily, now, limit=limit, remaining=remaining, reset_at=reset_at
            )
            return synced, None

        self._budget_step(key, daily, now, reset_at=reset_at, step=step, default=None)

    def budget(self, key: str, daily: Daily, reset_at: float, now: float) -> BudgetState:
        """The budget as it stands at ``now`` (a key never seen: unused, ends at ``reset_at``)."""
        key, daily, now = check_key(key), check_daily(daily), check_time(now)
        reset_at = check_reset(check_time(reset_at, "reset_at"), daily, now)
        stored = self._load_window(key)
        window = None if stored is None else _quota.repair(stored, daily, now, reset_at)
        return _quota.state(key, window or Window(used=0, reset_at=reset_at), daily, now)


class MemoryLimiter(BucketLimiterBase):
    """Token buckets and daily budgets in this process (the default); safe across threads."""

    def __init__(self, *, initial: Initial = "full") -> None:
        super().__init__(initial=initial)
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._windows: dict[str, Window] = {}

    def _transact(
        self, key: str, limit: Limit, now: float, step: Callable[[Bucket], tuple[Bucket, T]]
    ) -> T:
        with self._lock:
            new, out = step(self._buckets.get(key) or self._fresh(limit, now))
            self._buckets[key] = new
            return out

    def _load(self, key: str) -> Bucket | None:
        with self._lock:
            return self._buckets.get(key)

    def _transact_window(
        self,
        key: str,
        fresh: Window | None,
        now: float,
        step: Callable[[Window | None], tuple[Window | None, T]],
    ) -> T:
        del now
        with self._lock:
            new, out = step(self._windows.get(key, fresh))
            if new is not None:
                self._windows[key] = new
            return out

    def _load_window(self, key: str) -> Window | None:
        with self._lock:
            return self._windows.get(key)

    def __repr__(self) -> str:
        return f"<MemoryLimiter keys={len(self._buckets)} initial={self._initial!r}>"
