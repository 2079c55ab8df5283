"""The operations `FakeWalmart` serves: method, path template, default bucket, API scope.

Written from ../shared/reference/walmart/WIRE.md (sections 3, 5 and 7; ``getItem``,
Walmart's Items API "Get an item", is not in it), apart
from the adapter's own table, so that a wrong path or limit in
`safe_release.adapters` fails against the fake instead of being served back to
it; tests/test_fake_walmart.py pins this table to WIRE.md.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FEED_TYPES", "ROUTES", "TOKEN_OPERATION", "FeedType", "Route", "bucket_names"]

TOKEN_OPERATION = "token"  # noqa: S105 - an operation name, not a password
_MINUTE, _HOUR = 60.0, 3600.0


class Route(NamedTuple):
    """One operation: how it is called, its default bucket, the scope it needs."""

    name: str
    method: str
    path: str
    capacity: int
    per_seconds: float
    scope: str | None
    write: bool = False


class FeedType(NamedTuple):
    """A feed type the fake ingests: its hourly bucket and its file size cap."""

    name: str
    capacity: int
    per_seconds: float
    max_bytes: int


ROUTES: dict[str, Route] = {
    route.name: route
    for route in (
        # 3.1 and 3.2; the token endpoint's own limit is not published [U].
        Route(TOKEN_OPERATION, "POST", "/v3/token", 1000, _MINUTE, None),
        Route("tokenDetail", "GET", "/v3/token/detail", 1000, _MINUTE, None),
        # 5.1, 5.2: PUT /v3/price 100/hour, PUT /v3/inventory about 200/min (7);
        # GET /v3/inventory is not listed: the PUT's figure [U].
        Route("updatePrice", "PUT", "/v3/price", 100, _HOUR, "price", write=True),
        # Items API "Get an item": not in WIRE.md, its limit is a guess [U].
        Route("getItem", "GET", "/v3/items/{sku}", 900, _MINUTE, "item"),
        Route("getInventory", "GET", "/v3/inventory", 200, _MINUTE, "inventory"),
        Route("updateInventory", "PUT", "/v3/inventory", 200, _MINUTE, "inventory", write=True),
        # 5.4: orders 5000/min, released 60/min, acknowledge and shipping 60/min;
        # GET /v3/orders/{po} is not listed: the list's figure [U].
        Route("getOrders", "GET", "/v3/orders", 5000, _MINUTE, "orders"),
        Route("getReleasedOrders", "GET", "/v3/orders/released", 60, _MINUTE, "orders"),
        Route("getOrder", "GET", "/v3/orders/{purchaseOrderId}", 5000, _MINUTE, "orders"),
        Route(
            "acknowledgeOrder",
            "POST",
            "/v3/orders/{purchaseOrderId}/acknowledge",
            60,
            _MINUTE,
            "orders",
            write=True,
        ),
        Route(
            "shipOrder",
            "POST",
            "/v3/orders/{purchaseOrderId}/shipping",
            60,
            _MINUTE,
            "orders",
            write=True,
        ),
        # 5.3: GET /v3/feeds 5000/min (status the same [U]); a submission spends
        # the bucket of its feed type (FEED_TYPES), not this one.
        Route("submitFeed", "POST", "/v3/feeds", 10, _HOUR, "feeds", write=True),
        Route("getFeedStatus", "GET", "/v3/feeds/{feedId}", 5000, _MINUTE, "feeds"),
        Route("listFeeds", "GET", "/v3/feeds", 5000, _MINUTE, "feeds"),
    )
}
"""Operation name -> route, for every operation the fake answers."""

FEED_TYPES: dict[str, FeedType] = {
    feed.name: feed
    for feed in (
        FeedType("inventory", 10, _HOUR, 5 * 1024 * 1024),
        FeedType("MP_INVENTORY", 50, _HOUR, 1024 * 1024),
        # Not in WIRE.md 7: the price feed is "limited per hour" (9); 10/hour and
        # 10 MB are assumptions [U].
        FeedType("price", 10, _HOUR, 10 * 1024 * 1024),
    )
}
"""feedType -> its hourly bucket (``feeds:<type>``) and file size cap."""


def bucket_names() -> list[str]:
    """Every bucket name: the operations (but submitFeed) and ``feeds:<type>``."""
    names = [name for name in ROUTES if name != "submitFeed"]
    return names + [f"feeds:{name}" for name in FEED_TYPES]
