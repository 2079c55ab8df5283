"""Item 4: outages are ridden out, not amplified, when the adapter's breaker says so.

``CircuitBreaker(outage="ride_out")``: calls queue behind the open circuit (within
their deadline) instead of failing, probes go out about once a second and notice
the recovery, and pacing resumes at the full rate. ``outage="fail_fast"`` (the
default) keeps failing fast so that a job in a release trips its rollback. Every
test runs on the fake clock against a scripted marketplace that answers 503 to
everything inside its outage window.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

import httpx
import pytest

from safe_release.adapters import (
    CircuitBreaker,
    MarketplaceAdapter,
    MemoryLimiter,
    Operation,
    RetryPolicy,
    SideEffect,
)
from safe_release.exceptions import (
    AmbiguousWriteError,
    CircuitOpenError,
    MarketplaceError,
    MarketplaceHTTPError,
)
from safe_release.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable

RATE, BURST = 40.0, 10
OUTAGE = 5.0


class _Shop(MarketplaceAdapter):
    marketplace = "shop"
    operations: ClassVar[dict[str, Operation]] = {
        "get": Operation.declare("get", "GET", "/items", rate=RATE, burst=BURST),
        "create": Operation.declare(
            "create", "POST", "/items", rate=RATE, burst=BURST, side_effect=SideEffect.COMPENSABLE
        ),
    }


class _Outage:
    """A marketplace that answers 503 to everything in [start, start + OUTAGE)."""

    def __init__(self, clock: FakeClock, start: float) -> None:
        self.clock = clock
        self.start, self.end = clock.monotonic() + start, clock.monotonic() + start + OUTAGE
        self.log: list[tuple[float, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        del request
        now = self.clock.monotonic()
        status = 503 if self.start <= now < self.end else 200
        self.log.append((now, status))
        return httpx.Response(status, json={})

    def during(self) -> int:
        """Requests that reached the marketplace while it was down."""
        return sum(1 for t, _ in self.log if self.start <= t < self.end)

    def first_success_after(self) -> float:
        """Seconds from the recovery to the first 200."""
        return min(t for t, s in self.log if s == 200 and t >= self.end) - self.end


class _HookClock(FakeClock):
    """A fake clock that runs ``hook`` once, at the first sleep."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Callable[[], None] | None = None

    def sleep(self, seconds: float) -> None:
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        super().sleep(seconds)


def _shop(clock: FakeClock, server: _Outage, outage: str = "ride_out", **kw: object) -> _Shop:
    return _Shop(
        base_url="https://shop.test",
        seller="seller",
        app="app",
        clock=clock,
        transport=httpx.MockTransport(server),
        limiter=MemoryLimiter(),
        breaker=CircuitBreaker(clock=clock, outage=outage),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


class TestRideOut:
    def test_a_job_rides_out_a_five_second_outage(self) -> None:
        """600 calls across a 5 s outage: all succeed, <= 20 requests while down, back in 1 s."""
        clock = FakeClock()
        server = _Outage(clock, start=3.0)
        shop = _shop(clock, server)
        for _ in range(600):
            assert shop.call("get").status_code == 200
        assert server.during() <= 20
        assert server.first_success_after() <= 1.0
        after = [t for t, s in server.log if s == 200 and t >= server.end]
        full_pace = (len(after) - BURST) / (after[-1] - after[0])
        assert full_pace == pytest.approx(RATE, rel=0.02)

    def test_a_single_call_waits_for_the_probe(self) -> None:
        """One call at the start of the outage returns the first 200 after it."""
        clock = FakeClock()
        server = _Outage(clock, start=0.0)
        assert _shop(clock, server).call("get").status_code == 200
        assert server.during() <= 5 + OUTAGE + 1  # the failures that open it, then ~1 probe/s
        assert server.first_success_after() <= 1.0

    def test_the_deadline_still_bounds_the_wait(self) -> None:
        """An outage longer than RetryPolicy(deadline=3): the last real 503 is raised by ~3 s."""
        clock = FakeClock()
        server = _Outage(clock, start=0.0)
        shop = _shop(clock, server, retry=RetryPolicy(deadline=3))
        started = clock.monotonic()
        with pytest.raises(MarketplaceHTTPError) as info:
            shop.call("get")
        assert info.value.status == 503
        assert clock.monotonic() - started <= 3.0

    def test_an_ambiguous_write_is_still_reconciled_not_resent(self) -> None:
        """A 503 to a non-idempotent write may have applied it: it is never queued for a resend."""
        clock = FakeClock()
        server = _Outage(clock, start=0.0)
        with pytest.raises(AmbiguousWriteError):
            _shop(clock, server).call("create", json={"sku": "A"})
        assert len(server.log) == 1

    def test_a_call_that_got_its_slot_before_the_circuit_opened_waits(self) -> None:
        """The circuit opens while a call sleeps for its slot: it is not sent until the probe."""
        clock = _HookClock()
        server = _Outage(clock, start=100.0)
        shop = _shop(clock, server)
        for _ in range(BURST):
            shop.call("get")

        def trip() -> None:
            for _ in range(5):
                shop.breaker.record_failure()

        clock.hook = trip
        slept_from = clock.monotonic()
        shop.call("get")
        assert server.log[-1][0] - slept_from >= 1.0  # the call became the probe, a second later

    def test_async_calls_ride_out_too(self) -> None:
        """`acall` shares the core: it queues behind the open circuit the same way."""
        clock = FakeClock()
        server = _Outage(clock, start=0.0)

        async def run() -> int:
            async with _shop(clock, server) as shop:
                return (await shop.acall("get")).status_code

        assert asyncio.run(run()) == 200
        assert server.first_success_after() <= 1.0


class TestFailFast:
    def test_the_default_fails_fast_during_an_outage(self) -> None:
        """Without ride_out, calls during the outage fail (and would trip a release)."""
        clock = FakeClock()
        server = _Outage(clock, start=0.0)
        shop = _shop(clock, server, outage="fail_fast")
        assert sum(_fails(shop) for _ in range(20)) >= 15
        assert shop.breaker.outage == "fail_fast"


def _fails(shop: _Shop) -> bool:
    """Whether one call failed (fast, or with the last real error)."""
    try:
        shop.call("get")
    except (CircuitOpenError, MarketplaceError):
        return True
    return False
