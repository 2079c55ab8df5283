"""Orders and the current fulfilment flow: reads, ``/order/fulfill/pack``, ``/order/package/rts``.

The reads are ``/orders/get``, ``/order/get`` [U] and ``/order/items/get``.

Pack and RTS answer per element: ``result.success`` is true while elements carry
their own ``item_err_code`` (``"0"`` when they worked) and ``retry``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from safe_release.testing._checks import in_range
from safe_release.testing._lazada._lzd_request import Reply
from safe_release.testing._lazada._lzd_state import ITEM_STATUSES, Package
from safe_release.testing._lazada._lzd_wire import LzdError, local_time, parse_order_time

if TYPE_CHECKING:
    from safe_release.testing._lazada._lzd_request import LzdRequest
    from safe_release.testing._lazada._lzd_state import LazadaState
    from safe_release.testing._lazada._lzd_values import LazadaOrder, LazadaOrderItem

__all__ = [
    "MAX_BATCH",
    "fulfill_pack",
    "order_get",
    "order_items_get",
    "orders_get",
    "package_rts",
]

MAX_BATCH = 20
MAX_LIMIT = 100
_PACKABLE = frozenset({"pending", "repacked"})
_DELIVERY_TYPES = frozenset({"dropship", "pickup", "send_to_warehouse"})
_NOT_ALLOWED = "700000"
_ORDER_NOT_FOUND = "700021"
_ITEM_NOT_FOUND = "700025"
_MESSAGES = {
    _NOT_ALLOWED: "PACKAGE_STATUS_NOT_ALLOW_TO_OP",
    _ORDER_NOT_FOUND: "ORDER_NOT_FOUND",
    _ITEM_NOT_FOUND: "ORDER_ITEM_NOT_FOUND",
    "700024": "GET_LOCK_FAILED",
    "600002": "package already cancelled",
}


def _isp(code: str, message: str) -> LzdError:
    return LzdError(code, message, kind="ISP")


# -- reads ---------------------------------------------------------------------------


def _time(request: LzdRequest, name: str) -> float | None:
    raw = request.params.get(name, "")
    if raw == "":
        return None
    found = parse_order_time(raw)
    if found is None:
        raise _isp("17", f"E017: Invalid Date Format ({name})")
    return found


def _order_document(state: LazadaState, order: LazadaOrder, request: LzdRequest) -> dict[str, Any]:
    return {
        "order_id": request.number(order.order_id),
        "order_number": request.number(order.order_id),
        "created_at": local_time(order.created_at, state.country),
        "updated_at": local_time(order.updated_at, state.country),
        "statuses": order.statuses,
        "price": f"{order.price:.2f}",
        "shipping_fee": f"{order.shipping_fee:.2f}",
        "voucher": "0.00",
        "voucher_platform": "0.00",
        "voucher_seller": "0.00",
        "items_count": request.number(len(order.items)),
        "payment_method": order.payment_method,
        "warehouse_code": "dropshipping",
        "customer_first_name": "Ha Hung",
        "customer_last_name": "",
        "address_shipping": {
            "first_name": "Ha Hung",
            "last_name": "",
            "phone": "6****67",
            "address1": "1 Changi Village Road",
            "city": "Singapore",
            "post_code": "500001",
            "country": "Singapore",
        },
        "gift_option": False,
        "remarks": "",
        "buyer_note": "",
        "is_cancel_pending": False,
        "promised_shipping_times": "",
    }


def _bounded(request: LzdRequest, name: str, *, default: int, high: int | None, code: str) -> int:
    raw = request.params.get(name, "")
    if raw == "":
        return default
    value = in_range(raw, 0 if name == "offset" else 1, high)
    if value is None:
        label = {"14": "E014: Invalid Offset", "19": "E019: Invalid Limit"}[code]
        raise _isp(code, label)
    return value


def orders_get(state: LazadaState, request: LzdRequest) -> Reply:
    """A page of orders filtered by creation or update time and item status."""
    created_after, update_after = _time(request, "created_after"), _time(request, "update_after")
    if created_after is None and update_after is None:
        raise LzdError(
            "MissingParameter",
            "the input parameter \u201ccreated_after\u201d or \u201cupdate_after\u201d that is "
            "mandatory for processing this request is not supplied",
        )
    created_before, update_before = (
        _time(request, "created_before"),
        _time(request, "update_before"),
    )
    status = request.params.get("status", "")
    if status and status not in ITEM_STATUSES:
        raise _isp("36", "E036: Invalid status filter")
    sort_by = request.params.get("sort_by", "created_at") or "created_at"
    if sort_by not in {"created_at", "updated_at"}:
        raise _isp("75", "E075: Invalid sort filter")
    direction = request.params.get("sort_direction", "DESC") or "DESC"
    if direction not in {"ASC", "DESC"}:
        raise _isp("74", "E074: Invalid sort direction")
    offset = _bounded(request, "offset", default=0, high=None, code="14")
    limit = _bounded(request, "limit", default=MAX_LIMIT, high=MAX_LIMIT, code="19")

    def wanted(order: LazadaOrder) -> bool:
        return (
            (created_after is None or order.created_at >= created_after)
            and (created_before is None or order.created_at < created_before)
            and (update_after is None or order.updated_at >= update_after)
            and (update_before is None or order.updated_at < update_before)
            and (not status or status in order.statuses)
        )

    found = [o for o in (state.order(i) for i in state.orders) if wanted(o)]
    key = "created_at" if sort_by == "created_at" else "updated_at"
    found.sort(key=lambda o: (getattr(o, key), o.order_id), reverse=direction == "DESC")
    page = found[offset : offset + limit]
    data = {
        "count": request.number(len(page)),
        "countTotal": request.number(len(found)),
        "orders": [_order_document(state, o, request) for o in page],
    }
    return Reply({"code": "0", "data": data})


def _order_id(state: LazadaState, request: LzdRequest) -> int:
    raw = request.required("order_id")
    order_id = int(raw) if raw.isdigit() else -1
    if order_id not in state.orders:
        raise _isp("16", f"E016: Order Id {raw} is not found")
    return order_id


def order_get(state: LazadaState, request: LzdRequest) -> Reply:
    """One order [U]."""
    order = state.order(_order_id(state, request))
    return Reply({"code": "0", "data": _order_document(state, order, request)})


def _item_document(
    state: LazadaState, item: LazadaOrderItem, request: LzdRequest
) -> dict[str, Any]:
    order = state.orders[item.order_id]
    return {
        "order_item_id": request.number(item.order_item_id),
        "order_id": request.number(item.order_id),
        "sku": item.seller_sku,
        "name": item.name,
        "item_price": f"{item.item_price:.2f}",
        "paid_price": f"{item.item_price:.2f}",
        "status": item.status,
        "package_id": item.package_id or "",
        "tracking_code": item.tracking_number or "",
        "shipment_provider": item.shipment_provider or "",
        "created_at": local_time(order.created, state.country),
        "updated_at": local_time(order.updated, state.country),
    }


def order_items_get(state: LazadaState, request: LzdRequest) -> Reply:
    """The order's items (``data`` is a list), with their statuses and packages."""
    order = state.orders[_order_id(state, request)]
    items = [_item_document(state, state.items[i], request) for i in order.items]
    return Reply({"code": "0", "data": items})


