"""Orders API: getOrders, getReleasedOrders, getOrder, acknowledgeOrder, shipOrder."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from safe_release.testing._walmart._wm_request import (
    Reply,
    WmRequest,
    integer,
    invalid_content,
    not_found,
)
from safe_release.testing._walmart._wm_state import METHOD_CODES
from safe_release.testing._walmart._wm_values import (
    WalmartLineStatus,
    WalmartOrder,
    WalmartOrderLine,
    WalmartTracking,
)
from safe_release.testing._walmart._wm_wire import (
    ORDER,
    ORDERS_NS,
    Reject,
    epoch_ms,
    from_date,
    iso_ms,
)

if TYPE_CHECKING:
    from safe_release.testing._walmart._wm_state import WalmartState

__all__ = [
    "acknowledge_order",
    "get_order",
    "get_orders",
    "get_released_orders",
    "order_document",
    "ship_order",
]

STATUSES = frozenset({"Created", "Acknowledged", "Shipped", "Delivered", "Cancelled"})
CARRIERS = frozenset(
    {"UPS", "USPS", "FedEx", "Airborne", "OnTrac", "DHL", "NG", "LS", "UDS", "UPSMI", "FDX"}
)
_DAY = 86_400.0
_MS_LOW, _MS_HIGH = 946_684_800_000, 4_102_444_800_000  # 2000-01-01 .. 2100-01-01
_MAX_LIMIT = 200
_CURSOR = frozenset({"hasMoreElements", "soIndex", "poIndex", "partnerId", "sellerId"})
_FILTERS = (
    "sku",
    "customerOrderId",
    "purchaseOrderId",
    "status",
    "createdStartDate",
    "createdEndDate",
    "lastModifiedStartDate",
    "lastModifiedEndDate",
    "shipNodeType",
)


# -- the order object ------------------------------------------------------------------


def _money(currency: str, amount: object) -> dict[str, Any]:
    return {"currency": currency, "amount": amount}


def _tracking_document(tracking: WalmartTracking) -> dict[str, Any]:
    carrier = (
        {"carrier": tracking.carrier}
        if tracking.carrier
        else {"otherCarrier": tracking.other_carrier}
    )
    document: dict[str, Any] = {
        "shipDateTime": tracking.ship_date,
        "carrierName": carrier,
        "methodCode": tracking.method_code,
        "trackingNumber": tracking.tracking_number,
    }
    if tracking.tracking_url:
        document["trackingURL"] = tracking.tracking_url
    return document


def _status_document(status: WalmartLineStatus) -> dict[str, Any]:
    document: dict[str, Any] = {
        "status": status.status,
        "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(status.quantity)},
    }
    if status.status == "Cancelled":
        document["cancellationReason"] = "CANCEL_BY_SELLER"
    if status.tracking is not None:
        document["trackingInfo"] = _tracking_document(status.tracking)
    return document


def _line_document(order: WalmartOrder, line: WalmartOrderLine) -> dict[str, Any]:
    charge = {
        "chargeType": "PRODUCT",
        "chargeName": "ItemPrice",
        "chargeAmount": _money(order.currency, line.unit_price * line.quantity),
        "tax": {"taxName": "Tax1", "taxAmount": _money(order.currency, 0)},
    }
    return {
        "lineNumber": line.line_number,
        "item": {"productName": line.product_name, "sku": line.sku},
        "charges": {"charge": [charge]},
        "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.quantity)},
        "statusDate": epoch_ms(line.status_date),
        "orderLineStatuses": {"orderLineStatus": [_status_document(s) for s in line.statuses]},
        "fulfillment": {
            "fulfillmentOption": "S2H",
            "shipMethod": order.method_code.upper(),
            "pickUpDateTime": epoch_ms(order.created + 2 * _DAY),
        },
    }


def order_document(order: WalmartOrder) -> dict[str, Any]:
    """The JSON order object (WIRE.md 5.4), members in PurchaseOrderV3.3.xsd's order."""
    return {
        "purchaseOrderId": order.purchase_order_id,
        "customerOrderId": order.customer_order_id,
        "customerEmailId": f"{order.customer_order_id}@relay.walmart.com",
        "orderDate": epoch_ms(order.created),
        "shippingInfo": {
            "phone": "2025550100",
            "estimatedDeliveryDate": epoch_ms(order.created + 5 * _DAY),
            "estimatedShipDate": epoch_ms(order.created + 2 * _DAY),
            "methodCode": order.method_code,
            "postalAddress": {
                "name": "Jane Doe",
                "address1": "702 SW 8th St",
                "city": "Bentonville",
                "state": "AR",
                "postalCode": "72716",
                "country": "USA",
                "addressType": "RESIDENTIAL",
            },
        },
        "orderLines": {"orderLine": [_line_document(order, line) for line in order.lines]},
        "shipNode": {"type": "SellerFulfilled", "name": "Fake DC", "id": "10000001"},
    }


