"""An in-memory Shopee Open Platform v2 for tests: `FakeShopee` and the records it shows."""

from __future__ import annotations

from safe_release.testing._shopee._shp_fake import FakeShopee
from safe_release.testing._shopee._shp_faults import FakeShopeeFaults
from safe_release.testing._shopee._shp_values import (
    FakeShopeeCredentials,
    ShopeeItem,
    ShopeeModel,
    ShopeeOrder,
    ShopeeOrderItem,
)

__all__ = [
    "FakeShopee",
    "FakeShopeeCredentials",
    "FakeShopeeFaults",
    "ShopeeItem",
    "ShopeeModel",
    "ShopeeOrder",
    "ShopeeOrderItem",
]
