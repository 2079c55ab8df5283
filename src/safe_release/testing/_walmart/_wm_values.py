"""The values `FakeWalmart` stores and shows, frozen so tests may keep them.

Items (price and quantity), orders with their lines and line statuses, feeds
with their items, and the credentials the fake issued; `safe_release.testing`
exports them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal  # noqa: TC003 - dataclass fields are resolved at runtime

__all__ = [
    "FakeWalmartCredentials",
    "WalmartFeed",
    "WalmartFeedItem",
    "WalmartItem",
    "WalmartLineStatus",
    "WalmartOrder",
    "WalmartOrderLine",
    "WalmartTracking",
]


@dataclass(frozen=True, repr=False)
class FakeWalmartCredentials:
    """What a seller's app needs to call the fake: client id and secret.

    ``refresh_token`` is for the solution-provider flow (``grant_type=refresh_token``);
    a seller with its own keys uses ``grant_type=client_credentials``.
    """

    client_id: str
    client_secret: str
    seller_id: str
    refresh_token: str

    def __repr__(self) -> str:
        return (
            f"<FakeWalmartCredentials client_id={self.client_id!r} seller_id={self.seller_id!r}"
            " client_secret='***' refresh_token='***'>"
        )


@dataclass(frozen=True)
class WalmartItem:
    """One SKU of a seller: its BASE price and its quantity."""

    sku: str
    seller_id: str
    price: Decimal
    currency: str
    quantity: int
    wpid: str
    product_name: str
    updated: float


@dataclass(frozen=True)
class WalmartTracking:
    """The ``trackingInfo`` of a shipped quantity (``ship_date`` in epoch ms)."""

    ship_date: int
    carrier: str | None
    other_carrier: str | None
    method_code: str
    tracking_number: str
    tracking_url: str | None


@dataclass(frozen=True)
class WalmartLineStatus:
    """A quantity of a line in one status (``Shipped`` ones carry tracking)."""

    status: str
    quantity: int
    tracking: WalmartTracking | None = None


@dataclass(frozen=True)
class WalmartOrderLine:
    """An order line: what was bought, and how much of it is in which status."""

    line_number: str
    sku: str
    product_name: str
    quantity: int
    unit_price: Decimal
    statuses: tuple[WalmartLineStatus, ...]
    status_date: float

    def quantity_in(self, status: str) -> int:
        """How many units of this line are in ``status``."""
        return sum(s.quantity for s in self.statuses if s.status == status)

    @property
    def status(self) -> str:
        """The line's status if all its units share one, else the least advanced."""
        for name in ("Created", "Acknowledged", "Shipped", "Delivered", "Cancelled"):
            if self.quantity_in(name):
                return name
        return self.statuses[0].status


@dataclass(frozen=True)
class WalmartOrder:
    """A purchase order as the fake stores it."""

    purchase_order_id: str
    customer_order_id: str
    seller_id: str
    created: float
    modified: float
    method_code: str
    currency: str
    lines: tuple[WalmartOrderLine, ...]

    def line(self, line_number: str) -> WalmartOrderLine:
        """The line numbered ``line_number`` (``KeyError`` if none)."""
        for line in self.lines:
            if line.line_number == line_number:
                return line
        raise KeyError(line_number)

    @property
    def statuses(self) -> tuple[str, ...]:
        """Each line's status, in line order."""
        return tuple(line.status for line in self.lines)


@dataclass(frozen=True)
class WalmartFeedItem:
    """One item of a feed and how its ingestion ended (``INPROGRESS`` until then)."""

    index: int
    sku: str | None
    status: str
    error: str | None = None


@dataclass(frozen=True)
class WalmartFeed:
    """A submitted feed; ``status`` is as of the moment the snapshot was taken."""

    feed_id: str
    feed_type: str
    seller_id: str
    submitted: float
    done_at: float
    status: str
    items: tuple[WalmartFeedItem, ...]
    ingestion_error: str | None = None

    @property
    def failed(self) -> tuple[WalmartFeedItem, ...]:
        """The items that did not succeed."""
        return tuple(item for item in self.items if item.status not in {"SUCCESS", "INPROGRESS"})