# -- lists ---------------------------------------------------------------------------


def _since(request: WmRequest, name: str) -> float | None:
    raw = request.query.get(name)
    return None if not raw else from_date(raw, name=name, service=ORDER)


def _matches(order: WalmartOrder, request: WmRequest, start: float) -> bool:
    q = request.query
    statuses = {s.status for line in order.lines for s in line.statuses}
    end = _since(request, "createdEndDate")
    modified_from = _since(request, "lastModifiedStartDate")
    modified_to = _since(request, "lastModifiedEndDate")
    return not (
        order.seller_id != request.seller_id
        or order.created < start
        or (end is not None and order.created > end)
        or (modified_from is not None and order.modified < modified_from)
        or (modified_to is not None and order.modified > modified_to)
        or (q.get("sku") and q["sku"] not in {line.sku for line in order.lines})
        or (q.get("customerOrderId") and q["customerOrderId"] != order.customer_order_id)
        or (q.get("purchaseOrderId") and q["purchaseOrderId"] != order.purchase_order_id)
        or (q.get("status") and q["status"] not in statuses)
        or q.get("shipNodeType", "SellerFulfilled") != "SellerFulfilled"
    )


def _list(state: WalmartState, request: WmRequest, *, days: int, released: bool) -> Reply:
    status = request.query.get("status")
    if status and status not in STATUSES:
        msg = f"status must be one of {sorted(STATUSES)}, not {status!r}."
        raise Reject(400, "INVALID_REQUEST_PARAM" + ORDER, msg, field="status")
    limit = integer(request, "limit", default=100, low=1, high=_MAX_LIMIT, service=ORDER)
    offset = integer(request, "soIndex", default=0, low=0, high=10**9, service=ORDER)
    start = _since(request, "createdStartDate")
    start = request.now - days * _DAY if start is None else start
    found = [
        o
        for o in state.orders.values()
        if _matches(o, request, start)
        and (not released or any(line.quantity_in("Created") for line in o.lines))
    ]
    found.sort(key=lambda o: (o.created, o.purchase_order_id), reverse=True)
    page = found[offset : offset + limit]
    meta: dict[str, Any] = {"totalCount": len(found), "limit": limit}
    if offset + limit < len(found):
        meta["nextCursor"] = _cursor(request, start, limit, offset + limit)
    document = {"list": {"meta": meta, "elements": {"order": [order_document(o) for o in page]}}}
    return Reply(200, document, "list", ORDERS_NS)


def _cursor(request: WmRequest, start: float, limit: int, offset: int) -> str:
    """The next page as a query string; the window's end is pinned, so pages do not shift."""
    kept = {k: v for k, v in request.query.items() if k in _FILTERS and k not in _CURSOR}
    kept["createdStartDate"] = kept.get("createdStartDate") or _iso(start)
    kept["createdEndDate"] = kept.get("createdEndDate") or _iso(request.now)
    cursor = {
        "limit": str(limit),
        "hasMoreElements": "true",
        "soIndex": str(offset),
        "poIndex": str(offset),
        "partnerId": request.seller_id,
        "sellerId": request.seller_id,
        **{k: v for k, v in kept.items() if k != "limit"},
    }
    return "?" + urlencode(cursor)


def _iso(seconds: float) -> str:
    return iso_ms(epoch_ms(seconds))


def get_orders(state: WalmartState, request: WmRequest) -> Reply:
    """GET /v3/orders: filters, limit <= 200, ``nextCursor`` paging (newest first)."""
    return _list(state, request, days=7, released=False)


def get_released_orders(state: WalmartState, request: WmRequest) -> Reply:
    """GET /v3/orders/released: orders with a line still ``Created`` (last 180 days)."""
    return _list(state, request, days=180, released=True)


