"""What goes wrong at every fake marketplace: the base its ``faults`` class extends.

`FaultsCore` holds the seeded draw, the error rate, the latency, the throttle
storm, revocations and the one-shot faults (``ambiguous``, ``garbage`` and a
fake's own kinds) that wait for the next calls of one operation; `OutageFaults`
adds outage windows that answer 503.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import TYPE_CHECKING, ClassVar

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import epoch, seconds, whole
from safe_release.testing._checks import probability as check_probability

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime, timedelta

__all__ = ["FaultsCore", "OutageFaults", "outage_window"]


def outage_window(start: float | datetime, end: float | datetime) -> tuple[float, float]:
    """``(start, end)`` in epoch seconds; InvalidArgumentError unless it ends after it starts."""
    begin, finish = epoch(start, what="outage start"), epoch(end, what="outage end")
    if finish <= begin:
        msg = f"an outage must end after it starts (start={begin}, end={finish})"
        raise InvalidArgumentError(msg)
    return begin, finish


class FaultsCore:
    """The faults every fake has; a subclass names its one-shot kinds in ``_KINDS``.

    ``check_operation`` validates the operation names the one-shot faults take.
    """

    _KINDS: ClassVar[tuple[str, ...]] = ("ambiguous", "garbage")
    outages: Sequence[tuple[float, ...]]

    def __init__(self, rng_seed: int | str, check_operation: Callable[[str], str]) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(rng_seed)  # noqa: S311 - test faults, not cryptography
        self._check_operation = check_operation
        self._error_rate = self._storm = self._latency = 0.0
        self.token_endpoint_throttled = False
        self._pending: dict[str, Counter[str]] = {kind: Counter() for kind in self._KINDS}
        self.revocations = 0

    @property
    def error_rate(self) -> float:
        """Share of API calls (after auth and quota) answered with the API's 500 error."""
        return self._error_rate

    @error_rate.setter
    def error_rate(self, value: float) -> None:
        self._error_rate = check_probability(value, what="faults.error_rate")

    @property
    def latency(self) -> float:
        """Seconds every request takes; the fake clock advances by this much."""
        return self._latency

    @latency.setter
    def latency(self, value: float | timedelta) -> None:
        self._latency = seconds(value, what="faults.latency")

    @property
    def storm(self) -> float:
        """The throttle-storm probability (0 when there is none)."""
        return self._storm

    def throttle_storm(self, probability: float) -> None:
        """Answer the API's 429 with ``probability`` even with quota left (not counted)."""
        self._storm = check_probability(probability, what="faults.throttle_storm(probability)")

    def revoke_auth(self) -> None:
        """Every access token issued so far is rejected as invalid (the API's 401 or 403)."""
        self.revocations += 1

    def ambiguous_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` are processed, then the answer is lost.

        Only calls that get past auth, quota and validation count (those the
        operation answers 2xx). The client sees `httpx.ReadTimeout` (through
        ``serve()``: the server hangs up without an answer).
        """
        self._add("ambiguous", operation, times)

    def garbage_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get a 502 HTML page from the gateway."""
        self._add("garbage", operation, times)

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
        for pending in self._pending.values():
            pending.clear()

    def _add(self, kind: str, operation: str, times: int) -> None:
        self._pending[kind][self._check_operation(operation)] += whole(
            times, what="times", minimum=1
        )

    def _take(self, kind: str, operation: str) -> bool:
        pending = self._pending[kind]
        if pending[operation] <= 0:
            return False
        pending[operation] -= 1
        return True

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def _active(self) -> list[tuple[str, object]]:
        """(name, value) of each setting ``repr`` shows when it is set."""
        return [
            ("error_rate", self._error_rate),
            ("latency", self._latency),
            ("storm", self._storm),
            ("outages", len(self.outages)),
            ("token_endpoint_throttled", self.token_endpoint_throttled),
        ]

    def __repr__(self) -> str:
        active = [f"{name}={value}" for name, value in self._active() if value]
        return f"<{type(self).__name__} {' '.join(active) or 'none'}>"


class OutageFaults(FaultsCore):
    """`FaultsCore` with outage windows in which every API call answers 503."""

    outages: list[tuple[float, float]]

    def __init__(self, rng_seed: int | str, check_operation: Callable[[str], str]) -> None:
        super().__init__(rng_seed, check_operation)
        self.outages = []

    def outage(self, start: float | datetime, end: float | datetime) -> None:
        """Answer 503 to every API call while ``start <= clock.time() < end``."""
        self.outages.append(outage_window(start, end))

    def in_outage(self, now: float) -> bool:
        """Whether ``now`` falls in an outage window."""
        return any(begin <= now < end for begin, end in self.outages)

    def clear(self) -> None:
        """Turn every fault off (revoked tokens stay revoked)."""
        super().clear()
        self.outages.clear()
