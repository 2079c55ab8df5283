"""Items, Price and Inventory APIs: getItem, updatePrice, getInventory, updateInventory.

A price written by ``PUT /v3/price`` (or a price feed) is what ``getItem`` reads
at once. Walmart says a price change may take up to five minutes to show on the
site (WIRE.md 5.1); the fake models no such lag.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from safe_release.testing._walmart._wm_request import Reply, WmRequest, invalid_content, not_found
from safe_release.testing._walmart._wm_state import price_of, quantity_of
from safe_release.testing._walmart._wm_wire import FEED_NS, INVENTORY, ITEM, PRICE, Reject

if TYPE_CHECKING:
    from safe_release.testing._walmart._wm_state import WalmartState
    from safe_release.testing._walmart._wm_values import WalmartItem

__all__ = ["get_inventory", "get_item", "update_inventory", "update_price"]

PRICE_MESSAGE = (
    "Thank you. Your price has been updated. Please allow up to five minutes for this "
    "change to be reflected on the site."
)


def get_item(state: WalmartState, request: WmRequest) -> Reply:
    """GET /v3/items/{sku}: one item, its price a JSON number.

    The path id is the SKU; ``productIdType=SKU`` may say so. Walmart also looks
    items up by GTIN, UPC or item id: the fake does not [U], and answers 400.
    The XML form is ``ItemResponses`` in ``http://walmart.com/``: there is no XSD
    for it in ../shared, so it is kept to the JSON's members.
    """
    kind = request.query.get("productIdType", "SKU")
    if kind != "SKU":
        msg = f"productIdType {kind!r} is not served by the fake: look items up by SKU."
        raise Reject(400, "INVALID_REQUEST_PARAM" + ITEM, msg, field="productIdType")
    sku = request.params["sku"]
    item = state.items.get((request.seller_id, sku))
    if item is None:
        raise not_found(ITEM, f"Item with SKU {sku} was not found.")
    return Reply(
        200, {"ItemResponse": [_item_document(item)], "totalItems": 1}, "ItemResponses", FEED_NS
    )


def _item_document(item: WalmartItem) -> dict[str, Any]:
    upc = _upc(item.seller_id, item.sku)
    return {
        "mart": "WALMART_US",
        "sku": item.sku,
        "wpid": item.wpid,
        "upc": upc,
        "gtin": "00" + upc,
        "productName": item.product_name,
        "shelf": '["Fake products"]',
        "productType": "Fake Product",
        "price": {"currency": item.currency, "amount": item.price},
        "publishedStatus": "PUBLISHED",
        "lifecycleStatus": "ACTIVE",
    }


def _upc(seller_id: str, sku: str) -> str:
    """A UPC-A for the item, the same every run: 11 digits from a hash, then the check digit."""
    digest = hashlib.sha256(f"{seller_id}\x00{sku}".encode()).hexdigest()
    body = str(int(digest, 16))[:11]
    odd = sum(int(d) for d in body[0::2])
    even = sum(int(d) for d in body[1::2])
    return body + str((10 - (odd * 3 + even) % 10) % 10)


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
