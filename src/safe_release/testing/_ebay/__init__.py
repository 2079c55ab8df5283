"""An in-memory eBay Sell API for tests: `FakeEbay` and the records it shows."""

from __future__ import annotations

from safe_release.testing._ebay._ebay_faults import FakeEbayFaults
from safe_release.testing._ebay._ebay_values import (
    EbayFulfillment,
    EbayLineItem,
    EbayOffer,
    EbayOrder,
    FakeEbayCredentials,
)
from safe_release.testing._ebay._fake_ebay import FakeEbay

__all__ = [
    "EbayFulfillment",
    "EbayLineItem",
    "EbayOffer",
    "EbayOrder",
    "FakeEbay",
    "FakeEbayCredentials",
    "FakeEbayFaults",
]
