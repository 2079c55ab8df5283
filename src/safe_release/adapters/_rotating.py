"""Single-use rotating refresh tokens, spent by one process at a time and never twice."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, NoReturn

import httpx

from safe_release._backoff import seconds
from safe_release._clock import Clock, SystemClock
from safe_release._secrets import Secret
from safe_release.adapters._auth import TokenGrant, describe
from safe_release.adapters._refresh_lock import RefreshLock
from safe_release.adapters._token_store import StoredToken, TokenStore, check_key
from safe_release.exceptions import (
    CircuitOpenError,
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceHTTPError,
    MarketplaceTransportError,
    RateLimitedError,
    ReauthorizationRequired,
    TokenRefreshError,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta

__all__ = ["RotatingTokens", "fingerprint"]

_log = logging.getLogger("safe_release.adapters")
LOCK_POLL = (0.01, 0.2)
"""Waiting for another process's refresh: the first and the longest pause between
looks at the store (real seconds; doubling in between)."""
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def fingerprint(key: str, token: Secret) -> str:
    """SHA-256 (hex) of ``token`` under ``key``: names a refresh token, is not one."""
    return hashlib.sha256(f"{key}\0{token.reveal()}".encode()).hexdigest()


def _not_spent(exc: BaseException) -> bool:
    """Whether a failed refresh certainly did not spend the refresh token.

    Nothing was sent (a connection that failed, an open circuit, a bad argument),
    or the marketplace refused the request without acting on it (throttled, a 4xx
    other than an auth refusal), or the refresh callable said so by raising a
    plain `TokenRefreshError`. Anything else may have spent it.
    """
    if isinstance(exc, ReauthorizationRequired | MarketplaceAuthError):
        return False
    if type(exc) is TokenRefreshError or isinstance(
        exc, (CircuitOpenError, RateLimitedError, InvalidArgumentError, *_NOT_SENT)
    ):
        return True
    if isinstance(exc, MarketplaceHTTPError):
        return exc.status < 500  # noqa: PLR2004 - HTTP classes
    if isinstance(exc, MarketplaceTransportError) and type(exc) is MarketplaceTransportError:
        return isinstance(exc.__cause__, _NOT_SENT)
    return False


class RotatingTokens:
    """Access tokens from a single-use refresh token, shared by processes through a store.

    The user's ``store`` (a `TokenStore`) holds the pair; it is read first, so a
    token another process refreshed is used as it is. A refresh runs under
    ``lock`` (a `RefreshLock`: one refresher per key across processes, threads
    and tasks) after reading the store again, and:

    - marks the refresh "in flight" in the lock (a fingerprint of the refresh
      token being spent, never the token) before sending it;
    - saves the new pair through ``store.save`` before the access token is used;
      if that raises, `TokenRefreshError`: the pair is kept in memory and offered
      to ``save`` again on the next call, never refreshed a second time;
    - clears the marker once the pair is saved.

    A refresh whose answer was lost (sent, then a timeout or an unreadable
    answer), a marker left by a crash with the fingerprint of the stored refresh
    token, a refresh token the marketplace refuses as used or invalid (the
    ``refresh`` callable raises `ReauthorizationRequired` or
    `MarketplaceAuthError`), an expired refresh token, or no stored pair at all
    raise `ReauthorizationRequired` naming ``shop`` with ``authorization_url()``
    -- at once, and for every later call until the store holds a different
    refresh token (the shop was authorised again). A spent token is never sent
    twice. ``refresh`` raising a plain `TokenRefreshError` says nothing was spent.

    An access token is used until ``skew`` seconds before it expires. ``lease``
    is how long a holder that died keeps the lock; ``lock_wait`` (real seconds)
    bounds the wait for another live process's refresh.
    """

    def __init__(
        self,
        key: str,
        store: TokenStore,
        refresh: Callable[[Secret], TokenGrant],
        *,
        lock: RefreshLock,
        clock: Clock | None = None,
        skew: float | timedelta = 300.0,
        authorization_url: Callable[[], str] | None = None,
        marketplace: str = "",
        shop: str = "",
        lease: float | timedelta = 60.0,
        lock_wait: float | timedelta = 120.0,
    ) -> None:
        self.key = check_key(key, "RotatingTokens(key=…)")
        if not (callable(getattr(store, "load", None)) and callable(getattr(store, "save", None))):
            msg = "RotatingTokens(store=…) must be a TokenStore (load(key) and save(key, token))"
            raise InvalidArgumentError(msg)
        if not isinstance(lock, RefreshLock):
            msg = "RotatingTokens(lock=…) must be a RefreshLock (StoreRefreshLock, …)"
            raise InvalidArgumentError(msg)
        if not callable(refresh):
            msg = "RotatingTokens(refresh=…) must be a callable(refresh_token) -> TokenGrant"
            raise InvalidArgumentError(msg)
        self.store, self.lock = store, lock
        self._refresh = refresh
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._skew = seconds(skew, "RotatingTokens(skew=…)", zero=True)
        self._lease = seconds(lease, "RotatingTokens(lease=…)")
        self._lock_wait = seconds(lock_wait, "RotatingTokens(lock_wait=…)")
        self._authorization_url = authorization_url
        self.marketplace, self.shop = marketplace, shop
        self._holder = f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._state = threading.Lock()
        self._flight = threading.Lock()  # one refresher per process; others wait here
        self._current: StoredToken | None = None
        self._seen: StoredToken | None = None  # the last pair read or made (for deadlines)
        self._invalid: Secret | None = None  # an access token the marketplace refused
        self._pending: tuple[str, StoredToken] | None = None  # (spent fp, unsaved pair)
        self._dead: str | None = None  # fingerprint of a refresh token known spent
        self.refreshes = 0
        """How many refreshes this object sent (for tests and monitoring)."""

    # -- the TokenProvider surface -----------------------------------------------------

    @property
    def expires_at(self) -> float | None:
        """When the access token in use expires (epoch seconds), or None."""
        with self._state:
            return None if self._current is None else self._current.access_expires_at

    @property
    def refresh_expires_at(self) -> float | None:
        """When the refresh token lapses (epoch seconds), or None if unknown."""
        with self._state:
            return None if self._seen is None else self._seen.refresh_expires_at

    def invalidate(self, token: object) -> None:
        """Drop ``token`` (the marketplace said it expired) if it is the one in use."""
        if not isinstance(token, Secret):
            return
        with self._state:
            self._invalid = token
            if self._current is not None and self._current.access_token == token:
                self._current = None

    def token(self) -> Secret:
        """A valid access token: the one in use, the stored one, or a refreshed one."""
        valid = self._usable()
        if valid is not None:
            return valid
        with self._flight:
            valid = self._usable()
            if valid is not None:
                return valid
            return self._obtain()

    async def atoken(self) -> Secret:
        """`token` for asyncio tasks (a refresh or a wait runs in a worker thread)."""
        valid = self._usable()
        if valid is not None:
            return valid
        return await asyncio.to_thread(self.token)

    # -- internals ---------------------------------------------------------------------

    def _fresh(self, pair: StoredToken | None) -> bool:
        return (
            pair is not None
            and self._clock.time() < pair.access_expires_at - self._skew
            and pair.access_token != self._invalid
        )

    def _usable(self) -> Secret | None:
        with self._state:
            current = self._current
            return current.access_token if current is not None and self._fresh(current) else None

    def _use(self, pair: StoredToken) -> Secret:
        with self._state:
            self._current = self._seen = pair
        return pair.access_token

    def _load(self) -> StoredToken | None:
        try:
            pair = self.store.load(self.key)
        except Exception as exc:
            msg = (
                f"{self.marketplace} shop {self.shop}: reading the token store failed "
                f"({describe(exc)}); fix the token store, then retry"
            )
            raise TokenRefreshError(msg, marketplace=self.marketplace) from exc
        if pair is not None and not isinstance(pair, StoredToken):
            msg = f"the token store's load returned {type(pair).__name__}, not a StoredToken"
            raise TokenRefreshError(msg, marketplace=self.marketplace)
        if pair is not None:
            with self._state:
                self._seen = pair
        return pair

    def _obtain(self) -> Secret:
        """Under this process's flight lock: a stored, saved or refreshed access token."""
        stored = self._load()
        if self._pending is None and self._fresh(stored):
            assert stored is not None  # noqa: S101 - _fresh says so
            return self._use(stored)
        self._acquire()
        try:
            return self._locked()
        finally:
            self.lock.release(self.key, self._holder)

    def _acquire(self) -> None:
        """Take the lock, waiting (real time) while another live process refreshes."""
        pause, waited = LOCK_POLL[0], 0.0
        while not self.lock.acquire(
            self.key, self._holder, now=self._clock.time(), lease=self._lease
        ):
            if waited >= self._lock_wait:
                msg = (
                    f"{self.marketplace} shop {self.shop}: another process has been "
                    f"refreshing the tokens for over {self._lock_wait:g} s; retry later"
                )
                raise TokenRefreshError(msg, marketplace=self.marketplace)
            time.sleep(pause)
            waited += pause
            pause = min(pause * 2, LOCK_POLL[1])

    def _locked(self) -> Secret:
        """Holding the lock: read the store again, then save a pending pair or refresh."""
        stored = self._load()
        spent = None if stored is None else fingerprint(self.key, stored.refresh_token)
        if self._pending is not None:
            parent, pair = self._pending
            if parent == spent:
                return self._save(parent, pair)
            self._pending = None  # the shop was authorised again meanwhile: use that
        if self._fresh(stored):
            assert stored is not None  # noqa: S101 - _fresh says so
            return self._use(stored)
        if stored is None or spent is None:
            self._reauthorize("no token pair is stored for it")
        if spent == self._dead:
            self._reauthorize("its refresh token was spent and the answer lost")
        if self.lock.marker(self.key) == spent:
            self._dead = spent
            self._reauthorize(
                "a refresh of its current refresh token was sent but its answer never saved "
                "(a crash or a lost answer)"
            )
        lapse = stored.refresh_expires_at
        if lapse is not None and self._clock.time() >= lapse:
            self._reauthorize("its refresh token has expired")
        return self._refresh_now(stored, spent)

    def _refresh_now(self, stored: StoredToken, spent: str) -> Secret:
        """Spend ``stored``'s refresh token; save the new pair before using it."""
        self.lock.mark(self.key, spent, now=self._clock.time())
        started = self._clock.time()
        self.refreshes += 1
        try:
            grant = self._refresh(stored.refresh_token)
        except Exception as exc:  # noqa: BLE001 - any failure may have spent the token
            if _not_spent(exc):
                self.lock.clear_mark(self.key)
                self._refresh_failed(exc)
            self._dead = spent  # the marker stays: other processes know it too
            self._reauthorize(f"its refresh token was refused or spent ({describe(exc)})", exc)
        if not isinstance(grant, TokenGrant) or grant.refresh_token is None:
            self._dead = spent
            what = (
                "no new refresh token"
                if isinstance(grant, TokenGrant)
                else f"a {type(grant).__name__}, not a TokenGrant"
            )
            self._reauthorize(f"the refresh answer held {what}, and the old one may be spent")
        lapse = stored.refresh_expires_at
        if grant.refresh_expires_in is not None:
            lapse = started + grant.refresh_expires_in
        pair = StoredToken(
            access_token=grant.access_token,
            access_expires_at=started + grant.expires_in,
            refresh_token=grant.refresh_token,
            refresh_expires_at=lapse,
        )
        return self._save(spent, pair)

    def _save(self, spent: str, pair: StoredToken) -> Secret:
        """Save ``pair`` (a refresh of the token ``spent``) through the store, then use it."""
        try:
            self.store.save(self.key, pair)
        except Exception as exc:
            self._pending = (spent, pair)
            msg = (
                f"{self.marketplace} shop {self.shop}: the tokens were refreshed but saving "
                f"them in the token store failed ({describe(exc)}); the new access token was "
                "not used. Fix the token store: the next call offers the same pair to it "
                "again (no second refresh)"
            )
            raise TokenRefreshError(msg, marketplace=self.marketplace) from exc
        self._pending = None
        self.lock.clear_mark(self.key)
        with self._state:
            self._invalid = None
        return self._use(pair)

    def _refresh_failed(self, exc: Exception) -> NoReturn:
        if isinstance(exc, TokenRefreshError):
            raise exc
        msg = (
            f"{self.marketplace} shop {self.shop}: refreshing the access token failed "
            f"({describe(exc)}); nothing was spent, retry later"
        )
        raise TokenRefreshError(msg, marketplace=self.marketplace) from exc

    def _reauthorize(self, why: str, cause: BaseException | None = None) -> NoReturn:
        url = ""
        if self._authorization_url is not None:
            try:
                url = str(self._authorization_url())
            except Exception:  # noqa: BLE001 - the link is a courtesy; the error is what counts
                url = ""
        msg = (
            f"{self.marketplace} shop {self.shop} must be authorised again: {why}. Send the "
            "shop's owner to the authorisation link (ReauthorizationRequired."
            "authorization_url), then save the new tokens in the token store; until then "
            "every call fails at once"
        )
        _log.warning("%s shop %s needs re-authorising: %s", self.marketplace, self.shop, why)
        raise ReauthorizationRequired(
            msg, marketplace=self.marketplace, shop=self.shop, authorization_url=url
        ) from cause

    def __repr__(self) -> str:
        with self._state:
            current, dead = self._current, self._dead is not None
        if dead:
            return f"<RotatingTokens {self.marketplace} shop={self.shop!r} needs re-authorising>"
        if current is not None and self._fresh(current):
            left = current.access_expires_at - self._clock.time()
            return f"<RotatingTokens {self.marketplace} shop={self.shop!r} valid for {left:.0f}s>"
        return f"<RotatingTokens {self.marketplace} shop={self.shop!r} no valid token>"
