"""MarketplaceAdapter end to end: pacing, shared quotas, restarts, retries, breaker, writes.

Most tests drive the real `AmazonAdapter` against `FakeAmazon` on a fake clock; a
tiny adapter over ``httpx.MockTransport`` stands in where a scripted server is
simpler. Threads run on `VirtualClock`, a discrete-event clock: time jumps to the
next wake-up only once every worker sleeps, so concurrent pacing is measured
exactly and without real sleeps. Tests marked ``xfail(strict=True)`` pin bugs in
``src`` (the reason says which).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections import Counter
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import safe_release as sr
from safe_release.adapters import (
    CircuitBreaker,
    Limit,
    MarketplaceAdapter,
    MemoryLimiter,
    Operation,
    RetryPolicy,
    SideEffect,
    StoreLimiter,
)
from safe_release.adapters._base import response_json
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.exceptions import (
    AmbiguousWriteError,
    CircuitOpenError,
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    PayloadTooLargeError,
    RateLimitedError,
    SafeReleaseError,
    UnknownOperationError,
)
from safe_release.testing import Call, FakeAmazon, FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tests.conftest import Backend

SKU = "SKU-1"
READ = "getListingsItem"
ORDERS_SINCE = "2025-12-31T00:00:00Z"
T0 = 1_767_225_600.0


# -- helpers ---------------------------------------------------------------------------


class VirtualClock:
    """Discrete-event time shared by worker threads started with `run`.

    A worker's ``sleep`` blocks until virtual time reaches its wake-up; time
    jumps to the earliest wake-up only when every worker sleeps, so requests in
    flight (FakeAmazon latency sleeps too) overlap exactly as they would in real
    time. Any other thread's ``sleep`` simply advances time. A worker may block
    on nothing but clock sleeps and short locks: fetch the access token before
    starting workers when the fake has latency.
    """

    def __init__(self, start: float = T0) -> None:
        self._start = start
        self._now = 0.0
        self._cv = threading.Condition()
        self._workers = 0
        self._sleepers: list[tuple[float, int]] = []
        self._seq = itertools.count()
        self._local = threading.local()

    def monotonic(self) -> float:
        """Virtual seconds since the clock was created."""
        return self._now

    def time(self) -> float:
        """Virtual seconds since the epoch."""
        return self._start + self._now

    def advance(self, seconds: float) -> None:
        """Move time forward (outside workers)."""
        with self._cv:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Block a worker until virtual time reaches its wake-up."""
        if seconds <= 0:
            return
        if not getattr(self._local, "worker", False):
            self.advance(seconds)
            return
        with self._cv:
            wake = self._now + seconds
            heapq.heappush(self._sleepers, (wake, next(self._seq)))
            self._step()
            while self._now < wake:
                self._cv.wait()

    def _step(self) -> None:
        if self._workers and len(self._sleepers) == self._workers:
            self._now = max(self._now, self._sleepers[0][0])
            while self._sleepers and self._sleepers[0][0] <= self._now:
                heapq.heappop(self._sleepers)
            self._cv.notify_all()

    def run(self, workers: int, target: Callable[[int], object]) -> list[BaseException]:
        """Run ``target(i)`` in ``workers`` threads; the exceptions they raised."""
        errors: list[BaseException] = []

        def body(index: int) -> None:
            self._local.worker = True
            try:
                target(index)
            except BaseException as exc:  # noqa: BLE001 - handed back to the test
                errors.append(exc)
            finally:
                with self._cv:
                    self._workers -= 1
                    self._step()

        with self._cv:
            self._workers += workers
        threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), "workers deadlocked"
        return errors


def make_amazon(fake: FakeAmazon, clock: Any, **options: Any) -> AmazonAdapter:
    """An AmazonAdapter signed in as the fake's default seller."""
    creds = fake.credentials
    options.setdefault("transport", fake.transport)
    return AmazonAdapter(
        seller_id=creds.seller_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        marketplace_id=creds.marketplace_id,
        clock=clock,
        **options,
    )


def new_fake(clock: Any) -> FakeAmazon:
    """A FakeAmazon on ``clock`` with one listing."""
    fake = FakeAmazon(clock=clock)
    fake.add_listing(SKU, price=Decimal("19.99"), quantity=5)
    return fake


def sent(fake: FakeAmazon, operation: str = READ) -> list[Call]:
    """The requests the fake answered for ``operation``."""
    return [call for call in fake.calls if call.operation == operation]


def throttled(fake: FakeAmazon, operation: str = READ) -> int:
    """How many of them were answered 429."""
    return sum(call.status == 429 for call in sent(fake, operation))


def peak(calls: Iterable[Call], window: float = 1.0) -> int:
    """The most requests in any ``window`` seconds."""
    times = sorted(call.at for call in calls)
    best, low = 0, 0
    for high, at in enumerate(times):
        while at - times[low] >= window:
            low += 1
        best = max(best, high - low + 1)
    return best


def read_orders(adapter: AmazonAdapter) -> httpx.Response:
    """One getOrders page."""
    return adapter.call(
        "getOrders",
        params={"MarketplaceIds": adapter.marketplace_id, "CreatedAfter": ORDERS_SINCE},
    )


async def aread(adapter: AmazonAdapter) -> int:
    """One getListingsItem through the async surface; its status."""
    response = await adapter.acall(
        READ,
        path_params={"sellerId": adapter.seller_id, "sku": SKU},
        params={"marketplaceIds": adapter.marketplace_id},
    )
    return response.status_code


def bucket(adapter: MarketplaceAdapter, operation: str = READ) -> sr.adapters.BucketState:
    """The adapter's bucket for ``operation`` as it stands now."""
    op = adapter.operation(operation)
    return adapter.limiter.state(adapter.quota_key(op), adapter.limit(op), adapter.clock.time())


class Rewriting(httpx.BaseTransport):
    """The fake's transport with the rate header of SP-API answers replaced (or removed)."""

    def __init__(self, fake: FakeAmazon, value: str | None) -> None:
        self.fake, self.value = fake, value

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.fake.transport.handle_request(request)
        if "x-amzn-RateLimit-Limit" in response.headers:
            del response.headers["x-amzn-RateLimit-Limit"]
            if self.value is not None:
                response.headers["x-amzn-RateLimit-Limit"] = self.value
        return response


