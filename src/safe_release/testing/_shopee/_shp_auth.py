"""Shopee's tokens for the fake: codes, access tokens, single-use rotating refresh tokens.

WIRE.md 4: a ``code`` is single-use and lives 10 minutes; an access token lives
14400 s; a refresh token lives 30 days and is spent by the refresh that uses it
(a replay answers ``error_auth`` "Invalid refresh_token."). Tokens are per shop.
Tokens are random (``secrets``), kept only here, and never written to a call
record, a repr or a log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from safe_release.testing._shopee._shp_wire import Reject

__all__ = [
    "ACCESS_LIFETIME",
    "CODE_LIFETIME",
    "REFRESH_LIFETIME",
    "Pair",
    "ShopeeTokens",
    "bad_access",
]

ACCESS_LIFETIME = 14400.0
REFRESH_LIFETIME = 30 * 86400.0
CODE_LIFETIME = 600.0
_INVALID_ACCESS = "Invalid access_token."
_INVALID_REFRESH = "Invalid refresh_token."


@dataclass(frozen=True)
class Pair:
    """A token pair the fake issued, with when each stops working."""

    shop_id: int
    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float


@dataclass(frozen=True)
class _Access:
    shop_id: int
    expires: float
    generation: int


@dataclass
class _Refresh:
    shop_id: int
    expires: float
    spent: bool = False


def bad_access(error: str = "error_auth") -> Reject:
    """The answer to an unknown, revoked or expired access token (403 [U])."""
    return Reject(error, _INVALID_ACCESS, status=403)


def _field(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, dict) else None


def _int_field(body: Any, name: str) -> int | None:
    value = _field(body, name)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


class ShopeeTokens:
    """``auth/token/get``, ``auth/access_token/get`` and the token check of Shop APIs."""

    def __init__(self, partner_id: int) -> None:
        self.partner_id = partner_id
        self.partner_key = "shpk" + secrets.token_hex(30)
        self._codes: dict[str, tuple[int, float]] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self.issued = 0
        self.refreshes = 0

    def new_code(self, shop_id: int, now: float) -> str:
        """A one-use authorisation code for ``shop_id``, good for 10 minutes."""
        code = secrets.token_hex(16)
        self._codes[code] = (shop_id, now + CODE_LIFETIME)
        return code

    def issue(self, shop_id: int, now: float, *, generation: int) -> Pair:
        """A new pair for ``shop_id``, as if the shop had just been authorised."""
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self._access[access] = _Access(shop_id, now + ACCESS_LIFETIME, generation)
        self._refresh[refresh] = _Refresh(shop_id, now + REFRESH_LIFETIME)
        self.issued += 1
        return Pair(shop_id, access, refresh, now + ACCESS_LIFETIME, now + REFRESH_LIFETIME)

    def _partner(self, body: Any) -> None:
        if _int_field(body, "partner_id") != self.partner_id:
            raise Reject("invalid_partner_id", "Invalid partner_id.", status=400)

    def exchange_code(
        self, body: Any, now: float, *, generation: int
    ) -> tuple[dict[str, Any], int]:
        """The answer's fields for ``token/get``, and the shop; or a `Reject`."""
        self._partner(body)
        shop_id = _int_field(body, "shop_id")
        if shop_id is None:
            raise Reject("error_param", "shop_id is required.", status=400)
        code = _field(body, "code")
        found = self._codes.get(code) if isinstance(code, str) else None
        if found is None or now >= found[1]:
            raise Reject("invalid_code", "Invalid code", status=403)
        if found[0] != shop_id:
            raise Reject("invalid_shop_id", "Invalid shop_id.", status=403)
        del self._codes[code]
        pair = self.issue(shop_id, now, generation=generation)
        # The first issue's expire_in is a little under 14400 (WIRE.md 4.2): the
        # token's life counts from the code.
        expire_in = int(ACCESS_LIFETIME - (now - (found[1] - CODE_LIFETIME)))
        fields = {
            "refresh_token": pair.refresh_token,
            "access_token": pair.access_token,
            "expire_in": expire_in,
        }
        return fields, shop_id

    def refresh(self, body: Any, now: float, *, generation: int) -> tuple[dict[str, Any], int]:
        """The answer's fields for ``access_token/get`` (the old token spent), and the shop."""
        self._partner(body)
        shop_id = _int_field(body, "shop_id")
        if _field(body, "merchant_id") is not None:
            raise Reject("error_param", "Send shop_id or merchant_id, not both.", status=400)
        if shop_id is None:
            raise Reject("error_param", "shop_id is required.", status=400)
        token = _field(body, "refresh_token")
        found = self._refresh.get(token) if isinstance(token, str) else None
        if found is None or found.spent or found.shop_id != shop_id:
            raise Reject("error_auth", _INVALID_REFRESH, status=403)
        if now >= found.expires:
            raise Reject("refresh_token_expired", "The refresh_token has expired.", status=403)
        found.spent = True
        pair = self.issue(shop_id, now, generation=generation)
        self.refreshes += 1
        fields = {
            "partner_id": self.partner_id,
            "refresh_token": pair.refresh_token,
            "access_token": pair.access_token,
            "expire_in": int(ACCESS_LIFETIME),
            "shop_id": shop_id,
        }
        return fields, shop_id

    def check(
        self, token: str, shop_id: int, now: float, *, generation: int, expired_error: str
    ) -> None:
        """Nothing if ``token`` speaks for ``shop_id`` now; else the invalid-token `Reject`."""
        found = self._access.get(token)
        if found is None or found.shop_id != shop_id or found.generation < generation:
            raise bad_access()
        if now >= found.expires:
            raise bad_access(expired_error)

    def refresh_state(self, token: str) -> str:
        """``live``, ``spent`` or ``unknown``: what became of a refresh token (for tests)."""
        found = self._refresh.get(token)
        if found is None:
            return "unknown"
        return "spent" if found.spent else "live"
