"""eBay REST wire details: error bodies, verdicts, OAuth grants, money, locations, quotas.

Bodies are read defensively: an HTML error page, XML, or JSON of the wrong shape
raises `MarketplaceResponseError` (or `TokenRefreshError` from the token
endpoint) naming what was wrong, never ``AttributeError`` or ``KeyError``.
Money is ``{"value": "19.99", "currency": "USD"}`` with the value a decimal
*string*: a float is refused both ways.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from safe_release.adapters._base import response_json
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._core import Verdict
from safe_release.adapters._grants import TokenEndpoint
from safe_release.adapters._http_errors import http_error
from safe_release.adapters._shapes import Shapes, json_or_none, parse_json
from safe_release.adapters._shapes import text as _text
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    RateLimitedError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from safe_release._secrets import Secret
    from safe_release.adapters._auth import TokenGrant
    from safe_release.adapters._base import MarketplaceAdapter
    from safe_release.adapters._operation import Operation

__all__ = [
    "BULK",
    "INVENTORY_PATH",
    "MAX_BULK",
    "MAX_TOKEN_LIFETIME_S",
    "RateReport",
    "aread",
    "as_object",
    "bulk_body",
    "bulk_results",
    "classify",
    "ebay_error",
    "error_id",
    "failed_items",
    "field_list",
    "fulfillment_id",
    "money",
    "next_reset",
    "offer_state",
    "offers_in",
    "parse_money",
    "rate_limits",
    "read",
    "records",
    "token_grant",
    "wrong_shape",
]

INVENTORY_PATH = "/sell/inventory/v1/"
MAX_TOKEN_LIFETIME_S = 86_400.0
"""An access token's lifetime is capped here (eBay grants 7,200 s) whatever the answer says."""
RESET_HOUR_UTC = 7
"""eBay's daily quotas reset at midnight US Pacific: 07:00 UTC in summer time [U]."""
QUOTA_SPENT = 2001
EXPIRED_ON_INVENTORY = 1100
INVALID_TOKEN = 1001
_MAX_TEXT = 300
_REFUSED = (
    "; the token lacks a scope the call needs, or the seller revoked the app: "
    "check the scopes consented to, and have the seller consent again if needed"
)
_OAUTH_ERROR = re.compile(r"[a-z_]{1,64}")
_MONEY_TEXT = re.compile(r"-?\d{1,15}(\.\d{1,6})?")


# -- reading bodies ------------------------------------------------------------------------

_SHAPES = Shapes("ebay")
wrong_shape = _SHAPES.wrong_shape
as_object = _SHAPES.as_object
field_list = _SHAPES.field_list


def read(adapter: MarketplaceAdapter, operation: str, **kwargs: Any) -> dict[str, Any]:
    """Call ``operation`` through ``adapter`` and return the JSON object it answered."""
    return _object(adapter.operation(operation), adapter.call(operation, **kwargs))


async def aread(adapter: MarketplaceAdapter, operation: str, **kwargs: Any) -> dict[str, Any]:
    """`read`, awaited."""
    return _object(adapter.operation(operation), await adapter.acall(operation, **kwargs))


def _object(op: Operation, response: httpx.Response) -> dict[str, Any]:
    return as_object(response_json("ebay", op, response), "the body", op.name)


