"""The eBay Sell API operations safe_release supports, with their daily budgets.

eBay limits calls per application per day (per resource group: the Inventory
API 2,000,000, the Fulfillment API 100,000, the Analytics API 5,000; eBay's
"API call limits" page) and documents no per-second rate. The per-second pacing
below is our own [U]: fast enough that the daily budget, not the pacing, is what
bounds a job, slow enough not to look like a flood. ``limits=`` overrides it.
"""

from __future__ import annotations

from typing import Any

from safe_release._effects import SideEffect
from safe_release.adapters._operation import Daily, Operation

__all__ = [
    "ANALYTICS",
    "API_SCOPE",
    "APP_TOKEN_OPERATIONS",
    "DEFAULT_SCOPES",
    "EBAY_OPERATIONS",
    "ENDPOINTS",
    "FULFILLMENT",
    "INVENTORY",
    "REVISIONS",
    "TOKEN_URLS",
]

ENDPOINTS = {
    "production": "https://api.ebay.com",
    "sandbox": "https://api.sandbox.ebay.com",
}
TOKEN_URLS = {
    "production": "https://api.ebay.com/identity/v1/oauth2/token",
    "sandbox": "https://api.sandbox.ebay.com/identity/v1/oauth2/token",
}
API_SCOPE = "https://api.ebay.com/oauth/api_scope"
DEFAULT_SCOPES = (
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
)

INVENTORY = Daily(2_000_000, "sell.inventory")
FULFILLMENT = Daily(100_000, "sell.fulfillment")
ANALYTICS = Daily(5_000, "developer.analytics")
REVISIONS = Daily(250, "revisions")
"""A listing may be revised at most 250 times a calendar day (per offer, here)."""

_RATE, _BURST = 10.0, 25  # [U] eBay publishes no per-second limit
"""Each operation spends its resource's app budget and the seller's (``per="user"``) one.

eBay documents the app figures; a seller's own budget is known only from
getUserRateLimits (`EbayAdapter.sync_rate_limits`), so until then it is taken as
large as the app's.
"""


def _op(name: str, method: str, path: str, daily: Daily, **options: Any) -> Operation:
    """An operation paced at our own rate, spending ``daily`` per app and per user.

    ``options`` are `Operation.declare`'s (``side_effect``, ``idempotent``).
    """
    daily_both = (daily, daily._replace(per="user"))
    return Operation.declare(
        name, method, path, rate=_RATE, burst=_BURST, daily=daily_both, **options
    )


_INV = "/sell/inventory/v1"
_FUL = "/sell/fulfillment/v1/order"
_ANA = "/developer/analytics/v1_beta"

EBAY_OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        _op("getInventoryItem", "GET", f"{_INV}/inventory_item/{{sku}}", INVENTORY),
        _op("getOffers", "GET", f"{_INV}/offer", INVENTORY),
        _op("getOffer", "GET", f"{_INV}/offer/{{offerId}}", INVENTORY),
        _op(
            "bulkUpdatePriceQuantity",
            "POST",
            f"{_INV}/bulk_update_price_quantity",
            INVENTORY,
            side_effect=SideEffect.REVERSIBLE,
            idempotent=True,  # absolute values; a 500 errorId 25025 is retried
        ),
        _op("getOrders", "GET", _FUL, FULFILLMENT),
        _op("getOrder", "GET", f"{_FUL}/{{orderId}}", FULFILLMENT),
        _op(
            "createShippingFulfillment",
            "POST",
            f"{_FUL}/{{orderId}}/shipping_fulfillment",
            FULFILLMENT,
            side_effect=SideEffect.IRREVERSIBLE,
            idempotent=False,  # each success is a new fulfillment: reconciled, never resent
        ),
        _op(
            "getShippingFulfillments",
            "GET",
            f"{_FUL}/{{orderId}}/shipping_fulfillment",
            FULFILLMENT,
        ),
        _op(
            "getShippingFulfillment",
            "GET",
            f"{_FUL}/{{orderId}}/shipping_fulfillment/{{fulfillmentId}}",
            FULFILLMENT,
        ),
        _op("getRateLimits", "GET", f"{_ANA}/rate_limit/", ANALYTICS),
        _op("getUserRateLimits", "GET", f"{_ANA}/user_rate_limit/", ANALYTICS),
    )
}
APP_TOKEN_OPERATIONS = frozenset({"getRateLimits"})
"""Operations called with an application token (client credentials), not the user's."""