def _order(state: WalmartState, request: WmRequest) -> WalmartOrder:
    po = request.params["purchaseOrderId"]
    order = state.orders.get(po)
    if order is None or order.seller_id != request.seller_id:
        raise not_found(ORDER, f"Purchase order {po} was not found.")
    return order


def get_order(state: WalmartState, request: WmRequest) -> Reply:
    """GET /v3/orders/{purchaseOrderId}."""
    return Reply(200, {"order": order_document(_order(state, request))}, "order", ORDERS_NS)


# -- writes --------------------------------------------------------------------------


def _move(  # noqa: PLR0917 - one move, said in order
    line: WalmartOrderLine,
    source: str,
    quantity: int,
    target: str,
    tracking: WalmartTracking | None,
    now: float,
) -> WalmartOrderLine:
    """``quantity`` units of ``line`` go from ``source`` to ``target``."""
    left = line.quantity_in(source) - quantity
    kept = [s for s in line.statuses if s.status != source]
    merged = [WalmartLineStatus(source, left)] if left else []
    statuses = [*merged, *kept]
    same = [i for i, s in enumerate(statuses) if s.status == target and tracking is None]
    if same:
        old = statuses[same[0]]
        statuses[same[0]] = WalmartLineStatus(target, old.quantity + quantity)
    else:
        statuses.append(WalmartLineStatus(target, quantity, tracking))
    return dataclasses.replace(line, statuses=tuple(statuses), status_date=now)


def acknowledge_order(state: WalmartState, request: WmRequest) -> Reply:
    """POST /v3/orders/{po}/acknowledge: every ``Created`` line becomes ``Acknowledged``."""
    order = _order(state, request)
    lines = tuple(
        _move(line, "Created", line.quantity_in("Created"), "Acknowledged", None, request.now)
        if line.quantity_in("Created")
        else line
        for line in order.lines
    )
    applied = lines != order.lines
    if applied:
        order = dataclasses.replace(order, lines=lines, modified=request.now)
        state.orders[order.purchase_order_id] = order
    return Reply(200, {"order": order_document(order)}, "order", ORDERS_NS, applied=applied)


def _bad(message: str, field: str) -> Reject:
    return invalid_content(ORDER, message, field=field)


def _tracking(info: object, number: str) -> WalmartTracking:
    if not isinstance(info, dict):
        msg = f"trackingInfo is required in line number {number}"
        raise _bad(msg, "trackingInfo")
    ship = info.get("shipDateTime")
    if isinstance(ship, bool) or not isinstance(ship, int) or not _MS_LOW <= ship <= _MS_HIGH:
        msg = f"shipDateTime must be epoch milliseconds in line number {number}, not {ship!r}"
        raise _bad(msg, "shipDateTime")
    name = info.get("carrierName")
    carrier = name.get("carrier") if isinstance(name, dict) else None
    other = name.get("otherCarrier") if isinstance(name, dict) else None
    if (carrier is None) == (other is None) or not isinstance(carrier or other, str):
        msg = f"carrierName needs exactly one of carrier or otherCarrier in line number {number}"
        raise _bad(msg, "carrierName")
    if carrier is not None and carrier not in CARRIERS:
        msg = f"Carrier {carrier} is not supported in line number {number}"
        raise _bad(msg, "carrier")
    if info.get("methodCode") not in METHOD_CODES:
        msg = f"Method code is not supported in line number {number}"
        raise _bad(msg, "methodCode")
    tracking_number, url = info.get("trackingNumber"), info.get("trackingURL")
    if not isinstance(tracking_number, str) or not tracking_number:
        msg = f"trackingNumber is required in line number {number}"
        raise _bad(msg, "trackingNumber")
    if (other is not None and not url) or (url is not None and not isinstance(url, str)):
        msg = f"trackingURL is required with otherCarrier in line number {number}"
        raise _bad(msg, "trackingURL")
    return WalmartTracking(ship, carrier, other, info["methodCode"], tracking_number, url)


def _quantity(status: object, number: str) -> int:
    if not isinstance(status, dict) or status.get("status") != "Shipped":
        msg = f"Only status Shipped can be sent in line number {number}"
        raise _bad(msg, "status")
    quantity = status.get("statusQuantity")
    amount = quantity.get("amount") if isinstance(quantity, dict) else None
    if (
        not isinstance(quantity, dict)
        or quantity.get("unitOfMeasurement") != "EACH"
        or not isinstance(amount, str)
        or not amount.isdigit()
        or int(amount) < 1
    ):
        msg = f"statusQuantity must be {{unitOfMeasurement: EACH, amount: '<n>'}} in line {number}"
        raise _bad(msg, "statusQuantity")
    return int(amount)