class Server:
    """A scripted marketplace: answers from a queue (then 200 OK) and records requests.

    An answer is an ``httpx.Response`` or an ``httpx.TransportError`` subclass to raise.
    """

    def __init__(self, clock: FakeClock, *answers: httpx.Response | type[Exception]) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(self.clock.monotonic())
        answer = self.answers.pop(0) if self.answers else httpx.Response(200, json={"ok": 1})
        if isinstance(answer, type):
            raise answer("scripted", request=request)  # type: ignore[call-arg]
        return answer


SHOP_OPERATIONS = {
    op.name: op
    for op in (
        Operation.declare("getThing", "GET", "/things/{thingId}", rate=1000, burst=1000),
        Operation.declare("slowThing", "GET", "/slow", rate=10, burst=1),
        Operation.declare(
            "createThing",
            "POST",
            "/things",
            rate=1000,
            burst=1000,
            side_effect=SideEffect.COMPENSABLE,
            max_body_bytes=256,
        ),
        Operation.declare(
            "putThing",
            "PUT",
            "/things/{thingId}",
            rate=1000,
            burst=1000,
            side_effect=SideEffect.REVERSIBLE,
            idempotent=True,
        ),
    )
}


class Shop(MarketplaceAdapter):
    """A tiny marketplace adapter: generic hooks only, a scripted reconcile outcome."""

    marketplace = "shop"
    operations = SHOP_OPERATIONS

    def __init__(self, server: Server, *, outcome: object = None, **options: Any) -> None:
        options.setdefault("clock", server.clock)
        super().__init__(
            base_url="https://shop.test",
            seller="S1",
            app="A1",
            transport=httpx.MockTransport(server),
            **options,
        )
        self.outcome = outcome
        self.reconciled: list[str] = []

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """Answer with the scripted outcome (a response, True, False or None)."""
        self.reconciled.append(op.name)
        if callable(self.outcome):
            return self.outcome(request)  # type: ignore[no-any-return]
        return self.outcome  # type: ignore[return-value]


def status(code: int, **headers: str) -> httpx.Response:
    """A JSON error answer with ``headers``."""
    return httpx.Response(code, json={"error": code}, headers=headers)


@pytest.fixture(name="fake")
def fixture_fake(fake_amazon: FakeAmazon) -> FakeAmazon:
    """The plugin's FakeAmazon with one listing."""
    fake_amazon.add_listing(SKU, price=Decimal("19.99"), quantity=5)
    return fake_amazon


@pytest.fixture(name="vclock")
def fixture_vclock() -> VirtualClock:
    """Virtual time for worker threads."""
    return VirtualClock()


# -- no storm --------------------------------------------------------------------------


