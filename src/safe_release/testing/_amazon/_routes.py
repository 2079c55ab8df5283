"""The operations `FakeAmazon` serves: method, path template, usage plan, body limit.

Written from Amazon's published SP-API models (amzn/selling-partner-api-models,
Apache-2.0): each operation's entry under "paths" and the "Usage Plan" table in
its description. The fake keeps this table apart from the adapter's, so a wrong
path or limit in `safe_release.adapters` fails against the fake instead of being
served back to it; tests/test_fake_amazon_routes.py pins each table to the models.
"""

from __future__ import annotations

from typing import NamedTuple

from safe_release.adapters import Limit

__all__ = ["MAX_BODY_BYTES", "ROUTES", "Route"]

MAX_BODY_BYTES = 5 * 1024 * 1024
"""The largest request body the fake accepts; a bigger one is a 413.

Amazon's models state no request-size limit. 5 MiB is the adapters' documented
default ``max_body_bytes`` (docs/adapters.md), so any body an adapter will send
is one the fake reads.
"""


class Route(NamedTuple):
    """One operation the fake serves: how it is called and how fast."""

    name: str
    method: str
    path: str
    limit: Limit
    max_body_bytes: int = MAX_BODY_BYTES


def _route(name: str, method: str, path: str, *, rate: float, burst: int) -> Route:
    return Route(name, method, path, Limit.checked(rate, burst, what=f"route {name!r}"))


ROUTES: dict[str, Route] = {
    route.name: route
    for route in (
        # ordersV0.json
        _route("getOrders", "GET", "/orders/v0/orders", rate=0.0167, burst=20),
        _route(
            "getOrderItems", "GET", "/orders/v0/orders/{orderId}/orderItems", rate=0.5, burst=30
        ),
        _route(
            "confirmShipment",
            "POST",
            "/orders/v0/orders/{orderId}/shipmentConfirmation",
            rate=2,
            burst=10,
        ),
        # listingsItems_2021-08-01.json
        _route(
            "getListingsItem",
            "GET",
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            rate=5,
            burst=10,
        ),
        _route(
            "patchListingsItem",
            "PATCH",
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            rate=5,
            burst=5,
        ),
        # fbaInventory.json
        _route("getInventorySummaries", "GET", "/fba/inventory/v1/summaries", rate=2, burst=2),
        # fulfillmentInbound_2024-03-20.json
        _route(
            "createInboundPlan", "POST", "/inbound/fba/2024-03-20/inboundPlans", rate=2, burst=2
        ),
        _route(
            "cancelInboundPlan",
            "PUT",
            "/inbound/fba/2024-03-20/inboundPlans/{inboundPlanId}/cancellation",
            rate=2,
            burst=2,
        ),
        _route(
            "getInboundOperationStatus",
            "GET",
            "/inbound/fba/2024-03-20/operations/{operationId}",
            rate=2,
            burst=6,
        ),
        # Sellers API v1: its model is not among those beside the repository. The
        # figures are the Usage Plan of Amazon's sellers model as generated into the
        # Rust client of the same models (docs.rs amazon-spapi), the source the
        # adapter's table names.
        _route(
            "getMarketplaceParticipations",
            "GET",
            "/sellers/v1/marketplaceParticipations",
            rate=0.016,
            burst=15,
        ),
    )
}
"""Operation name -> route, for every operation the fake answers."""
