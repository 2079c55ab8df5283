"""Amazon SP-API wire details: error bodies, rate headers, LWA, listing fields."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import httpx

from safe_release.adapters._auth import Secret, TokenGrant
from safe_release.adapters._core import Verdict
from safe_release.exceptions import (
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    RateLimitedError,
    TokenRefreshError,
)

if TYPE_CHECKING:
    from safe_release.adapters._operation import Operation

__all__ = [
    "amazon_error",
    "classify",
    "listing_price",
    "listing_quantity",
    "lwa_refresh",
    "patched_value",
    "rate_hint",
]

RATE_HEADER = "x-amzn-RateLimit-Limit"
_HINT_STATUSES = frozenset({400, 404})
_MAX_TEXT = 300


def _first_error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


def classify(response: httpx.Response) -> Verdict:
    """SP-API semantics: 429 throttled, 403 'expired' needs a refresh, 5xx server."""
    status = response.status_code
    if status < 300:  # noqa: PLR2004 - HTTP classes
        return Verdict.OK
    if status == 429:  # noqa: PLR2004
        return Verdict.THROTTLED
    if status == 403:  # noqa: PLR2004
        err = _first_error(response)
        text = f"{err.get('message', '')} {err.get('details', '')}".lower()
        return Verdict.AUTH_EXPIRED if "expired" in text else Verdict.FAILED
    if status >= 500:  # noqa: PLR2004
        return Verdict.SERVER
    return Verdict.FAILED


def rate_hint(response: httpx.Response) -> float | None:
    """``x-amzn-RateLimit-Limit`` as a rate, only where Amazon sends it (2xx/400/404)."""
    if not (response.status_code < 300 or response.status_code in _HINT_STATUSES):  # noqa: PLR2004
        return None
    raw = response.headers.get(RATE_HEADER)
    if raw is None:
        return None
    try:
        rate = float(raw)
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


def amazon_error(op: Operation, response: httpx.Response) -> MarketplaceError:
    """The typed error for an SP-API error response (never echoing credentials)."""
    err = _first_error(response)
    status = response.status_code
    code = err.get("code") if isinstance(err.get("code"), str) else None
    request_id = response.headers.get("x-amzn-RequestId")
    if err:
        text = f"{code}: {err.get('message', '')} {err.get('details', '')}".strip()
    else:
        text = "a body that is not an SP-API error document (" + response.headers.get(
            "content-type", "no content type") + ")"
    text = text[:_MAX_TEXT]
    msg = f"amazon {op.name} failed with HTTP {status}: {text}"
    kwargs: dict[str, Any] = {"marketplace": "amazon", "operation": op.name, "status": status,
                              "code": code, "request_id": request_id}
    if status == 429:  # noqa: PLR2004
        return RateLimitedError(msg + "; the quota stayed exhausted through every retry",
                                **kwargs)
    if status in {401, 403}:
        advice = (
            "; the seller may have revoked the app, or the token is malformed: check the "
            "authorization in Seller Central"
        )
        return MarketplaceAuthError(msg + advice, **kwargs)
    return MarketplaceHTTPError(msg, **kwargs)


def lwa_refresh(
    client: httpx.Client, url: str, *, client_id: str, client_secret: Secret,
    refresh_token: Secret,
) -> TokenGrant:
    """Exchange the refresh token for an access token at Login with Amazon."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token.reveal(),
        "client_id": client_id,
        "client_secret": client_secret.reveal(),
    }
    try:
        response = client.post(url, data=form)
    except httpx.TransportError as exc:
        msg = f"Login with Amazon could not be reached ({type(exc).__name__}); retry later"
        raise TokenRefreshError(msg, marketplace="amazon", operation="lwa") from exc
    if response.status_code != 200:  # noqa: PLR2004
        raise _lwa_error(response)
    try:
        body = response.json()
        token, expires_in = body["access_token"], float(body["expires_in"])
    except (ValueError, KeyError, TypeError) as exc:
        msg = "Login with Amazon answered 200 without a usable access token; retry later"
        raise TokenRefreshError(msg, marketplace="amazon", operation="lwa") from exc
    rotated = body.get("refresh_token")
    new_refresh = Secret(rotated) if isinstance(rotated, str) and rotated and (
        rotated != refresh_token.reveal()) else None
    return TokenGrant(access_token=Secret(token), expires_in=expires_in,
                      refresh_token=new_refresh)


def _lwa_error(response: httpx.Response) -> TokenRefreshError:
    try:
        body = response.json()
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
    except (ValueError, UnicodeDecodeError):
        error = ""
    advice = {
        "invalid_grant": "the refresh token is wrong or the seller revoked the app: have "
        "the seller re-authorize it",
        "invalid_client": "the LWA client id or secret is wrong, expired or was rotated: "
        "update the client secret",
    }.get(error)
    if response.status_code == 429:  # noqa: PLR2004
        advice = "Login with Amazon is throttling token requests: retry in a minute"
    advice = advice or "retry later; if it persists, check the app's LWA credentials"
    label = f" ({error})" if error else ""
    msg = (
        f"refreshing the Amazon access token failed with HTTP {response.status_code}"
        f"{label}: {advice}"
    )
    return TokenRefreshError(msg, marketplace="amazon", operation="lwa")


def listing_price(item: dict[str, Any], marketplace_id: str) -> Decimal | None:
    """The listing's own price in ``marketplace_id``, from attributes or offers."""
    for offer in item.get("attributes", {}).get("purchasable_offer", []) or []:
        if offer.get("marketplace_id") not in {None, marketplace_id}:
            continue
        for price in offer.get("our_price", []) or []:
            for entry in price.get("schedule", []) or []:
                value = _decimal(entry.get("value_with_tax"))
                if value is not None:
                    return value
    for offer in item.get("offers", []) or []:
        if offer.get("marketplaceId") == marketplace_id:
            value = _decimal((offer.get("price") or {}).get("amount"))
            if value is not None:
                return value
    return None


def listing_currency(item: dict[str, Any], marketplace_id: str) -> str | None:
    """The currency the listing is priced in, in ``marketplace_id``."""
    for offer in item.get("attributes", {}).get("purchasable_offer", []) or []:
        if offer.get("marketplace_id") in {None, marketplace_id} and offer.get("currency"):
            return str(offer["currency"])
    for offer in item.get("offers", []) or []:
        price = offer.get("price") or {}
        if offer.get("marketplaceId") == marketplace_id and price.get("currencyCode"):
            return str(price["currencyCode"])
    return None


def listing_quantity(item: dict[str, Any]) -> int | None:
    """The listing's merchant-fulfilled quantity, if it has one."""
    for entry in item.get("fulfillmentAvailability", []) or []:
        if isinstance(entry.get("quantity"), int):
            return int(entry["quantity"])
    for entry in item.get("attributes", {}).get("fulfillment_availability", []) or []:
        if isinstance(entry.get("quantity"), int):
            return int(entry["quantity"])
    return None


def patched_value(patch: dict[str, Any], marketplace_id: str) -> tuple[str, Any] | None:
    """``("price", Decimal)`` or ``("quantity", int)`` that a listing patch sets, if any."""
    value = patch.get("value")
    if patch.get("path") == "/attributes/purchasable_offer":
        price = listing_price({"attributes": {"purchasable_offer": value}}, marketplace_id)
        return None if price is None else ("price", price)
    if patch.get("path") == "/attributes/fulfillment_availability":
        quantity = listing_quantity({"attributes": {"fulfillment_availability": value}})
        return None if quantity is None else ("quantity", quantity)
    return None


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None
