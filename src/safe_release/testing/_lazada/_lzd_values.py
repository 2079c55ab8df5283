"""What `FakeLazada` shows of its state: credentials, SKUs, orders and order items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = ["FakeLazadaCredentials", "LazadaOrder", "LazadaOrderItem", "LazadaSku"]


@dataclass(frozen=True, repr=False)
class FakeLazadaCredentials:
    """What an app needs to call the fake for one seller: app key and secret, a token pair.

    ``refresh_expires_at`` is the refresh token's deadline (epoch seconds on the
    fake clock); a refresh does not move it. ``repr`` shows no secret.
    """

    app_key: str
    app_secret: str
    access_token: str
    refresh_token: str
    seller_id: str
    country: str
    access_expires_at: float
    refresh_expires_at: float

    def __repr__(self) -> str:
        return (
            f"<FakeLazadaCredentials app_key={self.app_key!r} seller_id={self.seller_id!r} "
            f"country={self.country!r}>"
        )


@dataclass(frozen=True)
class LazadaSku:
    """A SKU as it is now: ids, price, sale price (``None`` when there is none), quantity."""

    seller_sku: str
    item_id: int
    sku_id: int
    price: Decimal
    sale_price: Decimal | None
    quantity: int


@dataclass(frozen=True)
class LazadaOrderItem:
    """One order item: its SKU, status and (once packed) its package and tracking number."""

    order_item_id: int
    order_id: int
    seller_sku: str
    name: str
    item_price: Decimal
    status: str
    package_id: str | None = None
    tracking_number: str | None = None
    shipment_provider: str | None = None


@dataclass(frozen=True)
class LazadaOrder:
    """An order: ids, times (epoch seconds), price, shipping fee, payment and its items."""

    order_id: int
    created_at: float
    updated_at: float
    price: Decimal
    shipping_fee: Decimal
    payment_method: str
    items: tuple[LazadaOrderItem, ...]

    @property
    def statuses(self) -> list[str]:
        """The distinct item statuses, as ``/orders/get`` lists them."""
        return sorted({item.status for item in self.items})
