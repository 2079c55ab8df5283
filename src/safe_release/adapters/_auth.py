"""Access tokens: never shown, refreshed once and shared by threads and tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

from safe_release._backoff import seconds
from safe_release._clock import Clock, SystemClock
from safe_release._secrets import Secret
from safe_release.exceptions import InvalidArgumentError, SafeReleaseError, TokenRefreshError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TokenGrant", "TokenProvider", "atoken_for", "describe", "token_for"]

_log = logging.getLogger("safe_release.adapters")


@dataclass(frozen=True)
class TokenGrant:
    """What a refresh returns: the access token, its lifetime and any rotated refresh token."""

    access_token: Secret
    expires_in: float
    """Seconds the access token is valid for, from the start of the refresh."""
    refresh_token: Secret | None = None
    """A new refresh token if the platform rotated it; `TokenProvider` hands it to
    ``on_rotate`` before the new access token is used."""
    refresh_expires_in: float | None = None
    """Seconds the refresh token is valid for, from the start of the refresh, if the
    platform says; `RotatingTokens` keeps the previous deadline when it is None."""

    def __post_init__(self) -> None:
        for name in ("access_token", "refresh_token"):
            value = getattr(self, name)
            if not isinstance(value, Secret) and not (name == "refresh_token" and value is None):
                msg = f"TokenGrant({name}=…) must be a Secret; wrap the string: Secret(value)"
                raise InvalidArgumentError(msg)
        lifetime = self.expires_in
        if isinstance(lifetime, timedelta):
            lifetime = lifetime.total_seconds()
        object.__setattr__(self, "expires_in", seconds(lifetime, "TokenGrant(expires_in=…)"))
        if self.refresh_expires_in is not None:
            lasts = self.refresh_expires_in
            checked = seconds(lasts, "TokenGrant(refresh_expires_in=…)", zero=True)
            object.__setattr__(self, "refresh_expires_in", checked)


class _Flight:
    """One refresh in progress; every caller that needs its result waits on it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.token: Secret | None = None
        self.error: TokenRefreshError | None = None
        self.waiters = 0
        self.loops: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def outcome(self) -> Secret:
        if self.error is not None:
            _raise_again(self.error)
        assert self.token is not None  # noqa: S101 - set whenever error is not
        return self.token

    def wake(self) -> None:
        self.done.set()
        for loop, future in self.loops:
            with contextlib.suppress(RuntimeError):  # the loop was closed meanwhile
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _raise_again(error: TokenRefreshError) -> NoReturn:
    """Raise a fresh copy (one exception object must not be raised in two threads)."""
    copy = TokenRefreshError(str(error), marketplace=error.marketplace, operation=error.operation)
    raise copy from error.__cause__


