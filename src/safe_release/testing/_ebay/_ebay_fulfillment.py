"""Sell Fulfillment API v1: getOrders, getOrder and shipping fulfillments."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from safe_release.testing._ebay import _ebay_errors as e
from safe_release.testing._ebay._ebay_request import EbayRequest, Reply, whole
from safe_release.testing._ebay._ebay_state import MARKETPLACE, MAX_FULFILLMENTS
from safe_release.testing._ebay._ebay_values import EbayFulfillment

if TYPE_CHECKING:
    from safe_release.testing._ebay._ebay_state import EbayState, Order

__all__ = [
    "create_shipping_fulfillment",
    "get_order",
    "get_orders",
    "get_shipping_fulfillment",
    "get_shipping_fulfillments",
]

MAX_ORDER_IDS = 50
MAX_LIMIT = 200
DEFAULT_LOOKBACK = 90 * 86_400.0
MAX_LOOKBACK = 2 * 365 * 86_400.0
_ORDERS = "/sell/fulfillment/v1/order"
_ORDER_ID = re.compile(r"^[0-9]{2}-[0-9]{5}-[0-9]{5}$")
_TRACKING = re.compile(r"^[A-Za-z0-9]{1,40}$")  # [U] eBay: letters and digits only
_STATUS_SETS = (
    frozenset({"NOT_STARTED", "IN_PROGRESS"}),
    frozenset({"FULFILLED", "IN_PROGRESS"}),
)
_UNENCODED = set("[]{}|")


def _f(error_id: int, message: str, **params: str) -> e.Reject:
    return e.bad(error_id, e.FULFILLMENT, message, **params)


def order_body(order: Order, request: EbayRequest) -> dict[str, Any]:
    """An ``Order`` with the fields WIRE.md 4.3 lists (money as strings)."""
    total = sum(
        (x.unit_price * x.quantity for x in order.lines), start=order.lines[0].unit_price * 0
    )
    money = order.currency
    return {
        "orderId": order.order_id,
        "legacyOrderId": order.order_id,
        "creationDate": e.iso(order.created),
        "lastModifiedDate": e.iso(order.modified),
        "orderFulfillmentStatus": order.status,
        "orderPaymentStatus": "PAID",
        "sellerId": order.user_id,
        "buyer": {"username": "demo_buyer"},
        "pricingSummary": {
            "priceSubtotal": e.amount(total, money),
            "deliveryCost": e.amount(total * 0, money),
            "total": e.amount(total, money),
        },
        "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
        "fulfillmentHrefs": [
            request.url(f"{_ORDERS}/{order.order_id}/shipping_fulfillment/{f.fulfillment_id}")
            for f in order.fulfillments
        ],
        "fulfillmentStartInstructions": [],
        "salesRecordReference": order.order_id[-4:],
        "lineItems": [
            {
                "lineItemId": line.line_item_id,
                "legacyItemId": line.legacy_item_id,
                "sku": line.sku,
                "title": f"Item {line.sku}",
                "quantity": line.quantity,
                "lineItemCost": e.amount(line.unit_price * line.quantity, money),
                "total": e.amount(line.unit_price * line.quantity, money),
                "lineItemFulfillmentStatus": line.status,
                "soldFormat": "FIXED_PRICE",
                "listingMarketplaceId": MARKETPLACE,
                "purchaseMarketplaceId": MARKETPLACE,
                "taxes": [],
                "refunds": [],
                "appliedPromotions": [],
            }
            for line in order.lines
        ],
    }


def _range(value: str, now: float) -> tuple[float, float]:
    """``[start..end]`` or ``[start..]`` checked against eBay's 308xx codes."""
    if not (value.startswith("[") and value.endswith("]") and ".." in value):
        raise _f(30800, "Invalid filter value.", filter=value)
    start_text, _, end_text = value[1:-1].partition("..")
    if not start_text:
        raise _f(30820, "The start date is missing.")
    start = e.parse_iso(start_text)
    end = now if not end_text else e.parse_iso(end_text)
    if start is None or end is None:
        raise _f(30810, "Invalid date format. Use 2025-03-01T00:00:00.000Z.")
    if start > now or end > now:
        raise _f(30850, "The dates must not be in the future.")
    if start > end:
        raise _f(30840, "The start date is after the end date.")
    if now - start > MAX_LOOKBACK:
        raise _f(30830, "The date range is too long (two years at most).")
    return start, end


