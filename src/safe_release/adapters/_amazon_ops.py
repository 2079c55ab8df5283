"""The Amazon SP-API operations safe_release supports, with their documented limits.

Rates and bursts are the "Usage Plan" figures of Amazon's published API models
(amzn/selling-partner-api-models, Apache-2.0), copied here so the package needs
nothing else at run time. getMarketplaceParticipations (Sellers API) is not in
the models we ship with the tests; its figure comes from the generated Rust
client of the same models (docs.rs amazon-spapi).
"""

from __future__ import annotations

from safe_release._effects import SideEffect
from safe_release.adapters._operation import Operation

__all__ = ["AMAZON_OPERATIONS", "LWA_TOKEN_URL"]

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL, not a secret

AMAZON_OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation.declare("getOrders", "GET", "/orders/v0/orders", rate=0.0167, burst=20),
        Operation.declare(
            "getOrderItems", "GET", "/orders/v0/orders/{orderId}/orderItems", rate=0.5, burst=30
        ),
        Operation.declare(
            "confirmShipment",
            "POST",
            "/orders/v0/orders/{orderId}/shipmentConfirmation",
            rate=2,
            burst=10,
            side_effect=SideEffect.IRREVERSIBLE,
        ),
        Operation.declare(
            "getListingsItem",
            "GET",
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            rate=5,
            burst=10,
        ),
        Operation.declare(
            "patchListingsItem",
            "PATCH",
            "/listings/2021-08-01/items/{sellerId}/{sku}",
            rate=5,
            burst=5,
            side_effect=SideEffect.REVERSIBLE,
        ),
        Operation.declare(
            "getInventorySummaries", "GET", "/fba/inventory/v1/summaries", rate=2, burst=2
        ),
        Operation.declare(
            "createInboundPlan",
            "POST",
            "/inbound/fba/2024-03-20/inboundPlans",
            rate=2,
            burst=2,
            side_effect=SideEffect.IRREVERSIBLE,  # a rollback keeps plans
        ),
        Operation.declare(
            "cancelInboundPlan",
            "PUT",
            "/inbound/fba/2024-03-20/inboundPlans/{inboundPlanId}/cancellation",
            rate=2,
            burst=2,
            side_effect=SideEffect.IRREVERSIBLE,
            idempotent=True,
        ),
        Operation.declare(
            "getInboundOperationStatus",
            "GET",
            "/inbound/fba/2024-03-20/operations/{operationId}",
            rate=2,
            burst=6,
        ),
        Operation.declare(
            "getMarketplaceParticipations",
            "GET",
            "/sellers/v1/marketplaceParticipations",
            rate=0.016,
            burst=15,
        ),
    )
}
