"""The fake's data: orders, listings, FBA inventory, inbound plans, shipments; and ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._amazon._values import (
    AmazonInboundPlan,
    AmazonInventory,
    AmazonListing,
    AmazonOrder,
    AmazonOrderItem,
    AmazonShipment,
)
from safe_release.testing._checks import order_line, to_price, whole
from safe_release.testing._ids import SeededIds

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "DEFAULT_MARKETPLACE",
    "MARKETPLACES",
    "AmazonState",
    "Ids",
    "InboundOperation",
]

DEFAULT_MARKETPLACE = "ATVPDKIKX0DER"  # amazon.com
ORDER_STATUSES = frozenset(
    {
        "Pending",
        "Unshipped",
        "PartiallyShipped",
        "Shipped",
        "Canceled",
        "Unfulfillable",
        "InvoiceUnconfirmed",
        "PendingAvailability",
    }
)
# Marketplace id -> name, country, currency, language, domain.
MARKETPLACES: dict[str, tuple[str, str, str, str, str]] = {
    "ATVPDKIKX0DER": ("Amazon.com", "US", "USD", "en_US", "www.amazon.com"),
    "A2EUQ1WTGCTBG2": ("Amazon.ca", "CA", "CAD", "en_CA", "www.amazon.ca"),
    "A1F83G8C2ARO7P": ("Amazon.co.uk", "GB", "GBP", "en_GB", "www.amazon.co.uk"),
    "A1PA6795UKMFR9": ("Amazon.de", "DE", "EUR", "de_DE", "www.amazon.de"),
    "A1VC38T7YXB528": ("Amazon.co.jp", "JP", "JPY", "ja_JP", "www.amazon.co.jp"),
}

ItemSpec = tuple[str, int] | tuple[str, int, Decimal | int | str]


class Ids(SeededIds):
    """Identifiers in Amazon's shapes, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        super().__init__(f"ids-{seed}")

    def uuid(self) -> str:
        """A UUID4-shaped id (36 characters)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def digits(self, count: int) -> str:
        """``count`` random digits (the first may be 0)."""
        return "".join(str(self._rng.randrange(10)) for _ in range(count))

    def order_id(self) -> str:
        """An order id in 3-7-7 format."""
        return f"{self.digits(3)}-{self.digits(7)}-{self.digits(7)}"


@dataclass(frozen=True)
class InboundOperation:
    """An asynchronous inbound operation and when it finishes."""

    operation_id: str
    operation: str
    inbound_plan_id: str
    done_at: float
    problems: tuple[tuple[str, str], ...] = ()

    def status(self, now: float) -> str:
        """IN_PROGRESS until ``done_at``, then SUCCESS or FAILED."""
        if now < self.done_at:
            return "IN_PROGRESS"
        return "FAILED" if self.problems else "SUCCESS"


@dataclass
class AmazonState:
    """Everything a seller has at the fake. `FakeAmazon` holds the lock."""

    ids: Ids
    orders: dict[str, AmazonOrder] = field(default_factory=dict)
    listings: dict[tuple[str, str], AmazonListing] = field(default_factory=dict)
    inventory: dict[tuple[str, str], AmazonInventory] = field(default_factory=dict)
    shipments: list[AmazonShipment] = field(default_factory=list)
    plans: dict[str, AmazonInboundPlan] = field(default_factory=dict)
    operations: dict[str, InboundOperation] = field(default_factory=dict)
    pages: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)
    sellers: dict[str, str] = field(default_factory=dict)  # seller id -> home marketplace
    inbound_seconds: float = 5.0

    def home_marketplace(self, seller_id: str) -> str:
        """The marketplace a seller was created in."""
        return self.sellers.get(seller_id, DEFAULT_MARKETPLACE)

    def listing(self, seller_id: str, sku: str) -> AmazonListing:
        """A listing, or `InvalidArgumentError` saying how to add it."""
        found = self.listings.get((seller_id, sku))
        if found is None:
            msg = f"FakeAmazon has no listing {sku!r}; add one with fake.add_listing({sku!r}, ...)"
            raise InvalidArgumentError(msg)
        return found

    def add_listing(
        self,
        seller_id: str,
        sku: str,
        *,
        price: object,
        quantity: object,
        currency: str,
        marketplace_id: str,
        now: float,
        title: str | None = None,
    ) -> AmazonListing:
        """Create or replace a listing."""
        if not isinstance(sku, str) or not sku:
            msg = f"a listing needs a non-empty SKU string, not {sku!r}"
            raise InvalidArgumentError(msg)
        listing = AmazonListing(
            sku=sku,
            seller_id=seller_id,
            price=to_price(price, what="price"),
            quantity=whole(quantity, what="quantity"),
            currency=currency,
            marketplace_id=marketplace_id,
            asin="B0" + self.ids.alnum(8),
            product_type="PRODUCT",
            title=title or f"Fake product {sku}",
            created=now,
            updated=now,
        )
        self.listings[seller_id, sku] = listing
        return listing

    def set_inventory(
        self,
        seller_id: str,
        sku: str,
        *,
        fulfillable: object,
        inbound_working: object,
        reserved: object,
        unfulfillable: object,
        now: float,
    ) -> AmazonInventory:
        """Create or replace the FBA stock of a SKU."""
        known = self.listings.get((seller_id, sku))
        previous = self.inventory.get((seller_id, sku))
        asin = previous.asin if previous else known.asin if known else "B0" + self.ids.alnum(8)
        record = AmazonInventory(
            sku=sku,
            seller_id=seller_id,
            asin=asin,
            fn_sku=previous.fn_sku if previous else "X00" + self.ids.alnum(7),
            fulfillable=whole(fulfillable, what="fulfillable"),
            inbound_working=whole(inbound_working, what="inbound_working"),
            reserved=whole(reserved, what="reserved"),
            unfulfillable=whole(unfulfillable, what="unfulfillable"),
            updated=now,
        )
        self.inventory[seller_id, sku] = record
        return record

    def add_order(
        self,
        seller_id: str,
        *,
        order_id: str | None,
        items: Sequence[ItemSpec],
        status: str,
        purchase_date: float | datetime,
        marketplace_id: str,
        currency: str,
    ) -> AmazonOrder:
        """Create an order (a new id unless ``order_id`` is given)."""
        if status not in ORDER_STATUSES:
            msg = f"order status must be one of {sorted(ORDER_STATUSES)}, not {status!r}"
            raise InvalidArgumentError(msg)
        if not items:
            msg = "an order needs at least one item: items=[('SKU', quantity)]"
            raise InvalidArgumentError(msg)
        when = purchase_date.timestamp() if isinstance(purchase_date, datetime) else purchase_date
        order = AmazonOrder(
            order_id=order_id or self.ids.order_id(),
            seller_id=seller_id,
            status=status,
            purchase_date=float(when),
            last_update=float(when),
            marketplace_id=marketplace_id,
            currency=currency,
            items=tuple(self._item(seller_id, spec) for spec in items),
        )
        if order.order_id in self.orders:
            msg = f"order {order.order_id!r} already exists"
            raise InvalidArgumentError(msg)
        self.orders[order.order_id] = order
        return order

    def _item(self, seller_id: str, spec: ItemSpec) -> AmazonOrderItem:
        sku, quantity, price = order_line(spec, kind="item")
        listing = self.listings.get((seller_id, sku))
        if price is None:
            price = listing.price if listing else Decimal("10.00")
        return AmazonOrderItem(
            order_item_id=self.ids.digits(14),
            sku=sku,
            quantity=quantity,
            unit_price=price,
            asin=listing.asin if listing else "B0" + self.ids.alnum(8),
            title=listing.title if listing else f"Fake product {sku}",
        )

    def paginate(self, ids: Sequence[str], *, per_page: int) -> tuple[tuple[str, ...], str | None]:
        """The first page of ``ids`` and a NextToken for the rest (``None`` if none)."""
        if len(ids) <= per_page:
            return tuple(ids), None
        token = self.ids.hex()
        self.pages[token] = (per_page, tuple(ids[per_page:]))
        return tuple(ids[:per_page]), token

    def resume(self, token: str) -> tuple[tuple[str, ...], str | None]:
        """The page a NextToken points at (tokens stay valid, so a page can be re-read)."""
        per_page, ids = self.pages[token]
        return self.paginate(ids, per_page=per_page)
