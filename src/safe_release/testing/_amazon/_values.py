"""The values `FakeAmazon` stores and shows, frozen so tests may keep them.

Orders, listings, FBA inventory, inbound plans, shipments, the calls the fake
answered and the credentials it issued; `safe_release.testing` exports them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

__all__ = [
    "AmazonInboundPlan",
    "AmazonInventory",
    "AmazonListing",
    "AmazonOrder",
    "AmazonOrderItem",
    "AmazonShipment",
    "Call",
    "FakeAmazonCredentials",
]

_EMPTY: MappingProxyType[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Call:
    """One request the fake answered (or whose answer it dropped).

    ``json`` is the parsed request body (``None`` for reads and for the LWA token
    endpoint, whose form holds secrets). ``applied`` says whether a write changed
    the fake's state; ``lost`` whether the client never saw the answer (an
    ambiguous-write fault). ``at`` is ``clock.time()`` when the fake handled it
    (after any latency fault).
    """

    operation: str
    method: str
    path: str
    query: MappingProxyType[str, str]
    json: Any
    status: int
    at: float
    applied: bool = False
    lost: bool = False
    seller_id: str | None = None
    client_id: str | None = None

    @property
    def params(self) -> MappingProxyType[str, str]:
        """The query parameters (an alias of ``query``)."""
        return self.query


@dataclass(frozen=True, repr=False)
class FakeAmazonCredentials:
    """What an app needs to call the fake as one seller: LWA client and refresh token."""

    client_id: str
    client_secret: str
    refresh_token: str
    seller_id: str
    marketplace_id: str

    def __repr__(self) -> str:
        return (
            f"<FakeAmazonCredentials client_id={self.client_id!r} seller_id={self.seller_id!r}"
            " client_secret='***' refresh_token='***'>"
        )


@dataclass(frozen=True)
class AmazonOrderItem:
    """One line of an order."""

    order_item_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    asin: str
    title: str
    quantity_shipped: int = 0

    @property
    def line_price(self) -> Decimal:
        """``unit_price * quantity`` (Amazon's ``ItemPrice``)."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class AmazonOrder:
    """An order as the fake stores it; ``tracking_number`` is the latest confirmation."""

    order_id: str
    seller_id: str
    status: str
    purchase_date: float
    last_update: float
    marketplace_id: str
    currency: str
    items: tuple[AmazonOrderItem, ...]
    fulfillment_channel: str = "MFN"
    tracking_number: str | None = None
    carrier_code: str | None = None

    @property
    def total(self) -> Decimal:
        """What the buyer pays for the items."""
        return sum((item.line_price for item in self.items), Decimal(0))


@dataclass(frozen=True)
class AmazonListing:
    """A listings item: its price and merchant-fulfilled quantity in one marketplace."""

    sku: str
    seller_id: str
    price: Decimal
    quantity: int
    currency: str
    marketplace_id: str
    asin: str
    product_type: str
    title: str
    created: float
    updated: float
    attributes: MappingProxyType[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class AmazonShipment:
    """One accepted shipment confirmation (a replay adds another, overwriting tracking)."""

    order_id: str
    tracking_number: str
    carrier_code: str
    package_reference_id: str
    ship_date: str
    items: tuple[tuple[str, int], ...]
    at: float


@dataclass(frozen=True)
class AmazonInboundPlan:
    """An inbound plan; every createInboundPlan makes a new one."""

    inbound_plan_id: str
    seller_id: str
    operation_id: str
    name: str
    status: str
    body: MappingProxyType[str, Any]
    created: float


@dataclass(frozen=True)
class AmazonInventory:
    """FBA stock of one SKU, as getInventorySummaries reports it."""

    sku: str
    seller_id: str
    asin: str
    fn_sku: str
    fulfillable: int
    inbound_working: int
    reserved: int
    unfulfillable: int
    updated: float

    @property
    def total(self) -> int:
        """Every unit Amazon holds or expects for the SKU."""
        return self.fulfillable + self.inbound_working + self.reserved + self.unfulfillable
