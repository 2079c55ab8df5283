"""Daily budgets: the pure math of a call-count window, shared by every limiter backend.

A `Daily` budget allows ``limit`` calls per window (a day, by default) to one
resource. Its stored state is a `Window`: the calls ``used`` in the current
window, when the window ends (``reset_at``, wall-clock seconds) and the limit the
server reported (``limit``, None until `sync`). `spend`, `give_back`,
`exhaust` and `sync` each take a window and return the next one; a backend
loads and stores it atomically. A window whose ``reset_at`` has passed rolls
over to an empty one, its end moved on by whole windows (`roll`).

Nothing a shared store holds can stop calls for longer than one window: a
stored window is checked when it is loaded (`repair`): unreadable numbers give
an empty window, a negative count counts as none, and an end further away than
one window is moved to the end the caller expects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from safe_release.exceptions import InvalidArgumentError

__all__ = [
    "MAX_COUNT",
    "SAME_WINDOW",
    "BudgetState",
    "Daily",
    "Spend",
    "Window",
    "check_count",
    "check_daily",
    "check_reset",
    "exhaust",
    "give_back",
    "limit_of",
    "next_reset",
    "repair",
    "roll",
    "same_window",
    "spend",
    "state",
    "sync",
]

Per = Literal["app", "user"]
MAX_COUNT = 2**53
"""Counts and limits are whole numbers below this (exact in a double, a BIGINT and JSON)."""
SAME_WINDOW = 60.0
"""A server's reset time within this many seconds of the stored one ends the same window."""


class Daily(NamedTuple):
    """A budget of ``limit`` calls per ``window`` seconds to ``resource``.

    Operations naming the same ``resource`` share one budget. ``per="app"``:
    one budget for the application (per app and region); ``per="user"``: one
    per seller as well.
    """

    limit: int
    resource: str
    per: Per = "app"
    window: float = 86_400.0


@dataclass(frozen=True)
class Spend:
    """What `spend` did: whether the calls were granted, and the window after it."""

    granted: bool
    used: int
    limit: int
    reset_at: float


@dataclass(frozen=True)
class BudgetState:
    """A budget as seen at one moment (``reset_at``: wall-clock seconds)."""

    key: str
    limit: int
    used: int
    remaining: int
    reset_at: float


@dataclass(frozen=True)
class Window:
    """The stored state of one budget key (``limit``: the server's, once synced)."""

    used: int
    reset_at: float
    limit: int | None = None


# -- argument checks -------------------------------------------------------------------


def check_daily(daily: object) -> Daily:
    """A valid `Daily`; anything else raises `InvalidArgumentError`."""
    if not isinstance(daily, Daily):
        msg = f"a daily budget must be a Daily(limit, resource), not {type(daily).__name__}"
        raise InvalidArgumentError(msg)
    limit, resource, per, window = daily
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit < MAX_COUNT:
        msg = f"Daily.limit must be a whole number of calls >= 1, not {limit!r}"
        raise InvalidArgumentError(msg)
    if not isinstance(resource, str) or not resource or "|" in resource:
        msg = f"Daily.resource must be a non-empty string without '|', not {resource!r}"
        raise InvalidArgumentError(msg)
    if per not in ("app", "user"):
        msg = f"Daily.per must be 'app' or 'user', not {per!r}"
        raise InvalidArgumentError(msg)
    if (
        isinstance(window, bool)
        or not isinstance(window, (int, float))
        or not (math.isfinite(window) and window >= 1)
    ):
        msg = f"Daily.window must be at least 1 second, not {window!r}"
        raise InvalidArgumentError(msg)
    return Daily(limit, resource, per, float(window))


