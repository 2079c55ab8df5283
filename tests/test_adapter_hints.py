"""Server hints the adapter base reads for every marketplace (Walmart-style replenish)."""

from __future__ import annotations

import math
from typing import ClassVar

import httpx
import pytest

from safe_release.adapters import MarketplaceAdapter, MemoryLimiter, Operation
from safe_release.adapters._replenish import RefillRates
from safe_release.testing import FakeClock


class _Shop(MarketplaceAdapter):
    marketplace = "shop"
    operations: ClassVar[dict[str, Operation]] = {
        "get": Operation.declare("get", "GET", "/items", rate=10, burst=5)
    }


class TestReplenishHint:
    def test_token_count_and_replenish_time_slow_the_bucket(self) -> None:
        """A server saying 0 tokens left until t+2 s delays the next call until then."""
        clock = FakeClock()
        next_ms = int((clock.time() + 2.0) * 1000)
        sent: list[float] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(clock.time())
            return httpx.Response(
                200,
                json={},
                headers={"x-current-token-count": "0", "x-next-replenish-time": str(next_ms)},
            )

        shop = _Shop(
            base_url="https://shop.test",
            seller="s",
            app="a",
            clock=clock,
            transport=httpx.MockTransport(handler),
            limiter=MemoryLimiter(),
        )
        shop.call("get")
        shop.call("get")
        assert sent[1] - sent[0] >= 2.0

    def test_garbage_replenish_headers_are_ignored(self) -> None:
        """Unparseable or negative counts change nothing."""
        clock = FakeClock()
        shop = _Shop(
            base_url="https://shop.test",
            seller="s",
            app="a",
            clock=clock,
            transport=httpx.MockTransport(lambda _request: httpx.Response(200)),
        )
        for count, when in (("x", "1"), ("-1", "1"), ("1", "nan"), ("1", "soon")):
            response = httpx.Response(
                200, headers={"x-current-token-count": count, "x-next-replenish-time": when}
            )
            assert shop.replenish_hint(response) is None
        assert shop.replenish_hint(httpx.Response(200)) is None


class _Bucket:
    """A Walmart-style server bucket on the fake clock: gradual refill, headers on every answer."""

    def __init__(self, clock: FakeClock, *, rate: float, burst: int) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self.tokens, self.at = float(burst), clock.time()
        self.statuses: list[int] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        del request
        now = self.clock.time()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        status = 200 if self.tokens >= 1 else 429
        if status == 200:
            self.tokens -= 1
        self.statuses.append(status)
        missing = 1 - (self.tokens % 1)
        next_ms = math.ceil((now + missing / self.rate) * 1000)
        headers = {
            "x-current-token-count": str(math.floor(self.tokens)),
            "x-next-replenish-time": str(next_ms),
        }
        return httpx.Response(status, json={}, headers=headers)


def _paced(declared: float, server: float, calls: int) -> tuple[_Shop, _Bucket]:
    """Sequential calls declared at ``declared``/s to a bucket refilling at ``server``/s."""
    clock = FakeClock()
    bucket = _Bucket(clock, rate=server, burst=5)

    class Shop(_Shop):
        operations: ClassVar[dict[str, Operation]] = {
            "get": Operation.declare("get", "GET", "/items", rate=declared, burst=5)
        }

    shop = Shop(
        base_url="https://shop.test",
        seller="s",
        app="a",
        clock=clock,
        transport=httpx.MockTransport(bucket.handle),
    )
    for _ in range(calls):
        shop.call("get")
    return shop, bucket


class TestRefillRateFromHeaders:
    def test_a_declared_rate_four_times_too_high_is_learned_from_the_headers(self) -> None:
        """The refill steps the headers show become the pace: 429s stop after the first few."""
        shop, bucket = _paced(declared=40.0, server=10.0, calls=200)
        assert len(bucket.statuses) - 200 == bucket.statuses.count(429)
        assert bucket.statuses.count(429) <= 3
        assert bucket.statuses[-150:].count(429) == 0
        state = shop.limiter.state(
            shop.quota_key(shop.operation("get")),
            shop.limit(shop.operation("get")),
            shop.clock.time(),
        )
        assert state.rate == pytest.approx(10.0, rel=0.02)

    def test_a_right_declared_rate_is_left_alone(self) -> None:
        """Headers agreeing with the declared rate change nothing (and no 429 comes)."""
        shop, bucket = _paced(declared=10.0, server=10.0, calls=100)
        assert bucket.statuses.count(429) == 0
        state = shop.limiter.state(
            shop.quota_key(shop.operation("get")),
            shop.limit(shop.operation("get")),
            shop.clock.time(),
        )
        assert state.rate == pytest.approx(10.0)

    def test_the_estimate_never_raises_the_pace(self) -> None:
        """A server refilling faster than declared does not speed the adapter up."""
        shop, bucket = _paced(declared=5.0, server=20.0, calls=60)
        state = shop.limiter.state(
            shop.quota_key(shop.operation("get")),
            shop.limit(shop.operation("get")),
            shop.clock.time(),
        )
        assert state.rate <= 5.0
        assert bucket.statuses.count(429) == 0

    def test_a_low_estimate_is_withdrawn_when_the_steps_say_so(self) -> None:
        """RefillRates restores the declared rate once shorter refill steps are seen."""
        rates = RefillRates()
        seen = [rates.observe("k", 0, t, declared=10.0) for t in (100.0, 100.5, 101.0)]
        assert seen[-1] == pytest.approx(2.0)
        later = [rates.observe("k", 0, t, declared=10.0) for t in (101.1, 101.2)]
        assert later == [10.0, None]  # a 0.1 s step: the declared rate holds, said once
        assert rates.observe("k", 3, 102.0, declared=10.0) is None  # not drained: no news
