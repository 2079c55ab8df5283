"""Sell Inventory API v1: getOffers, getOffer, bulkUpdatePriceQuantity."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from safe_release.testing._ebay import _ebay_errors as e
from safe_release.testing._ebay._ebay_request import EbayRequest, Reply, whole
from safe_release.testing._ebay._ebay_state import MARKETPLACE, REVISIONS_PER_DAY

if TYPE_CHECKING:
    from safe_release.testing._ebay._ebay_state import EbayState, Offer

__all__ = ["bulk_update_price_quantity", "get_offer", "get_offers"]

MAX_REQUESTS = 25
MAX_OFFER_PAGE = 200  # [U] the contract names no maximum for getOffers' limit
REVISION_LIMIT_ID = 25767  # [U] eBay documents no code for the 251st revision
_OFFER_PATH = "/sell/inventory/v1/offer"


def offer_body(offer: Offer) -> dict[str, Any]:
    """An ``EbayOfferDetailsWithAll``, the fields the fake keeps."""
    body: dict[str, Any] = {
        "offerId": offer.offer_id,
        "sku": offer.sku,
        "marketplaceId": MARKETPLACE,
        "format": offer.format,
        "availableQuantity": offer.quantity,
        "pricingSummary": {"price": e.amount(offer.price, offer.currency)},
        "status": offer.status,
    }
    if offer.listing_id is not None:
        body["listing"] = {
            "listingId": offer.listing_id,
            "listingStatus": "ACTIVE",
            "soldQuantity": 0,
            "listingOnHold": False,
        }
    return body


def _not_found() -> e.Reject:
    return e.Reject(404, e.error(25713, e.INVENTORY, "This Offer is not available."))


def get_offers(state: EbayState, request: EbayRequest) -> Reply:
    """``GET /offer?sku=``: one page; ``offset`` is a page index."""
    sku = request.query.get("sku", "")
    if not sku:
        raise e.invalid_value("sku")
    pagination = e.bad(25706, e.INVENTORY, "You have provided invalid pagination values.")
    limit = whole(
        request.query.get("limit"), default=100, low=1, high=MAX_OFFER_PAGE, reject=pagination
    )
    page = whole(request.query.get("offset"), default=0, low=0, high=None, reject=pagination)
    wanted_format = request.query.get("format")
    found = [
        o
        for o in state.offers.values()
        if o.sku == sku
        and request.query.get("marketplace_id", MARKETPLACE) == MARKETPLACE
        and wanted_format in {None, o.format}
    ]
    if not found:
        raise _not_found()
    chunk = found[page * limit : (page + 1) * limit]

    def href(at: int) -> str:
        return request.url(
            f"{_OFFER_PATH}?{urlencode({'sku': sku, 'limit': limit, 'offset': at})}"
        )

    body: dict[str, Any] = {
        "href": href(page),
        "limit": limit,
        "size": len(chunk),
        "total": len(found),
    }
    if (page + 1) * limit < len(found):
        body["next"] = href(page + 1)
    if page > 0:
        body["prev"] = href(page - 1)
    body["offers"] = [offer_body(o) for o in chunk]
    return Reply(200, body)


def get_offer(state: EbayState, request: EbayRequest) -> Reply:
    """``GET /offer/{offerId}``."""
    offer = state.offers.get(request.params["offerId"])
    if offer is None:
        raise _not_found()
    return Reply(200, offer_body(offer))


def _item_error(status: int, error_id: int, message: str, **params: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "errors": [e.error(error_id, e.INVENTORY, message, parameters=params)],
    }


def _invalid(field: str) -> dict[str, Any]:
    return _item_error(400, 25709, f"Invalid value for {field}.", fieldName=field)


class _Change:
    """One offer's validated change, applied only when the whole item is valid."""

    def __init__(self, offer: Offer, price: Decimal | None, quantity: int | None) -> None:
        self.offer, self.price, self.quantity = offer, price, quantity


def _price(raw: object, offer: Offer) -> Decimal | dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), str):
        return _invalid("price")  # a number instead of a string is refused too
    try:
        value = Decimal(raw["value"])
    except InvalidOperation:
        return _invalid("price.value")
    if not value.is_finite() or value <= 0:
        return _invalid("price.value")
    if raw.get("currency") != offer.currency:
        return _invalid("price.currency")
    return value


