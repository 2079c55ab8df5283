"""Amazon SP-API wire details: error bodies, rate headers, LWA, listing fields.

Bodies are read defensively: JSON of the wrong shape (a list where an object is
expected, a string for a number, nesting deeper than Python can parse) raises
`MarketplaceResponseError` (or `TokenRefreshError` from Login with Amazon) naming
what was wrong, never ``AttributeError``, ``KeyError`` or ``RecursionError``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from safe_release.adapters._core import Verdict
from safe_release.adapters._grants import TokenEndpoint
from safe_release.adapters._http_errors import http_error
from safe_release.adapters._shapes import Shapes, json_or_none, parse_json
from safe_release.adapters._shapes import text as _text
from safe_release.exceptions import (
    MarketplaceError,
    TokenRefreshError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from safe_release._secrets import Secret
    from safe_release.adapters._auth import TokenGrant
    from safe_release.adapters._operation import Operation

__all__ = [
    "LWA_MAX_LIFETIME_S",
    "amazon_error",
    "as_object",
    "classify",
    "field_list",
    "field_object",
    "listing_price",
    "listing_quantity",
    "lwa_refresh",
    "next_token",
    "parse_json",
    "patched_value",
    "rate_hint",
]

RATE_HEADER = "x-amzn-RateLimit-Limit"
LWA_MAX_LIFETIME_S = 86_400.0
"""An access token's lifetime is capped here (LWA grants 3,600 s) whatever the answer says."""
_HINT_STATUSES = frozenset({400, 404})
_MAX_TEXT = 300
_LWA_ERROR = re.compile(r"[a-z_]{1,64}")
_LISTING = "getListingsItem"
_REFUSED = (
    "; the seller may have revoked the app, or the token is malformed: check the "
    "authorization in Seller Central"
)
_SHAPES = Shapes("amazon")
wrong_shape = _SHAPES.wrong_shape
as_object = _SHAPES.as_object
field_object = _SHAPES.field_object
field_list = _SHAPES.field_list
next_token = _SHAPES.next_token


