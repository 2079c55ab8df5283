"""Listings Items API 2021-08-01: getListingsItem, patchListingsItem (price and quantity)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from safe_release.testing._amazon import _bodies as b
from safe_release.testing._amazon._request import Reply, SpRequest, csv, fields, required

if TYPE_CHECKING:
    from safe_release.testing._amazon._state import AmazonState
    from safe_release.testing._amazon._values import AmazonListing

__all__ = ["get_listings_item", "patch_listings_item"]

_SECTIONS = frozenset(
    {
        "summaries",
        "attributes",
        "issues",
        "offers",
        "fulfillmentAvailability",
        "procurement",
        "relationships",
        "productTypes",
    }
)
_OPS = frozenset({"add", "replace", "merge", "delete"})
_PRICE, _QUANTITY = "purchasable_offer", "fulfillment_availability"


class _Issue(Exception):  # noqa: N818 - collected into the submission's issues
    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(message)
        self.attribute, self.message = attribute, message


def _listing(state: AmazonState, request: SpRequest) -> tuple[AmazonListing, str]:
    if request.params["sellerId"] != request.seller_id:
        raise b.Reject(403, "Unauthorized", b.DENIED_MESSAGE)
    marketplaces = csv(required(request, "marketplaceIds"))
    sku = request.params["sku"]
    listing = state.listings.get((request.seller_id, sku))
    if listing is None or listing.marketplace_id not in marketplaces:
        msg = f"SKU '{sku}' not found in marketplace {','.join(marketplaces)}."
        raise b.not_found(msg)
    return listing, listing.marketplace_id


def _sections(listing: AmazonListing) -> dict[str, Any]:
    mp = listing.marketplace_id
    return {
        "summaries": [
            {
                "marketplaceId": mp,
                "asin": listing.asin,
                "productType": listing.product_type,
                "conditionType": "new_new",
                "status": ["BUYABLE", "DISCOVERABLE"],
                "itemName": listing.title,
                "createdDate": b.iso(listing.created),
                "lastUpdatedDate": b.iso(listing.updated),
            }
        ],
        "attributes": {
            **listing.attributes,
            _PRICE: [
                {
                    "marketplace_id": mp,
                    "currency": listing.currency,
                    "our_price": [{"schedule": [{"value_with_tax": float(listing.price)}]}],
                }
            ],
            _QUANTITY: [{"fulfillment_channel_code": "DEFAULT", "quantity": listing.quantity}],
        },
        "issues": [],
        "offers": [
            {
                "marketplaceId": mp,
                "offerType": "B2C",
                "price": {"currencyCode": listing.currency, "amount": str(listing.price)},
            }
        ],
        "fulfillmentAvailability": [
            {"fulfillmentChannelCode": "DEFAULT", "quantity": listing.quantity}
        ],
        "procurement": [],
        "relationships": [],
        "productTypes": [{"marketplaceId": mp, "productType": listing.product_type}],
    }


def get_listings_item(state: AmazonState, request: SpRequest) -> Reply:
    """GET /listings/2021-08-01/items/{sellerId}/{sku}."""
    listing, _ = _listing(state, request)
    wanted = csv(request.query.get("includedData")) or ["summaries"]
    unknown = sorted(set(wanted) - _SECTIONS)
    if unknown:
        msg = f"includedData has unsupported values: {', '.join(unknown)}."
        raise b.invalid_input(msg)
    sections = _sections(listing)
    return Reply(200, {"sku": listing.sku, **{name: sections[name] for name in wanted}})


def _entry(patch: dict[str, Any], attribute: str, marketplace_id: str) -> dict[str, Any]:
    values = patch.get("value")
    entries = [
        v
        for v in values or []
        if isinstance(v, dict) and v.get("marketplace_id") in {None, marketplace_id}
    ]
    if not entries:
        raise _Issue(attribute, f"'{attribute}' needs a value for marketplace {marketplace_id}.")
    return entries[0]


def _new_price(patch: dict[str, Any], listing: AmazonListing) -> tuple[Decimal, str]:
    entry = _entry(patch, _PRICE, listing.marketplace_id)
    try:
        amount = entry["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        amount = None
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0:
        message = "'purchasable_offer' needs our_price[0].schedule[0].value_with_tax >= 0."
        raise _Issue(_PRICE, message)
    currency = entry.get("currency", listing.currency)
    if not isinstance(currency, str) or len(currency) != 3:  # noqa: PLR2004 - ISO 4217
        raise _Issue(_PRICE, f"'purchasable_offer' has an invalid currency {currency!r}.")
    return Decimal(str(amount)), currency


def _new_quantity(patch: dict[str, Any], listing: AmazonListing) -> int:
    quantity = _entry(patch, _QUANTITY, listing.marketplace_id).get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise _Issue(_QUANTITY, "'fulfillment_availability' needs a whole quantity >= 0.")
    return quantity


def _apply(listing: AmazonListing, patch: dict[str, Any], now: float) -> AmazonListing:
    attribute = patch["path"].removeprefix("/attributes/")
    if patch["op"] == "delete":
        if attribute in {_PRICE, _QUANTITY}:
            raise _Issue(attribute, f"the fake cannot delete '{attribute}'; replace it instead.")
        rest = {k: v for k, v in listing.attributes.items() if k != attribute}
        return dataclasses.replace(listing, attributes=MappingProxyType(rest), updated=now)
    if attribute == _PRICE:
        price, currency = _new_price(patch, listing)
        return dataclasses.replace(listing, price=price, currency=currency, updated=now)
    if attribute == _QUANTITY:
        return dataclasses.replace(listing, quantity=_new_quantity(patch, listing), updated=now)
    extra = {**listing.attributes, attribute: patch.get("value")}
    return dataclasses.replace(listing, attributes=MappingProxyType(extra), updated=now)


def _patches(body: object) -> list[dict[str, Any]]:
    document = fields(body, "body", productType=str, patches=list)
    patches: list[dict[str, Any]] = document["patches"]
    for index, patch in enumerate(patches):
        where = f"patches[{index}]"
        fields(patch, where, op=str, path=str)
        if patch["op"] not in _OPS:
            msg = f"{where}.op must be one of {sorted(_OPS)}."
            raise b.invalid_input(msg)
        if not patch["path"].startswith("/attributes/") or patch["path"] == "/attributes/":
            msg = f"{where}.path must point into /attributes/."
            raise b.invalid_input(msg)
        value = patch.get("value")
        if patch["op"] != "delete" and not (
            isinstance(value, list) and all(isinstance(v, dict) for v in value)
        ):
            msg = f"{where}.value must be an array of objects."
            raise b.invalid_input(msg)
    return patches


def patch_listings_item(state: AmazonState, request: SpRequest) -> Reply:
    """PATCH /listings/2021-08-01/items/{sellerId}/{sku}: JSON Patch on the attributes."""
    listing, _ = _listing(state, request)
    mode = request.query.get("mode")
    if mode not in {None, "VALIDATION_PREVIEW"}:
        msg = f"mode must be VALIDATION_PREVIEW, not {mode!r}."
        raise b.invalid_input(msg)
    patches = _patches(request.body)
    reply: dict[str, Any] = {"sku": listing.sku, "submissionId": state.ids.hex(), "issues": []}
    updated = listing
    try:
        for patch in patches:
            updated = _apply(updated, patch, request.now)
    except _Issue as issue:
        reply["issues"] = [
            {
                "code": "InvalidAttribute",
                "message": issue.message,
                "severity": "ERROR",
                "attributeNames": [issue.attribute],
                "categories": ["INVALID_ATTRIBUTE"],
            }
        ]
        return Reply(200, {**reply, "status": "INVALID"})
    if mode == "VALIDATION_PREVIEW":
        return Reply(200, {**reply, "status": "VALID"})
    state.listings[request.seller_id, listing.sku] = updated
    return Reply(200, {**reply, "status": "ACCEPTED"}, applied=True)
