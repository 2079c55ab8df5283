"""M3: no server hint and no stored bucket can stop an operation or pause it for long.

A single ``x-amzn-RateLimit-Limit: 1e-300`` on a 200 used to make every later call
fail unsent, for every process sharing a `StoreLimiter`; ``Retry-After: 86400``
paused the operation for a day. Rate hints are now clamped to a band around the
declared rate, pauses to a ceiling, and a stored bucket out of bounds is repaired
when it is loaded. Also here: the start-up slack after a fresh burst, the
integer ``Retry-After: 1``, and a lowered rate hint re-timing slots already handed
out (issue 11, item 2).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pytest
from sqlalchemy import update

import safe_release as sr
from safe_release.adapters import (
    Limit,
    LimiterBackend,
    MarketplaceAdapter,
    MemoryLimiter,
    Operation,
    RedisLimiter,
    StoreLimiter,
)
from safe_release.adapters._amazon_wire import rate_hint as amazon_rate_hint
from safe_release.adapters._bucket import HINT_HIGH, HINT_LOW, PAUSE_CEILING, max_pause
from safe_release.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

RATE, BURST = 40.0, 10
LIM = Limit(RATE, BURST)
KEY = "shop|get|seller|app|eu"
RATE_HEADER = "x-amzn-RateLimit-Limit"


class _Shop(MarketplaceAdapter):
    """A marketplace that sends Amazon's rate header (read by Amazon's own parser)."""

    marketplace = "shop"
    operations: ClassVar[dict[str, Operation]] = {
        "get": Operation.declare("get", "GET", "/items", rate=RATE, burst=BURST),
        "one": Operation.declare("one", "GET", "/one", rate=RATE, burst=1),
    }

    def rate_hint(self, response: httpx.Response) -> float | None:
        """``x-amzn-RateLimit-Limit``, exactly as the Amazon adapter reads it."""
        return amazon_rate_hint(response)


class _Server:
    """A scripted marketplace on the fake clock: answers from ``script``, then 200s."""

    def __init__(self, clock: FakeClock, *script: httpx.Response, latency: float = 0.0) -> None:
        self.clock, self.script, self.times = clock, list(script), []
        self.latency = latency

    def __call__(self, request: httpx.Request) -> httpx.Response:
        del request
        self.times.append(self.clock.monotonic())
        if self.latency:
            self.clock.sleep(self.latency)
        return self.script.pop(0) if self.script else httpx.Response(200, json={})


def _shop(server: _Server, limiter: LimiterBackend | None = None) -> _Shop:
    return _Shop(
        base_url="https://shop.test",
        seller="seller",
        app="app",
        region="eu",
        clock=server.clock,
        transport=httpx.MockTransport(server),
        limiter=limiter if limiter is not None else MemoryLimiter(),
    )


def _state(shop: _Shop) -> sr.adapters.BucketState:
    op = shop.operation("get")
    return shop.limiter.state(shop.quota_key(op), shop.limit(op), shop.clock.time())


@pytest.fixture(
    name="limiter_on",
    params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "redis"],
)
def fixture_limiter_on(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """A factory of limiters sharing one backend: memory, SQLite, PostgreSQL, Redis."""
    kind = request.param
    if kind == "memory":
        shared = MemoryLimiter()
        yield lambda: shared
    elif kind == "redis":
        url, prefix = request.getfixturevalue("redis_url"), f"h{uuid.uuid4().hex}:"
        yield lambda: RedisLimiter(url, prefix=prefix)
    else:
        if kind == "sqlite":
            store = sr.connect(f"sqlite:///{tmp_path / 'limiter.db'}")
        else:
            store = sr.connect(
                request.getfixturevalue("pg_url"), schema=f"h_{uuid.uuid4().hex[:12]}"
            )
        yield lambda: StoreLimiter(store)
        store.close()


class TestRateHintBand:
    def test_a_tiny_rate_hint_on_a_200_does_not_disable_the_operation(
        self, limiter_on: Callable[[], LimiterBackend]
    ) -> None:
        """`x-amzn-RateLimit-Limit: 1e-300`: later calls are sent, at no less than a tenth."""
        clock = FakeClock()
        server = _Server(clock, httpx.Response(200, json={}, headers={RATE_HEADER: "1e-300"}))
        shop = _shop(server, limiter_on())
        for _ in range(BURST + 20):
            assert shop.call("get").status_code == 200
        assert _state(shop).rate >= RATE * HINT_LOW
        paced = server.times[-1] - server.times[BURST]
        assert paced <= 20 / (RATE * HINT_LOW) + 1.0
        restarted = _shop(_Server(clock), limiter_on())  # another process on the same state
        assert restarted.call("get").status_code == 200

    def test_the_operation_recovers_toward_its_declared_rate(
        self, limiter_on: Callable[[], LimiterBackend]
    ) -> None:
        """After one absurd hint, calls without hints climb back to the declared rate."""
        clock = FakeClock()
        server = _Server(clock, httpx.Response(200, json={}, headers={RATE_HEADER: "1e-300"}))
        shop = _shop(server, limiter_on())
        shop.call("get")
        assert _state(shop).rate == pytest.approx(RATE * HINT_LOW)
        for _ in range(2_000):
            shop.call("get")
            if _state(shop).rate >= RATE:
                break
        assert _state(shop).rate == pytest.approx(RATE)

    def test_a_huge_rate_hint_is_capped(self, limiter_on: Callable[[], LimiterBackend]) -> None:
        """`x-amzn-RateLimit-Limit: 1e300` never lets the rate past declared x 4."""
        clock = FakeClock()
        big = [httpx.Response(200, json={}, headers={RATE_HEADER: "1e300"}) for _ in range(200)]
        shop = _shop(_Server(clock, *big), limiter_on())
        for _ in range(200):
            shop.call("get")
        assert _state(shop).rate == pytest.approx(RATE * HINT_HIGH)

    def test_a_hint_outside_the_band_is_logged_once_per_key(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Fifty absurd hints: one warning naming the hint and the band, not fifty."""
        clock = FakeClock()
        tiny = [httpx.Response(200, json={}, headers={RATE_HEADER: "1e-300"}) for _ in range(50)]
        shop = _shop(_Server(clock, *tiny))
        with caplog.at_level(logging.WARNING, logger="safe_release.adapters"):
            for _ in range(50):
                shop.call("get")
        warnings = [r for r in caplog.records if "outside" in r.getMessage()]
        assert len(warnings) == 1
        assert "1e-300" in warnings[0].getMessage()

    def test_a_hint_inside_the_band_is_followed_exactly(self) -> None:
        """A plausible lower quota (a quarter of the declared one) is the new ceiling, unlogged."""
        limiter = MemoryLimiter()
        limiter.hint(KEY, LIM, RATE / 4, 0.0)
        for _ in range(50):
            limiter.reward(KEY, LIM, 100.0)
        assert limiter.state(KEY, LIM, 100.0).rate == RATE / 4