def _offer_change(
    state: EbayState, raw: object, sku: object, now: float
) -> _Change | dict[str, Any]:
    """One ``offers[]`` entry checked: a change, or an item result with errors."""
    if not isinstance(raw, dict) or not isinstance(raw.get("offerId"), str):
        return _invalid("offerId")
    offer = state.offers.get(raw["offerId"])
    if offer is None or (sku is not None and offer.sku != sku) or offer.status != "PUBLISHED":
        return _invalid("offerId")
    if "price" not in raw and "availableQuantity" not in raw:
        return _item_error(
            400, 25002, "A user error has occurred. Send price or availableQuantity."
        )
    price = None if "price" not in raw else _price(raw["price"], offer)
    quantity = raw.get("availableQuantity")
    if quantity is not None and (
        isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
    ):
        price = _invalid("availableQuantity")
    if isinstance(price, dict):
        return price
    if offer.revisions_today(now) >= REVISIONS_PER_DAY:
        return _item_error(
            400,
            REVISION_LIMIT_ID,
            "The revision limit of this listing for the day has been reached.",
            offerId=offer.offer_id,
        )
    return _Change(offer, price, quantity)


def _item(state: EbayState, raw: object, now: float) -> tuple[list[dict[str, Any]], bool]:
    """One ``requests[]`` entry: its results (one per offer), and whether it changed anything."""
    if not isinstance(raw, dict):
        return [_invalid("requests")], False
    sku, offers = raw.get("sku"), raw.get("offers", [])
    ship = raw.get("shipToLocationAvailability")
    problem = _item_problem(sku, offers, ship)
    if problem is not None:
        return [{**problem, **({"sku": sku} if isinstance(sku, str) else {})}], False
    ids = [o.get("offerId") if isinstance(o, dict) else None for o in offers]
    results: list[dict[str, Any]] = []
    changes: list[_Change] = []
    for offer_id, entry in zip(ids, offers, strict=True):
        if isinstance(offer_id, str) and ids.count(offer_id) > 1:
            checked: _Change | dict[str, Any] = _item_error(
                400, 25709, "Duplicate offerId in the offers array.", offerId=offer_id
            )
        else:
            checked = _offer_change(state, entry, sku, now)
        known = state.offers.get(offer_id) if isinstance(offer_id, str) else None
        where: dict[str, Any] = {"sku": sku or (known.sku if known else None)}
        if isinstance(offer_id, str):
            where["offerId"] = offer_id
        if isinstance(checked, _Change):
            changes.append(checked)
            checked = {"statusCode": 200}
        results.append({**checked, **{k: v for k, v in where.items() if v is not None}})
    for change in changes:
        change.offer.revisions_today(now)
        change.offer.revisions += 1
        change.offer.price = change.offer.price if change.price is None else change.price
        change.offer.quantity = (
            change.offer.quantity if change.quantity is None else change.quantity
        )
    if isinstance(ship, dict) and isinstance(sku, str):
        state.quantities[sku] = ship["quantity"]
        if not offers:
            results.append({"statusCode": 200, "sku": sku})
    return results, bool(changes) or isinstance(ship, dict)


def _item_problem(sku: object, offers: object, ship: object) -> dict[str, Any] | None:
    """An error for the whole item, or ``None``."""
    if sku is not None and (not isinstance(sku, str) or not 0 < len(sku) <= 50):  # noqa: PLR2004
        return _invalid("sku")
    if not isinstance(offers, list):
        return _invalid("offers")
    if ship is not None:
        if sku is None:
            return _invalid("sku")
        quantity = ship.get("quantity") if isinstance(ship, dict) else None
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            return _invalid("shipToLocationAvailability.quantity")
    elif not offers:
        return _item_error(
            400, 25002, "A user error has occurred. Send offers or shipToLocationAvailability."
        )
    return None


def bulk_update_price_quantity(state: EbayState, request: EbayRequest) -> Reply:
    """``POST /bulk_update_price_quantity``: 200 if every item passed, else 207."""
    body = request.body
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests or len(requests) > MAX_REQUESTS:
        raise e.invalid_value(
            "requests", long_message=f"Send 1 to {MAX_REQUESTS} requests in one call."
        )
    responses: list[dict[str, Any]] = []
    applied = False
    for raw in requests:
        results, changed = _item(state, raw, request.now)
        responses.extend(results)
        applied = applied or changed
    status = 200 if all(r["statusCode"] == 200 for r in responses) else 207  # noqa: PLR2004
    return Reply(status, {"responses": responses}, applied=applied)
