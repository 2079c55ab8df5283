"""The operations `FakeEbay` serves: method, path, API, daily-quota resource, scopes.

Written from ../shared/reference/ebay/WIRE.md (eBay's OpenAPI contracts are not
redistributable, so they are not read here). The fake keeps this table apart
from the adapter's, so a wrong path in `safe_release.adapters` fails against the
fake instead of being served back to it; tests/test_fake_ebay_routes.py pins it.
"""

from __future__ import annotations

from typing import NamedTuple

from safe_release.testing._routing import Router, check_known

__all__ = [
    "API_SCOPE",
    "FULFILLMENT_SCOPE",
    "INVENTORY_SCOPE",
    "RESOURCES",
    "ROUTES",
    "TOKEN_OPERATION",
    "TOKEN_PATH",
    "Resource",
    "Route",
    "check_operation",
    "match",
]

_SCOPE = "https://api.ebay.com/oauth/api_scope"
API_SCOPE = _SCOPE
INVENTORY_SCOPE = f"{_SCOPE}/sell.inventory"
INVENTORY_READ_SCOPE = f"{_SCOPE}/sell.inventory.readonly"
FULFILLMENT_SCOPE = f"{_SCOPE}/sell.fulfillment"
FULFILLMENT_READ_SCOPE = f"{_SCOPE}/sell.fulfillment.readonly"
USER_SCOPES = (
    API_SCOPE,
    INVENTORY_SCOPE,
    INVENTORY_READ_SCOPE,
    FULFILLMENT_SCOPE,
    FULFILLMENT_READ_SCOPE,
)
"""The scopes a user consents to by default (``FakeEbay.authorize``)."""
APP_SCOPES = (API_SCOPE,)
"""The scopes a client-credentials (application) token may carry."""
TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 - a path, not a password
TOKEN_OPERATION = "token"  # noqa: S105 - an operation name


class Resource(NamedTuple):
    """A daily call budget and how getRateLimits names it."""

    name: str
    api_context: str
    api_name: str
    api_version: str
    limit: int


RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        Resource("sell.inventory", "sell", "inventory", "v1", 2_000_000),
        Resource("sell.fulfillment", "sell", "fulfillment", "v1", 100_000),
        Resource("developer.analytics", "developer", "analytics", "v1_beta", 5_000),
    )
}
"""The app-level daily quotas (WIRE.md 5); user-level ones exist only when set."""


class Route(NamedTuple):
    """One operation the fake serves.

    ``scopes``: a token needs one of them. ``caller``: ``"user"``, ``"app"`` or
    ``"any"`` (which kind of access token the operation takes). ``write``: a POST
    whose body must be ``application/json``.
    """

    name: str
    method: str
    path: str
    resource: str
    scopes: frozenset[str]
    caller: str = "any"
    write: bool = False

    @property
    def domain(self) -> str:
        """The error domain of the API the route belongs to."""
        return {
            "sell.inventory": "API_INVENTORY",
            "sell.fulfillment": "API_FULFILLMENT",
        }.get(self.resource, "API_ANALYTICS")


_INV = "/sell/inventory/v1"
_FUL = "/sell/fulfillment/v1"
_ANA = "/developer/analytics/v1_beta"
_INV_READ = frozenset({INVENTORY_SCOPE, INVENTORY_READ_SCOPE})
_FUL_READ = frozenset({FULFILLMENT_SCOPE, FULFILLMENT_READ_SCOPE})
_ANY_SELL = frozenset(USER_SCOPES)

ROUTES: dict[str, Route] = {
    route.name: route
    for route in (
        Route("getOffers", "GET", f"{_INV}/offer", "sell.inventory", _INV_READ),
        Route("getOffer", "GET", f"{_INV}/offer/{{offerId}}", "sell.inventory", _INV_READ),
        Route(
            "bulkUpdatePriceQuantity",
            "POST",
            f"{_INV}/bulk_update_price_quantity",
            "sell.inventory",
            frozenset({INVENTORY_SCOPE}),
            write=True,
        ),
        Route("getOrders", "GET", f"{_FUL}/order", "sell.fulfillment", _FUL_READ),
        Route("getOrder", "GET", f"{_FUL}/order/{{orderId}}", "sell.fulfillment", _FUL_READ),
        Route(
            "createShippingFulfillment",
            "POST",
            f"{_FUL}/order/{{orderId}}/shipping_fulfillment",
            "sell.fulfillment",
            frozenset({FULFILLMENT_SCOPE}),
            write=True,
        ),
        Route(
            "getShippingFulfillments",
            "GET",
            f"{_FUL}/order/{{orderId}}/shipping_fulfillment",
            "sell.fulfillment",
            _FUL_READ,
        ),
        Route(
            "getShippingFulfillment",
            "GET",
            f"{_FUL}/order/{{orderId}}/shipping_fulfillment/{{fulfillmentId}}",
            "sell.fulfillment",
            _FUL_READ,
        ),
        Route(
            "getRateLimits",
            "GET",
            f"{_ANA}/rate_limit/",
            "developer.analytics",
            frozenset({API_SCOPE}),
            caller="app",
        ),
        Route(
            "getUserRateLimits",
            "GET",
            f"{_ANA}/user_rate_limit/",
            "developer.analytics",
            _ANY_SELL,
            caller="user",
        ),
    )
}
"""Operation name -> route, for every API operation the fake answers."""


def check_operation(operation: str) -> str:
    """``operation`` if the fake serves it, else `UnknownOperationError`."""
    return check_known(operation, ROUTES, fake="FakeEbay", marketplace="ebay")


match = Router(ROUTES.values())
"""(operation, path parameters, path known) for a request line; see `Router`."""
