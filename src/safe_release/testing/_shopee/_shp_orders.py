"""The order and logistics APIs: order list and detail, shipping parameters, ship, tracking.

WIRE.md 6.3 - 6.5: a list window of at most 15 days, ``page_size`` 1-100 with
``cursor``/``next_cursor``/``more``; details for 1-50 order numbers with optional
fields; ``ship_order`` moves READY_TO_SHIP (or RETRY_SHIP) to PROCESSED, once;
the tracking number stays empty for ``tracking_delay`` seconds after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safe_release.testing._shopee._shp_request import Reply, ShpRequest, query_int, query_list
from safe_release.testing._shopee._shp_state import CHANNELS, ORDER_STATUSES, REGIONS
from safe_release.testing._shopee._shp_wire import Reject

if TYPE_CHECKING:
    from safe_release.testing._shopee._shp_state import Order, ShopeeState

__all__ = [
    "MAX_DETAIL",
    "MAX_PAGE",
    "MAX_WINDOW",
    "get_order_detail",
    "get_order_list",
    "get_shipping_parameter",
    "get_tracking_number",
    "ship_order",
]

MAX_WINDOW = 15 * 86400
MAX_PAGE = 100
MAX_DETAIL = 50
_NOT_FOUND = "Wrong parameters, detail: the order is not found."
_SHIPPABLE = {"READY_TO_SHIP", "RETRY_SHIP"}
_SHIPPED = {"PROCESSED", "SHIPPED", "TO_CONFIRM_RECEIVE", "TO_RETURN"}
_FINAL = {"CANCELLED", "COMPLETED"}
_ADDRESS_ID = 200_001
_BRANCH_ID = 300_001


def _order(state: ShopeeState, request: ShpRequest, order_sn: str) -> Order:
    order = state.orders.get(order_sn)
    if order is None or order.shop_id != request.shop_id:
        raise Reject("error_not_found", _NOT_FOUND)
    return order


def get_order_list(state: ShopeeState, request: ShpRequest) -> Reply:
    """A page of the shop's orders created or updated in the window, oldest first."""
    field = request.query.get("time_range_field", "")
    if field not in {"create_time", "update_time"}:
        msg = "Wrong parameters, detail: time_range_field must be create_time or update_time."
        raise Reject("error_param", msg)
    start = query_int(request, "time_from", low=0)
    end = query_int(request, "time_to", low=0)
    if not start < end or end - start > MAX_WINDOW:
        msg = "Start time must be earlier than end time and diff in 15days."
        raise Reject("order.order_list_invalid_time", msg)
    size = query_int(request, "page_size", low=1, high=MAX_PAGE)
    offset = query_int(request, "cursor", low=0, default=0)
    status = request.query.get("order_status", "")
    if status and status not in ORDER_STATUSES:
        raise Reject("error_param", f"Wrong parameters, detail: order_status {status!r}.")
    optional = request.query.get("response_optional_fields", "").split(",")
    matching = sorted(
        (
            o
            for o in state.orders.values()
            if o.shop_id == request.shop_id
            and start <= int(o.created if field == "create_time" else o.updated) <= end
            and (not status or o.status == status)
        ),
        key=lambda o: o.created,
    )
    page = matching[offset : offset + size]
    more = offset + size < len(matching)
    rows: list[dict[str, Any]] = []
    for order in page:
        row: dict[str, Any] = {"order_sn": order.order_sn}
        if "order_status" in optional:
            row["order_status"] = order.status
        rows.append(row)
    response = {
        "more": more,
        "next_cursor": str(offset + size) if more else "",
        "order_list": rows,
    }
    return Reply(response)


def _detail(order: Order, optional: set[str], state: ShopeeState, now: float) -> dict[str, Any]:
    currency = REGIONS[order.region][0]
    row: dict[str, Any] = {
        "order_sn": order.order_sn,
        "region": order.region,
        "currency": currency,
        "cod": False,
        "order_status": order.status,
        "create_time": int(order.created),
        "update_time": int(order.updated),
        "days_to_ship": 3,
        "ship_by_date": int(order.created) + 3 * 86400,
        "message_to_seller": "",
        "booking_sn": "",
    }
    if "item_list" in optional:
        row["item_list"] = [
            {
                "item_id": line.item_id,
                "item_name": f"Item {line.item_id}",
                "item_sku": "",
                "model_id": line.model_id,
                "model_name": "",
                "model_sku": "",
                "model_quantity_purchased": line.quantity,
                "model_original_price": line.price,
                "model_discounted_price": line.price,
                "order_item_id": line.item_id,
                "promotion_type": "",
            }
            for line in order.lines
        ]
    if "package_list" in optional:
        row["package_list"] = [
            {
                "package_number": order.package_number,
                "logistics_status": _logistics_status(order, now, state.tracking_delay),
                "logistics_channel_id": 18025,
                "shipping_carrier": "Standard Delivery",
                "item_list": [{"item_id": x.item_id, "model_id": x.model_id} for x in order.lines],
            }
        ]
    if "total_amount" in optional:
        row["total_amount"] = sum((x.price * x.quantity for x in order.lines), start=0)
    if "pay_time" in optional and order.status != "UNPAID":
        row["pay_time"] = int(order.created)
    if "shipping_carrier" in optional:
        row["shipping_carrier"] = "Standard Delivery"
    if "recipient_address" in optional:
        row["recipient_address"] = {
            "name": "****",
            "phone": "******",
            "town": "",
            "district": "",
            "city": "",
            "state": "",
            "region": order.region,
            "zipcode": "******",
            "full_address": "****",
        }
    return row