# -- writes --------------------------------------------------------------------------


def _json_param(request: LzdRequest, name: str) -> Any:
    raw = request.required(name)
    try:
        return json.loads(raw)
    except ValueError:
        raise LzdError("InvalidParameter", f"{name} is not valid JSON") from None


def _result(request: LzdRequest, data: dict[str, Any]) -> dict[str, Any]:
    success: bool | str = "true" if request.strings else True
    return {
        "code": "0",
        "result": {"success": success, "error_code": "", "error_msg": "", "data": data},
    }


def _batch_failure(request: LzdRequest, count: int) -> Reply:
    document = _result(request, {})
    document["result"].update(
        success="false" if request.strings else False,
        error_code="700022",
        error_msg=f"BATCH_SIZE_OUT_OF_LIMIT: {count} > {MAX_BATCH}",
        data=None,
    )
    return Reply(document)


def _element(code: str, retry: bool, **fields: Any) -> dict[str, Any]:  # noqa: FBT001
    return {**fields, "item_err_code": code, "msg": _MESSAGES.get(code, "error"), "retry": retry}


def _pack_check(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("pack_order_list"), list):
        raise LzdError("InvalidParameter", "packReq needs a pack_order_list array")
    if body.get("delivery_type") not in _DELIVERY_TYPES:
        raise LzdError(
            "InvalidParameter", f"delivery_type must be one of {sorted(_DELIVERY_TYPES)}"
        )
    allocate = body.get("shipping_allocate_type")
    if allocate not in {"TFS", "NTFS"}:
        raise LzdError("InvalidParameter", "shipping_allocate_type must be TFS or NTFS")
    if (allocate == "NTFS") != bool(body.get("shipment_provider_code")):
        raise LzdError(
            "InvalidParameter", "shipment_provider_code is required for NTFS and only for NTFS"
        )
    orders: list[dict[str, Any]] = body["pack_order_list"]
    for entry in orders:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("order_item_list"), list)
            and entry["order_item_list"]
        ):
            raise LzdError("InvalidParameter", "each pack_order_list entry needs order_item_list")
    return orders


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _pack_order(
    state: LazadaState, request: LzdRequest, entry: dict[str, Any], packed: list[int]
) -> dict[str, Any]:
    order_id = _as_id(entry.get("order_id"))
    order = state.orders.get(order_id) if order_id is not None else None
    results: list[dict[str, Any]] = []
    package, tracking, provider = None, "", ""
    for raw in entry["order_item_list"]:
        item_id = _as_id(raw)
        item = state.items.get(item_id) if item_id is not None else None
        fields: dict[str, Any] = {"order_item_id": raw}
        failure = request.faults.item_errors.get(str(raw))
        if order is None:
            results.append(_element(_ORDER_NOT_FOUND, False, **fields))  # noqa: FBT003
        elif item is None or item.order_id != order.order_id:
            results.append(_element(_ITEM_NOT_FOUND, False, **fields))  # noqa: FBT003
        elif failure is not None:
            results.append(_element(failure[0], failure[1], **fields))
        elif item.status not in _PACKABLE:
            results.append(_element(_NOT_ALLOWED, False, **fields))  # noqa: FBT003
        else:
            if package is None:
                package = state.ids.package()
                tracking, provider = state.ids.tracking(), state.provider()
                state.packages[package] = Package(package, order.order_id, [])
            state.packages[package].items.append(item.order_item_id)
            state.set_item(
                item,
                request.now,
                status="packed",
                package_id=package,
                tracking_number=tracking,
                shipment_provider=provider,
            )
            packed.append(item.order_item_id)
            results.append(
                {
                    **_element("0", False, **fields),  # noqa: FBT003
                    "msg": "success",
                    "package_id": package,
                    "tracking_number": tracking,
                    "shipment_provider": provider,
                }
            )
    return {"order_id": entry.get("order_id"), "order_item_list": results}


