"""Test helpers for code that uses safe_release.

Import them in your own tests:

    from safe_release.testing import FakeAmazon, FakeClock

    clock = FakeClock()
    store = sr.connect("sqlite:///test.db", clock=clock)
    clock.advance(1.5)        # the config cache's ttl has now passed

    amazon = FakeAmazon(clock=clock)
    amazon.add_listing("SKU-1", price=Decimal("19.99"), quantity=5)
    client = httpx.Client(transport=amazon.transport, base_url="https://sp.fake")
"""

from __future__ import annotations

from safe_release._public import present as _present
from safe_release.testing._amazon import (
    AmazonInboundPlan,
    AmazonInventory,
    AmazonListing,
    AmazonOrder,
    AmazonOrderItem,
    AmazonShipment,
    Call,
    FakeAmazon,
    FakeAmazonCredentials,
    FakeAmazonFaults,
)
from safe_release.testing._clock import FakeClock
from safe_release.testing._ebay import (
    EbayFulfillment,
    EbayLineItem,
    EbayOffer,
    EbayOrder,
    FakeEbay,
    FakeEbayCredentials,
    FakeEbayFaults,
)
from safe_release.testing._lazada import (
    FakeLazada,
    FakeLazadaCredentials,
    FakeLazadaFaults,
    LazadaOrder,
    LazadaOrderItem,
    LazadaSku,
)
from safe_release.testing._postgres import (
    PostgresUnavailableError,
    TemporaryPostgres,
    find_postgres_bindir,
)
from safe_release.testing._shopee import (
    FakeShopee,
    FakeShopeeCredentials,
    FakeShopeeFaults,
    ShopeeItem,
    ShopeeModel,
    ShopeeOrder,
    ShopeeOrderItem,
)
from safe_release.testing._walmart import (
    FakeWalmart,
    FakeWalmartCredentials,
    FakeWalmartFaults,
    WalmartFeed,
    WalmartFeedItem,
    WalmartItem,
    WalmartLineStatus,
    WalmartOrder,
    WalmartOrderLine,
    WalmartTracking,
)

__all__ = [
    "AmazonInboundPlan",
    "AmazonInventory",
    "AmazonListing",
    "AmazonOrder",
    "AmazonOrderItem",
    "AmazonShipment",
    "Call",
    "EbayFulfillment",
    "EbayLineItem",
    "EbayOffer",
    "EbayOrder",
    "FakeAmazon",
    "FakeAmazonCredentials",
    "FakeAmazonFaults",
    "FakeClock",
    "FakeEbay",
    "FakeEbayCredentials",
    "FakeEbayFaults",
    "FakeLazada",
    "FakeLazadaCredentials",
    "FakeLazadaFaults",
    "FakeShopee",
    "FakeShopeeCredentials",
    "FakeShopeeFaults",
    "FakeWalmart",
    "FakeWalmartCredentials",
    "FakeWalmartFaults",
    "LazadaOrder",
    "LazadaOrderItem",
    "LazadaSku",
    "PostgresUnavailableError",
    "ShopeeItem",
    "ShopeeModel",
    "ShopeeOrder",
    "ShopeeOrderItem",
    "TemporaryPostgres",
    "WalmartFeed",
    "WalmartFeedItem",
    "WalmartItem",
    "WalmartLineStatus",
    "WalmartOrder",
    "WalmartOrderLine",
    "WalmartTracking",
    "find_postgres_bindir",
]

_present(__name__, __all__, globals())
