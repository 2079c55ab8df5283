"""The product API: ``update_price``, ``update_stock`` and the reads of old values.

WIRE.md 6.1 and 6.2: one item per call, 1-50 models, a success or failure entry
per model with ``error`` left ``""``; prices take two decimals in SG, MY, BR, MX,
PL, ES and AR and whole numbers elsewhere. ``get_item_base_info`` and
``get_model_list`` follow the issue's spec D, not WIRE.md [U].
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from safe_release.testing._shopee._shp_request import (
    Reply,
    ShpRequest,
    body_int,
    query_int,
    query_list,
)
from safe_release.testing._shopee._shp_state import REGIONS
from safe_release.testing._shopee._shp_wire import Reject

if TYPE_CHECKING:
    from safe_release.testing._shopee._shp_state import Item, ShopeeState

__all__ = ["MAX_MODELS", "get_item_base_info", "get_model_list", "update_price", "update_stock"]

MAX_MODELS = 50
MAX_PRICE = Decimal(100_000_000)
_PARAM = "product.error_param"
_CENT = Decimal("0.01")


def _item(state: ShopeeState, request: ShpRequest) -> Item:
    item_id = body_int(request.body, "item_id", error=_PARAM)
    item = state.items.get((request.shop_id, item_id))
    if item is None:
        raise Reject("error_item_not_found", f"Item {item_id} is not found.")
    if item.status == "DELETED":
        raise Reject("error_item_not_found", f"Item {item_id} is deleted.")
    return item


def _entries(body: Any, name: str) -> list[Any]:
    entries = body.get(name) if isinstance(body, dict) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_MODELS:
        msg = f"invalid field {name}: must hold 1 to {MAX_MODELS} entries"
        raise Reject(_PARAM, msg)
    return entries


def _model_ids(item: Item, entries: list[Any]) -> list[int]:
    ids = [body_int(entry, "model_id", error=_PARAM) for entry in entries]
    if len(set(ids)) != len(ids):
        raise Reject("error_param", "Repeat model_id.")
    for model_id in ids:
        if item.has_model and model_id == 0:
            msg = "The item has models: set the price of each model."
            raise Reject("error_edit_item_price_for_item_has_model", msg)
        if model_id not in item.models:
            raise Reject("error_param", "Wrong model_id.")
    return ids


def _price(entry: Any) -> Decimal:
    value = entry.get("original_price") if isinstance(entry, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise Reject(_PARAM, "invalid field OriginalPrice: value must  Not Null")
    return Decimal(value)


def _price_problem(price: Decimal, region: str) -> str | None:
    if price <= 0:
        return "error_price_exceed_min_limitt"
    if price > MAX_PRICE:
        return "error_price_exceed_max_limitt"
    decimals = REGIONS[region][1]
    if decimals and price != price.quantize(_CENT):
        return "The price can have at most 2 decimal places in this region."
    if not decimals and price != price.to_integral_value():
        return "The price must be a whole number in this region."
    return None


def update_price(state: ShopeeState, request: ShpRequest) -> Reply:
    """Set each model's original price; failures per model in ``failure_list``."""
    item = _item(state, request)
    entries = _entries(request.body, "price_list")
    ids = _model_ids(item, entries)
    prices = [_price(entry) for entry in entries]
    success, failure = [], []
    for model_id, price in zip(ids, prices, strict=True):
        reason = state.failing.get((item.item_id, model_id)) or _price_problem(price, item.region)
        if reason is not None:
            failure.append({"model_id": model_id, "failed_reason": reason})
            continue
        item.models[model_id].price = price
        success.append({"model_id": model_id, "original_price": price})
    response = {"success_list": success, "failure_list": failure}
    return Reply(response, applied=bool(success), warning="")


def _stocks(entry: Any) -> list[dict[str, Any]]:
    rows = entry.get("seller_stock") if isinstance(entry, dict) else None
    if not isinstance(rows, list) or not rows:
        raise Reject(_PARAM, "invalid field SellerStock: value must  Not Null")
    parsed = []
    for row in rows:
        stock = row.get("stock") if isinstance(row, dict) else None
        if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
            raise Reject(_PARAM, "invalid field Stock: must be a whole number >= 0")
        location = row.get("location_id")
        if location is not None and not isinstance(location, str):
            raise Reject(_PARAM, "invalid field LocationId: must be a string")
        parsed.append({"location_id": location, "stock": stock})
    return parsed


def update_stock(state: ShopeeState, request: ShpRequest) -> Reply:
    """Set each model's seller stock (the sum over locations); failures per model."""
    item = _item(state, request)
    entries = _entries(request.body, "stock_list")
    ids = _model_ids(item, entries)
    rows = [_stocks(entry) for entry in entries]
    success: list[dict[str, Any]] = []
    failure = []
    for model_id, stocks in zip(ids, rows, strict=True):
        reason = state.failing.get((item.item_id, model_id))
        if reason is not None:
            failure.append({"model_id": model_id, "failed_reason": reason})
            continue
        item.models[model_id].stock = sum(row["stock"] for row in stocks)
        for row in stocks:
            entry: dict[str, Any] = {"model_id": model_id, "stock": row["stock"]}
            if row["location_id"] is not None:
                entry["location_id"] = row["location_id"]
            success.append(entry)
    response = {"success_list": success, "failure_list": failure}
    return Reply(response, applied=bool(success), warning="")


def _price_info(item: Item, model_id: int) -> list[dict[str, Any]]:
    price = item.models[model_id].price
    currency = REGIONS[item.region][0]
    return [{"currency": currency, "original_price": price, "current_price": price}]


def _stock_info(item: Item, model_id: int) -> dict[str, Any]:
    stock = item.models[model_id].stock
    return {
        "summary_info": {"total_available_stock": stock},
        "seller_stock": [{"stock": stock}],
    }


def get_item_base_info(state: ShopeeState, request: ShpRequest) -> Reply:
    """The items' status and, for items without models, price and stock."""
    raw = query_list(request, "item_id_list", most=MAX_MODELS, error=_PARAM)
    if not all(value.isdigit() for value in raw):
        raise Reject(_PARAM, "Wrong parameters, detail: item_id_list must hold item ids.")
    found, missing = [], []
    for item_id in (int(value) for value in raw):
        item = state.items.get((request.shop_id, item_id))
        if item is None:
            missing.append(str(item_id))
            continue
        entry: dict[str, Any] = {
            "item_id": item.item_id,
            "item_status": item.status,
            "has_model": item.has_model,
        }
        if not item.has_model:
            entry["price_info"] = _price_info(item, 0)
            entry["stock_info_v2"] = _stock_info(item, 0)
        found.append(entry)
    warning = f"item_id not found: {','.join(missing)}" if missing else None
    return Reply({"item_list": found}, warning=warning)


def get_model_list(state: ShopeeState, request: ShpRequest) -> Reply:
    """The item's models with price and stock (an empty list for an item without models)."""
    item_id = query_int(request, "item_id", low=1, error=_PARAM)
    item = state.items.get((request.shop_id, item_id))
    if item is None:
        raise Reject("error_item_not_found", f"Item {item_id} is not found.")
    models = [
        {
            "model_id": model_id,
            "price_info": _price_info(item, model_id),
            "stock_info_v2": _stock_info(item, model_id),
        }
        for model_id in item.models
        if item.has_model
    ]
    return Reply({"tier_variation": [], "model": models})