def check_count(value: object, what: str = "count", *, least: int = 1) -> int:
    """A whole number of calls, at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value < MAX_COUNT:
        msg = f"{what} must be a whole number of calls >= {least}, not {value!r}"
        raise InvalidArgumentError(msg)
    return value


def check_reset(reset_at: float, daily: Daily, now: float) -> float:
    """An end of window no further than one window after ``now`` (it may have passed)."""
    if reset_at > now + daily.window:
        msg = (
            f"reset_at for {daily.resource!r} is {reset_at - now:g} s away, more than its "
            f"{daily.window:g} s window; give the end of the current window"
        )
        raise InvalidArgumentError(msg)
    return reset_at


# -- the pure math -------------------------------------------------------------------


def next_reset(daily: Daily, now: float) -> float:
    """The next whole multiple of the window since the epoch (a day: next midnight UTC)."""
    end = (math.floor(now / daily.window) + 1) * daily.window
    return end if end > now else math.nextafter(now, math.inf)


def roll(w: Window, daily: Daily, now: float) -> Window:
    """The window current at ``now``: a passed end starts an empty window, whole windows on."""
    if w.reset_at > now:
        return w
    ahead = (math.floor((now - w.reset_at) / daily.window) + 1) * daily.window
    end = w.reset_at + ahead
    if end <= now:  # rounding of large doubles
        end = math.nextafter(now, math.inf)
    return replace(w, used=0, reset_at=end)


def repair(w: Window, daily: Daily, now: float, reset_at: float | None) -> Window | None:
    """A window loaded from storage, brought within bounds; None when it is unreadable.

    A count below zero is zero, a fractional one is rounded up, one beyond
    `MAX_COUNT` is cut to it; a negative or unreadable server limit is dropped (the
    declared one applies); an end further than one window ahead was not set by a
    limiter and is replaced by ``reset_at`` (or one window from ``now``).
    """
    numbers = (w.used, w.reset_at, 0 if w.limit is None else w.limit)
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in numbers):
        return None
    used = min(max(math.ceil(w.used), 0), MAX_COUNT)
    limit = None if w.limit is None or w.limit < 0 else min(math.ceil(w.limit), MAX_COUNT)
    end = w.reset_at
    if end > now + daily.window:
        end = reset_at if reset_at is not None else now + daily.window
    fixed = Window(used=used, reset_at=end, limit=limit)
    return w if fixed == w else fixed


def same_window(a: float, b: float, daily: Daily) -> bool:
    """Whether two ends are one window's (within `SAME_WINDOW`, or half a short window)."""
    return abs(a - b) <= min(SAME_WINDOW, daily.window / 2)


def limit_of(w: Window, daily: Daily) -> int:
    """The limit in force: the server's once synced, else the declared one."""
    return daily.limit if w.limit is None else w.limit


def spend(w: Window, daily: Daily, now: float, count: int) -> tuple[Window, Spend]:
    """Take ``count`` calls from the current window, or nothing if they do not fit."""
    w = roll(w, daily, now)
    limit = limit_of(w, daily)
    if w.used + count > limit:
        return w, Spend(granted=False, used=w.used, limit=limit, reset_at=w.reset_at)
    taken = replace(w, used=w.used + count)
    return taken, Spend(granted=True, used=taken.used, limit=limit, reset_at=w.reset_at)


def give_back(w: Window, daily: Daily, now: float, count: int, reset_at: float | None) -> Window:
    """Return ``count`` calls never sent; only to the window they were taken from.

    ``reset_at`` is that window's end (`Spend.reset_at`); None: the current window.
    """
    w = roll(w, daily, now)
    if reset_at is not None and not same_window(reset_at, w.reset_at, daily):
        return w  # taken from a window that has ended since: nothing to give back
    return replace(w, used=max(w.used - count, 0))


def exhaust(w: Window, daily: Daily, now: float) -> Window:
    """The server says the budget is spent: nothing more until the window ends."""
    w = roll(w, daily, now)
    return replace(w, used=max(w.used, limit_of(w, daily)))


def sync(
    w: Window, daily: Daily, now: float, *, limit: int, remaining: int, reset_at: float
) -> Window:
    """The server's figures: its limit applies; the larger of the two counts is kept.

    The count kept here is the local one only if the server's window is the one
    stored (ends within `SAME_WINDOW` seconds of it); the server's end applies.
    """
    w = roll(w, daily, now)
    server_used = max(limit - remaining, 0)
    same = same_window(w.reset_at, reset_at, daily)
    used = max(w.used, server_used) if same else server_used
    return Window(used=used, reset_at=reset_at, limit=limit)


def state(key: str, w: Window, daily: Daily, now: float) -> BudgetState:
    """What `budget` reports."""
    w = roll(w, daily, now)
    limit = limit_of(w, daily)
    return BudgetState(key, limit, w.used, max(limit - w.used, 0), w.reset_at)
