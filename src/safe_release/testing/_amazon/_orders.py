"""Orders API v0: getOrders, getOrderItems, confirmShipment."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from safe_release.testing._amazon import _bodies as b
from safe_release.testing._amazon._request import Reply, SpRequest, csv, fields, integer, required
from safe_release.testing._amazon._values import AmazonOrder, AmazonShipment

if TYPE_CHECKING:
    from safe_release.testing._amazon._state import AmazonState

__all__ = ["confirm_shipment", "get_order_items", "get_orders"]

_MAX_MARKETPLACES = 50


def _money(currency: str, amount: object) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": str(amount)}


def _order_json(order: AmazonOrder) -> dict[str, Any]:
    shipped = sum(item.quantity_shipped for item in order.items)
    ordered = sum(item.quantity for item in order.items)
    return {
        "AmazonOrderId": order.order_id,
        "PurchaseDate": b.iso(order.purchase_date),
        "LastUpdateDate": b.iso(order.last_update),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.fulfillment_channel,
        "SalesChannel": "Amazon.com",
        "MarketplaceId": order.marketplace_id,
        "OrderTotal": _money(order.currency, order.total),
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": ordered - shipped,
        "OrderType": "StandardOrder",
        "IsBusinessOrder": False,
        "IsPrime": False,
        "IsPremiumOrder": False,
    }


def _window(request: SpRequest) -> tuple[bool, float, float]:
    """(by creation date?, low, high) from CreatedAfter/Before or LastUpdatedAfter/Before."""
    created = request.query.get("CreatedAfter")
    updated = request.query.get("LastUpdatedAfter")
    if not created and not updated:
        raise b.invalid_input("Either CreatedAfter or LastUpdatedAfter must be specified.")
    if created and (updated or request.query.get("LastUpdatedBefore")):
        raise b.invalid_input(
            "LastUpdatedAfter and LastUpdatedBefore cannot be set when CreatedAfter is set."
        )
    after, before = (
        ("CreatedAfter", "CreatedBefore") if created else ("LastUpdatedAfter", "LastUpdatedBefore")
    )
    low = b.from_iso(request.query[after], name=after)
    if low > request.now:
        msg = f"{after} must not be in the future."
        raise b.invalid_input(msg)
    raw_high = request.query.get(before)
    high = b.from_iso(raw_high, name=before) if raw_high else float("inf")
    return bool(created), low, high


def _matching(state: AmazonState, request: SpRequest, marketplaces: list[str]) -> list[str]:
    by_created, low, high = _window(request)
    statuses = set(csv(request.query.get("OrderStatuses")))
    chosen = [
        order
        for order in state.orders.values()
        if order.seller_id == request.seller_id
        and order.marketplace_id in marketplaces
        and low <= (order.purchase_date if by_created else order.last_update) < high
        and (not statuses or order.status in statuses)
    ]
    chosen.sort(key=lambda order: (order.purchase_date, order.order_id))
    return [order.order_id for order in chosen]


def get_orders(state: AmazonState, request: SpRequest) -> Reply:
    """GET /orders/v0/orders: filtered, oldest first, paged by NextToken."""
    marketplaces = csv(required(request, "MarketplaceIds"))
    if len(marketplaces) > _MAX_MARKETPLACES:
        raise b.invalid_input("MarketplaceIds accepts at most 50 marketplaces.")
    token = request.query.get("NextToken")
    if token:
        if token not in state.pages:
            raise b.invalid_input("Invalid NextToken.")
        ids, next_token = state.resume(token)
    else:
        per_page = integer(request, "MaxResultsPerPage", default=100, low=1, high=100)
        ids, next_token = state.paginate(
            _matching(state, request, marketplaces), per_page=per_page
        )
    payload: dict[str, Any] = {"Orders": [_order_json(state.orders[i]) for i in ids]}
    if next_token:
        payload["NextToken"] = next_token
    if not token and request.query.get("CreatedAfter"):
        payload["CreatedBefore"] = b.iso(request.now)
    return Reply(200, {"payload": payload})


def _order(state: AmazonState, request: SpRequest) -> AmazonOrder:
    order_id = request.params["orderId"]
    order = state.orders.get(order_id)
    if order is None or order.seller_id != request.seller_id:
        msg = f"Order {order_id} was not found."
        raise b.not_found(msg)
    return order


def get_order_items(state: AmazonState, request: SpRequest) -> Reply:
    """GET /orders/v0/orders/{orderId}/orderItems."""
    order = _order(state, request)
    items = [
        {
            "ASIN": item.asin,
            "SellerSKU": item.sku,
            "OrderItemId": item.order_item_id,
            "Title": item.title,
            "QuantityOrdered": item.quantity,
            "QuantityShipped": item.quantity_shipped,
            "ItemPrice": _money(order.currency, item.line_price),
        }
        for item in order.items
    ]
    return Reply(200, {"payload": {"AmazonOrderId": order.order_id, "OrderItems": items}})


def _package(body: object) -> dict[str, Any]:
    document = fields(body, "body", marketplaceId=str, packageDetail=dict)
    package = fields(
        document["packageDetail"],
        "packageDetail",
        packageReferenceId=str,
        carrierCode=str,
        trackingNumber=str,
        shipDate=str,
        orderItems=list,
    )
    b.from_iso(package["shipDate"], name="packageDetail.shipDate")
    for index, item in enumerate(package["orderItems"]):
        fields(item, f"packageDetail.orderItems[{index}]", orderItemId=str, quantity=int)
    return package


def _shipped_quantities(state: AmazonState, order_id: str) -> dict[str, int]:
    """Units shipped per item: the latest confirmation of each package counts."""
    latest: dict[str, AmazonShipment] = {}
    for shipment in state.shipments:
        if shipment.order_id == order_id:
            latest[shipment.package_reference_id] = shipment
    shipped: dict[str, int] = {}
    for shipment in latest.values():
        for item_id, quantity in shipment.items:
            shipped[item_id] = shipped.get(item_id, 0) + quantity
    return shipped


def confirm_shipment(state: AmazonState, request: SpRequest) -> Reply:
    """POST .../shipmentConfirmation: records tracking; a replay overwrites it (204)."""
    order = _order(state, request)
    package = _package(request.body)
    known = {item.order_item_id: item for item in order.items}
    lines = tuple((str(i["orderItemId"]), int(i["quantity"])) for i in package["orderItems"])
    for item_id, quantity in lines:
        if item_id not in known:
            msg = f"Order item {item_id} is not part of order {order.order_id}."
            raise b.invalid_input(msg)
        if not 1 <= quantity <= known[item_id].quantity:
            msg = f"Quantity {quantity} is not valid for order item {item_id}."
            raise b.invalid_input(msg)
    if order.status in {"Canceled", "Pending", "PendingAvailability"}:
        msg = f"Order {order.order_id} is {order.status} and cannot be shipped."
        raise b.invalid_input(msg)
    state.shipments.append(
        AmazonShipment(
            order_id=order.order_id,
            tracking_number=package["trackingNumber"],
            carrier_code=package["carrierCode"],
            package_reference_id=package["packageReferenceId"],
            ship_date=package["shipDate"],
            items=lines,
            at=request.now,
        )
    )
    shipped = _shipped_quantities(state, order.order_id)
    items = tuple(
        dataclasses.replace(
            item, quantity_shipped=min(item.quantity, shipped.get(item.order_item_id, 0))
        )
        for item in order.items
    )
    complete = all(item.quantity_shipped == item.quantity for item in items)
    state.orders[order.order_id] = dataclasses.replace(
        order,
        items=items,
        status="Shipped" if complete else "PartiallyShipped",
        last_update=request.now,
        tracking_number=package["trackingNumber"],
        carrier_code=package["carrierCode"],
    )
    return Reply(204, None, applied=True)