class TestPauseCeiling:
    def test_retry_after_a_day_pauses_at_most_the_ceiling(
        self, limiter_on: Callable[[], LimiterBackend]
    ) -> None:
        """`Retry-After: 86400` on a 429: the retry goes out within 60 s, and succeeds."""
        clock = FakeClock()
        server = _Server(clock, httpx.Response(429, headers={"Retry-After": "86400"}))
        shop = _shop(server, limiter_on())
        assert shop.call("get").status_code == 200
        assert server.times[1] - server.times[0] <= PAUSE_CEILING + 0.1
        assert _state(shop).paused_until <= clock.time()

    def test_a_long_pause_is_logged_once(self, caplog: pytest.LogCaptureFixture) -> None:
        """Three day-long Retry-After values: one warning."""
        limiter = MemoryLimiter()
        with caplog.at_level(logging.WARNING, logger="safe_release.adapters"):
            for k in range(3):
                limiter.penalize(KEY, LIM, 100.0 * k, retry_after=86_400.0)
        assert len([r for r in caplog.records if "ceiling" in r.getMessage()]) == 1

    def test_a_replenish_time_far_ahead_waits_at_most_the_ceiling(self) -> None:
        """Walmart-style "0 tokens until next year": the next slot is within 60 s."""
        limiter = MemoryLimiter()
        limiter.replenish(KEY, LIM, 0.0, 1_000.0 + 3e7, 1_000.0)
        assert limiter.reserve(KEY, LIM, 1_000.0).delay <= PAUSE_CEILING + 1.0

    def test_the_ceiling_covers_slow_operations(self) -> None:
        """An operation metered per minute may still be paused one interval at its floor rate."""
        per_minute = Limit(1 / 60, 1)
        assert max_pause(per_minute) == pytest.approx(600.0)
        assert max_pause(LIM) == PAUSE_CEILING


# -- stored buckets written out of band ------------------------------------------------------