def _filters(request: EbayRequest) -> tuple[str, tuple[float, float], frozenset[str] | None]:
    """(date field, range, statuses) from the ``filter`` parameter."""
    raw = request.query.get("filter")
    if raw is None:
        return "creationdate", (request.now - DEFAULT_LOOKBACK, request.now), None
    raw_filter = next(
        (part[7:] for part in request.raw_query.split("&") if part.startswith("filter=")), ""
    )
    if _UNENCODED & set(raw_filter):  # [U] eBay asks for [ ] { } | percent-encoded
        raise _f(30800, "Invalid filter value: percent-encode [ ] { } and |.")
    criteria: dict[str, str] = {}
    for part in (p for p in raw.split(",") if p.strip()):
        name, sep, value = part.strip().partition(":")
        if name not in {"creationdate", "lastmodifieddate", "orderfulfillmentstatus"}:
            raise _f(30700, "Invalid filter name.", filter=name)
        if not sep or not value:
            raise _f(30800, "Invalid filter value.", filter=name)
        criteria[name] = value
    statuses = None
    if "orderfulfillmentstatus" in criteria:
        value = criteria["orderfulfillmentstatus"]
        found = (
            frozenset(value[1:-1].split("|"))
            if value.startswith("{") and value.endswith("}")
            else None
        )
        if found not in _STATUS_SETS:
            raise _f(30800, "Invalid filter value.", filter="orderfulfillmentstatus")
        statuses = found
    for field in ("creationdate", "lastmodifieddate"):  # creationdate wins
        if field in criteria:
            return field, _range(criteria[field], request.now), statuses
    return "creationdate", (request.now - DEFAULT_LOOKBACK, request.now), statuses


def _orders_by_id(state: EbayState, request: EbayRequest) -> Reply:
    """``orderIds=``: those orders (unknown ones left out); filter, limit and offset ignored."""
    ids = [x.strip() for x in request.query["orderIds"].split(",") if x.strip()]
    if len(ids) > MAX_ORDER_IDS:
        raise _f(30900, f"Too many order IDs: {MAX_ORDER_IDS} at most.")
    found = [
        state.orders[i]
        for i in ids
        if i in state.orders and state.orders[i].user_id == request.user_id
    ]
    body = {
        "href": request.url(f"{_ORDERS}?{urlencode({'orderIds': ','.join(ids)})}"),
        "total": len(found),
    }
    return Reply(200, {**body, "orders": [order_body(o, request) for o in found]})


def get_orders(state: EbayState, request: EbayRequest) -> Reply:
    """``GET /order``: by ids, or filtered and paged (``offset`` counts records)."""
    query = request.query
    if "orderIds" in query:
        return _orders_by_id(state, request)
    _field_groups(query)
    limit = whole(
        query.get("limit"), default=50, low=1, high=MAX_LIMIT, reject=_f(31100, "Invalid limit.")
    )
    offset = whole(
        query.get("offset"), default=0, low=0, high=None, reject=_f(31000, "Invalid offset.")
    )
    field, (start, end), statuses = _filters(request)
    matching = sorted(
        (
            o
            for o in state.orders.values()
            if o.user_id == request.user_id
            and start <= (o.created if field == "creationdate" else o.modified) <= end
            and (statuses is None or o.status in statuses)
        ),
        key=lambda o: (-o.created, o.order_id),
    )
    page = matching[offset : offset + limit]

    def href(at: int) -> str:
        params = {k: v for k, v in query.items() if k not in {"limit", "offset"}}
        text = urlencode({**params, "limit": limit, "offset": at}, quote_via=quote)
        return request.url(f"{_ORDERS}?{text}")

    body: dict[str, Any] = {
        "href": href(offset),
        "limit": limit,
        "offset": offset,
        "total": len(matching),
    }
    if offset + limit < len(matching):
        body["next"] = href(offset + limit)
    if offset > 0:
        body["prev"] = href(max(0, offset - limit))
    body["orders"] = [order_body(o, request) for o in page]
    return Reply(200, body)


def _field_groups(query: dict[str, str]) -> None:
    groups = query.get("fieldGroups")
    if groups is not None and groups != "TAX_BREAKDOWN":
        raise _f(32800, "Invalid field group.", fieldGroups=groups)


def _order(state: EbayState, request: EbayRequest, *, missing: int = 404) -> Order:
    order_id = request.params["orderId"]
    if not _ORDER_ID.match(order_id):
        raise _f(32100, "Invalid order ID.", orderId=order_id)
    order = state.orders.get(order_id)
    if order is None or order.user_id != request.user_id:
        if missing == 404:  # noqa: PLR2004
            raise e.Reject(
                404,
                e.error(
                    32100, e.FULFILLMENT, "Order not found.", parameters={"orderId": order_id}
                ),
            )
        raise _f(32100, "Invalid order ID.", orderId=order_id)
    return order


def get_order(state: EbayState, request: EbayRequest) -> Reply:
    """``GET /order/{orderId}``."""
    _field_groups(request.query)
    return Reply(200, order_body(_order(state, request), request))


