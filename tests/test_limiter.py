"""Rate limiter backends: GCRA schedule, 429 pauses, recovery, hints, sharing and restarts."""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import subprocess
import sys
import threading
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text, update

import safe_release as sr
from safe_release.adapters import Limit
from safe_release.adapters._limiter import (
    KEY_MAX_LENGTH,
    Bucket,
    BucketState,
    LimiterBackend,
    MemoryLimiter,
    Reservation,
    reserve,
)
from safe_release.adapters._limiter_redis import RedisLimiter
from safe_release.adapters._limiter_store import StoreLimiter
from tests.conftest import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from tests.conftest import Backend

T0 = 1_767_225_600.0
KEY = "amazon|getOrders|A1SELLER|app1|na"
LIM = Limit(10.0, 5)
EPS = 1e-6


def approx(expected: Any) -> Any:
    """Equal within 0.1 ms: wall-clock doubles near 1.8e9 s resolve about 0.24 µs."""
    return pytest.approx(expected, abs=1e-4)


def send_times(
    limiter: LimiterBackend, n: int, now: float = T0, *, key: str = KEY, limit: Limit = LIM
) -> list[float]:
    """Reserve ``n`` slots at ``now``; the times they may be sent."""
    return [now + limiter.reserve(key, limit, now).delay for _ in range(n)]


def assert_paced(times: Sequence[float], limit: Limit, tol: float = 1e-3) -> None:
    """No window [a, b] of send times holds more than burst + rate * (b - a)."""
    s = sorted(times)
    for i in range(len(s)):
        for j in range(i + 1, len(s)):
            assert j - i + 1 <= limit.burst + limit.rate * (s[j] - s[i]) + tol, (i, j, s[i], s[j])


# -- backends ---------------------------------------------------------------------------