YEAR = 365 * 86_400.0
NOW = 1_767_225_600.0

# (tat, rate, ceiling, epoch, paused_until) as an attacker might write them
_GARBAGE = {
    "tiny-rate": (NOW, 1e-300, None, 3, 0.0),
    "tiny-ceiling": (NOW, RATE, 1e-300, 3, 0.0),
    "paused-a-year": (NOW + YEAR, RATE, None, 3, NOW + YEAR),
    "tat-a-year": (NOW + YEAR, RATE, None, 3, 0.0),
    "negative-tat": (-1e300, RATE, None, 3, 0.0),
    "huge-epoch": (NOW, RATE, None, 2**62, 0.0),
    "nan-rate": (NOW, math.nan, None, 3, 0.0),
    "inf-tat": (math.inf, RATE, None, 3, 0.0),
}


def _assert_usable(limiter: LimiterBackend) -> None:
    """The operation is served again at no less than a tenth of its rate, and soon."""
    assert limiter.reserve(KEY, LIM, NOW).delay <= BURST / (RATE * HINT_LOW) + 1e-6
    state = limiter.state(KEY, LIM, NOW)
    assert RATE * HINT_LOW <= state.rate <= RATE
    assert state.paused_until <= NOW + max_pause(LIM)
    for _ in range(20):
        limiter.reward(KEY, LIM, NOW)
    assert 0 <= limiter.epoch(KEY) < 2**31


class TestStoredStateRepaired:
    @pytest.mark.parametrize("case", sorted(_GARBAGE))
    def test_store_rows_written_out_of_band_are_repaired(
        self, store: sr.Store, backend: Any, case: str
    ) -> None:
        """A `sr_rate_bucket` row with absurd numbers is repaired on load, never trusted."""
        tat, rate, ceiling, epoch, paused = _GARBAGE[case]
        if backend.name == "sqlite" and case == "nan-rate":
            pytest.skip("SQLite stores NaN as NULL, which the NOT NULL column refuses")
        table = store.tables.rate_bucket
        limiter = StoreLimiter(store)
        limiter.reserve(KEY, LIM, NOW)
        with store.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.key == KEY)
                .values(tat=tat, rate=rate, ceiling=ceiling, epoch=epoch, paused_until=paused)
            )
        _assert_usable(StoreLimiter(store))

    def test_a_store_row_with_text_in_a_number_column_is_replaced(self, store: sr.Store) -> None:
        """SQLite keeps whatever is written: an unreadable row is replaced by a fresh bucket."""
        if store.engine.dialect.name != "sqlite":
            pytest.skip("PostgreSQL refuses text in a double precision column itself")
        with store.engine.begin() as conn:  # the Double type would refuse text: raw SQL
            conn.exec_driver_sql(
                "INSERT INTO sr_rate_bucket (key, tat, rate, ceiling, epoch, paused_until, "
                "updated_at) VALUES (?, 'soon', 'fast', NULL, 'x', 0.0, ?)",
                (KEY, NOW),
            )
        _assert_usable(StoreLimiter(store))

    @pytest.mark.parametrize("case", sorted(_GARBAGE))
    def test_redis_values_written_out_of_band_are_repaired(
        self,
        redis_url: str,
        case: str,
    ) -> None:
        """A Redis bucket with absurd numbers (NaN and inf included) is repaired on load."""
        redis = pytest.importorskip("redis")
        prefix = f"r{uuid.uuid4().hex}:"
        client = redis.Redis.from_url(redis_url)
        tat, rate, ceiling, epoch, paused = _GARBAGE[case]
        client.set(prefix + KEY, json.dumps([tat, rate, ceiling, epoch, paused]))
        _assert_usable(RedisLimiter(client, prefix=prefix))

    def test_repair_is_logged_once_per_key(self, caplog: pytest.LogCaptureFixture) -> None:
        """A repaired bucket is reported once, not on every load."""
        limiter = MemoryLimiter()
        limiter.reserve(KEY, LIM, NOW)
        limiter._buckets[KEY] = limiter._buckets[KEY].__class__(  # an attack on the dict
            tat=NOW, rate=1e-300, ceiling=None, epoch=0, paused_until=NOW + YEAR
        )
        with caplog.at_level(logging.WARNING, logger="safe_release.adapters"):
            for _ in range(5):
                limiter.reserve(KEY, LIM, NOW)
        assert len([r for r in caplog.records if "repaired" in r.getMessage()]) == 1


