"""Lazada's auth host for the fake: apps, authorisation codes, rotating token pairs.

Lifetimes follow the app's status (WIRE.md 4.4): Test 7 days access / 30 days
refresh, Online 30 / 180 days. A refresh spends its refresh token (single use),
and hands out a new pair whose refresh deadline is the old one's: re-authorising
is the only way to move it. Whether a refresh ends the previous access token is
not documented: here it keeps working until its own expiry [U]. Tokens are
random (``secrets``), kept only here, and never written to a call record, a repr
or a log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from safe_release.testing._lazada._lzd_wire import LzdError

__all__ = ["CODE_LIFETIME", "LIFETIMES", "AccessGrant", "App", "TokenServer"]

DAY = 86400.0
LIFETIMES = {"test": (7 * DAY, 30 * DAY), "online": (30 * DAY, 180 * DAY)}
"""App status -> (access token lifetime, refresh token lifetime), seconds."""
CODE_LIFETIME = 1800.0


@dataclass(frozen=True)
class App:
    """An app: its key, secret and status (``test`` or ``online``)."""

    app_key: str
    secret: str
    status: str


@dataclass(frozen=True)
class AccessGrant:
    """Who an access token speaks for, for which app, until when."""

    seller_id: str
    app_key: str
    expires: float
    generation: int


@dataclass
class _RefreshGrant:
    seller_id: str
    app_key: str
    deadline: float
    spent: bool = False


class TokenServer:
    """``/auth/token/create``, ``/auth/token/refresh`` and the token check of other calls."""

    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self._access: dict[str, AccessGrant] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._codes: dict[str, tuple[str, str, float]] = {}  # code -> seller, app, expiry
        self.issued = 0

    def new_app(self, app_key: str, status: str) -> App:
        """Register an app."""
        app = App(app_key, secrets.token_urlsafe(24), status)
        self.apps[app_key] = app
        return app

    def new_code(self, seller_id: str, app_key: str, now: float) -> str:
        """A single-use authorisation code, valid for 30 minutes."""
        code = "0_" + app_key + "_" + secrets.token_urlsafe(18)
        self._codes[code] = (seller_id, app_key, now + CODE_LIFETIME)
        return code

    def new_pair(
        self,
        seller_id: str,
        app_key: str,
        *,
        now: float,
        generation: int,
        deadline: float | None = None,
    ) -> tuple[str, str, float, float]:
        """(access token, refresh token, access expiry, refresh deadline) for a grant.

        Without ``deadline`` the refresh token's lifetime starts now (a consent);
        the access token never outlives the refresh deadline.
        """
        access_life, refresh_life = LIFETIMES[self.apps[app_key].status]
        until = now + refresh_life if deadline is None else deadline
        expires = min(now + access_life, until)
        access = "50000" + secrets.token_hex(2) + secrets.token_urlsafe(36)
        refresh = "50001" + secrets.token_hex(2) + secrets.token_urlsafe(36)
        self._access[access] = AccessGrant(seller_id, app_key, expires, generation)
        self._refresh[refresh] = _RefreshGrant(seller_id, app_key, until)
        return access, refresh, expires, until

    def create(
        self, code: str, app_key: str, *, now: float, generation: int
    ) -> tuple[str, dict[str, object]]:
        """(seller id, token fields) for ``/auth/token/create``; the code is spent."""
        found = self._codes.pop(code, None)
        if found is None or found[1] != app_key or now >= found[2]:
            raise LzdError("InvalidCode", "Invalid authorization code")
        seller_id = found[0]
        return seller_id, self._document(seller_id, app_key, now, generation, None)

    def refresh(
        self, refresh_token: str, app_key: str, *, now: float, generation: int
    ) -> tuple[str, dict[str, object]]:
        """(seller id, token fields) for ``/auth/token/refresh``; the refresh token is spent."""
        grant = self._refresh.get(refresh_token)
        if grant is None or grant.spent or grant.app_key != app_key or now >= grant.deadline:
            raise LzdError(
                "IllegalRefreshToken", "The specified refresh token is invalid or expired"
            )
        grant.spent = True
        return grant.seller_id, self._document(
            grant.seller_id, app_key, now, generation, grant.deadline
        )

    def _document(
        self, seller_id: str, app_key: str, now: float, generation: int, deadline: float | None
    ) -> dict[str, object]:
        access, refresh, expires, until = self.new_pair(
            seller_id, app_key, now=now, generation=generation, deadline=deadline
        )
        self.issued += 1
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": max(0, int(expires - now)),
            "refresh_expires_in": max(0, int(until - now)),
        }

    def check(self, token: str, app_key: str, *, now: float, generation: int) -> AccessGrant:
        """The grant behind ``access_token``, or ``IllegalAccessToken``."""
        found = self._access.get(token)
        if (
            found is None
            or found.app_key != app_key
            or found.generation < generation
            or now >= found.expires
        ):
            raise LzdError(
                "IllegalAccessToken", "The specified access token is invalid or expired"
            )
        return found
