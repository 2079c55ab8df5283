"""The values `FakeShopee` shows, frozen so tests may keep them.

Items and their models, orders with their lines and shipment, and the
credentials the fake issued; `safe_release.testing` exports them all. Calls are
the Amazon fake's `Call` type (``seller_id`` holds the shop id, ``client_id`` the
partner id, and the query's ``access_token`` is masked).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal  # noqa: TC003 - dataclass fields are resolved at runtime

__all__ = [
    "FakeShopeeCredentials",
    "ShopeeItem",
    "ShopeeModel",
    "ShopeeOrder",
    "ShopeeOrderItem",
]


@dataclass(frozen=True, repr=False)
class FakeShopeeCredentials:
    """What an app needs to call the fake as one shop: partner id and key, shop, tokens.

    ``access_token`` lives 14400 s from ``access_expires_at``'s issue and
    ``refresh_token`` 30 days; the refresh token is single-use.
    """

    partner_id: int
    partner_key: str
    shop_id: int
    access_token: str
    refresh_token: str
    access_expires_at: float
    refresh_expires_at: float
    region: str

    def __repr__(self) -> str:
        return (
            f"<FakeShopeeCredentials partner_id={self.partner_id} shop_id={self.shop_id}"
            f" region={self.region!r} partner_key='***' access_token='***' refresh_token='***'>"
        )


@dataclass(frozen=True)
class ShopeeModel:
    """One model of an item (model 0 is an item without models): price and seller stock."""

    model_id: int
    price: Decimal
    stock: int


@dataclass(frozen=True)
class ShopeeItem:
    """One item of a shop as it is now."""

    item_id: int
    shop_id: int
    region: str
    currency: str
    status: str
    has_model: bool
    models: tuple[ShopeeModel, ...]


@dataclass(frozen=True)
class ShopeeOrderItem:
    """One line of an order."""

    item_id: int
    model_id: int
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class ShopeeOrder:
    """An order as it is now: status, lines and shipment.

    ``shipped_with`` names the ``ship_order`` object used (``pickup``, ``dropoff``
    or ``non_integrated``); ``tracking_number`` is ``""`` until the fake gives one.
    """

    order_sn: str
    shop_id: int
    region: str
    currency: str
    status: str
    create_time: int
    update_time: int
    items: tuple[ShopeeOrderItem, ...]
    channel: str
    package_number: str
    shipped_with: str | None
    shipped_at: float | None
    tracking_number: str
