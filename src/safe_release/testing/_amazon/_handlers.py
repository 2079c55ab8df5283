"""Routing: which operation a method and path name, and the handler for each operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release.testing._amazon import _fba, _listings, _orders
from safe_release.testing._amazon._routes import ROUTES
from safe_release.testing._routing import Router

if TYPE_CHECKING:
    from collections.abc import Callable

    from safe_release.testing._amazon._request import Reply, SpRequest
    from safe_release.testing._amazon._state import AmazonState

__all__ = ["HANDLERS", "route"]

HANDLERS: dict[str, Callable[[AmazonState, SpRequest], Reply]] = {
    "getOrders": _orders.get_orders,
    "getOrderItems": _orders.get_order_items,
    "confirmShipment": _orders.confirm_shipment,
    "getListingsItem": _listings.get_listings_item,
    "patchListingsItem": _listings.patch_listings_item,
    "getInventorySummaries": _fba.get_inventory_summaries,
    "createInboundPlan": _fba.create_inbound_plan,
    "cancelInboundPlan": _fba.cancel_inbound_plan,
    "getInboundOperationStatus": _fba.get_inbound_operation_status,
    "getMarketplaceParticipations": _fba.get_marketplace_participations,
}

route = Router(ROUTES.values())
"""(operation, path parameters, path known) for a request line; see `Router`."""
