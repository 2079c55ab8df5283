"""Server hints the adapter base reads for every marketplace (Walmart-style replenish)."""

from __future__ import annotations

from typing import ClassVar

import httpx

from safe_release.adapters import MarketplaceAdapter, MemoryLimiter, Operation
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
