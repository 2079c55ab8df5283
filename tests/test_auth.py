"""Secrets, token grants and the single-flight token provider."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import pickle
import threading
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from safe_release.adapters import Secret, TokenGrant, TokenProvider
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    TokenRefreshError,
)
from safe_release.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable

VALUE = "Atza|very-secret-access-token"
REFRESH_VALUE = "Atzr|very-secret-refresh-token"
TIMEOUT = 10.0  # only reached if the code under test deadlocks


@dataclass
class Refresher:
    """A scripted refresh callable: counts calls, can block, fail or advance the clock."""

    clock: FakeClock
    lifetime: float = 3600.0
    rotate: bool = False
    fail_with: BaseException | None = None
    release: threading.Event | None = None
    takes: float = 0.0
    calls: int = 0
    events: list[str] = field(default_factory=list)

    def __call__(self) -> TokenGrant:
        self.calls += 1
        if self.release is not None:
            assert self.release.wait(TIMEOUT)
        self.clock.advance(self.takes)
        if self.fail_with is not None:
            raise self.fail_with
        self.events.append(f"refresh {self.calls}")
        rotated = Secret(f"{REFRESH_VALUE}-{self.calls}") if self.rotate else None
        return TokenGrant(
            access_token=Secret(f"{VALUE}-{self.calls}"),
            expires_in=self.lifetime,
            refresh_token=rotated,
        )


def _wait_for_waiters(provider: TokenProvider, count: int) -> None:
    """Block until ``count`` callers wait on the refresh in flight (no sleeping)."""
    with provider._changed:
        assert provider._changed.wait_for(
            lambda: provider._flight is not None and provider._flight.waiters >= count,
            timeout=TIMEOUT,
        )


def _run_threads(target: Callable[[], object], count: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


class TestSecret:
    def test_repr_and_str_hide_the_value(self) -> None:
        """repr and str show a mask, never the value."""
        secret = Secret(VALUE)
        assert repr(secret) == "Secret('***')"
        assert str(secret) == "Secret('***')"
        assert secret.reveal() == VALUE

    def test_formatting_hides_the_value(self) -> None:
        """f-strings, format specs, %-formatting and containers never show it."""
        secret = Secret(VALUE)
        shown = [
            f"{secret}",
            f"{secret!r}",
            f"{secret:>40}",
            "{}".format(secret),  # noqa: UP032
            "%s" % secret,  # noqa: UP031 - the test builds a %-format on purpose
            "%r" % (secret,),  # noqa: UP031 - the test builds a %-format on purpose
            repr([secret]),
            str({"t": secret}),
            repr((secret,)),
            "x".join([str(secret)]),
        ]
        assert all(VALUE not in text and "***" in text for text in shown)

    def test_logging_hides_the_value(self, caplog: pytest.LogCaptureFixture) -> None:
        """Logging with %s and %r shows the mask."""
        secret = Secret(VALUE)
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("test").info("token %s / %r", secret, secret)
            logging.getLogger("test").warning("grant %s", TokenGrant(secret, 60.0, secret))
        assert "token Secret('***') / Secret('***')" in caplog.text
        assert VALUE not in caplog.text

    def test_exception_messages_hide_the_value(self) -> None:
        """An exception built from a Secret does not reveal it."""
        secret = Secret(VALUE)
        error = ValueError(f"bad token {secret}", secret)
        with pytest.raises(ValueError, match="bad") as info:
            raise error
        assert VALUE not in str(info.value)
        assert VALUE not in repr(info.value)
        assert VALUE not in "".join(traceback.format_exception(info.value))

    def test_equality_by_value_only_with_secrets(self) -> None:
        """Secrets compare by value, never equal to a plain string."""
        assert Secret(VALUE) == Secret(VALUE)
        assert Secret(VALUE) != Secret("other")
        assert Secret(VALUE) != VALUE
        assert VALUE != Secret(VALUE)  # noqa: SIM300 - str.__eq__ is asked first here
        assert Secret("žluťoučký") == Secret("žluťoučký")

    def test_hash_by_value(self) -> None:
        """Equal secrets hash alike (usable in sets and as keys)."""
        assert len({Secret(VALUE), Secret(VALUE), Secret("x")}) == 2

    @pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
    def test_not_picklable(self, protocol: int) -> None:
        """Pickling raises TypeError saying why, so it never lands in a checkpoint."""
        with pytest.raises(TypeError, match="cannot be pickled") as info:
            pickle.dumps(Secret(VALUE), protocol=protocol)
        assert VALUE not in str(info.value)

    def test_grant_not_picklable(self) -> None:
        """A grant holding secrets cannot be pickled either."""
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(TokenGrant(Secret(VALUE), 60.0))

    def test_not_json_serialisable(self) -> None:
        """json.dumps refuses a Secret instead of writing it."""
        with pytest.raises(TypeError):
            json.dumps({"token": Secret(VALUE)})

    def test_copy_returns_the_same_object(self) -> None:
        """copy and deepcopy work (a Secret is immutable) without pickling."""
        secret = Secret(VALUE)
        assert copy.copy(secret) is secret
        assert copy.deepcopy({"t": secret})["t"] is secret

    def test_immutable(self) -> None:
        """The value cannot be replaced."""
        secret = Secret(VALUE)
        with pytest.raises(AttributeError, match="immutable"):
            secret._value = "x"
        assert not hasattr(secret, "__dict__")

    def test_non_string_rejected_without_echo(self) -> None:
        """A non-string is an InvalidArgumentError that does not echo the value."""
        with pytest.raises(InvalidArgumentError, match="bytes") as info:
            Secret(VALUE.encode())  # type: ignore[arg-type]
        assert "very-secret" not in str(info.value)


class TestTokenGrant:
    def test_repr_hides_tokens(self) -> None:
        """The dataclass repr shows masks."""
        grant = TokenGrant(Secret(VALUE), 3600.0, Secret(REFRESH_VALUE))
        assert VALUE not in repr(grant)
        assert REFRESH_VALUE not in repr(grant)

    def test_plain_string_rejected_without_echo(self) -> None:
        """A plain-string token is refused with advice, without echoing it."""
        with pytest.raises(InvalidArgumentError, match=r"Secret\(value\)") as info:
            TokenGrant(VALUE, 3600.0)  # type: ignore[arg-type]
        assert VALUE not in str(info.value)
        with pytest.raises(InvalidArgumentError, match="refresh_token"):
            TokenGrant(Secret(VALUE), 3600.0, REFRESH_VALUE)  # type: ignore[arg-type]

    @pytest.mark.parametrize("lifetime", [0, -1.0, float("nan"), float("inf"), "3600", True])
    def test_bad_lifetime(self, lifetime: object) -> None:
        """expires_in must be a finite number of seconds > 0."""
        with pytest.raises(InvalidArgumentError, match="expires_in"):
            TokenGrant(Secret(VALUE), lifetime)  # type: ignore[arg-type]

    def test_timedelta_lifetime(self) -> None:
        """expires_in accepts a timedelta and stores seconds."""
        grant = TokenGrant(Secret(VALUE), timedelta(hours=1))  # type: ignore[arg-type]
        assert grant.expires_in == 3600.0


class TestTokenLifecycle:
    def test_first_call_refreshes_then_reuses(self) -> None:
        """The token is fetched once and reused while fresh."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        assert provider.expires_at is None
        first = provider.token()
        assert first.reveal() == f"{VALUE}-1"
        clock.advance(3000)
        assert provider.token() is first
        assert refresh.calls == 1
        assert provider.expires_at == clock.time() - 3000 + 3600

    def test_proactive_refresh_inside_skew(self) -> None:
        """Less than skew seconds before expiry the token is refreshed."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock, skew=timedelta(minutes=2))
        provider.token()
        clock.advance(3479)
        assert refresh.calls == 1
        provider.token()
        assert refresh.calls == 1
        clock.advance(1)
        assert provider.token().reveal() == f"{VALUE}-2"

    def test_expiry_counts_from_refresh_start(self) -> None:
        """A slow refresh shortens the token's life by the time it took."""
        clock = FakeClock()
        refresh = Refresher(clock, takes=10.0)
        provider = TokenProvider(refresh, clock=clock, skew=0)
        provider.token()
        clock.advance(3589)
        provider.token()
        assert refresh.calls == 1
        clock.advance(1)
        provider.token()
        assert refresh.calls == 2

    def test_short_lived_token_not_refreshed_in_a_loop(self) -> None:
        """A lifetime below skew refreshes at half-life, not on every call."""
        clock = FakeClock()
        refresh = Refresher(clock, lifetime=30.0)
        provider = TokenProvider(refresh, clock=clock, skew=60.0)
        for _ in range(10):
            provider.token()
        clock.advance(14.9)
        provider.token()
        assert refresh.calls == 1
        clock.advance(0.1)
        provider.token()
        assert refresh.calls == 2

    def test_expired_token_is_replaced(self) -> None:
        """After expiry the caller waits for a new token."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        provider.token()
        clock.advance(4000)
        assert provider.token().reveal() == f"{VALUE}-2"

    def test_repr_shows_state_never_the_token(self) -> None:
        """The repr says how long the token is valid, never what it is."""
        clock = FakeClock()
        provider = TokenProvider(Refresher(clock), clock=clock)
        assert repr(provider) == "<TokenProvider no valid token>"
        provider.token()
        clock.advance(60)
        assert repr(provider) == "<TokenProvider valid for 3540s>"
        assert VALUE not in repr(provider)

    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("skew", -1.0),
            ("skew", float("nan")),
            ("failure_cooldown", -0.5),
            ("failure_cooldown", "1"),
        ],
    )
    def test_bad_options(self, option: str, value: object) -> None:
        """Bad durations raise InvalidArgumentError naming the option."""
        with pytest.raises(InvalidArgumentError, match=option):
            TokenProvider(Refresher(FakeClock()), **{option: value})  # type: ignore[arg-type]

    def test_refresh_must_be_callable(self) -> None:
        """A non-callable refresh is rejected at construction."""
        with pytest.raises(InvalidArgumentError, match="callable"):
            TokenProvider("https://api.amazon.com/auth/o2/token")  # type: ignore[arg-type]


class TestInvalidate:
    def test_current_token_is_dropped(self) -> None:
        """Invalidating the current token makes the next call refresh."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        token = provider.token()
        provider.invalidate(token)
        assert provider.expires_at is None
        assert provider.token().reveal() == f"{VALUE}-2"

    def test_stale_token_is_ignored(self) -> None:
        """Invalidating an older token keeps the current one."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        old = provider.token()
        provider.invalidate(old)
        new = provider.token()
        provider.invalidate(old)
        assert provider.token() is new
        assert refresh.calls == 2

    def test_many_403s_with_one_token_cause_one_refresh(self) -> None:
        """16 threads that got a 403 with the same token trigger exactly one refresh."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        stale = provider.token()
        start = threading.Barrier(16)
        seen: list[Secret] = []

        def on_403() -> None:
            start.wait()
            provider.invalidate(stale)
            seen.append(provider.token())

        for thread in _run_threads(on_403, 16):
            thread.join()
        assert refresh.calls == 2
        assert {token.reveal() for token in seen} == {f"{VALUE}-2"}


