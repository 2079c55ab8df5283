"""Triggers: when the calls a release observes go bad, roll back at once.

A trigger is any callable ``(observations) -> bool`` over the release's
`Observation` records; `Release.observe` runs it after each observation and
raises `RollbackTriggered` when it answers ``True``. Two are built in:
`ErrorRate` and `Latency`. Both read the `Observations` counters when they are
given them (constant time per call, however long the job runs) and fall back to
a plain scan over any other sequence.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, overload

from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ErrorRate", "Latency", "Observation", "Observations", "Trigger", "describe_trigger"]


@dataclass(frozen=True)
class Observation:
    """One call the release saw: did it work, how long it took, when (monotonic seconds)."""

    ok: bool
    latency: float | None
    at: float


Trigger = Callable[[Sequence[Observation]], bool]
"""A predicate over the release's observations; ``True`` rolls the release back."""


class Observations(Sequence[Observation]):
    """The observations of one release, oldest first, with running counters.

    Appends are thread-safe. ``at`` never decreases (a monotonic clock), so a
    time window is found by bisection and counted from prefix sums.
    """

    def __init__(self) -> None:
        self._items: list[Observation] = []
        self._at: list[float] = []
        self._failures = [0]  # prefix sums: failures among the first i observations
        self._timed = [0]  # prefix sums: observations with a latency
        self._slower: dict[float, list[int]] = {}  # threshold -> prefix sums of latency > it
        self._lock = threading.Lock()

    def append(self, item: Observation) -> None:
        """Add an observation (its ``at`` must not be earlier than the last one's)."""
        with self._lock:
            at = max(item.at, self._at[-1]) if self._at else item.at
            self._items.append(item)
            self._at.append(at)
            self._failures.append(self._failures[-1] + (not item.ok))
            self._timed.append(self._timed[-1] + (item.latency is not None))

    def start(self, window: float | None) -> int:
        """Index of the first observation inside the last ``window`` seconds (all: 0)."""
        if window is None or not self._at:
            return 0
        return bisect.bisect_left(self._at, self._at[-1] - window)

    def failures(self, start: int = 0) -> int:
        """Failed observations from index ``start`` on."""
        return self._failures[-1] - self._failures[start]

    def timed(self, start: int = 0) -> int:
        """Observations with a latency from index ``start`` on."""
        return self._timed[-1] - self._timed[start]

    def slower(self, threshold: float, start: int = 0) -> int:
        """Observations slower than ``threshold`` seconds from index ``start`` on."""
        with self._lock:
            sums = self._slower.setdefault(threshold, [0])
            for item in self._items[len(sums) - 1 :]:
                sums.append(sums[-1] + (item.latency is not None and item.latency > threshold))
            return sums[len(self._items)] - sums[start]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Observation: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Observation]: ...
    def __getitem__(self, index: int | slice) -> Observation | Sequence[Observation]:
        return self._items[index]

    def __iter__(self) -> Iterator[Observation]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"<Observations {len(self)} failed={self.failures()}>"


def _seconds(value: float | timedelta | None, what: str) -> float | None:
    if value is None:
        return None
    msg = f"{what}={value!r} must be a positive number of seconds (or a timedelta)"
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise InvalidArgumentError(msg)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise InvalidArgumentError(msg)
    return seconds


def _min_calls(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"min_calls={value!r} must be a whole number of at least 1"
        raise InvalidArgumentError(msg)
    return value


def _window(obs: Sequence[Observation], window: float | None) -> tuple[Sequence[Observation], int]:
    """The observations inside the window: (a plain sequence, start index) or counters."""
    if isinstance(obs, Observations):
        return obs, obs.start(window)
    items = list(obs)
    if window is None or not items:
        return items, 0
    newest = max(o.at for o in items)
    return [o for o in items if o.at >= newest - window], 0


class ErrorRate:
    """Trip when more than ``max`` of the calls failed, once ``min_calls`` were seen.

    ``window`` (seconds or a timedelta) looks only at the calls of that last
    stretch of the release; ``None`` looks at all of them.
    """

    def __init__(
        self,
        max: float = 0.05,  # noqa: A002 - max= is the public keyword
        min_calls: int = 50,
        window: float | timedelta | None = None,
    ) -> None:
        if isinstance(max, bool) or not isinstance(max, (int, float)) or not 0 <= max < 1:
            msg = f"ErrorRate(max={max!r}) must be a fraction from 0 up to (not including) 1"
            raise InvalidArgumentError(msg)
        self.max = float(max)
        self.min_calls = _min_calls(min_calls)
        self.window = _seconds(window, "window")

    def __call__(self, observations: Sequence[Observation]) -> bool:
        """Whether the error rate is over ``max`` (``False`` below ``min_calls``)."""
        obs, start = _window(observations, self.window)
        if isinstance(obs, Observations):
            calls, failed = len(obs) - start, obs.failures(start)
        else:
            calls, failed = len(obs), sum(not o.ok for o in obs)
        return calls >= self.min_calls and failed > self.max * calls

    def __repr__(self) -> str:
        window = f", window={self.window:g}" if self.window is not None else ""
        return f"ErrorRate(max={self.max:g}, min_calls={self.min_calls}{window})"


class Latency:
    """Trip when the 95th-percentile latency is over ``p95`` seconds.

    The percentile is the nearest-rank one over the calls that reported a
    latency, once at least ``min_calls`` of them did (in the ``window``, if given).
    """

    def __init__(
        self,
        *,
        p95: float | timedelta,
        min_calls: int = 50,
        window: float | timedelta | None = None,
    ) -> None:
        threshold = _seconds(p95, "p95")
        if threshold is None:
            msg = "Latency(p95=...) needs the threshold in seconds (or a timedelta)"
            raise InvalidArgumentError(msg)
        self.p95 = threshold
        self.min_calls = _min_calls(min_calls)
        self.window = _seconds(window, "window")

    def __call__(self, observations: Sequence[Observation]) -> bool:
        """Whether the p95 latency is over the threshold (``False`` below ``min_calls``)."""
        obs, start = _window(observations, self.window)
        if isinstance(obs, Observations):
            timed, slow = obs.timed(start), obs.slower(self.p95, start)
        else:
            lat = [o.latency for o in obs if o.latency is not None]
            timed, slow = len(lat), sum(value > self.p95 for value in lat)
        if timed < self.min_calls:
            return False
        # the nearest-rank p95 is over the threshold iff enough values above it exist
        return slow >= timed - math.ceil(0.95 * timed) + 1

    def __repr__(self) -> str:
        window = f", window={self.window:g}" if self.window is not None else ""
        return f"Latency(p95={self.p95:g}, min_calls={self.min_calls}{window})"


def describe_trigger(trigger: Trigger) -> str:
    """A short name for a trigger: its repr for the built-ins, else its ``__name__``."""
    if isinstance(trigger, (ErrorRate, Latency)):
        return repr(trigger)
    return str(getattr(trigger, "__name__", None) or type(trigger).__name__)