def _logistics_status(order: Order, now: float, delay: float) -> str:
    if order.shipped_at is None:
        return "LOGISTICS_NOT_START" if order.status in _SHIPPABLE else "LOGISTICS_INVALID"
    if order.tracking(now, delay):
        return "LOGISTICS_READY"
    return "LOGISTICS_REQUEST_CREATED"


def get_order_detail(state: ShopeeState, request: ShpRequest) -> Reply:
    """The orders' details; an unknown order number fails the call."""
    numbers = query_list(request, "order_sn_list", most=MAX_DETAIL, error="error_param")
    optional = set(request.query.get("response_optional_fields", "").split(","))
    orders = [_order(state, request, sn) for sn in numbers]
    rows = [_detail(order, optional, state, request.now) for order in orders]
    return Reply({"order_list": rows})


def _ready(order: Order) -> None:
    if order.status in _SHIPPED:
        msg = "This package has already been arranged shipment and you can't call this API again."
        raise Reject("logistics.package_already_shipped", msg)
    if order.status in _FINAL:
        raise Reject("logistics.order_finalized", "The order is finalized.")
    if order.status not in _SHIPPABLE:
        raise Reject("logistics.error_param", "The order status is not ready to ship.")


def _info_needed(order: Order) -> dict[str, list[str]]:
    needed: dict[str, list[str]] = {
        "pickup": ["address_id", "pickup_time_id"],
        "dropoff": ["branch_id"],
        "non_integrated": ["tracking_no"],
    }
    return {order.channel: needed[order.channel]}


def get_shipping_parameter(state: ShopeeState, request: ShpRequest) -> Reply:
    """What ``ship_order`` needs for the order's channel: its object and the choices."""
    order = _order(state, request, request.query.get("order_sn", ""))
    _ready(order)
    day = int(request.now // 86400) * 86400
    response: dict[str, Any] = {"info_needed": _info_needed(order)}
    if order.channel == "pickup":
        slots = [
            {
                "date": day + n * 86400,
                "time_text": "09:00-18:00",
                "pickup_time_id": str(day + n * 86400 + 9 * 3600),
                "flags": [],
            }
            for n in (1, 2)
        ]
        response["pickup"] = {
            "address_list": [
                {
                    "address_id": _ADDRESS_ID,
                    "region": order.region,
                    "address": "1 Fake Street",
                    "address_flag": ["default_address", "pickup_address"],
                    "time_slot_list": slots,
                }
            ]
        }
    elif order.channel == "dropoff":
        response["dropoff"] = {"branch_list": [{"branch_id": _BRANCH_ID, "address": "Branch"}]}
    return Reply(response)


def _shipment(order: Order, body: dict[str, Any]) -> dict[str, Any]:
    named = [channel for channel in CHANNELS if channel in body]
    if len(named) != 1 or not isinstance(body[named[0]], dict):
        msg = "Send exactly one of pickup, dropoff and non_integrated."
        raise Reject("logistics.error_param", msg)
    if named[0] != order.channel:
        msg = f"This order ships by {order.channel}, not {named[0]}."
        raise Reject("logistics.error_param", msg)
    info: dict[str, Any] = body[named[0]]
    if order.channel == "pickup":
        slot = info.get("pickup_time_id")
        if info.get("address_id") != _ADDRESS_ID or not isinstance(slot, str) or not slot:
            msg = "Wrong parameters, detail: address_id or pickup_time_id is invalid."
            raise Reject("logistics.error_param", msg)
    if order.channel == "non_integrated":
        number = info.get("tracking_number")
        if not isinstance(number, str) or not number:
            msg = "Wrong parameters, detail: tracking_number is required."
            raise Reject("logistics.error_param", msg)
    return info


def ship_order(state: ShopeeState, request: ShpRequest) -> Reply:
    """Arrange shipment: READY_TO_SHIP -> PROCESSED, with no ``response`` object."""
    body = request.body if isinstance(request.body, dict) else {}
    order_sn = body.get("order_sn")
    if not isinstance(order_sn, str) or not order_sn:
        raise Reject("logistics.error_param", "Wrong parameters, detail: order_sn is required.")
    order = _order(state, request, order_sn)
    package = body.get("package_number")
    if package is not None and package != order.package_number:
        raise Reject("logistics.package_not_exist", "The package does not exist.")
    _ready(order)
    info = _shipment(order, body)
    order.status, order.updated = "PROCESSED", request.now
    order.shipped_with, order.shipped_at, order.ship_info = order.channel, request.now, info
    if order.channel == "non_integrated":
        order.tracking_number = info["tracking_number"]
    else:
        order.tracking_number = state.ids.tracking()
    return Reply(None, applied=True)


def get_tracking_number(state: ShopeeState, request: ShpRequest) -> Reply:
    """The tracking number: ``""`` until ``tracking_delay`` seconds after ``ship_order``."""
    order = _order(state, request, request.query.get("order_sn", ""))
    number = order.tracking(request.now, state.tracking_delay)
    return Reply({"tracking_number": number, "plp_number": "", "first_mile_tracking_number": ""})
