"""An in-memory Amazon SP-API for tests: `FakeAmazon` and the records it shows."""

from __future__ import annotations

from safe_release.testing._amazon._fake import FakeAmazon
from safe_release.testing._amazon._faults import FakeAmazonFaults
from safe_release.testing._amazon._values import (
    AmazonInboundPlan,
    AmazonInventory,
    AmazonListing,
    AmazonOrder,
    AmazonOrderItem,
    AmazonShipment,
    Call,
    FakeAmazonCredentials,
)

__all__ = [
    "AmazonInboundPlan",
    "AmazonInventory",
    "AmazonListing",
    "AmazonOrder",
    "AmazonOrderItem",
    "AmazonShipment",
    "Call",
    "FakeAmazon",
    "FakeAmazonCredentials",
    "FakeAmazonFaults",
]
