"""Price and Inventory APIs: updatePrice, getInventory, updateInventory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safe_release.testing._walmart._wm_request import Reply, WmRequest, invalid_content, not_found
from safe_release.testing._walmart._wm_state import price_of, quantity_of
from safe_release.testing._walmart._wm_wire import FEED_NS, INVENTORY, PRICE, Reject

if TYPE_CHECKING:
    from safe_release.testing._walmart._wm_state import WalmartState
    from safe_release.testing._walmart._wm_values import WalmartItem

__all__ = ["get_inventory", "update_inventory", "update_price"]

PRICE_MESSAGE = (
    "Thank you. Your price has been updated. Please allow up to five minutes for this "
    "change to be reflected on the site."
)


def update_price(state: WalmartState, request: WmRequest) -> Reply:
    """PUT /v3/price: one item's BASE price (amounts are JSON numbers)."""
    body = request.body
    if not isinstance(body, dict) or not isinstance(body.get("sku"), str) or not body["sku"]:
        raise invalid_content(PRICE, "The body needs a sku string.", field="sku")
    try:
        price, currency = price_of(body.get("pricing"))
    except ValueError as problem:
        raise invalid_content(PRICE, str(problem), field="pricing") from None
    sku = body["sku"]
    if (request.seller_id, sku) not in state.items:
        raise not_found(PRICE, f"SKU {sku} was not found.")
    state.set_price(request.seller_id, sku, price, currency, request.now)
    answer = {"ItemPriceResponse": {"mart": "WALMART_US", "sku": sku, "message": PRICE_MESSAGE}}
    return Reply(200, answer, "ItemPriceResponse", FEED_NS, applied=True)


def _sku(request: WmRequest) -> str:
    sku = request.query.get("sku", "")
    if not sku:
        raise Reject(400, "MISSING_REQUEST_PARAM" + INVENTORY, "sku is required.", field="sku")
    return sku


def _document(item: WalmartItem) -> dict[str, Any]:
    return {"sku": item.sku, "quantity": {"unit": "EACH", "amount": item.quantity}}


def _item(state: WalmartState, request: WmRequest, sku: str) -> WalmartItem:
    found = state.items.get((request.seller_id, sku))
    if found is None:
        raise not_found(INVENTORY, f"SKU {sku} was not found.")
    return found


def get_inventory(state: WalmartState, request: WmRequest) -> Reply:
    """GET /v3/inventory?sku=: the item's quantity."""
    item = _item(state, request, _sku(request))
    return Reply(200, _document(item), "inventory", FEED_NS)


def update_inventory(state: WalmartState, request: WmRequest) -> Reply:
    """PUT /v3/inventory?sku=: set the item's quantity; the answer echoes the body."""
    sku = _sku(request)
    body = request.body
    if not isinstance(body, dict) or body.get("sku") != sku:
        raise invalid_content(INVENTORY, "The body's sku must be the sku parameter.", field="sku")
    try:
        quantity = quantity_of(body.get("quantity"))
    except ValueError as problem:
        raise invalid_content(INVENTORY, str(problem), field="quantity") from None
    _item(state, request, sku)
    state.set_quantity(request.seller_id, sku, quantity, request.now)
    item = state.items[request.seller_id, sku]
    return Reply(200, _document(item), "inventory", FEED_NS, applied=True)