def fulfillment_body(found: EbayFulfillment) -> dict[str, Any]:
    """A ``ShippingFulfillment``: the tracking number is ``shipmentTrackingNumber``."""
    body: dict[str, Any] = {
        "fulfillmentId": found.fulfillment_id,
        "lineItems": [{"lineItemId": i, "quantity": q} for i, q in found.line_items],
        "shippedDate": found.shipped_date,
    }
    if found.tracking_number is not None:
        body["shipmentTrackingNumber"] = found.tracking_number
    if found.carrier_code is not None:
        body["shippingCarrierCode"] = found.carrier_code
    return body


def get_shipping_fulfillments(state: EbayState, request: EbayRequest) -> Reply:
    """``GET /order/{orderId}/shipping_fulfillment``."""
    order = _order(state, request)
    fulfillments = [fulfillment_body(f) for f in order.fulfillments]
    return Reply(200, {"total": len(fulfillments), "fulfillments": fulfillments})


def get_shipping_fulfillment(state: EbayState, request: EbayRequest) -> Reply:
    """``GET /order/{orderId}/shipping_fulfillment/{fulfillmentId}``."""
    order = _order(state, request)
    wanted = request.params["fulfillmentId"]
    for found in order.fulfillments:
        if found.fulfillment_id == wanted:
            return Reply(200, fulfillment_body(found))
    if not wanted.isalnum():
        raise _f(32110, "Invalid fulfillment ID.", fulfillmentId=wanted)
    raise e.Reject(
        404,
        e.error(
            32110, e.FULFILLMENT, "Fulfillment not found.", parameters={"fulfillmentId": wanted}
        ),
    )


def _package(order: Order, body: object) -> list[tuple[str, int]]:
    """The ``lineItems`` of a ShippingFulfillmentDetails, checked (32200, 32210, 32600)."""
    items = body.get("lineItems") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise _f(32600, "Invalid input: lineItems is required.")
    lines = {line.line_item_id: line for line in order.lines}
    seen: list[tuple[str, int]] = []
    for item in items:
        line_id = item.get("lineItemId") if isinstance(item, dict) else None
        if not isinstance(line_id, str) or line_id not in lines:
            raise _f(32200, "Invalid line item ID.", lineItemId=str(line_id))
        if any(line_id == known for known, _ in seen):
            raise _f(32210, "Duplicate line item in the request.", lineItemId=line_id)
        quantity = item.get("quantity", lines[line_id].quantity)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 0 < quantity <= lines[line_id].quantity
        ):
            raise _f(32600, "Invalid input: quantity.", lineItemId=line_id)
        seen.append((line_id, quantity))
    return seen


def _shipped_date(order: Order, body: dict[str, Any], now: float) -> str:
    raw = body.get("shippedDate")
    if raw is None:
        return e.iso(now)
    when = e.parse_iso(raw) if isinstance(raw, str) else None
    if when is None or when > now or when < order.created:  # [U] the window eBay allows
        raise _f(32500, "Invalid shipped date.")
    return e.iso(when)


def _tracking(body: dict[str, Any]) -> tuple[str | None, str | None]:
    tracking, carrier = body.get("trackingNumber"), body.get("shippingCarrierCode")
    if tracking is None and carrier is None:
        return None, None
    if not isinstance(tracking, str) or not _TRACKING.match(tracking):
        raise _f(32300, "Invalid tracking number or carrier.")
    if not isinstance(carrier, str) or not carrier.strip():
        raise _f(32300, "Invalid tracking number or carrier.")
    return tracking, carrier


def create_shipping_fulfillment(state: EbayState, request: EbayRequest) -> Reply:
    """``POST /order/{orderId}/shipping_fulfillment``: 201, empty body, id in ``Location``.

    Not idempotent: every success adds a fulfillment, until the order holds
    `MAX_FULFILLMENTS` and the next is 400 34100.
    """
    order = _order(state, request, missing=400)
    package = _package(order, request.body)
    body: dict[str, Any] = request.body
    shipped = _shipped_date(order, body, request.now)
    tracking, carrier = _tracking(body)
    if len(order.fulfillments) >= MAX_FULFILLMENTS:
        raise _f(34100, "Maximum tracking number for order is exceeded.")
    lines = {line.line_item_id: line for line in order.lines}
    for line_id, quantity in package:
        lines[line_id].shipped = min(lines[line_id].quantity, lines[line_id].shipped + quantity)
    fulfillment_id = state.ids.digits(22)
    order.fulfillments.append(
        EbayFulfillment(
            fulfillment_id, order.order_id, tuple(package), tracking, carrier, shipped, request.now
        )
    )
    order.modified = request.now
    location = request.url(f"{_ORDERS}/{order.order_id}/shipping_fulfillment/{fulfillment_id}")
    return Reply(201, None, applied=True, headers={"Location": location})
