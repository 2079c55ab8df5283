"""Walmart Marketplace wire details: headers, the token, error bodies, money, orders, feeds.

Bodies are read defensively: JSON of the wrong shape raises
`MarketplaceResponseError` naming what was wrong (`TokenRefreshError` from the
token endpoint), never ``AttributeError`` or ``KeyError``. Error bodies come in
two shapes, both read here: the documented flat list ``{"errors": [...]}`` and
the XML-shaped ``{"errors": {"error": [...]}}``, whose ``error`` may also be one
object. Codes carry a service suffix (``UNAUTHORIZED.GMP_GATEWAY_API``): they are
matched on the part before the first dot.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from safe_release.adapters._base import response_json
from safe_release.adapters._core import Verdict
from safe_release.adapters._grants import TokenEndpoint
from safe_release.adapters._http_errors import http_error
from safe_release.adapters._shapes import Shapes, at, json_or_none, kind, text
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    TokenRefreshError,
)

if TYPE_CHECKING:
    import httpx

    from safe_release._secrets import Secret
    from safe_release.adapters._auth import TokenGrant
    from safe_release.adapters._operation import Operation

__all__ = [
    "CORRELATION_HEADER",
    "SERVICE_NAME",
    "TOKEN_HEADER",
    "TOKEN_MAX_LIFETIME_S",
    "answer",
    "as_object",
    "check_page",
    "classify",
    "client_credentials",
    "code_prefix",
    "epoch_ms",
    "error_entries",
    "field_list",
    "field_object",
    "from_epoch_ms",
    "item_entry",
    "item_price",
    "money",
    "multipart",
    "sent_price",
    "stamp",
    "walmart_error",
    "wrong_shape",
]

TOKEN_HEADER = "WM_SEC.ACCESS_TOKEN"  # noqa: S105 - a header name, not a secret
CORRELATION_HEADER = "WM_QOS.CORRELATION_ID"
SERVICE_HEADER = "WM_SVC.NAME"
SERVICE_NAME = "Walmart Marketplace"
TOKEN_MAX_LIFETIME_S = 86_400.0
"""A token's lifetime is capped here (Walmart grants 900 s) whatever the answer says."""
_MAX_TEXT = 300
_REFUSED = {
    401: "; the token was refused even after a refresh: check the client id and secret, "
    "and that they belong to this environment (production or sandbox)",
    403: "; the token lacks the scope for this API: check the app's permissions",
}
_SHAPES = Shapes("walmart")

# -- reading bodies ------------------------------------------------------------------------

wrong_shape = _SHAPES.wrong_shape
as_object = _SHAPES.as_object
field_object = _SHAPES.field_object


def answer(op: Operation, response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object (HTML, XML or another shape: `MarketplaceResponseError`)."""
    return as_object(response_json("walmart", op, response), "the body", op.name)


def field_list(parent: dict[str, Any], name: str, where: str, operation: str) -> list[Any]:
    """``parent[name]`` as a list (missing or null: empty; one object: a list of it).

    Walmart's JSON is converted from XML in places, so a list of one can come
    back as the object itself.
    """
    value = parent.get(name)
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise wrong_shape(operation, at(where, name), value, "a list")
    return value


# -- errors --------------------------------------------------------------------------------


def error_entries(body: object) -> list[dict[str, Any]]:
    """The error objects of an error body, whichever of Walmart's shapes it has."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, dict):
        errors = errors.get("error")
    if isinstance(errors, dict):
        errors = [errors]
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict)]


def code_prefix(code: object) -> str | None:
    """``"UNAUTHORIZED"`` for ``"UNAUTHORIZED.GMP_GATEWAY_API"`` (None if no code)."""
    if not isinstance(code, str) or not code.strip():
        return None
    return code.strip().split(".", 1)[0][:80]


def _first_error(response: httpx.Response) -> dict[str, Any]:
    entries = error_entries(json_or_none(response))
    return entries[0] if entries else {}


def classify(response: httpx.Response) -> Verdict:
    """Walmart semantics.

    401 (a bad or expired token): refresh once. 429: throttled, not executed.
    423 ``RESOURCE_IS_LOCKED``: retry later, like a server error. 5xx (a 503 has
    no body; a 504 ``DOWNSTREAM_SYSTEM_TIME_OUT`` may have applied a write):
    server error, so writes that are not idempotent are reconciled.
    """
    status = response.status_code
    if status < 300:  # noqa: PLR2004 - HTTP classes
        return Verdict.OK
    if status == 401:  # noqa: PLR2004
        return Verdict.AUTH_EXPIRED
    if status == 429:  # noqa: PLR2004
        return Verdict.THROTTLED
    if status == 423 or status >= 500:  # noqa: PLR2004
        return Verdict.SERVER
    return Verdict.FAILED


