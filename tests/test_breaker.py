"""The circuit breaker: closed, open, half-open with one probe."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from safe_release.adapters._breaker import CircuitBreaker
from safe_release.exceptions import CircuitOpenError, InvalidArgumentError, MarketplaceError
from safe_release.testing import FakeClock


def _breaker(clock: FakeClock, **options: object) -> CircuitBreaker:
    settings: dict[str, object] = {"failure_threshold": 3, "window": 10.0, "recovery": 30.0}
    settings.update(options)
    return CircuitBreaker(clock=clock, **settings)  # type: ignore[arg-type]


def _open(clock: FakeClock, **options: object) -> CircuitBreaker:
    breaker = _breaker(clock, **options)
    for _ in range(3):
        breaker.record_failure()
    assert breaker.state == "open"
    return breaker


class TestClosed:
    def test_starts_closed_and_lets_calls_through(self) -> None:
        """A new breaker is closed and before_call returns."""
        breaker = _breaker(FakeClock())
        assert breaker.state == "closed"
        breaker.before_call()

    def test_opens_after_threshold_failures_within_window(self) -> None:
        """failure_threshold failures within window seconds open the circuit."""
        clock = FakeClock()
        breaker = _breaker(clock)
        breaker.record_failure()
        clock.advance(4)
        breaker.record_failure()
        assert breaker.state == "closed"
        clock.advance(5.9)
        breaker.record_failure()
        assert breaker.state == "open"

    def test_failures_spread_beyond_window_do_not_open(self) -> None:
        """Failures older than the window are forgotten."""
        clock = FakeClock()
        breaker = _breaker(clock)
        for _ in range(10):
            breaker.record_failure()
            clock.advance(5)
        assert breaker.state == "closed"

    def test_success_clears_the_streak(self) -> None:
        """A success in between means the failures are not sustained."""
        breaker = _breaker(FakeClock())
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
        breaker.record_failure()
        breaker.record_failure()
        assert breaker.state == "closed"

    def test_threshold_of_one(self) -> None:
        """failure_threshold=1 opens on the first failure."""
        breaker = _breaker(FakeClock(), failure_threshold=1)
        breaker.record_failure()
        assert breaker.state == "open"


class TestOpen:
    def test_refuses_calls_with_retry_at(self) -> None:
        """An open circuit raises CircuitOpenError carrying when it will probe."""
        clock = FakeClock()
        clock.advance(100)
        breaker = _open(clock)
        clock.advance(12)
        with pytest.raises(CircuitOpenError) as info:
            breaker.before_call()
        assert info.value.retry_at == 130.0
        assert isinstance(info.value, MarketplaceError)

    def test_message_says_when_and_what_to_check(self) -> None:
        """The message gives the time to the probe, the cause and what to check."""
        clock = FakeClock()
        breaker = _open(clock, name="amazon na")
        clock.advance(10)
        with pytest.raises(CircuitOpenError) as info:
            breaker.before_call(marketplace="amazon", operation="getOrders")
        text = str(info.value)
        assert "circuit breaker for amazon na is open" in text
        assert "3 server errors or timeouts within 10 s" in text
        assert "no request was sent" in text
        assert "in 20.0 s" in text
        assert "status page" in text
        assert (info.value.marketplace, info.value.operation) == ("amazon", "getOrders")

    def test_late_results_do_not_change_an_open_circuit(self) -> None:
        """Answers to calls sent before the circuit opened leave it open."""
        breaker = _open(FakeClock())
        breaker.record_success()
        breaker.record_failure()
        assert breaker.state == "open"

    def test_half_open_after_recovery(self) -> None:
        """After recovery seconds the state reports half_open."""
        clock = FakeClock()
        breaker = _open(clock)
        clock.advance(29.9)
        assert breaker.state == "open"
        clock.advance(0.1)
        assert breaker.state == "half_open"


class TestHalfOpen:
    def test_exactly_one_probe(self) -> None:
        """Only one caller is let through; the others get CircuitOpenError."""
        clock = FakeClock()
        breaker = _open(clock)
        clock.advance(30)
        breaker.before_call()
        with pytest.raises(CircuitOpenError, match="probe request is in flight"):
            breaker.before_call()
        assert breaker.state == "half_open"

    def test_probe_success_closes(self) -> None:
        """A successful probe closes the circuit and resets the count."""
        clock = FakeClock()
        breaker = _open(clock)
        clock.advance(30)
        breaker.before_call()
        breaker.record_success()
        assert breaker.state == "closed"
        breaker.before_call()
        breaker.record_failure()
        breaker.record_failure()
        assert breaker.state == "closed"

    def test_probe_failure_reopens(self) -> None:
        """A failed probe opens the circuit for another recovery period."""
        clock = FakeClock()
        breaker = _open(clock)
        clock.advance(30)
        breaker.before_call()
        clock.advance(2)
        breaker.record_failure()
        assert breaker.state == "open"
        with pytest.raises(CircuitOpenError) as info:
            breaker.before_call()
        assert info.value.retry_at == 62.0
        clock.advance(30)
        breaker.before_call()

    def test_lost_probe_is_replaced(self) -> None:
        """A probe that never reports back is replaced after recovery seconds."""
        clock = FakeClock()
        breaker = _open(clock)
        clock.advance(30)
        breaker.before_call()
        clock.advance(29)
        with pytest.raises(CircuitOpenError) as info:
            breaker.before_call()
        assert info.value.retry_at == 60.0
        clock.advance(1)
        breaker.before_call()

    def test_one_probe_among_threads(self) -> None:
        """Of 16 threads arriving together in half-open, exactly one is let through."""
        clock = FakeClock()
        breaker = _open(clock)
        clock.advance(30)
        start = threading.Barrier(16)
        outcomes: list[str] = []

        def call() -> None:
            start.wait()
            try:
                breaker.before_call()
            except CircuitOpenError:
                outcomes.append("refused")
            else:
                outcomes.append("probe")

        threads = [threading.Thread(target=call) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["probe"] + ["refused"] * 15


class TestValidation:
    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("failure_threshold", 0),
            ("failure_threshold", True),
            ("failure_threshold", 2.5),
            ("window", 0),
            ("window", -1.0),
            ("window", float("nan")),
            ("recovery", float("inf")),
            ("recovery", "30"),
            ("recovery", timedelta(0)),
        ],
    )
    def test_bad_arguments(self, option: str, value: object) -> None:
        """Bad settings raise InvalidArgumentError naming the option."""
        with pytest.raises(InvalidArgumentError, match=option):
            CircuitBreaker(**{option: value})  # type: ignore[arg-type]

    def test_timedelta_durations(self) -> None:
        """window and recovery accept timedelta."""
        clock = FakeClock()
        breaker = CircuitBreaker(
            failure_threshold=1,
            window=timedelta(seconds=5),
            recovery=timedelta(minutes=1),
            clock=clock,
        )
        breaker.record_failure()
        clock.advance(59)
        assert breaker.state == "open"
        clock.advance(1)
        assert breaker.state == "half_open"

    def test_defaults(self) -> None:
        """Defaults: 5 failures within 30 s, 30 s recovery, the system clock."""
        breaker = CircuitBreaker()
        for _ in range(4):
            breaker.record_failure()
        assert breaker.state == "closed"
        breaker.record_failure()
        assert breaker.state == "open"


class TestRepr:
    def test_shows_state(self) -> None:
        """The repr shows the state, failure count and time to the probe."""
        clock = FakeClock()
        breaker = _breaker(clock)
        breaker.record_failure()
        assert repr(breaker) == "<CircuitBreaker closed 1/3 failures>"
        breaker.record_failure()
        breaker.record_failure()
        clock.advance(10)
        assert repr(breaker) == "<CircuitBreaker open, probe in 20.0s>"
        clock.advance(20)
        assert repr(breaker) == "<CircuitBreaker half_open>"


class TestOutageMode:
    def test_fail_fast_is_the_default_with_a_30_s_recovery(self) -> None:
        """Without outage=, the breaker fails fast and probes after 30 s."""
        clock = FakeClock()
        breaker = CircuitBreaker(clock=clock, failure_threshold=1)
        assert (breaker.outage, breaker.rides_out) == ("fail_fast", False)
        breaker.record_failure()
        clock.advance(29.0)
        with pytest.raises(CircuitOpenError):
            breaker.before_call()

    def test_ride_out_probes_every_second_by_default(self) -> None:
        """outage='ride_out': the probe goes 1 s after the circuit opened."""
        clock = FakeClock()
        breaker = CircuitBreaker(clock=clock, failure_threshold=1, outage="ride_out")
        assert breaker.rides_out
        breaker.record_failure()
        clock.advance(1.0)
        assert breaker.before_call() is True
        assert "ride_out" in repr(breaker)

    def test_an_explicit_recovery_wins_over_the_mode_default(self) -> None:
        """recovery= still sets the probe interval when riding out."""
        clock = FakeClock()
        breaker = CircuitBreaker(clock=clock, failure_threshold=1, outage="ride_out", recovery=5)
        breaker.record_failure()
        clock.advance(4.0)
        assert breaker.blocked()

    def test_bad_outage_mode_is_refused(self) -> None:
        """outage= is 'fail_fast' or 'ride_out'."""
        with pytest.raises(InvalidArgumentError, match="'fail_fast' or 'ride_out'"):
            CircuitBreaker(outage="wait")  # type: ignore[arg-type]


class TestBlocked:
    def test_blocked_follows_the_state_without_taking_the_probe(self) -> None:
        """blocked(): False closed, True open, False when the probe may go, True while it flies."""
        clock = FakeClock()
        breaker = _breaker(clock)
        assert not breaker.blocked()
        assert breaker.before_call() is False  # a closed circuit: not a probe
        for _ in range(3):
            breaker.record_failure()
        assert breaker.blocked()
        clock.advance(30.0)
        assert not breaker.blocked()
        assert not breaker.blocked()  # asking twice does not take the probe
        assert breaker.before_call() is True
        assert breaker.blocked()
        clock.advance(30.0)  # the probe never answered: the next caller may probe
        assert not breaker.blocked()