class TestPacing:
    def test_sequential_calls_follow_the_quota(
        self, fake: FakeAmazon, amazon_adapter: AmazonAdapter, fake_clock: FakeClock
    ) -> None:
        """60 reads at 5/s burst 10: no 429, done in (60 - 10) / 5 s on the fake clock."""
        for _ in range(60):
            amazon_adapter.get_listing(SKU)
        assert len(sent(fake)) == 60
        assert throttled(fake) == 0
        assert fake_clock.monotonic() == pytest.approx(10.0, abs=0.01)

    def test_a_lower_own_limit_never_draws_a_429(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """Pacing below the server's quota: not a single 429 over 60 calls."""
        adapter = make_amazon(fake, fake_clock, limits={READ: Limit(2, 5)})
        for _ in range(60):
            adapter.get_listing(SKU)
        assert throttled(fake) == 0

    def test_a_lower_own_limit_is_the_pace(self, fake: FakeAmazon, fake_clock: FakeClock) -> None:
        """An override of 2/s burst 5 paces 60 calls over (60 - 5) / 2 s."""
        adapter = make_amazon(fake, fake_clock, limits={READ: Limit(2, 5)})
        for _ in range(60):
            adapter.get_listing(SKU)
        assert fake_clock.monotonic() >= 27.5 - 0.01

    def test_sixteen_threads_never_exceed_the_bucket(self, vclock: VirtualClock) -> None:
        """16 threads, 600 calls on a 40/s burst-10 quota: no 429, <= 1.03x ideal time."""
        fake = new_fake(vclock)
        fake.set_limit(READ, rate=40, burst=10)
        fake.faults.latency = 0.02
        adapter = make_amazon(fake, vclock, limits={READ: Limit(40, 10)})
        adapter.tokens.token()
        start = vclock.monotonic()
        errors = vclock.run(16, lambda i: [adapter.get_listing(SKU) for _ in range(37 + (i < 8))])
        assert errors == []
        calls = sent(fake)
        assert len(calls) == 600
        assert throttled(fake) == 0
        ideal = (600 - 10) / 40
        assert ideal <= vclock.monotonic() - start <= 1.03 * ideal
        assert peak(calls) <= 10 + 40 + 1

    def test_server_limit_lower_than_documented(self, vclock: VirtualClock) -> None:
        """Real quota 2/s burst 3 (documented 5/10): few 429s, paused and lowered, all succeed."""
        fake = new_fake(vclock)
        fake.set_limit(READ, rate=2, burst=3)
        adapter = make_amazon(fake, vclock)
        start = vclock.monotonic()
        errors = vclock.run(16, lambda _: [adapter.get_listing(SKU) for _ in range(12)])
        assert errors == []
        calls = sent(fake)
        assert len(calls) - throttled(fake) == 192
        assert 1 <= throttled(fake) <= 5
        state = bucket(adapter)
        assert state.rate == pytest.approx(2.0)  # the x-amzn-RateLimit-Limit hint
        assert 1 <= state.epoch <= throttled(fake)  # 429s paused the whole bucket
        assert vclock.monotonic() - start <= 1.06 * (192 - 3) / 2

    def test_lower_limit_without_hints_still_succeeds(self, vclock: VirtualClock) -> None:
        """No rate header at all: 429s slow the bucket down and every call succeeds."""
        fake = new_fake(vclock)
        fake.set_limit(READ, rate=2, burst=3)
        adapter = make_amazon(fake, vclock, transport=Rewriting(fake, None))
        errors = vclock.run(16, lambda _: [adapter.get_listing(SKU) for _ in range(12)])
        assert errors == []
        assert len(sent(fake)) - throttled(fake) == 192
        assert bucket(adapter).epoch >= 1
        assert vclock.monotonic() <= 1.3 * (192 - 3) / 2

    @pytest.mark.xfail(
        strict=True,
        reason=(
            "KNOWN LIMITATION: without rate headers the limiter learns a ceiling from 429s and "
            "probes above it after 5 quiet seconds; against a real limit far below the declared "
            "one that costs about 6 % 429s (target 5 %). Amazon sends x-amzn-RateLimit-Limit on "
            "2xx, which the adapter follows exactly (0 429s: see the hinted tests)"
        ),
    )
    def test_lower_limit_without_hints_keeps_429s_rare(self, vclock: VirtualClock) -> None:
        """No rate header, real quota 2/s (documented 5/s): at most 5 % of requests are 429."""
        fake = new_fake(vclock)
        fake.set_limit(READ, rate=2, burst=3)
        adapter = make_amazon(fake, vclock, transport=Rewriting(fake, None))
        errors = vclock.run(16, lambda _: [adapter.get_listing(SKU) for _ in range(12)])
        assert errors == []
        assert throttled(fake) <= 0.05 * len(sent(fake))

    def test_spurious_429s_with_hints_cost_little(self, vclock: VirtualClock) -> None:
        """0.5 % spurious 429s at the documented quota (hints on): <= 1.1x the ideal time."""
        fake = new_fake(vclock)
        fake.set_limit(READ, rate=40, burst=10)
        fake.faults.throttle_storm(0.005)
        adapter = make_amazon(fake, vclock, limits={READ: Limit(40, 10)})
        adapter.tokens.token()
        errors = vclock.run(16, lambda i: [adapter.get_listing(SKU) for _ in range(37 + (i < 8))])
        assert errors == []
        assert vclock.monotonic() <= 1.1 * (600 - 10) / 40

    def test_spurious_429s_without_hints_do_not_collapse_the_rate(
        self, vclock: VirtualClock
    ) -> None:
        """0.5 % spurious 429s at the documented quota, no rate header: <= 1.25x ideal time."""
        fake = new_fake(vclock)
        fake.set_limit(READ, rate=40, burst=10)
        fake.faults.throttle_storm(0.005)
        adapter = make_amazon(
            fake, vclock, limits={READ: Limit(40, 10)}, transport=Rewriting(fake, None)
        )
        adapter.tokens.token()
        errors = vclock.run(16, lambda i: [adapter.get_listing(SKU) for _ in range(37 + (i < 8))])
        assert errors == []
        assert vclock.monotonic() <= 1.25 * (600 - 10) / 40

    def test_rate_hint_lowers_the_bucket(
        self, fake: FakeAmazon, fake_clock: FakeClock, amazon_adapter: AmazonAdapter
    ) -> None:
        """x-amzn-RateLimit-Limit: 1 on the first answer paces the rest at 1/s, no 429."""
        fake.set_limit(READ, rate=1, burst=10)
        amazon_adapter.get_listing(SKU)
        assert bucket(amazon_adapter).rate == pytest.approx(1.0)
        for _ in range(20):
            amazon_adapter.get_listing(SKU)
        assert throttled(fake) == 0
        assert fake_clock.monotonic() == pytest.approx(21 - 10, abs=0.01)

    @pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf", "1e999", "", " "])
    def test_garbage_rate_hints_are_ignored(
        self, fake: FakeAmazon, fake_clock: FakeClock, value: str
    ) -> None:
        """A rate header that is not a positive finite number changes nothing."""
        adapter = make_amazon(fake, fake_clock, transport=Rewriting(fake, value))
        for _ in range(12):
            adapter.get_listing(SKU)
        assert bucket(adapter).rate == pytest.approx(5.0)
        assert throttled(fake) == 0

    def test_replenish_headers_hold_the_next_call(self, fake_clock: FakeClock) -> None:
        """Walmart-style 'no token left, next at T' makes the next request wait for T."""
        next_at = fake_clock.time() + 5
        server = Server(
            fake_clock,
            httpx.Response(
                200,
                json={},
                headers={
                    "x-current-token-count": "0",
                    "x-next-replenish-time": str(int(next_at * 1000)),
                },
            ),
        )
        shop = Shop(server)
        shop.call("getThing", path_params={"thingId": "1"})
        shop.call("getThing", path_params={"thingId": "2"})
        assert server.times[1] - server.times[0] >= 5.0

    @pytest.mark.parametrize(
        ("count", "when"),
        [("abc", "1"), ("-1", "9e12"), ("0", "nan"), ("0", "1"), ("inf", "9e12")],
    )
    def test_garbage_replenish_headers_are_ignored(
        self, fake_clock: FakeClock, count: str, when: str
    ) -> None:
        """Unusable replenish headers (or a refill time in the past) do not hold calls."""
        server = Server(
            fake_clock,
            httpx.Response(
                200,
                json={},
                headers={"x-current-token-count": count, "x-next-replenishment-time": when},
            ),
        )
        shop = Shop(server)
        shop.call("getThing", path_params={"thingId": "1"})
        shop.call("getThing", path_params={"thingId": "2"})
        assert server.times[1] - server.times[0] < 0.01

    def test_quota_keys_are_per_operation_seller_app_and_region(
        self, fake: FakeAmazon, fake_clock: FakeClock, amazon_adapter: AmazonAdapter
    ) -> None:
        """Each operation x seller x app x region has its own bucket."""
        other = fake.new_app()
        adapter = AmazonAdapter(
            seller_id=other.seller_id,
            client_id=other.client_id,
            client_secret=other.client_secret,
            refresh_token=other.refresh_token,
            region="eu",
            base_url="https://sp.test",
            transport=fake.transport,
            clock=fake_clock,
        )
        op = amazon_adapter.operation(READ)
        keys = {
            amazon_adapter.quota_key(op),
            adapter.quota_key(op),
            amazon_adapter.quota_key(amazon_adapter.operation("getOrders")),
        }
        assert len(keys) == 3
        assert amazon_adapter.quota_key(op) == (
            f"amazon|{READ}|{amazon_adapter.seller}|{amazon_adapter.app}|na"
        )


# -- one quota, many callers -------------------------------------------------------------


class TestSharedQuota:
    def test_a_429_pauses_every_adapter_on_a_memory_limiter(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """Adapter A's 429 makes adapter B (same seller and app) wait: B sends no 429."""
        shared = MemoryLimiter()
        first = make_amazon(fake, fake_clock, limiter=shared)
        second = make_amazon(fake, fake_clock, limiter=shared)
        fake.drain(READ)
        first.get_listing(SKU)
        assert throttled(fake) == 1
        paused_until = bucket(second).paused_until
        assert paused_until > T0
        second.get_listing(SKU)
        assert throttled(fake) == 1
        assert sent(fake)[-1].at >= paused_until

    def test_separate_limiters_do_not_pause_each_other(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """The contrast: B with its own limiter still believes in a full bucket and gets a 429."""
        first = make_amazon(fake, fake_clock, limiter=MemoryLimiter())
        second = make_amazon(fake, fake_clock, limiter=MemoryLimiter())
        fake.drain(READ)
        first.get_listing(SKU)
        second.get_listing(SKU)
        assert throttled(fake) == 2

    def test_another_app_keeps_its_own_bucket(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """A 429 for one app does not pause another app's quota on the same limiter."""
        shared = MemoryLimiter()
        first = make_amazon(fake, fake_clock, limiter=shared)
        creds = fake.new_app()
        other = AmazonAdapter(
            seller_id=creds.seller_id,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            refresh_token=creds.refresh_token,
            transport=fake.transport,
            clock=fake_clock,
            limiter=shared,
        )
        fake.drain(READ, credentials=fake.credentials)
        first.get_listing(SKU)
        assert bucket(first).epoch == 1
        assert bucket(other).epoch == 0
        before = fake_clock.monotonic()
        other.get_listing(SKU)
        assert fake_clock.monotonic() == before
        assert throttled(fake) == 1

    @pytest.mark.parametrize("processes", [1, 2])
    def test_a_429_pauses_every_adapter_on_a_store_limiter(
        self, store: sr.Store, backend: Backend, clock: FakeClock, processes: int
    ) -> None:
        """One StoreLimiter, or two processes' (two connections): A's 429 pauses B's calls."""
        fake = new_fake(clock)
        second_store = sr.connect(backend.url, schema=backend.schema, clock=clock)
        try:
            first = make_amazon(fake, clock, limiter=StoreLimiter(store))
            second = make_amazon(
                fake,
                clock,
                limiter=first.limiter if processes == 1 else StoreLimiter(second_store),
            )
            fake.drain(READ)
            first.get_listing(SKU)
            paused_until = bucket(second).paused_until
            assert paused_until > T0
            second.get_listing(SKU)
            assert throttled(fake) == 1
            assert sent(fake)[-1].at >= paused_until
        finally:
            second_store.close()

    def test_two_processes_under_threads_share_one_quota(
        self, store: sr.Store, backend: Backend, vclock: VirtualClock
    ) -> None:
        """2 store-backed adapters x 8 threads, 200 calls on 40/s burst 10: no 429."""
        fake = new_fake(vclock)
        fake.set_limit(READ, rate=40, burst=10)
        second_store = sr.connect(backend.url, schema=backend.schema)
        try:
            adapters = [
                make_amazon(fake, vclock, limiter=StoreLimiter(s), limits={READ: Limit(40, 10)})
                for s in (store, second_store)
            ]
            for adapter in adapters:
                adapter.tokens.token()
            errors = vclock.run(
                16, lambda i: [adapters[i % 2].get_listing(SKU) for _ in range(12 + (i < 8))]
            )
        finally:
            second_store.close()
        assert errors == []
        assert len(sent(fake)) == 200
        assert throttled(fake) == 0
        assert peak(sent(fake)) <= 10 + 40 + 1
        assert vclock.monotonic() <= 1.05 * (200 - 10) / 40


class TestRestart:
    @staticmethod
    def _restart(fake: FakeAmazon, clock: VirtualClock, first: object, second: object) -> int:
        """A job uses the burst, sees a 429, dies; 16 restarted workers read: their 429s."""
        fake.faults.latency = 0.05
        job = make_amazon(fake, clock, limiter=first)
        for _ in range(10):
            job.get_listing(SKU)
        fake.drain(READ)
        job.get_listing(SKU)
        assert throttled(fake) == 1
        job.close()
        fake.reset_calls()
        restarted = make_amazon(fake, clock, limiter=second)
        restarted.tokens.token()
        errors = clock.run(16, lambda _: [restarted.get_listing(SKU) for _ in range(2)])
        assert errors == []
        assert len(sent(fake)) - throttled(fake) == 32
        return throttled(fake)

    def test_a_fresh_memory_limiter_bursts_into_the_drained_bucket(
        self, vclock: VirtualClock
    ) -> None:
        """The contrast: a restarted process with a full in-memory bucket gets a burst of 429s."""
        fake = new_fake(vclock)
        assert self._restart(fake, vclock, MemoryLimiter(), MemoryLimiter()) >= 5

    def test_store_limiter_remembers_the_drained_bucket(
        self, store: sr.Store, vclock: VirtualClock
    ) -> None:
        """A restarted process on the same store continues from the stored level: no burst."""
        fake = new_fake(vclock)
        assert self._restart(fake, vclock, StoreLimiter(store), StoreLimiter(store)) <= 1

    def test_empty_initial_bucket_never_bursts(self, vclock: VirtualClock) -> None:
        """MemoryLimiter(initial='empty'): a cautious restart without shared state."""
        fake = new_fake(vclock)
        limiter = MemoryLimiter(initial="empty")
        assert self._restart(fake, vclock, MemoryLimiter(), limiter) <= 1


# -- retries ----------------------------------------------------------------------------


def _no_tenacity(exc: BaseException) -> None:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    assert all(not type(e).__module__.startswith("tenacity") for e in chain)


class TestRetries:
    def test_5xx_on_a_read_is_retried_with_jitter_then_succeeds(
        self, fake: FakeAmazon, fake_clock: FakeClock, amazon_adapter: AmazonAdapter
    ) -> None:
        """Two 502 pages, then success; each wait is drawn from its backoff window."""
        amazon_adapter.get_listing(SKU)
        fake_clock.slept.clear()
        fake.faults.garbage_next(READ, times=2)
        assert amazon_adapter.get_price(SKU) == Decimal("19.99")
        assert [c.status for c in sent(fake)][-3:] == [502, 502, 200]
        first, second = fake_clock.slept
        assert 0 <= first <= 0.25
        assert 0 <= second <= 0.5

    def test_retry_delays_are_spread(self, fake_clock: FakeClock) -> None:
        """40 calls that each fail once wait different, window-bounded times (full jitter)."""
        server = Server(fake_clock, *[a for _ in range(40) for a in (status(503), status(200))])
        shop = Shop(server, retry=RetryPolicy(budget_min_per_window=100))
        for _ in range(40):
            shop.call("getThing", path_params={"thingId": "1"})
        delays = fake_clock.slept
        assert len(delays) == 40
        assert all(0 <= d <= 0.25 for d in delays)
        assert len(set(delays)) == 40
        assert max(delays) - min(delays) > 0.1

    def test_max_attempts_bounds_retries_and_raises_the_last_error(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """max_attempts=3 against endless 502s: 3 requests, then MarketplaceHTTPError 502."""
        adapter = make_amazon(fake, fake_clock, retry=RetryPolicy(max_attempts=3))
        fake.faults.garbage_next(READ, times=10)
        with pytest.raises(MarketplaceHTTPError) as info:
            adapter.get_listing(SKU)
        assert info.value.status == 502
        assert info.value.operation == READ
        assert "not an SP-API error document" in str(info.value)
        assert len(sent(fake)) == 3
        _no_tenacity(info.value)

    def test_deadline_bounds_retries(self, fake: FakeAmazon, fake_clock: FakeClock) -> None:
        """A 2 s deadline during an outage: no retry is started past it; the 503 is raised."""
        adapter = make_amazon(
            fake,
            fake_clock,
            retry=RetryPolicy(deadline=2.0),
            breaker=CircuitBreaker(failure_threshold=100, clock=fake_clock),
        )
        adapter.tokens.token()
        fake.faults.outage(fake_clock.time(), fake_clock.time() + 600)
        with pytest.raises(MarketplaceHTTPError) as info:
            adapter.get_listing(SKU)
        assert info.value.status == 503
        assert fake_clock.monotonic() <= 2.0
        assert 1 <= len(sent(fake)) <= 6
        _no_tenacity(info.value)

    def test_throttled_through_every_attempt_raises_rate_limited(
        self, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """A throttle storm: 6 attempts, RateLimitedError QuotaExceeded; the breaker stays shut."""
        fake.faults.throttle_storm(1.0)
        with pytest.raises(RateLimitedError) as info:
            amazon_adapter.get_listing(SKU)
        assert (info.value.status, info.value.code) == (429, "QuotaExceeded")
        assert len(sent(fake)) == 6
        assert amazon_adapter.breaker.state == "closed"
        _no_tenacity(info.value)

    def test_a_call_the_quota_cannot_serve_in_time_is_not_sent(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """getOrders after its burst of 20 would wait 60 s > a 30 s deadline: raised unsent."""
        adapter = make_amazon(fake, fake_clock, retry=RetryPolicy(deadline=30))
        for _ in range(20):
            read_orders(adapter)
        with pytest.raises(RateLimitedError, match="deadline") as info:
            read_orders(adapter)
        assert info.value.retry_after == pytest.approx(1 / 0.0167, rel=0.01)
        assert len(sent(fake, "getOrders")) == 20

    def test_refused_calls_do_not_starve_later_ones(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """After 5 calls refused for the deadline, a call one refill later is sent."""
        adapter = make_amazon(fake, fake_clock, retry=RetryPolicy(deadline=30))
        for _ in range(20):
            read_orders(adapter)
        for _ in range(5):
            with pytest.raises(RateLimitedError):
                read_orders(adapter)
        fake_clock.advance(61)
        assert fake.tokens("getOrders") >= 1
        assert read_orders(adapter).status_code == 200

    def test_a_refund_never_double_books_a_slot(self) -> None:
        """B gives its slot back after C reserved: D still comes after C, never with it."""
        limiter, limit, now = MemoryLimiter(), Limit(1.0, 1), T0
        key = "amazon|getOrders|S|A|na"
        limiter.reserve(key, limit, now)
        refused = limiter.reserve(key, limit, now)
        later = limiter.reserve(key, limit, now)
        limiter.refund(key, limit, refused, now)
        assert limiter.reserve(key, limit, now).delay >= later.delay + 1.0 - 1e-6

    def test_default_policy_raises_the_last_real_error(
        self, fake: FakeAmazon, amazon_adapter: AmazonAdapter
    ) -> None:
        """Endless 502s with the defaults: the last real error (HTTP 502) is raised."""
        fake.faults.garbage_next(READ, times=10)
        with pytest.raises(MarketplaceHTTPError) as info:
            amazon_adapter.get_listing(SKU)
        assert info.value.status == 502

    def test_an_opening_breaker_ends_a_call_with_its_last_transport_error(
        self, fake_clock: FakeClock
    ) -> None:
        """Default policy, endless connect errors: the typed transport error, not the breaker."""
        server = Server(fake_clock, *[httpx.ConnectError] * 10)
        with pytest.raises(sr.exceptions.MarketplaceTransportError) as info:
            Shop(server).call("getThing", path_params={"thingId": "1"})
        assert len(server.requests) == 5
        _no_tenacity(info.value)

    def test_retry_budget_stops_a_retry_storm(self, vclock: VirtualClock) -> None:
        """Every call fails: retries stay within the budget (~20 % of requests), not 6x."""
        fake = new_fake(vclock)
        adapter = make_amazon(
            fake, vclock, breaker=CircuitBreaker(failure_threshold=10**6, clock=vclock)
        )
        fake.faults.error_rate = 1.0
        outcomes: Counter[str] = Counter()

        def one() -> None:
            try:
                adapter.get_listing(SKU)
            except MarketplaceError as exc:
                outcomes[type(exc).__name__] += 1

        assert vclock.run(16, lambda _: [one() for _ in range(25)]) == []
        assert outcomes == {"MarketplaceHTTPError": 400}
        assert len(sent(fake)) <= 1.3 * 400

    def test_without_the_budget_the_same_failure_would_storm(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """The contrast: a budget that allows everything sends max_attempts per call."""
        policy = RetryPolicy(budget_ratio=1.0, budget_min_per_window=10**6)
        adapter = make_amazon(
            fake,
            fake_clock,
            retry=policy,
            breaker=CircuitBreaker(failure_threshold=10**6, clock=fake_clock),
        )
        fake.faults.error_rate = 1.0
        for _ in range(10):
            with pytest.raises(MarketplaceHTTPError):
                adapter.get_listing(SKU)
        assert len(sent(fake)) == 60

    def test_a_valid_retry_after_is_honoured(self, fake_clock: FakeClock) -> None:
        """429 with Retry-After: 7 — the retry goes 7 s later, not sooner."""
        server = Server(fake_clock, status(429, **{"Retry-After": "7"}))
        response = Shop(server).call("getThing", path_params={"thingId": "1"})
        assert response.status_code == 200
        assert server.times[1] - server.times[0] >= 7.0

    @pytest.mark.parametrize(
        "value",
        ["soon", "-5", "1e9", "NaN", "99999999999", "Wed, 32 Foo 2026 99:00:00 GMT", "", "5" * 80],
    )
    def test_garbage_retry_after_on_429_is_ignored(
        self, fake_clock: FakeClock, value: str
    ) -> None:
        """A 429 with an unusable Retry-After: the bucket's own pause applies, then success."""
        server = Server(fake_clock, status(429, **{"Retry-After": value}))
        shop = Shop(server)
        response = shop.call("slowThing")
        assert response.status_code == 200
        wait = server.times[1] - server.times[0]
        assert 0 < wait <= 1.0
        assert bucket(shop, "slowThing").epoch == 1

    @pytest.mark.parametrize("value", ["soon", "-5", "inf", "99999999999"])
    def test_garbage_retry_after_on_503_is_ignored(
        self, fake_clock: FakeClock, value: str
    ) -> None:
        """A 503 with an unusable Retry-After: ordinary jittered backoff, then success."""
        server = Server(fake_clock, status(503, **{"Retry-After": value}))
        assert Shop(server).call("getThing", path_params={"thingId": "1"}).status_code == 200
        assert server.times[1] - server.times[0] <= 0.25


# -- circuit breaker ----------------------------------------------------------------------


class TestCircuitBreaker:
    @staticmethod
    def _adapter(fake: FakeAmazon, clock: FakeClock, **options: Any) -> AmazonAdapter:
        breaker = CircuitBreaker(failure_threshold=3, window=30, recovery=10, clock=clock)
        return make_amazon(
            fake, clock, breaker=breaker, retry=RetryPolicy(max_attempts=1), **options
        )

    def test_opens_on_sustained_5xx_and_sends_nothing(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """3 server errors open it; then calls fail fast and no request reaches the fake."""
        adapter = self._adapter(fake, fake_clock)
        fake.faults.outage(fake_clock.time(), fake_clock.time() + 60)
        for _ in range(3):
            with pytest.raises(MarketplaceHTTPError):
                adapter.get_listing(SKU)
        assert adapter.breaker.state == "open"
        count = len(fake.calls)
        for _ in range(5):
            with pytest.raises(CircuitOpenError) as info:
                adapter.get_listing(SKU)
            assert info.value.retry_at == pytest.approx(fake_clock.monotonic() + 10, abs=0.5)
        assert len(fake.calls) == count

    def test_probes_half_open_after_recovery_and_closes(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """After recovery one probe goes out (others are refused meanwhile); its success closes."""
        refused: list[BaseException] = []
        adapter: AmazonAdapter

        class Nested(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if adapter.breaker.state == "half_open" and not refused:
                    with pytest.raises(CircuitOpenError) as info:
                        adapter.get_price(SKU)
                    refused.append(info.value)
                return fake.transport.handle_request(request)

        adapter = self._adapter(fake, fake_clock, transport=Nested())
        adapter.tokens.token()
        fake.faults.outage(fake_clock.time(), fake_clock.time() + 5)
        for _ in range(3):
            with pytest.raises(MarketplaceHTTPError):
                adapter.get_listing(SKU)
        fake_clock.advance(10)
        assert adapter.breaker.state == "half_open"
        count = len(fake.calls)
        assert adapter.get_price(SKU) == Decimal("19.99")
        assert len(refused) == 1
        assert len(fake.calls) == count + 1
        assert adapter.breaker.state == "closed"
        adapter.get_listing(SKU)

    def test_a_failed_probe_reopens(self, fake: FakeAmazon, fake_clock: FakeClock) -> None:
        """The probe meets the outage still on: open again for another recovery period."""
        adapter = self._adapter(fake, fake_clock)
        fake.faults.outage(fake_clock.time(), fake_clock.time() + 60)
        for _ in range(3):
            with pytest.raises(MarketplaceHTTPError):
                adapter.get_listing(SKU)
        fake_clock.advance(10)
        with pytest.raises(MarketplaceHTTPError):
            adapter.get_listing(SKU)
        assert adapter.breaker.state == "open"
        with pytest.raises(CircuitOpenError):
            adapter.get_listing(SKU)

    def test_429s_never_open_it(self, fake: FakeAmazon, fake_clock: FakeClock) -> None:
        """Throttling is not a server failure: the breaker stays closed through a storm."""
        adapter = self._adapter(fake, fake_clock)
        fake.faults.throttle_storm(1.0)
        for _ in range(10):
            with pytest.raises(RateLimitedError):
                adapter.get_listing(SKU)
        assert adapter.breaker.state == "closed"

    def test_a_probe_answered_404_closes_it(self, fake: FakeAmazon, fake_clock: FakeClock) -> None:
        """The server is up if it answers 404: the probe closes the circuit."""
        adapter = self._adapter(fake, fake_clock)
        fake.faults.outage(fake_clock.time(), fake_clock.time() + 5)
        for _ in range(3):
            with pytest.raises(MarketplaceHTTPError):
                adapter.get_listing(SKU)
        fake_clock.advance(10)
        with pytest.raises(MarketplaceHTTPError) as info:
            adapter.get_order_items("111-0000000-0000000")
        assert info.value.status == 404
        assert adapter.get_price(SKU) == Decimal("19.99")

    def test_circuit_open_error_names_the_call(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """CircuitOpenError says which marketplace and operation it refused."""
        adapter = self._adapter(fake, fake_clock)
        fake.faults.outage(fake_clock.time(), fake_clock.time() + 60)
        for _ in range(3):
            with pytest.raises(MarketplaceHTTPError):
                adapter.get_listing(SKU)
        with pytest.raises(CircuitOpenError) as info:
            adapter.get_listing(SKU)
        assert (info.value.marketplace, info.value.operation) == ("amazon", READ)


# -- ambiguous writes and the reconcile hook ------------------------------------------------


class TestReconcile:
    def test_unknown_outcome_raises_ambiguous_write_and_never_resends(
        self, fake_clock: FakeClock
    ) -> None:
        """A read timeout after sending a non-idempotent write: reconcile says unknown -> raise."""
        server = Server(fake_clock, httpx.ReadTimeout)
        shop = Shop(server)
        with pytest.raises(AmbiguousWriteError, match="NOT retried") as info:
            shop.call("createThing", json={"name": "a"})
        assert (info.value.marketplace, info.value.operation) == ("shop", "createThing")
        assert len(server.requests) == 1
        assert shop.reconciled == ["createThing"]

    def test_not_applied_is_resent_once(self, fake_clock: FakeClock) -> None:
        """Reconcile says it did not happen: the write is sent again and succeeds."""
        server = Server(fake_clock, httpx.ReadTimeout)
        shop = Shop(server, outcome=False)
        assert shop.call("createThing", json={"name": "a"}).status_code == 200
        assert len(server.requests) == 2

    def test_a_reconciled_response_is_the_result(self, fake_clock: FakeClock) -> None:
        """Reconcile finds the created thing: its response is returned, nothing resent."""
        server = Server(fake_clock, httpx.ReadTimeout)
        found = httpx.Response(201, json={"id": "t-1"})
        shop = Shop(server, outcome=found)
        assert shop.call("createThing", json={"name": "a"}) is found
        assert len(server.requests) == 1

    def test_reconciled_true_is_not_ambiguous(self, fake_clock: FakeClock) -> None:
        """Reconcile answering True ('it happened'): an empty 200 marked reconciled, no resend."""
        server = Server(fake_clock, httpx.ReadTimeout)
        shop = Shop(server, outcome=True)
        response = shop.call("createThing", json={"name": "a"})
        assert response.status_code == 200
        assert response.headers["x-safe-release-reconciled"] == "1"
        assert len(server.requests) == 1

    def test_a_5xx_on_a_non_idempotent_write_is_reconciled(self, fake_clock: FakeClock) -> None:
        """A 500 after sending may have been applied: reconcile, never blindly resend."""
        server = Server(fake_clock, status(500))
        shop = Shop(server)
        with pytest.raises(AmbiguousWriteError, match="HTTP 500"):
            shop.call("createThing", json={"name": "a"})
        assert len(server.requests) == 1

    def test_a_connect_error_is_resent_without_reconciling(self, fake_clock: FakeClock) -> None:
        """A write that never left (connection refused) is safe to send again."""
        server = Server(fake_clock, httpx.ConnectError)
        shop = Shop(server)
        assert shop.call("createThing", json={"name": "a"}).status_code == 200
        assert len(server.requests) == 2
        assert shop.reconciled == []

    def test_an_idempotent_write_is_resent_without_reconciling(
        self, fake_clock: FakeClock
    ) -> None:
        """A PUT declared idempotent is resent after a read timeout."""
        server = Server(fake_clock, httpx.ReadTimeout)
        shop = Shop(server)
        assert (
            shop.call("putThing", path_params={"thingId": "1"}, json={"v": 1}).status_code == 200
        )
        assert len(server.requests) == 2
        assert shop.reconciled == []

    def test_transport_errors_on_reads_end_in_a_typed_error(self, fake_clock: FakeClock) -> None:
        """Endless connection failures: MarketplaceTransportError chained to httpx's error."""
        server = Server(fake_clock, *[httpx.ConnectError] * 10)
        shop = Shop(server, retry=RetryPolicy(max_attempts=3))
        with pytest.raises(sr.exceptions.MarketplaceTransportError, match="3 attempt") as info:
            shop.call("getThing", path_params={"thingId": "1"})
        assert isinstance(info.value.__cause__, httpx.ConnectError)
        assert len(server.requests) == 3

    def test_async_ambiguous_write(self, fake_clock: FakeClock) -> None:
        """acall reconciles through the same core (the sync hook in a thread)."""
        server = Server(fake_clock, httpx.ReadTimeout)
        shop = Shop(server)

        async def main() -> None:
            async with shop:
                await shop.acall("createThing", json={"name": "a"})

        with pytest.raises(AmbiguousWriteError):
            asyncio.run(main())
        assert shop.reconciled == ["createThing"]
        assert len(server.requests) == 1


# -- bad input --------------------------------------------------------------------------


class TestBadInput:
    def test_unknown_operation(self, fake_clock: FakeClock) -> None:
        """An undeclared operation: UnknownOperationError (a LookupError) naming the known ones."""
        server = Server(fake_clock)
        with pytest.raises(UnknownOperationError, match="createThing, getThing") as info:
            Shop(server).call("deleteEverything")
        assert isinstance(info.value, LookupError)
        assert server.requests == []

    @pytest.mark.parametrize(
        ("rate", "burst"),
        [
            (0, 5),
            (-1, 5),
            (float("nan"), 5),
            (float("inf"), 5),
            (True, 5),
            ("5", 5),
            (5, 0),
            (5, -1),
            (5, 1.5),
            (5, True),
        ],
    )
    def test_bad_declared_limits(self, rate: Any, burst: Any) -> None:
        """Zero, negative or non-numeric rates and bursts are refused at declaration."""
        with pytest.raises(InvalidArgumentError, match=r"rate|burst"):
            Operation.declare("op", "GET", "/x", rate=rate, burst=burst)

    @pytest.mark.parametrize(("method", "path"), [("FETCH", "/x"), ("GET", "x")])
    def test_bad_declarations(self, method: str, path: str) -> None:
        """An unknown method or a relative path is refused at declaration."""
        with pytest.raises(InvalidArgumentError):
            Operation.declare("op", method, path, rate=1, burst=1)

    @pytest.mark.parametrize("limit", [Limit(0, 5), (-2, 5), (1, 0)])
    def test_bad_limit_overrides(self, fake_clock: FakeClock, limit: Any) -> None:
        """limits= with a zero or negative rate or burst: InvalidArgumentError at construction."""
        with pytest.raises(InvalidArgumentError, match=r"limits\['getThing'\]"):
            Shop(Server(fake_clock), limits={"getThing": limit})

    def test_limit_override_for_an_unknown_operation(self, fake_clock: FakeClock) -> None:
        """limits= naming an undeclared operation: UnknownOperationError."""
        with pytest.raises(UnknownOperationError):
            Shop(Server(fake_clock), limits={"nope": Limit(1, 1)})

    @pytest.mark.parametrize(
        "limits", [{"getThing": 5}, {"getThing": (1,)}, [("getThing", (1, 1))]]
    )
    def test_malformed_limit_overrides(self, fake_clock: FakeClock, limits: Any) -> None:
        """limits= that is not a mapping of (rate, burst) pairs: InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError):
            Shop(Server(fake_clock), limits=limits)

    @pytest.mark.parametrize("option", ["seller", "app", "region"])
    @pytest.mark.parametrize("value", ["", "a|b", None])
    def test_bad_account_configuration(self, option: str, value: Any) -> None:
        """seller, app and region must be non-empty strings without '|' (the key separator)."""
        options = {"seller": "S", "app": "A", "region": "r", option: value}
        with pytest.raises(InvalidArgumentError, match=option):
            MarketplaceAdapter(base_url="https://x.test", **options)

    def test_oversized_payload_is_not_sent(self, fake_clock: FakeClock) -> None:
        """A body over the operation's max_body_bytes: PayloadTooLargeError, nothing sent."""
        server = Server(fake_clock)
        with pytest.raises(PayloadTooLargeError, match="256") as info:
            Shop(server).call("createThing", json={"name": "x" * 300})
        assert isinstance(info.value, ValueError)
        assert server.requests == []

    @pytest.mark.parametrize(
        "value",
        [
            Decimal("19.99"),
            datetime(2026, 1, 1, tzinfo=timezone.utc),
            {1, 2},
            float("nan"),
            float("inf"),
        ],
    )
    def test_a_body_that_is_not_json_is_refused(self, fake_clock: FakeClock, value: Any) -> None:
        """A body with a Decimal, datetime, set or NaN: InvalidArgumentError, nothing sent."""
        server = Server(fake_clock)
        with pytest.raises(InvalidArgumentError):
            Shop(server).call("createThing", json={"value": value})
        assert server.requests == []

    @pytest.mark.parametrize(
        "path_params",
        [
            None,
            {},
            {"other": "1"},
            {"thingId": "1", "extra": "2"},
            {"thingId": ""},
            {"thingId": 7},
        ],
    )
    def test_bad_path_parameters(self, fake_clock: FakeClock, path_params: Any) -> None:
        """Missing, extra, empty or non-string path parameters: InvalidArgumentError, unsent."""
        server = Server(fake_clock)
        with pytest.raises(InvalidArgumentError, match="path parameter"):
            Shop(server).call("getThing", path_params=path_params)
        assert server.requests == []

    def test_path_parameters_are_escaped(self, fake_clock: FakeClock) -> None:
        """A path parameter with '/' or spaces cannot change the path."""
        server = Server(fake_clock)
        Shop(server).call("getThing", path_params={"thingId": "a/b c?d"})
        assert server.requests[0].url.raw_path == b"/things/a%2Fb%20c%3Fd"

    @pytest.mark.parametrize("body", [b"{not json", b"<html>502</html>", b"\xff\xfe"])
    def test_malformed_json_is_a_response_error(self, fake_clock: FakeClock, body: bytes) -> None:
        """A 200 whose body is not JSON: MarketplaceResponseError from response_json."""
        server = Server(
            fake_clock, httpx.Response(200, content=body, headers={"content-type": "text/html"})
        )
        shop = Shop(server)
        response = shop.call("getThing", path_params={"thingId": "1"})
        with pytest.raises(MarketplaceResponseError, match="not JSON"):
            response_json("shop", shop.operation("getThing"), response)

    def test_html_error_page_is_a_typed_error_with_a_short_message(
        self, fake_clock: FakeClock
    ) -> None:
        """A 4xx HTML page: MarketplaceHTTPError with the status and a trimmed body."""
        page = b"<html>" + b"x" * 5000 + b"</html>"
        server = Server(fake_clock, httpx.Response(418, content=page))
        with pytest.raises(MarketplaceHTTPError) as info:
            Shop(server).call("getThing", path_params={"thingId": "1"})
        assert info.value.status == 418
        assert len(str(info.value)) < 500

    def test_every_failure_is_a_safe_release_error(self, fake_clock: FakeClock) -> None:
        """Nothing bubbles up as a bare httpx, KeyError or ValueError."""
        server = Server(fake_clock, status(400), httpx.ReadTimeout, status(404))
        shop = Shop(server)
        for operation, kwargs in (
            ("getThing", {"path_params": {"thingId": "1"}}),
            ("createThing", {"json": {"a": 1}}),
            ("getThing", {"path_params": {"thingId": "2"}}),
            ("getThing", {}),
            ("nope", {}),
        ):
            with pytest.raises(SafeReleaseError):
                shop.call(operation, **kwargs)


# -- async ----------------------------------------------------------------------------------


class TestAsync:
    @staticmethod
    async def _many(fake: FakeAmazon, clock: FakeClock, tasks: int) -> list[int]:
        fake.set_limit(READ, rate=40, burst=10)
        adapter = make_amazon(fake, clock, limits={READ: Limit(40, 10)})
        async with adapter:
            await adapter.tokens.atoken()
            return await asyncio.gather(*[aread(adapter) for _ in range(tasks)])

    def test_200_tasks_on_one_quota_all_succeed(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """200 concurrent acall()s: every one succeeds, with one token, 429s bounded."""
        statuses = asyncio.run(self._many(fake, fake_clock, 200))
        assert statuses == [200] * 200
        assert len(sent(fake)) - throttled(fake) == 200
        assert throttled(fake) <= 0.1 * len(sent(fake))
        assert fake.tokens_issued == 1

    def test_200_tasks_stay_within_the_benchmark_figures(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """200 tasks on 40/s burst 10: <= 0.5 % 429s and <= 1.03x the ideal time."""
        asyncio.run(self._many(fake, fake_clock, 200))
        assert throttled(fake) <= 0.005 * 200
        assert fake_clock.monotonic() <= 1.03 * (200 - 10) / 40

    def test_async_write_and_read_share_the_core(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """An async patch goes through pacing, auth and the fake like a sync one."""
        adapter = make_amazon(fake, fake_clock)
        body = {
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 9}],
                }
            ],
        }

        async def main() -> dict[str, Any]:
            async with adapter:
                response = await adapter.acall(
                    "patchListingsItem",
                    path_params={"sellerId": adapter.seller_id, "sku": SKU},
                    params={"marketplaceIds": adapter.marketplace_id},
                    json=body,
                )
                return response.json()  # type: ignore[no-any-return]

        assert asyncio.run(main())["status"] == "ACCEPTED"
        assert fake.quantity(SKU) == 9

    def test_async_errors_are_the_same_typed_errors(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """acall raises the same typed errors: unknown operation, 404, exhausted 429s."""
        adapter = make_amazon(fake, fake_clock)

        async def main() -> None:
            async with adapter:
                with pytest.raises(UnknownOperationError):
                    await adapter.acall("nope")
                with pytest.raises(MarketplaceHTTPError) as info:
                    await adapter.acall("getOrderItems", path_params={"orderId": "nope"})
                assert info.value.status == 404
                fake.faults.throttle_storm(1.0)
                with pytest.raises(RateLimitedError):
                    await aread(adapter)

        asyncio.run(main())