def walmart_error(op: Operation, response: httpx.Response) -> MarketplaceError:
    """The typed error for a Walmart error response; ``code`` is the code's prefix."""
    err = _first_error(response)
    status = response.status_code
    full = err.get("code") if isinstance(err.get("code"), str) else None
    code = code_prefix(full)
    correlation = (
        response.request.headers.get(CORRELATION_HEADER) if _has_request(response) else None
    )
    if err:
        words = [text(err.get(k)) for k in ("message", "description", "info")]
        field = text(err.get("field"))
        detail = f"{full}: " + " ".join(w for w in words if w)
        detail += f" (field {field})" if field else ""
    elif status == 503:  # noqa: PLR2004 - the gateway answers 503 without a body
        detail = "service unavailable (the gateway was not reached)"
    else:
        content_type = response.headers.get("content-type", "no content type")
        detail = f"a body that is not a Walmart error document ({content_type})"
    msg = f"walmart {op.name} failed with HTTP {status}: {detail.strip()[:_MAX_TEXT]}"
    if status == 423:  # noqa: PLR2004
        msg += "; the resource is locked by another update: retry later"
    return http_error(
        "walmart",
        op,
        status,
        msg,
        code=code,
        request_id=correlation,
        throttled="; the bucket stayed empty through every retry",
        refused=_REFUSED,
    )


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises when the response was built without one
    except RuntimeError:
        return False
    return True


# -- the token -----------------------------------------------------------------------------


def stamp(request: httpx.Request) -> None:
    """The headers every Walmart request carries (a fresh correlation id per attempt)."""
    request.headers[CORRELATION_HEADER] = str(uuid.uuid4())
    request.headers[SERVICE_HEADER] = SERVICE_NAME
    request.headers["accept"] = "application/json"


def client_credentials(
    client: httpx.Client,
    url: str,
    *,
    client_id: str,
    client_secret: Secret,
    seconds: float = 30.0,
) -> TokenGrant:
    """A 15-minute access token for the app's own seller account (client credentials).

    One attempt, cut after ``seconds``. A failure raises `TokenRefreshError`
    with nothing chained or left in a frame that holds the client secret in plain
    text (the request that carried it is dropped before anything is raised).
    """
    form = {"grant_type": "client_credentials"}
    return _TOKEN.grant(
        client, url, seconds, form=form, basic=(client_id, client_secret), stamp=stamp
    )


def _token_error(status: int, body: object) -> TokenRefreshError:
    code = code_prefix(next(iter(error_entries(body)), {}).get("code"))
    if status == 429:  # noqa: PLR2004
        advice = "the token endpoint is throttling token requests: retry in a minute"
    elif status in {400, 401, 403}:
        advice = (
            "the client id or secret is wrong, revoked, or for the other environment "
            "(production or sandbox): check them in Seller Center"
        )
    else:
        advice = "retry later; if it persists, check Walmart's status"
    label = f" ({code})" if code and code.replace("_", "").isalnum() else ""
    msg = f"getting a Walmart access token failed with HTTP {status}{label}: {advice}"
    return TokenRefreshError(msg, marketplace="walmart", operation="token")


_TOKEN = TokenEndpoint(
    "the Walmart token endpoint",
    "walmart",
    "token",
    max_lifetime=TOKEN_MAX_LIFETIME_S,
    refused=_token_error,
)


# -- values --------------------------------------------------------------------------------


CURRENCIES = frozenset({"USD", "CAD"})


def money(value: Decimal) -> float:
    """``value`` as the JSON number Walmart wants, exactly (``Decimal("19.99")`` -> 19.99).

    The float's shortest form is the Decimal's digits: it is checked, so a value
    that a float cannot carry exactly raises ValueError instead of drifting.
    """
    number = float(value)
    if not math.isfinite(number) or Decimal(repr(number)) != value:
        msg = f"{value} cannot be sent exactly as a JSON number"
        raise ValueError(msg)
    return number


def amount(value: object, where: str, operation: str) -> Decimal:
    """A money or quantity amount from a body: a JSON number or a decimal string."""
    result = None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            result = Decimal(value.strip() if isinstance(value, str) else repr(value))
        except (InvalidOperation, ValueError):
            result = None
    if result is None or not result.is_finite():
        raise wrong_shape(operation, where, value, "a finite decimal number")
    return result


def epoch_ms(when: datetime) -> int:
    """An aware datetime as Walmart's epoch milliseconds."""
    return int(when.astimezone(timezone.utc).timestamp() * 1000)


