"""Daily budgets: windows, rollover, server figures, repair, sharing, and the call core.

Every limiter backend (memory, the store on SQLite and PostgreSQL, Redis) runs the
same window math; the shared ones must never grant more than the limit, whatever
threads or processes race for it. The core spends a call from each of an
operation's budgets right before sending, and raises `QuotaExhaustedError`
without sending when one is spent. Time is a fake clock or a fixed ``now``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import multiprocessing
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import text, update

import safe_release as sr
from safe_release.adapters import (
    BudgetState,
    Daily,
    LimiterBackend,
    MarketplaceAdapter,
    MemoryLimiter,
    Operation,
    RetryPolicy,
    Spend,
    StoreLimiter,
    Verdict,
)
from safe_release.adapters._limiter_redis import RedisLimiter
from safe_release.exceptions import InvalidArgumentError, QuotaExhaustedError, RateLimitedError
from tests.test_limiter import fixture_limiter, fixture_make  # noqa: F401 - the fixtures

if TYPE_CHECKING:
    from safe_release.testing import FakeClock
    from tests.conftest import Backend

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86_400.0
NEXT = T0 + DAY
KEY = "shop|daily|things|A1|default"
BUDGET = Daily(5, "things")


def spend_n(limiter: LimiterBackend, n: int, now: float = T0, **kw: Any) -> list[Spend]:
    """``n`` spends of one call each on `KEY` at ``now``."""
    daily = kw.pop("daily", BUDGET)
    return [limiter.spend(KEY, daily, kw.get("reset_at", NEXT), now) for _ in range(n)]


# -- one budget, every backend -------------------------------------------------------------


class TestSpend:
    def test_grants_up_to_the_limit_then_refuses(self, limiter: LimiterBackend) -> None:
        """Five calls fit a budget of five; the sixth is refused and takes nothing."""
        spends = spend_n(limiter, 6)
        assert [s.granted for s in spends] == [True] * 5 + [False]
        assert [s.used for s in spends] == [1, 2, 3, 4, 5, 5]
        assert spends[-1] == Spend(granted=False, used=5, limit=5, reset_at=NEXT)
        assert limiter.budget(KEY, BUDGET, NEXT, T0) == BudgetState(KEY, 5, 5, 0, NEXT)

    def test_count_takes_all_or_nothing(self, limiter: LimiterBackend) -> None:
        """A spend of several calls that does not fit takes none of them."""
        assert limiter.spend(KEY, BUDGET, NEXT, T0, count=3).granted
        refused = limiter.spend(KEY, BUDGET, NEXT, T0, count=3)
        assert (refused.granted, refused.used) == (False, 3)
        assert limiter.spend(KEY, BUDGET, NEXT, T0, count=2).used == 5

    def test_window_rolls_over_by_whole_windows(self, limiter: LimiterBackend) -> None:
        """At its end the window starts again empty; its end moves on by whole days."""
        spend_n(limiter, 5)
        first = limiter.spend(KEY, BUDGET, NEXT + DAY, NEXT)
        assert (first.granted, first.used, first.reset_at) == (True, 1, NEXT + DAY)
        later = limiter.spend(KEY, BUDGET, NEXT, T0 + 3.5 * DAY)
        assert (later.used, later.reset_at) == (1, T0 + 4 * DAY)

    def test_a_key_never_seen_starts_with_the_given_end(self, limiter: LimiterBackend) -> None:
        """The first spend's reset_at is the window's end, even a short one away."""
        assert limiter.spend(KEY, BUDGET, T0 + 100, T0).reset_at == T0 + 100
        assert limiter.spend(KEY, BUDGET, T0 + 999, T0 + 100).reset_at == T0 + 100 + DAY

    def test_budgets_of_different_keys_are_independent(self, limiter: LimiterBackend) -> None:
        """Spending one key leaves another untouched."""
        spend_n(limiter, 5)
        assert limiter.spend("other", BUDGET, NEXT, T0).used == 1

    def test_a_new_limiter_sees_the_same_window(self, make: Any) -> None:
        """Budgets live in the backend, not in the limiter object."""
        spend_n(make(), 4)
        assert make().budget(KEY, BUDGET, NEXT, T0).used == 4

    def test_budget_of_a_key_never_seen(self, limiter: LimiterBackend) -> None:
        """An unseen key reports the declared limit, unused, ending at reset_at."""
        assert limiter.budget(KEY, BUDGET, NEXT, T0) == BudgetState(KEY, 5, 0, 5, NEXT)

    def test_budget_after_the_window_ended_is_unused(self, limiter: LimiterBackend) -> None:
        """budget() rolls over a passed window without writing."""
        spend_n(limiter, 3)
        state = limiter.budget(KEY, BUDGET, NEXT + DAY, NEXT + 1)
        assert (state.used, state.remaining, state.reset_at) == (0, 5, NEXT + DAY)


class TestGiveBack:
    def test_calls_never_sent_come_back(self, limiter: LimiterBackend) -> None:
        """give_back returns calls to the window they were taken from."""
        spends = spend_n(limiter, 5)
        limiter.give_back(KEY, BUDGET, 2, T0 + 1, reset_at=spends[-1].reset_at)
        assert limiter.budget(KEY, BUDGET, NEXT, T0 + 1).used == 3

    def test_never_below_zero(self, limiter: LimiterBackend) -> None:
        """Giving back more than was used leaves an unused window."""
        spend_n(limiter, 1)
        limiter.give_back(KEY, BUDGET, 4, T0)
        assert limiter.budget(KEY, BUDGET, NEXT, T0).used == 0

    def test_not_to_the_next_window(self, limiter: LimiterBackend) -> None:
        """Calls taken before the window ended are not given to the new window."""
        spend_n(limiter, 5)
        limiter.spend(KEY, BUDGET, NEXT + DAY, NEXT + 1)
        limiter.give_back(KEY, BUDGET, 1, NEXT + 2, reset_at=NEXT)
        assert limiter.budget(KEY, BUDGET, NEXT + DAY, NEXT + 2).used == 1

    def test_a_key_never_seen_stays_unseen(self, limiter: LimiterBackend) -> None:
        """give_back on an unknown key does nothing."""
        limiter.give_back(KEY, BUDGET, 1, T0)
        assert limiter.budget(KEY, BUDGET, T0 + 10, T0).reset_at == T0 + 10


class TestServerFigures:
    def test_exhausted_refuses_until_the_window_ends(self, limiter: LimiterBackend) -> None:
        """After the server says the budget is spent, nothing is granted until reset."""
        spend_n(limiter, 1)
        limiter.exhausted(KEY, BUDGET, NEXT, T0 + 5)
        assert not limiter.spend(KEY, BUDGET, NEXT, T0 + 6).granted
        assert limiter.budget(KEY, BUDGET, NEXT, T0 + 6).remaining == 0
        assert limiter.spend(KEY, BUDGET, NEXT + DAY, NEXT).granted

    def test_sync_takes_the_servers_limit_and_count(self, limiter: LimiterBackend) -> None:
        """limit := the server's; used := limit - remaining when that is higher."""
        spend_n(limiter, 2)
        limiter.sync_budget(KEY, BUDGET, limit=100, remaining=40, reset_at=NEXT, now=T0)
        assert limiter.budget(KEY, BUDGET, NEXT, T0) == BudgetState(KEY, 100, 60, 40, NEXT)

    def test_sync_keeps_a_higher_local_count(self, limiter: LimiterBackend) -> None:
        """Calls made here that the server has not counted yet are not forgotten."""
        spend_n(limiter, 4)
        limiter.sync_budget(KEY, BUDGET, limit=10, remaining=9, reset_at=NEXT - 5, now=T0)
        state = limiter.budget(KEY, BUDGET, NEXT, T0)
        assert (state.limit, state.used, state.reset_at) == (10, 4, NEXT - 5)

    def test_sync_of_another_window_takes_the_servers_count(self, limiter: LimiterBackend) -> None:
        """A server window ending elsewhere (its day) replaces the local count and end."""
        spend_n(limiter, 5)
        end = T0 + 7 * 3600.0
        limiter.sync_budget(KEY, BUDGET, limit=8, remaining=7, reset_at=end, now=T0)
        assert limiter.budget(KEY, BUDGET, NEXT, T0) == BudgetState(KEY, 8, 1, 7, end)

    def test_synced_limit_wins_over_the_declared_one(self, limiter: LimiterBackend) -> None:
        """A synced limit holds, after the window rolls over too."""
        limiter.sync_budget(KEY, BUDGET, limit=2, remaining=2, reset_at=NEXT, now=T0)
        assert [s.granted for s in spend_n(limiter, 3)] == [True, True, False]
        spends = spend_n(limiter, 3, now=NEXT + 1, reset_at=NEXT + DAY)
        assert [s.granted for s in spends] == [True, True, False]
        assert spends[-1].limit == 2

    def test_a_remaining_above_the_limit_counts_nothing_used(
        self, limiter: LimiterBackend
    ) -> None:
        """The server's count is never negative."""
        limiter.sync_budget(KEY, BUDGET, limit=3, remaining=9, reset_at=NEXT, now=T0)
        assert limiter.budget(KEY, BUDGET, NEXT, T0).used == 0


