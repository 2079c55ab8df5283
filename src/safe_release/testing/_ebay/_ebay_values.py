"""The values `FakeEbay` shows, frozen so tests may keep them.

Offers, orders and their lines, shipping fulfillments and the credentials the
fake issued; `safe_release.testing` exports them all. Calls are the Amazon fake's
`Call` type (``seller_id`` holds the eBay user id).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "EbayFulfillment",
    "EbayLineItem",
    "EbayOffer",
    "EbayOrder",
    "FakeEbayCredentials",
]


@dataclass(frozen=True, repr=False)
class FakeEbayCredentials:
    """What an app needs to call the fake as one user: OAuth client, refresh token, scopes."""

    client_id: str
    client_secret: str
    refresh_token: str
    user_id: str
    scopes: tuple[str, ...]

    def __repr__(self) -> str:
        return (
            f"<FakeEbayCredentials client_id={self.client_id!r} user_id={self.user_id!r}"
            f" scopes={len(self.scopes)} client_secret='***' refresh_token='***'>"
        )


@dataclass(frozen=True)
class EbayOffer:
    """One offer (a SKU listed on a marketplace) as it is now."""

    offer_id: str
    sku: str
    price: Decimal
    currency: str
    quantity: int
    status: str
    format: str
    marketplace_id: str
    listing_id: str | None
    revisions_today: int


@dataclass(frozen=True)
class EbayLineItem:
    """One line of an order and how much of it has shipped."""

    line_item_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    shipped: int
    status: str


@dataclass(frozen=True)
class EbayOrder:
    """An order, its lines and the ids of its shipping fulfillments."""

    order_id: str
    user_id: str
    created: float
    modified: float
    status: str
    currency: str
    line_items: tuple[EbayLineItem, ...]
    fulfillment_ids: tuple[str, ...]

    @property
    def total(self) -> Decimal:
        """The sum of the lines (no shipping or tax in the fake)."""
        return sum((x.unit_price * x.quantity for x in self.line_items), Decimal(0))


@dataclass(frozen=True)
class EbayFulfillment:
    """One shipping fulfillment: a package with its tracking number."""

    fulfillment_id: str
    order_id: str
    line_items: tuple[tuple[str, int], ...]
    tracking_number: str | None
    carrier_code: str | None
    shipped_date: str
    at: float
