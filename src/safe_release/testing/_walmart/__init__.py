"""An in-memory Walmart Marketplace (US) for tests: `FakeWalmart` and the records it shows."""

from __future__ import annotations

from safe_release.testing._walmart._wm_fake import FakeWalmart
from safe_release.testing._walmart._wm_faults import FakeWalmartFaults
from safe_release.testing._walmart._wm_values import (
    FakeWalmartCredentials,
    WalmartFeed,
    WalmartFeedItem,
    WalmartItem,
    WalmartLineStatus,
    WalmartOrder,
    WalmartOrderLine,
    WalmartTracking,
)

__all__ = [
    "FakeWalmart",
    "FakeWalmartCredentials",
    "FakeWalmartFaults",
    "WalmartFeed",
    "WalmartFeedItem",
    "WalmartItem",
    "WalmartLineStatus",
    "WalmartOrder",
    "WalmartOrderLine",
    "WalmartTracking",
]
