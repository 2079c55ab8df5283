"""The pure math of a GCRA token bucket, shared by every limiter backend.

A bucket is the virtual schedule of the generic cell rate algorithm: ``tat`` is
the theoretical arrival time after the last reservation, so the bucket holds
``burst - (tat - now) * rate`` tokens (negative: reservations are queued). Every
reservation takes the next slot (FIFO), at most ``burst`` slots are immediate,
and slots are never closer than the current rate allows. All times are
wall-clock seconds (``clock.time()``) so that processes can share a bucket.
`reserve`, `refund`, `penalize`, `reward`, `hint`, `replenish` and `snapshot`
each take a bucket and return the next one; a backend stores it atomically.

Nothing a server sends or a shared store holds can stop an operation for good:
a rate hint is clamped to a band around the declared rate (`hint_band`), a pause
(``Retry-After``, a replenish time) to `max_pause`, and a stored bucket whose
numbers lie outside those bounds is repaired when it is loaded (`repair`). A
ceiling below the band, hinted or stored, is probed back up toward the declared
rate like a ceiling learned from 429s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from safe_release.adapters._operation import Limit

__all__ = [
    "HINT_HIGH",
    "HINT_LOW",
    "PAUSE_CEILING",
    "Bucket",
    "BucketState",
    "Initial",
    "Reservation",
    "hint",
    "hint_band",
    "hinted_ceiling",
    "max_pause",
    "penalize",
    "refund",
    "repair",
    "replenish",
    "reserve",
    "reward",
    "snapshot",
]

Initial = Literal["full", "empty"]

DECREASE = 0.7
"""A 429 multiplies the current rate by this."""
FLOOR = 0.1
"""...but never below this share of the declared rate."""
RECOVERY = 0.05
"""Each success adds this share of the ceiling back to the current rate."""
RESOLUTION = 1e-6
"""Delays shorter than this are rounding noise of wall-clock doubles (~0.24 µs in 2026)."""
MAX_HINT_SECONDS = 86_400.0
"""A Retry-After or replenish time further away than this is garbage and ignored."""
PAUSE_CEILING = 60.0
"""A pause a server asks for (Retry-After, replenish time) is cut to this many seconds...
...or to the bucket's own longest pause, one interval at the floor rate, if longer."""
HINT_LOW = FLOOR
"""A server rate hint below this share of the declared rate is taken as this share..."""
HINT_HIGH = 4.0
"""...and one above this multiple of the declared rate as this multiple."""
HORIZON = 3_600.0
"""A stored schedule further ahead than this (past any pause) is corrupt..."""
HORIZON_SLOTS = 100
"""...unless this many slots at the floor rate reach further (slow operations)."""
EPOCH_WRAP = 2**31
"""Epochs are compared for equality only; a stored one outside [0, this) is wrapped."""
VOID_SHARE = 0.9
"""A hint that lowers the rate below this share re-times slots already handed out."""
LEARN = 0.9
"""Without a rate hint, 429s that keep coming teach a ceiling: this share of the rate."""
RECENT = 10.0
"""A 429 within this many seconds of the previous pause counts as "keep coming"."""
PROBE_AFTER = 5.0
"""After this many seconds without a 429, probe above a learned ceiling..."""
PROBE_EVERY = 1.0
"""...one step at a time, this many seconds apart..."""
PROBE_STEP = 0.02
"""...each step this share of the declared rate."""


@dataclass(frozen=True)
class Reservation:
    """A slot in a bucket's schedule: wait ``delay`` seconds, then send."""

    delay: float
    epoch: int
    end: float | None = field(default=None, compare=False)
    """Where the schedule stood right after this slot (refunds only the last slot)."""


@dataclass(frozen=True)
class BucketState:
    """A bucket as seen at one moment (negative ``tokens``: that many are queued)."""

    key: str
    rate: float
    burst: int
    tokens: float
    paused_until: float
    epoch: int


# -- the pure math -------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """The stored state of one quota key."""

    tat: float
    rate: float
    # > 0: a rate the server hinted; < 0: minus a rate a 429 taught (probed upward over
    # time); None: the declared limit
    ceiling: float | None
    epoch: int
    paused_until: float

    @classmethod
    def new(cls, limit: Limit, now: float, initial: Initial) -> Bucket:
        """A bucket seen for the first time: full, or empty (a cautious restart)."""
        tat = now if initial == "full" else now + limit.burst / limit.rate
        return cls(tat=tat, rate=limit.rate, ceiling=None, epoch=0, paused_until=0.0)

    def is_sane(self) -> bool:
        """Whether every number is usable (a corrupted row is replaced, not trusted)."""
        numbers = (self.tat, self.rate, self.paused_until, self.ceiling or 1.0)
        return (
            all(math.isfinite(x) for x in numbers)
            and self.rate > 0
            and (self.ceiling is None or self.ceiling != 0)
        )