class TestBadInput:
    @pytest.mark.parametrize(
        "daily",
        [
            (5, "things"),
            Daily(0, "things"),
            Daily(True, "things"),
            Daily(2.5, "things"),  # type: ignore[arg-type]
            Daily(5, ""),
            Daily(5, "a|b"),
            Daily(5, "things", "org"),  # type: ignore[arg-type]
            Daily(5, "things", window=0.5),
            Daily(5, "things", window=math.nan),
        ],
    )
    def test_bad_budgets_are_refused(self, limiter: LimiterBackend, daily: Any) -> None:
        """A budget must be a Daily with a positive whole limit, a name and a window."""
        with pytest.raises(InvalidArgumentError, match=r"Daily|daily"):
            limiter.spend(KEY, daily, NEXT, T0)

    @pytest.mark.parametrize("count", [0, -1, 1.5, True, "1"])
    def test_bad_counts_are_refused(self, limiter: LimiterBackend, count: Any) -> None:
        """count must be a whole number >= 1."""
        with pytest.raises(InvalidArgumentError, match="count"):
            limiter.spend(KEY, BUDGET, NEXT, T0, count=count)
        with pytest.raises(InvalidArgumentError, match="count"):
            limiter.give_back(KEY, BUDGET, count, T0)

    @pytest.mark.parametrize("bad", [math.nan, math.inf, "now", None])
    def test_bad_times_are_refused(self, limiter: LimiterBackend, bad: Any) -> None:
        """now and reset_at must be finite numbers of seconds."""
        with pytest.raises(InvalidArgumentError):
            limiter.spend(KEY, BUDGET, NEXT, bad)
        with pytest.raises(InvalidArgumentError, match="reset_at"):
            limiter.spend(KEY, BUDGET, bad, T0)
        with pytest.raises(InvalidArgumentError, match="reset_at"):
            limiter.budget(KEY, BUDGET, bad, T0)

    def test_an_end_beyond_one_window_is_refused(self, limiter: LimiterBackend) -> None:
        """reset_at more than one window away is not the current window's end."""
        for call in (
            lambda: limiter.spend(KEY, BUDGET, NEXT + 1, T0),
            lambda: limiter.exhausted(KEY, BUDGET, NEXT + 1, T0),
            lambda: limiter.sync_budget(
                KEY, BUDGET, limit=5, remaining=1, reset_at=T0 * 2, now=T0
            ),
        ):
            with pytest.raises(InvalidArgumentError, match="window"):
                call()

    @pytest.mark.parametrize(
        ("limit", "remaining"), [(-1, 0), (5, -1), (5.0, 1), (5, None), (True, 1)]
    )
    def test_bad_server_figures_are_refused(
        self, limiter: LimiterBackend, limit: Any, remaining: Any
    ) -> None:
        """Negative or non-whole server counts raise, and change nothing."""
        with pytest.raises(InvalidArgumentError, match=r"limit|remaining"):
            limiter.sync_budget(
                KEY, BUDGET, limit=limit, remaining=remaining, reset_at=NEXT, now=T0
            )
        assert limiter.budget(KEY, BUDGET, NEXT, T0).limit == 5

    @pytest.mark.parametrize("key", ["", None, "k" * 401])
    def test_bad_keys_are_refused(self, limiter: LimiterBackend, key: Any) -> None:
        """A budget key is a non-empty string of at most 400 characters."""
        with pytest.raises(InvalidArgumentError, match="key"):
            limiter.spend(key, BUDGET, NEXT, T0)

    @pytest.mark.parametrize(
        "daily", ["things", [Daily(1, "a"), Daily(2, "a")], [Daily(0, "a")], 5]
    )
    def test_bad_declarations_are_refused(self, daily: Any) -> None:
        """Operation.declare(daily=) takes valid Daily budgets, each one once."""
        with pytest.raises(InvalidArgumentError, match=r"daily|Daily"):
            Operation.declare("op", "GET", "/x", rate=1, burst=1, daily=daily)

    def test_declarations_keep_their_budgets(self) -> None:
        """One Daily or a list of them becomes Operation.daily, a tuple."""
        one = Operation.declare("op", "GET", "/x", rate=1, burst=1, daily=BUDGET)
        two = Operation.declare(
            "op", "GET", "/x", rate=1, burst=1, daily=[BUDGET, Daily(2, "things", "user")]
        )
        none = Operation.declare("op", "GET", "/x", rate=1, burst=1)
        assert (one.daily, len(two.daily), none.daily) == ((BUDGET,), 2, ())


