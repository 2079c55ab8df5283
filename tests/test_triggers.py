"""Triggers: ErrorRate, Latency and custom predicates, and Release.observe."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from safe_release._release import release, release_record
from safe_release._report import ReleaseStatus
from safe_release._triggers import (
    ErrorRate,
    Latency,
    Observation,
    Observations,
    describe_trigger,
)
from safe_release.exceptions import InvalidArgumentError, ReleaseStateError, RollbackTriggered
from tests.test_release_fakes import Box, fixture_fakes

if TYPE_CHECKING:
    import safe_release as sr

__all__ = ["fixture_fakes"]


def _obs(*oks: bool, latency: float | None = None, start: float = 0.0) -> Observations:
    out = Observations()
    for i, ok in enumerate(oks):
        out.append(Observation(ok, latency, start + i))
    return out


class TestErrorRate:
    def test_trips_only_over_the_rate_and_after_min_calls(self) -> None:
        """Below min_calls never trips; at min_calls trips when failures exceed max."""
        trigger = ErrorRate(max=0.1, min_calls=10)
        assert not trigger(_obs(*[False] * 9))
        assert not trigger(_obs(*[True] * 9, False))  # exactly 10 %: not over
        assert trigger(_obs(*[True] * 8, False, False))

    def test_window_looks_only_at_the_recent_calls(self) -> None:
        """With window=, old failures no longer count."""
        obs = _obs(*[False] * 10, *[True] * 10)  # at = 0 .. 19 seconds
        assert ErrorRate(max=0.2, min_calls=5)(obs)
        assert not ErrorRate(max=0.2, min_calls=5, window=timedelta(seconds=9))(obs)
        assert ErrorRate(max=0.2, min_calls=5, window=15)(obs)

    def test_plain_sequences_give_the_same_answer(self) -> None:
        """Any sequence of observations works, with the same result as the counters."""
        rng = random.Random(4)  # noqa: S311 - reproducible test data
        for _ in range(50):
            oks = [rng.random() > 0.2 for _ in range(rng.randint(1, 60))]
            trig = ErrorRate(max=0.15, min_calls=10, window=rng.choice([None, 5.0, 20.0]))
            assert trig(_obs(*oks)) == trig([Observation(ok, None, i) for i, ok in enumerate(oks)])

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"max": 1.0},
            {"max": -0.1},
            {"min_calls": 0},
            {"window": 0},
            {"window": timedelta(0)},
            {"max": True},
            {"window": "a"},
            {"window": [1]},
            {"window": float("inf")},
        ],
    )
    def test_bad_arguments_are_typed_errors(self, kwargs: dict[str, object]) -> None:
        """Out-of-range settings raise InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError):
            ErrorRate(**kwargs)  # type: ignore[arg-type]

    def test_repr_names_the_settings(self) -> None:
        """The repr (used in RollbackTriggered) shows the settings."""
        assert (
            repr(ErrorRate(max=0.05, min_calls=50, window=60))
            == "ErrorRate(max=0.05, min_calls=50, window=60)"
        )


class TestLatency:
    def test_nearest_rank_p95_over_the_threshold(self) -> None:
        """It trips exactly when the nearest-rank p95 exceeds p95=."""
        rng = random.Random(7)  # noqa: S311 - reproducible test data
        for _ in range(200):
            lat = [rng.choice([0.1, 0.2, 0.5, 1.0, 2.0]) for _ in range(rng.randint(20, 80))]
            obs = Observations()
            for i, value in enumerate(lat):
                obs.append(Observation(ok=True, latency=value, at=float(i)))
            p95 = sorted(lat)[math.ceil(0.95 * len(lat)) - 1]
            trig = Latency(p95=0.5, min_calls=20)
            assert trig(obs) == (p95 > 0.5)
            assert trig(list(obs)) == (p95 > 0.5)

    def test_calls_without_latency_do_not_count(self) -> None:
        """Observations without a latency are ignored, so min_calls is not reached."""
        obs = _obs(*[True] * 100)
        assert not Latency(p95=0.1, min_calls=10)(obs)
        assert Latency(p95=0.1, min_calls=10)(_obs(*[True] * 10, latency=1.0))

    def test_window_and_timedelta(self) -> None:
        """p95 and window accept timedelta; old slow calls drop out of the window."""
        obs = _obs(*[True] * 10, latency=3.0)
        for i in range(10):
            obs.append(Observation(ok=True, latency=0.01, at=100.0 + i))
        assert Latency(p95=timedelta(seconds=1), min_calls=5)(obs)
        assert not Latency(p95=1, min_calls=5, window=timedelta(seconds=30))(obs)

    def test_bad_p95_is_a_typed_error(self) -> None:
        """p95 must be a positive duration."""
        with pytest.raises(InvalidArgumentError, match="p95"):
            Latency(p95=0)
        for bad in (None, "fast", float("nan")):
            with pytest.raises(InvalidArgumentError, match="p95"):
                Latency(p95=bad)  # type: ignore[arg-type]


@pytest.mark.usefixtures("fakes")
class TestObserve:
    def test_trip_raises_at_once_and_rolls_back(self, store: sr.Store) -> None:
        """The observe() that trips raises RollbackTriggered and the release rolls back."""
        box = Box("prices", 1)
        calls = 0
        with (  # noqa: PT012 - the body is under test
            pytest.raises(RollbackTriggered) as info,
            release(
                "sync", store=store, checkpoint=[box], trigger=ErrorRate(max=0.2, min_calls=5)
            ) as rel,
        ):
            box.value = 2
            for ok in [True, True, False, False, True, True]:
                calls += 1
                rel.observe(ok, latency=0.01)
        assert calls == 5  # raised on the fifth call, not later
        assert info.value.trigger == "ErrorRate(max=0.2, min_calls=5)"
        assert info.value.release_id == rel.id
        assert "2 failed" in str(info.value)
        assert box.value == 1
        rec = release_record(store, rel.id)
        assert rec.status is ReleaseStatus.ROLLED_BACK
        assert rec.error is not None
        assert rec.error.startswith("RollbackTriggered: trigger")

    def test_custom_predicate(self, sqlite_store: sr.Store) -> None:
        """Any callable over the observations is a trigger, named by __name__."""

        def two_slow_calls(obs: object) -> bool:
            return sum(o.latency > 1 for o in obs) >= 2  # type: ignore[attr-defined]

        assert describe_trigger(two_slow_calls) == "two_slow_calls"
        with (  # noqa: PT012 - the body is under test
            pytest.raises(RollbackTriggered, match="two_slow_calls") as info,
            release("job", store=sqlite_store, trigger=two_slow_calls) as rel,
        ):
            rel.observe(ok=True, latency=2.0)
            rel.observe(ok=True, latency=0.1)
            rel.observe(ok=True, latency=3.0)
        assert len(rel.observations) == 3
        assert info.value.rollback_report.status is ReleaseStatus.ROLLED_BACK  # type: ignore[attr-defined]

    def test_observe_outside_the_body_is_a_state_error(self, sqlite_store: sr.Store) -> None:
        """observe() before entering or after leaving is a ReleaseStateError."""
        rel = release("job", store=sqlite_store)
        with pytest.raises(ReleaseStateError):
            rel.observe(ok=True)
        with rel:
            rel.observe(ok=True)
        with pytest.raises(ReleaseStateError):
            rel.observe(ok=False)