@contextlib.contextmanager
def _pg_store(request: pytest.FixtureRequest) -> Iterator[sr.Store]:
    engine: Engine = request.getfixturevalue("pg_engine")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    store = sr.connect(engine.url.render_as_string(hide_password=False), schema=schema)
    try:
        yield store
    finally:
        store.close()
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(
    name="make",
    params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "redis"],
)
def fixture_make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory of limiters on one shared backend (every call: a new limiter, same state)."""
    kind = request.param
    if kind == "memory":
        shared = MemoryLimiter()
        yield lambda **kw: shared if not kw else MemoryLimiter(**kw)
    elif kind == "redis":
        url, prefix = request.getfixturevalue("redis_url"), f"t{uuid.uuid4().hex}:"
        yield lambda **kw: RedisLimiter(url, prefix=prefix, **kw)
    elif kind == "sqlite":
        with sr.connect(f"sqlite:///{tmp_path / 'l.db'}") as store:
            yield lambda **kw: StoreLimiter(store, **kw)
    else:
        with _pg_store(request) as store:
            yield lambda **kw: StoreLimiter(store, **kw)


@pytest.fixture(name="limiter")
def fixture_limiter(make: Any) -> LimiterBackend:
    """A limiter on each backend: memory, SQLite, PostgreSQL, Redis."""
    limiter: LimiterBackend = make()
    return limiter


# -- the schedule -----------------------------------------------------------------------


class TestReserve:
    def test_full_bucket_gives_burst_then_spaces_by_rate(self, limiter: LimiterBackend) -> None:
        """A new key hands out `burst` immediate slots, then one per 1/rate, in order."""
        delays = [limiter.reserve(KEY, LIM, T0).delay for _ in range(8)]
        assert delays[:5] == [0.0] * 5
        assert delays[5:] == approx([0.1, 0.2, 0.3])

    def test_bucket_refills_at_the_rate(self, limiter: LimiterBackend) -> None:
        """After draining, tokens come back at `rate` per second, up to `burst`."""
        send_times(limiter, 5)
        assert limiter.state(KEY, LIM, T0 + 0.25).tokens == approx(2.5)
        assert limiter.state(KEY, LIM, T0 + 60).tokens == 5
        assert [limiter.reserve(KEY, LIM, T0 + 60).delay for _ in range(6)][-1] == (approx(0.1))

    def test_queue_is_fifo(self, limiter: LimiterBackend) -> None:
        """Each reservation takes the slot after the previous one, never an earlier one."""
        times = send_times(limiter, 30)
        assert times == sorted(times)
        assert_paced(times, LIM)

    def test_empty_initial_waits_for_the_first_token(self, make: Any) -> None:
        """initial='empty': a key never seen starts with no tokens."""
        limiter = make(initial="empty")
        assert limiter.reserve(KEY, LIM, T0).delay == approx(0.1)
        assert limiter.state("other", LIM, T0).tokens == approx(0.0)

    def test_keys_are_independent(self, limiter: LimiterBackend) -> None:
        """Draining one quota key leaves the others full."""
        send_times(limiter, 10)
        assert limiter.reserve(KEY + "|eu", LIM, T0).delay == 0.0

    def test_state_of_unseen_key_and_epoch(self, limiter: LimiterBackend) -> None:
        """A key never seen is full at epoch 0; reservations do not change the epoch."""
        assert limiter.state(KEY, LIM, T0) == BucketState(KEY, 10.0, 5, 5.0, 0.0, 0)
        assert limiter.epoch(KEY) == 0
        assert limiter.reserve(KEY, LIM, T0) == Reservation(0.0, 0)
        assert limiter.epoch(KEY) == 0

    def test_state_shows_queued_reservations_as_negative_tokens(
        self, limiter: LimiterBackend
    ) -> None:
        """Three reservations past an empty bucket show as -3 tokens."""
        send_times(limiter, 8)
        assert limiter.state(KEY, LIM, T0).tokens == approx(-3.0)

    def test_new_limiter_instance_sees_the_same_bucket(self, make: Any) -> None:
        """Two limiters on one backend share the bucket (memory: the same object)."""
        send_times(make(), 5)
        assert make().reserve(KEY, LIM, T0).delay == approx(0.1)

    def test_a_lower_declared_limit_applies_at_once(self, limiter: LimiterBackend) -> None:
        """If the declared rate drops, the stored rate follows it at once."""
        send_times(limiter, 5)
        slow = Limit(1.0, 5)
        assert limiter.state(KEY, slow, T0).rate == 1.0
        assert limiter.reserve(KEY, slow, T0).delay == approx(1.0)


class TestPenalize:
    def test_a_429_drains_pauses_slows_and_bumps_epoch(self, limiter: LimiterBackend) -> None:
        """Rate x0.7, no token before now + retry_after, epoch + 1, bucket empty after."""
        limiter.penalize(KEY, LIM, T0, retry_after=2.0)
        st_ = limiter.state(KEY, LIM, T0)
        assert st_.rate == approx(7.0)
        assert st_.paused_until == approx(T0 + 2.0)
        assert limiter.epoch(KEY) == 1
        times = send_times(limiter, 4, T0 + 0.5)
        assert times == approx([T0 + 2.0 + k / 7.0 for k in range(4)])

    def test_pause_is_at_least_one_interval(self, limiter: LimiterBackend) -> None:
        """Without Retry-After the pause is 1/new_rate."""
        limiter.penalize(KEY, LIM, T0, retry_after=None)
        assert limiter.state(KEY, LIM, T0).paused_until == approx(T0 + 1 / 7.0)

    @pytest.mark.parametrize("garbage", [math.nan, math.inf, -5.0, 10 * 86_400.0])
    def test_garbage_retry_after_is_ignored(self, limiter: LimiterBackend, garbage: float) -> None:
        """NaN, infinite, negative or absurd Retry-After values count as none."""
        limiter.penalize(KEY, LIM, T0, retry_after=garbage)
        assert limiter.state(KEY, LIM, T0).paused_until == approx(T0 + 1 / 7.0)

    def test_rate_never_drops_below_the_floor(self, limiter: LimiterBackend) -> None:
        """Repeated 429s stop at 10 % of the declared rate."""
        now = T0
        for _ in range(20):
            limiter.penalize(KEY, LIM, now, retry_after=None)
            now = limiter.state(KEY, LIM, now).paused_until + 0.001
        assert limiter.state(KEY, LIM, now).rate == approx(1.0)
        assert limiter.epoch(KEY) == 20

    def test_429s_during_the_pause_do_not_cut_again(self, limiter: LimiterBackend) -> None:
        """Answers to requests sent before the pause only lengthen it."""
        limiter.penalize(KEY, LIM, T0, retry_after=1.0)
        limiter.penalize(KEY, LIM, T0 + 0.1, retry_after=None)
        assert limiter.state(KEY, LIM, T0).rate == approx(7.0)
        assert limiter.epoch(KEY) == 1
        limiter.penalize(KEY, LIM, T0 + 0.2, retry_after=3.0)
        state = limiter.state(KEY, LIM, T0)
        assert (state.rate, state.epoch) == (approx(7.0), 2)
        assert state.paused_until == approx(T0 + 3.2)

    def test_long_run_rate_after_a_429(self, limiter: LimiterBackend) -> None:
        """After a 429 no burst is handed out: the queue runs at the lowered rate."""
        send_times(limiter, 20)
        limiter.penalize(KEY, LIM, T0, retry_after=None)
        times = send_times(limiter, 50, T0 + 0.05)
        assert times[0] == approx(T0 + 1 / 7.0)
        assert times[-1] - times[0] == approx(49 / 7.0)


class TestRewardAndHints:
    def test_reward_recovers_additively_to_the_ceiling(self, limiter: LimiterBackend) -> None:
        """With a server hint as ceiling, each success adds 5 % of it; never past it."""
        limiter.penalize(KEY, LIM, T0, retry_after=None)
        now = T0 + 1
        limiter.hint(KEY, LIM, 10.0, now)
        limiter.reward(KEY, LIM, now)
        assert limiter.state(KEY, LIM, now).rate == approx(7.5)
        for _ in range(10):
            limiter.reward(KEY, LIM, now)
        assert limiter.state(KEY, LIM, now).rate == 10.0

    def test_a_lone_429_teaches_nothing(self, limiter: LimiterBackend) -> None:
        """A single 429 (one of the few to expect) cuts the rate, which then fully recovers."""
        limiter.penalize(KEY, LIM, T0, retry_after=None)
        for _ in range(20):
            limiter.reward(KEY, LIM, T0 + 1)
        assert limiter.state(KEY, LIM, T0 + 1).rate == approx(10.0)

    def test_a_429_without_hints_teaches_a_ceiling(self, limiter: LimiterBackend) -> None:
        """Without hints, 429s that keep coming are not climbed back to at once."""
        limiter.penalize(KEY, LIM, T0 - 2, retry_after=None)
        for _ in range(20):
            limiter.reward(KEY, LIM, T0 - 1)
        limiter.penalize(KEY, LIM, T0, retry_after=None)
        now = T0 + 1
        for _ in range(20):
            limiter.reward(KEY, LIM, now)
        assert limiter.state(KEY, LIM, now).rate == approx(9.0)  # 90 % of the rate at the 429

    def test_learned_ceiling_is_probed_after_a_quiet_spell(self, limiter: LimiterBackend) -> None:
        """After 5 quiet seconds the bucket probes upward, one small step every second."""
        limiter.penalize(KEY, LIM, T0 - 2, retry_after=None)
        for _ in range(20):
            limiter.reward(KEY, LIM, T0 - 1)
        limiter.penalize(KEY, LIM, T0, retry_after=None)
        for _ in range(20):
            limiter.reward(KEY, LIM, T0 + 1)  # climbs to the learned 9.0
        for step in range(3):
            now = T0 + 6 + step
            for _ in range(5):  # the first raises the ceiling one step, the rest climb to it
                limiter.reward(KEY, LIM, now)
        assert limiter.state(KEY, LIM, T0 + 9).rate == approx(9.0 + 3 * 0.2)

    def test_no_recovery_while_paused(self, limiter: LimiterBackend) -> None:
        """Successes that arrive during the pause do not undo the cut."""
        limiter.penalize(KEY, LIM, T0, retry_after=5.0)
        limiter.reward(KEY, LIM, T0 + 1)
        assert limiter.state(KEY, LIM, T0 + 1).rate == approx(7.0)

    def test_hint_lowers_the_rate_at_once_and_caps_recovery(self, limiter: LimiterBackend) -> None:
        """A server rate below ours applies now and becomes the ceiling."""
        limiter.hint(KEY, LIM, 4.0, T0)
        assert limiter.state(KEY, LIM, T0).rate == 4.0
        limiter.reward(KEY, LIM, T0)
        assert limiter.state(KEY, LIM, T0).rate == 4.0
        assert limiter.epoch(KEY) == 0

    def test_a_higher_hint_lets_the_rate_recover_above_the_declared_one(
        self, limiter: LimiterBackend
    ) -> None:
        """A granted higher quota is reached gradually, by successes."""
        limiter.hint(KEY, LIM, 20.0, T0)
        assert limiter.state(KEY, LIM, T0).rate == 10.0
        for _ in range(30):
            limiter.reward(KEY, LIM, T0)
        assert limiter.state(KEY, LIM, T0).rate == 20.0
        limiter.penalize(KEY, LIM, T0, retry_after=None)
        assert limiter.state(KEY, LIM, T0).rate == approx(14.0)

    @pytest.mark.parametrize("garbage", [0.0, -1.0, math.nan, math.inf, -math.inf])
    def test_garbage_hints_are_ignored(self, limiter: LimiterBackend, garbage: float) -> None:
        """Zero, negative and non-finite server rates change nothing."""
        limiter.hint(KEY, LIM, garbage, T0)
        assert limiter.state(KEY, LIM, T0) == BucketState(KEY, 10.0, 5, 5.0, 0.0, 0)

    def test_replenish_with_no_tokens_blocks_until_next_refill(
        self, limiter: LimiterBackend
    ) -> None:
        """Walmart says 0 tokens until t+3: no slot before that, older slots void."""
        limiter.replenish(KEY, LIM, 0.0, T0 + 3.0, T0)
        assert limiter.epoch(KEY) == 1
        assert limiter.reserve(KEY, LIM, T0).delay == approx(3.0)

    def test_replenish_lowers_but_never_raises_the_level(self, limiter: LimiterBackend) -> None:
        """Fewer tokens than we believed lowers our level; more is not believed."""
        limiter.replenish(KEY, LIM, 2.0, T0 + 1, T0)
        assert limiter.state(KEY, LIM, T0).tokens == approx(2.0)
        limiter.replenish(KEY, LIM, 50.0, T0 + 1, T0)
        assert limiter.state(KEY, LIM, T0).tokens == approx(2.0)
        assert limiter.epoch(KEY) == 0

    @pytest.mark.parametrize(
        ("tokens", "next_at"), [(math.nan, T0), (-1.0, T0), (0.0, math.nan), (0.0, T0 + 1e9)]
    )
    def test_garbage_replenish_is_ignored(
        self, limiter: LimiterBackend, tokens: float, next_at: float
    ) -> None:
        """Garbage token counts are ignored; a garbage refill time only empties the bucket."""
        limiter.replenish(KEY, LIM, tokens, next_at, T0)
        assert limiter.reserve(KEY, LIM, T0).delay <= 0.1 + EPS


# -- bad input --------------------------------------------------------------------------


class TestBadInput:
    @pytest.mark.parametrize(
        "limit",
        [
            Limit(0.0, 5),
            Limit(-1.0, 5),
            Limit(math.nan, 5),
            Limit(math.inf, 5),
            Limit(1.0, 0),
            Limit(1.0, True),
            (1.0,),
            "10/s",
        ],
    )
    def test_bad_limits_are_refused(self, limiter: LimiterBackend, limit: Any) -> None:
        """Non-positive or non-finite rates and bursts < 1 raise InvalidArgumentError."""
        with pytest.raises(sr.InvalidArgumentError, match=r"rate|burst|Limit"):
            limiter.reserve(KEY, limit, T0)

    @pytest.mark.parametrize("key", ["", None, 42, "k" * (KEY_MAX_LENGTH + 1)])
    def test_bad_keys_are_refused(self, limiter: LimiterBackend, key: Any) -> None:
        """Empty, non-string or over-long keys raise InvalidArgumentError."""
        with pytest.raises(sr.InvalidArgumentError, match="rate-limit key"):
            limiter.reserve(key, LIM, T0)
        with pytest.raises(sr.InvalidArgumentError, match="rate-limit key"):
            limiter.epoch(key)

    @pytest.mark.parametrize("now", [math.nan, math.inf, "now", None, True])
    def test_bad_now_is_refused(self, limiter: LimiterBackend, now: Any) -> None:
        """`now` must be finite seconds from clock.time()."""
        with pytest.raises(sr.InvalidArgumentError, match=r"clock\.time"):
            limiter.reserve(KEY, LIM, now)

    def test_wrongly_typed_hints_are_refused(self, limiter: LimiterBackend) -> None:
        """A string where a number belongs is a bug in the caller, not a server hint."""
        with pytest.raises(sr.InvalidArgumentError, match="retry_after"):
            limiter.penalize(KEY, LIM, T0, retry_after="5")  # type: ignore[arg-type]
        with pytest.raises(sr.InvalidArgumentError, match="rate"):
            limiter.hint(KEY, LIM, "5", T0)  # type: ignore[arg-type]
        with pytest.raises(sr.InvalidArgumentError, match="tokens"):
            limiter.replenish(KEY, LIM, None, T0, T0)  # type: ignore[arg-type]

    def test_bad_initial_is_refused(self, make: Any) -> None:
        """initial= is 'full' or 'empty'."""
        with pytest.raises(sr.InvalidArgumentError, match="'full' or 'empty'"):
            make(initial="half")

    def test_store_limiter_needs_a_store(self) -> None:
        """StoreLimiter refuses anything but a Store."""
        with pytest.raises(sr.InvalidArgumentError, match=r"sr\.connect"):
            StoreLimiter("sqlite:///x.db")  # type: ignore[arg-type]

    def test_backends_satisfy_the_protocol(self, limiter: LimiterBackend) -> None:
        """Every backend is a LimiterBackend, and its repr shows no secret."""
        assert isinstance(limiter, LimiterBackend)
        assert "password" not in repr(limiter)


# -- properties -------------------------------------------------------------------------

_LIMITS = st.builds(Limit, st.floats(0.01, 200.0), st.integers(1, 30))
_GAPS = st.lists(st.tuples(st.floats(0.0, 3.0), st.integers(1, 12)), min_size=1, max_size=25)


class TestProperties:
    @settings(max_examples=150, deadline=None)
    @given(limit=_LIMITS, gaps=_GAPS, initial=st.sampled_from(["full", "empty"]))
    def test_any_schedule_respects_rate_and_burst(
        self, limit: Limit, gaps: list[tuple[float, int]], initial: Any
    ) -> None:
        """Over any sequence of reservations: FIFO, never more than burst + rate * window."""
        limiter, now, times = MemoryLimiter(initial=initial), T0, []
        for gap, count in gaps:
            now += gap
            times += send_times(limiter, count, now, limit=limit)
        assert times == sorted(times)
        assert_paced(times, limit)
        first_at = [t for t in times if t <= T0 + EPS]
        assert len(first_at) <= (limit.burst if initial == "full" else 0)

    @settings(max_examples=150, deadline=None)
    @given(
        limit=_LIMITS,
        ops=st.lists(
            st.tuples(
                st.floats(0.0, 2.0),
                st.sampled_from(["reserve", "reserve", "reserve", "penalize", "reward", "hint"]),
                st.floats(0.05, 3.0),
            ),
            min_size=1,
            max_size=40,
        ),
    )
    def test_penalties_rewards_and_hints_never_overrun(
        self, limit: Limit, ops: list[tuple[float, str, float]]
    ) -> None:
        """Rate stays in [floor, ceiling]; after a 429 nothing is sent before the pause ends."""
        limiter, now = MemoryLimiter(), T0
        ceiling, lowest, segment, top = limit.rate, limit.rate * 0.1, [], limit.rate
        for gap, op, x in ops:
            now += gap
            if op == "reserve":
                segment.append(now + limiter.reserve(KEY, limit, now).delay)
            elif op == "penalize":
                limiter.penalize(KEY, limit, now, retry_after=x)
                until = limiter.state(KEY, limit, now).paused_until
                assert until >= now + x - EPS
                assert limiter.reserve(KEY, limit, now).delay >= until - now - EPS
                segment, top = [], limiter.state(KEY, limit, now).rate
            elif op == "reward":
                limiter.reward(KEY, limit, now)
            else:  # a hint below the band (10 % of the declared rate) counts as the band's floor
                ceiling = limit.rate * max(x, 0.1)
                lowest = min(lowest, ceiling)
                limiter.hint(KEY, limit, ceiling, now)
            rate = limiter.state(KEY, limit, now).rate
            assert lowest - EPS <= rate <= ceiling + EPS
            top = max(top, rate)
        assert_paced(segment, Limit(top, limit.burst))


# -- threads, processes, restarts -------------------------------------------------------


def _hammer(limiter: LimiterBackend, threads: int, per_thread: int, now: float) -> list[float]:
    barrier, out, lock = threading.Barrier(threads), [], threading.Lock()

    def worker() -> None:
        barrier.wait()
        mine = send_times(limiter, per_thread, now)
        with lock:
            out.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return out


class TestConcurrency:
    def test_memory_limiter_under_16_threads(self) -> None:
        """16 threads get exactly the slots one caller would: none lost, none doubled."""
        times = sorted(_hammer(MemoryLimiter(), 16, 50, T0))
        expected = [T0] * 5 + [T0 + k / 10.0 for k in range(1, 800 - 4)]
        assert times == pytest.approx(expected, abs=1e-3)

    def test_shared_backends_under_threads(self, limiter: LimiterBackend) -> None:
        """Every backend stays exact with 8 threads on one key."""
        times = sorted(_hammer(limiter, 8, 10, T0))
        assert times == approx([T0] * 5 + [T0 + k / 10.0 for k in range(1, 76)])


_WORKER = """
import json, sys, time
import safe_release as sr
from safe_release.adapters import Limit
from safe_release.adapters._limiter_store import StoreLimiter
store = sr.connect(sys.argv[1], schema=sys.argv[2] or None)
limiter, limit, out = StoreLimiter(store), Limit(float(sys.argv[4]), 5), []
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[3])):
    now = time.time()
    out.append(now + limiter.reserve("shared", limit, now).delay)
