"""The Walmart Marketplace (US) operations safe_release supports, with their limits.

Walmart keeps a token bucket per seller per API that refills gradually: an
allotment of N calls per hour gives one call back every hour/N once drained. Each
operation is declared here as that bucket (``rate`` = N per period, ``burst`` = N).
The figures are the per-seller defaults collected in WIRE.md §7 (a third-party
compilation: accounts differ) and Walmart's published feed caps; the answers'
``x-current-token-count`` / ``x-next-replenish-time`` headers correct them at run
time. Figures marked [U] are not published at all and are our guesses.

The two feed operations share ``POST /v3/feeds`` but not a bucket: Walmart counts
feeds per ``feedType``, so each type is its own operation (``submitFeed:price``,
``submitFeed:inventory``).
"""

from __future__ import annotations

from typing import Any

from safe_release._effects import SideEffect
from safe_release.adapters._operation import Operation

__all__ = [
    "ENDPOINTS",
    "FEED_OPERATIONS",
    "INVENTORY_FEED",
    "PRICE_FEED",
    "WALMART_OPERATIONS",
]

ENDPOINTS = {
    "production": "https://marketplace.walmartapis.com",
    "sandbox": "https://sandbox.walmartapis.com",
}
PRICE_FEED = "submitFeed:price"
INVENTORY_FEED = "submitFeed:inventory"
FEED_OPERATIONS = {PRICE_FEED: "price", INVENTORY_FEED: "inventory"}
"""The feed operations and the ``feedType`` each one sends."""

_MINUTE, _HOUR = 60.0, 3600.0


def _declare(
    name: str, method: str, path: str, calls: int, seconds: float, **options: Any
) -> Operation:
    """An operation whose bucket holds ``calls`` and refills over ``seconds``.

    ``options`` are `Operation.declare`'s (``side_effect``, ``idempotent``).
    """
    return Operation.declare(name, method, path, rate=calls / seconds, burst=calls, **options)


WALMART_OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        # [U] the token detail probe's own allotment is not published
        _declare("tokenDetail", "GET", "/v3/token/detail", 60, _MINUTE),
        _declare(
            "updatePrice",
            "PUT",
            "/v3/price",
            100,
            _HOUR,
            side_effect=SideEffect.REVERSIBLE,
            idempotent=True,  # it sets an absolute price: a replay sets the same one
        ),
        # [U] Items API "Get an item" (a price read, for inverses): not in WIRE.md
        _declare("getItem", "GET", "/v3/items/{sku}", 900, _MINUTE),
        # [U] the inventory read shares no published figure; the write's is used
        _declare("getInventory", "GET", "/v3/inventory", 200, _MINUTE),
        _declare(
            "updateInventory",
            "PUT",
            "/v3/inventory",
            200,
            _MINUTE,
            side_effect=SideEffect.REVERSIBLE,
            # an absolute quantity, but it can be read back: a lost answer is reconciled
            # by reading it, so nothing is sent twice
            idempotent=False,
        ),
        _declare("getOrders", "GET", "/v3/orders", 5000, _MINUTE),
        _declare("getReleasedOrders", "GET", "/v3/orders/released", 60, _MINUTE),
        # [U] a single order's read is not listed; the orders list's figure is used
        _declare("getOrder", "GET", "/v3/orders/{purchaseOrderId}", 5000, _MINUTE),
        _declare(
            "acknowledgeOrder",
            "POST",
            "/v3/orders/{purchaseOrderId}/acknowledge",
            60,
            _MINUTE,
            side_effect=SideEffect.IRREVERSIBLE,
            idempotent=False,  # a second acknowledgement is undocumented: read the order
        ),
        _declare(
            "shipOrder",
            "POST",
            "/v3/orders/{purchaseOrderId}/shipping",
            60,
            _MINUTE,
            side_effect=SideEffect.IRREVERSIBLE,  # it charges the customer
            idempotent=False,
        ),
        # [U] Walmart names no price-feed figure; the item and inventory feeds' 10/hour
        _declare(
            PRICE_FEED,
            "POST",
            "/v3/feeds",
            10,
            _HOUR,
            side_effect=SideEffect.REVERSIBLE,
            idempotent=False,  # every POST is a new feed that spends the hourly cap
        ),
        _declare(
            INVENTORY_FEED,
            "POST",
            "/v3/feeds",
            10,
            _HOUR,
            side_effect=SideEffect.REVERSIBLE,
            idempotent=False,
        ),
        _declare("getFeedStatus", "GET", "/v3/feeds/{feedId}", 5000, _MINUTE),
        _declare("listFeeds", "GET", "/v3/feeds", 5000, _MINUTE),
    )
}