def _objects(
    parent: dict[str, Any], name: str, where: str, operation: str = _LISTING
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The entries of the list ``parent[name]``, each of which must be an object."""
    return _SHAPES.objects(parent, name, where, operation)


def _first_error(response: httpx.Response) -> dict[str, Any]:
    body = json_or_none(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


# -- responses -----------------------------------------------------------------------------


def classify(response: httpx.Response) -> Verdict:
    """SP-API semantics: 429 throttled, 403 'expired' needs a refresh, 5xx server."""
    status = response.status_code
    if status < 300:  # noqa: PLR2004 - HTTP classes
        return Verdict.OK
    if status == 429:  # noqa: PLR2004
        return Verdict.THROTTLED
    if status == 403:  # noqa: PLR2004
        err = _first_error(response)
        text = f"{_text(err.get('message'))} {_text(err.get('details'))}".lower()
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
        text = f"{code}: {_text(err.get('message'))} {_text(err.get('details'))}".strip()
    else:
        text = (
            "a body that is not an SP-API error document ("
            + response.headers.get("content-type", "no content type")
            + ")"
        )
    msg = f"amazon {op.name} failed with HTTP {status}: {text[:_MAX_TEXT]}"
    return http_error(
        "amazon",
        op,
        status,
        msg,
        code=code,
        request_id=request_id,
        throttled="; the quota stayed exhausted through every retry",
        refused=dict.fromkeys((401, 403), _REFUSED),
    )


# -- Login with Amazon ---------------------------------------------------------------------


def lwa_refresh(
    client: httpx.Client,
    url: str,
    *,
    client_id: str,
    client_secret: Secret,
    refresh_token: Secret,
    seconds: float = 30.0,
) -> TokenGrant:
    """Exchange the refresh token for an access token at Login with Amazon.

    One attempt, cut after ``seconds`` like any other call. A failure raises
    `TokenRefreshError` with nothing chained or left in a frame that holds the
    refresh token or the client secret in plain text (the request that carried
    them is dropped before anything is raised).
    """
    form: dict[str, str | Secret] = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    return _LWA.grant(client, url, seconds, form=form, refresh_token=refresh_token)


def _lwa_error(status: int, body: object) -> TokenRefreshError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, str) and _LWA_ERROR.fullmatch(error) else ""
    advice = {
        "invalid_grant": "the refresh token is wrong or the seller revoked the app: have "
        "the seller re-authorize it",
        "invalid_client": "the LWA client id or secret is wrong, expired or was rotated: "
        "update the client secret",
    }.get(error)
    if status == 429:  # noqa: PLR2004
        advice = "Login with Amazon is throttling token requests: retry in a minute"
    advice = advice or "retry later; if it persists, check the app's LWA credentials"
    label = f" ({error})" if error else ""
    msg = f"refreshing the Amazon access token failed with HTTP {status}{label}: {advice}"
    return TokenRefreshError(msg, marketplace="amazon", operation="lwa")


_LWA = TokenEndpoint(
    "Login with Amazon",
    "amazon",
    "lwa",
    max_lifetime=LWA_MAX_LIFETIME_S,
    refused=_lwa_error,
    rotates=True,
)


# -- listings ------------------------------------------------------------------------------


def listing_price(item: dict[str, Any], marketplace_id: str) -> Decimal | None:
    """The listing's own price in ``marketplace_id``, from attributes or offers."""
    attributes = field_object(item, "attributes", "", _LISTING)
    for where, offer in _objects(attributes, "purchasable_offer", "attributes"):
        if offer.get("marketplace_id") not in (None, marketplace_id):
            continue
        for at, price in _objects(offer, "our_price", where):
            for entry_at, entry in _objects(price, "schedule", at):
                value = _price(entry.get("value_with_tax"), f"{entry_at}.value_with_tax")
                if value is not None:
                    return value
    for where, offer in _objects(item, "offers", ""):
        if offer.get("marketplaceId") == marketplace_id:
            price = field_object(offer, "price", where, _LISTING)
            value = _price(price.get("amount"), f"{where}.price.amount")
            if value is not None:
                return value
    return None


def listing_currency(item: dict[str, Any], marketplace_id: str) -> str | None:
    """The currency the listing is priced in, in ``marketplace_id``."""
    attributes = field_object(item, "attributes", "", _LISTING)
    for where, offer in _objects(attributes, "purchasable_offer", "attributes"):
        if offer.get("marketplace_id") in (None, marketplace_id) and offer.get("currency"):
            return _currency(offer["currency"], f"{where}.currency")
    for where, offer in _objects(item, "offers", ""):
        price = field_object(offer, "price", where, _LISTING)
        if offer.get("marketplaceId") == marketplace_id and price.get("currencyCode"):
            return _currency(price["currencyCode"], f"{where}.price.currencyCode")
    return None


def listing_quantity(item: dict[str, Any]) -> int | None:
    """The listing's merchant-fulfilled quantity, if it has one."""
    attributes = field_object(item, "attributes", "", _LISTING)
    entries = [
        *_objects(item, "fulfillmentAvailability", ""),
        *_objects(attributes, "fulfillment_availability", "attributes"),
    ]
    for where, entry in entries:
        quantity = entry.get("quantity")
        if quantity is None:
            continue
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise wrong_shape(_LISTING, f"{where}.quantity", quantity, "a whole number")
        return quantity
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


def _price(value: object, where: str) -> Decimal | None:
    """A price: a JSON number or a decimal string (SP-API's Money.amount); null: none."""
    if value is None:
        return None
    result = None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            result = Decimal(str(value) if not isinstance(value, str) else value.strip())
        except (InvalidOperation, ValueError):
            result = None
    if result is None or not result.is_finite():
        raise wrong_shape(_LISTING, where, value, "a finite decimal number")
    return result


def _currency(value: object, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 8:  # noqa: PLR2004 - ISO 4217 + slack
        raise wrong_shape(_LISTING, where, value, "a currency code")
    return value