def records(operation: str, body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The objects of ``body``'s list ``name`` (``orders``, ``offers`` …)."""
    found = field_list(body, name, "", operation)
    return [as_object(r, f"{name}[{i}]", operation) for i, r in enumerate(found)]


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``errors[]`` objects of an eBay error body (none if it is not one)."""
    body = json_or_none(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict)]


def error_id(entry: dict[str, Any]) -> int | None:
    """An error object's ``errorId`` (a number; a numeric string is accepted)."""
    value = entry.get("errorId")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 10:  # noqa: PLR2004
        return int(value)
    return None


def _ids(response: httpx.Response) -> set[int]:
    return {i for i in map(error_id, _errors(response)) if i is not None}


def _path(response: httpx.Response) -> str:
    try:
        return response.request.url.path
    except RuntimeError:  # a response built without its request
        return ""


# -- responses -----------------------------------------------------------------------------


def classify(response: httpx.Response) -> Verdict:
    """eBay semantics.

    429 errorId 2001 is a spent daily quota (EXHAUSTED); any other 429 is
    throttling. 403 errorId 1100 on the Inventory API and 401 errorId 1001 are an
    expired token (the core refreshes once; a repeat is a permission error).
    5xx (500 errorId 25025, concurrent access, included) is a server error.
    """
    status = response.status_code
    if status < 300:  # noqa: PLR2004 - HTTP classes
        return Verdict.OK
    if status == 429:  # noqa: PLR2004
        return Verdict.EXHAUSTED if QUOTA_SPENT in _ids(response) else Verdict.THROTTLED
    if status == 401 and INVALID_TOKEN in _ids(response):  # noqa: PLR2004
        return Verdict.AUTH_EXPIRED
    if (
        status == 403  # noqa: PLR2004
        and _path(response).startswith(INVENTORY_PATH)
        and EXPIRED_ON_INVENTORY in _ids(response)
    ):
        return Verdict.AUTH_EXPIRED
    if status >= 500:  # noqa: PLR2004
        return Verdict.SERVER
    return Verdict.FAILED


def _body_kind(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip()
    head = response.content[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return f"an HTML page ({kind})"
    if head.startswith(b"<"):
        return f"XML ({kind})"
    return f"a body that is not an eBay error document ({kind})"


def ebay_error(op: Operation, response: httpx.Response) -> MarketplaceError:
    """The typed error for an eBay error response: ``code`` is the first ``errorId``."""
    errors = _errors(response)
    status = response.status_code
    first = errors[0] if errors else {}
    number = error_id(first)
    code = None if number is None else str(number)
    if errors:
        text = "; ".join(
            f"{error_id(e)}: {_text(e.get('longMessage')) or _text(e.get('message'))}".strip()
            for e in errors[:3]
        )
    else:
        text = _body_kind(response)
    msg = f"ebay {op.name} failed with HTTP {status}: {text[:_MAX_TEXT]}"
    return http_error(
        "ebay",
        op,
        status,
        msg,
        code=code,
        request_id=response.headers.get("x-ebay-c-request-id"),
        throttled="; eBay kept throttling through every retry",
        refused=dict.fromkeys((401, 403), _REFUSED),
    )


def fulfillment_id(location: str | None, order_id: str) -> str | None:
    """The fulfillment id at the end of a createShippingFulfillment ``Location``."""
    if not location:
        return None
    path = urlsplit(location).path.rstrip("/")
    head, _, last = path.rpartition("/")
    if not head.endswith("/shipping_fulfillment") or not last:
        return None
    owner = unquote(head.removesuffix("/shipping_fulfillment").rpartition("/")[2])
    return unquote(last) if owner == order_id else None


# -- money ---------------------------------------------------------------------------------


def money(value: Decimal, currency: str, *, what: str = "price") -> dict[str, str]:
    """eBay's Amount: ``{"value": "19.99", "currency": "USD"}`` from a positive Decimal."""
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        msg = f"{what} must be a positive, finite Decimal (never a float), not {value!r}"
        raise InvalidArgumentError(msg)
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        msg = f"currency must be an ISO 4217 code such as 'USD', not {currency!r}"
        raise InvalidArgumentError(msg)
    return {"value": format(value, "f"), "currency": currency}


def parse_money(value: object, where: str, operation: str) -> tuple[Decimal, str]:
    """``(Decimal value, currency)`` of an Amount; a number instead of a string is refused."""
    amount = as_object(value, where, operation)
    raw, currency = amount.get("value"), amount.get("currency")
    if not isinstance(raw, str) or not _MONEY_TEXT.fullmatch(raw.strip()):
        raise wrong_shape(operation, f"{where}.value", raw, "a decimal string")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise wrong_shape(operation, f"{where}.currency", currency, "a currency code")
    try:
        return Decimal(raw.strip()), currency
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise wrong_shape(operation, f"{where}.value", raw, "a decimal string") from None


# -- quotas ----------------------------------------------------------------------------------


def next_reset(now: float) -> float:
    """The next 07:00:00 UTC strictly after ``now`` (epoch seconds)."""
    offset = RESET_HOUR_UTC * 3600.0
    day = 86_400.0
    return (math.floor((now - offset) / day) + 1) * day + offset


@dataclass(frozen=True)
class RateReport:
    """One ``rates[]`` entry of getRateLimits / getUserRateLimits."""

    api: str  # "sell.inventory": apiContext.apiName
    resource: str
    limit: int
    remaining: int
    reset_at: float  # epoch seconds
    window: float


def rate_limits(response: httpx.Response, operation: str) -> list[RateReport]:
    """The rates an analytics answer reports (204: none)."""
    if response.status_code == 204 or not response.content:  # noqa: PLR2004
        return []
    try:
        body = parse_json(response.content)
    except ValueError:
        msg = f"ebay {operation} answered a body that is not JSON; retry later"
        raise MarketplaceResponseError(msg, marketplace="ebay", operation=operation) from None
    out = []
    body = as_object(body, "the body", operation)
    for i, api in enumerate(field_list(body, "rateLimits", "", operation)):
        at = f"rateLimits[{i}]"
        api = as_object(api, at, operation)  # noqa: PLW2901 - the same entry, checked
        name = f"{_text(api.get('apiContext'))}.{_text(api.get('apiName'))}"
        for j, resource in enumerate(field_list(api, "resources", at, operation)):
            res_at = f"{at}.resources[{j}]"
            resource = as_object(resource, res_at, operation)  # noqa: PLW2901
            for k, rate in enumerate(field_list(resource, "rates", res_at, operation)):
                out.append(_rate(name, resource, rate, f"{res_at}.rates[{k}]", operation))
    return out


def _rate(
    api: str, resource: dict[str, Any], rate: object, where: str, operation: str
) -> RateReport:
    entry = as_object(rate, where, operation)
    numbers = {}
    for name in ("limit", "remaining", "timeWindow"):
        value = entry.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise wrong_shape(operation, f"{where}.{name}", value, "a whole number >= 0")
        numbers[name] = value
    reset = entry.get("reset")
    try:
        when = datetime.fromisoformat(str(reset).replace("Z", "+00:00"))
    except ValueError:
        raise wrong_shape(operation, f"{where}.reset", reset, "an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return RateReport(
        api=api,
        resource=_text(resource.get("name")),
        limit=numbers["limit"],
        remaining=min(numbers["remaining"], numbers["limit"]),
        reset_at=when.timestamp(),
        window=float(numbers["timeWindow"] or 86_400),
    )


# -- OAuth ---------------------------------------------------------------------------------


def token_grant(
    client: httpx.Client,
    url: str,
    *,
    client_id: str,
    client_secret: Secret,
    form: dict[str, str | Secret],
    seconds: float = 30.0,
) -> TokenGrant:
    """One grant at eBay's token endpoint (refresh or client credentials), one attempt.

    Raises `MarketplaceAuthError` (``invalid_grant``: the seller must consent
    again; ``invalid_client``), `RateLimitedError` (the endpoint's own daily quota)
    or `MarketplaceResponseError`; the token provider wraps them in
    `TokenRefreshError`. Nothing raised refers to the request that carried secrets.
    """
    return _TOKEN.grant(client, url, seconds, form=form, basic=(client_id, client_secret))


def _token_error(status: int, body: object) -> MarketplaceError:
    base: dict[str, Any] = {"marketplace": "ebay", "operation": "token", "status": status}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else ""
    if status == 429:  # noqa: PLR2004 - its body is a REST errors[] one, not OAuth
        listed = body.get("errors") if isinstance(body, dict) else None
        ids = [error_id(e) for e in listed or [] if isinstance(e, dict)]
        code = str(ids[0]) if ids and ids[0] is not None else None
        msg = (
            "eBay's token endpoint refused the grant with HTTP 429: the app's daily quota "
            "of token requests is spent; the current token (if any) stays in use, retry "
            "after eBay's daily reset"
        )
        return RateLimitedError(msg, code=code, **base)
    advice = {
        "invalid_grant": "the refresh token is invalid, expired or was issued to another "
        "app: the seller must consent again (the user-consent flow) to get a new one",
        "invalid_client": "the client id or secret is wrong: check the app's keyset",
        "invalid_scope": "a scope asked for exceeds what the seller consented to: ask for "
        "the consented scopes only",
    }.get(error, "retry later; if it persists, check the app's keyset")
    label = f" ({error})" if error else ""
    msg = f"eBay's token endpoint refused the grant with HTTP {status}{label}: {advice}"
    if error in {"invalid_grant", "invalid_client", "invalid_scope"} or status == 401:  # noqa: PLR2004
        return MarketplaceAuthError(msg, code=error or None, **base)
    return MarketplaceHTTPError(msg, code=error or None, **base)


_TOKEN = TokenEndpoint(
    "eBay's token endpoint",
    "ebay",
    "token",
    max_lifetime=MAX_TOKEN_LIFETIME_S,
    refused=_token_error,
    failed=MarketplaceResponseError,
)


# -- bulkUpdatePriceQuantity -------------------------------------------------------------------

BULK = "bulkUpdatePriceQuantity"
MAX_BULK = 25
"""Items per bulkUpdatePriceQuantity call ("up to 25" in eBay's contract)."""
_GET_OFFER = "getOffer"


def offer_state(offer: dict[str, Any]) -> dict[str, Any]:
    """What a revision changes, read from a getOffer answer: sku, price, currency, quantity."""
    summary = offer.get("pricingSummary")
    summary = {} if summary is None else as_object(summary, "pricingSummary", _GET_OFFER)
    price = currency = None
    if summary.get("price") is not None:
        price, currency = parse_money(summary["price"], "pricingSummary.price", _GET_OFFER)
    quantity = offer.get("availableQuantity")
    if quantity is not None and (
        isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
    ):
        raise wrong_shape(_GET_OFFER, "availableQuantity", quantity, "a whole number >= 0")
    sku = offer.get("sku")
    return {
        "sku": sku if isinstance(sku, str) else "",
        "price": price,
        "currency": currency,
        "quantity": quantity,
        "status": _text(offer.get("status")),
    }


def offers_in(body: object) -> list[dict[str, Any]]:
    """The ``offers[]`` entries of a bulkUpdatePriceQuantity request body."""
    request = as_object(body, "the request", BULK)
    out = []
    for i, entry in enumerate(field_list(request, "requests", "", BULK)):
        entry = as_object(entry, f"requests[{i}]", BULK)  # noqa: PLW2901 - checked
        for j, offer in enumerate(field_list(entry, "offers", f"requests[{i}]", BULK)):
            out.append(as_object(offer, f"requests[{i}].offers[{j}]", BULK))
    return out


def bulk_body(items: Sequence[BatchItem]) -> dict[str, Any]:
    """The request body for ``items`` (each payload is one ``requests[]`` entry)."""
    return {"requests": [item.payload for item in items]}


def bulk_results(status: int, body: object, sent: Sequence[BatchItem]) -> list[ItemResult]:
    """One `ItemResult` per sent item from a 200 or 207 answer, matched by ``offerId``.

    Anything else (another status, a missing or repeated entry, an entry without
    a numeric ``statusCode``) is `MarketplaceResponseError`: which items applied
    is then unknown, and none of them is resent.
    """
    if status not in (200, 207):
        msg = f"ebay {BULK} answered HTTP {status}, not 200 or 207; which items applied is unknown"
        raise MarketplaceResponseError(msg, marketplace="ebay", operation=BULK)
    answer = as_object(body, "the body", BULK)
    entries: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(field_list(answer, "responses", "", BULK)):
        entry = as_object(entry, f"responses[{i}]", BULK)  # noqa: PLW2901 - checked
        offer_id, code = entry.get("offerId"), entry.get("statusCode")
        if not isinstance(offer_id, str) or offer_id in entries:
            raise wrong_shape(BULK, f"responses[{i}].offerId", offer_id, "a new offer id")
        if isinstance(code, bool) or not isinstance(code, int):
            raise wrong_shape(BULK, f"responses[{i}].statusCode", code, "a status number")
        entries[offer_id] = entry
    out = []
    for item in sent:
        offer_id = item.key.split(" ")[1]
        if offer_id not in entries:
            msg = (
                f"ebay {BULK} answered HTTP {status} without a result for offer {offer_id}; "
                "which items applied is unknown, so none is resent"
            )
            raise MarketplaceResponseError(msg, marketplace="ebay", operation=BULK)
        out.append(_item_result(item.key, entries[offer_id]))
    return out


def _item_result(key: str, entry: dict[str, Any]) -> ItemResult:
    status = entry["statusCode"]
    errors = [e for e in entry.get("errors") or [] if isinstance(e, dict)]
    first = errors[0] if errors else {}
    number = error_id(first)
    text = _text(first.get("longMessage")) or _text(first.get("message"))
    return ItemResult(
        key=key,
        ok=200 <= status < 300,  # noqa: PLR2004
        status=status,
        code=None if number is None else str(number),
        message=text[:_MAX_TEXT],
        raw=entry,
    )


def failed_items(response: httpx.Response) -> list[tuple[str, int, str | None, str]]:
    """(offerId, statusCode, errorId, message) of each failed item of a bulk answer."""
    body = json_or_none(response)
    entries = body.get("responses") if isinstance(body, dict) else None
    out = []
    for entry in entries if isinstance(entries, list) else []:
        status = entry.get("statusCode") if isinstance(entry, dict) else None
        if isinstance(status, int) and not isinstance(status, bool) and status >= 300:  # noqa: PLR2004
            result = _item_result("offer ? x", entry)
            offer_id = _text(entry.get("offerId"))
            out.append((offer_id, status, result.code, result.message))
    return out