def ceiling_of(b: Bucket, limit: Limit) -> float:
    """The rate the bucket may recover to."""
    return abs(b.ceiling) if b.ceiling is not None else limit.rate


def learned(b: Bucket) -> bool:
    """Whether the ceiling was taught by a 429 (not hinted by the server)."""
    return b.ceiling is not None and b.ceiling < 0


def retime(b: Bucket, rate: float, burst: int, now: float) -> Bucket:
    """Change the rate, keeping the token level; a queue keeps its spacing on increase."""
    if rate == b.rate:
        return b
    tat = b.tat
    if tat > now:
        old, new = 1.0 / b.rate, 1.0 / rate
        tat = now + (tat - now) * new / old
        if new < old:  # never hand out a slot closer than `new` after the last one
            tat = max(tat, b.tat + burst * (new - old))
    return replace(b, tat=tat, rate=rate)


def hint_band(limit: Limit) -> tuple[float, float]:
    """The rates a server hint is believed within: [declared x 0.1, declared x 4]."""
    return limit.rate * HINT_LOW, limit.rate * HINT_HIGH


def max_pause(limit: Limit) -> float:
    """The longest pause a server may impose: 60 s, or one interval at the floor rate."""
    return max(PAUSE_CEILING, 1.0 / (limit.rate * FLOOR))


def hinted_ceiling(rate: float, limit: Limit) -> float:
    """The ceiling a (finite, positive) server rate sets, in the `Bucket.ceiling` encoding.

    Within the band it is trusted (positive); above it, the band's top; below it,
    the band's floor as a *learned* ceiling (negative), which is probed back up
    toward the declared rate unless the server keeps saying so.
    """
    low, high = hint_band(limit)
    if rate < low:
        return -low
    return float(min(rate, high))


def repair(b: Bucket, limit: Limit, now: float, initial: Initial) -> Bucket:
    """A bucket loaded from storage, with every number brought back within bounds.

    Non-finite numbers or a zero rate give a fresh bucket; a rate below the hint band,
    or a ceiling outside it, is clamped into it (a clamped ceiling is probed, not trusted); a
    pause further than `max_pause` is dropped; a schedule further ahead than the
    horizon starts again empty after the pause; an epoch outside [0, 2**31) wraps.
    """
    if not b.is_sane():
        return replace(Bucket.new(limit, now, initial), epoch=(b.epoch + 1) % EPOCH_WRAP)
    low, high = hint_band(limit)
    ceiling = b.ceiling
    if ceiling is not None and not low <= abs(ceiling) <= high:
        ceiling = -min(max(abs(ceiling), low), high)
    rate = max(b.rate, low)  # a rate above the ceiling is re-timed down by `normalize`
    # no pause is ever set further ahead than `max_pause`: one that is was not set by us
    paused = b.paused_until if b.paused_until <= now + max_pause(limit) else now
    tat, epoch = b.tat, b.epoch
    if tat > max(now, paused) + max(HORIZON, HORIZON_SLOTS / low):
        tat, epoch = max(now, paused) + limit.burst / rate, epoch + 1
    fixed = Bucket(
        tat=tat, rate=rate, ceiling=ceiling, epoch=epoch % EPOCH_WRAP, paused_until=paused
    )
    return b if fixed == b else fixed


def normalize(b: Bucket, limit: Limit, now: float, initial: Initial) -> Bucket:
    """The bucket under the current limit (repaired; a lowered ceiling applies at once)."""
    b = repair(b, limit, now, initial)
    ceiling = ceiling_of(b, limit)
    return retime(b, ceiling, limit.burst, now) if b.rate > ceiling else b


def lower(b: Bucket, rate: float, limit: Limit, now: float) -> Bucket:
    """A lower rate applies to slots not yet sent.

    A small correction only stretches the queue's tail; a real drop voids the
    slots already handed out (the epoch changes: their callers queue again at the
    new pace) and keeps the bucket as empty as the last slot left it.
    """
    interval = 1.0 / b.rate
    if rate >= b.rate * VOID_SHARE or b.tat - limit.burst * interval <= now:
        return retime(b, rate, limit.burst, now)
    voided = replace(b, tat=now + limit.burst * interval, epoch=b.epoch + 1)
    return retime(voided, rate, limit.burst, now)


def reserve(b: Bucket, limit: Limit, now: float) -> tuple[Bucket, Reservation]:
    """Take the next slot: FIFO, at most ``burst`` immediate, spaced by the rate."""
    interval = 1.0 / b.rate
    base = max(b.tat, now)
    at = max(now, base - (limit.burst - 1) * interval, b.paused_until)
    delay = at - now if at - now >= RESOLUTION else 0.0
    tat = _after(max(base, at), interval)
    return replace(b, tat=tat), Reservation(delay, b.epoch, tat)


