"""Routing: which operation a method and path name, and the handler for each operation."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from safe_release.testing._amazon import _fba, _listings, _orders
from safe_release.testing._amazon._routes import ROUTES

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

_TEMPLATES = [
    (route.name, route.method, route.path.strip("/").split("/")) for route in ROUTES.values()
]


def _match(template: list[str], segments: list[str]) -> dict[str, str] | None:
    if len(template) != len(segments):
        return None
    params: dict[str, str] = {}
    for pattern, segment in zip(template, segments, strict=False):
        if pattern.startswith("{") and pattern.endswith("}"):
            if not segment:
                return None
            params[pattern[1:-1]] = unquote(segment)
        elif pattern != segment:
            return None
    return params


def route(method: str, raw_path: str) -> tuple[str | None, dict[str, str], bool]:
    """(operation, path parameters, path known) for a request line.

    ``path known`` with no operation means the path exists but not for ``method``.
    """
    segments = raw_path.split("?", 1)[0].strip("/").split("/")
    path_known = False
    for name, op_method, template in _TEMPLATES:
        params = _match(template, segments)
        if params is None:
            continue
        path_known = True
        if op_method == method:
            return name, params, True
    return None, {}, path_known
