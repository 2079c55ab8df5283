"""Shopee's Public APIs: the consent link, the code exchange and the token refresh.

They are signed with the partner key alone (``partner_id + path + timestamp``)
and called outside the paced core, once each: a refresh spends Shopee's
single-use refresh token, so it is never retried here (only a request Shopee
refused as skewed, which spent nothing, is sent again once). The request
carrying a secret is dropped before anything is raised, and nothing raised is
chained to it. What each failure says about the refresh token, as
`RotatingTokens` reads it:

- not sent (a connection refused), or refused before the token was looked at
  (a bad signature, a bad parameter): unspent, a plain `TokenRefreshError`;
- sent and the answer lost (a timeout, a reset, an unreadable answer, a pair
  without a refresh token): maybe spent, `RefreshLost`;
- refused as used, unknown or expired: spent for good, `RefreshRefused`.

Both of the last are `ReauthorizationRequired`: the shop must consent again.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from safe_release._secrets import Secret
from safe_release.adapters import _shopee_wire as wire
from safe_release.adapters._auth import TokenGrant
from safe_release.adapters._deadline import send_within
from safe_release.adapters._shapes import kind, parse_json, text
from safe_release.adapters._shopee_ops import PUBLIC_PATHS
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    ReauthorizationRequired,
    TokenRefreshError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MAX_ACCESS_S", "REFRESH_LIFETIME_S", "PartnerAuth", "RefreshLost", "RefreshRefused"]

MAX_ACCESS_S = 14_400.0
"""An access token lives 4 hours at most, whatever the answer says."""
REFRESH_LIFETIME_S = 30 * 86_400.0
"""A refresh token lives 30 days (and is spent by its one use)."""
_SPENT = frozenset(
    {
        "error_auth",
        "refresh_token_expired",
        "shop_access_expired",
        "error_shop_refresh_token",
        "shop_no_linked",
        "invalid_code",
    }
)
"""Refusals that mean the refresh token (or code) can never be used again."""
_MAX_TEXT = 200


class RefreshRefused(ReauthorizationRequired):
    """Shopee refused the refresh token as used, unknown or expired: re-authorise the shop."""


class RefreshLost(ReauthorizationRequired):
    """The refresh was sent but its answer was lost: the refresh token may be spent.

    `RotatingTokens` reads both as "spent" and raises its own
    `ReauthorizationRequired` (with the consent link), never refreshing again.
    """


@dataclass(frozen=True)
class PartnerAuth:
    """One partner's Public API calls for one shop."""

    partner_id: int
    partner_key: Secret
    shop_id: int
    base_url: str
    client: httpx.Client
    now: Callable[[], float]
    """Shopee's time (the adapter's clock plus its correction), epoch seconds."""
    seconds: Callable[[], float]
    """How long one exchange may take."""
    on_skew: Callable[[httpx.Response], bool]
    """The adapter's `correct_skew`: sets its clock correction from an answer's ``Date``."""

    def signed_query(self, path: str) -> dict[str, Any]:
        """``partner_id``, ``timestamp`` and ``sign`` for a Public API ``path``."""
        timestamp = int(self.now())
        base = wire.base_string(self.partner_id, path, timestamp)
        return {
            "partner_id": self.partner_id,
            "timestamp": timestamp,
            "sign": wire.sign_hex(self.partner_key, base),
        }

    def authorization_url(self, redirect: str) -> str:
        """The signed ``auth_partner`` link the seller opens to authorise the app.

        It is signed at the time it is built and Shopee checks the timestamp:
        build it when the seller is about to open it (it is good for 5 minutes).
        """
        if not isinstance(redirect, str) or not redirect.startswith(("https://", "http://")):
            msg = f"shopee: redirect_url= must be an http(s) URL, not {redirect!r}"
            raise InvalidArgumentError(msg)
        path = PUBLIC_PATHS["auth_partner"]
        query = {**self.signed_query(path), "redirect": redirect}
        return f"{self.base_url}{path}?{urlencode(query)}"

    def exchange_code(self, code: str) -> TokenGrant:
        """The first token pair from the one-use ``code`` of a consent redirect."""
        if not isinstance(code, str) or not code:
            msg = "shopee: code must be the non-empty code of the consent redirect"
            raise InvalidArgumentError(msg)
        body = {"code": code, "shop_id": self.shop_id, "partner_id": self.partner_id}
        return self._grant("token_get", body)

    def refresh(self, refresh_token: Secret) -> TokenGrant:
        """A new pair from ``refresh_token`` (which Shopee spends): one attempt, never retried."""
        body = {
            "refresh_token": refresh_token,
            "partner_id": self.partner_id,
            "shop_id": self.shop_id,
        }
        return self._grant("access_token_get", body)

    def _grant(self, name: str, body: dict[str, Any]) -> TokenGrant:
        """One exchange; sent again once after "Invalid timestamp", the clock corrected.

        Shopee checks the timestamp before it looks at the code or the refresh
        token, so a request it refused as skewed spent nothing.
        """
        path = PUBLIC_PATHS[name]
        answer = self._answer(name, path, body)
        if _skewed(answer.content) and self.on_skew(answer):
            answer = self._answer(name, path, body)
        return grant_of(name, answer.status_code, answer.content)

    def _answer(self, name: str, path: str, body: dict[str, Any]) -> httpx.Response:
        answer = self._post(path, body)
        if isinstance(answer, tuple):
            raise failure_error(name, answer)
        return answer

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response | tuple[bool, str]:
        """A copy of the answer (status, headers, body), or (sent, why) when none came."""
        content = json.dumps(
            {k: v.reveal() if isinstance(v, Secret) else v for k, v in body.items()}
        ).encode()
        request = self.client.build_request(
            "POST",
            self.base_url + path,
            params=self.signed_query(path),
            content=content,
            headers={"content-type": "application/json"},
        )
        del content
        try:
            response = send_within(self.client, request, self.seconds())
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return False, type(exc).__name__
        except httpx.HTTPError as exc:
            return True, type(exc).__name__
        finally:
            del request
        return httpx.Response(
            response.status_code, headers=dict(response.headers), content=response.content
        )