def refund(b: Bucket, reservation: Reservation, now: float) -> Bucket:
    """An unused slot goes back: the schedule moves one interval earlier (never before now).

    Only for the last slot handed out, in the current epoch: a slot with others after it
    stays taken (giving it back would put two sends on one instant), and a 429 since
    then already voided it.
    """
    if b.epoch != reservation.epoch or b.tat <= now or reservation.end != b.tat:
        return b
    return replace(b, tat=max(now, b.tat - 1.0 / b.rate))


def _after(t: float, interval: float) -> float:
    """``t + interval`` rounded up: wall-clock doubles must not drift faster than the rate."""
    later = t + interval
    return later if later - t >= interval else math.nextafter(later, math.inf)


def penalize(b: Bucket, limit: Limit, now: float, retry_after: float | None) -> Bucket:
    """A 429: lower the rate, drain the bucket, pause it and void older reservations.

    A 429 that arrives while the bucket is still paused answers a request sent
    before the pause: it may lengthen the pause but does not cut the rate again.
    """
    wait = retry_after if retry_after is not None and 0 <= retry_after <= MAX_HINT_SECONDS else 0
    wait = min(wait, max_pause(limit))
    in_pause = now < b.paused_until
    rate = b.rate if in_pause else max(b.rate * DECREASE, min(limit.rate * FLOOR, b.rate))
    until = max(b.paused_until, now + max(wait, 1.0 / rate))
    if in_pause and until == b.paused_until:
        return b
    tat = until + (limit.burst - 1) / rate
    # the rate that drew this 429 was too fast: do not climb straight back to it
    # learn a ceiling only from 429s that keep coming (the real limit is lower): a lone
    # one is among the few Amazon says to expect, and the rate simply recovers
    repeated = b.paused_until > 0 and now - b.paused_until < RECENT
    learned = max(b.rate * LEARN, limit.rate * FLOOR)
    ceiling = (
        -learned if repeated and not in_pause and learned < ceiling_of(b, limit) else b.ceiling
    )
    return Bucket(tat=tat, rate=rate, ceiling=ceiling, epoch=b.epoch + 1, paused_until=until)


def reward(b: Bucket, limit: Limit, now: float) -> Bucket:
    """A success: add a share of the ceiling to the rate (not while paused).

    At a ceiling learned from a 429 (below the declared rate), probe upward one
    small step at a time once no 429 has come for a while; a server hint resets
    the ceiling outright.
    """
    ceiling = ceiling_of(b, limit)
    if now < b.paused_until:
        return b
    if b.rate >= ceiling:
        if not learned(b) or now - b.paused_until < PROBE_AFTER:
            return b
        # record the probe by moving the (past) pause mark: the next one waits PROBE_EVERY
        probed = ceiling + PROBE_STEP * limit.rate
        return replace(
            b,
            ceiling=None if probed >= limit.rate else -probed,
            paused_until=now - PROBE_AFTER + PROBE_EVERY,
        )
    return retime(b, min(ceiling, b.rate + RECOVERY * ceiling), limit.burst, now)


def hint(b: Bucket, limit: Limit, rate: float, now: float) -> Bucket:
    """The server's rate, clamped to the band, becomes the ceiling; a lower one applies now."""
    if not (math.isfinite(rate) and rate > 0):
        return b
    ceiling = hinted_ceiling(rate, limit)
    if b.ceiling == ceiling:
        return b
    hinted = replace(b, ceiling=ceiling)
    return lower(hinted, abs(ceiling), limit, now) if b.rate > abs(ceiling) else hinted


def replenish(b: Bucket, limit: Limit, tokens: float, next_at: float, now: float) -> Bucket:
    """The server has ``tokens`` left: never believe in more than that.

    With no token left, no slot is earlier than ``next_at``; if that voids
    reservations already handed out, the epoch changes.
    """
    if not (math.isfinite(tokens) and tokens >= 0):
        return b
    interval, burst = 1.0 / b.rate, limit.burst
    tat = max(b.tat, now + (burst - min(tokens, burst)) * interval)
    if tokens < 1 and math.isfinite(next_at) and now < next_at <= now + MAX_HINT_SECONDS:
        tat = max(tat, min(next_at, now + max_pause(limit)) + (burst - 1) * interval)
    if tat == b.tat:
        return b
    return replace(b, tat=tat, epoch=b.epoch + 1 if tokens < 1 else b.epoch)


def snapshot(key: str, b: Bucket, limit: Limit, now: float) -> BucketState:
    """What `state` reports."""
    tokens = min(float(limit.burst), limit.burst - (b.tat - now) * b.rate)
    return BucketState(key, b.rate, limit.burst, tokens, b.paused_until, b.epoch)