class TestSingleFlight:
    def test_sixteen_threads_one_refresh(self) -> None:
        """16 threads needing a token wait for one refresh and share its result."""
        clock = FakeClock()
        refresh = Refresher(clock, release=threading.Event())
        provider = TokenProvider(refresh, clock=clock)
        tokens: list[Secret] = []
        threads = _run_threads(lambda: tokens.append(provider.token()), 16)
        _wait_for_waiters(provider, 15)
        assert repr(provider) == "<TokenProvider refreshing>"
        assert refresh.release is not None
        refresh.release.set()
        for thread in threads:
            thread.join()
        assert refresh.calls == 1
        assert len(tokens) == 16
        assert {token.reveal() for token in tokens} == {f"{VALUE}-1"}

    def test_failure_reaches_every_waiter(self) -> None:
        """A failed refresh raises TokenRefreshError, chained from the cause, in every thread."""
        clock = FakeClock()
        cause = RuntimeError(f"LWA said no to {REFRESH_VALUE}")
        refresh = Refresher(clock, release=threading.Event(), fail_with=cause)
        provider = TokenProvider(refresh, clock=clock)
        errors: list[TokenRefreshError] = []

        def call() -> None:
            with pytest.raises(TokenRefreshError) as info:
                provider.token()
            errors.append(info.value)

        threads = _run_threads(call, 16)
        _wait_for_waiters(provider, 15)
        assert refresh.release is not None
        refresh.release.set()
        for thread in threads:
            thread.join()
        assert refresh.calls == 1
        assert len(errors) == 16
        assert len({id(error) for error in errors}) == 16
        for error in errors:
            assert error.__cause__ is cause
            assert "RuntimeError" in str(error)
            assert REFRESH_VALUE not in str(error)
            assert "very-secret" not in str(error)

    def test_async_tasks_share_one_refresh(self) -> None:
        """16 asyncio tasks wait for one refresh without blocking the event loop."""
        clock = FakeClock()
        refresh = Refresher(clock, release=threading.Event())
        provider = TokenProvider(refresh, clock=clock)

        async def main() -> list[Secret]:
            tasks = [asyncio.ensure_future(provider.atoken()) for _ in range(16)]
            await asyncio.to_thread(_wait_for_waiters, provider, 15)
            assert refresh.release is not None
            refresh.release.set()
            return await asyncio.gather(*tasks)

        tokens = asyncio.run(main())
        assert refresh.calls == 1
        assert {token.reveal() for token in tokens} == {f"{VALUE}-1"}

    def test_threads_and_tasks_share_one_refresh(self) -> None:
        """8 threads and 8 tasks together cause exactly one refresh."""
        clock = FakeClock()
        refresh = Refresher(clock, release=threading.Event())
        provider = TokenProvider(refresh, clock=clock)
        from_threads: list[Secret] = []
        threads = _run_threads(lambda: from_threads.append(provider.token()), 8)

        async def main() -> list[Secret]:
            tasks = [asyncio.ensure_future(provider.atoken()) for _ in range(8)]
            await asyncio.to_thread(_wait_for_waiters, provider, 15)
            assert refresh.release is not None
            refresh.release.set()
            return await asyncio.gather(*tasks)

        from_tasks = asyncio.run(main())
        for thread in threads:
            thread.join()
        assert refresh.calls == 1
        assert {t.reveal() for t in from_threads + from_tasks} == {f"{VALUE}-1"}

    def test_async_failure_reaches_tasks(self) -> None:
        """Tasks waiting on a failed refresh get TokenRefreshError chained from the cause."""
        clock = FakeClock()
        cause = OSError("connection reset")
        refresh = Refresher(clock, release=threading.Event(), fail_with=cause)
        provider = TokenProvider(refresh, clock=clock)

        async def main() -> list[BaseException | Secret]:
            tasks = [asyncio.ensure_future(provider.atoken()) for _ in range(4)]
            await asyncio.to_thread(_wait_for_waiters, provider, 3)
            assert refresh.release is not None
            refresh.release.set()
            return await asyncio.gather(*tasks, return_exceptions=True)

        outcomes = asyncio.run(main())
        assert refresh.calls == 1
        assert all(isinstance(o, TokenRefreshError) and o.__cause__ is cause for o in outcomes)

    def test_cancelled_task_does_not_disturb_the_others(self) -> None:
        """A waiting task that is cancelled leaves the flight and the other tasks intact."""
        clock = FakeClock()
        refresh = Refresher(clock, release=threading.Event())
        provider = TokenProvider(refresh, clock=clock)

        async def main() -> list[Secret]:
            tasks = [asyncio.ensure_future(provider.atoken()) for _ in range(4)]
            await asyncio.to_thread(_wait_for_waiters, provider, 3)
            tasks[-1].cancel()
            assert refresh.release is not None
            refresh.release.set()
            with pytest.raises(asyncio.CancelledError):
                await tasks[-1]
            return await asyncio.gather(*tasks[:-1])

        tokens = asyncio.run(main())
        assert refresh.calls == 1
        assert {token.reveal() for token in tokens} == {f"{VALUE}-1"}

    def test_async_fresh_token_needs_no_thread(self) -> None:
        """atoken returns a fresh token directly."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        first = asyncio.run(provider.atoken())
        assert asyncio.run(provider.atoken()) is first
        assert refresh.calls == 1

    def test_interrupted_refresh_releases_waiters(self) -> None:
        """A KeyboardInterrupt in the refresh propagates; waiters get TokenRefreshError."""
        clock = FakeClock()
        refresh = Refresher(clock, release=threading.Event(), fail_with=KeyboardInterrupt())
        provider = TokenProvider(refresh, clock=clock)
        errors: list[BaseException] = []

        def call() -> None:
            try:
                provider.token()
            except BaseException as exc:  # noqa: BLE001 - recording what each thread saw
                errors.append(exc)

        threads = _run_threads(call, 4)
        _wait_for_waiters(provider, 3)
        assert refresh.release is not None
        refresh.release.set()
        for thread in threads:
            thread.join()
        assert sorted(type(e).__name__ for e in errors) == (
            ["KeyboardInterrupt"] + ["TokenRefreshError"] * 3
        )
        refresh.fail_with = None
        assert provider.token().reveal() == f"{VALUE}-2"  # no cooldown after an interrupt


class TestRefreshFailure:
    def test_wrapped_and_chained_without_secrets(self) -> None:
        """Any exception becomes TokenRefreshError from it; its text is not copied."""
        clock = FakeClock()
        cause = ValueError(f"refresh_token={REFRESH_VALUE} rejected")
        provider = TokenProvider(
            Refresher(clock, fail_with=cause), clock=clock, marketplace="amazon"
        )
        with pytest.raises(TokenRefreshError) as info:
            provider.token()
        assert info.value.__cause__ is cause
        assert isinstance(info.value, MarketplaceError)
        assert info.value.marketplace == "amazon"
        assert "ValueError" in str(info.value)
        assert REFRESH_VALUE not in str(info.value)
        assert "client credentials" in str(info.value)

    def test_our_own_errors_keep_their_message(self) -> None:
        """A SafeReleaseError from the refresh keeps its message and attributes."""
        clock = FakeClock()
        cause = TokenRefreshError(
            "LWA answered 400 invalid_grant: re-authorize the seller",
            marketplace="amazon",
            operation="lwa",
        )
        provider = TokenProvider(Refresher(clock, fail_with=cause), clock=clock)
        with pytest.raises(TokenRefreshError, match="invalid_grant") as info:
            provider.token()
        assert (info.value.marketplace, info.value.operation) == ("amazon", "lwa")
        assert info.value.__cause__ is cause

    def test_cooldown_then_retry(self) -> None:
        """Within the cooldown the error repeats without a call; afterwards it retries."""
        clock = FakeClock()
        refresh = Refresher(clock, fail_with=ConnectionError("down"))
        provider = TokenProvider(refresh, clock=clock)
        with pytest.raises(TokenRefreshError):
            provider.token()
        clock.advance(0.5)
        with pytest.raises(TokenRefreshError, match=r"allowed in 0\.5 s") as info:
            provider.token()
        assert isinstance(info.value.__cause__, ConnectionError)
        assert refresh.calls == 1
        assert repr(provider) == "<TokenProvider refresh failed, retry in 0.5s>"
        clock.advance(0.5)
        refresh.fail_with = None
        assert provider.token().reveal() == f"{VALUE}-2"
        assert refresh.calls == 2

    def test_async_cooldown(self) -> None:
        """atoken raises the same cooldown error without calling refresh."""
        clock = FakeClock()
        refresh = Refresher(clock, fail_with=ConnectionError("down"))
        provider = TokenProvider(refresh, clock=clock, failure_cooldown=timedelta(seconds=5))
        with pytest.raises(TokenRefreshError):
            asyncio.run(provider.atoken())
        clock.advance(4)
        with pytest.raises(TokenRefreshError, match=r"allowed in 1\.0 s"):
            asyncio.run(provider.atoken())
        assert refresh.calls == 1

    def test_not_a_grant(self) -> None:
        """A refresh that returns something else is a TokenRefreshError."""
        clock = FakeClock()
        provider = TokenProvider(lambda: {"access_token": VALUE}, clock=clock)  # type: ignore[arg-type,return-value]
        with pytest.raises(TokenRefreshError, match="returned dict, not a TokenGrant") as info:
            provider.token()
        assert VALUE not in str(info.value)

    def test_invalid_grant_built_in_refresh(self) -> None:
        """A TokenGrant rejected inside the refresh surfaces as TokenRefreshError."""
        clock = FakeClock()
        provider = TokenProvider(lambda: TokenGrant(Secret(VALUE), -5), clock=clock)
        with pytest.raises(TokenRefreshError, match="expires_in") as info:
            provider.token()
        assert isinstance(info.value.__cause__, InvalidArgumentError)

    def test_proactive_failure_keeps_the_valid_token(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A failed early refresh keeps serving the still-valid token and logs a warning."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        token = provider.token()
        clock.advance(3550)
        refresh.fail_with = RuntimeError(VALUE)
        with caplog.at_level(logging.WARNING, logger="safe_release.adapters"):
            assert provider.token() is token
        assert "proactive token refresh failed" in caplog.text
        assert "very-secret" not in caplog.text
        assert provider.token() is token  # cooling down: no new attempt
        assert refresh.calls == 2
        clock.advance(1)
        refresh.fail_with = None
        assert provider.token().reveal() == f"{VALUE}-3"

    def test_failure_after_expiry_raises(self) -> None:
        """Once the old token has expired, a failed refresh raises."""
        clock = FakeClock()
        refresh = Refresher(clock)
        provider = TokenProvider(refresh, clock=clock)
        provider.token()
        clock.advance(3600)
        refresh.fail_with = RuntimeError("down")
        with pytest.raises(TokenRefreshError):
            provider.token()


class TestRotation:
    def test_on_rotate_runs_before_the_token_is_used(self) -> None:
        """The rotated refresh token is persisted before the new access token is handed out."""
        clock = FakeClock()
        refresh = Refresher(clock, rotate=True)
        persisted: list[Secret] = []

        def on_rotate(new: Secret) -> None:
            persisted.append(new)
            refresh.events.append(f"rotate {new.reveal()}")
            assert provider._token is None  # the new access token is not in use yet

        provider = TokenProvider(refresh, clock=clock, on_rotate=on_rotate)
        token = provider.token()
        refresh.events.append(f"use {token.reveal()}")
        assert refresh.events == ["refresh 1", f"rotate {REFRESH_VALUE}-1", f"use {VALUE}-1"]
        assert persisted == [Secret(f"{REFRESH_VALUE}-1")]

    def test_no_refresh_token_no_rotate_call(self) -> None:
        """on_rotate is only called when the platform rotated the refresh token."""
        clock = FakeClock()
        calls: list[Secret] = []
        provider = TokenProvider(Refresher(clock), clock=clock, on_rotate=calls.append)
        provider.token()
        assert calls == []

    def test_failing_on_rotate_fails_safe(self) -> None:
        """If on_rotate raises, TokenRefreshError; the old token stays current."""
        clock = FakeClock()
        refresh = Refresher(clock)
        broken = [False]

        def on_rotate(new: Secret) -> None:
            if broken[0]:
                msg = f"disk full writing {new.reveal()}"
                raise OSError(msg)

        provider = TokenProvider(refresh, clock=clock, on_rotate=on_rotate)
        old = provider.token()
        clock.advance(3550)
        refresh.rotate, broken[0] = True, True
        with pytest.raises(TokenRefreshError, match="on_rotate failed") as info:
            provider.token()
        assert isinstance(info.value.__cause__, OSError)
        assert REFRESH_VALUE not in str(info.value)
        assert provider._token is old
        assert provider.token() is old  # still valid, cooling down

    def test_unpersisted_rotation_is_offered_again(self) -> None:
        """After a failed on_rotate the same refresh token is offered again, not re-spent."""
        clock = FakeClock()
        refresh = Refresher(clock, rotate=True)
        offered: list[str] = []
        on_rotate = _persist_failing_once(offered)
        provider = TokenProvider(refresh, clock=clock, on_rotate=on_rotate)
        with pytest.raises(TokenRefreshError):
            provider.token()
        clock.advance(1)
        assert provider.token().reveal() == f"{VALUE}-1"
        assert offered == [f"{REFRESH_VALUE}-1", f"{REFRESH_VALUE}-1"]
        assert refresh.calls == 1

    def test_expired_pending_grant_is_persisted_then_refreshed(self) -> None:
        """A pending grant whose access token expired is persisted, then a new one fetched."""
        clock = FakeClock()
        refresh = Refresher(clock, rotate=True, lifetime=60.0)
        offered: list[str] = []
        on_rotate = _persist_failing_once(offered)
        provider = TokenProvider(refresh, clock=clock, on_rotate=on_rotate)
        with pytest.raises(TokenRefreshError):
            provider.token()
        clock.advance(120)
        assert provider.token().reveal() == f"{VALUE}-2"
        assert offered == [f"{REFRESH_VALUE}-1", f"{REFRESH_VALUE}-1", f"{REFRESH_VALUE}-2"]


def _persist_failing_once(offered: list[str]) -> Callable[[Secret], None]:
    """An on_rotate callback that records what it is offered and fails the first time."""
    failures = [1]

    def on_rotate(new: Secret) -> None:
        offered.append(new.reveal())
        if failures[0]:
            failures[0] -= 1
            raise OSError

    return on_rotate


class TestNoSecretInLogs:
    def test_full_lifecycle_logs_no_secret(self, caplog: pytest.LogCaptureFixture) -> None:
        """Refresh, rotation, failure and invalidation log nothing secret at any level."""
        clock = FakeClock()
        refresh = Refresher(clock, rotate=True)
        provider = TokenProvider(refresh, clock=clock, on_rotate=lambda _: None)
        with caplog.at_level(logging.DEBUG):
            token = provider.token()
            provider.invalidate(token)
            provider.token()
            clock.advance(3590)
            refresh.fail_with = RuntimeError(REFRESH_VALUE)
            provider.token()
            logging.getLogger("test").info("%r %s", provider, token)
        assert "very-secret" not in caplog.text