def _skewed(content: bytes) -> bool:
    """Whether a token answer is ``error_param`` "Invalid timestamp"."""
    try:
        body = parse_json(content)
    except ValueError:
        return False
    return isinstance(body, dict) and wire.is_skewed(wire.Envelope(body))


def failure_error(name: str, failure: tuple[bool, str]) -> MarketplaceError:
    """The error for an exchange with no answer (`RefreshLost` when it may have arrived)."""
    sent, why = failure
    if sent:
        msg = (
            f"shopee {name}: the request was sent but its answer was lost ({why}); the "
            "refresh token may have been spent by it"
        )
        return RefreshLost(msg, marketplace="shopee", operation=name)
    msg = f"shopee {name}: Shopee could not be reached ({why}); nothing was sent: retry later"
    return TokenRefreshError(msg, marketplace="shopee", operation=name)


def grant_of(name: str, status: int, content: bytes) -> TokenGrant:
    """The grant in a token answer, or the error it means (never a secret in it)."""
    try:
        body = parse_json(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        msg = (
            f"shopee {name} answered HTTP {status} with a body that is not a JSON object "
            f"({kind(body) if body is not None else 'not JSON'}); the refresh token may have "
            "been spent by it"
        )
        raise RefreshLost(msg, marketplace="shopee", operation=name)
    error = text(body.get("error"))
    if error:
        message = text(body.get("message"))[:_MAX_TEXT]
        msg = f"shopee {name} refused (HTTP {status}, {error}: {message or 'no message'})"
        if wire.code_of(error) in _SPENT:
            raise RefreshRefused(
                msg + "; the shop must authorise the app again", marketplace="shopee",
                operation=name,
            )  # fmt: skip
        raise TokenRefreshError(msg + "; retry later", marketplace="shopee", operation=name)
    problem = _problem(body)
    if problem:
        msg = (
            f"shopee {name} answered without a usable token pair ({problem}); the refresh "
            "token may have been spent by it"
        )
        raise RefreshLost(msg, marketplace="shopee", operation=name)
    return TokenGrant(
        access_token=Secret(body["access_token"]),
        expires_in=min(float(body["expire_in"]), MAX_ACCESS_S),
        refresh_token=Secret(body["refresh_token"]),
        refresh_expires_in=REFRESH_LIFETIME_S,
    )


def _problem(body: dict[str, Any]) -> str:
    """What makes ``body`` no usable pair ("" when it is one)."""
    for name in ("access_token", "refresh_token"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            return f"{name} is {kind(value)}, not a non-empty string"
    lifetime = body.get("expire_in")
    if (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, (int, float))
        or not (math.isfinite(lifetime) and lifetime > 0)
    ):
        return f"expire_in is {kind(lifetime)}, not a positive number of seconds"
    return ""