# -- repair of stored numbers --------------------------------------------------------------


class TestRepair:
    @pytest.mark.parametrize(
        ("values", "used", "reset_at"),
        [
            ({"used": -50}, 1, NEXT),
            ({"reset_at": T0 + 10 * DAY}, 4, NEXT),
            ({"reset_at": math.inf}, 1, NEXT),
            ({"server_limit": -3}, 4, NEXT),
        ],
    )
    def test_stored_numbers_out_of_bounds_are_repaired(
        self,
        store: sr.Store,
        values: dict[str, Any],
        used: int,
        reset_at: float,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A negative count, an end days away, an infinity or a negative limit are repaired."""
        limiter = StoreLimiter(store)
        spend_n(limiter, 3)
        with store.engine.begin() as conn:
            conn.execute(update(store.tables.quota_window).values(**values))
        with caplog.at_level(logging.WARNING, logger="safe_release.adapters"):
            spend = limiter.spend(KEY, BUDGET, NEXT, T0)
        assert (spend.granted, spend.used, spend.reset_at, spend.limit) == (
            True,
            used,
            reset_at,
            5,
        )
        assert "repaired" in caplog.text

    def test_text_in_a_sqlite_row_gives_a_fresh_window(self, tmp_path: Any) -> None:
        """SQLite keeps whatever was written: an unreadable count starts the window again."""
        with sr.connect(f"sqlite:///{tmp_path / 'g.db'}") as store:
            limiter = StoreLimiter(store)
            spend_n(limiter, 5)
            with store.engine.begin() as conn:
                conn.execute(text("UPDATE sr_quota_window SET used = 'lots', reset_at = 'x'"))
            assert limiter.budget(KEY, BUDGET, NEXT, T0).used == 0
            assert limiter.spend(KEY, BUDGET, NEXT, T0).used == 1
            with store.engine.connect() as conn:
                row = conn.execute(text("SELECT used, reset_at FROM sr_quota_window")).one()
            assert tuple(row) == (1, NEXT)

    def test_a_fractional_count_rounds_up(self, tmp_path: Any) -> None:
        """A count of 2.5 counts as 3 used (never fewer than stored)."""
        with sr.connect(f"sqlite:///{tmp_path / 'f.db'}") as store:
            limiter = StoreLimiter(store)
            spend_n(limiter, 1)
            with store.engine.begin() as conn:
                conn.execute(text("UPDATE sr_quota_window SET used = 2.5"))
            assert limiter.spend(KEY, BUDGET, NEXT, T0).used == 4

    @pytest.mark.parametrize(
        ("raw", "used"),
        [
            ("not json", 1),
            ("[1, 2]", 1),
            ('["a", 1.0, null]', 1),
            (json.dumps([-7, NEXT, None]), 1),
            (json.dumps([3, T0 + 30 * DAY, None]), 4),
            (json.dumps([3, NEXT, -1]), 4),
        ],
    )
    def test_garbage_in_redis_is_repaired(self, redis_url: str, raw: str, used: int) -> None:
        """An unreadable or out-of-bounds Redis value is repaired like a store row."""
        import redis  # noqa: PLC0415 - the optional client, only where Redis runs

        client = redis.Redis.from_url(redis_url)
        client.set("g:daily:" + KEY, raw)
        limiter = RedisLimiter(client, prefix="g:")
        spend = limiter.spend(KEY, BUDGET, NEXT, T0)
        assert (spend.used, spend.reset_at, spend.limit) == (used, NEXT, 5)
        assert json.loads(client.get("g:daily:" + KEY)) == [used, NEXT, None]
        assert 0 < client.pttl("g:daily:" + KEY) <= (DAY + 86_400.0) * 1000
        client.delete("g:daily:" + KEY)
        client.close()

    def test_memory_windows_are_checked_too(self) -> None:
        """The in-process backend runs the same repair (a window set by hand)."""
        limiter = MemoryLimiter()
        spend_n(limiter, 1)
        limiter._windows[KEY] = limiter._windows[KEY].__class__(used=-4, reset_at=T0 + 9 * DAY)
        assert limiter.spend(KEY, BUDGET, NEXT, T0) == Spend(True, 1, 5, NEXT)


# -- threads and processes -----------------------------------------------------------------


class TestConcurrency:
    def test_threads_never_over_grant(self, limiter: LimiterBackend) -> None:
        """8 threads x 15 spends on a budget of 50: exactly 50 granted."""
        daily, granted, lock = Daily(50, "things"), [], threading.Lock()
        barrier = threading.Barrier(8)

        def worker() -> None:
            barrier.wait()
            mine = [limiter.spend(KEY, daily, NEXT, T0).granted for _ in range(15)]
            with lock:
                granted.extend(mine)

        pool = [threading.Thread(target=worker) for _ in range(8)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert (granted.count(True), len(granted)) == (50, 120)
        assert limiter.budget(KEY, daily, NEXT, T0).used == 50

    def test_threads_giving_back_keep_the_count_exact(self, limiter: LimiterBackend) -> None:
        """Spends and give-backs racing end where the arithmetic says."""
        daily = Daily(1_000, "things")

        def worker() -> None:
            for _ in range(10):
                limiter.spend(KEY, daily, NEXT, T0, count=2)
                limiter.give_back(KEY, daily, 1, T0, reset_at=NEXT)

        pool = [threading.Thread(target=worker) for _ in range(6)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert limiter.budget(KEY, daily, NEXT, T0).used == 60


def _spend_in_process(url: str, schema: str | None, attempts: int, barrier: Any, out: Any) -> None:
    """One worker process: ``attempts`` spends on one budget; puts how many were granted."""
    store = sr.connect(url, schema=schema)
    limiter, daily = StoreLimiter(store), Daily(100, "things")
    barrier.wait()
    out.put(sum(limiter.spend(KEY, daily, NEXT, T0).granted for _ in range(attempts)))
    store.close()


class TestProcesses:
    @pytest.mark.usefixtures("store")
    def test_four_processes_overrun_by_zero(self, backend: Backend) -> None:
        """4 processes x 40 spends on a budget of 100 over one store: exactly 100 granted."""
        ctx = multiprocessing.get_context("spawn")
        barrier, out = ctx.Barrier(4), ctx.Queue()
        procs = [
            ctx.Process(
                target=_spend_in_process, args=(backend.url, backend.schema, 40, barrier, out)
            )
            for _ in range(4)
        ]
        for p in procs:
            p.start()
        granted = [out.get(timeout=300) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0] * 4
        assert sum(granted) == 100
        with sr.connect(backend.url, schema=backend.schema) as store:
            assert StoreLimiter(store).budget(KEY, Daily(100, "things"), NEXT, T0).used == 100


# -- the call core -------------------------------------------------------------------------

THINGS = Daily(3, "things")
MINE = Daily(2, "mine", per="user")


class Shop(MarketplaceAdapter):
    """A tiny adapter: answers marked ``x-quota: spent`` say the daily budget is spent."""

    marketplace = "shop"
    operations = {  # noqa: RUF012 - declarations, read-only by convention
        "getThing": Operation.declare(
            "getThing", "GET", "/thing", rate=100, burst=100, daily=THINGS
        ),
        "getBoth": Operation.declare(
            "getBoth", "GET", "/both", rate=100, burst=100, daily=[THINGS, MINE]
        ),
        "getFree": Operation.declare("getFree", "GET", "/free", rate=100, burst=100),
    }

    def classify(self, response: httpx.Response) -> Verdict:
        """EXHAUSTED for a spent budget, else the default reading."""
        if response.headers.get("x-quota") == "spent":
            return Verdict.EXHAUSTED
        return super().classify(response)


class Server:
    """A scripted marketplace: answers from a list (then 200), counting requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Count the request and answer it."""
        self.requests.append(request.url.path)
        answer = self.answers.pop(0) if self.answers else httpx.Response(200, json={})
        if isinstance(answer, Exception):
            raise answer
        return answer


def shop(server: Server, clock: FakeClock, **options: Any) -> Shop:
    """A Shop over ``server`` on ``clock`` (retries back off in fake time)."""
    options.setdefault("retry", RetryPolicy(max_attempts=4, base=0.01, cap=0.1))
    return Shop(
        base_url="https://shop.test",
        seller="S1",
        app="A1",
        transport=httpx.MockTransport(server),
        clock=clock,
        **options,
    )


SPENT = httpx.Response(429, headers={"x-quota": "spent"}, json={"errorId": 2001})


class TestCore:
    def test_refused_before_sending(self, clock: FakeClock) -> None:
        """The call that would overrun the budget raises and sends nothing."""
        server = Server()
        adapter = shop(server, clock)
        for _ in range(3):
            adapter.call("getThing")
        clock.advance(3600)
        with pytest.raises(QuotaExhaustedError) as info:
            adapter.call("getThing")
        assert len(server.requests) == 3
        err = info.value
        assert isinstance(err, RateLimitedError)
        assert (err.quota, err.operation, err.status) == (KEY, "getThing", 429)
        assert err.reset_at == datetime(2026, 1, 2, tzinfo=timezone.utc)
        assert err.retry_after == pytest.approx(DAY - 3600)
        assert "2026-01-02T00:00:00Z" in str(err)
        assert "3 calls" in str(err)

    def test_the_next_window_allows_calls_again(self, clock: FakeClock) -> None:
        """After midnight UTC the budget is whole again."""
        server = Server()
        adapter = shop(server, clock)
        for _ in range(3):
            adapter.call("getThing")
        clock.advance(DAY)
        adapter.call("getThing")
        assert adapter.limiter.budget(KEY, THINGS, NEXT + DAY, clock.time()).used == 1

    def test_every_attempt_is_a_call(self, clock: FakeClock) -> None:
        """A retried 503 and a retried 429 each spend a call."""
        server = Server(httpx.Response(503), httpx.Response(429))
        adapter = shop(server, clock)
        adapter.call("getThing")
        assert len(server.requests) == 3
        assert adapter.limiter.budget(KEY, THINGS, NEXT, clock.time()).used == 3
        with pytest.raises(QuotaExhaustedError):
            adapter.call("getThing")
        assert len(server.requests) == 3

    def test_retries_stop_at_the_budget(self, clock: FakeClock) -> None:
        """A call retrying 503s raises QuotaExhaustedError once the budget is spent."""
        server = Server(*[httpx.Response(503)] * 3)
        with pytest.raises(QuotaExhaustedError):
            shop(server, clock).call("getThing")
        assert len(server.requests) == 3

    def test_a_request_never_delivered_is_given_back(self, clock: FakeClock) -> None:
        """A connection refused is no call: its spend is returned."""
        server = Server(httpx.ConnectError("refused"))
        adapter = shop(server, clock)
        adapter.call("getThing")
        assert adapter.limiter.budget(KEY, THINGS, NEXT, clock.time()).used == 1

    def test_several_budgets_spend_all_or_none(self, clock: FakeClock) -> None:
        """When the seller's budget refuses, the app budget taken first is given back."""
        server = Server()
        adapter = shop(server, clock)
        adapter.call("getBoth")
        adapter.call("getBoth")
        with pytest.raises(QuotaExhaustedError) as info:
            adapter.call("getBoth")
        assert info.value.quota == "shop|daily|mine|A1|default|S1"
        assert len(server.requests) == 2
        now = clock.time()
        assert adapter.limiter.budget(KEY, THINGS, NEXT, now).used == 2
        adapter.call("getThing")  # the app budget still has its third call
        assert len(server.requests) == 3

    def test_exhausted_answer_raises_without_retry(self, clock: FakeClock) -> None:
        """EXHAUSTED: one request, no retry, the budget marked spent, the breaker fine."""
        server = Server(SPENT)
        adapter = shop(server, clock)
        with pytest.raises(QuotaExhaustedError) as info:
            adapter.call("getThing")
        assert (len(server.requests), info.value.quota, info.value.status) == (1, KEY, 429)
        assert "says so" in str(info.value)
        assert adapter.limiter.budget(KEY, THINGS, NEXT, clock.time()).remaining == 0
        assert adapter.breaker.state == "closed"
        assert adapter.limiter.epoch(adapter.quota_key(adapter.operation("getThing"))) == 0
        with pytest.raises(QuotaExhaustedError):
            adapter.call("getThing")
        assert len(server.requests) == 1

    def test_exhausted_without_a_declared_budget(self, clock: FakeClock) -> None:
        """An operation with no budget still raises QuotaExhaustedError, not a retry storm."""
        server = Server(SPENT, SPENT)
        with pytest.raises(QuotaExhaustedError) as info:
            shop(server, clock).call("getFree")
        assert len(server.requests) == 1
        assert info.value.reset_at == datetime(2026, 1, 2, tzinfo=timezone.utc)

    def test_async_calls_are_refused_alike(self, clock: FakeClock) -> None:
        """acall spends from the same budget and raises before sending."""
        server = Server()
        adapter = shop(server, clock)

        async def run() -> None:
            for _ in range(3):
                await adapter.acall("getThing")
            with pytest.raises(QuotaExhaustedError):
                await adapter.acall("getThing")
            await adapter.aclose()

        asyncio.run(run())
        assert len(server.requests) == 3

    def test_a_synced_budget_paces_calls(self, clock: FakeClock) -> None:
        """Figures from the server (one call left) apply to the next calls."""
        server = Server()
        adapter = shop(server, clock)
        adapter.limiter.sync_budget(
            KEY, THINGS, limit=10, remaining=1, reset_at=NEXT, now=clock.time()
        )
        adapter.call("getThing")
        with pytest.raises(QuotaExhaustedError, match="10 calls"):
            adapter.call("getThing")
        assert len(server.requests) == 1

    def test_adapters_share_a_store_budget(self, store: sr.Store, clock: FakeClock) -> None:
        """Two adapters on one StoreLimiter spend one budget."""
        server = Server()
        one, two = (shop(server, clock, limiter=StoreLimiter(store)) for _ in range(2))
        one.call("getThing")
        two.call("getThing")
        one.call("getThing")
        with pytest.raises(QuotaExhaustedError):
            two.call("getThing")
        assert len(server.requests) == 3

    def test_hooks_choose_key_and_reset(self, clock: FakeClock) -> None:
        """daily_key adds the seller for per='user'; daily_reset can move the day's end."""

        class Pacific(Shop):
            def daily_reset(self, daily: Daily, now: float) -> float:
                """Windows end at 07:00Z."""
                end = math.floor((now - 7 * 3600) / daily.window + 1) * daily.window
                return end + 7 * 3600

        adapter = Pacific(
            base_url="https://shop.test",
            seller="S1",
            app="A1",
            region="eu",
            transport=httpx.MockTransport(Server()),
            clock=clock,
        )
        op = adapter.operation("getBoth")
        assert adapter.daily_key(op, THINGS) == "shop|daily|things|A1|eu"
        assert adapter.daily_key(op, MINE) == "shop|daily|mine|A1|eu|S1"
        for _ in range(2):
            adapter.call("getBoth")
        with pytest.raises(QuotaExhaustedError) as info:
            adapter.call("getBoth")
        assert info.value.reset_at == datetime(2026, 1, 1, 7, tzinfo=timezone.utc)
        assert "2026-01-01T07:00:00Z" in str(info.value)

    def test_default_reset_is_the_next_midnight_utc(self, clock: FakeClock) -> None:
        """A day's window ends at the next 00:00Z; a short window at its next multiple."""
        adapter = shop(Server(), clock)
        assert adapter.daily_reset(THINGS, T0 + 1) == NEXT
        assert adapter.daily_reset(THINGS, T0) == NEXT
        assert adapter.daily_reset(Daily(1, "x", window=3600), T0 + 10) == T0 + 3600