print(json.dumps(out), flush=True)
store.close()
"""


class TestStoreLimiter:
    @pytest.mark.usefixtures("store")
    def test_processes_share_one_quota(self, backend: Backend) -> None:
        """4 processes reserving on one key never exceed burst + rate * elapsed together."""
        rate, per = 50.0, 40
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WORKER,
                    backend.url,
                    backend.schema or "",
                    str(per),
                    str(rate),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", p.stderr
        for p in procs:  # release all four at once
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, outs
        times = [t for out, _ in outs for t in json.loads(out.strip().splitlines()[-1])]
        assert len(times) == 4 * per
        assert_paced(times, Limit(rate, 5))
        assert max(times) - min(times) >= (4 * per - 5) / rate - 1e-3

    def test_restart_continues_from_the_stored_level(
        self, store: sr.Store, backend: Backend
    ) -> None:
        """A drained bucket stays drained for a new process: its first reserve waits."""
        send_times(StoreLimiter(store), 5)
        with sr.connect(backend.url, schema=backend.schema) as fresh:
            assert StoreLimiter(fresh).reserve(KEY, LIM, T0 + 0.01).delay == approx(0.09)

    def test_restart_keeps_the_lowered_rate_and_pause(
        self, store: sr.Store, backend: Backend
    ) -> None:
        """A 429 seen before a restart still slows the restarted process."""
        StoreLimiter(store).penalize(KEY, LIM, T0, retry_after=30.0)
        with sr.connect(backend.url, schema=backend.schema) as fresh:
            limiter = StoreLimiter(fresh, initial="full")
            assert limiter.epoch(KEY) == 1
            assert limiter.reserve(KEY, LIM, T0 + 1).delay == approx(29.0)
            assert limiter.state(KEY, LIM, T0 + 1).rate == approx(7.0)

    def test_initial_applies_only_to_unseen_keys(self, store: sr.Store) -> None:
        """initial='empty' does not empty a bucket that already exists."""
        StoreLimiter(store).reserve(KEY, LIM, T0)
        cautious = StoreLimiter(store, initial="empty")
        assert cautious.reserve(KEY, LIM, T0).delay == 0.0
        assert cautious.reserve("new", LIM, T0).delay == approx(0.1)

    def test_reward_after_another_process_penalized(self, store: sr.Store) -> None:
        """A limiter that last saw the rate at its ceiling still recovers a 429 seen elsewhere."""
        a, b = StoreLimiter(store), StoreLimiter(store)
        a.reserve(KEY, LIM, T0)
        b.penalize(KEY, LIM, T0, retry_after=None)
        a.reserve(KEY, LIM, T0 + 1)
        a.hint(KEY, LIM, 10.0, T0 + 1)
        a.reward(KEY, LIM, T0 + 1)
        assert a.state(KEY, LIM, T0 + 1).rate == approx(7.5)

    def test_a_corrupt_row_is_replaced(self, store: sr.Store) -> None:
        """A row with an impossible rate starts over (and voids older reservations)."""
        limiter = StoreLimiter(store)
        limiter.reserve(KEY, LIM, T0)
        table = store.tables.rate_bucket
        with store.engine.begin() as conn:
            conn.execute(update(table).values(rate=-1.0))
        assert limiter.reserve(KEY, LIM, T0).delay == 0.0
        assert limiter.epoch(KEY) == 1

    def test_unreachable_database_is_a_store_error(self, tmp_path: Path) -> None:
        """A database failure surfaces as StoreError, never a driver exception."""
        store = sr.connect(f"sqlite:///{tmp_path / 'gone.db'}")
        limiter = StoreLimiter(store)
        with store.engine.begin() as conn:
            conn.execute(text("DROP TABLE sr_rate_bucket"))
        with pytest.raises(sr.StoreError, match="rate-limit bucket"):
            limiter.reserve(KEY, LIM, T0)
        store.close()

    def test_rows_hold_no_secret_and_one_row_per_key(self, store: sr.Store) -> None:
        """The table holds the opaque key and numbers only."""
        limiter = StoreLimiter(store)
        send_times(limiter, 3)
        send_times(limiter, 3, key="k2")
        with store.engine.connect() as conn:
            rows = conn.execute(store.tables.rate_bucket.select()).all()
        assert sorted(r.key for r in rows) == sorted([KEY, "k2"])
        assert repr(limiter).startswith("<StoreLimiter")


class TestRedisLimiter:
    def test_missing_client_library_says_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without the redis package the error names the extra to install."""
        real = importlib.import_module

        def fake(name: str, package: str | None = None) -> Any:
            if name == "redis":
                raise ModuleNotFoundError(name)
            return real(name, package)

        monkeypatch.setattr(importlib, "import_module", fake)
        with pytest.raises(sr.StoreConfigurationError, match=r"safe-release\[redis\]"):
            RedisLimiter("redis://127.0.0.1:1/0")

    def test_unreachable_server_is_a_store_error(self) -> None:
        """A refused connection is StoreError, without the URL's password."""
        pytest.importorskip("redis")
        limiter = RedisLimiter(f"redis://:s3cret@127.0.0.1:{free_port()}/0")
        with pytest.raises(sr.StoreError, match="Redis") as info:
            limiter.reserve(KEY, LIM, T0)
        assert "s3cret" not in str(info.value)
        assert "s3cret" not in repr(limiter)

    @pytest.mark.parametrize("ttl", [0, -1.0, math.nan, "1h"])
    def test_bad_ttl_is_refused(self, ttl: Any) -> None:
        """ttl= must be at least one second."""
        pytest.importorskip("redis")
        with pytest.raises(sr.InvalidArgumentError, match="ttl"):
            RedisLimiter("redis://127.0.0.1:1/0", ttl=ttl)

    def test_garbage_value_counts_as_unseen(self, redis_url: str) -> None:
        """An unreadable stored bucket is replaced by a fresh one."""
        import redis  # noqa: PLC0415

        client = redis.Redis.from_url(redis_url)
        client.set("g:" + KEY, "not json")
        limiter = RedisLimiter(client, prefix="g:")
        assert limiter.epoch(KEY) == 0
        assert limiter.reserve(KEY, LIM, T0).delay == 0.0
        assert isinstance(json.loads(client.get("g:" + KEY)), list)
        client.close()


class TestBucketMath:
    def test_insane_numbers_are_detected(self) -> None:
        """A bucket with a NaN, a zero rate or a zero ceiling is not sane."""
        good = Bucket(T0, 1.0, None, 0, 0.0)
        assert good.is_sane()
        assert not Bucket(math.nan, 1.0, None, 0, 0.0).is_sane()
        assert not Bucket(T0, 0.0, None, 0, 0.0).is_sane()
        assert not Bucket(T0, 1.0, 0.0, 0, 0.0).is_sane()

    def test_a_pause_holds_even_when_the_bucket_is_full(self) -> None:
        """No slot before paused_until, and at most burst at once when it ends."""
        bucket = Bucket(T0, 10.0, None, 0, T0 + 5.0)
        delays = []
        for _ in range(7):
            bucket, reservation = reserve(bucket, LIM, T0)
            delays.append(reservation.delay)
        assert delays == approx([5.0] * 5 + [5.1, 5.2])
