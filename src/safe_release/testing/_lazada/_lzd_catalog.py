"""``/product/price_quantity/update`` (an XML payload) and ``/product/item/get`` [U].

The update is atomic in the fake: every ``<Sku>`` is checked before any is
applied, and one failure fails the call (Lazada documents no per-SKU results)
[U]. Elements left out leave their value unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from safe_release.testing._lazada._lzd_request import Reply
from safe_release.testing._lazada._lzd_wire import LzdError, missing

if TYPE_CHECKING:
    from safe_release.testing._lazada._lzd_request import LzdRequest
    from safe_release.testing._lazada._lzd_state import LazadaState
    from safe_release.testing._lazada._lzd_values import LazadaSku

__all__ = ["MAX_SKUS", "item_get", "price_quantity_update"]

MAX_SKUS = 50
_CENTS = 2
_CAMPAIGN_LOCK = "THD_IC_ERR_F_IC_ABILITY_PG_004"


def _isp(code: str, message: str) -> LzdError:
    return LzdError(code, message, kind="ISP")


def _format_error(detail: str) -> LzdError:
    return _isp("5", f"E005: Invalid Request Format ({detail})")


def _skus(payload: str) -> list[ET.Element]:
    text = payload.strip()
    if text[:1] in {"{", "["}:
        raise _isp("30", "E030: Empty Request")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise _format_error("DTDs are not accepted")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD can reach here (checked above)
    except ET.ParseError:
        raise _format_error("the payload is not well-formed XML") from None
    if root.tag != "Request":
        raise _format_error("the root element must be <Request>")
    skus = root.findall("./Product/Skus/Sku")
    if not skus:
        raise _isp("30", "E030: Empty Request")
    return skus


def _amount(element: ET.Element, name: str, seller_sku: str) -> Decimal | None:
    raw = element.findtext(name)
    if raw is None:
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        detail = f"{name} of {seller_sku} is not an amount: {raw!r}"
        raise _format_error(detail)
    if value == 0:
        raise _isp("4118", f"BIZ_CHECK_PRICE_ZERO: {name} of {seller_sku} is zero")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > _CENTS:
        raise _isp("4104", f"BIZ_CHECK_PRICE_PRECISION_INVALID: {name} of {seller_sku}")
    return value


def _count(raw: str | None, seller_sku: str) -> int | None:
    if raw is None:
        return None
    text = raw.strip()
    if not text.isdigit():
        detail = f"Quantity of {seller_sku} is not a whole number: {raw!r}"
        raise _format_error(detail)
    return int(text)


def _quantity(element: ET.Element, seller_sku: str) -> int | None:
    warehouses = element.findall("./MultiWarehouseInventories/MultiWarehouseInventory")
    if warehouses:
        counts = [_count(w.findtext("Quantity"), seller_sku) or 0 for w in warehouses]
        return sum(counts)
    return _count(element.findtext("Quantity"), seller_sku)


def _change(
    state: LazadaState, element: ET.Element, locked: set[str]
) -> tuple[LazadaSku, dict[str, Any]]:
    seller_sku = (element.findtext("SellerSku") or "").strip() or None
    item_id = (element.findtext("ItemId") or "").strip() or None
    sku_id = (element.findtext("SkuId") or "").strip() or None
    if seller_sku is None and not (item_id and sku_id):
        raise _format_error("a <Sku> needs <SellerSku> or <ItemId> and <SkuId>")
    sku = state.find_sku(seller_sku, item_id, sku_id)
    name = seller_sku or f"{item_id}/{sku_id}"
    if sku is None:
        raise _isp("501", f"E501: Update product failed: no SKU {name}")
    if sku.seller_sku in locked:
        raise _isp(
            "501",
            f"E501: Update product failed: {_CAMPAIGN_LOCK} {sku.seller_sku} is locked by a "
            "campaign",
        )
    price = _amount(element, "Price", sku.seller_sku)
    sale = _amount(element, "SalePrice", sku.seller_sku)
    quantity = _quantity(element, sku.seller_sku)
    if sale is not None and sale > (price if price is not None else sku.price):
        raise _isp("4119", f"the sale price of {sku.seller_sku} is above its price")
    changes: dict[str, Any] = {}
    if price is not None:
        changes["price"] = price
    if sale is not None:
        changes["sale_price"] = sale
    if quantity is not None:
        changes["quantity"] = quantity
    return sku, changes


def price_quantity_update(state: LazadaState, request: LzdRequest) -> Reply:
    """Set price, sale price and quantity of up to 50 SKUs; ``data`` is ``{}``."""
    payload = request.params.get("payload", "")
    if not payload.strip():
        raise missing("payload")
    elements = _skus(payload)
    if len(elements) > MAX_SKUS:
        raise _isp("204", f"E204: Too many SKU in one request (at most {MAX_SKUS})")
    planned: list[tuple[LazadaSku, dict[str, Any]]] = []
    for element in elements:
        sku, changes = _change(state, element, request.faults.campaign_locked)
        if any(sku.seller_sku == done.seller_sku for done, _ in planned):
            raise _isp("4105", f"BIZ_CHECK_SELLER_SKU_DUPLICATE: {sku.seller_sku}")
        planned.append((sku, changes))
    logged = []
    for sku, changes in planned:
        state.skus[sku.seller_sku] = replace(state.skus[sku.seller_sku], **changes)
        logged.append({"SellerSku": sku.seller_sku, **{k: str(v) for k, v in changes.items()}})
    return Reply({"code": "0", "data": {}}, applied=True, logged={"payload": logged})


def _sku_document(sku: LazadaSku, request: LzdRequest) -> dict[str, Any]:
    document: dict[str, Any] = {
        "SellerSku": sku.seller_sku,
        "SkuId": request.number(sku.sku_id),
        "price": f"{sku.price:.2f}",
        "quantity": sku.quantity,
    }
    if sku.sale_price is not None:
        document["special_price"] = f"{sku.sale_price:.2f}"
    return document


def item_get(state: LazadaState, request: LzdRequest) -> Reply:
    """``data.item_id`` and ``data.skus[]`` of the item ``item_id`` or ``seller_sku`` names [U].

    ``special_price`` is present only on SKUs with a sale price.
    """
    item_id, seller_sku = request.params.get("item_id"), request.params.get("seller_sku")
    if not item_id and not seller_sku:
        raise missing("item_id")
    if item_id:
        skus = [s for s in state.skus.values() if str(s.item_id) == item_id]
    else:
        found = state.skus.get(seller_sku or "")
        skus = (
            [] if found is None else [s for s in state.skus.values() if s.item_id == found.item_id]
        )
    if not skus:
        raise _isp("208", f"E208: Item not found ({item_id or seller_sku})")
    data = {
        "item_id": request.number(skus[0].item_id),
        "skus": [_sku_document(s, request) for s in skus],
    }
    return Reply({"code": "0", "data": data})