# -- item 2: start-up slack, integer Retry-After, lowered hints -------------------------------


class TestStartUpSlack:
    def test_a_call_that_waited_goes_late_by_the_slowest_answer(self) -> None:
        """10 ms answers: a waiting call goes 10 ms after its slot, and the pace stays the rate."""
        clock = FakeClock()
        server = _Server(clock, latency=0.01)
        shop = _shop(server)
        for _ in range(21):
            shop.call("one")  # burst 1: every call after the first waits for its slot
        first_wait = server.times[1] - server.times[0]
        assert first_wait == pytest.approx(1 / RATE + 0.01, abs=1e-6)
        spacing = (server.times[-1] - server.times[1]) / 19
        assert spacing == pytest.approx(1 / RATE, abs=1e-6)  # the slack is paid once, not per call

    def test_without_latency_there_is_no_slack(self) -> None:
        """Instant answers (the fake clock): calls go exactly on their slots."""
        clock = FakeClock()
        server = _Server(clock)
        shop = _shop(server)
        for _ in range(5):
            shop.call("one")
        assert server.times[-1] - server.times[0] == pytest.approx(4 / RATE, abs=1e-6)

    def test_the_slack_is_at_most_one_token_gap(self) -> None:
        """After a 1 s answer, a waiting call goes at most one interval after its slot."""
        clock = FakeClock()
        server = _Server(clock, latency=1.0)
        shop = _shop(server)
        shop.call("one")  # answered after 1 s: the slowest answer so far
        server.latency = 0.0
        shop.call("one")  # its slot is long past: sent at once
        shop.call("one")  # waits one interval, then at most one more
        assert server.times[2] - server.times[1] == pytest.approx(2 / RATE, abs=1e-6)


class TestIntegerRetryAfter:
    def test_retry_after_1_pauses_one_token_gap_not_a_second(self) -> None:
        """`Retry-After: 1` on a 40/s quota: the retry goes out after ~36 ms, not 1 s."""
        clock = FakeClock()
        server = _Server(clock, httpx.Response(429, headers={"Retry-After": "1"}))
        assert _shop(server).call("get").status_code == 200
        wait = server.times[1] - server.times[0]
        assert 0.02 <= wait <= 0.1

    def test_a_decimal_retry_after_is_honoured_exactly(self) -> None:
        """`Retry-After: 1.0` is precise: the retry waits the full second."""
        clock = FakeClock()
        server = _Server(clock, httpx.Response(429, headers={"Retry-After": "1.0"}))
        assert _shop(server).call("get").status_code == 200
        assert server.times[1] - server.times[0] >= 1.0

    def test_larger_integers_are_honoured_in_full(self) -> None:
        """`Retry-After: 3`: rounding costs at most a third, so the full 3 s are waited."""
        clock = FakeClock()
        server = _Server(clock, httpx.Response(429, headers={"Retry-After": "3"}))
        assert _shop(server).call("get").status_code == 200
        assert server.times[1] - server.times[0] >= 3.0


class TestLoweredHint:
    def test_a_lower_rate_voids_slots_already_handed_out(self) -> None:
        """40/s -> 10/s with callers queued: their slots are void, the queue restarts at 10/s."""
        limiter = MemoryLimiter()
        slots = [limiter.reserve(KEY, LIM, NOW) for _ in range(BURST + 6)]
        assert slots[-1].delay > 0
        limiter.hint(KEY, LIM, 10.0, NOW)
        assert limiter.epoch(KEY) != slots[-1].epoch  # the waiting callers queue again
        again = [NOW + limiter.reserve(KEY, LIM, NOW).delay for _ in range(6)]
        gaps = [b - a for a, b in itertools.pairwise(again)]
        assert gaps == pytest.approx([0.1] * 5, rel=1e-5)

    def test_a_small_correction_keeps_the_slots(self) -> None:
        """A hint a few percent lower stretches the queue's tail without voiding anything."""
        limiter = MemoryLimiter()
        for _ in range(BURST + 6):
            limiter.reserve(KEY, LIM, NOW)
        limiter.hint(KEY, LIM, 38.0, NOW)
        assert limiter.epoch(KEY) == 0

    def test_an_idle_bucket_keeps_its_epoch(self) -> None:
        """With nobody waiting there is nothing to re-time: the epoch stays."""
        limiter = MemoryLimiter()
        limiter.reserve(KEY, LIM, NOW)
        limiter.hint(KEY, LIM, 10.0, NOW)
        assert limiter.epoch(KEY) == 0
