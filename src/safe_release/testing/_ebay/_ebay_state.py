"""The fake's data: offers, orders, shipping fulfillments; and reproducible ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import to_price, whole
from safe_release.testing._ebay._ebay_quotas import next_reset
from safe_release.testing._ebay._ebay_values import (
    EbayFulfillment,
    EbayLineItem,
    EbayOffer,
    EbayOrder,
)
from safe_release.testing._ids import SeededIds

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "MAX_FULFILLMENTS",
    "REVISIONS_PER_DAY",
    "EbayState",
    "Ids",
    "LineSpec",
]

REVISIONS_PER_DAY = 250
MAX_FULFILLMENTS = 10
"""[U] Shipping fulfillments one order may hold; the next gets 400 34100."""
MARKETPLACE = "EBAY_US"
OFFER_STATUSES = frozenset({"PUBLISHED", "UNPUBLISHED"})
FORMATS = frozenset({"FIXED_PRICE", "AUCTION"})
ORDER_STATUSES = frozenset({"NOT_STARTED", "IN_PROGRESS", "FULFILLED"})

LineSpec = tuple[str, int, Decimal | int | str]


class Ids(SeededIds):
    """Identifiers in eBay's shapes, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        super().__init__(f"ebay-ids-{seed}")

    def order_id(self) -> str:
        """An order id in eBay's ``NN-NNNNN-NNNNN`` form."""
        return f"{self.digits(2)}-{self.digits(5)}-{self.digits(5)}"


def _choice(value: str, allowed: frozenset[str], *, what: str) -> str:
    if value not in allowed:
        msg = f"{what} must be one of {sorted(allowed)}, not {value!r}"
        raise InvalidArgumentError(msg)
    return value


@dataclass
class Offer:
    """A mutable offer; `snapshot` freezes it."""

    offer_id: str
    sku: str
    price: Decimal
    currency: str
    quantity: int
    status: str
    format: str
    listing_id: str | None
    revisions: int = 0
    revisions_reset: float = 0.0

    def revisions_today(self, now: float) -> int:
        """Revisions in the current window (rolled over at the reset)."""
        if now >= self.revisions_reset:
            self.revisions, self.revisions_reset = 0, next_reset(now)
        return self.revisions

    def snapshot(self, now: float) -> EbayOffer:
        """The frozen view tests see."""
        return EbayOffer(
            self.offer_id,
            self.sku,
            self.price,
            self.currency,
            self.quantity,
            self.status,
            self.format,
            MARKETPLACE,
            self.listing_id,
            self.revisions_today(now),
        )


@dataclass
class Line:
    """A mutable order line."""

    line_item_id: str
    legacy_item_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    shipped: int = 0

    @property
    def status(self) -> str:
        """NOT_STARTED, IN_PROGRESS (part shipped) or FULFILLED."""
        if self.shipped <= 0:
            return "NOT_STARTED"
        return "FULFILLED" if self.shipped >= self.quantity else "IN_PROGRESS"


@dataclass
class Order:
    """A mutable order."""

    order_id: str
    user_id: str
    created: float
    modified: float
    currency: str
    lines: list[Line]
    fixed_status: str | None = None
    fulfillments: list[EbayFulfillment] = field(default_factory=list)

    @property
    def status(self) -> str:
        """From the lines: all fulfilled, some shipped, or none (unless seeded otherwise)."""
        statuses = {line.status for line in self.lines}
        if statuses == {"FULFILLED"}:
            return "FULFILLED"
        if statuses != {"NOT_STARTED"}:
            return "IN_PROGRESS"
        return self.fixed_status or "NOT_STARTED"

    def snapshot(self) -> EbayOrder:
        """The frozen view tests see."""
        lines = tuple(
            EbayLineItem(x.line_item_id, x.sku, x.quantity, x.unit_price, x.shipped, x.status)
            for x in self.lines
        )
        ids = tuple(f.fulfillment_id for f in self.fulfillments)
        return EbayOrder(
            self.order_id,
            self.user_id,
            self.created,
            self.modified,
            self.status,
            self.currency,
            lines,
            ids,
        )


class EbayState:
    """Offers by id, orders by id. Not thread-safe: `FakeEbay` holds its lock."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.offers: dict[str, Offer] = {}
        self.orders: dict[str, Order] = {}
        self.quantities: dict[str, int] = {}  # sku -> ship-to-home quantity

    def add_offer(
        self,
        sku: str,
        *,
        price: object,
        quantity: int,
        currency: str,
        offer_id: str | None,
        status: str,
        format: str,  # noqa: A002 - eBay's field name
    ) -> str:
        """Create an offer; returns its id."""
        if not isinstance(sku, str) or not 0 < len(sku) <= 50:  # noqa: PLR2004 - eBay's limit
            msg = f"sku must be a string of 1 to 50 characters, not {sku!r}"
            raise InvalidArgumentError(msg)
        new_id = offer_id or self.ids.digits(10)
        if new_id in self.offers:
            msg = f"FakeEbay already has an offer {new_id!r}"
            raise InvalidArgumentError(msg)
        status = _choice(status, OFFER_STATUSES, what="status")
        self.offers[new_id] = Offer(
            new_id,
            sku,
            to_price(price, what="price"),
            currency,
            whole(quantity, what="quantity"),
            status,
            _choice(format, FORMATS, what="format"),
            self.ids.digits(12) if status == "PUBLISHED" else None,
        )
        return new_id

    def add_order(
        self,
        user_id: str,
        *,
        line_items: Sequence[LineSpec],
        created: float,
        status: str,
    ) -> str:
        """Create an order; returns its id."""
        if not line_items:
            msg = "an order needs at least one line item (sku, quantity, unit price)"
            raise InvalidArgumentError(msg)
        _choice(status, ORDER_STATUSES, what="status")
        lines = []
        for spec in line_items:
            sku, quantity, unit = spec
            shipped = quantity if status == "FULFILLED" else 0
            lines.append(
                Line(
                    self.ids.digits(14),
                    self._legacy_item(sku),
                    sku,
                    whole(quantity, what="quantity", minimum=1),
                    to_price(unit, what="unit price"),
                    shipped,
                )
            )
        currency = next((o.currency for o in self.offers.values() if o.sku == lines[0].sku), "USD")
        order_id = self.ids.order_id()
        self.orders[order_id] = Order(
            order_id,
            user_id,
            created,
            created,
            currency,
            lines,
            fixed_status=status if status == "IN_PROGRESS" else None,
        )
        return order_id

    def _legacy_item(self, sku: str) -> str:
        for offer in self.offers.values():
            if offer.sku == sku and offer.listing_id:
                return offer.listing_id
        return self.ids.digits(12)