def fulfill_pack(state: LazadaState, request: LzdRequest) -> Reply:
    """Pack ``pending``/``repacked`` items into a package per order (at most 20 orders)."""
    body = _json_param(request, "packReq")
    orders = _pack_check(body)
    if len(orders) > MAX_BATCH:
        return _batch_failure(request, len(orders))
    packed: list[int] = []
    answers = [_pack_order(state, request, entry, packed) for entry in orders]
    document = _result(request, {"pack_order_list": answers})
    return Reply(document, applied=bool(packed), logged={"packReq": body, "packed": packed})


def _rts_one(
    state: LazadaState, request: LzdRequest, entry: Any, shipped: list[str]
) -> dict[str, Any]:
    package_id = entry.get("package_id") if isinstance(entry, dict) else None
    fields = {"package_id": package_id}
    package = state.packages.get(package_id) if isinstance(package_id, str) else None
    failure = request.faults.item_errors.get(str(package_id))
    if package is None:
        return _element(_NOT_ALLOWED, False, **fields)  # noqa: FBT003
    if failure is not None:
        return _element(failure[0], failure[1], **fields)
    if package.status == "canceled":
        return _element("600002", False, **fields)  # noqa: FBT003
    if package.status != "packed":
        return _element(_NOT_ALLOWED, False, **fields)  # noqa: FBT003
    package.status = "ready_to_ship"
    for item_id in package.items:
        state.set_item(state.items[item_id], request.now, status="ready_to_ship")
    shipped.append(package.package_id)
    return {**_element("0", False, **fields), "msg": "success"}  # noqa: FBT003


def package_rts(state: LazadaState, request: LzdRequest) -> Reply:
    """Mark ``packed`` packages ready to ship (at most 20 packages)."""
    body = _json_param(request, "readyToShipReq")
    if not isinstance(body, dict) or not isinstance(body.get("packages"), list):
        raise LzdError("InvalidParameter", "readyToShipReq needs a packages array")
    if len(body["packages"]) > MAX_BATCH:
        return _batch_failure(request, len(body["packages"]))
    shipped: list[str] = []
    answers = [_rts_one(state, request, entry, shipped) for entry in body["packages"]]
    document = _result(request, {"packages": answers})
    return Reply(
        document, applied=bool(shipped), logged={"readyToShipReq": body, "shipped": shipped}
    )
