"""Lazada tokens: the signed refresh at the auth host, its answer checked, the consent link.

A refresh (``/auth/token/refresh`` at ``auth.lazada.com``) spends the refresh
token and answers a new pair whose refresh deadline is NOT extended:
``refresh_expires_in`` keeps counting down to the deadline of the seller's
consent. Nothing raised here holds a token or the app secret, and no frame
behind a failed refresh keeps the request that carried them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from safe_release._secrets import Secret
from safe_release.adapters import _lazada_wire as wire
from safe_release.adapters._grants import exchange
from safe_release.adapters._shapes import kind
from safe_release.adapters._shapes import text as _text
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    MarketplaceTransportError,
    RateLimitedError,
)

if TYPE_CHECKING:
    import httpx

    from safe_release._clock import Clock

__all__ = ["Grant", "TokenCall", "authorization_url", "parse_grant"]

_OP = "token_refresh"
_NOT_SENT = ("ConnectError", "PoolTimeout")
"""Transport failures before the request left: the token sent was not spent."""
MAX_ACCESS_S = 31 * 86_400.0
"""An access token is never taken to live longer than this (Lazada grants 30 days online)."""
_REFUSED = {
    "IllegalRefreshToken": "the refresh token is invalid, expired or already used: the "
    "seller must authorise the app again (LazadaAdapter.authorization_url())",
    "AUTH_TYPE_UNSUPPORTED": "this seller's authorisation cannot be refreshed: the seller "
    "must authorise the app again",
    "InvalidCode": "the authorisation code is invalid, used or older than 30 minutes: "
    "have the seller authorise again",
    "IncompleteSignature": "Lazada refused the signature: check app_key and app_secret",
    "InvalidAppKey": "check app_key",
}


@dataclass(frozen=True)
class Grant:
    """A token answer: the pair, their lifetimes (seconds from the request)."""

    access_token: Secret
    expires_in: float
    refresh_token: Secret
    refresh_expires_in: float
    country: str


def _seconds(value: object) -> float | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def parse_grant(status: int, body: object, operation: str) -> Grant:
    """The grant in a token answer, or the typed error for it (raised).

    Numbers may come as strings. An answer without a new refresh token is
    refused (`MarketplaceResponseError`): the one sent may already be spent.
    """
    if not isinstance(body, dict):
        what = "not JSON" if body is None else f"{kind(body)}, not a JSON object"
        msg = f"Lazada's token endpoint answered HTTP {status} with a body that is {what}"
        raise MarketplaceResponseError(msg, marketplace="lazada", operation=operation)
    code = wire.error_code(body)
    if code is not None:
        raise _refused(status, code, body, operation)
    access, refresh = body.get("access_token"), body.get("refresh_token")
    lifetime, refresh_lifetime = (
        _seconds(body.get("expires_in")),
        _seconds(body.get("refresh_expires_in")),
    )
    problem = ""
    if not isinstance(access, str) or not access:
        problem = f"access_token is {kind(access)}, not a token"
    elif not lifetime:
        problem = "expires_in is not a positive number of seconds"
    elif not isinstance(refresh, str) or not refresh:
        problem = f"refresh_token is {kind(refresh)}, not a token (the one sent may be spent)"
    elif refresh_lifetime is None:
        problem = "refresh_expires_in is not a number of seconds"
    if problem:
        msg = f"Lazada's token endpoint answered without a usable token pair: {problem}"
        raise MarketplaceResponseError(msg, marketplace="lazada", operation=operation)
    return Grant(
        access_token=Secret(str(access)),
        expires_in=min(lifetime or 0.0, MAX_ACCESS_S),
        refresh_token=Secret(str(refresh)),
        refresh_expires_in=refresh_lifetime or 0.0,
        country=_text(body.get("country")),
    )


def _refused(status: int, code: str, body: dict[str, Any], operation: str) -> MarketplaceError:
    text = _text(body.get("message"))[:300]
    advice = _REFUSED.get(code, "retry later")
    msg = f"Lazada's token endpoint refused the call ({code}: {text}): {advice}"
    fields: dict[str, Any] = {
        "marketplace": "lazada",
        "operation": operation,
        "status": status,
        "code": code,
    }
    if code == "ApiCallLimit":
        return RateLimitedError(msg, **fields)
    if code in _REFUSED:
        return MarketplaceAuthError(msg, **fields)
    return MarketplaceHTTPError(msg, **fields)


@dataclass(frozen=True)
class TokenCall:
    """Signed calls to Lazada's auth host for one app."""

    client: httpx.Client
    url: str  # https://auth.lazada.com/rest
    app_key: str
    app_secret: Secret
    clock: Clock

    def refresh(self, refresh_token: Secret, seconds: float, offset: float = 0.0) -> Grant:
        """Spend ``refresh_token`` for a new pair (one attempt, never retried here).

        No answer after sending raises `MarketplaceTransportError`: the token may
        be spent, and only the caller can tell what to do.
        """
        return self._call("/auth/token/refresh", {"refresh_token": refresh_token}, seconds, offset)

    def create(self, code: str, seconds: float, offset: float = 0.0) -> Grant:
        """A first pair from a consent ``code`` (single use, valid 30 minutes)."""
        if not isinstance(code, str) or not code.strip():
            msg = "code= must be the authorisation code the consent callback received"
            raise InvalidArgumentError(msg)
        return self._call("/auth/token/create", {"code": Secret(code.strip())}, seconds, offset)

    def _call(
        self, path: str, form: dict[str, str | Secret], seconds: float, offset: float
    ) -> Grant:
        operation = "token_create" if path.endswith("create") else _OP

        def stamp(request: httpx.Request) -> None:
            fields = dict(parse_qsl(request.content.decode()))
            system = {
                "app_key": self.app_key,
                "sign_method": "sha256",
                "timestamp": wire.timestamp_ms(self.clock.time() + offset),
            }
            system["sign"] = wire.sign(self.app_secret.reveal(), path, {**fields, **system})
            request.url = request.url.copy_with(query=urlencode(system).encode())

        answer = exchange(
            self.client, self.url.rstrip("/") + path, seconds, form=form, stamp=stamp
        )
        if answer.failure:
            msg = (
                f"Lazada's token endpoint gave no answer ({answer.failure}); the token "
                "sent may have been spent"
            )
            raise MarketplaceTransportError(msg, marketplace="lazada", operation=operation)
        return parse_grant(answer.status, answer.body(), operation)


def authorization_url(app_key: str, redirect_uri: str, state: str | None = None) -> str:
    """The consent link a seller opens to authorise the app (again)."""
    if not isinstance(redirect_uri, str) or not redirect_uri.startswith(("https://", "http://")):
        msg = f"redirect_uri= must be the app's registered callback URL, not {redirect_uri!r}"
        raise InvalidArgumentError(msg)
    query = {
        "response_type": "code",
        "force_auth": "true",
        "redirect_uri": redirect_uri,
        "client_id": app_key,
    }
    if state:
        query["state"] = state
    return f"{wire.AUTHORIZE_URL}?{urlencode(query)}"
