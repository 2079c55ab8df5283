"""Backoff delays, Retry-After parsing, the retry policy and the retry budget."""

from __future__ import annotations

import ast
import random
import statistics
import threading
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from safe_release import _backoff
from safe_release._backoff import (
    RetryBudget,
    RetryPolicy,
    full_jitter,
    parse_retry_after,
    retry_delay,
    seconds,
    unround_retry_after,
)
from safe_release.exceptions import InvalidArgumentError
from safe_release.testing import FakeClock

SRC = Path(__file__).resolve().parent.parent / "src" / "safe_release"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible delays, not cryptography


class TestFullJitter:
    @pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 12, 40, 5000])
    def test_bounded_by_window_and_cap(self, attempt: int) -> None:
        """Every delay lies in [0, min(cap, base * 2**(attempt-1))], even for huge attempts."""
        rng = _rng(attempt)
        high = min(30.0, 0.25 * 2.0 ** min(attempt - 1, 200))
        for _ in range(500):
            delay = full_jitter(attempt, base=0.25, cap=30.0, rng=rng)
            assert 0.0 <= delay <= high

    def test_spread_not_lock_step(self) -> None:
        """Delays for one attempt are spread uniformly over the window, not bunched."""
        rng = _rng(7)
        delays = [full_jitter(4, base=0.5, cap=30.0, rng=rng) for _ in range(4000)]
        high = 0.5 * 2**3
        assert len({round(d, 6) for d in delays}) > 3900
        assert statistics.mean(delays) == pytest.approx(high / 2, rel=0.05)
        assert statistics.pstdev(delays) == pytest.approx(high / 12**0.5, rel=0.05)
        quarters = [sum(q * high / 4 <= d < (q + 1) * high / 4 for d in delays) for q in range(4)]
        assert all(900 <= n <= 1100 for n in quarters)

    def test_window_grows_until_cap(self) -> None:
        """The largest delay doubles per attempt and stops at the cap."""
        rng = _rng(3)
        peaks = [
            max(full_jitter(n, base=1.0, cap=10.0, rng=rng) for _ in range(2000))
            for n in range(1, 7)
        ]
        assert peaks[0] == pytest.approx(1.0, rel=0.02)
        assert peaks[1] == pytest.approx(2.0, rel=0.02)
        assert peaks[2] == pytest.approx(4.0, rel=0.02)
        assert peaks[3] == pytest.approx(8.0, rel=0.02)
        assert peaks[4] == pytest.approx(10.0, rel=0.02)
        assert peaks[5] <= 10.0

    def test_seeded_rng_is_reproducible(self) -> None:
        """The same seed gives the same delays."""
        first = [full_jitter(n, base=0.25, cap=30, rng=_rng(42)) for n in range(1, 9)]
        again = [full_jitter(n, base=0.25, cap=30, rng=_rng(42)) for n in range(1, 9)]
        assert first == again

    def test_default_rng_is_bounded(self) -> None:
        """Without an rng, tenacity's own full jitter is used with the same bounds."""
        delays = [full_jitter(3, base=0.25, cap=30.0) for _ in range(200)]
        assert all(0.0 <= d <= 1.0 for d in delays)
        assert len(set(delays)) > 150

    def test_timedelta_durations(self) -> None:
        """base and cap accept timedelta."""
        base, cap = timedelta(seconds=1), timedelta(seconds=2)
        delay = full_jitter(9, base=base, cap=cap, rng=_rng(1))
        assert 0.0 <= delay <= 2.0

    @pytest.mark.parametrize(
        ("attempt", "base", "cap"),
        [
            (0, 0.25, 30.0),
            (-1, 0.25, 30.0),
            (True, 0.25, 30.0),
            (1.5, 0.25, 30.0),
            (1, 0.0, 30.0),
            (1, -1.0, 30.0),
            (1, float("nan"), 30.0),
            (1, 0.25, float("inf")),
            (1, 0.25, 0.0),
            (1, "1", 30.0),
        ],
    )
    def test_bad_arguments(self, attempt: object, base: object, cap: object) -> None:
        """A bad attempt number, base or cap is an InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError):
            full_jitter(attempt, base=base, cap=cap)  # type: ignore[arg-type]


class TestRetryDelay:
    def test_no_hint_is_full_jitter(self) -> None:
        """Without a hint the delay is the full-jitter delay."""
        assert retry_delay(3, base=0.25, cap=30, hint=None, rng=_rng(5)) == (
            full_jitter(3, base=0.25, cap=30, rng=_rng(5))
        )

    def test_hint_is_a_floor(self) -> None:
        """A server hint is never undercut."""
        rng = _rng(11)
        delays = [retry_delay(2, base=0.25, cap=30, hint=3.0, rng=rng) for _ in range(300)]
        assert min(delays) == 3.0

    def test_jitter_above_a_small_hint(self) -> None:
        """A hint below the jitter window leaves the jittered delay in place."""
        rng = _rng(2)
        delays = [retry_delay(6, base=1.0, cap=30, hint=0.5, rng=rng) for _ in range(500)]
        assert all(0.5 <= d <= 30.0 for d in delays)
        assert len(set(delays)) > 450

    def test_hint_above_cap_wins(self) -> None:
        """The server may ask for more than the cap; the hint is followed."""
        assert retry_delay(1, base=0.25, cap=5.0, hint=90.0, rng=_rng(0)) == 90.0

    @pytest.mark.parametrize("hint", [-1.0, float("nan"), float("inf"), float("-inf")])
    def test_garbage_hint_is_ignored(self, hint: float) -> None:
        """A negative or non-finite hint falls back to plain jitter."""
        delay = retry_delay(2, base=0.25, cap=30.0, hint=hint, rng=_rng(9))
        assert delay == full_jitter(2, base=0.25, cap=30.0, rng=_rng(9))


def _http_date(offset: float) -> str:
    from datetime import datetime, timezone  # noqa: PLC0415 - only this helper needs it

    return format_datetime(datetime.fromtimestamp(NOW + offset, tz=timezone.utc), usegmt=True)


class TestParseRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("5", 5.0),
            ("0", 0.0),
            ("120", 120.0),
            (" 7 ", 7.0),
            ("0.5", 0.5),
            ("2.25", 2.25),
            ("86400", 86_400.0),
            (_http_date(30), 30.0),
            (_http_date(0), 0.0),
            (_http_date(-3600), 0.0),  # a date in the past: retry now
            (_http_date(86_400), 86_400.0),
            ("Thu, 01 Jan 2026 00:01:00 -0000", 60.0),  # RFC 5322 "unknown zone" = UTC
            ("Thursday, 01-Jan-26 00:00:10 GMT", 10.0),  # obsolete RFC 850 form
            ("Thu Jan  1 00:00:10 2026", 10.0),  # asctime form
            (None, None),
            ("", None),
            ("   ", None),
            ("-5", None),
            ("+5", None),
            ("5s", None),
            ("five", None),
            ("nan", None),
            ("NaN", None),
            ("inf", None),
            ("1e3", None),
            ("5_0", None),
            ("0x10", None),
            (".5", None),
            ("5.", None),
            ("\u0665", None),  # Arabic-Indic five: not an ASCII digit
            ("86401", None),  # more than a day
            ("999999999999", None),
            ("9" * 400, None),
            (_http_date(86_401), None),
            ("Wed, 99 Foo 2026 99:99:99 GMT", None),
            ("Thu, 01 Jan 9999 00:00:00 GMT", None),
            ("<html>", None),
        ],
    )
    def test_table(self, value: str | None, expected: float | None) -> None:
        """Delta-seconds and HTTP-dates parse; garbage, negative and absurd values give None."""
        assert parse_retry_after(value, NOW) == expected

    def test_unrepresentable_now(self) -> None:
        """A clock reading no datetime can hold gives None instead of an OverflowError."""
        assert parse_retry_after(_http_date(5), 1e20) is None

    def test_not_a_string(self) -> None:
        """A non-string header value gives None."""
        assert parse_retry_after(5, NOW) is None  # type: ignore[arg-type]


class TestUnroundRetryAfter:
    @pytest.mark.parametrize(
        ("header", "parsed", "expected"),
        [
            ("1", 1.0, 0.025),  # one token gap at 40/s
            (" 1 ", 1.0, 0.025),
            ("1.0", 1.0, 1.0),  # a decimal is precise
            ("1.5", 1.5, 1.5),
            ("2", 2.0, 2.0),  # larger integers are honoured in full
            ("0", 0.0, 0.0),
            (None, 1.0, 1.0),  # the adapter read another header
            ("3", 1.0, 1.0),  # ... which disagrees with this one
            ("1", None, None),
            (_http_date(1), 1.0, 1.0),
        ],
    )
    def test_only_an_integer_one_means_under_a_second(
        self, header: str | None, parsed: float | None, expected: float | None
    ) -> None:
        """`Retry-After: 1` stands for one token gap; every other value is kept."""
        assert unround_retry_after(header, parsed, gap=0.025) == expected

    def test_the_gap_is_bounded(self) -> None:
        """A fast quota still pauses the floor; a slow one at most the second it said."""
        assert unround_retry_after("1", 1.0, gap=0.001) == _backoff.ROUNDED_FLOOR
        assert unround_retry_after("1", 1.0, gap=60.0) == 1.0


class TestRetryPolicy:
    def test_defaults(self) -> None:
        """The documented defaults."""
        policy = RetryPolicy()
        assert (policy.max_attempts, policy.deadline, policy.base, policy.cap) == (
            6,
            120.0,
            0.25,
            30.0,
        )
        assert (policy.budget_ratio, policy.budget_window, policy.budget_min_per_window) == (
            0.2,
            60.0,
            10,
        )

    def test_signature_defaults_match_fields(self) -> None:
        """The __init__ defaults and the field defaults agree."""
        assert RetryPolicy() == RetryPolicy.model_construct()

    def test_timedelta_durations(self) -> None:
        """Durations accept timedelta and are stored as seconds."""
        policy = RetryPolicy(
            deadline=timedelta(minutes=2),
            base=timedelta(milliseconds=500),
            cap=timedelta(seconds=10),
            budget_window=timedelta(minutes=5),
        )
        assert (policy.deadline, policy.base, policy.cap, policy.budget_window) == (
            120.0,
            0.5,
            10.0,
            300.0,
        )

    def test_frozen(self) -> None:
        """A policy cannot be changed after construction."""
        policy = RetryPolicy()
        with pytest.raises(ValueError, match="frozen"):
            policy.max_attempts = 3  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("max_attempts", 0),
            ("max_attempts", 2.0),
            ("max_attempts", True),
            ("max_attempts", "3"),
            ("deadline", 0),
            ("deadline", -1.0),
            ("deadline", float("nan")),
            ("deadline", float("inf")),
            ("deadline", timedelta(seconds=-1)),
            ("base", 0.0),
            ("base", "0.25"),
            ("cap", 0.1),  # below base
            ("budget_ratio", -0.1),
            ("budget_ratio", 1.5),
            ("budget_window", 0),
            ("budget_min_per_window", -1),
            ("budget_min_per_window", 1.5),
        ],
    )
    def test_bad_values(self, field: str, value: object) -> None:
        """A bad value is an InvalidArgumentError naming the field."""
        with pytest.raises(InvalidArgumentError, match=field) as info:
            RetryPolicy(**{field: value})  # type: ignore[arg-type]
        assert "RetryPolicy" in str(info.value)
        assert info.value.__cause__ is not None

    def test_unknown_option(self) -> None:
        """A misspelt option is rejected."""
        with pytest.raises(TypeError):
            RetryPolicy(max_attempt=3)  # type: ignore[call-arg]

    def test_repr_shows_settings(self) -> None:
        """The repr summarises the policy."""
        assert repr(RetryPolicy()) == (
            "<RetryPolicy 6 attempts within 120s, backoff 0.25..30s, budget 20% (min 10) per 60s>"
        )


class TestRetryBudget:
    def _budget(self, clock: FakeClock, **options: object) -> RetryBudget:
        options = {
            "budget_ratio": 0.1,
            "budget_window": 10.0,
            "budget_min_per_window": 2,
            **options,
        }
        return RetryBudget(RetryPolicy(**options), clock)  # type: ignore[arg-type]

    def test_floor_allows_retries_when_quiet(self) -> None:
        """With no requests the floor still allows budget_min_per_window retries."""
        budget = self._budget(FakeClock())
        assert [budget.try_spend() for _ in range(3)] == [True, True, False]

    def test_ratio_of_requests(self) -> None:
        """Retries stay within budget_ratio of the requests in the window."""
        budget = self._budget(FakeClock())
        for _ in range(50):
            budget.record_request()
        spent = sum(budget.try_spend() for _ in range(20))
        assert spent == 5

    def test_fractional_allowance_rounds_down(self) -> None:
        """retries <= ratio * requests: 0.1 * 39 allows 3, not 4."""
        budget = self._budget(FakeClock(), budget_min_per_window=0)
        for _ in range(39):
            budget.record_request()
        assert sum(budget.try_spend() for _ in range(10)) == 3

    def test_window_expiry_frees_the_budget(self) -> None:
        """Retries older than the window no longer count."""
        clock = FakeClock()
        budget = self._budget(clock)
        assert budget.try_spend()
        clock.advance(4)
        assert budget.try_spend()
        assert not budget.try_spend()
        clock.advance(6)  # the first retry is now exactly window old
        assert budget.try_spend()
        assert not budget.try_spend()
        clock.advance(timedelta(seconds=10))
        assert budget.try_spend()

    def test_requests_expire_too(self) -> None:
        """Old requests stop backing retries once they leave the window."""
        clock = FakeClock()
        budget = self._budget(clock, budget_min_per_window=0)
        for _ in range(30):
            budget.record_request()
        clock.advance(11)
        assert not budget.try_spend()
        budget.record_request()
        assert not budget.try_spend()  # 0.1 * 1 < 1

    def test_zero_ratio_and_floor_forbid_retries(self) -> None:
        """budget_ratio=0 with no floor forbids every retry."""
        budget = self._budget(FakeClock(), budget_ratio=0.0, budget_min_per_window=0)
        budget.record_request()
        assert not budget.try_spend()

    def test_thread_safe(self) -> None:
        """Concurrent spenders never exceed the allowance."""
        budget = self._budget(FakeClock(), budget_min_per_window=0)
        for _ in range(1000):
            budget.record_request()
        start = threading.Barrier(16)
        granted: list[int] = []

        def spend() -> None:
            start.wait()
            granted.append(sum(budget.try_spend() for _ in range(50)))

        threads = [threading.Thread(target=spend) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(granted) == 100

    def test_default_policy_and_clock(self) -> None:
        """Without arguments the default policy and the system clock are used."""
        budget = RetryBudget()
        assert budget.try_spend()
        assert "1/10 retries for 0 requests in 60s" in repr(budget)

    def test_repr_shows_usage(self) -> None:
        """The repr shows retries, allowance and requests in the window."""
        budget = self._budget(FakeClock())
        for _ in range(40):
            budget.record_request()
        budget.try_spend()
        assert repr(budget) == "<RetryBudget 1/4 retries for 40 requests in 10s>"


class TestSeconds:
    @pytest.mark.parametrize("value", [True, "1", None, float("nan"), -1, 0])
    def test_rejects(self, value: object) -> None:
        """Non-numbers, NaN, negatives and zero are rejected."""
        with pytest.raises(InvalidArgumentError, match="widget"):
            seconds(value, "widget")  # type: ignore[arg-type]

    def test_zero_allowed_on_request(self) -> None:
        """zero=True accepts 0 but still rejects negatives."""
        assert seconds(0, "x", zero=True) == 0.0
        with pytest.raises(InvalidArgumentError, match=">= 0"):
            seconds(timedelta(seconds=-1), "x", zero=True)


class TestTenacityIsolation:
    def test_only_backoff_imports_tenacity(self) -> None:
        """No module but safe_release._backoff imports tenacity."""
        importers = []
        for path in SRC.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name.split(".")[0] == "tenacity" for name in names):
                    importers.append(path.relative_to(SRC).as_posix())
        assert importers == ["_backoff.py"]

    def test_no_tenacity_in_public_names(self) -> None:
        """The module exports no tenacity object."""
        for name in _backoff.__all__:
            assert "tenacity" not in getattr(getattr(_backoff, name), "__module__", "")