def _shipments(body: object) -> tuple[list[tuple[str, int, WalmartTracking]], bool]:
    """(line number, quantity, tracking) for each status sent, and whether PARTIAL_UPDATE."""
    shipment = body.get("orderShipment") if isinstance(body, dict) else None
    lines = shipment.get("orderLines") if isinstance(shipment, dict) else None
    entries = lines.get("orderLine") if isinstance(lines, dict) else None
    if not isinstance(shipment, dict) or not isinstance(entries, list) or not entries:
        msg = "The body must be {orderShipment: {orderLines: {orderLine: [...]}}}."
        raise _bad(msg, "orderShipment")
    mode = shipment.get("processMode")
    if mode not in {None, "PARTIAL_UPDATE"}:
        msg = f"processMode must be PARTIAL_UPDATE, not {mode!r}."
        raise _bad(msg, "processMode")
    found = []
    for entry in entries:
        number = entry.get("lineNumber") if isinstance(entry, dict) else None
        if not isinstance(number, str) or not number:
            raise _bad('lineNumber must be a string such as "1".', "lineNumber")
        holder = entry.get("orderLineStatuses")
        statuses = holder.get("orderLineStatus") if isinstance(holder, dict) else None
        if not isinstance(statuses, list) or not statuses:
            msg = f"orderLineStatuses is required in line number {number}"
            raise _bad(msg, "orderLineStatus")
        for status in statuses:
            quantity = _quantity(status, number)
            found.append((number, quantity, _tracking(status.get("trackingInfo"), number)))
    return found, mode == "PARTIAL_UPDATE"


def _check_ship(order: WalmartOrder, number: str, quantity: int, *, partial: bool) -> None:
    try:
        line = order.line(number)
    except KeyError:
        msg = f"Line number {number} is not in this purchase order."
        raise _bad(msg, "lineNumber") from None
    if partial:
        if line.quantity_in("Shipped") < quantity:
            msg = (
                f"Line number {number} has not shipped {quantity}; PARTIAL_UPDATE edits "
                "the tracking of shipped lines only."
            )
            raise _bad(msg, "processMode")
        return
    acknowledged = line.quantity_in("Acknowledged")
    if line.quantity_in("Created") and quantity > acknowledged:
        msg = f"Line number {number} is not acknowledged; acknowledge the order before shipping."
        raise _bad(msg, "lineNumber")
    if not acknowledged and line.quantity_in("Shipped"):
        msg = (
            f"Line number {number} has already shipped; only PARTIAL_UPDATE may change "
            "its tracking."
        )
        raise _bad(msg, "lineNumber")
    if quantity > acknowledged:
        msg = f"Line number {number}: shipping {quantity} exceeds the {acknowledged} left to ship."
        raise _bad(msg, "statusQuantity")


def _retrack(line: WalmartOrderLine, tracking: WalmartTracking, now: float) -> WalmartOrderLine:
    statuses = tuple(
        dataclasses.replace(s, tracking=tracking) if s.status == "Shipped" else s
        for s in line.statuses
    )
    return dataclasses.replace(line, statuses=statuses, status_date=now)


def ship_order(state: WalmartState, request: WmRequest) -> Reply:
    """POST /v3/orders/{po}/shipping: ship quantities of acknowledged lines (all or nothing).

    With ``processMode: PARTIAL_UPDATE`` it only replaces the tracking of shipped lines.
    """
    order = _order(state, request)
    shipments, partial = _shipments(request.body)
    wanted: dict[str, int] = {}
    for number, quantity, _ in shipments:
        wanted[number] = wanted.get(number, 0) + quantity
    for number, quantity in wanted.items():
        _check_ship(order, number, quantity, partial=partial)
    lines = {line.line_number: line for line in order.lines}
    for number, quantity, tracking in shipments:
        lines[number] = (
            _retrack(lines[number], tracking, request.now)
            if partial
            else _move(lines[number], "Acknowledged", quantity, "Shipped", tracking, request.now)
        )
    order = dataclasses.replace(order, lines=tuple(lines.values()), modified=request.now)
    state.orders[order.purchase_order_id] = order
    return Reply(200, {"order": order_document(order)}, "order", ORDERS_NS, applied=True)