class TokenProvider:
    """Hands out a valid access token, refreshing it once for everybody.

    ``refresh`` is called (in a thread) when there is no token, when it has
    expired or was `invalidate`-d, and proactively when less than ``skew``
    seconds remain. One refresh runs at a time: threads and asyncio tasks that
    need its result wait for it and share it (or its `TokenRefreshError`). If a
    refresh fails while the current token is still valid, that token keeps being
    used. After a failure the next refresh waits ``failure_cooldown`` seconds;
    meanwhile callers without a valid token get the same error at once.

    ``on_rotate`` receives a rotated refresh token *before* the new access token is
    used, to persist it; if it raises, the refresh fails with `TokenRefreshError`,
    the old state is kept and the next attempt offers the same refresh token to
    ``on_rotate`` again instead of spending a (possibly single-use) one.
    """

    def __init__(
        self,
        refresh: Callable[[], TokenGrant],
        *,
        clock: Clock | None = None,
        skew: float | timedelta = 60.0,
        on_rotate: Callable[[Secret], None] | None = None,
        failure_cooldown: float | timedelta = 1.0,
        marketplace: str = "",
    ) -> None:
        if not callable(refresh):
            msg = "TokenProvider(refresh=…) must be a callable returning a TokenGrant"
            raise InvalidArgumentError(msg)
        self._refresh = refresh
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._skew = seconds(skew, "TokenProvider(skew=…)", zero=True)
        self._cooldown = seconds(failure_cooldown, "TokenProvider(failure_cooldown=…)", zero=True)
        self._on_rotate = on_rotate
        self._marketplace = marketplace
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when a caller starts waiting
        self._token: Secret | None = None
        self._expires = 0.0  # monotonic
        self._refresh_at = 0.0  # monotonic: proactive refresh from here on
        self._expires_wall: float | None = None
        self._flight: _Flight | None = None
        self._failure: TokenRefreshError | None = None
        self._failed_until = 0.0  # monotonic
        self._pending: tuple[TokenGrant, float, float] | None = None  # grant, mono, wall start

    @property
    def expires_at(self) -> float | None:
        """When the current token expires (seconds since the epoch), or ``None``."""
        with self._lock:
            return self._expires_wall if self._token is not None else None

    def token(self) -> Secret:
        """A valid access token, refreshing it first if needed (single flight)."""
        with self._lock:
            step = self._next_step()
            if isinstance(step, Secret):
                return step
            flight, lead = step
            if not lead:
                self._count_waiter(flight)
        if lead:
            return self._lead(flight)
        flight.done.wait()
        return flight.outcome()

    async def atoken(self) -> Secret:
        """Like `token`, for asyncio tasks; shares the single flight with threads."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            step = self._next_step()
            if isinstance(step, Secret):
                return step
            flight, lead = step
            if not lead:
                flight.loops.append((loop, future))
                self._count_waiter(flight)
        if lead:
            return await asyncio.to_thread(self._lead, flight)
        await future
        return flight.outcome()

    def _count_waiter(self, flight: _Flight) -> None:
        flight.waiters += 1
        self._changed.notify_all()

    def invalidate(self, token: Secret) -> None:
        """Drop ``token`` (the marketplace said it expired) if it is still the current one.

        Many callers that got a 403 with the same token cause one refresh: only the
        first call drops it; the others find a different (or no) current token.
        """
        with self._lock:
            if self._token is not None and self._token == token:
                self._token = None
                self._expires_wall = None

    def _next_step(self) -> Secret | tuple[_Flight, bool]:
        """Under the lock: a usable token, or the flight to lead (True) or wait for."""
        now = self._clock.monotonic()
        valid = self._token if self._token is not None and now < self._expires else None
        if valid is not None and (
            now < self._refresh_at or self._flight is not None or now < self._failed_until
        ):
            return valid
        if valid is None and self._flight is not None:
            return self._flight, False
        if valid is None and self._failure is not None and now < self._failed_until:
            self._raise_cooling(now)
        self._flight = _Flight()
        return self._flight, True

    def _raise_cooling(self, now: float) -> NoReturn:
        failure = self._failure
        assert failure is not None  # noqa: S101 - checked by the caller
        wait = self._failed_until - now
        msg = f"{failure} (the next refresh attempt is allowed in {wait:.1f} s)"
        raise TokenRefreshError(
            msg, marketplace=failure.marketplace, operation=failure.operation
        ) from failure.__cause__

    def _lead(self, flight: _Flight) -> Secret:
        """Run the refresh for everybody waiting on ``flight``."""
        try:
            grant, mono_start, wall_start = self._obtain()
        except TokenRefreshError as error:
            return self._failed(flight, error)
        except BaseException:
            interrupted = TokenRefreshError(
                "the token refresh was interrupted; call again to retry",
                marketplace=self._marketplace,
            )
            self._finish(flight, None, interrupted)
            raise
        lifetime = grant.expires_in
        with self._lock:
            self._token = grant.access_token
            self._expires = mono_start + lifetime
            self._refresh_at = self._expires - min(self._skew, lifetime / 2)
            self._expires_wall = wall_start + lifetime
            self._failure = None
            self._failed_until = 0.0
        self._finish(flight, grant.access_token, None)
        return grant.access_token

    def _failed(self, flight: _Flight, error: TokenRefreshError) -> Secret:
        with self._lock:
            now = self._clock.monotonic()
            self._failure = error
            self._failed_until = now + self._cooldown
            still_valid = self._token if self._token is not None and now < self._expires else None
        self._finish(flight, None, error)
        if still_valid is None or self._pending is not None:
            raise error
        _log.warning(
            "proactive token refresh failed, still using the current token for %.0f s: %s",
            self._expires - now,
            error,
        )
        return still_valid

    def _finish(
        self, flight: _Flight, token: Secret | None, error: TokenRefreshError | None
    ) -> None:
        with self._lock:
            flight.token, flight.error = token, error
            self._flight = None  # only the leader of the one flight in progress gets here
            flight.wake()

    def _obtain(self) -> tuple[TokenGrant, float, float]:
        """A persisted grant: one whose rotation failed before, or a new one from ``refresh``."""
        if self._pending is not None:
            grant, mono_start, wall_start = self._pending
            self._rotate(grant, mono_start, wall_start)
            if self._clock.monotonic() < mono_start + grant.expires_in:
                return grant, mono_start, wall_start
        mono_start, wall_start = self._clock.monotonic(), self._clock.time()
        grant = self._call_refresh()
        self._rotate(grant, mono_start, wall_start)
        return grant, mono_start, wall_start

    def _rotate(self, grant: TokenGrant, mono_start: float, wall_start: float) -> None:
        """Hand a rotated refresh token to ``on_rotate``; keep the grant if that fails."""
        if grant.refresh_token is not None and self._on_rotate is not None:
            try:
                self._on_rotate(grant.refresh_token)
            except Exception as exc:
                self._pending = (grant, mono_start, wall_start)
                msg = (
                    "the marketplace rotated the refresh token but on_rotate failed to persist "
                    f"it ({describe(exc)}); the new access token was not used. Fix the storage "
                    "behind on_rotate: the next call offers the same refresh token to it again"
                )
                raise TokenRefreshError(msg, marketplace=self._marketplace) from exc
        self._pending = None

    def _call_refresh(self) -> TokenGrant:
        try:
            grant = self._refresh()
        except Exception as exc:
            msg = (
                f"refreshing the access token failed ({describe(exc)}); check the app's "
                "client credentials and that the seller's authorization was not revoked"
            )
            raise TokenRefreshError(
                msg,
                marketplace=getattr(exc, "marketplace", "") or self._marketplace,
                operation=getattr(exc, "operation", ""),
            ) from exc
        if not isinstance(grant, TokenGrant):
            msg = (
                f"the refresh callable returned {type(grant).__name__}, not a TokenGrant; "
                "return TokenGrant(access_token=Secret(...), expires_in=...)"
            )
            raise TokenRefreshError(msg, marketplace=self._marketplace)
        return grant

    def __repr__(self) -> str:
        with self._lock:
            now = self._clock.monotonic()
            if self._flight is not None:
                return "<TokenProvider refreshing>"
            if self._token is not None and now < self._expires:
                return f"<TokenProvider valid for {self._expires - now:.0f}s>"
            if self._failure is not None and now < self._failed_until:
                return f"<TokenProvider refresh failed, retry in {self._failed_until - now:.1f}s>"
            return "<TokenProvider no valid token>"


def token_for(provider: TokenProvider, stale: object | None) -> Secret:
    """A valid token from ``provider``, after dropping ``stale`` (the one a call was refused with).

    The body of an adapter's ``authorize`` hook: ``stale`` is what the hook
    returned for the refused attempt, a `Secret` or anything else (ignored).
    """
    if isinstance(stale, Secret):
        provider.invalidate(stale)
    return provider.token()


async def atoken_for(provider: TokenProvider, stale: object | None) -> Secret:
    """`token_for`, awaiting a shared refresh instead of blocking the loop."""
    if isinstance(stale, Secret):
        provider.invalidate(stale)
    return await provider.atoken()


def describe(exc: BaseException) -> str:
    """Our own errors carry no secrets; for anything else, only the type is shown."""
    if isinstance(exc, SafeReleaseError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__}; see the chained exception for details"