def from_epoch_ms(value: object) -> datetime | None:
    """Epoch milliseconds (a number or a numeric string) as an aware datetime; else None."""
    try:
        millis = float(value) if isinstance(value, (int, float, str)) else math.nan
    except ValueError:
        return None
    if isinstance(value, bool) or not math.isfinite(millis):
        return None
    try:
        return datetime.fromtimestamp(millis / 1000.0, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def multipart(document: object) -> tuple[bytes, str]:
    """A feed file as ``multipart/form-data`` with one part named ``file``.

    The boundary is derived from the content, so the same feed always encodes to
    the same bytes (the ledger's idempotency key is a hash of the request).
    """
    data = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
    boundary = "safe-release-" + hashlib.sha256(data).hexdigest()[:32]
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="feed.json"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def check_page(where: str, offset: object, limit: object, most: int) -> None:
    """``offset`` >= 0 and ``limit`` in ``[1, most]``, or `InvalidArgumentError`."""
    for name, value, low in (("offset", offset, 0), ("limit", limit, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            msg = f"{where}: {name} must be a whole number >= {low}, not {value!r:.40}"
            raise InvalidArgumentError(msg)
    if isinstance(limit, int) and limit > most:
        msg = f"{where}: limit must be at most {most}, not {limit}"
        raise InvalidArgumentError(msg)


# -- items and prices ----------------------------------------------------------------------


def item_entry(body: dict[str, Any], sku: str) -> dict[str, Any]:
    """The ``ItemResponse`` entry of ``sku`` in a ``GET /v3/items/{sku}`` answer.

    An answer without that SKU's entry is a `MarketplaceResponseError`: another
    item's price is never taken for it.
    """
    entries = field_list(body, "ItemResponse", "", "getItem")
    for index, entry in enumerate(entries):
        item = as_object(entry, f"ItemResponse[{index}]", "getItem")
        if item.get("sku") == sku:
            return item
    raise wrong_shape("getItem", "ItemResponse", None, f"an entry for SKU {sku[:60]}")


def item_price(item: dict[str, Any]) -> tuple[Decimal, str] | None:
    """(amount, currency) of an item's ``price``; None when the item has no price yet.

    The amount is the JSON number's exact value; a price that is there but is not a
    finite amount >= 0 in USD or CAD is a `MarketplaceResponseError`.
    """
    price = item.get("price")
    if price is None:
        return None
    price = as_object(price, "ItemResponse.price", "getItem")
    if price.get("amount") is None:
        return None
    value = amount(price["amount"], "ItemResponse.price.amount", "getItem")
    currency = price.get("currency", "USD")
    if value < 0:
        raise wrong_shape("getItem", "ItemResponse.price.amount", value, "an amount >= 0")
    if currency not in CURRENCIES:
        expected = f"one of {sorted(CURRENCIES)}"
        raise wrong_shape("getItem", "ItemResponse.price.currency", currency, expected)
    return value, currency


def sent_price(content: bytes) -> tuple[str, Decimal, str]:
    """(sku, amount, currency) of a ``PUT /v3/price`` body, the amount read exactly.

    Raises ValueError, KeyError or TypeError for a body that is not one.
    """
    body = json.loads(content, parse_float=Decimal)
    current = body["pricing"][0]["currentPrice"]
    value = current["amount"]
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        msg = f"the amount is {kind(value)}"
        raise TypeError(msg)
    sku = body["sku"]
    if not isinstance(sku, str):
        msg = f"the sku is {kind(sku)}"
        raise TypeError(msg)
    return sku, Decimal(value), str(current["currency"])


# -- orders --------------------------------------------------------------------------------

ORDER_STATUSES = frozenset({"Created", "Acknowledged", "Shipped", "Delivered", "Cancelled"})
METHOD_CODES = frozenset({"Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"})
MAX_ORDERS_PAGE = 200
_DONE_ACK = frozenset({"Acknowledged", "Shipped", "Delivered"})


def order_lines(order: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    """The order's ``orderLines.orderLine`` objects."""
    lines = field_list(field_object(order, "orderLines", "order", operation), "orderLine", "", "")
    return [
        as_object(line, f"order.orderLines.orderLine[{i}]", operation)
        for i, line in enumerate(lines)
    ]


def line_statuses(line: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    """A line's ``orderLineStatuses.orderLineStatus`` objects."""
    holder = field_object(line, "orderLineStatuses", "orderLine", operation)
    entries = field_list(holder, "orderLineStatus", "orderLine.orderLineStatuses", operation)
    return [
        as_object(e, "orderLine.orderLineStatuses.orderLineStatus", operation) for e in entries
    ]


def acknowledged(order: dict[str, Any], operation: str) -> bool | None:
    """Whether a whole-order acknowledgement is in place (None: the lines disagree).

    Cancelled lines are left out; a line past ``Created`` (acknowledged, shipped,
    delivered) counts as acknowledged.
    """
    states: set[bool | None] = set()
    for line in order_lines(order, operation):
        statuses = {text(s.get("status")) for s in line_statuses(line, operation)}
        statuses.discard("Cancelled")
        if not statuses:
            continue
        done = statuses <= _DONE_ACK
        states.add(done if done or statuses == {"Created"} else None)
    if len(states) != 1:
        return None
    return states.pop()


def shipped(
    order: dict[str, Any], wanted: dict[str, tuple[int, str]], operation: str
) -> bool | None:
    """Whether every line in ``wanted`` (number -> (quantity, tracking number)) shipped.

    True: all did; False: none did (nothing shipped under that tracking number);
    None: some did, or the order does not name them.
    """
    found: dict[str, bool] = {}
    for line in order_lines(order, operation):
        number = line.get("lineNumber")
        if not isinstance(number, str) or number not in wanted:
            continue
        quantity, tracking = wanted[number]
        count = 0
        for status in line_statuses(line, operation):
            info = status.get("trackingInfo")
            number_sent = info.get("trackingNumber") if isinstance(info, dict) else None
            if status.get("status") in ("Shipped", "Delivered") and number_sent == tracking:
                qty = field_object(status, "statusQuantity", "orderLineStatus", operation)
                count += int(amount(qty.get("amount", "0"), "statusQuantity.amount", operation))
        found[number] = count >= quantity
    if set(found) != set(wanted):
        return None
    if all(found.values()):
        return True
    return False if not any(found.values()) else None


def ship_body(
    lines: dict[str, int],
    tracking: dict[str, Any],
    seller_order_id: str | None,
) -> dict[str, Any]:
    """The ``orderShipment`` request for ``lines`` (number -> quantity), one tracking."""
    entries = []
    for number, quantity in lines.items():
        entry: dict[str, Any] = {
            "lineNumber": number,
            "orderLineStatuses": {
                "orderLineStatus": [
                    {
                        "status": "Shipped",
                        "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
                        "trackingInfo": tracking,
                    }
                ]
            },
        }
        if seller_order_id is not None:
            entry["sellerOrderId"] = seller_order_id
        entries.append(entry)
    return {"orderShipment": {"orderLines": {"orderLine": entries}}}


def next_cursor(meta: dict[str, Any], previous: str | None, operation: str) -> str | None:
    """``meta.nextCursor`` (None at the end); the page's own cursor again is refused."""
    cursor = meta.get("nextCursor")
    return _SHAPES.next_token(
        cursor, previous, operation, "list.meta.nextCursor", "a query string"
    )


# -- feeds ---------------------------------------------------------------------------------

FEED_DONE = frozenset({"PROCESSED", "ERROR"})
FEED_PAGE = 50


def price_payload(sku: str, price: Decimal, currency: str) -> dict[str, Any]:
    """One item's price, as ``PUT /v3/price`` and the price feed take it."""
    return {
        "sku": sku,
        "pricing": [
            {
                "currentPriceType": "BASE",
                "currentPrice": {"currency": currency, "amount": money(price)},
            }
        ],
    }


def quantity_payload(sku: str, quantity: int) -> dict[str, Any]:
    """One item's quantity, as ``PUT /v3/inventory`` and the inventory feed take it."""
    return {"sku": sku, "quantity": {"unit": "EACH", "amount": quantity}}


def feed_document(feed_type: str, payloads: list[Any]) -> dict[str, Any]:
    """The feed file for ``feed_type`` (``price`` 1.7, ``inventory`` 1.4)."""
    if feed_type == "price":
        return {"PriceHeader": {"version": "1.7"}, "Price": payloads}
    return {"InventoryHeader": {"version": "1.4"}, "Inventory": payloads}


def feed_items(status: dict[str, Any], operation: str) -> list[dict[str, Any]]:
    """A status page's ``itemDetails.itemIngestionStatus`` objects."""
    details = field_object(status, "itemDetails", "", operation)
    entries = field_list(details, "itemIngestionStatus", "itemDetails", operation)
    where = "itemDetails.itemIngestionStatus"
    return [as_object(e, f"{where}[{i}]", operation) for i, e in enumerate(entries)]


def first_ingestion_error(entry: dict[str, Any], operation: str) -> tuple[str | None, str]:
    """(code, description) of the first ``ingestionErrors.ingestionError`` entry."""
    errors = field_list(
        field_object(entry, "ingestionErrors", "", operation), "ingestionError", "", operation
    )
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    return (code[:80] if isinstance(code, str) else None), text(first.get("description"))[
        :_MAX_TEXT
    ]
